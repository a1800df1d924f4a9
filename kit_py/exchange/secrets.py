"""Finding and redacting credentials before a session leaves the machine.

Conversations with a coding agent collect secrets: a `.env` file read by a tool, a key pasted into a
prompt, a token in a command's output. Every string in the header and the entries is scanned
(images and reasoning signatures excepted: opaque base64), for provider API keys, cloud, chat and
forge tokens, private key blocks, JWTs, passwords in URLs and `KEY=value` assignments of secret-
looking names. Redaction replaces each finding with `[REDACTED <kind>]`, in copies: the session file
itself is never touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Entry = dict[str, Any]

# (kind, pattern); the first group, when there is one, is the secret inside a larger match.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "private key",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
            r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
        ),
    ),
    ("Anthropic API key", re.compile(r"\bsk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_-]{20,}")),
    ("OpenRouter API key", re.compile(r"\bsk-or-v1-[0-9a-f]{32,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    (
        "AWS secret access key",
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("Google OAuth token", re.compile(r"\bya29\.[0-9A-Za-z_-]{20,}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[0-9A-Za-z-]{10,}")),
    ("Slack webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,}")),
    ("Stripe key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}")),
    ("Groq API key", re.compile(r"\bgsk_[A-Za-z0-9]{40,}")),
    ("xAI API key", re.compile(r"\bxai-[A-Za-z0-9]{40,}")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("SendGrid API key", re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    ("bearer token", re.compile(r"(?i)\bauthorization:\s*bearer\s+([A-Za-z0-9._~+/=-]{20,})")),
    ("password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@\"']+:([^\s@/\"']{3,})@[^\s/\"']+")),
    (
        "secret assignment",
        re.compile(
            r"(?i)\b[A-Z0-9_.-]*(?:api[_-]?key|secret|token|passwd|password|credential)[A-Z0-9_]*"
            r"[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+_.~-]{12,})"
        ),
    ),
]
_NEEDS_DIGIT = frozenset({"OpenAI API key", "secret assignment"})
"""Kinds whose pattern also fits ordinary words (`sk-learn-...`, `token = some_function_name`): a real
key or password of that shape has a digit."""
_SKIPPED_FIELDS = frozenset({"signature", "thought_signature", "hash"})
_DIGIT = re.compile(r"\d")
_PLACEHOLDERS = re.compile(
    r"^(?:x+|\*+|<[^>]*>|\$\{?[A-Za-z_]+\}?|your[_-].*|\[REDACTED[^\]]*\]|changeme|example.*)$", re.I
)


@dataclass(frozen=True)
class Finding:
    kind: str
    value: str
    where: str
    """The entry (role or type, and id) the value is in: where to look in the session."""

    @property
    def masked(self) -> str:
        """Enough to recognize it, not enough to use it: `sk-a…7Q2x`."""
        value = self.value
        if "\n" in value:
            return value.split("\n", 1)[0] + " …"
        return value[:4] + "…" + value[-4:] if len(value) > 12 else value[:2] + "…"


def _matches(text: str) -> list[tuple[str, str, int, int]]:
    """(kind, secret, start, end) of each finding in `text`, earliest first, none overlapping."""
    found: list[tuple[str, str, int, int]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            group = 1 if pattern.groups and match.group(1) is not None else 0
            start, end = match.span(group)
            secret = match.group(group)
            if (group and _PLACEHOLDERS.match(secret)) or (
                kind in _NEEDS_DIGIT and not _DIGIT.search(secret)
            ):
                continue
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append((kind, secret, start, end))
    found.sort(key=lambda item: item[2])
    return found


def _walk(value: Any, fix: Callable[[str], str], key: str = "") -> Any:
    """`value` with `fix` applied to every string, except opaque fields (images, signatures)."""
    if isinstance(value, str):
        return value if key in _SKIPPED_FIELDS else fix(value)
    if isinstance(value, list):
        return [_walk(item, fix) for item in value]
    if isinstance(value, dict):
        if value.get("type") == "image" and isinstance(value.get("data"), dict):
            return value  # base64 picture data: random letters, not text
        return {k: _walk(v, fix, k) for k, v in value.items()}
    return value


def _where(entry: Entry) -> str:
    what = entry.get("role") if entry.get("type") == "message" else entry.get("type")
    return f"{what} {str(entry.get('id', ''))[:8]}".strip()


def scan(header: Entry, entries: list[Entry]) -> list[Finding]:
    """Every distinct secret in the header and the entries, in file order."""
    findings: list[Finding] = []
    seen: set[str] = set()
    for entry in [header, *entries]:
        where = "header" if entry is header else _where(entry)

        def collect(text: str, where: str = where) -> str:
            for kind, secret, _start, _end in _matches(text):
                if secret not in seen:
                    seen.add(secret)
                    findings.append(Finding(kind, secret, where))
            return text

        _walk(entry, collect)
    return findings


def redact_text(text: str) -> str:
    out: list[str] = []
    last = 0
    for kind, _secret, start, end in _matches(text):
        out += [text[last:start], f"[REDACTED {kind}]"]
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(header: Entry, entries: list[Entry]) -> tuple[Entry, list[Entry]]:
    """Copies of the header and entries with every finding replaced by `[REDACTED <kind>]`."""
    return _walk(header, redact_text), [_walk(entry, redact_text) for entry in entries]


MAX_LISTED = 20


def describe(findings: list[Finding]) -> list[str]:
    """One line per finding (at most MAX_LISTED, then a count), for the question before an upload."""
    lines = [f"  {f.kind}: {f.masked} (in {f.where})" for f in findings[:MAX_LISTED]]
    if len(findings) > MAX_LISTED:
        lines.append(f"  ... and {len(findings) - MAX_LISTED} more")
    return lines
