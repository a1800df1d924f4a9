"""The HTML export: ONE self-contained page that works offline and can never run what a message says.

The whole tree is embedded as JSON in a `<script type="application/json">` block (every `<`, `>` and
`&` escaped, so no text can close it); the viewer's script and style (package data in `viewer/`) are
inline, allowed by their SHA-256 hashes in a Content-Security-Policy that permits nothing else: no
other script, no inline handlers, no network, images only from `data:` URLs.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from functools import cache
from importlib import resources
from typing import Any

import orjson

from kit_py import __version__
from kit_py.exchange.facts import SessionFacts, session_facts
from kit_py.session import SessionManager
from kit_py.session.format import now_timestamp
from kit_py.text import valid_utf8

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="kit_py {version}">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header id="header"></header>
<div id="layout">
<nav id="sidebar" aria-label="Session tree">
<div id="controls">
<input id="search" type="search" placeholder="Search the tree" autocomplete="off" aria-label="Search">
<select id="filter" aria-label="Which entries the tree shows">
<option value="default">Messages</option>
<option value="no-tools">No tools</option>
<option value="user">User messages</option>
<option value="labeled">Labelled</option>
<option value="all">All entries</option>
</select>
<div id="tree-count"></div>
</div>
<div id="tree" role="tree"></div>
</nav>
<main id="conversation"></main>
</div>
<noscript><p>This page shows a kit session and needs JavaScript; the session itself is the JSON in the
script element with the id kit-session.</p></noscript>
<script type="application/json" id="kit-session">{data}</script>
<script>{js}</script>
</body>
</html>
"""


@cache
def _asset(name: str) -> str:
    return (resources.files("kit_py.exchange") / "viewer" / name).read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def content_security_policy(js: str, css: str) -> str:
    """Nothing but the page's own script and style (by hash) and `data:` images: no network at all."""
    return (
        f"default-src 'none'; script-src '{_sha256(js)}'; style-src '{_sha256(css)}'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


def embedded_json(value: Any) -> str:
    """JSON that is safe inside a `<script>` element: `<`, `>` and `&` become \\u escapes."""
    try:
        raw = orjson.dumps(value)
    except TypeError:  # lone surrogates from undecodable file names or terminal bytes
        raw = orjson.dumps(valid_utf8(value))
    return raw.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026").decode("utf-8")


def view_data(session: SessionManager, facts: SessionFacts) -> dict[str, Any]:
    """What the viewer shows: header facts, every entry with its effective parent, labels, the leaf."""
    tree = session.tree
    ids = [entry.get("id") for entry in session.entries]
    return {
        "version": 1,
        "kit": __version__,
        "exported": now_timestamp(),
        "session": facts.as_dict(),
        "leaf": session.leaf_id,
        "labels": session.labels,
        "entries": session.entries,
        "parents": [tree.parent_of(eid) if isinstance(eid, str) else None for eid in ids],
    }


_SLOT = re.compile(r"\{(csp|version|title|css|data|js)\}")


def render_html(session: SessionManager) -> bytes:
    js, css = _asset("viewer.js"), _asset("viewer.css")
    facts = session_facts(session)
    slots = {
        "csp": html.escape(content_security_policy(js, css)),
        "version": html.escape(__version__),
        "title": html.escape(facts.title),
        "css": css,
        "data": embedded_json(view_data(session, facts)),
        "js": js,
    }
    # One pass: what is filled in (message text inside the data) is never scanned for slots again.
    return _SLOT.sub(lambda m: slots[m.group(1)], PAGE).encode("utf-8")
