"""Generate: turn papers and their repositories into DeepData (the paper's Figure 1 pipeline).

Qt-free. ``sources`` reads papers (LaTeX, PDF, unarXive JSONL, arXiv ids) and repositories
(Python through ``ast``, C++/CUDA through tree-sitter) into the records of :mod:`.model`;
``pipeline`` runs the model-driven stages over them and writes samples with provenance.
"""
