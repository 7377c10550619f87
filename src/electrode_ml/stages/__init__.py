"""One module per DVC stage, each with a `main(argv)` that reads its own block of params.yaml."""
