"""The Bench workspace: sweeps and their tables and charts, DeepQA evaluations."""
