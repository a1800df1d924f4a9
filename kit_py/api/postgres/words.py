"""Words for PostgreSQL full-text search, cut the same way on both sides so a search finds what the
CLI's search finds: whole words, any case, accents ignored, `word*` a prefix, `"two words"` a phrase.

Text is cut into words here, in Python (letters and digits; accents dropped, lower case), and handed
to `to_tsvector('simple', ...)` already clean, so PostgreSQL's own parser (which keeps `a.py` or
`x-y` as one token) cannot cut a message and a query differently.
"""

from __future__ import annotations

import re
import unicodedata

from kit_py.errors import UsageError
from kit_py.session import format as fmt

SEARCHED_ROLES = frozenset({"user", "assistant"})
MAX_INDEXED_CHARS = 200_000
"""Of one message; a tsvector holds at most 1 MB, and a search hit needs only the start of a long text."""
_WORD = re.compile(r"[^\W_]+")
_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def words(text: str) -> list[str]:
    """The searchable words of `text`: letters and digits, lower case, accents removed."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _WORD.findall(plain.casefold())


def entry_words(entry: dict) -> str | None:
    """The words of a user or assistant message, space-separated for `to_tsvector`; None otherwise."""
    if entry.get("type") != "message" or entry.get("role") not in SEARCHED_ROLES:
        return None
    found = words(fmt.message_text(entry)[:MAX_INDEXED_CHARS])
    return " ".join(found) if found else None


def tsquery(text: str) -> str:
    """A `to_tsquery('simple', ...)` string for what a user typed: every word (or "quoted phrase")
    must match; a trailing `*` matches a prefix. UsageError when nothing searchable is left."""
    terms = []
    for m in _TERM.finditer(text):
        phrase, word = m.group(1), m.group(2)
        prefix = False
        if phrase is None:
            prefix = word.endswith("*")
            phrase = word.rstrip("*")
        found = words(phrase)
        if not found:
            continue
        lexemes = [f"'{w}'" for w in found]  # only letters and digits: nothing to escape
        if prefix:
            lexemes[-1] += ":*"
        terms.append("(" + " <-> ".join(lexemes) + ")")
    if not terms:
        raise UsageError(f"nothing to search for in {text!r}: give a word")
    return " & ".join(terms)
