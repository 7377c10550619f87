"""How well a model does, and how sure that number is.

- `evaluation.validation`: cross-validation over fold files, MAE, SMAE, R2 and their 2-sigma
  spread, per-group errors, bootstrap learning curves; the same for every model.
- `evaluation.statistics`: standard errors of CV means (naive and Nadeau-Bengio corrected),
  equivalence with a published value, paired differences between models, rank agreement, and
  arithmetic checks of the published table.

May import: the shared modules, `data`, `models`.
"""
