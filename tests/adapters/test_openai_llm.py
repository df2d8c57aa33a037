"""The Llm adapter against a chat-completions server on loopback that answers from the request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from appliance.adapters.openai import OpenAiLlm
from appliance.ports.errors import PermanentError, TransientError
from fakes.common.asgi import read_body, send_json
from fakes.common.server import ThreadedServer
from tests.support.world import free_port

KEY = "sk-test-0123456789"


class ChatServer:
    """Checks the key, records requests, answers `echo: <user message>` or a queued error status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.fail: list[tuple[int, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        body = json.loads(await read_body(receive) or b"{}")
        if headers.get("authorization") != f"Bearer {KEY}":
            await send_json(
                send,
                401,
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}},
            )
            return
        if self.fail:
            status, extra = self.fail.pop(0)
            await send_json(
                send,
                status,
                {"error": {"message": "overloaded"}},
                [(k.encode(), v.encode()) for k, v in extra.items()],
            )
            return
        self.requests.append(body)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        await send_json(
            send,
            200,
            {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": body["model"] + "-0613",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"echo: {user}"},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": len(user.split()), "completion_tokens": len(user.split()) + 1},
            },
        )


@pytest.fixture
def server() -> Iterator[tuple[str, ChatServer]]:
    chat = ChatServer()
    with ThreadedServer(chat) as url:
        yield url + "/v1", chat


async def test_completion_request_and_answer(server: tuple[str, ChatServer]) -> None:
    url, chat = server
    llm = OpenAiLlm(base_url=url, api_key=KEY, model="gpt-test")
    answer = await llm.complete(system="You fix crashes.", prompt="KeyError DATABASE_URL", max_tokens=50)
    await llm.aclose()
    assert (answer.text, answer.model, answer.finish_reason) == (
        "echo: KeyError DATABASE_URL",
        "gpt-test-0613",
        "stop",
    )
    assert (answer.prompt_tokens, answer.completion_tokens) == (2, 3)
    [request] = chat.requests
    assert request["model"] == "gpt-test" and request["max_tokens"] == 50
    assert request["messages"] == [
        {"role": "system", "content": "You fix crashes."},
        {"role": "user", "content": "KeyError DATABASE_URL"},
    ]


@pytest.mark.parametrize(
    ("status", "error", "delay"),
    [(429, TransientError, 7.0), (503, TransientError, None), (400, PermanentError, None)],
)
async def test_statuses_map_to_the_port_errors(
    server: tuple[str, ChatServer], status: int, error: type[Exception], delay: float | None
) -> None:
    url, chat = server
    chat.fail = [(status, {"Retry-After": "7"} if delay else {})]
    llm = OpenAiLlm(base_url=url, api_key=KEY, model="m")
    with pytest.raises(error, match=f"{status}: overloaded") as caught:
        await llm.complete(system="s", prompt="p")
    await llm.aclose()
    if delay is not None:
        assert getattr(caught.value, "delay", None) == delay


async def test_a_wrong_key_is_permanent_and_no_key_is_ever_logged(
    server: tuple[str, ChatServer], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = server
    caplog.set_level(logging.DEBUG)
    wrong = OpenAiLlm(base_url=url, api_key="sk-wrong-key", model="m")
    with pytest.raises(PermanentError, match="Incorrect API key provided") as caught:
        await wrong.complete(system="s", prompt="p")
    await wrong.aclose()
    right = OpenAiLlm(base_url=url, api_key=KEY, model="m")
    await right.complete(system="s", prompt="p")
    await right.aclose()
    assert "sk-wrong-key" not in str(caught.value)
    assert not [r for r in caplog.records if KEY in r.getMessage() or "sk-wrong-key" in r.getMessage()]


async def test_an_unreachable_server_is_transient() -> None:
    llm = OpenAiLlm(base_url=f"http://127.0.0.1:{free_port()}/v1", api_key=KEY, model="m", timeout=2)
    with pytest.raises(TransientError, match="unreachable"):
        await llm.complete(system="s", prompt="p")
    await llm.aclose()
