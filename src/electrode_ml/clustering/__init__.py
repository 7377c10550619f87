"""The map of the MODNet feature space and its clusters (the paper's Figs. 2 and 5, its LOCO folds).

- `clustering.embedding`: feature scaling, t-SNE and UMAP embeddings, DBSCAN labels (`NOISE`).
- `clustering.clusters`: ElMD distances and each cluster's mean representative, the per-cluster
  table, and the leave-one-cluster-out folds.

May import: the shared modules, `data`.
"""
