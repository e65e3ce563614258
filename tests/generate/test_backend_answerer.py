"""Any chat backend answers the pipeline through BackendAnswerer: the request's schema goes into the
call's settings and the tokens come from that call's own Response (no backend-wide state)."""

from __future__ import annotations

import asyncio
import json

from backend.generate.answerers import BackendAnswerer
from backend.generate.structured import AskRequest
from backend.llm.resolve import get_backend


def test_a_chat_backend_answers_with_its_own_call_stats(tmp_path):
    answers = tmp_path / "plain.jsonl"
    texts = ['{"ai_related": true, "reason": "a neural network"}', '{"ai_related": false, "reason": "soil"}']
    answers.write_text("".join(json.dumps({"content": t}) + "\n" for t in texts), "utf-8")
    answerer = BackendAnswerer(get_backend(f"replay:{answers}"))
    schema = {"type": "object", "properties": {"ai_related": {"type": "boolean"}}}
    ask = AskRequest("filter", "p1", [{"role": "user", "content": "Is this AI?"}], schema)

    async def both():
        return [await answerer.ask(ask), await answerer.ask(ask)]

    first, second = asyncio.run(both())
    answerer.close()
    assert [first.text, second.text] == texts
    # Each answer counts its own completion (the replay streams word by word: one chunk a word).
    assert (first.completion_tokens, second.completion_tokens) == tuple(len(t.split()) for t in texts) == (6, 4)
    assert first.prompt_tokens > 0
