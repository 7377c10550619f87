#!/usr/bin/env bash
# Fill scratch/gpu/ (git-ignored) with what scripts/gpu_crabnet_paper.sh needs on a GPU machine
# that has Python 3.12, torch, pandas, scikit-learn, pyyaml and tqdm but no network: wheels of
# crabnet, pydantic and of this package, and the prepared table, CrabNet's input folder and the fold
# files that the CrabNet cells read.
# Usage: scripts/gpu_prepare.sh [RESULTS_DIR]   (default results/, where the DVC stages write them)
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-results}
gpu=scratch/gpu
rm -rf "$gpu/wheels" "$gpu/inputs"
mkdir -p "$gpu/wheels" "$gpu/inputs/folds" "$gpu/inputs/crabnet"
# crabnet declares Python < 3.11 but runs on 3.11 and 3.12 (requirements/README.md): hence --ignore-requires-python.
.venv/bin/pip download -q --no-deps --only-binary=:all: --ignore-requires-python --python-version 3.12 \
  -d "$gpu/wheels" crabnet==2.0.8
# pydantic (the parameter checks) and what it needs, at the versions of the lock: not in such images.
versions=$(grep -iE '^(pydantic|pydantic[-_]core|annotated[-_]types|typing[-_]inspection)==' requirements/constraints.txt)
.venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$gpu/wheels" $versions
# The package's wheel, built from a copy of the working tree so that no build/ folder is left here.
source_copy=$(mktemp -d)
trap 'rm -rf "$source_copy"' EXIT
git ls-files -co --exclude-standard | grep -v '^data/' | tar -cf - -T - | tar -xf - -C "$source_copy"
.venv/bin/pip wheel -q --no-deps --no-build-isolation -w "$gpu/wheels" "$source_copy"
cp "$results/prepared/electrodes.csv" "$gpu/inputs/"
cp "$results/inputs/crabnet/electrodes.csv" "$gpu/inputs/crabnet/"
cp "$results/folds/stratified5.csv" "$results/folds/loco.csv" "$gpu/inputs/folds/"
du -sh "$gpu/wheels" "$gpu/inputs"
