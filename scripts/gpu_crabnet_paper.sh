#!/usr/bin/env bash
# On a CUDA machine: every paper-profile CrabNet cell (cv 3 targets x 2 schemes, bootstrap and
# train 3 targets each), resumable, timed. Prepared here by scripts/gpu_prepare.sh; docs/getting-started.md
# "CrabNet at its published size on a CUDA GPU" gives the device command.
#
# Environment: PYTHON (default python3), PARAMS (default params.yaml; run with its profile set
# to paper), OUT (where results come back; default scratch/gpu/out), PART_SET (0: run the cells
# and return the first parts of the outputs; 1, 2...: return further parts of a previous run's
# outputs, nothing rerun; call it with an empty carry), DEADLINE (seconds by which the cells must
# be done: a cell that might not finish by then is not started; default 400, so that a 590 s call
# holds the bench (at most BENCH_SECONDS, 120) and ends with its finished cells packed).
# Outputs land in results/ as the DVC stages write them; they travel as crabnet_cells.tar in
# parts of 15 MiB, four parts per call, for transfers that limit how much one call returns.
# Cells recorded in scratch/gpu_run/timings.json are skipped; a returned crabnet_cells.tar placed
# in scratch/gpu/previous/ (with its timings.json) is unpacked first, so a rerun resumes.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PARAMS=${PARAMS:-params.yaml}
OUT=${OUT:-scratch/gpu/out}
PART_SET=${PART_SET:-0}
DEADLINE=${DEADLINE:-400}
gpu=scratch/gpu
run=scratch/gpu_run  # outside the carried scratch/gpu, so a later call (PART_SET=1...) still finds it
site=${SITE:-/tmp/electrode-ml-site}
mkdir -p "$OUT" "$run"

if [ "$PART_SET" = 0 ]; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --ignore-requires-python --upgrade \
    --target "$site" "$gpu"/wheels/*.whl
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
  mkdir -p results/prepared results/folds results/inputs/crabnet
  cp "$gpu/inputs/electrodes.csv" results/prepared/
  cp "$gpu/inputs/crabnet/electrodes.csv" results/inputs/crabnet/
  cp "$gpu"/inputs/folds/*.csv results/folds/
  if [ -f "$gpu/previous/crabnet_cells.tar" ] && [ ! -f "$run/timings.json" ]; then
    tar -xf "$gpu/previous/crabnet_cells.tar"
    cp "$gpu/previous/timings.json" "$run/timings.json"
  fi
  # The profile must be paper: a copy of the params file with that one line set.
  sed -E 's/^profile: *[a-z]+/profile: paper/' "$PARAMS" > "$run/params.yaml"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
  # crabnet's own loop (one model) beside the batched trainer (five folds together), 2 epochs each
  # at the default size: the per-fit cost and the speed-up, recorded as `make bench` records it.
  timeout "${BENCH_SECONDS:-120}" "$PYTHON" -m electrode_ml.cli bench --only crabnet_default crabnet_batched \
    > "$run/bench.txt" 2>&1 || echo "bench did not finish in ${BENCH_SECONDS:-120} s" >> "$run/bench.txt"
  grep '^bench:' "$run/bench.txt" || tail -3 "$run/bench.txt"
  newest_record=$(ls -t benchmarks/*.json 2>/dev/null | head -n 1)
  [ -n "$newest_record" ] && cp "$newest_record" "$OUT/"
  status=0
  "$PYTHON" scripts/gpu_crabnet_cells.py --params "$run/params.yaml" --timings "$run/timings.json" \
    --deadline "$DEADLINE" ${ONLY:+--only "$ONLY"} 2>&1 | tee "$run/log.txt" || status=$?
  cp "$run/log.txt" "$OUT/"
fi

# Pack what exists (finished cells only write complete files) and return this call's parts.
if [ "$PART_SET" = 0 ]; then
  rm -f "$run"/part.*
  outputs=$(ls -d results/cv/crabnet results/bootstrap/crabnet results/models/crabnet 2>/dev/null || true)
  if [ -z "$outputs" ]; then echo "no CrabNet cell finished"; exit "${status:-1}"; fi
  tar -cf "$run/crabnet_cells.tar" $outputs
  split -b 15M -d -a 2 "$run/crabnet_cells.tar" "$run/part."
fi
cp "$run/timings.json" "$OUT/" 2>/dev/null || true
parts=("$run"/part.*)
for ((i = PART_SET * 4; i < PART_SET * 4 + 4 && i < ${#parts[@]}; i++)); do cp "${parts[$i]}" "$OUT/"; done
echo "parts: ${#parts[@]} in all, this call returns $(ls "$OUT" | grep -c '^part\.' || true); sha256 of the tar:"
sha256sum "$run/crabnet_cells.tar"
exit "${status:-0}"
