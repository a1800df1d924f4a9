"""Errors a user can meet, each with a one-line message and its own exit code.

Kept free of heavy imports: the CLI maps these to exit codes without loading litellm.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Distinct process exit codes, so scripts can tell failures apart."""

    OK = 0
    ERROR = 1
    USAGE = 2
    MISSING_API_KEY = 3
    AUTH = 4
    MODEL_NOT_FOUND = 5
    CONNECTION = 6
    RATE_LIMITED = 7
    PROVIDER = 8
    TIMEOUT = 9
    INCOMPLETE = 10
    CONTEXT_OVERFLOW = 11
    SESSION = 12
    TOOL = 13
    SESSION_WRITE = 14
    INTERRUPTED = 130


class KitError(Exception):
    """Base of every error kit reports to a user instead of a traceback."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(KitError):
    exit_code = ExitCode.USAGE


class SessionError(KitError):
    exit_code = ExitCode.SESSION


class SessionWriteError(SessionError):
    """The session cannot be written (read-only folder or file, not a folder, disk full). Raised
    before a request when it can be known, so no paid answer is lost; the message names the path."""

    exit_code = ExitCode.SESSION_WRITE

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class ForeignSessionError(SessionError):
    """The file is a session of another format (e.g. pi's): kit never appends to it."""


class SessionExistsError(SessionError, ValueError):
    """A new session was given an id its store already holds; the stored session is left untouched."""


class SessionConflictError(SessionError):
    """Another writer (a second `Session` object on the same id, another process) added to the
    session in its store since this one last read it; nothing was written, so nothing is lost."""


class AgentError(KitError):
    """A turn with the model failed; nothing of the failed turn is kept as context.

    `status` is the provider's HTTP status (None when no response came back), `provider` the
    litellm provider asked; the exception that caused it (litellm's, httpx's) is `__cause__`.
    """

    def __init__(self, message: str, *, status: int | None = None, provider: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.provider = provider


class Cancelled(KitError):
    """The caller cancelled a turn (an asyncio task cancelled, a stream left early): not a failure of
    the model, so faces re-raise their own cancellation (`asyncio.CancelledError`, `KeyboardInterrupt`)."""

    exit_code = ExitCode.INTERRUPTED


class MissingAPIKeyError(AgentError):
    """No API key for the provider; `env_vars` names the variables that would hold one."""

    exit_code = ExitCode.MISSING_API_KEY

    def __init__(
        self, message: str, *, provider: str | None = None, env_vars: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message, provider=provider)
        self.env_vars = env_vars


class AuthError(AgentError):
    exit_code = ExitCode.AUTH


class ModelNotFoundError(AgentError):
    exit_code = ExitCode.MODEL_NOT_FOUND


class ConnectionFailedError(AgentError):
    exit_code = ExitCode.CONNECTION


class RateLimitError(AgentError):
    exit_code = ExitCode.RATE_LIMITED


class ProviderError(AgentError):
    exit_code = ExitCode.PROVIDER


class ServerError(ProviderError):
    """The provider failed on its side (5xx): worth retrying, unlike a rejected request."""


class RequestTimeoutError(AgentError):
    exit_code = ExitCode.TIMEOUT


class IncompleteResponseError(AgentError):
    """The stream ended before the model finished; what arrived is kept and shown."""

    exit_code = ExitCode.INCOMPLETE


class ContextOverflowError(AgentError):
    exit_code = ExitCode.CONTEXT_OVERFLOW


class ToolError(AgentError):
    exit_code = ExitCode.TOOL


class StructuredOutputError(AgentError):
    """The model's answer did not validate against the requested schema, even after one retry."""
