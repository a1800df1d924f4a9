"""`/share` and `kit share SESSION`: the HTML viewer and the JSONL file as ONE secret gist.

Order matters: `gh` must be there and logged in before anything is read; then the whole session is
scanned for secrets and, when some are found, the caller's `ask` decides (upload as is, redact, or
stop) unless `yes` or `redact` already did. Uploads go from a private temporary folder, and each
share is recorded in the audit log with the gist URL.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kit_py.errors import UsageError
from kit_py.exchange.errors import ShareCancelled
from kit_py.exchange.export import audit, jsonl_bytes
from kit_py.exchange.facts import session_facts
from kit_py.exchange.files import default_name
from kit_py.exchange.gist import check_logged_in, create_secret_gist
from kit_py.exchange.html import render_html
from kit_py.exchange.secrets import Finding, redact, scan
from kit_py.session import SessionManager
from kit_py.session.format import dumps

Decision = Literal["upload", "redact", "cancel"]
Ask = Callable[[list[Finding]], Decision]


@dataclass
class ShareResult:
    url: str
    files: list[str]
    session_id: str
    secrets_found: int
    redacted: bool

    def as_json(self) -> dict[str, object]:
        return {
            "url": self.url,
            "files": self.files,
            "session_id": self.session_id,
            "secrets_found": self.secrets_found,
            "redacted": self.redacted,
        }


def share_session(
    session: SessionManager, ask: Ask, *, yes: bool = False, redact_secrets: bool = False
) -> ShareResult:
    """Upload the session as a secret gist and return its URL; ShareError when it did not happen."""
    if not session.entries:
        raise UsageError("nothing to share yet: this session has no messages")
    gh = check_logged_in()
    findings = scan(session.header, session.entries)
    redacting = redact_secrets and bool(findings)
    if findings and not yes and not redact_secrets:
        decision = ask(findings)
        if decision == "cancel":
            raise ShareCancelled("not shared: nothing was uploaded")
        redacting = decision == "redact"
    shown, jsonl = session, jsonl_bytes(session)
    if redacting:
        header, entries = redact(session.header, session.entries)
        shown = SessionManager.from_entries(header, entries, None, session.leaf_id)
        jsonl = b"".join(dumps(line) + b"\n" for line in [header, *entries])
    title = session_facts(shown).title
    base = default_name(shown.name, session.session_id, "")
    with tempfile.TemporaryDirectory(prefix="kit-share-") as folder:
        files = [Path(folder) / f"{base}.html", Path(folder) / f"{base}.jsonl"]
        for path, data in zip(files, (render_html(shown), jsonl), strict=True):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        url = create_secret_gist(gh, files, f"kit session: {title}")
    names = [path.name for path in files]
    audit(
        "share",
        session.session_id,
        f"the secret gist {url} was created",
        url=url,
        files=names,
        secrets_found=len(findings),
        redacted=redacting,
    )
    return ShareResult(url, names, session.session_id, len(findings), redacting)
