"""The errors of moving sessions in and out; each is one line for the user and an exit code."""

from __future__ import annotations

from kit_py.errors import KitError, SessionError


class ImportFileError(SessionError):
    """A file to import cannot be read as a session: the message names the file, the line and why."""


class ShareError(KitError):
    """Sharing did not happen (no `gh`, logged out, an upload error, secrets not confirmed)."""


class ShareCancelled(ShareError):
    """The user chose not to upload after seeing the secrets found."""
