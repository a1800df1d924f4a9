"""Sessions with their totals (`kit sessions list`) and usage by model and day (`kit sessions stats`).

Both read the index (kit_py/catalog/index.py), refreshed first, so token counts, cost and the length
of the current branch never cost a read of the session files that did not change.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kit_py.catalog.index import Index, IndexedSession, Progress, UsageRow, with_index
from kit_py.catalog.listing import folders_for, same_cwd


@dataclass
class Filters:
    """What `list` keeps: a name (or first message) containing `name`, modified at or after `since`
    (epoch seconds), a model containing `model` (all case-insensitive)."""

    name: str | None = None
    since: float | None = None
    model: str | None = None


def catalog_sessions(
    root: Path | None = None,
    cwd: str | None = None,
    filters: Filters | None = None,
    *,
    progress: Progress | None = None,
) -> list[IndexedSession]:
    """Sessions of `cwd` (matched on the header cwd), or of every directory when `cwd` is None, newest
    first; only those with entries."""
    filters = filters or Filters()
    scope = folders_for(root, cwd)

    def read(index: Index) -> list[IndexedSession]:
        index.refresh(scope, progress)
        return index.files(scope)

    sessions = [
        s for s in with_index(root, read) if s.facts.entries and (cwd is None or same_cwd(s.cwd, cwd))
    ]
    name = filters.name.casefold() if filters.name else None
    model = filters.model.casefold() if filters.model else None
    out = []
    for session in sessions:
        used = session.facts.models
        if filters.since is not None and session.modified < filters.since:
            continue
        if (
            name is not None
            and name not in (session.name or "").casefold()
            and name not in session.preview.casefold()
        ):
            continue
        if model is not None and not any(model in m.casefold() for m in used):
            continue
        out.append(session)
    return out


def indexed_session(path: Path, root: Path | None = None) -> IndexedSession | None:
    """One session file as `list` shows it (refreshing only its folder), or None when it is not one."""
    path = Path(os.path.abspath(path))

    def read(index: Index) -> list[IndexedSession]:
        index.refresh([path.parent])
        return index.files([path.parent])

    found = [s for s in with_index(root, read) if s.file == str(path)]
    return found[0] if found else None


@dataclass
class Totals:
    sessions: int = 0
    messages: int = 0
    answers: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float | None = None
    _files: set[int] = field(default_factory=set, repr=False)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, file: int, row: tuple[int, int, int, int, int, int, float | None]) -> None:
        messages, answers, tokens_in, tokens_out, cache_read, cache_write, cost = row
        self._files.add(file)
        self.sessions = len(self._files)
        self.messages += messages
        self.answers += answers
        self.input_tokens += tokens_in
        self.output_tokens += tokens_out
        self.cache_read_tokens += cache_read
        self.cache_write_tokens += cache_write
        if cost is not None:
            self.cost_usd = (self.cost_usd or 0.0) + cost


@dataclass
class Stats:
    """Usage of every session (all branches: what was paid), by model and by UTC day."""

    since: str | None
    total: Totals
    by_model: dict[str, Totals]
    by_day: dict[str, Totals]


def usage_stats(
    root: Path | None = None, since: float | None = None, *, progress: Progress | None = None
) -> Stats:
    """Totals of every session's messages from the UTC day of `since` (epoch seconds) on."""
    first_day = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d") if since is not None else None
    scope = folders_for(root, None)

    def read(index: Index) -> list[UsageRow]:
        index.refresh(scope, progress)
        return index.usage_rows(first_day, scope)

    rows = with_index(root, read)
    total = Totals()
    by_model: dict[str, Totals] = {}
    by_day: dict[str, Totals] = {}
    for file, day, model, messages, answers, tokens_in, tokens_out, cache_read, cache_write, cost in rows:
        counts = (messages, answers, tokens_in, tokens_out, cache_read, cache_write, cost)
        total.add(file, counts)
        by_model.setdefault(model or "unknown", Totals()).add(file, counts)
        by_day.setdefault(day or "unknown", Totals()).add(file, counts)
    return Stats(since=first_day, total=total, by_model=by_model, by_day=dict(sorted(by_day.items())))
