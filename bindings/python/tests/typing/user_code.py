"""What a user's code sees of llmux's types: checked by ``mypy --strict`` against the installed wheel
(bindings/python/test.sh), never run. Each ``assert_type`` fails the check when the type a user's
editor would see for that expression changes, or degrades to ``Any``.
"""

from __future__ import annotations

from typing import Any, Optional, assert_type

import llmux

MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Hello"}]


def chat(router: llmux.Router) -> Optional[str]:
    response = router.completion(model="gpt-4o", messages=MESSAGES)
    assert_type(response, llmux.ModelResponse)
    assert_type(response.id, str)
    assert_type(response.model, Optional[str])
    assert_type(response.choices[0].message.content, Optional[str])
    assert_type(response.choices[0].finish_reason, Optional[str])
    assert_type(response.usage.total_tokens, int)
    return response.choices[0].message.content


def stream(router: llmux.Router) -> str:
    chunks = router.completion(model="gpt-4o", messages=MESSAGES, stream=True)
    assert_type(chunks, llmux.CompletionStream)
    text = ""
    for chunk in chunks:
        assert_type(chunk, llmux.ModelResponseStream)
        assert_type(chunk.usage, Optional[llmux.Usage])
        text += chunk.choices[0].delta.content or ""
    return text


def embed(router: llmux.Router) -> list[float]:
    response = router.embedding(model="embed", input="Hello")
    assert_type(response, llmux.EmbeddingResponse)
    assert_type(response.data[0].embedding, list[float])
    return response.data[0].embedding


def errors(router: llmux.Router) -> int:
    try:
        router.completion(model="gpt-4o", messages=MESSAGES)
    except llmux.RateLimitError as error:
        assert_type(error.status_code, int)
        return error.status_code
    return 0


async def chat_async(router: llmux.Router) -> str:
    response = await router.acompletion(model="gpt-4o", messages=MESSAGES)
    assert_type(response, llmux.ModelResponse)
    text = ""
    async for chunk in await router.acompletion(model="gpt-4o", messages=MESSAGES, stream=True):
        assert_type(chunk, llmux.ModelResponseStream)
        text += chunk.choices[0].delta.content or ""
    return text + (response.choices[0].message.content or "")
