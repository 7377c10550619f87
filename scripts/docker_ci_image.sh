#!/usr/bin/env bash
# CI's checks inside the image (scripts/docker_ci.sh runs this through `make docker-run`, in the
# mounted checkout, as a non-root host user), all in one container: with Docker's vfs driver each
# container start copies the whole image (its size: docs/getting-started.md "Docker").
#   1. The image's environment is the lock: every pin of requirements/constraints.txt and
#      requirements/cuda.txt installed at its version (torch with its build's local tag).
#   2. torch is the CUDA build that requirements/cuda.txt names (torch.version.cuda), sees no GPU
#      here, and the profile choice then takes the CPU and says why.
#   3. make test.
#   4. A slice of the reproduce path: make install data, dvc repro SLICE..., dvc status clean.
# Usage: scripts/docker_ci_image.sh STAGE...
set -euo pipefail
started=$(date +%s)
slice=("$@")
[ "${#slice[@]}" -gt 0 ] || { echo "usage: scripts/docker_ci_image.sh STAGE..." >&2; exit 2; }
say() { echo "docker-ci (in the image): $*"; }
fail() { echo "docker-ci (in the image): FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

step=$(date +%s)
pins() {  # `name==version` lines, comments and other lines dropped, names as PEP 503 compares them
  sed -E 's/#.*//; s/[[:space:]]+//g' | awk -F '==' 'NF == 2 { name = tolower($1); gsub(/[-_.]+/, "-", name); print name "==" $2 }'
}
frozen=$("$VENV/bin/pip" freeze --all --disable-pip-version-check | pins) || fail "pip freeze in the image"
locked=$(cat requirements/constraints.txt requirements/cuda.txt | pins)
differences=()
while IFS= read -r pin; do
  name=${pin%%==*} version=${pin#*==}
  installed=$(awk -F '==' -v name="$name" '$1 == name { print $2 }' <<< "$frozen")
  if [ "$installed" != "$version" ] && ! { [ "$name" = torch ] && [[ $installed == "$version"+* ]]; }; then
    differences+=("$name: locked $version, in the image ${installed:-nothing}")
  fi
done <<< "$locked"
[ "${#differences[@]}" = 0 ] \
  || fail "the image's packages differ from the lock: $(printf '%s; ' "${differences[@]}")"
say "the image's packages are the lock's: $(wc -l <<< "$locked") pins of constraints.txt and cuda.txt, each at its version"

cuda_named=$(sed -n 's/.*torch\.version\.cuda \([0-9][0-9.]*[0-9]\).*/\1/p' requirements/cuda.txt | head -n 1)
[ -n "$cuda_named" ] || fail "requirements/cuda.txt does not name torch.version.cuda"
read -r cuda available < <(python -c 'import torch; print(torch.version.cuda, torch.cuda.is_available())') \
  || fail "import torch in the image"
[ "$cuda" = "$cuda_named" ] || fail "torch.version.cuda is $cuda, not the $cuda_named that requirements/cuda.txt names"
[ "$available" = False ] || fail "torch.cuda.is_available() is $available on a machine without a GPU"
make --no-print-directory profile | tee /dev/stderr | grep -q "make reproduce: profile 'quick' (no CUDA GPU" \
  || fail "the image did not say that it takes the quick profile for want of a CUDA GPU"
say "torch.version.cuda $cuda (as requirements/cuda.txt names), torch.cuda.is_available() False," \
  "the quick profile chosen (no CUDA GPU): $(elapsed "$step")"

step=$(date +%s)
make --no-print-directory test || fail "make test in the image"
say "make test: passed in $(elapsed "$step")"

step=$(date +%s)
make --no-print-directory install data || fail "make install data in the image"
dvc repro "${slice[@]}" || fail "dvc repro ${slice[*]} in the image"
status=$(dvc status "${slice[@]}") || fail "dvc status in the image"
grep -q "Data and pipelines are up to date" <<< "$status" || fail "dvc status is not clean after the slice: $status"
say "reproduce slice (${slice[*]}): passed in $(elapsed "$step"); dvc status clean"
say "all passed in $(elapsed "$started")"
