"""The litellm request options kit passes through by keyword (`Agent(seed=7)`, `run(top_p=0.9)`).

A fixed list, so a misspelt keyword (`temprature=`) is an error instead of a request option the
provider silently ignores. These are `litellm.completion`'s own keyword parameters, minus what kit
sets itself (model, messages, stream, tools, timeout, api_base, api_key); the test suite checks the
list against litellm. Anything else still goes through `llm_options={...}`.
"""

from __future__ import annotations

COMPLETION_OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "n",
        "stop",
        "max_completion_tokens",
        "max_tokens",
        "modalities",
        "prediction",
        "audio",
        "presence_penalty",
        "frequency_penalty",
        "logit_bias",
        "user",
        "reasoning_effort",
        "verbosity",
        "response_format",
        "seed",
        "tool_choice",
        "logprobs",
        "top_logprobs",
        "parallel_tool_calls",
        "web_search_options",
        "extra_headers",
        "safety_identifier",
        "service_tier",
        "prompt_cache_key",
        "api_version",
        "thinking",
    }
)
