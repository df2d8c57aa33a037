"""The Llm port on an OpenAI-compatible chat-completions API."""

from appliance.adapters.openai.llm import OpenAiLlm

__all__ = ["OpenAiLlm"]
