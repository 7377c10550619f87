"""Stage `domain`: how novel each electrode is to the models that predicted it, and the domain
`predict` measures new compositions against.

For every fold of both validation schemes, each held-out electrode's novelty (mean distance to its
nearest training electrodes of the same working ion, standardized Magpie features) and the elements
never seen with its ion in that fold's training set; then bins of novelty, with edges at the
quintiles of both schemes' novelty pooled, so that both schemes are binned alike. Outputs:
results/trust/novelty.csv (battery_id, scheme, fold, novelty, novelty_bin, unseen_elements,
in_domain), domain.joblib (every electrode, for `predict`; in domain: novelty within the
`trust.domain_quantile` of the stratified folds' and no unseen element), metrics.json and
timings.json.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from electrode_ml import paths
from electrode_ml.evaluation.conformal import TrustParams
from electrode_ml.evaluation.novelty import Domain, in_domain
from electrode_ml.files import atomic_path, write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, load_section
from electrode_ml.provenance import timing_record

NOVELTY_BINS = 5  # at the quintiles of both schemes' held-out novelty pooled: bins mean the same in both


def held_out_novelty(electrodes: pd.DataFrame, magpie: pd.DataFrame, folds: pd.DataFrame, neighbours: int,
                     scheme: str) -> pd.DataFrame:
    """Each held-out electrode of `folds` against its fold's training electrodes."""
    table = folds.merge(electrodes[["battery_id", "composition", "working_ion"]], on="battery_id")
    X = magpie.loc[table["battery_id"]]
    parts = []
    for fold in sorted(table["fold"].unique()):
        held_out = (table["fold"] == fold).to_numpy()
        train = table[~held_out]
        domain = Domain.fit(X[~held_out], train["working_ion"], train["composition"], neighbours)
        assessed = domain.assess(X[held_out], table.loc[held_out, "composition"], table.loc[held_out, "working_ion"])
        parts.append(assessed.drop(columns="in_domain").assign(battery_id=table.loc[held_out, "battery_id"].to_numpy(),
                                                               scheme=scheme, fold=fold))
    return pd.concat(parts, ignore_index=True)


def novelty_bin_edges(novelty: pd.Series) -> np.ndarray:
    """Inner edges at the quantiles that cut the finite `novelty` into `NOVELTY_BINS` equal parts
    (an electrode whose ion no training electrode has is infinitely novel: the last bin)."""
    return np.quantile(novelty[np.isfinite(novelty)], np.arange(1, NOVELTY_BINS) / NOVELTY_BINS)


def run(params: TrustParams, electrodes_csv: Path, magpie_parquet: Path, folds_dir: Path, out_dir: Path) -> dict:
    start = time.perf_counter()
    electrodes = pd.read_csv(electrodes_csv)
    magpie = pd.read_parquet(magpie_parquet)
    novelty = pd.concat([held_out_novelty(electrodes, magpie, pd.read_csv(folds_dir / paths.fold_file(scheme).name),
                                          params.novelty_neighbours, scheme) for scheme in paths.SCHEMES], ignore_index=True)
    stratified = novelty[novelty["scheme"] == paths.SCHEMES[0]]["novelty"]
    edges = novelty_bin_edges(novelty["novelty"])
    threshold = float(np.quantile(stratified[np.isfinite(stratified)], params.domain_quantile))
    novelty["novelty_bin"] = np.digitize(novelty["novelty"], edges) + 1
    novelty["in_domain"] = in_domain(novelty["novelty"], novelty["unseen_elements"], threshold)
    novelty = novelty[["battery_id", "scheme", "fold", "novelty", "novelty_bin", "unseen_elements", "in_domain"]]
    domain = Domain.fit(magpie.loc[electrodes["battery_id"]], electrodes["working_ion"], electrodes["composition"],
                        params.novelty_neighbours, threshold)
    metrics = {"domain.threshold": round(threshold, 6),
               **{f"domain.bin_edge_{number}": round(float(edge), 6) for number, edge in enumerate(edges, start=1)}}
    for scheme in paths.SCHEMES:
        of_scheme = novelty[novelty["scheme"] == scheme]
        metrics[f"domain.{scheme}.out_of_domain"] = round(float(1 - of_scheme["in_domain"].mean()), 6)
        metrics[f"domain.{scheme}.unseen_elements"] = round(float((of_scheme["unseen_elements"] != "").mean()), 6)
    write_table(novelty, out_dir / paths.NOVELTY.name)
    with atomic_path(out_dir / paths.DOMAIN.name) as temporary:
        joblib.dump(domain, temporary)
    write_json(metrics, out_dir / paths.DOMAIN_METRICS.name)
    write_json(timing_record(time.perf_counter() - start), out_dir / paths.TIMINGS)
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml domain", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--magpie", type=Path, default=paths.feature_table("magpie"),
                        help="Magpie features, the space of the novelty (default: %(default)s)")
    parser.add_argument("--folds", type=Path, default=paths.FOLDS, help="fold files (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.TRUST, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    metrics = run(load_section("trust", TrustParams, args.params), args.electrodes, args.magpie, args.folds, args.out)
    print(f"domain: in-domain novelty up to {metrics['domain.threshold']:.3g}; out of domain: "
          f"{metrics['domain.stratified5.out_of_domain']:.1%} of the stratified folds' electrodes, "
          f"{metrics['domain.loco.out_of_domain']:.1%} of LOCO's")
