"""The model library boundary: the only package that imports litellm (lazily, in `client`).

Callers use `from kit_py import llm` and `llm.stream_completion(...)`, so tests can replace a
function here and every caller sees it.
"""

from kit_py.llm.client import (
    RETRYABLE,
    astream_completion,
    chat_models,
    check_model,
    claim_process,
    closest_model,
    complete_text,
    is_loaded,
    load_litellm,
    map_error,
    model_limits,
    stream_completion,
    warm_up,
)
from kit_py.llm.messages import to_llm_messages
from kit_py.llm.scripted import ScriptedModel, scripted_model
from kit_py.llm.types import (
    LLMRequest,
    LLMResponse,
    StreamBroken,
    StreamEvent,
    ToolCall,
    Usage,
    provider_of,
)

__all__ = [
    "RETRYABLE",
    "ScriptedModel",
    "astream_completion",
    "claim_process",
    "is_loaded",
    "scripted_model",
    "LLMRequest",
    "LLMResponse",
    "StreamBroken",
    "StreamEvent",
    "ToolCall",
    "Usage",
    "chat_models",
    "closest_model",
    "check_model",
    "complete_text",
    "load_litellm",
    "map_error",
    "model_limits",
    "provider_of",
    "stream_completion",
    "to_llm_messages",
    "warm_up",
]
