#!/usr/bin/env bash
# The image's entry point. The image holds the environment only: without a checkout mounted at its
# working directory (`make docker-reproduce` mounts it) there is nothing to run, so say so.
set -euo pipefail
if [ ! -f Makefile ] || [ ! -f dvc.yaml ]; then
  echo "electrode-ml image: no checkout at $PWD; run the image through 'make docker-reproduce'" \
    "(it mounts the checkout here and ../shared, the data remote, at /home/electrode/shared)" >&2
  exit 2
fi
echo "electrode-ml image: torch $ELECTRODE_ML_TORCH_BUILD build, running as uid $(id -u): $*"
exec "$@"
