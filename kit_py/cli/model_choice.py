"""Which model `kit` uses when none was chosen, and what it says about the local model.

With no `-m`, no `model:` in a config file, no saved preference and no model recorded by a resumed
session, `kit` uses config.DEFAULT_MODEL. Without that model's API key, a fresh install would answer
nothing but "no API key": then the embedded local model answers instead (kit_py/llm/local.py), and
kit says once which model it uses and why. A model chosen on purpose is never replaced: `kit -m
anthropic/...` without a key still names the missing variable.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from kit_py.config import DEFAULT_MODEL, DEFAULT_MODEL_KEY
from kit_py.errors import KitError, MissingAPIKeyError
from kit_py.llm import local
from kit_py.llm.types import provider_of

if TYPE_CHECKING:
    from kit_py.config import Settings
    from kit_py.engine.conversation import Conversation


def apply_default_model(conversation: Conversation, *, interactive: bool, quiet: bool) -> None:
    """Switch an unchosen default model that has no key to the local model, saying so on stderr.

    Without the local runtime either, print mode fails at once naming both ways out; the REPL opens
    with the same words as a notice (`/model` can still pick a model there)."""
    settings = conversation.settings
    if not _unchosen_default_without_key(settings, conversation):
        return
    if not local.available():
        provider = provider_of(DEFAULT_MODEL)
        message = (
            f"no API key for {provider}: set {DEFAULT_MODEL_KEY} (or pass -m and --api-key), or install "
            f"the local model ({', '.join(local.missing_runtime())}): {local.INSTALL}"
        )
        if not interactive:
            raise MissingAPIKeyError(message, provider=provider, env_vars=(DEFAULT_MODEL_KEY,))
        print(f"kit: {message}", file=sys.stderr)
        return
    settings.model = local.canonical(local.PREFIX)
    if not quiet:
        print(
            f"kit: using the local model {settings.model} (SmolLM2-135M, offline): no model was chosen and "
            f"{DEFAULT_MODEL_KEY} is not set; set it, or pass -m, to use {DEFAULT_MODEL} or another",
            file=sys.stderr,
        )


def say_tools_unused(settings: Settings, *, quiet: bool) -> None:
    """The local model is offered no tools (see local.completion_kwargs): say so when some are set up."""
    if quiet or settings.tools == [] or not local.is_local(settings.model):
        return
    try:
        local.gguf_for(settings.model)
    except KitError:  # unusable: the check before the request says why, and that is all to say
        return
    print(
        f"kit: {settings.model} is offered no tools: a model this small does not call them reliably",
        file=sys.stderr,
    )


def _unchosen_default_without_key(settings: Settings, conversation: Conversation) -> bool:
    if "model" in settings.sources or settings.model != DEFAULT_MODEL:
        return False
    if conversation.session.current_model() is not None:  # a resumed session keeps its own model
        return False
    configured = settings.providers.get(provider_of(DEFAULT_MODEL), {})
    return not (settings.api_key or settings.api_base or configured or os.environ.get(DEFAULT_MODEL_KEY))
