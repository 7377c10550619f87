"""One module per DVC stage, each with a `main(argv)` that reads its own block of params.yaml.

Thin: a stage reads its inputs, calls the library parts, writes its outputs. The model x target
cell stages (cv, repeated_cv, bootstrap, train) share their options through `stages.cell`.

May import: every part but `commands` and `cli`.
"""
