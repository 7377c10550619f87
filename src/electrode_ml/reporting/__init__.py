"""paper/: the tables and figures, from pipeline outputs only.

- `reporting.tables`: the results tables, the cell-by-cell comparison with the published table,
  per-cluster and per-ion errors, the uncertainty tables, and writing a table as Markdown, LaTeX
  and CSV.
- `reporting.figures`: the evaluation figures (parity, SMAE, learning curves, per-cluster and
  per-ion errors).
- `reporting.maps`: the `cluster` stage's maps (working ions, t-SNE and UMAP by cluster, ion and
  target).
- `reporting.plotting`: what every figure shares (print sizes, fonts, palettes, typeset units,
  saving as PNG and PDF).

May import: the shared modules, `data`, `models`, `evaluation`.
"""
