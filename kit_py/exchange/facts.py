"""What an export says about a session in its header: name, cwd, model, totals, system prompt.

Shared by the Markdown and HTML renderers, so both show the same numbers as `/session` and `/usage`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kit_py.llm.types import UsageTotals, usage_totals
from kit_py.session import SessionManager
from kit_py.session.context import system_prompt

Entry = dict[str, Any]


@dataclass
class SessionFacts:
    session_id: str
    name: str | None
    cwd: str
    created: str
    model: str | None
    """`provider/model` of the last model change on the active path."""
    thinking_level: str | None
    system_prompt: str | None
    totals: UsageTotals

    @property
    def title(self) -> str:
        return self.name or f"Session {self.session_id[:8]}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.session_id,
            "name": self.name,
            "cwd": self.cwd,
            "created": self.created,
            "model": self.model,
            "thinking_level": self.thinking_level,
            "system_prompt": self.system_prompt,
            "totals": {
                **self.totals.as_dict(),
                "messages": self.totals.messages,
                "answers": self.totals.answers,
            },
        }


def session_facts(session: SessionManager) -> SessionFacts:
    recorded = session.current_model()
    model = thinking = None
    if recorded is not None:
        provider, model_id, thinking = recorded
        if model_id:
            model = model_id if "/" in model_id or not provider else f"{provider}/{model_id}"
    return SessionFacts(
        session_id=session.session_id,
        name=session.name or None,
        cwd=session.cwd,
        created=str(session.header.get("timestamp", "")),
        model=model,
        thinking_level=thinking,
        system_prompt=system_prompt(session.tree),
        totals=usage_totals(session.entries),
    )
