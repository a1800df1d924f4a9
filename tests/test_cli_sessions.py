"""Sessions through the CLI: persistence, --continue, --session, --no-session, model restore."""

from __future__ import annotations

import json
import stat

from tests.conftest import MODEL, session_files


def entries_of(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_continue_sends_the_history_and_appends_to_the_same_file(run_kit, provider, kit_env):
    provider.reply("Nice to meet you, Alice.")
    assert run_kit("My name is Alice").returncode == 0
    provider.reply("Your name is Alice.")
    result = run_kit("-c", "What is my name?")
    assert result.returncode == 0, result.stderr
    assert provider.last_messages() == [
        {"role": "user", "content": "My name is Alice"},
        {"role": "assistant", "content": "Nice to meet you, Alice."},
        {"role": "user", "content": "What is my name?"},
    ]
    files = session_files(kit_env)
    assert len(files) == 1
    entries = entries_of(files[0])
    messages = [e for e in entries if e["type"] == "message"]
    assert len(messages) == 4
    assert [e["type"] for e in entries].count("model_change") == 1, "same model: no second model_change"
    for parent, child in zip(entries[1:], entries[2:], strict=False):
        assert child["parent_id"] == parent["id"]


def test_files_and_folders_are_private(run_kit, provider, kit_env):
    provider.reply("ok")
    run_kit("hi")
    path = session_files(kit_env)[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_continue_matches_the_header_cwd_not_only_the_folder_name(run_kit, provider, kit_env, tmp_path):
    # "x--y" and "x/y" encode to the same folder name; only the header cwd tells them apart.
    one = tmp_path / "x--y"
    two = tmp_path / "x" / "y"
    one.mkdir()
    two.mkdir(parents=True)
    provider.reply("first dir")
    assert run_kit("in one", cwd=one).returncode == 0
    provider.reply("second dir")
    assert run_kit("-c", "in two", cwd=two).returncode == 0
    assert provider.last_messages() == [{"role": "user", "content": "in two"}]
    assert "no earlier session" in run_kit("-c", "again", cwd=tmp_path).stderr


def test_session_by_id_prefix_and_errors_for_unknown_or_ambiguous(run_kit, provider, kit_env):
    provider.reply("a")
    run_kit("--json", "first")
    provider.reply("b")
    second_id = json.loads(run_kit("--json", "second").stdout)["session_id"]
    first_id = [
        entries_of(p)[0]["id"] for p in session_files(kit_env) if entries_of(p)[0]["id"] != second_id
    ][0]
    provider.reply("c")
    assert run_kit("-s", first_id[:8], "follow up").returncode == 0
    assert [m["content"] for m in provider.last_messages()] == ["first", "a", "follow up"]

    unknown = run_kit("-s", "ffffffffffffff", "x")
    assert unknown.returncode == 12 and "no session matches" in unknown.stderr


def test_ambiguous_prefix_lists_the_candidates(run_kit, provider, kit_env, workdir):
    folder = session_files_dir(kit_env, workdir)
    folder.mkdir(parents=True)
    ids = ["abcd" + "1" * 28, "abcd" + "2" * 28]
    for n, sid in enumerate(ids):
        (folder / f"2026-01-0{n + 1}T00-00-00-000Z_{sid[:12]}.jsonl").write_text(
            json.dumps(
                {
                    "type": "session",
                    "version": 3,
                    "id": sid,
                    "timestamp": "2026-01-01T00:00:00Z",
                    "cwd": str(workdir),
                }
            )
            + "\n"
            + json.dumps(
                {
                    "type": "message",
                    "id": f"{n:016x}",
                    "timestamp": "2026-01-01T00:00:00Z",
                    "role": "user",
                    "parts": [{"type": "text", "data": {"text": "q"}}],
                }
            )
            + "\n"
        )
    ambiguous = run_kit("-s", "abcd", "x")
    assert ambiguous.returncode == 12
    assert ids[0] in ambiguous.stderr and ids[1] in ambiguous.stderr
    assert provider.chat_requests == []
    provider.reply("picked")
    assert run_kit("-s", "abcd2", "x").returncode == 0
    assert [m["content"] for m in provider.last_messages()] == ["q", "x"]


def session_files_dir(kit_env, workdir):
    from pathlib import Path

    return Path(kit_env["KIT_HOME"]) / "sessions" / str(workdir).strip("/").replace("/", "--")


def test_session_by_path(run_kit, provider, kit_env):
    provider.reply("a")
    run_kit("first")
    path = session_files(kit_env)[0]
    provider.reply("b")
    assert run_kit("--session", str(path), "second").returncode == 0
    assert len([e for e in entries_of(path) if e["type"] == "message"]) == 4


def test_no_session_writes_nothing(run_kit, provider, kit_env, tmp_path):
    provider.reply("ephemeral")
    before = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    result = run_kit("--no-session", "--json", "hi")
    assert result.returncode == 0
    assert json.loads(result.stdout)["session_id"] is None
    assert sorted(p for p in tmp_path.rglob("*") if p.is_file()) == before


def test_resume_restores_model_and_thinking_level_unless_overridden(run_kit, provider, kit_env):
    provider.reply("one")
    assert run_kit("--thinking-level", "low", "-m", "openai/first-model", "hi").returncode == 0
    provider.reply("two")
    assert (
        run_kit("-c", "again", provider_flags=False, env={"KIT_API_BASE": provider.base_url}).returncode == 0
    )
    assert provider.chat_requests[-1]["body"]["model"] == "first-model"
    provider.reply("three")
    assert run_kit("-c", "switch").returncode == 0
    assert provider.chat_requests[-1]["body"]["model"] == MODEL.split("/")[1]
    changes = [e for e in entries_of(session_files(kit_env)[0]) if e["type"] == "model_change"]
    assert [(c["model_id"], c["thinking_level"]) for c in changes] == [
        ("first-model", "low"),
        ("scripted", "low"),
    ]


def test_usage_and_cost_recorded_per_assistant_message(run_kit, provider, kit_env):
    provider.reply("priced", usage={"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100})
    assert (
        run_kit(
            "-m", "openai/gpt-4o", "hi", provider_flags=False, env={"KIT_API_BASE": provider.base_url}
        ).returncode
        == 0
    )
    assistant = [e for e in entries_of(session_files(kit_env)[0]) if e.get("role") == "assistant"][0]
    assert assistant["usage"]["input_tokens"] == 1000
    assert assistant["usage"]["output_tokens"] == 100
    assert assistant["usage"]["cost_usd"] > 0


def test_sessions_subcommand_lists_newest_first(run_kit, provider, kit_env):
    provider.reply("a")
    run_kit("alpha question")
    provider.reply("b")
    run_kit("beta question")
    listing = run_kit("sessions", provider_flags=False)
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()[1:]  # under a header line
    assert "beta question" in lines[0] and "alpha question" in lines[1]
    rows = json.loads(run_kit("sessions", "--json", provider_flags=False).stdout)["sessions"]
    assert [r["preview"] for r in rows] == ["beta question", "alpha question"]


def test_a_file_with_a_damaged_header_is_read_but_never_appended_to(run_kit, provider, kit_env):
    provider.reply("a")
    run_kit("first question")
    path = session_files(kit_env)[0]
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("garbage\n" + "".join(lines[1:]))
    before = path.read_bytes()
    provider.reply("b")
    result = run_kit("-s", str(path), "second")
    assert result.returncode == 14, result.stderr  # entries without a header: Go kit could not read it
    assert "line 1" in result.stderr and "warning" in result.stderr
    assert str(path) in result.stderr.splitlines()[-1] and "header" in result.stderr.splitlines()[-1]
    assert len(provider.chat_requests) == 1, "refused before the model was asked"
    assert path.read_bytes() == before
    assert path.read_text().startswith("garbage\n"), "existing bytes are never rewritten"
