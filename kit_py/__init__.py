"""kit_py: a terminal chat client whose conversations are append-only JSONL session trees."""

__version__ = "0.1.0"
