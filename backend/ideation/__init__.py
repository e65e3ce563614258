"""Ideation: several designs side by side before anything runs (the proposal board), each checked
against the task's requirements (the model check) and drawn as a diagram."""
