"""`@path` in a prompt attaches a file: text is inlined in a delimited block, images become image parts.

A word that names no existing file is left alone (`@someone` stays a mention), unless it looks like a
path (a `/` or a file extension): a mistyped `@src/mian.py` is an error naming the closest file, not a
prompt sent without the file the user meant. Unreadable or oversized files are errors too, so the user
learns before anything is sent.
"""

from __future__ import annotations

import base64
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from kit_py.errors import UsageError
from kit_py.repl.file_search import fuzzy_paths
from kit_py.tools.text import looks_binary

MAX_TEXT_BYTES = 256 * 1024
MAX_IMAGE_BYTES = 20 * 1024 * 1024
IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# @path, or @"path with spaces"; must start the input or follow whitespace (not an e-mail address).
MENTION = re.compile(r'(?<!\S)@(?:"([^"]+)"|(\S+))')
LOOKS_LIKE_PATH = re.compile(r"/|\.[A-Za-z0-9]{1,8}$")


@dataclass
class Expanded:
    text: str
    images: list[dict[str, str]] = field(default_factory=list)
    attached: list[str] = field(default_factory=list)
    """Display names of the files attached, in order."""


def _resolve(raw: str, cwd: Path) -> Path | None:
    candidate = Path(raw.rstrip(",.;:!?)")).expanduser()
    path = candidate if candidate.is_absolute() else cwd / candidate
    return path if path.is_file() else None


def _no_such_file(shown: str, cwd: Path) -> str:
    close = difflib.get_close_matches(shown, fuzzy_paths(Path(shown).name[:1], cwd, limit=500), n=1)
    hint = f"; did you mean @{close[0]}?" if close else ""
    return f"@{shown}: no such file{hint} (without the @ it is sent as plain text)"


def expand(text: str, cwd: Path) -> Expanded:
    """The prompt with every `@file` attached; raises UsageError for a file that cannot be attached."""
    result = Expanded(text)
    blocks: list[str] = []
    seen: set[Path] = set()
    for match in MENTION.finditer(text):
        raw = match.group(1) or match.group(2)
        path = _resolve(raw, cwd)
        if path is None and (match.group(1) or LOOKS_LIKE_PATH.search(raw.rstrip(",.;:!?)"))):
            raise UsageError(_no_such_file(raw.rstrip(",.;:!?)"), cwd))
        if path is None or path.resolve() in seen:
            continue
        seen.add(path.resolve())
        shown = raw.rstrip(",.;:!?)")
        media_type = IMAGE_TYPES.get(path.suffix.lower())
        try:
            size = path.stat().st_size
            if media_type:
                if size > MAX_IMAGE_BYTES:
                    raise UsageError(f"@{shown}: image is {size // 1024 // 1024} MB; the limit is 20 MB")
                data = base64.b64encode(path.read_bytes()).decode("ascii")
                result.images.append({"data": data, "media_type": media_type})
            else:
                if size > MAX_TEXT_BYTES:
                    raise UsageError(
                        f"@{shown}: file is {size // 1024} KB; text attachments are limited to 256 KB"
                    )
                raw_bytes = path.read_bytes()
                if looks_binary(raw_bytes):
                    raise UsageError(f"@{shown}: looks like a binary file; only text files and images attach")
                content = raw_bytes.decode("utf-8", errors="replace")
                body = content if content.endswith("\n") or not content else content + "\n"
                blocks.append(f'<file path="{shown}">\n{body}</file>')
        except OSError as exc:
            raise UsageError(f"@{shown}: cannot read: {exc.strerror or exc}") from None
        result.attached.append(shown)
    if blocks:
        result.text = text + "\n\n" + "\n\n".join(blocks)
    return result
