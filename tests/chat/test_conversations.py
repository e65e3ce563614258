"""Conversations in the real SQLite store: branches (edit / regenerate keep the old one), search, rename, delete."""

from __future__ import annotations

from backend.llm.base import ChatStats
from backend.llm.conversations import (
    ConversationStore,
    history_for_model,
    settings_from_json,
    settings_to_json,
)


def test_branches_edit_regenerate_and_switch(store):
    convs = ConversationStore(store)
    chat = convs.create_chat("Design a CNN", system_prompt="You design models.")
    u1 = convs.add_message(chat, None, "user", "Propose a model for CIFAR-10")
    a1 = convs.add_message(chat, u1, "assistant", "ResNet-18", model="embedded",
                           stats=ChatStats(prompt_tokens=20, completion_tokens=5, ttft_s=0.05, total_s=0.5))
    a2 = convs.add_message(chat, u1, "assistant", "A small ViT", model="embedded")   # regenerate
    path = convs.path(chat)
    assert [m.id for m in path] == [u1, a2] and path[1].sibling_ids == [a1, a2] and path[1].branch_index == 1
    # Edit the first user message: a sibling of u1; the old branch stays.
    u1b = convs.add_message(chat, None, "user", "Propose a model for MNIST")
    assert [m.id for m in convs.path(chat)] == [u1b]
    assert convs.path(chat)[0].sibling_ids == [u1, u1b]
    convs.switch_branch(chat, u1)   # back to the old branch: its newest answer is shown
    assert [m.content for m in convs.path(chat)] == ["Propose a model for CIFAR-10", "A small ViT"]
    convs.switch_branch(chat, a1)
    shown = convs.path(chat)
    assert shown[1].content == "ResNet-18" and shown[1].ttft_ms == 50.0 and shown[1].tokens_per_s > 0
    assert history_for_model(shown, "You design models.") == [
        {"role": "system", "content": "You design models."},
        {"role": "user", "content": "Propose a model for CIFAR-10"},
        {"role": "assistant", "content": "ResNet-18"},
    ]


def test_failed_answers_are_not_sent_and_can_be_dropped(store):
    convs = ConversationStore(store)
    chat = convs.create_chat()
    u = convs.add_message(chat, None, "user", "hi")
    bad = convs.add_message(chat, u, "assistant", "", model="x", error="Cannot reach http://x")
    assert history_for_model(convs.path(chat)) == [{"role": "user", "content": "hi"}]
    convs.delete_message(bad)
    assert [m.id for m in convs.path(chat)] == [u]


def test_search_rename_delete(store):
    convs = ConversationStore(store)
    a = convs.create_chat("Vision transformers")
    b = convs.create_chat("Learning rates")
    convs.add_message(b, None, "user", "What learning rate for AdamW on BERT?")
    assert [c["id"] for c in convs.list_chats("adamw")] == [b]
    assert [c["id"] for c in convs.list_chats("vision")] == [a]
    convs.rename_chat(a, "  ViT   ideas ")
    assert convs.get_chat(a)["title"] == "ViT ideas"
    convs.delete_chat(b)
    assert convs.get_chat(b) is None
    assert store.conn.execute("SELECT COUNT(*) FROM messages WHERE chat_id=?", (b,)).fetchone()[0] == 0


def test_settings_round_trip():
    from backend.llm.base import GenerationSettings

    text = settings_to_json(GenerationSettings(temperature=0.2, seed=7, context_size=2048), chat_format="chatml")
    gen, extra = settings_from_json(text)
    assert (gen.temperature, gen.seed, gen.context_size) == (0.2, 7, 2048) and extra == {"chat_format": "chatml"}
