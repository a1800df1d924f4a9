"""The engine: `Conversation` (conversation.py) joins the session store, the model library, tools,
approvals and compaction; every face drives it. See docs/architecture.md."""
