"""The Data map: every sample as a point on a 2-D layout of its text, for visual curation.

* :mod:`.vectors`  — embeddings (TF-IDF + truncated SVD offline, or a GGUF model through the model
  worker), cached per sample and content hash in float32 chunk files beside the store.
* :mod:`.layout_child` — the 2-D layout (UMAP) in a child process; :mod:`.layout` drives it.
* :mod:`.points`   — layouts and positions in the store (map_layouts, map_points).
* :mod:`.clusters` — clusters found on the layout, named by their top TF-IDF terms.
* :mod:`.colour`   — colour-by facets (kind, category, ... or any registered column) as codes per point.
* :mod:`.select`   — lasso and rectangle selection over the stored positions (vectorised).
* :mod:`.build`    — the whole job: embed what is missing, fit or extend the layout, cluster, save.
* :mod:`.export`   — a static PNG and an offline HTML page.
"""
