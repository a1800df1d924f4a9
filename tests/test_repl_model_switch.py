"""`/model` across providers in the real REPL: each provider gets its own base URL and key, a misspelt
model is refused with a suggestion and not remembered. Two scripted servers (OpenAI and Anthropic
formats) on 127.0.0.1, reached through litellm's real clients."""

from __future__ import annotations

import yaml

from tests.anthropic_provider import AnthropicProvider
from tests.test_repl_pty import CTRL_D, ENTER, Terminal


def test_switching_provider_uses_that_providers_url_and_key_and_back(kit_env, workdir, provider, tmp_path):
    anthropic = AnthropicProvider().start()
    try:
        claude = {"api_base": anthropic.base_url, "api_key": "ant-key"}
        (workdir / ".kit.yml").write_text(yaml.safe_dump({"providers": {"anthropic": claude}}))
        provider.reply("from openai")
        provider.reply("openai again")
        anthropic.reply("from claude")
        term = Terminal.kit(provider, kit_env, workdir, "--api-key", "sk-openai-only")
        term.ready()
        term.send("one" + ENTER)
        assert "from openai" in term.ready()

        term.send("/model anthropic/claude-sonet-4-5" + ENTER)
        shown = term.ready()
        assert "did you mean anthropic/claude-sonnet-4-5?" in shown and "not changed" in shown
        term.send("\x03")  # the refused command is not put back: nothing to clear, harmless
        term.send("/model gemini/gemini-2.5-flash" + ENTER)
        assert "no API key for gemini" in term.ready()
        term.send("/model anthropic/claude-sonnet-4-5" + ENTER)
        assert "model: anthropic/claude-sonnet-4-5" in term.ready()
        term.send("two" + ENTER)
        assert "from claude" in term.ready()
        term.send("/model openai/scripted" + ENTER)
        term.ready()
        term.send("three" + ENTER)
        assert "openai again" in term.ready()
        term.send(CTRL_D)
        assert term.wait_exit() == 0
    finally:
        anthropic.stop()

    assert [r["headers"].get("x-api-key") for r in anthropic.requests] == ["ant-key"]
    keys = [r["headers"].get("authorization") for r in provider.chat_requests]
    assert keys == ["Bearer sk-openai-only"] * 2
    assert [r["body"]["messages"][-1]["content"] for r in provider.chat_requests] == ["one", "three"]
    prefs = yaml.safe_load((tmp_path / "config" / "preferences.yml").read_text())
    assert prefs["model"] == "openai/scripted"  # the misspelt name was never remembered
