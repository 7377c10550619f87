#!/usr/bin/env bash
# `make reproduce`: choose the profile, set up, run the whole pipeline through DVC.
# `scripts/reproduce.sh --choose-only` (or `make profile`) only says which profile it would take.
# The profile switch goes through `dvc exp run -S profile=...`, so params.yaml, dvc.lock and
# `dvc exp show` always say which profile made the results.
set -euo pipefail
if [ -n "${PROFILE:-}" ]; then
  profile=$PROFILE why="PROFILE=$PROFILE was given"
elif command -v nvidia-smi >/dev/null 2>&1 && gpu=$(nvidia-smi -L 2>/dev/null | head -n 1) && [ -n "$gpu" ]; then
  profile=paper why="a CUDA GPU is present: $gpu"
else
  profile=quick why="no CUDA GPU: each of the paper profile's 153 default CrabNet fits takes about 2.7 h on 2 CPU cores"
fi
case "$profile" in
  paper|quick) ;;
  *) echo "make reproduce: PROFILE must be 'paper' or 'quick', not '$profile'" >&2; exit 2 ;;
esac
echo "make reproduce: profile '$profile' ($why); override with make reproduce PROFILE=paper|quick"
[ "${1:-}" = "--choose-only" ] && exit 0
make --no-print-directory install data
# `dvc exp run` commits the experiment to hidden git refs and needs a git identity; a fresh machine
# or container may have none. Borrow one for this run only (the repository's config is untouched).
if [ -z "$(git config user.email || true)" ] && [ -z "${GIT_COMMITTER_EMAIL:-}" ]; then
  export GIT_AUTHOR_NAME="electrode-ml ($(id -un 2>/dev/null || id -u))" GIT_AUTHOR_EMAIL="electrode-ml@localhost"
  export GIT_COMMITTER_NAME="$GIT_AUTHOR_NAME" GIT_COMMITTER_EMAIL="$GIT_AUTHOR_EMAIL"
  echo "make reproduce: git has no user identity here; DVC's experiment commits are signed as $GIT_AUTHOR_NAME"
fi
# The whole params.yaml, by name, before DVC expands the matrix (a misspelt model would surface
# as a missing file deep inside a stage).
electrode-ml check-params --profile "$profile"
echo "make reproduce: on a fresh clone DVC first warns 'No file hash info found for ... It won't be created'"
echo "for each result not in your DVC cache yet: expected; the run makes them."
# The fit workers, started once for the whole run (electrode-ml workers) rather than by each cell;
# the stages find them through Dask's DASK_SCHEDULER_ADDRESS. Not when one is already given.
if [ -z "${DASK_SCHEDULER_ADDRESS:-}" ]; then
  address_file=.dvc/tmp/workers.address
  rm -f "$address_file"
  electrode-ml workers --address-file "$address_file" &
  workers=$!
  trap 'kill "$workers" 2>/dev/null; wait "$workers" 2>/dev/null || true' EXIT
  while [ ! -s "$address_file" ]; do
    kill -0 "$workers" 2>/dev/null || { echo "make reproduce: the fit workers did not start" >&2; exit 1; }
    sleep 0.2
  done
  DASK_SCHEDULER_ADDRESS=$(cat "$address_file")
  export DASK_SCHEDULER_ADDRESS
  echo "make reproduce: fit workers up at $DASK_SCHEDULER_ADDRESS for the whole run (compute.workers)"
fi
# DVC names each stage as it reaches it but not how far the run is: a line after each says so.
dvc exp run -S "profile=$profile" 2>&1 | electrode-ml stage-progress --total "$(dvc stage list | wc -l)"
echo
echo "make reproduce: done (profile '$profile'). The report: paper/README.md (index) and paper/REPRODUCTION.md;"
echo "metrics: dvc metrics show; experiments: dvc exp show --md; the same as the committed results? make verify"
