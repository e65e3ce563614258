"""The Chat workspace and the model manager (Qt views over backend.llm)."""
