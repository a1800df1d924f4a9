"""Keyword options of the API's calls: a litellm option kit knows passes through, anything else is a
`TypeError` naming it (a misspelt `temprature=` must not be sent to the provider and ignored).
Provider extras kit does not list go through `llm_options={...}` untouched."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from kit_py.llm.options import COMPLETION_OPTIONS


def litellm_options(
    where: str, given: Mapping[str, Any], own: Iterable[str], llm_options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`given` keywords (checked against litellm's options) merged over `llm_options` (unchecked)."""
    for name in given:
        if name not in COMPLETION_OPTIONS:
            close = difflib.get_close_matches(name, [*own, *sorted(COMPLETION_OPTIONS)], n=1, cutoff=0.7)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"{where}() got an unexpected keyword argument {name!r}{hint}; "
                "pass provider options kit does not know in llm_options={...}"
            )
    if llm_options is not None and not isinstance(llm_options, Mapping):
        raise TypeError(f"{where}(): llm_options must be a dict, not {type(llm_options).__name__}")
    return {**(llm_options or {}), **given}
