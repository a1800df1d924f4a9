"""How conversations look in a terminal, shared by print mode and the REPL (turn_view.py)."""
