"""`kit share`: a secret gist through a stand-in `gh` on PATH (it records its arguments and what it
was given, and prints a gist URL), the secret scan before it, and the audit record after it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from kit_py.catalog import read_audit
from kit_py.exchange.secrets import redact_text, scan
from kit_py.session import SessionManager
from kit_py.session import format as fmt
from tests.exchange_sessions import build_session

OPENAI_KEY = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n"
    "-----END OPENSSH PRIVATE KEY-----"
)
URL = "https://gist.github.com/kit-user/5f3e9a0c1d2b4e6f8a7c9b1d3e5f7a9c"

FAKE_GH = f"""#!{sys.executable}
import json, os, shutil, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[:2] == ["auth", "status"]:
    if os.environ.get("FAKE_GH_LOGGED_OUT"):
        print("You are not logged into any GitHub hosts. To log in, run: gh auth login", file=sys.stderr)
        sys.exit(1)
    print("github.com\\n  Logged in to github.com account kit-user", file=sys.stderr)
elif args[:2] == ["gist", "create"]:
    for name in args[2:]:
        if os.path.isfile(name):
            shutil.copy(name, os.environ["FAKE_GH_UPLOADS"])
    print("- Creating gist with multiple files", file=sys.stderr)
    print("{URL}")
"""


@pytest.fixture
def gh(tmp_path: Path) -> dict[str, str]:
    """A stand-in `gh` first on PATH; the environment a run needs to use it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "gh"
    script.write_text(FAKE_GH)
    script.chmod(0o755)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    return {
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "FAKE_GH_LOG": str(tmp_path / "gh.log"),
        "FAKE_GH_UPLOADS": str(uploads),
    }


def calls(gh: dict[str, str]) -> list[list[str]]:
    log = Path(gh["FAKE_GH_LOG"])
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def uploads(gh: dict[str, str]) -> dict[str, bytes]:
    return {p.suffix: p.read_bytes() for p in Path(gh["FAKE_GH_UPLOADS"]).iterdir()}


def session_with_secrets(kit_env, workdir) -> SessionManager:
    session = build_session(str(workdir), Path(kit_env["KIT_HOME"])).session
    session.append(fmt.message("user", [fmt.text_part(f"my key is {OPENAI_KEY}, keep it safe")]))
    session.append(
        fmt.message(
            "assistant",
            [fmt.tool_call_part("call_9", "read", '{"path": "id_ed25519"}')],
            model="gpt-4o",
            provider="openai",
        )
    )
    session.append(fmt.message("tool", [fmt.tool_result_part("call_9", "read", PRIVATE_KEY)]))
    session.sync()
    return session


def test_share_uploads_the_viewer_and_the_file_as_one_secret_gist(run_kit, kit_env, workdir, gh):
    session = build_session(str(workdir), Path(kit_env["KIT_HOME"])).session
    sid = session.session_id
    result = run_kit("share", sid[:10], "--json", env=gh, provider_flags=False)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "url": URL,
        "files": [f"parser-fix-{sid[:8]}.html", f"parser-fix-{sid[:8]}.jsonl"],
        "session_id": sid,
        "secrets_found": 0,
        "redacted": False,
    }
    auth, create = calls(gh)
    assert auth == ["auth", "status"]
    assert create[:4] == ["gist", "create", "--desc", "kit session: Parser fix"] and "--public" not in create
    assert [Path(f).name for f in create[4:]] == [f"parser-fix-{sid[:8]}.html", f"parser-fix-{sid[:8]}.jsonl"]
    assert not any(Path(f).exists() for f in create[4:]), "the temporary files are gone"
    sent = uploads(gh)
    assert sent[".jsonl"] == Path(str(session.path)).read_bytes()
    assert sent[".html"].startswith(b"<!DOCTYPE html>") and b"Parser fix" in sent[".html"]
    (record,) = [r for r in read_audit(Path(kit_env["KIT_HOME"])) if r.action == "share"]
    assert record.session_id == sid and record.details["url"] == URL and record.details["redacted"] is False

    plain = run_kit("share", sid[:10], env=gh, provider_flags=False)
    assert plain.returncode == 0 and plain.stdout == URL + "\n"


def test_secrets_stop_the_upload_until_the_user_chooses(run_kit, kit_env, workdir, gh):
    session = session_with_secrets(kit_env, workdir)
    before = Path(str(session.path)).read_bytes()
    refused = run_kit("share", session.session_id[:10], env=gh, provider_flags=False)
    assert refused.returncode == 1
    assert "kit: found 2 possible secrets in this session:" in refused.stderr
    assert f"  OpenAI API key: {OPENAI_KEY[:4]}…{OPENAI_KEY[-4:]} (in user " in refused.stderr
    assert "  private key: -----BEGIN OPENSSH PRIVATE KEY----- … (in tool " in refused.stderr
    assert OPENAI_KEY not in refused.stderr, "never shown whole"
    assert refused.stderr.endswith("run again with --redact to replace them or --yes to upload them\n")
    assert calls(gh) == [["auth", "status"]], "nothing was uploaded"

    redacted = run_kit("share", session.session_id[:10], "--redact", "--json", env=gh, provider_flags=False)
    assert redacted.returncode == 0, redacted.stderr
    shown = json.loads(redacted.stdout)
    assert (shown["secrets_found"], shown["redacted"]) == (2, True)
    sent = uploads(gh)
    for data in sent.values():
        assert OPENAI_KEY.encode() not in data and b"b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" not in data
    assert b"my key is [REDACTED OpenAI API key], keep it safe" in sent[".jsonl"]
    uploaded = [json.loads(line) for line in sent[".jsonl"].splitlines()]
    assert uploaded[0]["id"] == session.session_id and len(uploaded) == len(session.entries) + 1
    assert Path(str(session.path)).read_bytes() == before, "the session itself is never changed"

    Path(gh["FAKE_GH_UPLOADS"], f"parser-fix-{session.session_id[:8]}.jsonl").unlink()
    anyway = run_kit("share", session.session_id[:10], "--yes", env=gh, provider_flags=False)
    assert anyway.returncode == 0 and OPENAI_KEY.encode() in uploads(gh)[".jsonl"]
    records = [r for r in read_audit(Path(kit_env["KIT_HOME"])) if r.action == "share"]
    assert [(r.details["secrets_found"], r.details["redacted"]) for r in records] == [(2, True), (2, False)]


def test_a_missing_or_logged_out_gh_is_said_plainly(run_kit, kit_env, workdir, gh, tmp_path):
    session = build_session(str(workdir), Path(kit_env["KIT_HOME"])).session
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = run_kit("share", session.session_id[:10], env={"PATH": str(empty)}, provider_flags=False)
    assert missing.returncode == 1 and missing.stderr == (
        "kit: error: sharing needs the GitHub CLI `gh`, which is not installed: install the GitHub CLI "
        "(https://cli.github.com) and run `gh auth login`\n"
    )
    out = run_kit(
        "share", session.session_id[:10], env={**gh, "FAKE_GH_LOGGED_OUT": "1"}, provider_flags=False
    )
    assert out.returncode == 1 and out.stderr == (
        "kit: error: `gh` is not logged in to GitHub (You are not logged into any GitHub hosts. To log in, "
        "run: gh auth login); run `gh auth login` first\n"
    )
    assert calls(gh) == [["auth", "status"]]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ANTHROPIC_API_KEY=sk-ant-api03-" + "x1" * 20, "Anthropic API key"),
        ("key: " + OPENAI_KEY, "OpenAI API key"),
        ("token ghp_" + "A1b2" * 9, "GitHub token"),
        ("github_pat_" + "11AB" * 10, "GitHub token"),
        ("AKIA" + "ABCDEFGH12345678", "AWS access key id"),
        ("aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCY1XAMPLEKEY", "AWS secret access key"),
        ("AIza" + "SyA1" * 8 + "b2c", "Google API key"),
        ("xoxb-123456789012-abcdefABCDEF", "Slack token"),
        ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "Stripe key"),
        ("hf_" + "aB3" * 12, "Hugging Face token"),
        (
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "JSON web token",
        ),
        ("Authorization: Bearer abcdef0123456789abcdef0123", "bearer token"),
        ("postgres://app:s3cr3t-pw@db.internal:5432/app", "password in a URL"),
        ('DB_PASSWORD="hunter2hunter22"', "secret assignment"),
        (PRIVATE_KEY, "private key"),
    ],
)
def test_the_scan_finds_common_key_formats_and_redaction_removes_them(text, kind):
    message = fmt.message("user", [fmt.text_part(f"before {text} after")])
    (finding,) = scan({"type": "session"}, [{**message, "id": "0" * 16}])
    assert finding.kind == kind and finding.value in text and finding.value not in finding.masked
    clean = redact_text(f"before {text} after")
    assert finding.value not in clean and f"[REDACTED {kind}]" in clean


@pytest.mark.parametrize(
    "text",
    [
        "pip install sk-learn-extra-helpers-for-models",
        "max_tokens=16384 and input_tokens: 123456",
        "password: ******** and API_KEY=${OPENAI_API_KEY}",
        "token = get_token_for_user(user_id)",
        "see https://example.com/a:b@c for details",
    ],
)
def test_ordinary_text_is_not_taken_for_a_secret(text):
    assert scan({}, [fmt.message("user", [fmt.text_part(text)])]) == []
