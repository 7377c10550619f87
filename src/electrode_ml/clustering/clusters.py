"""What a DBSCAN cluster holds: its ElMD mean representative, its summary row, its fold of
leave-one-cluster-out CV.

The paper names each cluster by the member with the smallest mean Element Mover's Distance to the
rest of its cluster; the clusters are also the folds of leave-one-cluster-out CV.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from tqdm import tqdm

from electrode_ml.clustering.embedding import NOISE
from electrode_ml.data.electrodes import counts_most_first
from electrode_ml.data.targets import TARGETS


def elmd_distances(formulas: list[str], metric: str = "mod_petti", n_jobs: int = 1) -> np.ndarray:
    """The exact pairwise Element Mover's Distance matrix of `formulas`, as `ElMD` defines it.

    For the 1-D Pettifor scale (`mod_petti`) ElMD's distance is the L1 distance between the
    cumulative composition vectors along the scale, so the whole matrix is one `cdist` call
    (2,000 formulas: under a second). Other metrics go through ElMD's network simplex pair by pair.
    """
    from ElMD import ElMD

    compositions = [ElMD(formula, metric=metric) for formula in formulas]
    if metric in ("mod_petti", "fast"):
        cumulative = np.cumsum(np.array([composition.feature_vector for composition in compositions]), axis=1)
        return cdist(cumulative, cumulative, metric="cityblock")

    from joblib import Parallel, delayed

    def row(i: int) -> np.ndarray:
        return np.array([compositions[i].elmd(compositions[j]) if j > i else 0.0 for j in range(len(compositions))])

    upper = np.array(Parallel(n_jobs=n_jobs)(delayed(row)(i) for i in range(len(compositions))))
    return upper + upper.T


def mean_representative(formulas: list[str], metric: str = "mod_petti", n_jobs: int = 1) -> tuple[str, float]:
    """The formula with the smallest mean ElMD to the other formulas, and that mean.

    Ties (to 1e-12) go to the alphabetically first formula, so the choice is reproducible.
    """
    unique = sorted(set(formulas))
    if len(unique) == 1:
        return unique[0], 0.0
    distances = elmd_distances(unique, metric, n_jobs)
    means = distances.sum(axis=1) / (len(unique) - 1)
    best = np.flatnonzero(means <= means.min() + 1e-12)[0]
    return unique[best], float(means[best])


def cluster_table(assignments: pd.DataFrame, metric: str, n_jobs: int) -> pd.DataFrame:
    """Per cluster: size, dominant ions with shares, ElMD mean representative, target mean and spread."""
    rows = []
    for cluster, members in tqdm(assignments.groupby("cluster"), desc="ElMD representatives", unit="cluster"):
        ions = counts_most_first(members["working_ion"].value_counts(normalize=True))
        representative, mean_distance = (
            mean_representative(list(members["composition"]), metric, n_jobs) if cluster != NOISE else ("", np.nan)
        )
        row = {
            "cluster": cluster,
            "size": len(members),
            "unique_compositions": members["composition"].nunique(),
            "dominant_ions": "; ".join(f"{ion} {share:.2f}" for ion, share in ions.head(3).items()),
            "representative": representative,
            "representative_mean_elmd": mean_distance,
        }
        for target in TARGETS:
            row[f"{target}_mean"] = members[target].mean()
            row[f"{target}_std"] = members[target].std()
        rows.append(row)
    return pd.DataFrame(rows)


def loco_folds(assignments: pd.DataFrame) -> pd.DataFrame:
    """One fold per cluster; DBSCAN noise, if any, is one more fold after the last cluster."""
    n_clusters = int(assignments["cluster"].max()) + 1
    fold = assignments["cluster"].where(assignments["cluster"] != NOISE, n_clusters)
    return pd.DataFrame({"battery_id": assignments["battery_id"], "fold": fold.astype(int)})
