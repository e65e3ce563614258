"""Chats kept in the store: conversations as trees of messages (``messages.parent_id``).

Editing a user message or regenerating an answer adds a *sibling* under the same parent, so the
old branch is kept; ``chats.leaf_id`` says which branch is shown. Writes are single statements
or grouped in :func:`backend.store.transaction`, so a crash never leaves half a conversation.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, fields

import sqlite_utils

from backend.llm.base import ChatStats, GenerationSettings, Message
from backend.store import transaction

DEFAULT_TITLE = "New chat"


@dataclass
class ChatMessage:
    id: int
    chat_id: int
    parent_id: int | None
    role: str
    content: str
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    ttft_ms: float | None = None
    tokens_per_s: float | None = None
    error: str | None = None
    dropped_messages: int = 0
    created_at: float = 0.0
    # Filled in by ConversationStore.path(): this message's alternatives (itself included), in order.
    sibling_ids: list[int] = field(default_factory=list)

    @property
    def branch_index(self) -> int:
        return self.sibling_ids.index(self.id) if self.id in self.sibling_ids else 0

    @property
    def is_error(self) -> bool:
        return bool(self.error)


_MESSAGE_COLUMNS = [f.name for f in fields(ChatMessage) if f.name != "sibling_ids"]


def settings_to_json(settings: GenerationSettings, **extra) -> str:
    data = {k: v for k, v in settings.__dict__.items() if k != "stop"}
    data.update(extra)
    return json.dumps(data)


def settings_from_json(text: str | None) -> tuple[GenerationSettings, dict]:
    """(GenerationSettings, the other keys such as chat_format and preset)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        data = {}
    known = set(GenerationSettings.__dataclass_fields__) - {"stop"}
    gen = GenerationSettings(**{k: v for k, v in data.items() if k in known})
    return gen, {k: v for k, v in data.items() if k not in known}


class ConversationStore:
    def __init__(self, db: sqlite_utils.Database) -> None:
        self.db = db

    # -- chats ---------------------------------------------------------------------------------
    def create_chat(self, title: str = DEFAULT_TITLE, system_prompt: str = "", model: str = "",
                    settings: str = "{}") -> int:
        now = time.time()
        cur = self.db.conn.execute(
            "INSERT INTO chats (title, system_prompt, model, settings, created_at, updated_at) VALUES (?,?,?,?,?,?)",
            (title, system_prompt, model, settings, now, now),
        )
        return int(cur.lastrowid)

    def list_chats(self, search: str = "", limit: int = 500) -> list[dict]:
        """Newest first; ``search`` matches titles and message text (case-insensitive)."""
        sql = "SELECT id, title, model, updated_at FROM chats"
        args: list = []
        if search.strip():
            like = f"%{search.strip()}%"
            sql += (" WHERE title LIKE ? OR id IN (SELECT chat_id FROM messages WHERE content LIKE ?)")
            args += [like, like]
        sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
        args.append(limit)
        cols = ("id", "title", "model", "updated_at")
        return [dict(zip(cols, row, strict=True)) for row in self.db.conn.execute(sql, args)]

    def get_chat(self, chat_id: int) -> dict | None:
        row = self.db.conn.execute(
            "SELECT id, title, system_prompt, model, settings, leaf_id, created_at, updated_at FROM chats WHERE id=?",
            (chat_id,),
        ).fetchone()
        if row is None:
            return None
        keys = ("id", "title", "system_prompt", "model", "settings", "leaf_id", "created_at", "updated_at")
        return dict(zip(keys, row, strict=True))

    def update_chat(self, chat_id: int, **values) -> None:
        allowed = {"title", "system_prompt", "model", "settings", "leaf_id"}
        bad = set(values) - allowed
        if bad:
            raise ValueError(f"unknown chat fields: {sorted(bad)}")
        if not values:
            return
        values["updated_at"] = time.time()
        assignments = ", ".join(f"{k}=?" for k in values)
        self.db.conn.execute(f"UPDATE chats SET {assignments} WHERE id=?", [*values.values(), chat_id])

    def rename_chat(self, chat_id: int, title: str) -> None:
        title = " ".join(title.split()) or DEFAULT_TITLE
        self.update_chat(chat_id, title=title[:120])

    def delete_chat(self, chat_id: int) -> None:
        with transaction(self.db):
            # Children first: parent_id cascades, but one statement keeps it simple and fast.
            self.db.conn.execute("DELETE FROM messages WHERE chat_id=?", (chat_id,))
            self.db.conn.execute("DELETE FROM chats WHERE id=?", (chat_id,))

    # -- messages ------------------------------------------------------------------------------
    def add_message(self, chat_id: int, parent_id: int | None, role: str, content: str, *,
                    model: str | None = None, stats: ChatStats | None = None, error: str | None = None) -> int:
        """Append a message under ``parent_id`` and make it the shown branch's leaf."""
        now = time.time()
        values = {"chat_id": chat_id, "parent_id": parent_id, "role": role, "content": content,
                  "model": model, "error": error, "created_at": now}
        if stats is not None:
            values.update(stats_columns(stats))
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with transaction(self.db):
            cur = self.db.conn.execute(f"INSERT INTO messages ({cols}) VALUES ({marks})", list(values.values()))
            msg_id = int(cur.lastrowid)
            self.db.conn.execute("UPDATE chats SET leaf_id=?, updated_at=? WHERE id=?", (msg_id, now, chat_id))
        return msg_id

    def messages(self, chat_id: int) -> list[ChatMessage]:
        rows = self.db.conn.execute(
            f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM messages WHERE chat_id=? ORDER BY id", (chat_id,)
        ).fetchall()
        return [ChatMessage(**dict(zip(_MESSAGE_COLUMNS, row, strict=True))) for row in rows]

    def path(self, chat_id: int) -> list[ChatMessage]:
        """The shown branch, root first, each message with its alternatives in ``sibling_ids``."""
        chat = self.get_chat(chat_id)
        if chat is None:
            return []
        return self.branch_to(chat_id, chat["leaf_id"])

    def branch_to(self, chat_id: int, message_id: int | None) -> list[ChatMessage]:
        """Root .. ``message_id`` (the newest message if it is missing), with ``sibling_ids`` filled in."""
        msgs = self.messages(chat_id)
        if not msgs:
            return []
        by_id = {m.id: m for m in msgs}
        children: dict[int | None, list[int]] = {}
        for m in msgs:
            children.setdefault(m.parent_id, []).append(m.id)
        out = []
        node: int | None = message_id if message_id in by_id else msgs[-1].id
        while node is not None and node in by_id:
            m = by_id[node]
            m.sibling_ids = children.get(m.parent_id, [m.id])
            out.append(m)
            node = m.parent_id
        return out[::-1]

    def delete_message(self, message_id: int) -> None:
        """Remove a message and its replies (used to drop a failed answer before retrying)."""
        row = self.db.conn.execute("SELECT chat_id, parent_id FROM messages WHERE id=?", (message_id,)).fetchone()
        if row is None:
            return
        chat_id, parent_id = row
        with transaction(self.db):
            self.db.conn.execute("DELETE FROM messages WHERE id=?", (message_id,))
            leaf = self.db.conn.execute("SELECT leaf_id FROM chats WHERE id=?", (chat_id,)).fetchone()[0]
            if leaf is not None and not self.db.conn.execute("SELECT 1 FROM messages WHERE id=?", (leaf,)).fetchone():
                self.db.conn.execute("UPDATE chats SET leaf_id=? WHERE id=?", (parent_id, chat_id))

    def switch_branch(self, chat_id: int, message_id: int) -> None:
        """Show ``message_id``'s branch: its newest descendants down to a leaf."""
        msgs = self.messages(chat_id)
        children: dict[int | None, list[int]] = {}
        for m in msgs:
            children.setdefault(m.parent_id, []).append(m.id)
        node = message_id
        while children.get(node):
            node = children[node][-1]
        self.db.conn.execute("UPDATE chats SET leaf_id=? WHERE id=?", (node, chat_id))

    def set_leaf(self, chat_id: int, message_id: int | None) -> None:
        self.db.conn.execute("UPDATE chats SET leaf_id=? WHERE id=?", (message_id, chat_id))


def stats_columns(stats: ChatStats) -> dict:
    return {
        "prompt_tokens": stats.prompt_tokens or None,
        "completion_tokens": stats.completion_tokens or None,
        "ttft_ms": round(stats.ttft_s * 1000, 1) if stats.ttft_s is not None else None,
        "tokens_per_s": round(stats.tokens_per_s, 2) if stats.tokens_per_s else None,
        "dropped_messages": stats.dropped_messages,
    }


def history_for_model(path: list[ChatMessage], system_prompt: str = "") -> list[Message]:
    """What the model is sent: the system prompt, then the branch's turns (failed answers left out)."""
    out: list[Message] = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    for m in path:
        if m.is_error or (m.role == "assistant" and not m.content):
            continue
        out.append({"role": m.role, "content": m.content})
    return out


def title_from(text: str, limit: int = 48) -> str:
    words = " ".join(text.split())
    return (words[: limit - 1] + "…") if len(words) > limit else (words or DEFAULT_TITLE)
