"""Starting a design session from elsewhere: a Chat answer becomes the proposal (and C_R)."""

from __future__ import annotations

from backend.pipeline.extract import fenced_program
from backend.pipeline.store import SessionStore
from backend.pipeline.tasks import Task

CHAT_PROMPT = "(sent from Chat)"


def seed_from_chat(store: SessionStore, task: Task, designer: str, programmer: str, text: str,
                   code: str = "") -> int:
    """A new session whose Propose step is ``text`` (and whose Improve step carries ``code`` as C_R).

    ``code`` defaults to the program in ``text``'s fenced blocks, read as the pipeline reads it.
    Chat's "-> Design" on a single code block sends the code alone: it becomes the reference code.
    Returns the session id; its next stage is Implement (with code) or Improve (without).
    """
    code = code or fenced_program(text)
    if not text.strip() and not code.strip():
        raise ValueError("Nothing to send to Design: the answer is empty.")
    if not text.strip():
        text = f"Reference code sent from Chat:\n\n```python\n{code.rstrip()}\n```\n"
    sid = store.create_session(task, designer, programmer, title=f"From chat: {task.title}")
    first = store.add_step(sid, None, "propose", status="done", origin="chat", prompt=CHAT_PROMPT, response=text)
    if code.strip():
        store.add_step(sid, first.id, "improve", status="done", origin="chat", prompt=CHAT_PROMPT,
                       response=text, reference_code=code)
    return sid
