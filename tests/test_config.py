"""Config files are hand-written: bad values are usage errors naming file and key, unknown keys warn."""

from __future__ import annotations

from pathlib import Path

import pytest

from kit_py.config import preferences_path, resolve_settings, save_preference
from kit_py.errors import UsageError


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(home ~/.kit.yml, project ./.kit.yml) in temp dirs, with an empty config dir."""
    home, project = tmp_path / "home", tmp_path / "project"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KIT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.chdir(project)
    return home / ".kit.yml", project / ".kit.yml"


def error_for(text: str, path: Path) -> str:
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        resolve_settings({})
    assert "\n" not in info.value.message
    return info.value.message


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('safe_mode: "enabled"', "safe_mode"),
        ("auto_compact: maybe", "auto_compact"),
        ("safe_mode: 2", "safe_mode"),
        ("timeout: 0", "timeout"),
        ("timeout: -5", "timeout"),
        ("max_steps: 0", "max_steps"),
        ("max_tokens: 0", "max_tokens"),
        ("max_tokens: 1.5", "max_tokens"),
        ("context_window: 0", "context_window"),
        ("context_window: .inf", "context_window"),
        ("max_retries: -1", "max_retries"),
        ("temperature: 2.5", "temperature"),
        ("temperature: -0.1", "temperature"),
        ("temperature: hot", "temperature"),
        ("thinking_level: extreme", "thinking_level"),
        ("theme: 3", "theme"),
        ("theme: [dark]", "theme"),
        ("tools: {read: true}", "tools"),
    ],
)
def test_bad_values_name_the_project_file_and_key(files, line, needle):
    message = error_for(line + "\n", files[1])
    assert message.startswith("./.kit.yml: " + needle), message


def test_bad_value_in_home_file_names_the_home_file(files):
    assert error_for("safe_mode: enabled\n", files[0]).startswith("~/.kit.yml: safe_mode")


def test_bad_value_in_preferences_names_preferences(files):
    preferences_path().parent.mkdir(parents=True)
    preferences_path().write_text("thinking_level: ultra\n")
    with pytest.raises(UsageError, match=r"preferences\.yml: thinking_level"):
        resolve_settings({})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", True),
        ("ON", True),
        ("True", True),
        ("1", True),
        ('"yes"', True),
        ("'On'", True),
        ("no", False),
        ("off", False),
        ("false", False),
        ("0", False),
        ('"FALSE"', False),
        ("'0'", False),
    ],
)
def test_boolean_spellings_are_accepted(files, text, expected):
    files[1].write_text(f"safe_mode: {text}\nauto_compact: {text}\n")
    settings = resolve_settings({})
    assert settings.safe_mode is expected and settings.auto_compact is expected


def test_valid_values_are_converted_and_project_file_wins(files):
    files[0].write_text("timeout: 30\nmax_steps: 3\ntemperature: 0.5\n")
    files[1].write_text('timeout: "12.5"\nmax_retries: 0\ntools: read, ls\ncontext-window: 8000\n')
    s = resolve_settings({})
    assert (s.timeout, s.max_steps, s.temperature, s.max_retries) == (12.5, 3, 0.5, 0)
    assert (s.tools, s.context_window) == (["read", "ls"], 8000)
    assert s.sources["timeout"] == "./.kit.yml" and s.sources["max_steps"] == "~/.kit.yml"
    assert resolve_settings({"timeout": 5.0}).sources["timeout"] == "command line"


def test_unknown_key_warns_with_a_suggestion_and_is_not_an_error(files, capsys):
    files[1].write_text("auto_compaction: true\nzzz_unrelated: 1\n")
    settings = resolve_settings({})
    assert settings.auto_compact is True  # the misspelt key set nothing: the default (on) stays
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "kit: warning: unknown setting 'auto_compaction' in ./.kit.yml (did you mean auto_compact?)",
        "kit: warning: unknown setting 'zzz_unrelated' in ./.kit.yml",
    ]


def test_saved_preferences_still_load(files):
    save_preference("theme", "light")
    save_preference("thinking_level", "low")
    s = resolve_settings({})
    assert (s.theme, s.thinking_level) == ("light", "low")
