"""One rule for the system prompt in every face (docs/session-format.md): it is stored in the session as a
`system` message, the latest one on the path is sent first on every request, exactly once, and
compaction never summarizes it away."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kit_py import Agent, Session, catalog
from kit_py.api.stores import JSONLStore
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from tests.api_support import api_fixture  # noqa: F401  (fixture `api`)
from tests.conftest import session_files


def systems_sent(messages: list[dict]) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "system"]


def stored_systems(path: Path) -> list[str]:
    entries = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    return [fmt.message_text(e) for e in entries if e.get("role") == "system"]


def test_a_cli_system_prompt_is_stored_and_the_api_sends_it_once(run_kit, kit_env, api):
    api.reply("Paris.")
    first = run_kit("--system-prompt", "Be brief.", "Capital of France?")
    assert first.returncode == 0, first.stderr
    assert api.last_messages()[0] == {"role": "system", "content": "Be brief."}
    [path] = session_files(kit_env)
    assert stored_systems(path) == ["Be brief."], "the CLI records its system prompt in the session"

    session = Session.load(SessionManager.open(path).session_id, model="openai/scripted")
    assert session.system == "Be brief."
    api.reply("Rome.")
    session.run("And of Italy?")
    sent = api.last_messages()
    assert sent[0] == {"role": "system", "content": "Be brief."} and systems_sent(sent) == ["Be brief."]
    assert [m["content"] for m in sent[1:]] == ["Capital of France?", "Paris.", "And of Italy?"]
    assert stored_systems(path) == ["Be brief."], "resuming from Python adds no second system prompt"


def test_an_api_system_prompt_is_sent_once_by_kit(run_kit, kit_env, api):
    session = Agent(store=JSONLStore()).session(system="Answer in French.")
    api.reply("Bonjour.")
    session.run("Hello")
    api.reply("Au revoir.")
    result = run_kit("-s", session.id, "Goodbye")
    assert result.returncode == 0, result.stderr
    sent = api.last_messages()
    assert systems_sent(sent) == ["Answer in French."] and sent[0]["role"] == "system"
    assert stored_systems(session_files(kit_env)[0]) == ["Answer in French."]


def test_resume_keeps_the_stored_prompt_and_a_new_flag_replaces_it(run_kit, kit_env, workdir, api):
    (workdir / ".kit.yml").write_text("system_prompt: From the config file.\n")
    api.reply("one")
    assert run_kit("first").returncode == 0
    assert systems_sent(api.last_messages()) == ["From the config file."]

    (workdir / ".kit.yml").write_text("system_prompt: Edited later.\n")
    api.reply("two")
    assert run_kit("-c", "second").returncode == 0
    assert systems_sent(api.last_messages()) == ["From the config file."], "a resumed session keeps its own"

    api.reply("three")
    assert run_kit("-c", "--system-prompt", "Be verbose.", "third").returncode == 0
    sent = api.last_messages()
    assert sent[0] == {"role": "system", "content": "Be verbose."} and systems_sent(sent) == ["Be verbose."]
    api.reply("four")
    assert run_kit("-c", "fourth").returncode == 0
    assert systems_sent(api.last_messages()) == ["Be verbose."]
    [path] = session_files(kit_env)
    assert stored_systems(path) == ["From the config file.", "Be verbose."]


def test_auto_compaction_is_on_by_default_and_keeps_the_system_prompt_first(run_kit, kit_env, workdir, api):
    (workdir / ".kit.yml").write_text("context_window: 6000\n")  # threshold 3000, keep_recent 2000 tokens
    words = " ".join(f"word{j}" for j in range(500))  # ~1000 tokens, not one repeated chunk
    reported = [
        {"prompt_tokens": 1000, "completion_tokens": 900},
        {"prompt_tokens": 2100, "completion_tokens": 900},
    ]
    for i, usage in enumerate(reported):  # 1900 + a question fits; 3000 + a question does not
        api.reply(f"answer {i} {words}", usage=usage)
        flags = ("--system-prompt", "Stay on topic.") if i == 0 else ("-c",)
        result = run_kit(*flags, f"question {i} {words}")
        assert result.returncode == 0, result.stderr
        assert "compacted" not in result.stderr
    api.reply("SUMMARY OF EARLIER TURNS")
    api.reply("final answer")
    result = run_kit("-c", "last question")
    assert result.returncode == 0, result.stderr
    assert "compacted:" in result.stderr
    sent = api.last_messages()
    assert sent[0] == {"role": "system", "content": "Stay on topic."}
    assert "SUMMARY OF EARLIER TURNS" in sent[1]["content"] and sent[-1]["content"] == "last question"
    assert systems_sent(sent) == ["Stay on topic."]


def test_session_compact_keeps_the_system_prompt_first(api):
    session = Agent(auto_compact=False).session(system="You are a pirate.")
    for i in range(3):
        api.reply(f"answer {i}")
        session.run(f"question {i}")
    api.reply("SUMMARY")
    assert session.compact() is not None
    summarizer = api.chat_requests[-1]["body"]["messages"]
    assert "You are a pirate." not in json.dumps(summarizer[1:]), "the system prompt is not summarized"
    api.reply("arr")
    session.run("next")
    sent = api.last_messages()
    assert sent[0] == {"role": "system", "content": "You are a pirate."}
    assert "SUMMARY" in sent[1]["content"] and systems_sent(sent) == ["You are a pirate."]


def test_a_10000_entry_api_session_appends_a_turn_without_reading_its_file(kit_env, api, monkeypatch):
    folder = catalog.sessions_dir_for(str(Path.cwd()), root=catalog.kit_home())
    big = SessionManager.create(folder, str(Path.cwd()))
    big.append(fmt.model_change("openai", "scripted", "off"))
    for i in range(4_999):
        big.append_many(
            [
                fmt.message("user", [fmt.text_part(f"question {i}")]),
                fmt.message("assistant", [fmt.text_part(f"answer {i}")], stop_reason="stop"),
            ]
        )
    big.set_name("ten thousand entries")
    big.close()
    session = Session.load(big.session_id, store=JSONLStore(), auto_compact=False)
    assert len(session.entries) == 10_000
    path = big.path
    assert path is not None
    size = path.stat().st_size

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the session file was read again")

    monkeypatch.setattr("kit_py.session.store.load_lines", no_reading)
    monkeypatch.setattr("kit_py.catalog.listing.read_info", no_reading)
    real_open = open

    def watched_open(file: object, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if str(file) == str(path):
            raise AssertionError("the session file was opened for reading")
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", watched_open)
    api.reply("answer 10000")
    result = session.run("question 10000")
    assert result.text == "answer 10000"
    assert path.stat().st_size > size
    monkeypatch.undo()
    # the API's settings record (the session had none: the CLI made it), the question, the answer
    assert len(SessionManager.open(path).entries) == 10_003


@pytest.mark.parametrize("face", ["cli", "api"])
def test_a_failed_turn_is_kept_in_the_file_by_every_face(face, run_kit, kit_env, api):
    """Print mode keeps the prompt on the branch (`kit -c` continues after it); the API steps back from it.
    Either way the prompt is in the file and the failed answer is never replayed."""
    api.error(401)
    if face == "cli":
        assert run_kit("doomed question").returncode == 4
        path = session_files(kit_env)[0]
    else:
        session = Agent(store=JSONLStore(), max_retries=0).session()
        with pytest.raises(Exception, match="401|rejected|auth"):
            session.run("doomed question")
        path = session_files(kit_env)[0]
    entries = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert any(fmt.message_text(e) == "doomed question" for e in entries)
    assert any(e.get("stop_reason") == "error" for e in entries)
    api.reply("fine")
    if face == "cli":
        assert run_kit("-c", "again").returncode == 0
        assert [m["content"] for m in api.last_messages()] == ["doomed question", "again"]
    else:
        session.run("again")
        assert [m["content"] for m in api.last_messages()] == ["again"]
