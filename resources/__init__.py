"""Icons, themes, prompt templates, demo data, desktop entry."""
