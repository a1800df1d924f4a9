"""Every slash command, shell escapes, @file attachments and remembered preferences, in a real pty."""

from __future__ import annotations

import base64
import json
import re

import orjson
import yaml

from kit_py.repl.stats import human_tokens
from kit_py.tools import select_tools, tool_schemas
from tests.conftest import session_files
from tests.test_repl_pty import CTRL_C, ENTER, SHIFT_TAB, TAB, Terminal

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _entries(path):
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def test_slash_commands_shell_and_attachments(kit_env, workdir, provider, tmp_path):
    (workdir / "notes.txt").write_text("secret-content\n")
    (workdir / "pic.png").write_bytes(PNG)
    term = Terminal.kit(provider, kit_env, workdir, "--system-prompt", "You are terse.")
    term.ready()

    term.send("/help" + ENTER)
    listing = term.ready()
    for name in (
        "/help",
        "/model [name]",
        "/thinking [level]",
        "/theme [name]",
        "/name [name]",
        "/session",
        "/usage",
        "/new [prompt]",
        "/clear",
        "/undo",
        "/retry",
        "/copy",
        "/compact [focus]",
        "/tree",
        "/fork",
        "/resume",
        "/export [path]",
        "/import <path>",
        "/share",
        "/quit",
    ):
        assert name in listing, name
    assert "/q /exit" in listing and "/h /?" in listing

    term.send("/hlep" + ENTER)
    assert "unknown command /hlep; did you mean /help?" in term.ready()
    term.send(CTRL_C)  # the mistyped command was put back for editing; Ctrl-C clears it
    term.send("/h model" + ENTER)
    assert "show or switch the model" in term.ready()

    # model, thinking level and theme: shown, changed, remembered.
    term.send("/m" + ENTER)
    assert "model: openai/scripted" in term.ready()
    term.send("/model openai/other-model" + ENTER)
    assert "model: openai/other-model (remembered" in term.ready()
    term.send("/thinking loud" + ENTER)
    assert "unknown thinking level 'loud'" in term.ready()
    term.send("/think high" + ENTER)
    assert "thinking level: high" in term.ready()
    term.send(SHIFT_TAB)  # high -> off, shown in the status line at once
    term.settle()
    assert term.screen().splitlines()[-1].startswith(" openai/other-model · thinking off · ctx")
    for keys in ("/the", TAB, " li", TAB, ENTER):  # Tab completes the command and its argument
        term.send(keys)
        term.settle(0.4)
    assert "theme: light (remembered" in term.text
    prefs = yaml.safe_load((tmp_path / "config" / "preferences.yml").read_text())
    assert prefs == {"model": "openai/other-model", "thinking_level": "off", "theme": "light"}

    assert session_files(kit_env) == []  # settings changed in an empty session create no file
    provider.reply("first answer")
    term.send("first question" + ENTER)
    term.expect("first answer")
    assert provider.chat_requests[-1]["body"]["model"] == "other-model"
    term.ready()
    term.send("/name release planning" + ENTER)
    assert "session named: release planning" in term.ready()
    term.send("/session" + ENTER)
    info = term.ready()
    [path] = session_files(kit_env)
    for expected in (
        path.name,
        "release planning",
        str(workdir),
        "entries",
        "messages",
        "leaf",
        "tokens",
        "cost",
        "openai/other-model",
    ):
        assert expected in info, expected
    term.send("/u" + ENTER)
    assert "output tokens:" in term.ready()

    for keys in ("/model openai/gpt-4.1-n", TAB, ENTER):  # litellm's model list completes model names
        term.send(keys)
        term.settle(0.4)
    assert "model: openai/gpt-4.1-nano (remembered" in term.text
    term.send("/model openai/other-model" + ENTER)
    term.ready()
    change = _entries(path)[-1]  # written at once: `kit -c` after /quit resumes the new model
    assert change["type"] == "model_change" and change["model_id"] == "other-model"
    term.send("/thinking low" + ENTER)
    term.ready()
    assert _entries(path)[-1]["thinking_level"] == "low"

    term.send("/copy" + ENTER)
    term.ready()
    assert "\x1b]52;c;" + base64.b64encode(b"first answer").decode() + "\x07" in term.raw

    # /retry asks the same question again on a new branch; /undo steps back before it.
    provider.reply("second answer")
    term.send("/retry" + ENTER)
    term.expect("second answer")
    entries = _entries(path)
    answers = [e for e in entries if e.get("role") == "assistant"]
    users = [e for e in entries if e.get("role") == "user"]
    assert [u["parts"][0]["data"]["text"] for u in users] == ["first question", "first question"]
    retry_change = next(e for e in entries if e["id"] == users[1]["parent_id"])  # asked with thinking low
    assert retry_change["type"] == "model_change" and retry_change["thinking_level"] == "low"
    assert users[0]["parent_id"] == retry_change["parent_id"]  # a branch, nothing deleted
    assert len(answers) == 2
    term.ready()
    term.send("/undo" + ENTER)
    assert "undone: first question" in term.ready()
    term.send(CTRL_C)  # the undone prompt was put back for editing
    leaf_marker = _entries(path)[-1]
    assert leaf_marker["type"] == "extension_data" and leaf_marker["ext_type"] == "kit:leaf"
    assert leaf_marker["parent_id"] == users[1]["parent_id"]

    # !cmd adds its output to the conversation, !!cmd only shows it.
    term.send("!echo shell-out" + ENTER)
    assert "output added to the conversation" in term.ready()
    term.send("!echo started-$((6*7)); sleep 30" + ENTER)
    term.expect("started-42")  # output shows while the command still runs
    term.send(CTRL_C)
    assert "[interrupted] output added to the conversation" in term.ready()
    term.send("!!echo hidden-out" + ENTER)
    shown = term.ready()
    assert "hidden-out" in shown and "not added" in shown
    provider.reply("seen")
    term.send("look at @notes.txt and @pic.png" + ENTER)
    term.expect("seen")
    term.ready()
    # /undo gives back what was typed, not the inlined file: sending it again attaches it once.
    term.send("/undo" + ENTER)
    assert "undone: look at @notes.txt and @pic.png — " in term.ready()
    provider.reply("seen", usage={"prompt_tokens": 50000})
    term.send(ENTER)
    term.expect("seen")
    term.ready()
    sent = provider.last_messages()
    assert "shell-out" in json.dumps(sent) and "hidden-out" not in json.dumps(sent)
    texts = [m["content"] for m in sent if isinstance(m["content"], str)]
    assert "I ran `echo started-$((6*7)); sleep 30` (interrupted):\n```\nstarted-42\n```" in texts
    assert "first question" not in json.dumps(sent)  # undone
    content = sent[-1]["content"]
    attached = '<file path="notes.txt">\nsecret-content\n</file>'
    assert content[0]["text"] == "look at @notes.txt and @pic.png\n\n" + attached
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")

    # Commands owned by other parts of kit say what is missing.
    # /compact summarizes the older messages into one appended entry; the next request starts from it.
    provider.reply("SUMMARY: the user looked at notes")
    term.send("/compact keep the file names" + ENTER)
    assert "compacted: " in term.ready()
    compaction = _entries(path)[-1]
    assert compaction["type"] == "compaction" and "SUMMARY: the user looked at notes" in compaction["summary"]
    term.send("/u" + ENTER)  # the context shrank at once, not only after the next answer
    tool_definitions = -(-len(orjson.dumps(tool_schemas(select_tools(None)))) // 4)  # sent with every request
    expected = human_tokens(compaction["tokens_after"] + tool_definitions)
    assert f"context:       ~{expected} tokens" in term.ready()
    assert "keep the file names" in json.dumps(provider.last_messages())  # the focus reached the summarizer
    provider.reply("after compaction")
    term.send("go on" + ENTER)
    term.expect("after compaction")
    term.ready()
    sent = provider.last_messages()
    assert sent[0] == {"role": "system", "content": "You are terse."}, "compaction keeps the system prompt"
    assert "SUMMARY: the user looked at notes" in sent[1]["content"] and sent[-1]["content"] == "go on"
    assert sum(m["role"] == "system" for m in sent) == 1

    term.send("/new" + ENTER)
    assert "started a new session" in term.ready()
    term.send("/clear" + ENTER)
    assert "fresh conversation" in term.ready()
    provider.reply("fresh start")
    term.send("/n hello again" + ENTER)
    term.expect("fresh start")
    assert provider.last_messages() == [  # a new session starts with the same system prompt
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello again"},
    ]
    term.ready()
    term.send("/exit" + ENTER)
    assert term.wait_exit() == 0
    assert len(session_files(kit_env)) == 2  # the empty /new and /clear sessions left no files


def test_preferences_survive_a_restart_and_flags_and_config_win(kit_env, workdir, provider, tmp_path):
    term = Terminal.kit(provider, kit_env, workdir)
    term.ready()
    term.send("/model openai/remembered" + ENTER)
    term.ready()
    term.send("/thinking medium" + ENTER)
    term.ready()
    term.send("/theme light" + ENTER)
    term.ready()
    term.send("/q" + ENTER)
    assert term.wait_exit() == 0

    env = {**kit_env, "KIT_API_BASE": provider.base_url}
    del env["NO_COLOR"]
    restarted = Terminal([], env, workdir)  # no -m: the remembered model is used
    toolbar = restarted.expect(" tok")
    assert "openai/remembered" in toolbar and "thinking medium" in toolbar
    assert re.search(r"\x1b\[[0-9;]*48;5;254[0-9;]*m openai/remembered", restarted.raw)  # light theme colours
    restarted.send("/theme" + ENTER)
    assert "theme: light" in restarted.ready()
    restarted.send("/quit" + ENTER)
    assert restarted.wait_exit() == 0

    (workdir / ".kit.yml").write_text("thinking_level: low\n")  # config file beats the preference
    configured = Terminal([], env, workdir)
    assert "thinking low" in configured.expect(" tok")
    configured.send("/thinking high" + ENTER)  # says so instead of promising to remember it
    note = "high (saved as a preference, but ./.kit.yml sets thinking_level and wins on the next start)"
    assert "thinking level: " + note in " ".join(configured.ready().split())  # may wrap
    configured.send("/quit" + ENTER)
    assert configured.wait_exit() == 0

    flagged = Terminal(["--thinking-level", "high", "-m", "openai/flag"], env, workdir)  # flags beat both
    toolbar = flagged.expect(" tok")
    assert "openai/flag" in toolbar and "thinking high" in toolbar
    flagged.send("/quit" + ENTER)
    assert flagged.wait_exit() == 0
