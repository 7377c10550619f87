"""Stage `cluster`: t-SNE and UMAP maps of the MODNet features, DBSCAN clusters, ElMD representatives.

Each distinct composition is one point (rows sharing a formula share their features). Outputs:
results/clusters/assignments.csv (per electrode), clusters.csv (per cluster), metrics.json,
results/folds/loco.csv (one fold per cluster, DBSCAN noise its own fold) and the maps in
paper/figures/maps/.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from electrode_ml import paths
from electrode_ml.clustering.clusters import cluster_table, loco_folds
from electrode_ml.clustering.embedding import NOISE, dbscan_labels, embed_tsne, embed_umap, scale_features
from electrode_ml.data.targets import TARGETS
from electrode_ml.files import write_json, write_table
from electrode_ml.params import DEFAULT_PARAMS, ParameterError, load_section, parameters
from electrode_ml.provenance import timing_record
from electrode_ml.reporting import maps
from electrode_ml.reporting.plotting import formula_label

SPACES = ("tsne", "umap")
LANDMARK = "LiFePO4"


@parameters
class ClusterParams:
    perplexity: float = 30.0
    tsne_seed: int = 42
    umap_neighbors: int = 15
    umap_min_dist: float = 0.1
    umap_seed: int = 42
    dbscan_space: str = "tsne"
    eps: float = 5.5
    min_samples: int = 10
    elmd_metric: str = "mod_petti"
    n_jobs: int = 2
    feature_decimals: int = 3  # standardized features rounded before the maps (clustering.scale_features)

    def __post_init__(self):
        if self.dbscan_space not in SPACES:
            raise ParameterError(f"cluster.dbscan_space must be one of {list(SPACES)}, got {self.dbscan_space!r}")
        if self.feature_decimals < 0:
            raise ParameterError(f"cluster.feature_decimals must be 0 or more, got {self.feature_decimals}")
        if self.eps <= 0 or self.min_samples < 1 or self.perplexity <= 0:
            raise ParameterError("cluster.eps and cluster.perplexity must be positive, cluster.min_samples at least 1")


def run(params: ClusterParams, electrodes_csv: Path, modnet_parquet: Path, out_dir: Path, folds_dir: Path,
        figures_dir: Path) -> dict:
    electrodes = pd.read_csv(electrodes_csv)
    features = pd.read_parquet(modnet_parquet).loc[electrodes["battery_id"]]
    unique = features.groupby(electrodes["composition"].to_numpy(), sort=True).first()
    scaled = scale_features(unique, params.feature_decimals).to_numpy()
    metrics = {"compositions": len(unique), "features_used": scaled.shape[1]}
    seconds = {}

    start = time.perf_counter()
    tsne = embed_tsne(scaled, params.perplexity, params.tsne_seed)
    seconds["tsne_seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    umap = embed_umap(scaled, params.umap_neighbors, params.umap_min_dist, params.umap_seed)
    seconds["umap_seconds"] = round(time.perf_counter() - start, 1)
    labels = dbscan_labels(tsne if params.dbscan_space == "tsne" else umap, params.eps, params.min_samples)

    per_composition = pd.DataFrame(
        {"tsne_x": tsne[:, 0], "tsne_y": tsne[:, 1], "umap_x": umap[:, 0], "umap_y": umap[:, 1], "cluster": labels},
        index=unique.index,
    )
    assignments = electrodes[["battery_id", "composition", "working_ion"]].join(
        per_composition, on="composition"
    )
    targets = electrodes[list(TARGETS)]

    start = time.perf_counter()
    clusters = cluster_table(assignments.join(targets), params.elmd_metric, params.n_jobs)
    seconds["representative_seconds"] = round(time.perf_counter() - start, 2)

    write_table(assignments, out_dir / paths.ASSIGNMENTS.name)
    write_table(clusters, out_dir / paths.CLUSTER_TABLE.name)
    write_table(loco_folds(assignments), folds_dir / paths.fold_file("loco").name)

    real = clusters[clusters["cluster"] != NOISE]
    metrics.update({
        "n_clusters": len(real),
        "noise_share": round(float((assignments["cluster"] == NOISE).mean()), 4),
        "largest_cluster": int(real["size"].max()) if len(real) else 0,
        "largest_cluster_compositions": int(real["unique_compositions"].max()) if len(real) else 0,
    })
    _draw_maps(assignments, clusters, targets, figures_dir)
    write_json(timing_record(sum(seconds.values()), **seconds), out_dir / paths.TIMINGS)
    write_json(metrics, out_dir / paths.CLUSTER_METRICS.name)  # last: its presence means the stage finished
    return {**metrics, **seconds}


def _draw_maps(assignments: pd.DataFrame, clusters: pd.DataFrame, targets: pd.DataFrame, figures_dir: Path) -> None:
    names = assignments["cluster"].map(lambda c: "noise" if c == NOISE else f"cluster {c}")
    representatives = clusters[clusters["cluster"] != NOISE].set_index("cluster")["representative"]
    for space, label in (("tsne", "t-SNE"), ("umap", "UMAP")):
        coordinates = assignments[[f"{space}_x", f"{space}_y"]].to_numpy()
        points = assignments.drop_duplicates("composition").set_index("composition")
        annotations = {
            f"{cluster}: {formula_label(formula)}": (points.at[formula, f"{space}_x"], points.at[formula, f"{space}_y"])
            for cluster, formula in representatives.items()
        }
        # LiFePO4, the cathode the paper discusses, ringed where the data set holds it.
        landmarks = ({formula_label(LANDMARK): (points.at[LANDMARK, f"{space}_x"], points.at[LANDMARK, f"{space}_y"])}
                     if LANDMARK in points.index else None)
        maps.categorical_map(coordinates, names, label, figures_dir / f"{space}_clusters", annotations,
                             noise_label="noise", order=[f"cluster {cluster}" for cluster in representatives.index],
                             landmarks=landmarks)
    tsne = assignments[["tsne_x", "tsne_y"]].to_numpy()
    maps.categorical_map(tsne, assignments["working_ion"], "t-SNE", figures_dir / "tsne_working_ion")
    maps.continuous_maps(tsne, targets, "t-SNE", figures_dir / "tsne_targets")
    maps.working_ion_distribution(assignments["working_ion"], figures_dir / "working_ion_distribution")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml cluster", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--features", type=Path, default=paths.feature_table("modnet"),
                        help="MODNet feature table (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.CLUSTERS, help="output folder (default: %(default)s)")
    parser.add_argument("--folds", type=Path, default=paths.FOLDS, help="where loco.csv goes (default: %(default)s)")
    parser.add_argument("--figures", type=Path, default=paths.MAPS, help="map figures (default: %(default)s)")
    args = parser.parse_args(argv)
    metrics = run(load_section("cluster", ClusterParams, args.params), args.electrodes, args.features, args.out,
                  args.folds, args.figures)
    print(f"cluster: {metrics['n_clusters']} clusters, noise {metrics['noise_share']:.1%}, "
          f"largest {metrics['largest_cluster']} electrodes; representatives in {metrics['representative_seconds']} s")
