# electrode-ml: `make reproduce` on a CUDA GPU (the paper profile), from the same lock as `make install`.
FROM nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PIP_NO_CACHE_DIR=1 \
    DVC_NO_ANALYTICS=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    PYTHON=python3.11 \
    TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 \
    VENV=/home/electrode/venv \
    MAKEFLAGS=--old-file=/home/electrode/venv/.installed

# Python 3.11: TensorFlow 2.15 (for MODNet) has no wheels for newer Pythons. The deadsnakes PPA
# keeps only its latest builds, so apt versions cannot be pinned without breaking the build.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends software-properties-common \
    && add-apt-repository -y ppa:deadsnakes/ppa \
    && apt-get update \
    && apt-get install -y --no-install-recommends python3.11 python3.11-venv python3.11-dev build-essential git make \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --shell /bin/bash electrode
USER electrode
WORKDIR /home/electrode/electrode-ml

# The environment from the lock files alone (the same scripts/install.sh as `make install`), in
# $VENV outside the repository, so that `make docker-reproduce` can mount a checkout over it
# (MAKEFLAGS above: a mounted checkout's newer file times must not trigger a reinstall).
COPY --chown=electrode:electrode requirements/ requirements/
COPY --chown=electrode:electrode scripts/install.sh scripts/smoke_imports.py scripts/
COPY --chown=electrode:electrode pyproject.toml README.md ./
COPY --chown=electrode:electrode src/electrode_ml/__init__.py src/electrode_ml/__init__.py
RUN bash scripts/install.sh

COPY --chown=electrode:electrode . .

CMD ["make", "reproduce"]
