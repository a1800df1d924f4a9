"""What an MCP server entry says: checked and normalized once, whether it came from `.kit.yml`,
`--mcp NAME=COMMAND` or `Agent(mcp_servers=...)`.

Pure data, no `mcp` import: `kit --help` and a run without servers never pay for the SDK.
Accepted shapes (kit's own, plus Go kit's `mcpServers` spelling of the same file):

    files:  {command: npx, args: [-y, "@modelcontextprotocol/server-filesystem", "."], env: {...}}
    files:  {command: "uvx mcp-server-git"}            # no args: the command line is split like a shell
    files:  {type: local, command: [npx, -y, pkg], environment: {...}}          # Go kit
    issues: {url: "https://host/mcp", headers: {Authorization: "Bearer ${TOKEN}"}}
    issues: "https://host/mcp"   |   files: "uvx mcp-server-git"               # shorthand

`${VAR}` and `${VAR:-default}` are taken from the environment; a server whose variable is unset is
reported as failed when it would start, instead of stopping kit.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

DEFAULT_STARTUP_TIMEOUT = 30.0
DEFAULT_CALL_TIMEOUT = 300.0
SERVER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TRANSPORTS = {
    "stdio": "stdio",
    "local": "stdio",
    "http": "http",
    "streamable-http": "http",
    "streamable_http": "http",
    "remote": "http",
}
_KEYS = {
    "type",
    "transport",
    "command",
    "args",
    "env",
    "environment",
    "cwd",
    "url",
    "headers",
    "startup_timeout",
    "timeout",
    "allowed_tools",
    "allowedTools",
    "enabled",
}


@dataclass
class ServerConfig:
    """One MCP server: a command to run (stdio) or a URL (streamable HTTP)."""

    name: str
    command: str | None = None
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    """Added to kit's own environment (servers see what `bash` commands see)."""
    cwd: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    startup_timeout: float = DEFAULT_STARTUP_TIMEOUT
    """Seconds to start and list tools; a server still silent then is reported and left out."""
    timeout: float = DEFAULT_CALL_TIMEOUT
    """Seconds one tool call may take before it is cancelled."""
    allowed_tools: list[str] | None = None
    """Offer only these of the server's tools (their names as the server spells them)."""
    problem: str | None = None
    """Why the server cannot start (an unset environment variable); it is reported when it would."""
    ignored_keys: list[str] = field(default_factory=list)

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    def describe(self) -> str:
        """How the server is reached, for /servers (secrets are never shown: not the header values,
        not a password in the URL)."""
        if self.url:
            return re.sub(r"//[^/@]*@", "//", self.url)
        return shlex.join([self.command or "", *self.args])


def parse_server(name: str, raw: Any) -> ServerConfig | None:
    """A checked `ServerConfig`, or None for a server turned off (`enabled: false`).

    Raises ValueError saying what is wrong (without saying where: the caller knows that).
    """
    if not SERVER_NAME.match(name):
        raise ValueError(
            f"server name {name!r} must be 1-40 letters, digits, '_' or '-' (it prefixes its tool names)"
        )
    if isinstance(raw, str):
        raw = {"url": raw} if _is_url(raw) else {"command": raw}
    if not isinstance(raw, Mapping):
        raise ValueError(f"must be a mapping (command/args/env or url/headers), not {raw!r}")
    spec = {str(k): v for k, v in raw.items()}
    if not _flag(spec.get("enabled", True), "enabled"):
        return None
    missing: list[str] = []
    config = ServerConfig(name=name, ignored_keys=sorted(set(spec) - _KEYS))
    kind = spec.get("type", spec.get("transport"))
    if kind is not None and str(kind).lower() not in _TRANSPORTS:
        raise ValueError(f"type must be one of {', '.join(sorted(_TRANSPORTS))}, not {kind!r}")
    has_command, has_url = spec.get("command") is not None, spec.get("url") is not None
    if has_command == has_url:
        raise ValueError("needs either `command` (a program to run) or `url` (a streamable HTTP endpoint)")
    if kind is not None and _TRANSPORTS[str(kind).lower()] != ("http" if has_url else "stdio"):
        raise ValueError(f"type {kind} does not go with {'url' if has_url else 'command'}")
    for key in ("args", "env", "environment", "cwd") if has_url else ("headers",):
        if spec.get(key) is not None:
            raise ValueError(f"`{key}` does not go with {'url' if has_url else 'command'}")
    if has_url:
        config.url = _expand(_string(spec["url"], "url"), missing)
        if not _is_url(config.url) and not missing:
            raise ValueError(f"url must start with http:// or https://, not {config.url!r}")
        config.headers = _string_map(spec.get("headers"), "headers", missing)
    else:
        words = _command_words(spec["command"], spec.get("args"))
        words = [_expand(w, missing) for w in words]
        config.command, config.args = os.path.expanduser(words[0]), words[1:]
        config.env = _string_map(spec.get("env", spec.get("environment")), "env", missing)
        if spec.get("cwd") is not None:
            config.cwd = os.path.expanduser(_expand(_string(spec["cwd"], "cwd"), missing))
    config.startup_timeout = _seconds(spec.get("startup_timeout"), "startup_timeout", DEFAULT_STARTUP_TIMEOUT)
    config.timeout = _seconds(spec.get("timeout"), "timeout", DEFAULT_CALL_TIMEOUT)
    allowed = spec.get("allowed_tools", spec.get("allowedTools"))
    if allowed is not None:
        if not isinstance(allowed, list) or not all(isinstance(t, str) for t in allowed):
            raise ValueError(f"allowed_tools must be a list of tool names, not {allowed!r}")
        config.allowed_tools = list(allowed)
    if missing:
        config.problem = f"environment variable {missing[0]} is not set"
    return config


def load_servers(raw: Mapping[str, Any], where: Callable[[str], str]) -> tuple[list[ServerConfig], list[str]]:
    """Every enabled server of `raw` (name -> entry) and warnings about keys that look mistyped.

    Raises ValueError prefixed with `where(name)` (e.g. "./.kit.yml: mcp_servers.files"). Keys kit
    does not know and that resemble none of its own are ignored silently: another tool sharing the
    file (Go kit reads `.kit.yml` too) may use them.
    """
    configs: list[ServerConfig] = []
    warnings: list[str] = []
    for name, entry in raw.items():
        try:
            config = parse_server(str(name), entry)
        except ValueError as exc:
            raise ValueError(f"{where(str(name))}: {exc}") from None
        if config is None:
            continue
        configs.append(config)
        for key in config.ignored_keys:
            close = get_close_matches(key, sorted(_KEYS), n=1)
            if close:
                hint = f"did you mean {close[0]}?"
                warnings.append(f"{where(config.name)}: unknown key {key!r} ignored ({hint})")
    return configs, warnings


def parse_cli_server(spec: str) -> tuple[str, str]:
    """`--mcp NAME=COMMAND` as (name, command line or URL), checked like a config entry.

    Raises ValueError."""
    name, sep, command = spec.partition("=")
    name, command = name.strip(), command.strip()
    if not sep or not name or not command:
        raise ValueError(f"expected NAME=COMMAND (e.g. files='uvx mcp-server-git'), got {spec!r}")
    parse_server(name, command)
    return name, command


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _command_words(command: Any, args: Any) -> list[str]:
    """A list command (Go kit) is taken as it is; a string is split like a shell would unless `args`
    are given separately."""
    if isinstance(command, list):
        words = [_string(w, "command") for w in command]
    else:
        text = _string(command, "command")
        try:
            words = shlex.split(text) if args is None else [text]
        except ValueError as exc:
            raise ValueError(f"command {text!r} cannot be split into words: {exc}") from None
    if args is not None:
        if not isinstance(args, list):
            raise ValueError(f"args must be a list of strings, not {args!r}")
        words += [_scalar(a, "args") for a in args]
    if not words or not words[0].strip():
        raise ValueError("command is empty")
    return words


def _expand(text: str, missing: list[str]) -> str:
    """`${VAR}` / `${VAR:-default}` from the environment; unset names are collected in `missing`."""

    def value(match: re.Match[str]) -> str:
        found = os.environ.get(match.group(1))
        if found is None or (found == "" and match.group(2) is not None):
            if match.group(2) is not None:
                return match.group(2)
            missing.append(match.group(1))
            return ""
        return found

    return _VARIABLE.sub(value, text)


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a string, not {value!r}")
    return value


def _scalar(value: Any, key: str) -> str:
    """YAML turns `8080` and `true` into numbers and booleans; as arguments they are text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"{key} must hold strings, not {value!r}")


def _string_map(value: Any, key: str, missing: list[str]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be a mapping of names to values, not {value!r}")
    return {str(k): _expand(_scalar(v, key), missing) for k, v in value.items()}


def _seconds(value: Any, key: str, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{key} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{key} must be a number of seconds, not {value!r}") from None
    if not seconds > 0:
        raise ValueError(f"{key} must be more than 0 seconds, not {value!r}")
    return seconds


def _flag(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{key} must be true or false, not {value!r}")
