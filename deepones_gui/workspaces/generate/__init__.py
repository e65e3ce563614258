"""The Generate workspace: papers and their code -> DeepData (the paper's Figure 1)."""
