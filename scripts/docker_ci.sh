#!/usr/bin/env bash
# CI's Docker part (`make docker-ci`, as root): make the base image, build the default (CUDA)
# image with `make docker-build`, then run scripts/docker_ci_image.sh in it through `make
# docker-run` (mounted exactly as `make docker-reproduce` mounts), as a non-root host user, in one
# container: the image's packages against the lock, torch's CUDA build and the CPU fallback,
# `make test`, and a slice of the reproduce path (`make install data`, `dvc repro` of prepare,
# featurize, inputs, cluster, folds and one cheap cv cell, `dvc status` clean).
# Here it checks that the outputs land in the mounted checkout, owned by that user. It works on a
# copy of the checkout (its committed state plus the working tree's changes), never on the
# checkout itself.
set -euo pipefail
cd "$(dirname "$0")/.."
checkout=$PWD
shared=$(cd .. && pwd)/shared
base=electrode-ml-base:bookworm
image=electrode-ml:ci
# A host user that is neither root nor the image's own user (uid 1000): the container must work
# for whoever runs `make docker-reproduce`.
host_uid=${DOCKER_CI_UID:-4242}
slice=(prepare featurize inputs cluster folds cv@control-voltage-stratified5)
slice_outputs=(results/prepared/electrodes.csv results/features/modnet.parquet results/inputs/control/electrodes.csv
  results/clusters/assignments.csv results/folds/stratified5.csv
  results/cv/control/voltage/stratified5/metrics.json)

say() { echo "docker-ci: $*"; }
fail() { echo "docker-ci: FAILED: $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
[ "$(id -u)" = 0 ] || fail "run as root (it starts dockerd and makes the base with debootstrap)"
[ -d "$shared/dvc-remote" ] || fail "no $shared/dvc-remote: the checkout must sit beside ../shared"
started=$(date +%s)
work=$(mktemp -d /tmp/electrode-ml-docker-ci.XXXXXX)
dockerd_pid=
cleanup() {
  rm -rf "$work"
  if [ -n "$dockerd_pid" ]; then kill "$dockerd_pid" && wait "$dockerd_pid" || true; fi
}
trap cleanup EXIT

# 1. The engine. vfs and no networking of its own: what works on these machines (no overlayfs in a
# VM's nested mounts, no iptables); builds and containers use the host's network.
if ! command -v dockerd > /dev/null || ! command -v debootstrap > /dev/null; then
  say "installing docker.io and debootstrap"
  apt-get update -qq && apt-get install -y -qq docker.io debootstrap > "$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log" >&2; fail "apt-get install docker.io debootstrap"; }
fi
if ! docker info > /dev/null 2>&1; then
  dockerd --iptables=false --bridge=none --storage-driver=vfs > "$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info > /dev/null 2>&1 && break; sleep 1; done
  docker info > /dev/null 2>&1 || { tail -n 20 "$work/dockerd.log" >&2; fail "dockerd did not start"; }
  say "dockerd started (pid $dockerd_pid)"
fi

# 2. The base: Debian bookworm, as debian:bookworm-slim would be, made here.
if ! docker image inspect "$base" > /dev/null 2>&1; then
  step=$(date +%s)
  bash scripts/docker_base.sh "$base"
  say "base image made in $(elapsed "$step")"
fi

# 3. The image a user builds, with the users' target: only the base differs (torch from PyPI, the
# CUDA build).
step=$(date +%s)
make --no-print-directory docker-build IMAGE="$image" DOCKER_BUILD_ARGS="--network host --build-arg BASE_IMAGE=$base" \
  > "$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log" >&2; fail "docker build"; }
size=$(docker image inspect -f '{{.Size}}' "$image")
say "image $image built in $(elapsed "$step"): $(( size / 1000000 )) MB ($(docker image inspect -f '{{json .Config.Labels}}' "$image"))"

# 4. The checkout as a non-root host user sees it.
copy=$work/electrode-ml
git clone -q --no-hardlinks "$checkout" "$copy"
git ls-files -z -c -o --exclude-standard | while IFS= read -r -d '' path; do [ -e "$path" ] && printf '%s\0' "$path"; done \
  | tar --null -T - -c | tar -C "$copy" -x
# A real host account: the container sees the host's /etc/passwd, as on a user's machine.
id -u "$host_uid" > /dev/null 2>&1 || useradd --no-create-home --uid "$host_uid" --user-group electrode-ci
chown -R "$host_uid:$host_uid" "$copy"
touch "$work/before-the-container"
step=$(date +%s)
make --no-print-directory -C "$copy" docker-run IMAGE="$image" SHARED="$shared" DOCKER_USER="$host_uid:$host_uid" \
  CMD="bash scripts/docker_ci_image.sh ${slice[*]}" || fail "the checks in the image (above)"
say "the checks in the image: passed in $(elapsed "$step"), the container's start included"
for output in "${slice_outputs[@]}"; do
  [ -s "$copy/$output" ] || fail "$output is not in the mounted checkout"
done
foreign=$(find "$copy" -newer "$work/before-the-container" ! -uid "$host_uid" -print -quit)
[ -z "$foreign" ] || fail "$foreign was written by the container but is not owned by uid $host_uid"
say "the slice's outputs are in the mounted checkout, owned by uid $host_uid"
# The copy belongs to the host uid, not to root: git refuses it unless told it is safe.
changed=$(git -c safe.directory="$copy" -C "$copy" status --porcelain dvc.lock)
say "dvc.lock after the slice: ${changed:-identical to the committed one (same output hashes)}"
say "all passed in $(elapsed "$started")"
