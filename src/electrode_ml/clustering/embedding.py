"""Maps and clusters of the MODNet feature space.

The paper embeds the electrodes in 2-D with t-SNE (and UMAP) from their MODNet features and finds
14 DBSCAN clusters in the t-SNE map; what each cluster holds is `clustering.clusters`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

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
