"""Maps and clusters of the MODNet feature space, and each cluster's ElMD mean representative.

The paper embeds the electrodes in 2-D with t-SNE (and UMAP) from their MODNet features, finds
14 DBSCAN clusters and names each by the member with the smallest mean Element Mover's Distance
to the rest of its cluster. These clusters are also the folds of leave-one-cluster-out CV.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

NOISE = -1


def scale_features(features: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """Standardized features, rounded to `decimals` places of a standard deviation, without
    columns that hold a NaN or a single value.

    Dropping rather than imputing: an imputed value would place a composition somewhere in the map
    that its chemistry does not put it. Rounding: t-SNE amplifies differences in the last bits
    (another BLAS, CPU or library build) into other clusters; a thousandth of a standard deviation
    is far below any chemical difference and far above such noise, so the maps see the same
    numbers wherever they run. A value can still change its rounding if it lies within the noise
    of a rounding boundary; `make bench` counts how often that happens under 1e-9 noise.
    """
    usable = features.loc[:, features.notna().all() & (features.nunique() > 1)]
    return ((usable - usable.mean()) / usable.std(ddof=0)).round(decimals)


def embed_tsne(scaled: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=1)
    return tsne.fit_transform(scaled)


def embed_umap(scaled: np.ndarray, n_neighbors: int, min_dist: float, seed: int) -> np.ndarray:
    import umap

    reducer = umap.UMAP(n_components=2, n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed)
    return reducer.fit_transform(scaled)


def dbscan_labels(coordinates: np.ndarray, eps: float, min_samples: int) -> np.ndarray:
    """DBSCAN labels, renumbered so that cluster 0 is the largest; noise stays -1."""
    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=eps, min_samples=min_samples).fit_predict(coordinates)
    clustered = labels[labels != NOISE]
    if clustered.size == 0:
        return labels
    # Largest first, ties broken by first appearance, so the numbering is stable.
    order = pd.Series(clustered).value_counts(sort=False)
    first = {label: index for index, label in reversed(list(enumerate(labels)))}
    ranking = sorted(order.index, key=lambda label: (-order[label], first[label]))
    renumber = {old: new for new, old in enumerate(ranking)}
    return np.array([renumber.get(label, NOISE) for label in labels])


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
