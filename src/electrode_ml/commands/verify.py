"""`electrode-ml verify` (`make verify`): does this run give the committed results, bit for bit?

After `make reproduce` (or any `dvc repro`), compares
- every output hash in the workspace's `dvc.lock` with the committed `dvc.lock` (git HEAD, or
  `--against REV`), stage by stage, leaving out the timing files (`timings.json`: seconds, device,
  clock time, which differ on every run by design);
- for each metrics file whose hash differs, every value against the committed one, read from
  git (the report keeps every metric in `paper/metrics.json`), so a fresh clone without the
  committed results in its DVC cache still learns which metric moved and by how much: in the
  metric's unit and in (naive) standard errors of its cell, 2 sigma / 2 / sqrt(folds);
- that `dvc status` is clean, so the workspace's outputs are the ones its `dvc.lock` names.
It names every difference and exits non-zero if there is one. The committed results are of one
profile (`profile` in the committed params.yaml); a run of another profile has nothing to be
compared with, and the check says so.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import yaml

from electrode_ml import paths
from electrode_ml.data.targets import TARGET_REGISTRY
from electrode_ml.errors import ElectrodeMLError

LOCK = Path("dvc.lock")


def git_show(revision: str, path: Path) -> str | None:
    result = subprocess.run(["git", "show", f"{revision}:{path.as_posix()}"], capture_output=True, text=True, check=False)
    return result.stdout if result.returncode == 0 else None


def is_timing_record(path: str) -> bool:
    """`timings.json` beside each stage's results and the report's `paper/timings.md`."""
    return Path(path).stem == Path(paths.TIMINGS).stem


def output_hashes(lock_text: str) -> dict[str, str]:
    """Output path -> md5 over every stage of a dvc.lock, timing files left out."""
    lock = yaml.safe_load(lock_text) or {}
    hashes = {}
    for stage in (lock.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            if not is_timing_record(out["path"]):
                hashes[out["path"]] = out.get("md5")
    return hashes


def metrics_files(dvc_yaml: Path = Path("dvc.yaml")) -> list[str]:
    """The metrics paths of the expanded pipeline, as `dvc` lists them."""
    result = subprocess.run(["dvc", "metrics", "show", "--json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ElectrodeMLError(f"`dvc metrics show` failed: {result.stderr.strip()}")
    data = json.loads(result.stdout or "{}")
    files = []
    for revision in data.values():
        files += list((revision.get("data") or {}).keys())
    return sorted(set(files))


def compare_metrics_file(path: Path, committed_md5: str, our_md5: str | None,
                         committed_metrics: dict[str, dict]) -> tuple[list[str], int]:
    """(differences, values compared) for one metrics file: all equal when the hashes are; else
    value by value against the committed values (`paper/metrics.json` of the committed revision)."""
    ours = json.loads(path.read_text())
    if committed_md5 == our_md5:
        return [], len(ours)
    committed = committed_metrics.get(path.as_posix())
    if committed is None:
        return [f"{path}: differs, and the committed {paths.COMMITTED_METRICS} does not hold its values"], 0
    return compare_metrics(committed, ours, str(path)), len(committed)


def metric_unit(key: str) -> str:
    """An MAE is in its target's unit (`modnet.voltage.loco.mae`: V); SMAE and R2 have none."""
    parts = key.split(".")
    target = next((part for part in parts if part in TARGET_REGISTRY), None)
    return TARGET_REGISTRY[target].unit if target is not None and parts[-1].startswith("mae") else ""


def standard_errors(key: str, difference: float, committed: dict) -> str:
    """The difference in naive standard errors of the committed cell, where the file has the metric's
    2 sigma over folds and the fold count."""
    folds = next((value for name, value in committed.items() if name.endswith(".folds")), None)
    two_sigma = committed.get(f"{key}_2sigma")
    if not folds or not two_sigma:
        return ""
    return f", {difference / (two_sigma / 2 / math.sqrt(folds)):+.2g} standard errors of the cell"


def compare_hashes(committed: dict[str, str], ours: dict[str, str]) -> list[str]:
    differences = [f"{path}: committed {committed[path]}, this run {ours[path]}"
                   for path in sorted(committed.keys() & ours.keys()) if committed[path] != ours[path]]
    differences += [f"{path}: committed, but not an output of this run" for path in sorted(committed.keys() - ours.keys())]
    differences += [f"{path}: an output of this run, not in the committed dvc.lock"
                    for path in sorted(ours.keys() - committed.keys())]
    return differences


def compare_metrics(committed: dict, ours: dict, path: str) -> list[str]:
    differences = []
    for key in sorted(committed.keys() | ours.keys()):
        if key not in ours:
            differences.append(f"{path}: {key}: committed {committed[key]!r}, missing in this run")
        elif key not in committed:
            differences.append(f"{path}: {key}: {ours[key]!r} in this run, not committed")
        elif committed[key] != ours[key]:
            size = ""
            if all(isinstance(value, (int, float)) for value in (ours[key], committed[key])):
                difference = ours[key] - committed[key]
                unit = metric_unit(key)
                size = f" (difference {difference:+.3g}{' ' + unit if unit else ''}" \
                       f"{standard_errors(key, difference, committed)})"
            differences.append(f"{path}: {key}: committed {committed[key]!r}, this run {ours[key]!r}{size}")
    return differences


def verify(against: str = "HEAD") -> tuple[list[str], int, int]:
    """(differences, outputs compared, metrics compared)."""
    committed_params = git_show(against, Path("params.yaml"))
    committed_lock = git_show(against, LOCK)
    if committed_params is None or committed_lock is None:
        raise ElectrodeMLError(f"no committed params.yaml and dvc.lock at {against}: nothing to compare with")
    committed_profile = (yaml.safe_load(committed_params) or {}).get("profile")
    workspace_profile = (yaml.safe_load(Path("params.yaml").read_text()) or {}).get("profile")
    if committed_profile != workspace_profile:
        raise ElectrodeMLError(
            f"the committed results ({against}) are of profile {committed_profile!r}, this run is {workspace_profile!r}: "
            f"run `make reproduce PROFILE={committed_profile}` to check them")

    status = subprocess.run(["dvc", "status", "--json"], capture_output=True, text=True, check=False)
    if status.returncode != 0:
        raise ElectrodeMLError(f"`dvc status` failed: {status.stderr.strip()}")
    changed = json.loads(status.stdout or "{}")
    differences = [f"dvc status: stage {stage} is not up to date ({json.dumps(detail)})" for stage, detail in changed.items()]

    committed, ours = output_hashes(committed_lock), output_hashes(LOCK.read_text())
    differences += compare_hashes(committed, ours)
    committed_metrics = json.loads(git_show(against, paths.COMMITTED_METRICS) or "{}")
    n_metrics = 0
    for path in metrics_files():
        if path in committed and Path(path).exists():  # else named above as missing or not an output
            named, compared = compare_metrics_file(Path(path), committed[path], ours.get(path), committed_metrics)
            differences += named
            n_metrics += compared
    return differences, len(committed), n_metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml verify", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", default="HEAD", help="git revision holding the reference results (default: HEAD)")
    args = parser.parse_args(argv)
    differences, n_outputs, n_metrics = verify(args.against)
    if differences:
        print(f"verify: {len(differences)} difference(s) from the results committed at {args.against}:", file=sys.stderr)
        for line in differences:
            print(f"  {line}", file=sys.stderr)
        sys.exit(1)
    print(f"verify: identical to {args.against}: {n_outputs} output hashes and {n_metrics} metrics "
          "(timing files left out)")
