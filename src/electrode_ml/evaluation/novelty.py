"""Where an electrode lies among the training electrodes: its novelty and the elements never seen
with its working ion.

Novelty is the mean Euclidean distance from an electrode to its nearest training electrodes of the
same working ion, in the Magpie features standardized on the training electrodes.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd


def elements_of(formula: str) -> frozenset[str]:
    from electrode_ml.data.electrodes import parse_composition

    return frozenset(str(element) for element in parse_composition(formula))


@dataclass
class Domain:
    """The training electrodes as `predict` measures a new composition against them: their
    standardized features (and the scaler), ids, working ions and the elements seen with each ion.
    `threshold`: the novelty beyond which an electrode is out of the domain."""

    scaler: object  # sklearn StandardScaler, fitted on the training electrodes
    features: np.ndarray
    feature_names: list[str]
    battery_ids: np.ndarray
    ions: np.ndarray
    elements: dict[str, tuple[str, ...]]  # sorted, not a set: a set pickles in the order of this process' string hashes
    neighbours: int
    threshold: float = np.inf

    @classmethod
    def fit(cls, X: pd.DataFrame, ions: Iterable[str], compositions: Iterable[str], neighbours: int,
            threshold: float = np.inf) -> Domain:
        """`X`: the training electrodes' features, indexed by battery_id."""
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X.to_numpy(dtype=float))
        ions = np.asarray(list(ions))
        elements: dict[str, set[str]] = {}
        for formula, ion in zip(compositions, ions):
            elements.setdefault(ion, set()).update(elements_of(formula))
        return cls(scaler, scaler.transform(X.to_numpy(dtype=float)), list(X.columns), X.index.to_numpy(), ions,
                   {ion: tuple(sorted(seen)) for ion, seen in sorted(elements.items())}, neighbours, threshold)

    def distances(self, X: pd.DataFrame) -> np.ndarray:
        """From each row of `X` to every training electrode, in the standardized features."""
        from sklearn.metrics import pairwise_distances

        return pairwise_distances(self.scaler.transform(X[self.feature_names].to_numpy(dtype=float)), self.features)

    def novelty(self, X: pd.DataFrame, ions: Iterable[str], distances: np.ndarray | None = None) -> np.ndarray:
        """Mean distance to the nearest training electrodes of the same ion (inf for an ion never seen);
        `distances`: `self.distances(X)`, where the caller has them already."""
        ions = np.asarray(list(ions))
        distances = self.distances(X) if distances is None else distances
        scores = np.full(len(X), np.inf)
        for ion in np.unique(ions):
            same_ion = self.ions == ion
            if same_ion.any():
                nearest = np.sort(distances[np.ix_(ions == ion, same_ion)], axis=1)[:, :self.neighbours]
                scores[ions == ion] = nearest.mean(axis=1)
        return scores

    def unseen_elements(self, compositions: Iterable[str], ions: Iterable[str]) -> list[str]:
        """Per electrode, its elements never seen with its working ion in training ('' if none)."""
        return [" ".join(sorted(elements_of(formula) - set(self.elements.get(ion, ()))))
                for formula, ion in zip(compositions, ions)]

    def assess(self, X: pd.DataFrame, compositions: Iterable[str], ions: Iterable[str],
               distances: np.ndarray | None = None) -> pd.DataFrame:
        """novelty, unseen_elements and in_domain (novelty within the threshold, no unseen element)."""
        compositions, ions = list(compositions), list(ions)
        novelty = self.novelty(X, ions, distances)
        unseen = self.unseen_elements(compositions, ions)
        return pd.DataFrame({"novelty": novelty, "unseen_elements": unseen,
                             "in_domain": in_domain(novelty, unseen, self.threshold)})


def in_domain(novelty, unseen_elements, threshold: float) -> np.ndarray:
    """The rule: novelty within `threshold` and no element unseen with the working ion."""
    return (np.asarray(novelty) <= threshold) & (np.asarray(unseen_elements) == "")
