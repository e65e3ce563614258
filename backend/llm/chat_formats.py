"""Chat template names llama-cpp-python knows, for the manual template override in Chat's settings.

Lives in the backend (not in the llama plugin) so views can list them without importing a plugin.
"""

from __future__ import annotations


def chat_formats() -> list[str]:
    """Sorted chat format names (``chatml``, ``llama-3``, ...); empty when llama-cpp-python is missing."""
    try:
        from llama_cpp import llama_chat_format
    except ImportError:
        return []
    return sorted(llama_chat_format.LlamaChatCompletionHandlerRegistry()._chat_handlers)
