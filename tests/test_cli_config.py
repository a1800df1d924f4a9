"""`kit`: config mistakes and bad flags are one line on stderr; --json failures are JSON too."""

from __future__ import annotations

import json
from pathlib import Path


def one_error_line(result, code: int = 2) -> str:
    """The single stderr line of a failed run, asserting there is exactly one and no usage block."""
    assert result.returncode == code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "Usage:" not in result.stderr
    return lines[0]


def test_bad_config_values_stop_before_any_request_and_name_file_and_key(run_kit, provider, kit_env, workdir):
    project, home = workdir / ".kit.yml", Path(kit_env["HOME"]) / ".kit.yml"
    project.write_text('safe_mode: "enabled"\n')
    line = one_error_line(run_kit("hi"))
    assert line.startswith("kit: error: ./.kit.yml: safe_mode must be true or false"), line
    assert "'enabled'" in line

    project.unlink()
    home.write_text("max_steps: 0\n")
    assert one_error_line(run_kit("hi")).startswith("kit: error: ~/.kit.yml: max_steps must be at least 1")

    home.write_text("tools: read,fly\n")
    line = one_error_line(run_kit("hi"))
    assert line.startswith("kit: error: ~/.kit.yml: tools: unknown tool(s): fly"), line
    home.unlink()
    line = one_error_line(run_kit("--tools", "read,fly", "hi"))
    assert line.startswith("kit: error: --tools: unknown tool(s): fly"), line
    assert provider.chat_requests == []


def test_unknown_config_key_warns_and_the_run_goes_on(run_kit, provider, workdir):
    (workdir / ".kit.yml").write_text("auto_compaction: true\nsafe_mode: YES\n")
    provider.reply("fine")
    result = run_kit("hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fine\n"
    assert result.stderr.splitlines() == [
        "kit: warning: unknown setting 'auto_compaction' in ./.kit.yml (did you mean auto_compact?)"
    ]


def test_bad_flags_and_contradictions_are_one_line_usage_errors(run_kit, provider):
    assert one_error_line(run_kit("--bogus", "hi")) == "kit: error: No such option: --bogus (see kit --help)"
    line = one_error_line(run_kit("--max-tokens", "0", "hi"))
    assert line.startswith("kit: error: Invalid value for '--max-tokens'")
    assert line.endswith("(see kit --help)")
    line = one_error_line(run_kit("--tools", "read", "--no-tools", "hi"))
    assert "--tools" in line and "--no-tools" in line
    line = one_error_line(run_kit("sessions", "--bogus", provider_flags=False))
    assert line == "kit: error: No such option: --bogus (see kit sessions --help)"
    quiet_json = run_kit("--json", "--quiet", "hi")
    assert "--json" in one_error_line(quiet_json) and "--quiet" in one_error_line(quiet_json)
    assert json.loads(quiet_json.stdout)["exit_code"] == 2
    help_text = run_kit("--help", provider_flags=False)
    assert help_text.returncode == 0 and help_text.stdout.startswith("Usage: kit [OPTIONS] [prompt]...")
    assert provider.chat_requests == []


def test_json_failures_before_any_output_are_still_one_json_object(run_kit, provider):
    provider.error(401)
    result = run_kit("--json", "hi")
    line = one_error_line(result, 4)
    report = json.loads(result.stdout)
    assert report["exit_code"] == 4 and "401" in report["error"]
    assert line == f"kit: error: {report['error']}"

    missing = run_kit("--json", "-s", "nosuchsession", "hi")
    one_error_line(missing, 12)
    assert json.loads(missing.stdout)["exit_code"] == 12

    plain = run_kit("-s", "nosuchsession", "hi")
    assert plain.returncode == 12 and plain.stdout == ""
