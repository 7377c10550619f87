"""An exact, fast, platform-independent drop-in for matminer's `AtomicPackingEfficiency`.

matminer enumerates every neighbour shell of up to 24 atoms as tuples of pymatgen `Element`
objects and lets NumPy build object arrays from them; for a six-element system that is ~10^6
tuples and 35 s per element set, 97% of it in `Element.__getattr__`. We enumerate the same
shells as integer index tuples, in the same order, with the same float expressions, so the
efficient-cluster list and the simultaneous packing efficiencies are bit-for-bit matminer's.

The "dist from k clusters" features are where we part from matminer, on purpose: it finds the
nearest clusters with scikit-learn's `NearestNeighbors`, whose Euclidean distances come from the
BLAS expansion |a|^2 - 2ab + |b|^2. That carries rounding errors of about 1e-8, and their exact
value depends on the BLAS kernel, the CPU and the chunking, so two machines (or two runs of the
pipeline) could disagree in the last digits, and t-SNE amplifies such digits into other clusters.
We compute each distance directly, sqrt(sum((a - b)^2)) over the elements present, in a fixed
order: the exact distance to the last bit, the same on every machine.
"""
from __future__ import annotations

import itertools
from functools import cache

import numpy as np
from matminer.featurizers.composition import AtomicPackingEfficiency


class FastAtomicPackingEfficiency(AtomicPackingEfficiency):
    """matminer's `AtomicPackingEfficiency` with integer cluster enumeration and exact distances.

    The cluster table of an element set is cached without bound: the data set holds a few hundred
    distinct element sets, each table a few MB at most.
    """

    @cache  # noqa: B019 - the featurizer lives for one stage run
    def _create_cluster_lookup_tool(self, elements):
        """The efficient clusters of a sorted element tuple, as atom fractions per element
        (one column per element of `elements`), or None when there are none."""
        radii = self._data_source.get_elemental_properties(elements, "MiracleRadius")
        radii_array = np.array(radii)

        max_size = self.find_ideal_cluster_size(max(radii) / min(radii))[0]
        min_size = self.find_ideal_cluster_size(min(radii) / max(radii))[0]

        cluster_counts = []  # per efficient cluster: atoms of each element (centre included)
        for size in range(min_size, max_size + 1):
            ideal_ratio = self.get_ideal_radius_ratio(size)
            shells = np.array(
                list(itertools.combinations_with_replacement(range(len(elements)), size)),
                dtype=np.intp,
            )
            # Same array of radii as matminer's, so `mean` rounds identically.
            mean_radii = radii_array[shells].mean(axis=1)
            shell_counts = np.stack([(shells == i).sum(axis=1) for i in range(len(elements))], axis=1)
            for centre, center_radius in enumerate(radii):
                ape = 1 - np.divide(ideal_ratio, np.divide(center_radius, mean_radii))
                hits = shell_counts[np.abs(ape) < self.threshold].copy()
                hits[:, centre] += 1
                cluster_counts.append(hits)

        counts = np.concatenate(cluster_counts) if cluster_counts else np.empty((0, len(elements)))
        if len(counts) == 0:
            return None
        # Integer counts: the row sums and hence the fractions are exact.
        return np.ascontiguousarray(counts / counts.sum(axis=1)[:, None])

    def compute_nearest_cluster_distance(self, comp):
        """Mean distance to the k nearest efficient clusters, for each k of `n_nearest`.

        As matminer: the clusters are those of the `max_types` most abundant elements, and missing
        neighbours (fewer clusters than k) count as distance 1.
        """
        elements, _ = zip(*sorted(comp.element_composition.items(), key=lambda item: item[1], reverse=True))
        cluster_elements = tuple(sorted(set(elements[: self.max_types])))
        clusters = self._create_cluster_lookup_tool(cluster_elements)

        fractions = np.asarray(self._el_frac.featurize(comp), dtype=float)
        columns = [element.Z - 1 for element in cluster_elements]
        outside = np.delete(fractions, columns)
        # Elements beyond `max_types` are zero in every cluster: their squares add to every distance.
        outside_squared = float(np.sum(outside * outside))
        if clusters is None:
            distances = np.empty(0)
        else:
            differences = clusters - fractions[columns]
            distances = np.sort(np.sqrt(np.sum(differences * differences, axis=1) + outside_squared))

        means = []
        for k in self.n_nearest:
            nearest = distances[:k].tolist() + [1] * (k - min(len(distances), k))
            means.append(np.mean(nearest))
        return means
