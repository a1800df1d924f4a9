"""The interactive chat loop: a prompt_toolkit input line, slash commands, and turns run by the engine.

Startup stays light: prompt_toolkit and rich are imported, litellm is not. It warms up in a background
thread once the prompt has been drawn, so the first answer does not pay for the import either.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit_py import __version__
from kit_py.config import THINKING_LEVELS, Settings, config_file_setting, data_dir, save_preference
from kit_py.engine import events
from kit_py.engine.approval import PendingAction
from kit_py.engine.conversation import Conversation, user_message
from kit_py.engine.turn import TurnFailed
from kit_py.errors import ExitCode, KitError, MissingAPIKeyError
from kit_py.repl import attachments, shell, stats
from kit_py.repl.commands import REGISTRY
from kit_py.repl.registry import parse_command
from kit_py.repl.type_ahead import TypeAhead
from kit_py.session.cwd import logical_cwd
from kit_py.session.format import TYPED_KEY
from kit_py.terminal.theme import get_theme, prompt_style, rich_theme
from kit_py.terminal.turn_view import TurnView, print_diff, render_history
from kit_py.text import exit_status

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.history import History
    from rich.console import Console

    from kit_py.engine.approval import ToolSetup
    from kit_py.session import SessionManager

PROMPT = "❯ "
PASTE_COLLAPSE_LINES = 20
"""A longer paste shows as one `[pasted N lines #K]` line in the input and is sent whole."""
PASTED = re.compile(r"\[pasted \d+ lines #(\d+)\]")


@contextmanager
def _no_echo() -> Iterator[None]:
    """While an answer streams, keys are not echoed: a `^C` echo would shift the live region and leave
    garbage lines, and typed-ahead text waits in the input queue for the next prompt instead.

    Type-ahead must reach the prompt as typed: with ICRNL on, Enter (`\r`) would arrive as `\n`, which
    the prompt reads as Ctrl-J (new line) instead of sending; with ICANON on, the line discipline would
    hold the keys back and apply its own editing to them."""
    try:
        import termios

        fd = sys.stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError):
        yield
        return
    quiet = list(saved)
    quiet[0] &= ~termios.ICRNL
    quiet[3] &= ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)
    termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, saved)


class Repl:
    """State of one interactive run: settings, the current session, the console and the input line."""

    def __init__(self, conversation: Conversation, debug: bool = False) -> None:
        self.conversation = conversation
        if conversation.tools is not None and conversation.tools.approve is None:
            conversation.tools.approve = self.approve  # the REPL answers approvals itself
        self.debug = debug
        self.cwd = Path(logical_cwd())
        self.registry = REGISTRY
        self.theme = get_theme(conversation.settings.theme)
        self._console: Console | None = None
        self.pending_input = ""
        """Text to pre-fill the next prompt with (a failed turn's prompt, an undone message)."""
        self.exit_requested = False
        self._warm_up: threading.Thread | None = None
        self._windows: dict[str, int | None] = {}
        self._known_models: list[str] | None = None
        self._numbers: tuple[Any, tuple[int, str, int | None]] = (None, (0, "$0", None))
        self._prompt: PromptSession[str] | None = None
        self._pastes: list[str] = []
        self._type_ahead: TypeAhead | None = None
        """Reads the keys typed while a turn runs (Esc stops it; text is queued), None between turns."""
        self._typed_during_turn: tuple[list[str], str] = ([], "")
        self._queued: list[str] = []
        """Messages typed and sent with Enter while an answer streamed: sent next, in order."""

    @property
    def session(self) -> SessionManager:
        return self.conversation.session

    @property
    def settings(self) -> Settings:
        return self.conversation.settings

    @property
    def tool_setup(self) -> ToolSetup | None:
        """The tools offered each turn (None: no tools)."""
        return self.conversation.tools

    @property
    def console(self) -> Console:
        """Created on first use: rich is not needed to draw the first prompt."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(theme=rich_theme(self.theme), highlight=False)
        return self._console

    # --- output helpers ------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.console.print(text, style="kit.note", markup=False, highlight=False)

    def warn(self, text: str) -> None:
        self.console.print(text, style="kit.warn", markup=False, highlight=False)

    def error(self, text: str) -> None:
        self.console.print(f"✗ {text}", style="kit.error", markup=False, highlight=False)

    # --- session facts -------------------------------------------------------------------------------

    def path_messages(self) -> list[dict[str, Any]]:
        return [e for e in self.session.path_entries() if e.get("type") == "message"]

    def _session_numbers(self) -> tuple[int, str, int | None]:
        """(context tokens, session cost as shown, percent of the last answer's input read from the prompt
        cache), recomputed only when the session changed: the status line
        asks on every keypress and a long session must not make typing slow.

        The context is the compaction engine's own estimate: after a compaction it no longer counts the
        provider's usage from before it, so the status line and /usage show the smaller context at once."""
        key = (self.session, self.session.leaf_id, len(self.session.entries))
        if self._numbers[0] != key:
            tokens = self.conversation.context_tokens()
            entries = self.session.entries
            cached = stats.cached_percent(stats.last_answer_usage(entries))
            self._numbers = (key, (tokens, stats.session_cost(stats.usage_totals(entries)), cached))
        return self._numbers[1]

    def context_size(self) -> tuple[int, int | None]:
        """(tokens the next request carries, the model's window or None while unknown)."""
        return self._session_numbers()[0], self._window(self.settings.model)

    def _window(self, model: str) -> int | None:
        if self.settings.context_window:
            return self.settings.context_window  # the user's word beats litellm's model info
        if model in self._windows:
            return self._windows[model]
        if self._warm_up is None or self._warm_up.is_alive():
            return None  # never block the toolbar on the litellm import
        from kit_py import llm

        self._windows[model] = llm.model_limits(model)[0]
        return self._windows[model]

    def known_models(self) -> list[str]:
        """Chat models litellm knows, as `provider/model`; empty until the background import is done."""
        if self._known_models is None:
            if self._warm_up is None or self._warm_up.is_alive():
                return []
            from kit_py import llm

            self._known_models = llm.chat_models()
        return self._known_models

    def _wait_for_llm(self) -> None:
        """The first turn waits for the background import, with a visible reason."""
        if self._warm_up is None:
            self._start_warm_up()
        assert self._warm_up is not None
        if self._warm_up.is_alive():
            with self.console.status("[kit.dim]loading the model library…[/]", spinner="dots"):
                self._warm_up.join()
        if self.debug:
            from kit_py import llm

            llm.load_litellm(debug=True)  # already imported: this only turns litellm's logging on

    def _start_warm_up(self, *_: Any) -> None:
        if self._warm_up is None:
            from kit_py import llm

            self._warm_up = llm.warm_up()
            if self.tool_setup is not None:
                self.tool_setup.warm_up()  # MCP servers start now, in the background

    # --- changing settings -----------------------------------------------------------------------------

    def _remember(self, key: str, value: str) -> str:
        """Save a preference; returns the note to show (a failure to save is reported, not fatal).

        A config file beats a preference on the next start, so the note says so instead of promising.
        With --no-session nothing is written anywhere, preferences included."""
        if self.session.in_memory:
            return " (for this run only: --no-session saves nothing)"
        try:
            save_preference(key, value)
        except OSError as exc:
            self.warn(f"could not remember it: {exc.strerror or exc} ({exc.filename or 'preferences.yml'})")
            return " (for this session only)"
        config_file = self._config_file_setting(key)
        if config_file:
            return f" (saved as a preference, but {config_file} sets {key} and wins on the next start)"
        return " (remembered for next time)"

    @staticmethod
    def _config_file_setting(key: str) -> str | None:
        try:
            return config_file_setting(key)
        except KitError:  # edited into something unreadable since the start: it sets nothing
            return None

    def set_model(self, name: str) -> None:
        """/model NAME: a misspelt or unknown model is refused (and not remembered); a provider
        without a key is switched to with a warning, so the key can be set before the next prompt."""
        from kit_py import llm

        self._wait_for_llm()
        meant = llm.closest_model(name)
        if meant is not None:
            self.error(f"unknown model {name!r}; did you mean {meant}? (the model was not changed)")
            return
        try:
            llm.check_model(name, None, None)
        except MissingAPIKeyError:
            pass  # said below, with the key of the provider switched to
        except KitError as exc:
            self.error(exc.message)
            return
        self.conversation.set_model(name)
        try:
            llm.check_model(name, self.settings.api_key, self.settings.api_base)
        except MissingAPIKeyError as exc:
            self.warn(f"warning: {exc.message}; the next prompt will fail until it is set")
        self.note(f"model: {name}{self._remember('model', name)}")

    def set_thinking(self, level: str, quiet: bool = False) -> None:
        self.conversation.set_thinking_level(level)
        remembered = self._remember("thinking_level", level)
        if not quiet:
            self.note(f"thinking level: {level}{remembered}")

    def cycle_thinking(self) -> None:
        levels = list(THINKING_LEVELS)
        current = self.settings.thinking_level
        following = levels[(levels.index(current) + 1) % len(levels)] if current in levels else levels[0]
        self.set_thinking(following, quiet=True)

    def set_theme(self, name: str) -> None:
        self.theme = get_theme(name)
        self.settings.theme = self.theme.name
        self._console = None
        if self._prompt is not None:
            self._prompt.style = prompt_style(self.theme)
        self.note(f"theme: {self.theme.name}{self._remember('theme', self.theme.name)}")

    def compact(self, focus: str | None) -> None:
        """/compact: summarize the older part of the conversation into one appended compaction entry."""
        from kit_py.compaction.runner import CompactionCancelled

        self._wait_for_llm()
        status = self.console.status("compacting the conversation…", spinner="dots")

        def progress(event: events.Event) -> None:
            if isinstance(event, events.CompactionProgress):
                status.update(f"{event.text}…")

        self.conversation.on_event = progress
        try:
            with status, _no_echo():
                outcome = self.conversation.compact(focus)
        except CompactionCancelled as cancelled:
            self.warn(f"⏹ {cancelled.message}")
            return
        except KitError as exc:
            said = "nothing was compacted" in exc.message
            self.error(exc.message if said else f"{exc.message} (nothing was compacted)")
            return
        self.note(outcome.describe() if outcome else "nothing to compact yet")

    def approve(self, action: PendingAction) -> str:
        """Safe mode and outside paths: show what a tool is about to do and ask y / n / a (always).

        Returns an `approval` answer; Ctrl-D means no, Ctrl-C stops the turn like anywhere else.
        """
        from prompt_toolkit import prompt
        from prompt_toolkit.formatted_text import FormattedText

        from kit_py.engine import approval

        self.console.print(
            f"⚠ {action.tool} needs approval ({action.reason})",
            style="kit.warn",
            markup=False,
            highlight=False,
        )
        print_diff(self.console, action.preview, approval.MAX_PROMPT_PREVIEW_LINES)
        question = FormattedText([("class:prompt", approval.question_text(action))])
        replies = approval.REPLIES
        while True:
            try:
                with self._type_ahead.paused() if self._type_ahead else nullcontext():
                    answer = prompt(question, style=prompt_style(self.theme)).strip().lower()
            except EOFError:
                return approval.DENIED
            if answer in replies:
                return replies[answer]
            self.note("please answer y (yes), n (no) or a (always for this tool)")

    # --- input ---------------------------------------------------------------------------------------

    def _handle_safely(self, text: str) -> None:
        """An interrupted command or a bug in one must not end the chat or lose what was typed."""
        try:
            self.handle(text)
        except KeyboardInterrupt:
            self.warn("⏹ interrupted")
        except Exception as exc:  # the REPL outlives any single command
            if self.debug:
                import traceback

                traceback.print_exc()
            self.error(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)")
            self.pending_input = text

    def handle(self, text: str) -> None:
        """Dispatch one submitted input: slash command, shell escape or a prompt for the model."""
        stripped = text.strip()
        if not stripped:
            return
        command = parse_command(stripped)
        if command is not None:
            self._command(text, *command)
            return
        message = text
        if stripped.startswith("//") and parse_command(stripped[1:]) is not None:
            message = text.replace("/", "", 1)  # `//help me` sends "/help me"; `// note` is sent as typed
        elif stripped.startswith("\\!"):
            message = text.replace("\\", "", 1)  # `\!important` sends "!important"
        else:
            escape = shell.parse(stripped)
            if escape is not None:
                self._shell(*escape)
                return
        self.submit(message, typed=text)

    def _command(self, text: str, name: str, args: str) -> None:
        command = self.registry.find(name)
        if command is None:
            hint = self.registry.suggest(name)
            guess = f"; did you mean {hint}?" if hint else ""
            escape = "start with // to send it as a message"
            self.error(f"unknown command /{name}{guess} (/help lists commands; {escape})")
            self.pending_input = text
            return
        try:
            command.handler(self, args)
        except KitError as exc:
            self.error(exc.message)

    def _shell(self, command: str, add_to_context: bool) -> None:
        if not command:
            self.error("type a shell command after ! (or !! to keep it out of the conversation)")
            return
        out = self.console.file

        def show(text: str) -> None:
            out.write(text)
            out.flush()

        run = shell.run(command, self.cwd, show)
        if run.output and not run.output.endswith("\n"):
            show("\n")
        status = "interrupted" if run.interrupted else exit_status(run.exit_code)
        if add_to_context:
            entry = user_message(run.as_message_text())
            entry[TYPED_KEY] = f"!{command}"  # /undo gives back the command, not the generated text
            self.conversation.add_message(entry)
            self.note(f"[{status}] output added to the conversation")
        else:
            self.note(f"[{status}] not added to the conversation")

    def submit(self, text: str, typed: str | None = None) -> None:
        """Send a prompt (with its @file attachments) to the model. `typed` is the input as the user
        typed it (with `//` or `\\!` escapes): /undo and a failed turn give that back."""
        typed = text if typed is None else typed
        try:
            expanded = attachments.expand(text, self.cwd)
        except KitError as exc:
            self.error(exc.message)
            self.pending_input = typed
            return
        if expanded.attached:
            self.note("attached: " + ", ".join(expanded.attached))
        entry = user_message(expanded.text, expanded.images)
        if expanded.text != typed:
            entry[TYPED_KEY] = typed
        self.run_turn(entry, typed)

    def run_turn(self, user_entry: dict[str, Any], typed: str) -> None:
        """Run one turn; when it fails, the typed text goes back into the prompt to edit.

        A failed answer stays in the session file on a side branch (the conversation's "discard"
        policy steps back from it); an interrupted one stays on the branch, as the user left it.
        """
        try:
            view = TurnView(self.console, self.theme.code_theme)
            self.conversation.on_event = view
            leaf_before, count_before = self.session.leaf_id, len(self.session.entries)
            try:
                self._wait_for_llm()
                with view.deferring_interrupts(), _no_echo(), self._reading_type_ahead():
                    view.waiting(f"{self.settings.model} is working…")
                    self.conversation.run(user_entry)
            except TurnFailed as failed:
                view.finish()
                if failed.exit_code == ExitCode.INTERRUPTED:
                    kept = " (the partial answer is kept)" if failed.result.text else ""
                    self.warn(f"⏹ interrupted{kept}")
                else:
                    saved = failed.result.text and self.session.path is not None
                    kept = "the partial answer stays in the session file; " if saved else ""
                    self.error(f"{failed.message} ({kept}your prompt is back)")
                    self.pending_input = typed
                self.console.print()
                return
            except KitError as exc:
                view.finish()
                self.error(exc.message)
                self._restore_if_unsaved(typed, leaf_before, count_before)
                return
            except KeyboardInterrupt:
                view.finish()
                self.warn("⏹ interrupted")
                self._restore_if_unsaved(typed, leaf_before, count_before)
                return
            view.finish()
            self.console.print()
        finally:
            self._take_type_ahead()

    @contextmanager
    def _reading_type_ahead(self) -> Iterator[None]:
        """Keys typed during the turn: Esc stops it, lines sent with Enter are queued, the rest goes
        back into the input (after the failed prompt, when there is one: then nothing is sent on)."""
        if not sys.stdin.isatty():
            yield
            return
        self._type_ahead = TypeAhead(sys.stdin.fileno())
        try:
            with self._type_ahead.running():
                yield
        finally:
            self._typed_during_turn = self._type_ahead.taken()
            self._type_ahead = None

    def _take_type_ahead(self) -> None:
        """After the turn's outcome is known (a failure has put its prompt back already)."""
        queued, rest = self._typed_during_turn
        self._typed_during_turn = ([], "")
        if self.pending_input:
            self.pending_input = "\n".join(p for p in (self.pending_input, *queued, rest) if p)
        else:
            self._queued += queued
            self.pending_input = rest

    def _restore_if_unsaved(self, typed: str, leaf_before: str | None, count_before: int) -> None:
        if self.session.leaf_id == leaf_before and len(self.session.entries) == count_before:
            self.pending_input = typed

    # --- the loop -----------------------------------------------------------------------------------

    def _toolbar(self) -> StyleAndTextTuples:
        """Model, thinking level, context fill, cache reads, cost, safe mode and session name, fitted
        to the terminal's width by dropping whole segments (least useful first)."""
        tokens, cost, cached = self._session_numbers()
        window = self._window(self.settings.model)
        context = (
            f"{100 * tokens / window:.0f}% of {stats.human_tokens(window)}"
            if window
            else f"~{stats.human_tokens(tokens)} tok"
        )
        segments = [
            ("model", f" {self.settings.model} "),
            ("thinking", f"· thinking {self.settings.thinking_level} "),
            ("context", f"· ctx {context} "),
            ("cached", f"· cached {cached}% " if cached is not None else ""),
            ("cost", f"· {cost} "),
            ("safe", "· safe " if self.tool_setup is not None and self.tool_setup.safe_mode else ""),
            ("name", f"· {self.session.name} " if self.session.name else ""),
        ]
        fitted = stats.fit_segments(
            [(n, t) for n, t in segments if t], self._columns(), ("name", "cached", "cost", "context", "safe")
        )
        style = {"model": "class:bottom-toolbar.model"}
        return [(style.get(name, "class:bottom-toolbar"), text) for name, text in fitted]

    @staticmethod
    def _columns() -> int:
        from prompt_toolkit.application.current import get_app

        return get_app().output.get_size().columns

    def _history(self) -> History:
        """Input history shared by all sessions; in memory with --no-session (which leaves no trace)
        or when its folder cannot be created."""
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        if self.session.in_memory:
            return InMemoryHistory()
        history_file = data_dir() / "history"
        try:
            history_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(
                os.open(history_file, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
            )  # prompts are private
        except OSError as exc:
            self.warn(
                f"input history is not saved: cannot create {history_file.parent}: {exc.strerror or exc}"
            )
            return InMemoryHistory()
        return FileHistory(str(history_file))

    def _build_prompt(self) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.application.current import get_app
        from prompt_toolkit.filters import Condition, is_searching
        from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
        from prompt_toolkit.keys import Keys

        from kit_py.repl.completer import ReplCompleter

        keys = KeyBindings()

        @keys.add("enter", filter=~is_searching)  # while Ctrl-R searching, Enter accepts the match
        def _send(event: KeyPressEvent) -> None:
            buffer = event.current_buffer
            state = buffer.complete_state
            if state and state.current_completion:
                buffer.apply_completion(state.current_completion)
                if not buffer.text.startswith("/"):
                    return  # Enter on a highlighted @file completion accepts it, to go on typing
            buffer.validate_and_handle()  # on a highlighted command: runs that command

        @keys.add(Keys.BracketedPaste)
        def _paste(event: KeyPressEvent) -> None:
            text = event.data.replace("\r\n", "\n").replace("\r", "\n")
            lines = text.count("\n") + 1
            if lines > PASTE_COLLAPSE_LINES:
                self._pastes.append(text)
                text = f"[pasted {lines} lines #{len(self._pastes)}]"
            event.current_buffer.insert_text(text)

        @keys.add("escape", "enter")
        @keys.add("c-j")
        def _newline(event: KeyPressEvent) -> None:
            event.current_buffer.insert_text("\n")

        @keys.add("s-tab")
        def _cycle(event: KeyPressEvent) -> None:
            self.cycle_thinking()

        @keys.add("c-o")
        def _expand(event: KeyPressEvent) -> None:
            from prompt_toolkit.application import run_in_terminal

            run_in_terminal(self.show_last_tool_results)

        @keys.add("c-c", filter=~is_searching)
        def _interrupt(event: KeyPressEvent) -> None:
            if event.current_buffer.text:
                event.current_buffer.reset()
            else:
                event.app.exit(exception=KeyboardInterrupt, style="class:aborting")

        session: PromptSession[str] = PromptSession(
            message=[("class:prompt", PROMPT)],
            multiline=True,
            prompt_continuation=lambda width, line, soft: [("class:continuation", " " * width)],
            key_bindings=keys,
            history=self._history(),
            completer=ReplCompleter(self),
            complete_while_typing=Condition(lambda: get_app().current_buffer.text.startswith("/")),
            bottom_toolbar=self._toolbar,
            style=prompt_style(self.theme),
            include_default_pygments_style=False,
            reserve_space_for_menu=6,
        )
        session.app.after_render += self._start_warm_up
        return session

    def _banner(self) -> None:
        messages = self.path_messages()
        where = (
            "in memory (--no-session)"
            if self.session.in_memory
            else (
                f"resumed {self.session.name or self.session.session_id[:8]} · {len(messages)} messages"
                if self.session.entries
                else "new session"
            )
        )
        from prompt_toolkit import print_formatted_text
        from prompt_toolkit.formatted_text import FormattedText

        line = f"kit {__version__} · {self.settings.model} · {where} · /help for commands"
        print_formatted_text(FormattedText([("class:banner", line)]), style=prompt_style(self.theme))
        started_in = self.session.cwd
        if self.session.entries and started_in and not _same_place(started_in, self.cwd):
            self.warn(
                f"this session was started in {started_in}; tools run here, in {self.cwd}. "
                "/cd switches to the session's directory"
            )

    def change_directory(self, path: Path) -> None:
        """Where tools, `!cmd` and @file paths work from (not the session's folder)."""
        self.cwd = path
        if self.tool_setup is not None:
            self.tool_setup.cwd = path

    def run(self, first_message: str | None = None) -> int:
        self._prompt = self._build_prompt()
        self._banner()
        if self.session.entries:
            render_history(self.console, self.session.path_entries(), self.theme.code_theme)
        if first_message and first_message.strip():
            self.console.print(f"{PROMPT}{first_message}", markup=False, highlight=False)
            self._handle_safely(first_message)
        last_was_ctrl_c = False
        while not self.exit_requested:
            if self._queued:
                queued = self._queued.pop(0)
                self.console.print(f"{PROMPT}{queued}  (queued)", markup=False, highlight=False)
                self._handle_safely(queued)
                continue
            default, self.pending_input = self.pending_input, ""
            try:
                text = self._prompt.prompt(default=default)
            except KeyboardInterrupt:
                if last_was_ctrl_c:
                    break
                last_was_ctrl_c = True
                self.note("(press Ctrl-C again or Ctrl-D to quit)")
                continue
            except EOFError:
                break
            last_was_ctrl_c = False
            self._handle_safely(self._with_pastes(text))
        self.session.close()
        self._say_how_to_come_back()
        return 0

    def _with_pastes(self, text: str) -> str:
        """The input with each collapsed paste put back whole."""

        def whole(match: re.Match[str]) -> str:
            number = int(match.group(1))
            return self._pastes[number - 1] if 0 < number <= len(self._pastes) else match.group(0)

        return PASTED.sub(whole, text)

    def show_last_tool_results(self) -> None:
        """Ctrl-O: the full output of the last step's tool calls (the turn showed one line each)."""
        for entry in reversed(self.session.path_entries()):
            if entry.get("type") == "message" and entry.get("role") == "tool":
                for part in entry.get("parts") or []:
                    data = part.get("data") or {}
                    if part.get("type") == "tool_result":
                        self.console.rule(f"{data.get('name', 'tool')} result", style="kit.dim")
                        self.console.print(str(data.get("content", "")), markup=False, highlight=False)
                return
        self.note("no tool has run in this conversation yet")

    def _say_how_to_come_back(self) -> None:
        if self.session.in_memory or not self.session.entries:
            return
        short = self.session.session_id[:12]
        self.note(f"session {short} saved · back with `kit -c` (the latest here) or `kit -s {short}`")


def _same_place(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normpath(a) == os.path.normpath(b)


def run_repl(
    open_conversation: Callable[[], Conversation], debug: bool = False, first_message: str | None = None
) -> int:
    """Entry point used by `kit` when there is no prompt and stdin is a terminal (or with -i)."""
    return Repl(open_conversation(), debug=debug).run(first_message)
