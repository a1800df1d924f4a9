"""`kit export` (and the export functions `/export` calls): formats by extension, default names, never
overwriting without --force, the audit log; Markdown read back by `kit import`; Go kit files imported
as they are."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from kit_py.catalog import read_audit
from kit_py.exchange.export import export_session
from kit_py.llm import to_llm_messages
from kit_py.session import SessionManager
from tests.exchange_sessions import FIRST_PROMPT, build_session

GOKIT = Path(__file__).parent / "fixtures" / "gokit" / "2026-03-01T10-00-00-000Z_a1b2c3d4e5f6.jsonl"


def saved(kit_env, workdir):
    return build_session(str(workdir), Path(kit_env["KIT_HOME"]))


def test_export_writes_each_format_by_extension_and_never_overwrites(run_kit, kit_env, workdir):
    built = saved(kit_env, workdir)
    sid = built.session.session_id
    source = built.session.path
    assert source is not None

    result = run_kit("export", sid[:10], "copy.jsonl", provider_flags=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(workdir / "copy.jsonl")
    assert (workdir / "copy.jsonl").read_bytes() == source.read_bytes(), "a byte copy"
    assert stat.S_IMODE((workdir / "copy.jsonl").stat().st_mode) == 0o600

    result = run_kit("export", sid[:10], "md", "--json", provider_flags=False)
    shown = json.loads(result.stdout)
    default = workdir / f"parser-fix-{sid[:8]}.md"
    assert shown == {
        "path": str(default),
        "format": "markdown",
        "bytes": default.stat().st_size,
        "session_id": sid,
    }
    markdown = default.read_text()
    assert markdown.startswith("# Parser fix\n") and FIRST_PROMPT in markdown
    assert (
        "<details><summary>Reasoning</summary>" in markdown
        and "Result of bash · 40 lines · exit 1 · error" in markdown
    )
    assert "> **Compaction** · 3 messages summarized (4,000 → 900 tokens)" in markdown
    assert "Regex version done." not in markdown, "only the active path"
    assert "| cost | $0.0250 |" in markdown and "| model | `openai/gpt-4o` · thinking high |" in markdown

    again = run_kit("export", sid[:10], "md", provider_flags=False)
    assert (
        again.returncode == 2
        and again.stderr == f"kit: error: {default} already exists; use --force to overwrite it\n"
    )
    default.write_text("mine")
    assert run_kit("export", sid[:10], "md", "--force", provider_flags=False).returncode == 0
    assert default.read_text() == markdown

    page = run_kit("export", sid[:10], provider_flags=False)
    assert page.stdout.strip() == str(workdir / f"parser-fix-{sid[:8]}.html")
    assert Path(page.stdout.strip()).read_bytes().startswith(b"<!DOCTYPE html>")

    unknown = run_kit("export", sid[:10], "notes.txt", provider_flags=False)
    assert unknown.returncode == 2 and "name it .jsonl (the session file), .md or .html" in unknown.stderr
    missing = run_kit("export", sid[:10], str(workdir / "no" / "x.md"), provider_flags=False)
    assert missing.returncode == 2 and "the folder" in missing.stderr and "does not exist" in missing.stderr
    nothing = run_kit("export", "ffffffff", provider_flags=False)
    assert nothing.returncode == 12 and "no session matches 'ffffffff'" in nothing.stderr

    records = [r for r in read_audit(Path(kit_env["KIT_HOME"])) if r.action == "export"]
    assert [(r.session_id, r.details["format"], Path(r.details["path"]).name) for r in records] == [
        (sid, "jsonl", "copy.jsonl"),
        (sid, "markdown", default.name),
        (sid, "markdown", default.name),
        (sid, "html", f"parser-fix-{sid[:8]}.html"),
    ]


def test_a_session_still_in_memory_exports_as_a_valid_session_file(tmp_path):
    built = build_session("/w", None)
    result = export_session(built.session, "mem.jsonl", cwd=tmp_path)
    again = SessionManager.open(result.path)
    assert again.warnings == [] and again.leaf_id == built.session.leaf_id
    assert again.build_context().messages == built.session.build_context().messages


def test_markdown_export_reads_back_into_the_same_conversation(run_kit, provider, kit_env, workdir):
    built = saved(kit_env, workdir)
    original = built.session
    md = export_session(original, "talk.md", cwd=workdir).path
    result = run_kit("import", str(md), "--json", provider_flags=False)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["format"] == "markdown" and info["warnings"] == []
    back = SessionManager.open(Path(info["path"]))

    def shape(entries):
        return [
            {k: v for k, v in e.items() if k not in ("parent_id", "hash")}
            for e in entries
            if e["type"] in ("message", "model_change", "compaction", "label")
        ]

    assert shape(back.path_entries()) == shape(original.path_entries()), (
        "ids, times, parts and usage come back"
    )
    assert back.name == "Parser fix" and back.labels == {built.main_answer: "fixed"}
    entries = back.path_entries()
    assert all(back.tree.parent_of(b["id"]) == a["id"] for a, b in zip(entries, entries[1:], strict=False))
    assert "Regex version done." not in md.read_text()
    assert to_llm_messages(back.build_context().messages, "anthropic/claude-sonnet-4-5") == to_llm_messages(
        original.build_context().messages, "anthropic/claude-sonnet-4-5"
    ), "the same context, signed reasoning included"

    provider.reply("ok")
    assert run_kit("-s", original.session_id[:12], "next").returncode == 0
    from_original = provider.last_messages()
    provider.reply("ok")
    assert run_kit("-s", info["session_id"][:12], "next").returncode == 0
    assert provider.last_messages() == from_original


def test_a_markdown_file_that_kit_did_not_write_is_refused(run_kit, tmp_path):
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n\nJust notes.\n")
    result = run_kit("import", str(notes), provider_flags=False)
    assert result.returncode == 12 and "not a session file" in result.stderr
    broken = tmp_path / "broken.md"
    broken.write_text(
        '<!-- kit:session {"id":"x"} -->\n<!-- kit:message {"role":"user"} -->\n<!-- kit:text -->\nhi\n'
    )
    result = run_kit("import", str(broken), provider_flags=False)
    assert result.returncode == 12 and "line 3: a text marker without its `<!-- kit:end -->`" in result.stderr


def test_a_go_kit_file_is_imported_as_it_is_under_a_new_header(run_kit, provider, workdir, tmp_path):
    source = tmp_path / "from-go.jsonl"
    source.write_bytes(GOKIT.read_bytes())
    result = run_kit("import", str(source), "--json", provider_flags=False)
    info = json.loads(result.stdout)
    assert info["format"] == "kit" and info["entries"] == 20
    copied = Path(info["path"]).read_bytes().split(b"\n", 1)
    assert copied[1] == GOKIT.read_bytes().split(b"\n", 1)[1], "every entry line byte for byte"
    header = json.loads(copied[0])
    assert (
        header["cwd"] == str(workdir)
        and header["id"] == info["session_id"] != "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    )
    assert header["imported_from"]["session_id"] == "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
    theirs, ours = SessionManager.open(GOKIT), SessionManager.open(Path(info["path"]))
    assert (ours.leaf_id, ours.labels, ours.name) == (theirs.leaf_id, theirs.labels, theirs.name)
    assert ours.build_context().messages == theirs.build_context().messages
    provider.reply("ok")
    assert run_kit("-c", "continue here").returncode == 0, "-c finds it: it is this directory's session now"
    assert "Approach B works." in json.dumps(provider.last_messages())


def test_exporting_a_pi_file_points_to_import(run_kit, tmp_path):
    pi = tmp_path / "pi.jsonl"
    pi.write_text(
        '{"type":"session","version":3,"id":"u","timestamp":"2026-01-01T00:00:00Z","cwd":"/w"}\n'
        '{"type":"message","id":"1a2b3c4d","parentId":null,"timestamp":"2026-01-01T00:00:00Z",'
        '"message":{"role":"user","content":"hi"}}\n'
    )
    result = run_kit("export", str(pi), "x.md", provider_flags=False)
    assert result.returncode == 12 and f"run `kit import {pi}`" in result.stderr


def test_a_go_kit_root_compaction_keeps_its_kept_messages_through_markdown(run_kit, tmp_path):
    theirs = SessionManager.open(GOKIT)
    md = export_session(theirs, "go.md", cwd=tmp_path).path
    info = json.loads(run_kit("import", str(md), "--json", provider_flags=False).stdout)
    ours = SessionManager.open(Path(info["path"]))
    context = ours.build_context()
    assert context.warnings == []
    model = "anthropic/claude-sonnet-4-5"
    assert to_llm_messages(context.messages, model) == to_llm_messages(theirs.build_context().messages, model)
