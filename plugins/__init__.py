"""First-party plugins: registered from ``backend.plugins.DEFAULT_PLUGINS`` (never as entry points),
through the same hooks as third-party ones."""
