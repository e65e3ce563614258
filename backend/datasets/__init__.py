"""DeepData: formats (plugins), streaming import, queries and search, curation, stats, export,
near-duplicates. Qt-free; heavy libraries (pyarrow, datasketch, huggingface_hub) load lazily."""
