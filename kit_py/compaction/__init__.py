"""Non-destructive compaction (DESIGN.md §5): pure planning (plan.py), the summary prompts
(prompts.py) and running it against the model (runner.py)."""
