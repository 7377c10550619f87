"""The discovery benchmark: would the screen have found electrodes we know, better than chance?

Each working ion with at least `discovery.min_electrodes` electrodes is hidden in turn: every
electrode of that ion is removed from everything the screen learns from (the rank model's
training, its interval calibration, its domain and the hit threshold), which see the visible
electrodes only. Two tests, scored as matbench-discovery scores a screen (Riebesell et al. 2025):
regression errors, and "hit" as a classification with precision, recall, F1 and the discovery
acceleration factor DAF = precision in the top k / prevalence (how many times more hits the top of
a ranking holds than k picked at random):

- labelled: every hidden electrode predicted by the visible-only model. A hit is an electrode whose
  known objective (voltage x capacity) is at least the `hit_quantile` quantile of the visible
  electrodes'; predicted a hit when its predicted objective is (inside the screen's physical window).
- generation: the candidates of the hidden ion that the candidates stage's rules make from the
  visible electrodes (all of them: no cap here). A candidate is a hit when it re-creates a hidden
  electrode (the same reduced composition and ion) that is a hit, counted once per candidate.
  Every other candidate counts as a miss, though its truth is unknown: precision is a lower bound.

Each ranking is scored in its top `top_share` (k = that share of the set, at least 1): the model's
objective on its point value, lower and upper bound; and baselines on the same set: random order,
the control (the visible mean: one value for all, so random order again), and, for candidates,
the parent's known objective. Every score has a bootstrap 95% interval (`repeats` resamples of the
set, the same resamples for every ranking, so that a difference between two rankings has its own
interval); equal scores at the cut count with their expected hits (`ranking_scores`).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from electrode_ml.data.electrodes import WORKING_IONS
from electrode_ml.params import ParameterError, parameters

TESTS = ("labelled", "generation")
RANKINGS = {"point": "the model's predicted objective", "lower": "its interval's lower bound",
            "upper": "its interval's upper bound", "control": "the control (the visible mean)",
            "random": "random order", "parent": "the parent's known objective (candidates only)"}
SCORES = ("precision", "recall", "f1", "daf")


@parameters
class DiscoveryParams:
    min_electrodes: int = 50  # a working ion is hidden in turn when it has at least this many electrodes
    hit_quantile: float = 0.5  # a hit: an objective at least this quantile of the visible electrodes'
    top_share: float = 0.1  # DAF, precision and recall in this top share of a ranking
    calibration_folds: int = 3  # the visible electrodes' folds whose out-of-fold residuals calibrate the intervals
    calibrate_across_ions: bool = True  # those folds hold whole working ions: residuals of ions a fold model never saw
    repeats: int = 1000  # bootstrap resamples of each interval
    seed: int = 42  # of the folds and the resamples

    def __post_init__(self):
        if self.min_electrodes < 2:
            raise ParameterError(f"discovery.min_electrodes must be at least 2, got {self.min_electrodes}")
        if not 0 <= self.hit_quantile < 1:
            raise ParameterError(f"discovery.hit_quantile must lie in [0, 1), got {self.hit_quantile}")
        if not 0 < self.top_share <= 1:
            raise ParameterError(f"discovery.top_share must lie in (0, 1], got {self.top_share}")
        if self.calibration_folds < 2 or self.repeats < 10:
            raise ParameterError(f"discovery.calibration_folds must be at least 2 and discovery.repeats at least 10, "
                                 f"got {self.calibration_folds} and {self.repeats}")


def profile_models(profile: dict, rank_model: str, where: str) -> list[str]:
    """The models the benchmark rebuilds per hidden ion, from a profile's block (`where` names it):
    its `discovery.models`, by default the rank model alone; every one a model with a block of that
    profile, the rank model (whose ranking the verdict reads) among them."""
    from electrode_ml.models.registry import MODELS

    models = (profile.get("discovery") or {}).get("models") or [rank_model]
    if not isinstance(models, list) or not all(isinstance(model, str) for model in models):
        raise ParameterError(f"{where}.discovery.models must be a list of model names, got {models!r}")
    unknown = [model for model in models if model not in MODELS or model not in profile]
    if unknown:
        raise ParameterError(f"{where}.discovery.models: {unknown} not among the profile's models "
                             f"({', '.join(model for model in MODELS if model in profile)})")
    if rank_model not in models:
        raise ParameterError(f"{where}.discovery.models = {models} must include screen.rank_model ({rank_model}), "
                             "whose ranking the verdict reads")
    return list(dict.fromkeys(models))


def qualifying_ions(ions: pd.Series, minimum: int) -> list[str]:
    """The working ions with at least `minimum` electrodes, in `WORKING_IONS` order."""
    counts = ions.value_counts()
    return [ion for ion in WORKING_IONS if counts.get(ion, 0) >= minimum]


def hidden_split(electrodes: pd.DataFrame, ion: str) -> tuple[pd.Index, pd.Index]:
    """(visible, hidden) row labels of `electrodes`: every electrode of `ion` hidden."""
    hidden = electrodes["working_ion"] == ion
    return electrodes.index[~hidden], electrodes.index[hidden]


def hit_threshold(visible_objective: pd.Series, quantile: float) -> float:
    """The objective a hit reaches: the `quantile` of the visible electrodes' known objective."""
    return float(np.quantile(visible_objective.to_numpy(dtype=float), quantile))


def top_count(size: int, share: float) -> int:
    return max(1, math.ceil(share * size)) if size else 0


def ranking_scores(scores: np.ndarray, hits: np.ndarray, predicted_hits: np.ndarray | None, share: float) -> dict[str, float]:
    """Precision, recall and DAF in the top `share` of the ranking by `scores` (best first), and F1
    of `predicted_hits` (NaN without them). Where the top k ends inside a group of equal scores,
    the group counts with its expected hits under a random order of its members: a constant score
    (the control) is random order exactly, DAF 1."""
    size, total = len(hits), int(hits.sum())
    k = top_count(size, share)
    scores = np.nan_to_num(np.asarray(scores, dtype=float), nan=-np.inf)
    found = 0.0
    if k:
        cut = np.sort(scores)[::-1][k - 1]
        above, tied = scores > cut, scores == cut
        found = hits[above].sum() + (k - above.sum()) * hits[tied].sum() / tied.sum()
    precision = found / k if k else 0.0
    prevalence = total / size if size else 0.0
    result = {"precision": precision, "recall": found / total if total else 0.0,
              "daf": precision / prevalence if prevalence else math.nan, "f1": math.nan}
    if predicted_hits is not None:
        true_positive = int((predicted_hits & hits).sum())
        predicted = int(predicted_hits.sum())
        result["f1"] = 2 * true_positive / (predicted + total) if predicted + total else 0.0
    return result


def scored_rankings(rankings: dict[str, tuple[np.ndarray, np.ndarray | None]], hits: np.ndarray, share: float,
                    repeats: int, seed: int) -> pd.DataFrame:
    """Every ranking (name -> (scores, predicted hits or None)) scored on the whole set and on
    `repeats` bootstrap resamples of it (the same resamples for all): one row per ranking with
    each of `SCORES`, its 2.5% and 97.5% bootstrap quantiles (`<score>_low`, `<score>_high`), and
    for every ranking but `random` its DAF's difference from random's and from the parent's
    (`daf_minus_<baseline>` with its interval), the resamples paired."""
    rng = np.random.default_rng(seed)
    size = len(hits)
    # `random` scores the whole set as all ties (its expectation: DAF 1) and each resample as a
    # fresh random order, so that its interval is what picking at random spreads over.
    names = list(rankings)
    whole = {name: ranking_scores(np.zeros(size) if name == "random" else rankings[name][0], hits, rankings[name][1],
                                  share) for name in names}
    draws = {name: {score: [] for score in SCORES} for name in names}
    for _ in range(repeats):
        rows = rng.integers(0, size, size)
        for name in names:
            scores, predicted = rankings[name]
            scores = rng.random(size) if name == "random" else scores[rows]
            one = ranking_scores(scores, hits[rows], None if predicted is None else predicted[rows], share)
            for score in SCORES:
                draws[name][score].append(one[score])
    table = []
    for name in names:
        row = {"ranking": name, **whole[name]}
        for score in SCORES:
            values = np.asarray(draws[name][score], dtype=float)
            finite = values[np.isfinite(values)]
            row[f"{score}_low"], row[f"{score}_high"] = (np.quantile(finite, [0.025, 0.975]) if len(finite)
                                                          else (math.nan, math.nan))
        for baseline in ("random", "parent"):
            if baseline in draws and name != baseline:
                difference = np.asarray(draws[name]["daf"]) - np.asarray(draws[baseline]["daf"])
                difference = difference[np.isfinite(difference)]
                row[f"daf_minus_{baseline}"] = whole[name]["daf"] - whole[baseline]["daf"]
                row[f"daf_minus_{baseline}_low"], row[f"daf_minus_{baseline}_high"] = (
                    np.quantile(difference, [0.025, 0.975]) if len(difference) else (math.nan, math.nan))
        table.append(row)
    return pd.DataFrame(table)


def candidate_hits(candidates: pd.DataFrame, hidden: pd.DataFrame, known_objective: pd.Series,
                   threshold: float) -> pd.DataFrame:
    """`candidates` with, per candidate (counted once whatever the number of hidden electrodes it
    re-creates): `recreates` (the battery_ids of the hidden electrodes of its reduced composition
    and ion, space-separated, "" for none), `known_objective` (their best, NaN for none) and `hit`
    (that best at least `threshold`). `hidden` needs its reduced `composition`."""
    electrodes = hidden[["battery_id", "composition", "working_ion"]].assign(
        known_objective=known_objective.loc[hidden.index].to_numpy())
    grouped = electrodes.sort_values("battery_id").groupby(["composition", "working_ion"]).agg(
        recreates=("battery_id", " ".join), known_objective=("known_objective", "max")).reset_index()
    marked = candidates.merge(grouped, on=["composition", "working_ion"], how="left")
    marked["recreates"] = marked["recreates"].fillna("")
    return marked.assign(hit=(marked["known_objective"] >= threshold).to_numpy())


def verdict(table: pd.DataFrame, rank_on: str, model: str) -> str:
    """One sentence per test from `table` (the scores of every hidden ion): in how many ions the
    ranking on `rank_on` beats random order and the parent's objective, the paired DAF difference's
    interval excluding 0."""
    sentences = []
    for test in TESTS:
        rows = table[(table["test"] == test) & (table["ranking"] == rank_on)]
        if rows.empty:
            continue
        beats_random = rows[rows["daf_minus_random_low"] > 0]["ion"].tolist()
        worse_random = rows[rows["daf_minus_random_high"] < 0]["ion"].tolist()
        sentence = (f"{test.capitalize()} test: {model} ranked on {RANKINGS[rank_on].replace('the model', 'its')} "
                    f"beats random order in {len(beats_random)} of {len(rows)} hidden ions"
                    + (f" ({', '.join(beats_random)})" if beats_random else "")
                    + " (the paired DAF difference's 95% interval above 0)"
                    + (f" and loses to it in {', '.join(worse_random)} (below 0)" if worse_random else ""))
        if "daf_minus_parent_low" in rows and rows["daf_minus_parent_low"].notna().any():
            beats_parent = rows[rows["daf_minus_parent_low"] > 0]["ion"].tolist()
            worse_parent = rows[rows["daf_minus_parent_high"] < 0]["ion"].tolist()
            sentence += (f"; it beats the parent's known objective in {len(beats_parent)}"
                         + (f" ({', '.join(beats_parent)})" if beats_parent else "")
                         + (f" and loses to it in {len(worse_parent)} ({', '.join(worse_parent)})" if worse_parent else ""))
        sentences.append(sentence + ".")
    return " ".join(sentences)
