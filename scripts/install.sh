#!/usr/bin/env bash
# Build .venv from the lock, in the only order that works on Python 3.11 (requirements/README.md).
# TORCH_INDEX_URL names the index torch 2.13.0 comes from (the Docker image: PyPI's CUDA build);
# every other package comes from the same lock.
# The stamp file is written last: a failed install never looks done, and `make` retries it. It holds
# the hash of the files the environment is built from (`--inputs-hash` prints it; the Makefile
# compares), not a time: a fresh clone, or the checkout mounted into the image, has files newer than
# any environment, and would otherwise be installed again.
set -euo pipefail
INPUTS=(requirements/requirements.txt requirements/constraints.txt requirements/cuda.txt requirements/crabnet.txt pyproject.toml
  scripts/install.sh scripts/smoke_imports.py)
inputs_hash() { cat "${INPUTS[@]}" | sha256sum | cut -d ' ' -f 1; }
if [ "${1:-}" = "--inputs-hash" ]; then inputs_hash; exit 0; fi
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
TORCH_INDEX_URL=${TORCH_INDEX_URL:-}
STAMP="$VENV/.installed"
if [ -f "$STAMP" ] && [ ! -w "$VENV" ]; then
  echo "install: the environment in $VENV was built from other lock files than this checkout's, and" \
    "cannot be rebuilt here (not writable). In Docker: rebuild the image (make docker-build)." >&2
  exit 1
fi
command -v "$PYTHON" >/dev/null || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is required (tensorflow 2.15 for modnet), found {sys.version.split()[0]}"'
# The interpreter a venv was made from: under make, PATH finds the old venv's python first, and it
# goes with the venv on the next line.
PYTHON=$("$PYTHON" -c 'import sys; print(sys._base_executable)')
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
# pip's "Location ... is ignored" lines come from this machine's index config: noise, not errors.
pip_install() { "$VENV/bin/pip" install --disable-pip-version-check --no-input -q "$@" 2>&1 | { grep -v "is ignored: it is neither" || true; }; }
# The CUDA build's own packages (nvidia-*, triton) at the lock's versions; the CPU build has none.
pip_install "$(grep '^torch==' requirements/constraints.txt)" -c requirements/cuda.txt ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"}
pip_install -r requirements/requirements.txt -c requirements/constraints.txt
pip_install --no-deps --ignore-requires-python -r requirements/crabnet.txt
pip_install --no-deps --no-build-isolation -e .
"$VENV/bin/python" -W ignore scripts/smoke_imports.py
inputs_hash > "$STAMP"
