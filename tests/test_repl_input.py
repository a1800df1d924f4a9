"""What the REPL does with what the user types or pastes: commands only where a command was meant,
`!cmd` as typed, and nothing written anywhere with --no-session. In a real pty against the scripted
provider."""

from __future__ import annotations

import json

from tests.conftest import session_files
from tests.test_repl_pty import CTRL_C, CTRL_D, ENTER, Terminal

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


def shows(needle: str, output: str) -> bool:
    """`needle` is in the output, however the terminal wrapped it (long paths are folded mid-word)."""
    return "".join(needle.split()) in "".join(output.split())


def _sent_prompts(provider) -> list[str]:
    """The last user message of every chat request the provider received."""
    prompts = []
    for request in provider.chat_requests:
        user = [m for m in request["body"]["messages"] if m["role"] == "user"][-1]
        content = user["content"]
        prompts.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
    return prompts


def test_only_a_known_command_word_is_a_command_and_pasted_text_is_sent_as_typed(
    kit_env, workdir, provider
):
    for _ in range(6):
        provider.reply("ok")
    term = Terminal.kit(provider, kit_env, workdir)
    term.ready()
    term.send("// a C++ comment" + ENTER)
    term.ready()
    term.send("/etc/hosts what is this" + ENTER)
    term.ready()
    term.send("/* block comment */" + ENTER)
    term.ready()
    term.send(PASTE_START + "/model is a line\nthat was pasted" + PASTE_END)
    term.settle(0.3)
    term.send(ENTER)
    term.ready()
    term.send("//help me" + ENTER)  # the escape: sends "/help me"
    term.ready()
    long_paste = "\n".join(f"line {i}" for i in range(2000))
    term.send("summarize " + PASTE_START + long_paste + PASTE_END)
    term.expect("[pasted 2000 lines #1]")  # shown collapsed in the input
    term.send(ENTER)
    term.ready()
    assert _sent_prompts(provider) == [
        "// a C++ comment",
        "/etc/hosts what is this",
        "/* block comment */",
        "/model is a line\nthat was pasted",
        "/help me",
        "summarize " + long_paste,  # sent whole
    ]

    term.send("/modle gpt" + ENTER)
    shown = term.ready()
    assert shows("unknown command /modle; did you mean /model?", shown)
    assert shows("start with // to send it as a message", shown)
    term.send(CTRL_C)  # the mistyped command is back in the input; clear it
    term.send("/mod" + ENTER)  # a unique prefix runs the command
    assert "model: openai/scripted" in term.ready()
    term.send("/t" + ENTER)  # /theme, /thinking, /tree: ambiguous, so not run
    assert "unknown command /t" in term.ready()
    term.send(CTRL_C)
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    assert len(provider.chat_requests) == 6


def test_shell_escape_output_without_colours_and_undo_gives_back_the_command(kit_env, workdir, provider):
    provider.reply("noted")
    term = Terminal.kit(provider, kit_env, workdir)
    term.ready()
    term.send("!printf '\\033[31mred\\033[0m plain\\n'" + ENTER)
    assert "output added to the conversation" in term.ready()
    term.send("\\!important is a word" + ENTER)
    term.ready()
    assert _sent_prompts(provider)[-1] == "!important is a word"
    added = next(m["content"] for m in provider.last_messages() if "I ran `printf" in str(m["content"]))
    assert "red plain" in added and "\x1b" not in added
    term.send("/undo" + ENTER)
    assert "undone: \\!important is a word" in term.ready()  # as typed: sending it again is not a !cmd
    term.send(CTRL_C)
    term.send("/undo" + ENTER)  # the second undo steps back over the !cmd message
    shown = term.ready()
    assert "undone: !printf" in shown, shown[-600:]
    term.send(CTRL_C)
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    lines = session_files(kit_env)[0].read_text().splitlines()
    shell_entry = next(json.loads(x) for x in lines if "I ran `printf" in x)
    assert shell_entry["typed"].startswith("!printf")


def test_no_session_writes_no_file_at_all(kit_env, workdir, provider, tmp_path):
    provider.reply("private answer")
    before = {p for p in tmp_path.rglob("*")}
    term = Terminal.kit(provider, kit_env, workdir, "--no-session")
    term.ready()
    term.send("a private question" + ENTER)
    assert "private answer" in term.ready()
    term.send("/model openai/other" + ENTER)
    assert "--no-session saves nothing" in term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    written = sorted(str(p.relative_to(tmp_path)) for p in set(tmp_path.rglob("*")) - before)
    assert written == []


def test_retry_after_a_failed_turn_sends_the_failed_prompt_again(kit_env, workdir, provider):
    provider.reply("the first answer")
    provider.error(400, "upstream exploded")
    provider.reply("the second answer")
    term = Terminal.kit(provider, kit_env, workdir)
    term.ready()
    term.send("first question" + ENTER)
    term.ready()
    term.send("second question" + ENTER)
    assert "upstream exploded" in term.ready()
    term.send(CTRL_C)  # the failed prompt is back in the input; /retry is typed instead
    term.send("/retry" + ENTER)
    assert "the second answer" in term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    assert _sent_prompts(provider)[-1] == "second question"
    sent = [m["content"] for m in provider.last_messages()]
    assert sent == ["first question", "the first answer", "second question"]


def test_interactive_first_message_resume_elsewhere_and_the_way_back(kit_env, workdir, provider, tmp_path):
    provider.reply("planned")
    term = Terminal.kit(provider, kit_env, workdir, "-i", "plan", "the", "refactor")
    assert "planned" in term.ready()
    assert _sent_prompts(provider) == ["plan the refactor"]
    term.send(CTRL_D)
    assert term.wait_exit() == 0
    (path,) = session_files(kit_env)
    session_id = json.loads(path.read_text().splitlines()[0])["id"]
    assert shows(f"back with `kit -c` (the latest here) or `kit -s {session_id[:12]}`", term.text)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    term = Terminal.kit(provider, kit_env, elsewhere, "-s", session_id[:8])
    shown = term.ready()
    assert shows(f"this session was started in {workdir}; tools run here, in {elsewhere}", shown)
    term.send("!!pwd" + ENTER)
    assert str(elsewhere) in term.ready()
    term.send("/cd" + ENTER)
    assert shows(f"now work in {workdir}", term.ready())
    term.send("!!pwd" + ENTER)
    assert f"\n{workdir}\n" in term.ready()
    term.send(CTRL_D)
    assert term.wait_exit() == 0


def test_esc_stops_an_answer_and_lines_typed_meanwhile_are_queued(kit_env, workdir, provider):
    provider.reply("story-start " + "word " * 200 + "story-end", chunk_size=5, delay=0.05)
    provider.reply("slow-start " + "word " * 30 + "slow-end", chunk_size=5, delay=0.05)
    provider.reply("answer to the queued one")
    term = Terminal.kit(provider, kit_env, workdir)
    term.ready()
    term.send("tell a long story" + ENTER)
    term.expect("story-start")
    term.send("\x1b")  # Esc, alone
    assert "interrupted (the partial answer is kept)" in term.ready()
    assert "story-end" not in term.text

    term.send("another" + ENTER)
    term.expect("slow-start")
    term.send("queued question" + ENTER + "half typed")
    term.expect("slow-end")
    term.expect("queued question  (queued)")
    assert "answer to the queued one" in term.ready()
    assert _sent_prompts(provider) == ["tell a long story", "another", "queued question"]
    term.settle(0.3)
    assert "half typed" in term.screen().splitlines()[-2] or "half typed" in term.screen()
    term.send(CTRL_C + CTRL_D)
    assert term.wait_exit() == 0
