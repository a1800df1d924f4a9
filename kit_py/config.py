"""Settings and preferences: where they live and which one wins.

Precedence for every setting: CLI flag (or its KIT_* env var) > config file > saved preference > default.
Config files are `~/.kit.yml` then `./.kit.yml` (the project file overrides the home one); preferences
are what the REPL remembers (`preferences.yml` in the user config dir).
"""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kit_py.errors import UsageError

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
DEFAULT_MODEL_KEY = "ANTHROPIC_API_KEY"
"""The variable holding DEFAULT_MODEL's key: without it (and no model chosen) `kit` uses its local model."""
THINKING_LEVELS = ("off", "minimal", "low", "medium", "high")
PREFERENCE_KEYS = ("theme", "model", "thinking_level")


@dataclass
class Settings:
    """Everything a turn needs to know, resolved from all sources."""

    model: str = DEFAULT_MODEL
    api_base: str | None = None
    api_key: str | None = None
    system_prompt: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    thinking_level: str = "off"
    timeout: float = 600.0
    max_retries: int = 3
    theme: str = "dark"
    auto_compact: bool = True
    caching: bool = True
    """Mark prompt-cache breakpoints for providers that need them (config key `caching`)."""
    compaction_model: str | None = None
    context_window: int | None = None
    """Tokens the model accepts; overrides litellm's model info (config key `context_window`)."""
    safe_mode: bool = False
    tools: list[str] | None = None
    max_steps: int = 25
    providers: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per-provider `api_base` / `api_key` (config key `providers`); a model switch uses its own."""
    mcp_servers: dict[str, Any] = field(default_factory=dict)
    """MCP server entries by name (config key `mcp_servers`, flag `--mcp`), checked by
    kit_py/tools/mcp/config.py. Each source adds servers (or replaces one of the same name)."""
    local_models: dict[str, str] = field(default_factory=dict)
    """GGUF files by alias, for `-m local/<alias>` (config key `local_models`; kit_py/llm/local.py)."""
    worker: bool = True
    """One-shot runs send model calls to the warm worker (config key `worker`; KIT_NO_WORKER=1 also
    turns it off; kit_py/llm/worker/)."""
    worker_idle_minutes: float = 15.0
    """Minutes without calls before the warm worker exits (config key `worker_idle_minutes`)."""
    llm_options: dict[str, Any] = field(default_factory=dict)
    """Other litellm options passed through untouched (Python API users)."""
    explicit: set[str] = field(default_factory=set)
    """Names of settings given on the command line, which beat what a resumed session recorded."""
    sources: dict[str, str] = field(default_factory=dict)
    """Where each non-default setting came from ("command line" or a file label), for error messages."""


def config_dir() -> Path:
    """User config dir (platformdirs), overridable with `KIT_CONFIG_DIR` for tests and portable setups."""
    env = os.environ.get("KIT_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("kit"))


def data_dir() -> Path:
    """User data dir for history and caches; lives next to the config when `KIT_CONFIG_DIR` is set."""
    env = os.environ.get("KIT_CONFIG_DIR")
    if env:
        return Path(env).expanduser() / "data"
    from platformdirs import user_data_dir

    return Path(user_data_dir("kit"))


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"cannot read {path}: {str(exc).splitlines()[0]}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{path} must hold a mapping of settings, not {type(loaded).__name__}")
    return {str(k).replace("-", "_"): v for k, v in loaded.items()}


def config_file_layers() -> list[tuple[str, dict[str, Any]]]:
    """`~/.kit.yml` then `./.kit.yml` (the project file wins), each with the label errors name it by."""
    return [
        ("~/.kit.yml", _read_yaml(Path.home() / ".kit.yml")),
        ("./.kit.yml", _read_yaml(Path.cwd() / ".kit.yml")),
    ]


def config_file_setting(key: str) -> str | None:
    """Which config file sets `key` now (the project file first), so a saved preference can say it loses."""
    for label, values in reversed(config_file_layers()):
        if values.get(key) is not None:
            return label
    return None


def preferences_path() -> Path:
    return config_dir() / "preferences.yml"


def load_preferences() -> dict[str, Any]:
    return {k: v for k, v in _read_yaml(preferences_path()).items() if k in PREFERENCE_KEYS}


def save_preference(key: str, value: Any) -> None:
    """Persist one preference atomically (write a temp file, then rename over the old one)."""
    if key not in PREFERENCE_KEYS:
        raise ValueError(f"unknown preference {key!r}")
    import yaml

    prefs = load_preferences()
    prefs[key] = value
    path = preferences_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".preferences.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            yaml.safe_dump(prefs, f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_SETTING_NAMES = {f.name for f in fields(Settings)} - {"explicit", "llm_options", "sources"}
_BOOL_WORDS = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}
_STRING_SETTINGS = ("model", "api_base", "api_key", "system_prompt", "compaction_model", "theme")
_INT_MINIMUMS = {"max_tokens": 1, "max_steps": 1, "context_window": 1, "max_retries": 0}


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower() if isinstance(value, (str, int)) else None
    if word not in _BOOL_WORDS:
        raise ValueError(f"must be true or false (or yes/no, on/off, 1/0), not {value!r}")
    return _BOOL_WORDS[word]


def _as_number(value: Any, kind: type[int] | type[float]) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a number, not {value!r}")
    try:
        number = kind(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        raise ValueError(f"must be {'a whole' if kind is int else 'a'} number, not {value!r}") from None
    if kind is int and isinstance(value, float) and number != value:
        raise ValueError(f"must be a whole number, not {value!r}")
    return number


def _coerce(name: str, value: Any) -> Any:
    """Check one hand-written config value and convert it; ValueError says what is wrong with it.

    Lenient in form (`tools: read,ls`, `auto_compact: "yes"`, `timeout: "30"`) but strict in meaning:
    a value kit cannot understand is an error, never silently a default (`safe_mode: enabled`).
    """
    if name in ("auto_compact", "caching", "safe_mode", "worker"):
        return _as_bool(value)
    if name in _INT_MINIMUMS:
        number = _as_number(value, int)
        if number < _INT_MINIMUMS[name]:
            raise ValueError(f"must be at least {_INT_MINIMUMS[name]}, not {value!r}")
        return number
    if name == "timeout":
        number = _as_number(value, float)
        if not number > 0:
            raise ValueError(f"must be more than 0 seconds, not {value!r}")
        return number
    if name == "worker_idle_minutes":
        number = _as_number(value, float)
        if not number > 0:
            raise ValueError(f"must be more than 0 minutes, not {value!r}")
        return number
    if name == "temperature":
        number = _as_number(value, float)
        if not 0 <= number <= 2:
            raise ValueError(f"must be between 0 and 2, not {value!r}")
        return number
    if name == "thinking_level" and value not in THINKING_LEVELS:
        raise ValueError(f"must be one of {', '.join(THINKING_LEVELS)}, not {value!r}")
    if name == "tools":
        if isinstance(value, str):
            return [t.strip() for t in value.split(",") if t.strip()]
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise ValueError(f"must be a list of tool names or a comma-separated string, not {value!r}")
        return [t.strip() for t in value if t.strip()]
    if name == "providers":
        return _providers(value)
    if name == "local_models":
        return _local_models(value)
    if name == "mcp_servers":
        if not isinstance(value, dict):
            raise ValueError(f"must map server names to their settings (command or url), not {value!r}")
        return {str(server): entry for server, entry in value.items()}
    if name in _STRING_SETTINGS and not isinstance(value, str):
        raise ValueError(f"must be a string, not {value!r}")
    return value


def _providers(value: Any) -> dict[str, dict[str, str]]:
    """`providers: {openai: {api_base: ..., api_key: ...}, anthropic: {api_key: ...}}`."""
    if not isinstance(value, dict):
        raise ValueError(f"must map provider names to api_base/api_key settings, not {value!r}")
    checked: dict[str, dict[str, str]] = {}
    for provider, values in value.items():
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise ValueError(f"{provider}: must hold api_base and/or api_key strings, not {values!r}")
        unknown = set(values) - {"api_base", "api_key"}
        if unknown:
            raise ValueError(f"{provider}: unknown key {sorted(unknown)[0]!r} (use api_base, api_key)")
        checked[str(provider)] = dict(values)
    return checked


def _local_models(value: Any) -> dict[str, str]:
    """`local_models: {qwen: ~/models/qwen2.5-0.5b-instruct-q4_k_m.gguf}`: absolute paths, as the same
    file serves every directory kit runs in."""
    if not isinstance(value, dict):
        raise ValueError(f"must map model names to GGUF file paths, not {value!r}")
    checked: dict[str, str] = {}
    for alias, path in value.items():
        if not isinstance(path, str) or not (path.startswith("~") or Path(path).is_absolute()):
            raise ValueError(f"{alias}: must be an absolute path to a GGUF file (or ~/...), not {path!r}")
        if "/" in str(alias):
            raise ValueError(f"{alias!r}: a model name has no '/'")
        checked[str(alias)] = path
    return checked


def _unknown_key_warning(key: str, label: str) -> str:
    from difflib import get_close_matches

    close = get_close_matches(key, sorted(_SETTING_NAMES), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return f"kit: warning: unknown setting {key!r} in {label}{hint}"


_ALIASES = {"mcpServers": "mcp_servers"}
"""Go kit's spelling of a key in the `.kit.yml` both tools read."""


def _apply(settings: Settings, name: str, value: Any, label: str) -> None:
    """Set one setting from one source. MCP servers add up by name: a project file adds to the home
    file's servers, `--mcp` to both (`sources` then says `mcp_servers.NAME`)."""
    if name == "mcp_servers":
        settings.mcp_servers = {**settings.mcp_servers, **value}
        settings.sources.update({f"mcp_servers.{server}": label for server in value})
        return
    setattr(settings, name, value)
    settings.sources[name] = label


def resolve_settings(cli_values: dict[str, Any]) -> Settings:
    """Merge defaults, preferences, config files and CLI values (None means 'not given').

    A bad value in a file is a usage error naming the file and key; an unknown key only warns.
    """
    settings = Settings()
    layers = [(str(preferences_path()), load_preferences()), *config_file_layers()]
    for label, layer in layers:
        for name, value in layer.items():
            name = _ALIASES.get(name, name)
            if name not in _SETTING_NAMES:
                print(_unknown_key_warning(name, label), file=sys.stderr)
                continue
            if value is None:
                continue
            try:
                _apply(settings, name, _coerce(name, value), label)
            except ValueError as exc:
                raise UsageError(f"{label}: {name} {exc}") from None
    for name, value in cli_values.items():
        if value is not None and name in _SETTING_NAMES:
            _apply(settings, name, value, "command line")
            settings.explicit.add(name)
    if settings.thinking_level not in THINKING_LEVELS:
        raise UsageError(
            f"unknown thinking level {settings.thinking_level!r}; choose one of {', '.join(THINKING_LEVELS)}"
        )
    return settings


def read_system_prompt(value: str | None) -> str | None:
    """`--system-prompt @file` reads the prompt from a file; anything else is the prompt itself."""
    if value is None or not value.startswith("@"):
        return value
    path = Path(value[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read system prompt file {path}: {exc.strerror}") from exc
