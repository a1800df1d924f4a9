"""`Conversation`: one live conversation, the object every face drives.

Print mode builds one, picks a renderer and calls `run`; the REPL is input and slash commands over
one; the Python API's `Session` wraps one. Everything about a conversation that more than one face
needs lives here once: which session is opened, what a resumed session restores, how the system
prompt is recorded, the failure policy of a turn, compaction, undo/retry, leaf moves, labels,
forks and clones. See docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kit_py import catalog, llm
from kit_py.config import Settings
from kit_py.engine import events
from kit_py.engine.approval import ToolSetup
from kit_py.engine.branching import Navigation, copy_branch, edit_point
from kit_py.engine.turn import TurnFailed, TurnResult, arun_turn, compact_with_events, run_turn
from kit_py.errors import ExitCode, SessionWriteError
from kit_py.llm import local
from kit_py.session import SessionManager
from kit_py.session import format as fmt

if TYPE_CHECKING:
    from kit_py.compaction.runner import CompactionOutcome

Entry = dict[str, Any]
FailurePolicy = Literal["keep", "discard"]
"""What a failed turn leaves on the branch. Both keep every written line in the session log.

"keep": the prompt stays on the branch beside its failed answer (marked, never replayed), so
`kit -c` continues after it. "discard": the leaf steps back to where it was before the turn, so the
attempt is a side branch and the conversation reads as if it never happened. An interrupted answer
(Ctrl-C) is kept on the branch under both policies (it is what the user chose to stop) unless the
conversation is made with `keep_interrupted=False`: the API, whose cancelled calls add nothing.
"""


def user_message(text: str, images: list[dict[str, str]] | None = None, **extra: Any) -> Entry:
    """A user message entry; `images` items are `{"data": <base64>, "media_type": "image/png"}`."""
    parts = [fmt.text_part(text)] + [fmt.image_part(i["data"], i["media_type"]) for i in images or []]
    return fmt.message("user", parts, **extra)


def model_string(provider: str, model_id: str) -> str:
    """The litellm model string for a recorded (provider, model_id)."""
    return model_id if "/" in model_id or not provider else f"{provider}/{model_id}"


class Conversation:
    """A session tree plus the settings, tools, approver and event sink that drive it."""

    def __init__(
        self,
        session: SessionManager,
        settings: Settings,
        *,
        tools: ToolSetup | None = None,
        on_event: events.EventSink = events.ignore,
        failure_policy: FailurePolicy = "keep",
        keep_interrupted: bool = True,
    ) -> None:
        self.session = session
        self.settings = settings
        settings.model = local.canonical(settings.model)  # `local` is recorded as `local/smollm2`
        self.tools = tools
        self.on_event = on_event
        self.failure_policy: FailurePolicy = failure_policy
        self.keep_interrupted = keep_interrupted
        self._checked_model: str | None = None
        self._said: set[str] = set()
        """Warnings about damaged session data already shown, so each is said once."""
        self._failed_prompt: tuple[Entry, SessionManager, str | None] | None = None
        """The prompt of a turn that failed and was stepped back from, with the leaf it left."""
        self.system_prompt_sources: list[str] | None = None
        """For the `kit` command's default system prompt, the instruction files it was built from
        (recorded with it as `sources`, shown by /session); None for any other prompt."""
        self._credentials: dict[str, tuple[str | None, str | None]] = {}
        """(api_base, api_key) per provider used in this run, so switching back restores them."""

    # --- factories ----------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        settings: Settings,
        cwd: str,
        *,
        home: Path | None = None,
        in_memory: bool = False,
        **options: Any,
    ) -> Conversation:
        """A new conversation in the sessions folder of `cwd` (its file appears with the first message)."""
        folder = None if in_memory else catalog.sessions_dir_for(cwd, root=home or catalog.kit_home())
        return cls(SessionManager.create(folder, cwd), settings, **options)

    @classmethod
    def open(cls, path: Path, settings: Settings, **options: Any) -> Conversation:
        """Resume a session file (tolerantly: `session.warnings` says what was skipped)."""
        return cls.resume(SessionManager.open(Path(path)), settings, **options)

    @classmethod
    def continue_recent(
        cls, settings: Settings, cwd: str, *, home: Path | None = None, **options: Any
    ) -> Conversation | None:
        """The most recent session whose header cwd is `cwd`, or None when there is none."""
        recent = catalog.most_recent(cwd, root=home or catalog.kit_home())
        return None if recent is None else cls.open(recent.path, settings, **options)

    @classmethod
    def resume(cls, session: SessionManager, settings: Settings, **options: Any) -> Conversation:
        """Wrap an existing session: what it recorded wins over configured defaults.

        The model and thinking level of its last `model_change` and its system prompt are restored
        unless they were given explicitly (a command-line flag, an API argument).
        """
        _restore_recorded(session, settings)
        return cls(session, settings, **options)

    # --- facts --------------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.session.session_id

    @property
    def path(self) -> Path | None:
        return self.session.path

    @property
    def system_prompt(self) -> str | None:
        """The system prompt the next request sends: the latest `system` message on the path, or the
        one the settings will record with the next turn."""
        return self.settings.system_prompt or _system_prompt_of(self.session)

    def messages(self) -> list[Entry]:
        """The message entries on the current branch, root first (system messages included)."""
        return [e for e in self.session.path_entries() if e.get("type") == "message"]

    def last_user_message(self) -> Entry | None:
        for entry in reversed(self.session.path_entries()):
            if entry.get("type") == "message" and entry.get("role") == "user":
                return entry
        return None

    def context_tokens(self) -> int:
        """Estimated tokens the next request carries (the compaction engine's own estimate), the tool
        definitions sent with every request included."""
        from kit_py.compaction.runner import context_tokens

        return context_tokens(self.session, [], overhead=self.tool_definition_tokens())

    def tool_definition_tokens(self) -> int:
        """Estimated tokens of the tool definitions every request sends (bytes/4, as for messages)."""
        if self.tools is None:
            return 0
        import orjson

        from kit_py.tools.registry import tool_schemas

        return -(-len(orjson.dumps(tool_schemas(self.tools.offered(wait=False)))) // 4)

    # --- turns --------------------------------------------------------------------------------------

    def check_model(self) -> None:
        """Fail early, before any request, on an unknown model or a missing API key."""
        if self._checked_model != self.settings.model:
            llm.check_model(self.settings.model, self.settings.api_key, self.settings.api_base)
            self._checked_model = self.settings.model

    def run(self, prompt: str | Entry, *, settings: Settings | None = None) -> TurnResult:
        """Send a prompt (text, or a prepared user message entry), run its tool steps, persist it.

        Raises TurnFailed (what was kept is in `.result`) after applying the failure policy,
        KeyboardInterrupt on Ctrl-C, or another KitError raised before anything was written.
        `settings` overrides this conversation's settings for one turn (API per-call options).
        """
        settings, opening = self._opening(prompt, settings)
        with self._policy(opening[-1]):
            return run_turn(
                self.session, settings, opening, emit=self.on_event, tool_setup=self.tools, said=self._said
            )

    async def arun(self, prompt: str | Entry, *, settings: Settings | None = None) -> TurnResult:
        """`run` on an event loop (litellm's async client; tools in threads), for the API's async calls.

        Cancelling the task closes the HTTP stream, stops running tools, applies the failure policy
        and raises TurnFailed with cause `kit_py.errors.Cancelled`.
        """
        settings, opening = self._opening(prompt, settings)
        with self._policy(opening[-1]):
            return await arun_turn(
                self.session, settings, opening, emit=self.on_event, tool_setup=self.tools, said=self._said
            )

    def _opening(self, prompt: str | Entry, settings: Settings | None) -> tuple[Settings, list[Entry]]:
        """The settings of a turn and what it writes before its request (repairs, preamble, prompt)."""
        settings = settings or self.settings
        settings.model = local.canonical(settings.model)
        entry = user_message(prompt) if isinstance(prompt, str) else dict(prompt)
        entry.setdefault("timestamp", fmt.now_timestamp())  # when it was asked, not when answered
        self.session.check_writable()  # never pay for an answer that cannot be kept
        self.check_model()
        return settings, [*self._repairs(), *self._preamble(settings), entry]

    @contextmanager
    def _policy(self, entry: Entry) -> Iterator[None]:
        """The failure policy around one turn, and the notices the store had while it wrote."""
        self._failed_prompt = None
        try:
            with self.discarding() if self.failure_policy == "discard" else nullcontext():
                yield
        except TurnFailed as failed:
            if failed.exit_code != ExitCode.INTERRUPTED and self.failure_policy == "discard":
                self._failed_prompt = (entry, self.session, self.session.leaf_id)  # what /retry resends
            raise
        finally:
            self._tell_notices()

    def _tell_notices(self) -> None:
        """What the store noticed while appending (a repaired torn line, another writer): said once."""
        for notice in self.session.take_notices():
            self.on_event(events.Notice(notice))

    @contextmanager
    def discarding(self) -> Iterator[None]:
        """If the block fails, step the leaf back to where it was (the "discard" policy), so what it
        wrote becomes a side branch. The API wraps multi-turn operations (`json` retries) in it.
        An interrupt keeps what arrived on the branch (it is what the user chose to stop), unless the
        conversation does not keep interrupted turns."""
        before = self.session.leaf_id
        written = len(self.session.entries)
        try:
            yield
        except TurnFailed as failed:
            if failed.exit_code != ExitCode.INTERRUPTED or not self.keep_interrupted:
                self._rewind(before, written)
            raise
        except SessionWriteError:  # nothing more can be written after a write error
            raise
        except KeyboardInterrupt:
            if not self.keep_interrupted:
                self._rewind(before, written)
            raise
        except BaseException:
            self._rewind(before, written)
            raise

    def _repairs(self) -> list[Entry]:
        """Results for tool calls a killed kit left unanswered at the leaf (recorded as interrupted),
        so no call is ever sent to the model without its result."""
        leaf = self.session.get(self.session.leaf_id) if self.session.leaf_id else None
        if leaf is None or leaf.get("type") != "message" or leaf.get("role") != "assistant":
            return []
        parts = leaf.get("parts")
        if not isinstance(parts, list):
            return []
        calls = [p["data"] for p in parts if isinstance(p, dict) and p.get("type") == "tool_call"]
        calls = [c for c in calls if isinstance(c, dict) and "id" in c]
        if not calls:
            return []
        note = "interrupted: kit stopped before this tool finished; no result was recorded"
        results = [fmt.tool_result_part(str(c["id"]), str(c.get("name", "")), note, True) for c in calls]
        return [fmt.message("tool", results)]

    def _preamble(self, settings: Settings) -> list[Entry]:
        """What must be recorded before the next user message: a new system prompt, a model change."""
        out: list[Entry] = []
        prompt = settings.system_prompt
        if prompt and prompt != _system_prompt_of(self.session):
            system = fmt.message("system", [fmt.text_part(prompt)])
            if self.system_prompt_sources is not None:
                system["sources"] = list(self.system_prompt_sources)
            out.append(system)
        change = self._model_change(settings)
        if change is not None:
            out.append(change)
        return out

    def system_prompt_origin(self) -> str:
        """Where the system prompt sent now comes from, in words (for /session)."""
        if not self.system_prompt:
            return "none"
        recorded = next(
            (e for e in reversed(self.session.path_entries()) if e.get("role") == "system"), None
        )
        sources = self.system_prompt_sources if recorded is None else recorded.get("sources")
        if sources is None:
            return f"custom ({len(self.system_prompt)} characters)"
        files = ", ".join(sources) if sources else "no AGENTS.md or CLAUDE.md found"
        return f"default (working directory, OS, date, tools) + {files}"

    def _model_change(self, settings: Settings) -> Entry | None:
        """A `model_change` when the model or thinking level differ from what the session recorded."""
        provider = llm.provider_of(settings.model)
        model_id = settings.model.split("/", 1)[1] if "/" in settings.model else settings.model
        recorded = self.session.current_model()
        if recorded and tuple(recorded) == (provider, model_id, settings.thinking_level):
            return None
        return fmt.model_change(provider, model_id, settings.thinking_level)

    def _rewind(self, leaf: str | None, written: int) -> None:
        """Step the leaf back to `leaf` when the failed turn wrote anything (persisted as a leaf move)."""
        if len(self.session.entries) == written:
            return
        if leaf is None:
            self.session.tree.leaf_id = None
            self.session.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, "discarded"))
        else:
            self.session.move_leaf(leaf, "discarded")

    def retry(self) -> TurnResult | None:
        """Ask the last user message again from where it was asked; the old answer stays as a branch.

        Returns None when there is nothing to retry.
        """
        again = self.prepare_retry()
        return None if again is None else self.run(again)

    def prepare_retry(self) -> Entry | None:
        """Step back to where the last user message was asked and return a copy of it to send again
        (faces that draw the turn themselves call `run` with it). Right after a failed turn that the
        "discard" policy stepped back from, that is the failed prompt, not the one before it."""
        failed, self._failed_prompt = self._failed_prompt, None
        if failed is not None and failed[1] is self.session and failed[2] == self.session.leaf_id:
            return _asked_again(failed[0])
        target = self.last_user_message()
        if target is None:
            return None
        self._step_before(target)
        return _asked_again(target)

    def undo(self) -> Entry | None:
        """Step back before the last user message (kept as a branch); returns that message."""
        target = self.last_user_message()
        if target is None:
            return None
        parent = self.session.tree.parent_of(target["id"])
        if parent is None:
            self.reset()
        else:
            self.session.move_leaf(parent)
        return target

    def _step_before(self, entry: Entry) -> None:
        """Put the leaf where `entry` was appended (in memory: the next append makes the branch)."""
        parent = self.session.tree.parent_of(entry["id"])
        if parent is None:
            self.session.tree.leaf_id = None
        else:
            self.session.branch(parent)

    # --- compaction -------------------------------------------------------------------------------

    def compact(self, focus: str | None = None) -> CompactionOutcome | None:
        """Summarize the older conversation now (`/compact`, `session.compact()`); None when there is
        too little. Raises CompactionCancelled (Ctrl-C) or KitError with nothing written."""
        self.session.check_writable()
        self.check_model()
        return compact_with_events(
            self.session, self.settings, self.on_event, "manual", force=True, focus=focus
        )

    # --- settings -----------------------------------------------------------------------------------

    def set_model(self, model: str) -> None:
        """Switch the model; recorded in the session at once so a resume picks it up.

        A base URL and key belong to the provider they were given for: switching to another provider
        takes that provider's own (from `providers:` in the config, or none), never the old ones, and
        switching back restores them."""
        settings = self.settings
        model = local.canonical(model)
        old, new = llm.provider_of(settings.model), llm.provider_of(model)
        if new != old:
            self._credentials.setdefault(old, (settings.api_base, settings.api_key))
            configured = settings.providers.get(new, {})
            settings.api_base, settings.api_key = self._credentials.get(
                new, (configured.get("api_base"), configured.get("api_key"))
            )
        settings.model = model
        settings.explicit.add("model")
        self._record_model()

    def set_thinking_level(self, level: str) -> None:
        self.settings.thinking_level = level
        self.settings.explicit.add("thinking_level")
        self._record_model()

    def _record_model(self) -> None:
        """A session without entries has no file yet and does not get one just for this: its first
        turn records the model anyway."""
        if not self.session.entries:
            return
        change = self._model_change(self.settings)
        if change is not None:
            self.session.append(change)

    # --- the tree -----------------------------------------------------------------------------------

    def move_leaf(self, entry_id: str) -> None:
        """Continue from `entry_id` (persisted as a `kit:leaf` marker)."""
        self.session.move_leaf(entry_id)

    def label(self, entry_id: str, text: str) -> None:
        """Label an entry ("" clears the label)."""
        self.session.set_label(entry_id, text)

    def rename(self, name: str) -> None:
        self.session.set_name(name)

    def add_message(self, entry: Entry) -> Entry:
        """Append a message as if it had been said (e.g. a shell command's output)."""
        return self.session.append(entry)

    def reset(self) -> None:
        """Start over in the same session: the leaf moves to an empty branch (everything stays in the
        log); the system prompt is recorded again with the next turn."""
        self.settings.system_prompt = self.system_prompt
        self.session.tree.leaf_id = None
        self.session.append(fmt.extension_data(fmt.LEAF_EXT_TYPE, "clear"))

    def new_session(self) -> None:
        """Leave this session (it stays as it is) and start an empty one in the same place."""
        old = self.session
        self.settings.system_prompt = self.system_prompt
        folder = None if old.in_memory else (old.path.parent if old.path is not None else None)
        old.close()
        self.session = SessionManager.create(folder, old.cwd)

    def switch_to(self, session: SessionManager) -> None:
        """Leave this session (it stays as it is) and continue in `session` (one just imported),
        restoring what it recorded as `resume` does."""
        self.session.close()
        _restore_recorded(session, self.settings)
        self.session = session
        self._checked_model = None

    def fork(self, entry_id: str | None = None, *, into: SessionManager | None = None) -> Conversation:
        """A new session holding the path up to `entry_id` (default: the leaf), linked to this one.

        The copy goes `into` an empty session (e.g. one from an API store), else into a new file
        beside this one (in memory when this one is). Entry ids are kept.
        """
        target = entry_id or self.session.leaf_id
        if target is None:
            raise ValueError("nothing to fork: the conversation is empty")
        into = into or self._linked_session()
        copy_branch(self.session, target, into)  # a Go kit root compaction's kept messages come along
        return self._forked(into)

    def _forked(self, into: SessionManager) -> Conversation:
        return Conversation(
            into,
            self.settings,
            tools=self.tools,
            on_event=self.on_event,
            failure_policy=self.failure_policy,
            keep_interrupted=self.keep_interrupted,
        )

    def clone(self) -> Conversation:
        """A copy of the whole current branch in a new session."""
        return self.fork()

    # --- branching: /tree, /fork (rules in engine/branching.py) ---------------------------------

    def leaving(self, entry_id: str) -> list[Entry]:
        """The messages a move to `entry_id` (as `navigate` makes it) leaves behind on the current
        branch, oldest first: when there are any, a face offers to summarize them."""
        from kit_py.compaction.branch import abandoned_entries

        leaf, _text = edit_point(self.session.tree, entry_id)
        left = abandoned_entries(self.session.tree, self.session.leaf_id, leaf)
        return [e for e in left if e.get("type") == "message"]

    def navigate(
        self, entry_id: str, *, summarize: bool = False, instructions: str | None = None
    ) -> Navigation:
        """Continue from `entry_id`, in place: a user message is stepped before (its text is returned
        to edit and send again), any other entry becomes the leaf. Persisted (a `kit:leaf` marker), so
        a reopened session is where it was left.

        With `summarize` (or `instructions`, the user's own words for the summarizer) the part of the
        current branch left behind is summarized first and the summary appended at the new position
        as a `branch_summary`, which the next requests send as branch context. Raises
        BranchSummaryCancelled (Ctrl-C) or KitError with nothing written and the leaf unmoved.
        """
        leaf, text = edit_point(self.session.tree, entry_id)
        before = self.session.leaf_id
        if leaf == before:
            return Navigation(leaf, text, None, moved=False)
        self.session.check_writable()
        self._failed_prompt = None
        summary = None
        if summarize or instructions:
            summary = self._branch_summary(before, leaf, instructions)
        if summary is not None:
            if leaf is None:
                self.settings.system_prompt = self.system_prompt  # recorded again on the empty branch
            self.session.tree.leaf_id = leaf  # the summary starts the new position
            entry = self.session.append(fmt.branch_summary(str(before), summary))
            self.session.sync()
            return Navigation(leaf, text, entry, moved=True)
        if leaf is None:
            self.reset()
        else:
            self.session.move_leaf(leaf)
        return Navigation(leaf, text, None, moved=True)

    def _branch_summary(self, before: str | None, leaf: str | None, instructions: str | None) -> str | None:
        from kit_py.compaction.branch import abandoned_entries, summarize_branch

        self.check_model()
        left = abandoned_entries(self.session.tree, before, leaf)
        return summarize_branch(left, self.settings, instructions)

    def fork_to_edit(self, message_id: str) -> tuple[Conversation, str | None]:
        """`/fork`: a new session holding the path up to the parent of the user message
        `message_id`, linked to this one, and that message's text to edit and send there."""
        leaf, text = edit_point(self.session.tree, message_id)
        if leaf is None:  # the message starts the conversation: the fork starts empty
            return self._forked(self._linked_session()), text
        return self.fork(leaf), text

    def _linked_session(self) -> SessionManager:
        """An empty session beside this one (in memory when this one is) whose header names it as
        the parent (`parent_session`, `parent_session_id`)."""
        session = self.session
        return SessionManager.create(
            None if session.path is None else session.path.parent,
            session.cwd,
            parent_session=str(session.path) if session.path is not None else None,
            parent_session_id=session.session_id or None,
        )

    def close(self) -> None:
        self.session.close()


def _restore_recorded(session: SessionManager, settings: Settings) -> None:
    """The model, thinking level and system prompt `session` recorded, into `settings`, unless they were
    given explicitly (a command-line flag, an API argument)."""
    recorded = session.current_model()
    if recorded:
        provider, model_id, thinking_level = recorded
        if "model" not in settings.explicit and model_id:
            settings.model = model_string(provider, model_id)
        if "thinking_level" not in settings.explicit and thinking_level:
            settings.thinking_level = thinking_level
    stored = _system_prompt_of(session)
    if stored is not None and "system_prompt" not in settings.explicit:
        settings.system_prompt = stored


def _system_prompt_of(session: SessionManager) -> str | None:
    """The system prompt the session's requests send now (context building puts it first)."""
    from kit_py.session.context import system_prompt

    return system_prompt(session.tree)


def _asked_again(message: Entry) -> Entry:
    """A copy of a user message to append again: new id, parent and time."""
    again = {k: v for k, v in message.items() if k not in ("id", "parent_id", "timestamp")}
    again["parts"] = [dict(p) for p in message.get("parts") or []]
    return again
