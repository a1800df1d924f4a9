"""How kit_py.llm classifies and retries provider failures, checked in-process against the scripted server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kit_py import errors, llm
from tests.provider import ScriptedProvider


class StallingProvider(ScriptedProvider):
    """A scripted server whose streams stop sending (without closing) before the `stall_at`-th chunk."""

    def __init__(self, stall_at: int) -> None:
        super().__init__()
        self.stall_at = stall_at
        self.waits = 0

    def _wait(self, seconds: float) -> bool:
        # Call 1 is the reply's first_delay; call n + 1 precedes streamed chunk n.
        self.waits += 1
        return super()._wait(60 if self.waits == self.stall_at + 1 else seconds)


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_RETRY_BASE_DELAY", "0.01")


def stream(server: ScriptedProvider, content: str = "hi", timeout: float = 30.0) -> tuple[str, list[str]]:
    """Run one streamed step; returns the text and the retry notices shown on the way."""
    events: list[llm.StreamEvent] = []
    req = llm.LLMRequest(
        model="openai/scripted",
        api_base=server.base_url,
        messages=[{"role": "user", "content": content}],
        timeout=timeout,
    )
    response = llm.stream_completion(req, events.append)
    return response.text, [e.text for e in events if e.type == "retry"]


@pytest.fixture
def stalling() -> Iterator[StallingProvider]:
    server = StallingProvider(stall_at=3).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("status", [400, 409, 422])
def test_rejected_requests_fail_at_once_with_the_providers_words(provider, status):
    provider.error(status, "temperature must be at most 2", type="api_error", times=4)
    with pytest.raises(errors.ProviderError) as caught:
        stream(provider)
    assert not isinstance(caught.value, errors.ServerError)
    assert caught.value.exit_code == errors.ExitCode.PROVIDER
    assert f"rejected the request ({status}): temperature must be at most 2" in caught.value.message
    assert len(provider.chat_requests) == 1, "a rejected request is sent once"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(provider, status):
    provider.error(status)
    provider.reply("recovered")
    text, retries = stream(provider)
    assert text == "recovered"
    assert len(retries) == 1 and f"failed with {status}" in retries[0]


def test_retry_after_header_sets_the_wait(provider):
    provider.error(429, retry_after=0.7)
    provider.reply("ok")
    _, retries = stream(provider)
    assert retries == [
        f"rate limited by {provider.base_url} (429): Rate limit reached for requests. Please try again "
        "later.; retrying in 0.7s"
    ]


def test_lone_surrogates_are_sent_as_replacement_characters(provider):
    provider.reply("ok")
    assert stream(provider, "caf\udce9 and \ud800")[0] == "ok"
    assert provider.last_messages() == [{"role": "user", "content": "caf\ufffd and \ufffd"}]
    assert len(provider.chat_requests) == 1


def test_local_litellm_failure_is_not_reported_as_a_retryable_500():
    litellm = llm.load_litellm()
    try:
        try:
            "caf\udce9".encode()
        except UnicodeEncodeError as unicode_error:
            raise litellm.InternalServerError(
                message="OpenAIException - 'utf-8' codec can't encode character '\\udce9'",
                llm_provider="openai",
                model="scripted",
            ) from unicode_error
    except Exception as exc:
        error = llm.map_error(exc, "openai/scripted", None)
    assert not isinstance(error, llm.RETRYABLE)
    assert "with 500" not in error.message
    assert "codec can't encode" in error.message


def test_stalled_stream_is_a_timeout_that_keeps_the_partial_answer(stalling):
    stalling.reply("The first half of an answer", chunk_size=6)
    with pytest.raises(llm.StreamBroken) as caught:
        stream(stalling, timeout=1.0)
    broken = caught.value
    assert isinstance(broken.cause, errors.RequestTimeoutError)
    assert broken.exit_code == errors.ExitCode.TIMEOUT
    assert broken.message == "the provider stopped sending for 1 s mid-answer"
    assert broken.partial.text == "The first ha"
    assert broken.partial.stop_reason == "error"
    assert len(stalling.chat_requests) == 1, "a stream that already answered is not retried"


def test_dropped_stream_says_so_without_a_fake_status(provider):
    provider.reply("The first half of an answer", chunk_size=6, drop_after=3)
    with pytest.raises(llm.StreamBroken) as caught:
        stream(provider)
    broken = caught.value
    assert broken.exit_code == errors.ExitCode.INCOMPLETE
    assert broken.message.startswith("the connection dropped mid-answer (incomplete): peer closed connection")
    assert "with 500" not in broken.message
    assert broken.partial.text == "The first ha"
