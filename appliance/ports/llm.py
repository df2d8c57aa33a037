"""An LLM for the fix agent's optional diagnosis backend (any OpenAI-compatible chat-completions API)."""

from __future__ import annotations

from typing import Protocol

import msgspec


class Completion(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = ""


class Llm(Protocol):
    async def complete(
        self, *, system: str, prompt: str, max_tokens: int = 1024, temperature: float = 0.0
    ) -> Completion:
        """One chat completion: `system` instructions and one user `prompt`."""
        ...
