"""`kit sessions ...` end to end through the CLI: one JSON document per command, one-line errors,
nothing removed without being asked, everything removed written to the audit log."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

from kit_py.cli.sessions.output import PROGRESS_FROM_BYTES, progress_bar
from tests.conftest import session_files

USAGE = {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}


def ask(run_kit, provider, *args: str, answer: str = "noted") -> dict:
    provider.reply(answer, usage=USAGE)
    result = run_kit("--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sessions(run_kit, *args: str):
    return run_kit("sessions", *args, provider_flags=False)


def doc(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_list_shows_branch_messages_tokens_and_cost_and_the_old_spellings_still_work(
    run_kit, provider, kit_env, tmp_path
):
    first = ask(run_kit, provider, "-m", "openai/gpt-4o", "how do tides work", answer="the moon")
    ask(run_kit, provider, "-m", "openai/gpt-4o", "-c", "and the sun?", answer="less so")
    other = ask(run_kit, provider, "plan the release")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    provider.reply("far away")
    assert run_kit("somewhere else", cwd=elsewhere).returncode == 0

    listed = doc(sessions(run_kit, "list", "--json"))["sessions"]
    assert [s["id"] for s in listed] == [other["session_id"], first["session_id"]]  # newest first, this dir
    tides = listed[1]
    assert tides["preview"] == "how do tides work" and tides["messages"] == 4 and tides["messages_total"] == 4
    assert tides["tokens"] == 2200 and tides["input_tokens"] == 2000 and tides["cost_usd"] > 0
    assert tides["models"] == ["gpt-4o"] and tides["path"].endswith(".jsonl")
    assert doc(sessions(run_kit, "--json")) == doc(sessions(run_kit, "list", "--json"))  # the old spelling
    assert len(doc(sessions(run_kit, "list", "--all", "--json"))["sessions"]) == 3
    assert [s["id"] for s in doc(sessions(run_kit, "list", "--model", "gpt-4o", "--json"))["sessions"]] == [
        first["session_id"]
    ]
    assert (
        doc(sessions(run_kit, "list", "--since", "1h", "--name", "RELEASE", "--json"))["sessions"][0]["id"]
        == other["session_id"]
    )

    text = sessions(run_kit, "--all")
    assert text.returncode == 0
    header, *rows = text.stdout.splitlines()
    assert header.split()[:4] == ["ID", "AGE", "MSGS", "TOKENS"] and len(rows) == 3
    assert "how do tides work" in rows[2] and first["session_id"][:12] in rows[2] and "2.2k" in rows[2]
    assert str(elsewhere) in rows[0]
    empty = sessions(run_kit, "list", "--name", "no such thing")
    assert empty.returncode == 0 and empty.stdout == "" and "no sessions matching" in empty.stderr


def test_show_renders_the_active_path_or_the_whole_tree(run_kit, provider, kit_env):
    started = ask(run_kit, provider, "first question", answer="first answer")
    sid = started["session_id"]
    shown = sessions(run_kit, "show", sid[:8])
    assert shown.returncode == 0, shown.stderr
    assert "you: first question" in shown.stdout and "assistant: first answer" in shown.stdout
    data = doc(sessions(run_kit, "show", sid[:8], "--json"))
    assert data["view"] == "path" and [e["type"] for e in data["entries"]] == [
        "model_change",
        "message",
        "message",
    ]
    assert data["state_hash"] == data["entries"][-1]["hash"] and data["session"]["id"] == sid
    assert data["path"] == [e["id"] for e in data["entries"]] and data["leaf_id"] == data["path"][-1]
    tree = sessions(run_kit, "show", sid, "--tree")
    assert "◀ leaf" in tree.stdout and "* " in tree.stdout


def test_search_ranks_sessions_with_highlighted_snippets(run_kit, provider, kit_env):
    ask(run_kit, provider, "notes about the GARCH model", answer="volatility clusters")
    best = ask(run_kit, provider, "GARCH or EGARCH? garch first", answer="garch is simpler")
    ask(run_kit, provider, "unrelated question")
    found = doc(sessions(run_kit, "search", "garch", "--json"))
    assert found["query"] == "garch"
    assert [r["id"] for r in found["results"]][0] == best["session_id"] and len(found["results"]) == 2
    snippet = found["results"][0]["snippets"][0]
    assert [snippet["text"][a:b].lower() for a, b in snippet["highlights"]] == ["garch"] * len(
        snippet["highlights"]
    )
    assert found["results"][0]["hits"] == 2
    text = sessions(run_kit, "search", "volatility")
    assert text.returncode == 0 and "volatility clusters" in text.stdout
    none = sessions(run_kit, "search", "zeppelin")
    assert none.returncode == 0 and none.stdout == "" and "no messages match 'zeppelin'" in none.stderr
    bad = sessions(run_kit, "search", "***")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "nothing to search for" in bad.stderr


def test_rm_needs_confirmation_goes_to_the_trash_and_restore_brings_it_back(run_kit, provider, kit_env):
    sid = ask(run_kit, provider, "keep me safe")["session_id"]
    [path] = session_files(kit_env)
    refused = sessions(run_kit, "rm", sid[:10])
    assert refused.returncode == 2 and "--yes" in refused.stderr and path.exists()
    removed = doc(sessions(run_kit, "rm", sid[:10], "--yes", "--json"))["removed"]
    assert [r["id"] for r in removed] == [sid] and not path.exists() and Path(removed[0]["trash"]).exists()
    assert doc(sessions(run_kit, "list", "--json"))["sessions"] == []
    assert doc(sessions(run_kit, "search", "safe", "--json"))["results"] == []
    restored = doc(sessions(run_kit, "restore", sid[:10], "--json"))["restored"]
    assert restored == {"id": sid, "path": str(path)} and path.exists()
    assert [s["id"] for s in doc(sessions(run_kit, "list", "--json"))["sessions"]] == [sid]
    again = sessions(run_kit, "restore", sid[:10])
    assert again.returncode == 12 and again.stderr.startswith("kit: error: no session matches")
    records = doc(sessions(run_kit, "audit", "--json"))["records"]
    assert [(r["action"], r["session_id"]) for r in records] == [("rm", sid), ("restore", sid)]
    assert records[0]["path"] == str(path) and records[0]["time"].endswith("+00:00")
    audit = Path(kit_env["KIT_HOME"]) / "audit.jsonl"
    assert audit.stat().st_mode & 0o777 == 0o600


def test_rename_names_a_session_for_list_show_and_kit_s(run_kit, provider, kit_env):
    sid = ask(run_kit, provider, "draft the plan")["session_id"]
    renamed = doc(sessions(run_kit, "rename", sid[:8], "Release  Plan", "--json"))
    assert renamed["name"] == "Release Plan"
    assert doc(sessions(run_kit, "list", "--json"))["sessions"][0]["name"] == "Release Plan"
    provider.reply("continuing")
    assert run_kit("-s", "release plan", "next step").returncode == 0  # a name finds the session too
    assert [m["content"] for m in provider.last_messages()][-1] == "next step"
    assert provider.last_messages()[0]["content"] == "draft the plan"
    assert doc(sessions(run_kit, "verify", sid, "--json"))["ok"] is True  # every append stays chained
    blank = sessions(run_kit, "rename", sid[:8], "  ")
    assert blank.returncode == 2 and "not empty" in blank.stderr


def test_prune_lists_first_and_deletes_old_sessions_and_trash_only_when_told(run_kit, provider, kit_env):
    old = ask(run_kit, provider, "an old conversation")["session_id"]
    young = ask(run_kit, provider, "a recent one")["session_id"]
    trashed = ask(run_kit, provider, "removed long ago")["session_id"]
    by_id = {json.loads(p.read_text().splitlines()[0])["id"]: p for p in session_files(kit_env)}
    long_ago = time.time() - 100 * 86400
    os.utime(by_id[old], (long_ago, long_ago))
    assert sessions(run_kit, "rm", trashed, "--yes").returncode == 0
    info = next((Path(kit_env["KIT_HOME"]) / "trash").rglob("*.trashinfo"))
    note = json.loads(info.read_text())
    info.write_text(json.dumps({**note, "trashed": "2020-01-01T00:00:00+00:00"}))

    planned = doc(sessions(run_kit, "prune", "--older-than", "90d", "--dry-run", "--json"))
    assert {r["id"] for r in planned["would_remove"]} == {old, trashed} and planned["removed"] == []
    assert by_id[old].exists()
    assert sessions(run_kit, "prune", "--older-than", "90d").returncode == 2  # no terminal, no --yes
    done = doc(sessions(run_kit, "prune", "--older-than", "90d", "--yes", "--json"))
    assert {r["id"] for r in done["removed"]} == {old, trashed}
    assert not by_id[old].exists() and by_id[young].exists() and not info.exists()
    assert [r["action"] for r in doc(sessions(run_kit, "audit", "--json"))["records"]] == [
        "rm",
        "prune",
        "prune",
    ]
    bad = sessions(run_kit, "prune", "--older-than", "soon")
    assert bad.returncode == 2 and "not a duration" in bad.stderr and bad.stderr.count("\n") == 1


def test_stats_sum_every_session_by_model_and_day(run_kit, provider, kit_env):
    ask(run_kit, provider, "-m", "openai/gpt-4o", "one")
    ask(run_kit, provider, "-m", "openai/gpt-4o", "-c", "two")
    ask(run_kit, provider, "three")
    stats = doc(sessions(run_kit, "stats", "--since", "30d", "--json"))
    assert stats["sessions"] == 2 and stats["messages"] == 6 and stats["answers"] == 3
    assert stats["tokens"] == 3300 and stats["cost_usd"] > 0
    assert {m["model"]: m["answers"] for m in stats["by_model"]} == {"gpt-4o": 2, "scripted": 1}
    assert [d["day"] for d in stats["by_day"]] == [time.strftime("%Y-%m-%d", time.gmtime())]
    text = sessions(run_kit, "stats")
    assert text.returncode == 0 and "gpt-4o" in text.stdout and "by day (UTC)" in text.stdout


def test_verify_exits_non_zero_on_a_changed_line_and_reindex_rebuilds(run_kit, provider, kit_env):
    sid = ask(run_kit, provider, "the original words")["session_id"]
    ok = doc(sessions(run_kit, "verify", "--json"))
    assert ok["ok"] is True and ok["summary"]["files"] == 1 and ok["files"][0]["unchained"] == 0
    [path] = session_files(kit_env)
    path.write_text(path.read_text().replace("the original words", "some other words"))
    checked = sessions(run_kit, "verify", "--all", "--json")
    assert checked.returncode == 12
    [problem] = json.loads(checked.stdout)["files"][0]["problems"]
    assert problem["kind"] == "tampered" and problem["line"] == 3
    text = sessions(run_kit, "verify", sid[:6])
    assert text.returncode == 12 and "tampered: line 3" in text.stdout
    rebuilt = doc(sessions(run_kit, "reindex", "--json"))
    assert rebuilt["files"] == 1 and rebuilt["bytes"] == path.stat().st_size
    assert doc(sessions(run_kit, "search", "other words", "--json"))["results"][0]["id"] == sid


def test_unknown_sessions_and_bad_flags_are_one_line_errors(run_kit, provider, kit_env):
    for args in (
        ["show", "ffff0000"],
        ["rm", "ffff0000", "--yes"],
        ["rename", "ffff0000", "x"],
        ["verify", "ffff0000"],
    ):
        result = sessions(run_kit, *args)
        assert result.returncode == 12, args
        assert result.stderr.count("\n") == 1 and "no session matches 'ffff0000'" in result.stderr
        assert result.stdout == ""
    both = sessions(run_kit, "verify", "abc", "--all")
    assert both.returncode == 2 and both.stderr.count("\n") == 1
    since = sessions(run_kit, "list", "--since", "yesterday")
    assert since.returncode == 2 and "--since 'yesterday' is not a duration" in since.stderr


def test_cleanup_alias_removes_old_empty_files_and_audits_them(run_kit, provider, kit_env, workdir):
    folder = Path(kit_env["KIT_HOME"]) / "sessions" / str(workdir).strip("/").replace("/", "--")
    folder.mkdir(parents=True)
    empty = folder / "2026-01-01T00-00-00-000Z_aaaaaaaaaaaa.jsonl"
    empty.write_text(
        json.dumps({"type": "session", "version": 3, "id": "e" * 32, "cwd": str(workdir)}) + "\n"
    )
    os.utime(empty, (time.time() - 3600, time.time() - 3600))
    result = sessions(run_kit, "--cleanup")
    assert (
        result.returncode == 0 and not empty.exists() and "1 empty session file(s) removed" in result.stderr
    )
    [record] = doc(sessions(run_kit, "audit", "--json"))["records"]
    assert record["action"] == "prune" and record["reason"] == "empty" and record["session_id"] == "e" * 32


def test_a_long_index_build_draws_a_progress_bar_on_a_terminal_only(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with progress_bar() as progress:
        assert progress is not None
        progress(0, PROGRESS_FROM_BYTES - 1)  # a small build: no bar at all
        assert screen.getvalue() == ""
        progress(PROGRESS_FROM_BYTES // 2, PROGRESS_FROM_BYTES)
    assert "indexing sessions" in screen.getvalue()
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with progress_bar() as progress:
        assert progress is None  # scripts and pipes get no bar
