"""A library user's script, fully typed: `mypy --strict` checks it (tests/test_api_typing.py), and the
same test runs it against a scripted model. Keep it free of `Any` and of `# type: ignore`."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel

from kit_py import Agent, ApprovalAnswer, ScriptedModel, Session, tool
from kit_py.api import PendingAction, RunResult, UsageTotals
from kit_py.errors import AgentError


class Weather(BaseModel):
    city: str
    celsius: float


@tool
def get_weather(city: str) -> Weather:
    """Current weather for a city.

    Args:
        city: City name.
    """
    return Weather(city=city, celsius=21.0)


async def approve(call: PendingAction) -> ApprovalAnswer:
    return ApprovalAnswer.DENY if call.tool == "bash" else ApprovalAnswer.APPROVE


def main(model: ScriptedModel) -> str:
    agent = Agent(model=model, tools=[get_weather], approve=approve, temperature=0.2)
    session: Session = agent.session(system="You report weather.")
    direct: Weather = get_weather("Oslo")  # a @tool function keeps its signature and return type
    result: RunResult[None] = session.run("Weather in Paris?")
    report: RunResult[Weather] = session.json("Paris weather as JSON", schema=Weather)
    celsius: float = report.output.celsius  # typed: no cast needed
    totals: UsageTotals = session.usage
    try:
        streamed = "".join(ev.text for ev in session.stream("Once more") if ev.type == "text_delta")
    except AgentError as exc:
        streamed = f"failed ({exc.status}, {exc.provider})"

    async def later() -> str:
        answer = await session.run_async("And tomorrow?")
        return answer.text

    tomorrow = asyncio.run(later())
    return f"{direct.city} {result.text} {celsius} {streamed} {tomorrow} {totals.output_tokens > 0}"


if __name__ == "__main__":
    print(main(ScriptedModel(["It is sunny.", '{"city": "Paris", "celsius": 21.5}', "Still sunny."])))
