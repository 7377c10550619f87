"""The retrospective discovery check: would a screen have found electrodes we already know?

Every known electrode of one working ion (`discovery.hidden_ion`) is hidden. From the rest,
candidates are generated (`screening.generation`), the rank model is trained for the objective's
two targets, its domain and interval calibration are rebuilt on the rest (`evaluation.novelty`,
`evaluation.conformal`), and the candidates are screened and ranked as the `screen` stage ranks.
A candidate re-creates a hidden electrode when its reduced composition and working ion are that
electrode's. A hit is a re-created electrode whose known objective (voltage x capacity from the
data) is at least the `discovery.hit_quantile` quantile of the visible electrodes': a known, good
electrode found again. Every other candidate counts as a miss: its true value is unknown, so
precision is a lower bound.

Scored as matbench-discovery scores a prospective screen (Riebesell et al. 2025): in the top k of
the ranking, precision = hits / k, recall = hits / all hits among the candidates, and the discovery
acceleration factor DAF = precision / prevalence (prevalence = hits / candidates): how many times
more hits the ranking puts in its top k than picking k candidates at random would.
"""
from __future__ import annotations

from dataclasses import field

import numpy as np
import pandas as pd

from electrode_ml.data.electrodes import WORKING_IONS
from electrode_ml.params import ParameterError, parameters


@parameters
class DiscoveryParams:
    hidden_ion: str = "Na"  # every known electrode of this working ion is hidden
    hit_quantile: float = 0.5  # a hit beats this quantile of the visible electrodes' objective
    top_k: list[int] = field(default_factory=lambda: [100, 1000])  # the ranking's top k scored

    def __post_init__(self):
        if self.hidden_ion not in WORKING_IONS:
            raise ParameterError(f"discovery.hidden_ion {self.hidden_ion!r} is not one of {', '.join(WORKING_IONS)}")
        if not 0 <= self.hit_quantile < 1:
            raise ParameterError(f"discovery.hit_quantile must lie in [0, 1), got {self.hit_quantile}")
        if not self.top_k or min(self.top_k) < 1:
            raise ParameterError(f"discovery.top_k must be a list of positive counts, got {self.top_k}")


def recreated(ranking: pd.DataFrame, hidden: pd.DataFrame, known_objective: pd.Series, threshold: float) -> pd.DataFrame:
    """The hidden electrodes that candidates re-create, each with its best-ranked candidate: the
    candidate's rank and ranking columns, the electrode's battery_id and known objective, and
    whether it is a hit (known objective >= `threshold`)."""
    electrodes = hidden[["battery_id", "composition", "working_ion"]].assign(
        known_objective=known_objective.loc[hidden.index].to_numpy())
    matches = ranking.merge(electrodes, on=["composition", "working_ion"])
    best = matches.sort_values(["rank", "battery_id"], kind="stable").drop_duplicates("battery_id")
    return best.assign(hit=best["known_objective"] >= threshold).reset_index(drop=True)


def discovery_scores(ranks_of_hits: np.ndarray, candidates: int, top_k: list[int]) -> pd.DataFrame:
    """Per k: hits in the top k, precision, recall and DAF (module docstring); `ranks_of_hits`:
    the rank (1 = best) of every hit among `candidates` ranked candidates."""
    hits = len(ranks_of_hits)
    prevalence = hits / candidates if candidates else 0.0
    rows = []
    for k in sorted(set(top_k)):
        found = int(np.sum(np.asarray(ranks_of_hits) <= k))
        precision = found / min(k, candidates) if candidates else 0.0
        rows.append({"k": k, "hits_in_top_k": found, "precision": precision,
                     "recall": found / hits if hits else 0.0,
                     "daf": precision / prevalence if prevalence else 0.0})
    return pd.DataFrame(rows)
