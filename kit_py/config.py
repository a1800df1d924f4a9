"""Settings and preferences: where they live and which one wins.

Precedence for every setting: CLI flag (or its KIT_* env var) > config file > saved preference > default.
Config files are `~/.kit.yml` then `./.kit.yml` (the project file overrides the home one); preferences
are what the REPL remembers (`preferences.yml` in the user config dir).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from kit_py.errors import UsageError

DEFAULT_MODEL = "anthropic/claude-sonnet-4-5"
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
    auto_compact: bool = False
    compaction_model: str | None = None
    context_window: int | None = None
    """Tokens the model accepts; overrides litellm's model info (config key `context_window`)."""
    safe_mode: bool = False
    tools: list[str] | None = None
    max_steps: int = 25
    llm_options: dict[str, Any] = field(default_factory=dict)
    """Other litellm options passed through untouched (Python API users)."""
    explicit: set[str] = field(default_factory=set)
    """Names of settings given on the command line, which beat what a resumed session recorded."""


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


def config_file_values() -> dict[str, Any]:
    """Merged `~/.kit.yml` and `./.kit.yml`; the project file wins."""
    merged = _read_yaml(Path.home() / ".kit.yml")
    merged.update(_read_yaml(Path.cwd() / ".kit.yml"))
    return merged


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


_SETTING_NAMES = {f.name for f in fields(Settings)} - {"explicit", "llm_options"}


def _coerce(name: str, value: Any) -> Any:
    """Config files are hand-written: accept `tools: read,ls` and `auto_compact: "yes"` alike."""
    if name == "tools" and isinstance(value, str):
        return [t.strip() for t in value.split(",") if t.strip()]
    if name in ("auto_compact", "safe_mode") and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if name in ("max_tokens", "max_retries", "max_steps", "context_window") and value is not None:
        return int(value)
    if name in ("temperature", "timeout") and value is not None:
        return float(value)
    return value


def resolve_settings(cli_values: dict[str, Any]) -> Settings:
    """Merge defaults, preferences, config files and CLI values (None means 'not given')."""
    settings = Settings()
    layers = [load_preferences(), config_file_values()]
    for layer in layers:
        for name, value in layer.items():
            if name in _SETTING_NAMES and value is not None:
                try:
                    setattr(settings, name, _coerce(name, value))
                except (TypeError, ValueError) as exc:
                    raise UsageError(f"bad value for {name} in config: {value!r}") from exc
    for name, value in cli_values.items():
        if value is not None and name in _SETTING_NAMES:
            setattr(settings, name, value)
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
