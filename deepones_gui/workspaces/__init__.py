"""One module (or package) per workspace; each is registered by a plugin in ``plugins/``."""
