"""First-party plugins, registered through the ``deepones`` entry points exactly like third-party ones."""
