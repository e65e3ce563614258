"""The Traces workspace (Qt): trace list with filters, the attempt tree, diffs, labels."""
