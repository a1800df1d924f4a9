"""Structured output: ask for JSON matching a pydantic model or a JSON schema dict, find it in the reply,
validate it (pydantic, or `jsonschema`, which litellm already depends on).

Models wrap JSON in prose or code fences more often than not, so the parser looks for a fenced
block first, then for the first balanced `{...}` or `[...]` that parses.
"""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)```", re.DOTALL)


def schema_of(model: Any) -> dict[str, Any]:
    """JSON schema of a pydantic model class (or any type pydantic understands), or a JSON schema dict
    itself once checked; TypeError for anything else, ValueError for a dict that is no valid schema."""
    if isinstance(model, dict):
        from jsonschema.exceptions import SchemaError
        from jsonschema.validators import validator_for

        try:
            validator_for(model).check_schema(model)
        except SchemaError as exc:
            raise ValueError(f"not a valid JSON schema: {exc.message}") from None
        return model
    from pydantic import BaseModel, PydanticUserError, TypeAdapter
    from pydantic_core import SchemaError as PydanticSchemaError

    if isinstance(model, type) and issubclass(model, BaseModel):
        return model.model_json_schema()
    try:
        return TypeAdapter(model).json_schema()
    except (PydanticUserError, PydanticSchemaError):
        raise TypeError(
            f"schema must be a pydantic model class (or another type pydantic understands, e.g. "
            f"list[int]) or a JSON schema dict, not {model!r}"
        ) from None


def schema_name(model: Any) -> str:
    if isinstance(model, dict):
        name = str(model.get("title") or "output")
    else:
        name = getattr(model, "__name__", "output")
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64] or "output"


def instruction(schema: dict[str, Any]) -> str:
    """Appended to the user's prompt, so providers without native JSON mode still comply."""
    return (
        "Respond with only a JSON value (no prose) that matches this JSON schema:\n"
        f"```json\n{json.dumps(schema, ensure_ascii=False)}\n```"
    )


def retry_prompt(error: str) -> str:
    return (
        f"Your previous answer did not match the schema: {error}\n"
        "Reply again with only the corrected JSON value."
    )


def response_format(model: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAI `response_format` litellm translates per provider (dropped where unsupported)."""
    return {"type": "json_schema", "json_schema": {"name": schema_name(model), "schema": schema}}


def extract_json(text: str) -> Any:
    """The JSON value in a reply: the whole text, a fenced block, or the first balanced object/array."""
    stripped = text.strip()
    candidates = [stripped] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char in "{[":
            try:
                value, _end = decoder.raw_decode(text, start)
            except ValueError:
                continue
            return value
    raise ValueError("the reply contains no JSON value")


def validate(model: Any, text: str) -> Any:
    """Parse and validate; raises ValueError with a message fit to send back to the model."""
    from pydantic import BaseModel, TypeAdapter, ValidationError

    value = extract_json(text)
    if isinstance(model, dict):
        return _validate_json_schema(model, value)
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(value)
        return TypeAdapter(model).validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from None


def _validate_json_schema(schema: dict[str, Any], value: Any) -> Any:
    """`value` itself (plain JSON) when it matches `schema`; ValueError listing the first problems."""
    from jsonschema.validators import validator_for

    problems = sorted(validator_for(schema)(schema).iter_errors(value), key=lambda e: list(e.path))
    if problems:
        raise ValueError(
            "; ".join(f"{'.'.join(str(p) for p in e.path) or 'value'}: {e.message}" for e in problems[:10])
        )
    return value
