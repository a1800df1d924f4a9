"""Offline test doubles for code built on kit_py: a scripted model with canned replies and tool calls.

    from kit_py import Agent
    from kit_py.api.testing import ScriptedModel

    model = ScriptedModel(["Hello!"])
    assert Agent(model=model).run("hi").text == "Hello!"
    assert model.requests[0].prompt == "hi"

No network, no API key and no litellm import: requests are answered in-process, and everything else
(the turn loop, tools, safe mode, stores) runs as it does in production. See docs/api.md.
"""

from kit_py.llm.scripted import ScriptedModel, ScriptedReply, ScriptedRequest

__all__ = ["ScriptedModel", "ScriptedReply", "ScriptedRequest"]
