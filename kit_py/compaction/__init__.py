"""Non-destructive compaction (session-format.md): pure planning (plan.py), the summary prompts
(prompts.py) and running it against the model (runner.py)."""
