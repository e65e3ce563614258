"""Traces: design sessions as trees of attempts, labels, filters at scale, exports, training samples."""
