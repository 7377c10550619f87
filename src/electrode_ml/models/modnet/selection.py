"""MODNet's relevance-redundancy ranking (`modnet.preprocessing.get_features_dyn`) on numpy arrays.

modnet 0.4.5 scores every remaining feature against every selected one row by row through pandas
(`score.loc[i, :] = ...`), a third of a quick-profile fit (docs/performance.md "Where the fits run"). This is
the same greedy loop with the same element-wise arithmetic (`x ** p`, `+ c`, a division, then the
row minimum and the first maximum, NaN skipped as pandas skips it), one array expression per step,
so it picks the same features in the same order; `tests/test_modnet_selection.py` compares the two
on real features, on generated matrices with ties, zeros and infinities, and by a fit's saved bytes.
"""
from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd


def ranked_features(n_feat: int, cross_nmi: pd.DataFrame, target_nmi: pd.Series) -> list:
    """`get_features_dyn(n_feat, cross_nmi, target_nmi)`: the features in the order modnet's
    relevance-redundancy selection takes them (`n_feat=-1`: all of them)."""
    from modnet.preprocessing import get_rr_c_parameter_default, get_rr_p_parameter_default

    missing = [x for x in cross_nmi.index if x not in target_nmi.index]
    cross_nmi = cross_nmi.drop(missing, axis=0).drop(missing, axis=1)
    target_nmi = target_nmi.drop([x for x in target_nmi.index if x not in cross_nmi.index], axis=0)
    target_nmi = target_nmi.replace([np.inf, -np.inf, np.nan], 0)

    names = list(cross_nmi.index)
    cross = cross_nmi.loc[:, names].to_numpy(dtype=float)
    relevance = target_nmi.loc[names].to_numpy(dtype=float)
    first_feature = target_nmi.nlargest(1).index[0]
    selected = [names.index(first_feature)]
    remaining = np.ones(len(names), dtype=bool)
    remaining[selected[0]] = False

    n_feat = len(names) if n_feat == -1 else min(len(names), n_feat)
    for n in range(n_feat - 1):
        p, c = get_rr_p_parameter_default(n), get_rr_c_parameter_default(n)
        rows = np.flatnonzero(remaining)
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = relevance[rows, None] / (cross[np.ix_(rows, selected)] ** p + c)
        missing = np.isnan(scores)
        row_minimum = np.where(missing, np.inf, scores).min(axis=1)
        row_minimum[missing.all(axis=1)] = np.nan
        if np.isnan(row_minimum).all():
            raise ValueError(f"MODNet's feature ranking: every remaining feature scores NaN after {n + 1} features")
        best = rows[int(np.argmax(np.where(np.isnan(row_minimum), -np.inf, row_minimum)))]
        selected.append(int(best))
        remaining[best] = False
    # The very name objects modnet returns (the first from the target's index, the rest from the
    # cross NMI's): a pickle refers back to a string it has written, so a fitted model's bytes
    # depend on which of its name lists share string objects.
    return [first_feature] + [names[i] for i in selected[1:]]


@contextlib.contextmanager
def vectorized_ranking():
    """Hand `MODData.feature_selection` `ranked_features` instead of modnet's own loop for the
    duration of the call (modnet looks the function up in its module at every call)."""
    import modnet.preprocessing as preprocessing

    original = preprocessing.get_features_dyn
    preprocessing.get_features_dyn = ranked_features
    try:
        yield
    finally:
        preprocessing.get_features_dyn = original
