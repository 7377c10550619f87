# electrode-ml: the environment of `make install` (the same lock and scripts/install.sh) for `make
# reproduce`, with a CUDA GPU (--gpus all) or without. The image holds the environment only;
# `make docker-reproduce` mounts the checkout and ../shared (docs/getting-started.md "Docker").
#
# No CUDA base image: torch's CUDA wheels bring their own CUDA runtime and cuDNN as pip packages,
# and the driver comes from the host through the NVIDIA container toolkit. Debian bookworm ships
# Python 3.11 (TensorFlow 2.15, for MODNet, has no wheels for newer Pythons).
# CI builds FROM a debootstrapped bookworm made on its machine (scripts/docker_base.sh): no image
# registry is reachable there.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

ARG BASE_IMAGE
# Where torch==2.13.0 comes from. By default PyPI, whose Linux wheel is the CUDA 13.0 build (its
# nvidia-* packages pinned by requirements/cuda.txt). For a smaller image without CUDA:
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu --build-arg TORCH_BUILD=cpu
# (an empty TORCH_INDEX_URL: pip's own configuration, as for `make install`). CI builds the
# default. The build fails if torch is not the TORCH_BUILD it names.
ARG TORCH_INDEX_URL=https://pypi.org/simple
ARG TORCH_BUILD=cu130
LABEL org.opencontainers.image.title="electrode-ml" \
      org.opencontainers.image.description="make reproduce for arXiv:2603.07805; mount the checkout (make docker-reproduce)" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      io.electrode-ml.torch-build="${TORCH_BUILD}" \
      io.electrode-ml.torch-source="${TORCH_INDEX_URL:-the base image pip configuration}"

ENV PIP_NO_CACHE_DIR=1 \
    DVC_NO_ANALYTICS=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    PYTHON=python3.11 \
    VENV=/home/electrode/venv \
    ELECTRODE_ML_TORCH_BUILD=${TORCH_BUILD} \
    PATH=/home/electrode/venv/bin:$PATH

# Unpinned: the bookworm mirror keeps only the newest point-release and security builds, so pinned
# versions would stop resolving. git: DVC's experiments drive the checkout's git repository.
# The venv is readable by everyone: `make docker-reproduce` runs as the host user, not as electrode.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3.11 python3.11-venv make git \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --shell /bin/bash electrode
# Before the environment is installed: every later step copies the whole image with a plain
# storage driver (CI's vfs), so the metadata steps come while it is small.
COPY scripts/docker_entrypoint.sh /usr/local/bin/electrode-ml-entrypoint
ENTRYPOINT ["electrode-ml-entrypoint"]
CMD ["make", "reproduce"]
USER electrode
WORKDIR /home/electrode/electrode-ml

# The environment from the lock files alone, with the same scripts/install.sh as `make install`, in
# $VENV outside the checkout that is mounted here. Its stamp holds the hash of these files, which
# `make` compares with the mounted checkout's (scripts/install.sh).
COPY --chown=electrode:electrode requirements/ requirements/
COPY --chown=electrode:electrode scripts/install.sh scripts/smoke_imports.py scripts/
# pyproject.toml names README.md as the package's long description; the licence stands in for it,
# so that editing the README does not rebuild the environment (the real one is in the mount).
COPY --chown=electrode:electrode pyproject.toml ./
COPY --chown=electrode:electrode LICENSE README.md
COPY --chown=electrode:electrode src/electrode_ml/__init__.py src/electrode_ml/__init__.py
RUN bash scripts/install.sh \
    && "$VENV/bin/python" -c 'import os, sys, torch; build = os.environ["ELECTRODE_ML_TORCH_BUILD"]; sys.exit(None if torch.__version__.endswith("+" + build) else f"torch {torch.__version__} is not the {build} build that the label says")'
