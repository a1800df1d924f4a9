"""`/export`, `/import` and `/share`: the REPL's side of `kit_py.exchange` (the CLI calls the same).

What is REPL-specific lives here: arguments typed after the command, the question about secrets asked
at the prompt, switching the conversation to an imported session and drawing its history.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from kit_py.errors import UsageError

if TYPE_CHECKING:
    from kit_py.exchange.secrets import Finding
    from kit_py.exchange.share import Decision
    from kit_py.repl.face import ReplFace as Repl


def _say(repl: Repl, text: str) -> None:
    """A note kept on one line (the terminal wraps it), so a path or a URL can be copied whole."""
    repl.console.print(text, style="kit.note", markup=False, highlight=False, soft_wrap=True)


def _words(args: str) -> list[str]:
    try:
        return shlex.split(args)
    except ValueError as exc:
        raise UsageError(f"cannot read the arguments: {exc}") from None


def export_command(repl: Repl, args: str) -> None:
    from kit_py.exchange.export import export_session

    words = _words(args)
    force = "--force" in words
    rest = [w for w in words if w != "--force"]
    if len(rest) > 1:
        raise UsageError("/export takes one path (quote a path with spaces): /export [path] [--force]")
    result = export_session(repl.session, rest[0] if rest else None, cwd=repl.cwd, force=force)
    _say(repl, f"exported {result.format} to {result.path} ({result.bytes:,} bytes)")


def import_command(repl: Repl, args: str) -> None:
    from kit_py.exchange.importer import import_session, open_imported
    from kit_py.terminal.turn_view import render_history

    words = _words(args)
    if len(words) != 1:
        raise UsageError(
            "/import takes one file: /import path/to/session.jsonl (kit, Go kit, pi or kit Markdown)"
        )
    if repl.session.in_memory:
        raise UsageError("this chat writes nothing (--no-session), so it cannot import a session file")
    source = Path(words[0]).expanduser()
    result = import_session(source if source.is_absolute() else repl.cwd / source, str(repl.cwd))
    session = open_imported(result)
    repl.conversation.switch_to(session)
    for warning in result.warnings:
        repl.warn(f"warning: {warning}")
    render_history(repl.console, session.path_entries(), repl.theme.code_theme)
    _say(
        repl,
        f"imported {result.format} session {result.source} ({result.entries} entries) as {result.path}; "
        "you are in it now",
    )


def _ask(repl: Repl, findings: list[Finding]) -> Decision:
    from prompt_toolkit import prompt
    from prompt_toolkit.formatted_text import FormattedText

    from kit_py.exchange.secrets import describe
    from kit_py.terminal.theme import prompt_style

    count = len(findings)
    repl.warn(f"found {count} possible secret{'s' if count != 1 else ''} in this session:")
    repl.console.print("\n".join(describe(findings)), markup=False, highlight=False)
    question = FormattedText([("class:prompt", "Upload anyway? [y]es as they are, [r]edact them, [N]o: ")])
    while True:
        try:
            answer = prompt(question, style=prompt_style(repl.theme)).strip().lower()
        except EOFError:
            return "cancel"
        if answer in ("y", "yes"):
            return "upload"
        if answer in ("r", "redact"):
            return "redact"
        if answer in ("", "n", "no"):
            return "cancel"


def share_command(repl: Repl, args: str) -> None:
    from kit_py.exchange.errors import ShareCancelled
    from kit_py.exchange.share import share_session

    words = _words(args)
    unknown = [w for w in words if w not in ("--yes", "-y", "--redact")]
    if unknown:
        raise UsageError(f"/share takes --yes and --redact, not {' '.join(unknown)}")
    try:
        result = share_session(
            repl.session,
            lambda findings: _ask(repl, findings),
            yes="--yes" in words or "-y" in words,
            redact_secrets="--redact" in words,
        )
    except ShareCancelled:
        repl.note("not shared: nothing was uploaded")
        return
    redacted = f" ({result.secrets_found} secret(s) redacted)" if result.redacted else ""
    _say(repl, f"shared as a secret gist{redacted}: {result.url}")
