"""The `kit` command: the console script (main.py), flags (app.py), print mode and `kit sessions`.
A face over the engine; see docs/architecture.md."""
