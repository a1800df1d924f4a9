"""Non-destructive compaction (docs/session-format.md, compaction): pure planning (plan.py), the summary prompts
(prompts.py) and running it against the model (runner.py)."""
