"""`electrode-ml verify` (`make verify`): does this run give the committed results, bit for bit?

After `make reproduce` (or any `dvc repro`), compares
- every output hash in the workspace's `dvc.lock` with the committed `dvc.lock` (git HEAD, or
  `--against REV`), stage by stage, leaving out the timing files (`timings.json`: seconds, device,
  clock time, which differ on every run by design);
- for each metrics file whose hash differs, every value, read from the committed file in DVC's
  cache (`dvc pull -r results` brings it where the run did not), so a difference is named by
  metric and size, not only by hash;
- that `dvc status` is clean, so the workspace's outputs are the ones its `dvc.lock` names.
It names every difference and exits non-zero if there is one. The committed results are of one
profile (`profile` in the committed params.yaml); a run of another profile has nothing to be
compared with, and the check says so.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from electrode_ml import paths
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


def cache_dir() -> Path:
    result = subprocess.run(["dvc", "cache", "dir"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ElectrodeMLError(f"`dvc cache dir` failed: {result.stderr.strip()}")
    return Path(result.stdout.strip())


def compare_metrics_file(path: Path, committed_md5: str, our_md5: str | None, cache: Path) -> tuple[list[str], int]:
    """(differences, values compared) for one metrics file: all equal when the hashes are; else
    value by value against the committed file in DVC's cache (DVC 3 layout), if it is there."""
    ours = json.loads(path.read_text())
    if committed_md5 == our_md5:
        return [], len(ours)
    reference = cache / "files" / "md5" / committed_md5[:2] / committed_md5[2:]
    if not reference.exists():
        return [f"{path}: the committed values are not in the local DVC cache "
                "(`dvc pull -r results` brings them) to say which metrics differ"], 0
    committed = json.loads(reference.read_text())
    return compare_metrics(committed, ours, str(path)), len(committed)


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
            difference = (f" (difference {ours[key] - committed[key]:+.3g})"
                          if all(isinstance(v, (int, float)) for v in (ours[key], committed[key])) else "")
            differences.append(f"{path}: {key}: committed {committed[key]!r}, this run {ours[key]!r}{difference}")
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
    n_metrics, cache = 0, cache_dir()
    for path in metrics_files():
        if path in committed and Path(path).exists():  # else named above as missing or not an output
            named, compared = compare_metrics_file(Path(path), committed[path], ours.get(path), cache)
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
