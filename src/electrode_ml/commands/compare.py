"""`electrode-ml compare` (`make compare`): what the experiments changed and what it did to the results.

Reads `dvc exp show --json` (the workspace, the commit and its experiments) and prints
- each experiment with the parameters it changed (only those that differ between the rows);
- one row per model, target and scheme, one column per experiment: SMAE (and R2 with `--r2`).
Rows are cells, not columns, so a few experiments fit a 100-column terminal; `--md` prints the
same as Markdown.
"""
from __future__ import annotations

import argparse
import json
import subprocess

import pandas as pd

from electrode_ml.errors import ElectrodeMLError

RESULT_METRICS = ("smae", "r2")


def flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def experiment_rows(exp_show: list[dict]) -> dict[str, tuple[dict, dict]]:
    """Row name -> (flat params, flat metrics), from `dvc exp show --json`."""
    rows = {}

    def add(name: str, record: dict) -> None:
        data = record.get("data") or {}
        params = {key: value for file in (data.get("params") or {}).values() for key, value in
                  flatten(file.get("data") or {}).items()}
        metrics = {key: value for file in (data.get("metrics") or {}).values() for key, value in
                   (file.get("data") or {}).items()}
        rows[name] = (params, metrics)

    for commit in exp_show:
        add(commit.get("name") or (commit["rev"] if commit["rev"] == "workspace" else commit["rev"][:7]), commit)
        for experiment in commit.get("experiments") or []:
            for revision in experiment.get("revs") or []:
                add(revision.get("name") or revision["rev"][:7], revision)
    return rows


def changed_params(rows: dict[str, tuple[dict, dict]]) -> pd.DataFrame:
    table = pd.DataFrame({name: params for name, (params, _) in rows.items()})
    varying = table.astype(str).nunique(axis=1) > 1
    return table[varying]


def results_table(rows: dict[str, tuple[dict, dict]], metrics=("smae",)) -> pd.DataFrame:
    """Index (model, target, scheme, metric); one column per row of `rows`."""
    records = []
    for name, (_, values) in rows.items():
        for key, value in values.items():
            parts = key.split(".")
            if len(parts) == 4 and parts[3] in metrics and parts[0] != "control":
                records.append({"model": parts[0], "target": parts[1], "scheme": parts[2], "metric": parts[3],
                                "row": name, "value": value})
    if not records:
        raise ElectrodeMLError("no SMAE/R2 metrics in any experiment: run the pipeline (make reproduce) first")
    table = pd.DataFrame(records).pivot_table(index=["model", "target", "scheme", "metric"], columns="row",
                                              values="value", aggfunc="first")
    return table[[name for name in rows if name in table.columns]].round(3)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml compare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--md", action="store_true", help="print Markdown tables")
    parser.add_argument("--r2", action="store_true", help="R2 rows beside SMAE")
    args = parser.parse_args(argv)
    shown = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        raise ElectrodeMLError(f"`dvc exp show` failed: {shown.stderr.strip()}")
    rows = experiment_rows(json.loads(shown.stdout))
    params = changed_params(rows)
    results = results_table(rows, RESULT_METRICS if args.r2 else ("smae",))
    if args.md:
        print(params.to_markdown() if len(params) else "No parameter differs between the rows.")
        print()
        print(results.reset_index().to_markdown(index=False))
    else:
        print(params.to_string() if len(params) else "No parameter differs between the rows.")
        print()
        print(results.to_string())
