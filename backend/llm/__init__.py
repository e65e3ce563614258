"""Talking to models: one small ChatBackend interface, implementations as plugins."""
