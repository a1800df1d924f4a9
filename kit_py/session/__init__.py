"""The session tree store: append-only JSONL files, their in-memory tree and the LLM context built from it."""
