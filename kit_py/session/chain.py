"""The integrity chain: every entry kit_py writes carries `hash`, so an edited line can be named.

`hash` = SHA-256 (hex) of the parent's hash (ASCII hex, "" for a root or a parent without one)
followed by the entry's canonical JSON: the entry without `hash`, keys sorted at every level, compact,
UTF-8 (orjson's output). A child covers its parent's hash, so the hash of the last entry written
covers the whole path to it: the session's state hash. Go kit ignores the extra field and writes
entries without it; those are "unchained", never "tampered".
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from kit_py.session.format import SYSTEM_PROMPT_TYPE
from kit_py.text import valid_utf8

HASH_KEY = "hash"
_SORTED = orjson.OPT_SORT_KEYS

Entry = dict[str, Any]


def canonical_json(entry: Entry) -> bytes:
    """The bytes the hash covers: `entry` without its `hash`, keys sorted, compact."""
    if HASH_KEY in entry:
        entry = {k: v for k, v in entry.items() if k != HASH_KEY}
    return orjson.dumps(entry, option=_SORTED)


def entry_hash(parent_hash: str, entry: Entry) -> str:
    return hashlib.sha256(parent_hash.encode("ascii") + canonical_json(entry)).hexdigest()


def hash_of(entry: Entry | None) -> str:
    """The stored hash of an entry, "" when it has none (a root's parent, a Go kit entry)."""
    if entry is None:
        return ""
    value = entry.get(HASH_KEY)
    return value if isinstance(value, str) and value.isascii() else ""


def sealed_line(entry: Entry, parent: Entry | None) -> tuple[Entry, bytes]:
    """`entry` with its `hash` set from `parent` (the entry it will hang under), and its JSON line.

    The line keeps the entry's own key order (`type`, `id` first, as Go kit writes) with `hash` last.
    `entry` is a fresh dict owned by the caller and is changed in place; text that JSON cannot carry
    (lone surrogates) is replaced by U+FFFD first, in a copy, so the hash covers what is written.
    """
    entry.pop(HASH_KEY, None)
    try:
        body = orjson.dumps(entry, option=_SORTED)
    except TypeError:
        entry = valid_utf8(entry)
        body = orjson.dumps(entry, option=_SORTED)
    entry[HASH_KEY] = hashlib.sha256(hash_of(parent).encode("ascii") + body).hexdigest()
    return entry, orjson.dumps(entry)


def state_hash(entries: list[Entry]) -> str | None:
    """The hash of the last entry in file order (the leaf on open, or the `kit:leaf` marker that
    names it); None when that entry is unchained (written by Go kit) or there is none."""
    for entry in reversed(entries):
        if entry.get("type") != SYSTEM_PROMPT_TYPE:
            return hash_of(entry) or None
    return None
