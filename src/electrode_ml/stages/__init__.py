"""One module per DVC stage, each with a `main(argv)` that reads its own block of params.yaml.

The model x target cell stages (cv, repeated_cv, bootstrap, train) share their options through
`stages.cell`.
"""
