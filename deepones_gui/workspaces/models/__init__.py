"""The Models workspace: local GGUFs, pull from the hub, quantise, defaults, endpoint keys."""
