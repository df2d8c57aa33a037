"""The Llm port on `POST {base_url}/chat/completions` (OpenAI's API and the many servers that copy it).

Statuses become port errors in one place: 429, 5xx and transport failures are transient (with
`Retry-After` as the delay); other 4xx are permanent, with the server's message. The API key is
sent only in the Authorization header and never appears in a message or a log record.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import msgspec

from appliance.ports.errors import PermanentError, TransientError
from appliance.ports.llm import Completion

log = logging.getLogger(__name__)


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int = 0
    completion_tokens: int = 0


class _Response(msgspec.Struct):
    choices: list[_Choice]
    model: str = ""
    usage: _Usage | None = None


def _raise_for(response: httpx.Response) -> None:
    code = response.status_code
    if code < 400:
        return
    message = _error_message(response)
    if code == 429 or code >= 500:
        retry_after = response.headers.get("Retry-After", "")
        delay = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        raise TransientError(f"LLM answered {code}: {message}", system="llm", delay=delay)
    raise PermanentError(f"LLM answered {code}: {message}", system="llm")


def _error_message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or response.reason_phrase)
    return str(error or response.reason_phrase)


class OpenAiLlm:
    def __init__(self, *, base_url: str, api_key: str, model: str, timeout: float = 60.0) -> None:
        self.model = model
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def complete(
        self, *, system: str, prompt: str, max_tokens: int = 1024, temperature: float = 0.0
    ) -> Completion:
        body = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        try:
            response = await self._client.post("/chat/completions", json=body)
        except httpx.TransportError as exc:
            raise TransientError(f"LLM unreachable: {type(exc).__name__}", system="llm") from exc
        _raise_for(response)
        try:
            parsed = msgspec.json.decode(response.content, type=_Response)
        except msgspec.DecodeError as exc:
            raise PermanentError(f"LLM answer is not a chat completion: {exc}", system="llm") from None
        if not parsed.choices:
            raise PermanentError("LLM answer has no choices", system="llm")
        choice = parsed.choices[0]
        usage = parsed.usage or _Usage()
        log.info(
            "completion from %s: %d+%d tokens",
            parsed.model or self.model,
            usage.prompt_tokens,
            usage.completion_tokens,
        )
        return Completion(
            text=choice.message.content or "",
            model=parsed.model or self.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            finish_reason=choice.finish_reason or "",
        )
