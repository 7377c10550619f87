import numpy as np
import pandas as pd
import pytest
from ElMD import ElMD

from electrode_ml.clustering.clusters import elmd_distances, loco_folds, mean_representative
from electrode_ml.clustering.embedding import NOISE, dbscan_labels, embed_tsne, scale_features


def test_medoid_of_pure_elements_is_the_middle_one_on_the_pettifor_scale():
    # For single elements ElMD is the distance along the modified Pettifor scale, so the member
    # with the smallest mean distance is the median position.
    scale = ElMD("Li").petti_lookup
    elements = ["Li", "Na", "K", "Rb", "Cs"]
    by_position = sorted(elements, key=scale.get)
    formula, mean_distance = mean_representative(elements)
    assert formula == by_position[2]
    positions = np.array([scale[e] for e in elements])
    assert mean_distance == pytest.approx(np.abs(positions - scale[formula]).sum() / 4)


def test_representative_ignores_duplicates_and_hand_checked_set():
    # LiFePO4 sits between LiMnPO4 and LiCoPO4 (Fe between Mn and Co): it must be the medoid.
    formulas = ["LiMnPO4", "LiFePO4", "LiCoPO4", "LiFePO4", "LiFePO4"]
    assert mean_representative(formulas)[0] == "LiFePO4"
    assert mean_representative(["LiCoO2"]) == ("LiCoO2", 0.0)


def test_vectorised_distances_equal_elmd(raw_sample):
    formulas = list(raw_sample["Formula Discharge"].drop_duplicates()[:25])
    ours = elmd_distances(formulas)
    theirs = np.array([[ElMD(a).elmd(ElMD(b)) for b in formulas] for a in formulas])
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    other_metric = elmd_distances(formulas[:6], metric="magpie")
    expected = np.array([[ElMD(a, metric="magpie").elmd(ElMD(b, metric="magpie")) for b in formulas[:6]] for a in formulas[:6]])
    np.testing.assert_allclose(other_metric, expected, rtol=0, atol=1e-9)


def test_dbscan_noise_and_numbering():
    rng = np.random.default_rng(0)
    small = rng.normal(0, 0.1, size=(20, 2))
    large = rng.normal(10, 0.1, size=(40, 2))
    lonely = np.array([[50.0, 50.0]])
    labels = dbscan_labels(np.vstack([small, large, lonely]), eps=1.0, min_samples=5)
    assert set(labels[:20]) == {1} and set(labels[20:60]) == {0}  # the largest cluster is 0
    assert labels[60] == NOISE

    assignments = pd.DataFrame({"battery_id": [f"b{i}" for i in range(61)], "cluster": labels})
    folds = loco_folds(assignments)
    assert folds["battery_id"].is_unique and len(folds) == 61  # every row exactly once
    assert folds.loc[60, "fold"] == 2  # noise: its own fold after the clusters
    assert folds["fold"].nunique() == 3


def test_scaling_drops_nan_and_constant_columns():
    features = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, np.nan, 2.0], "c": [5.0, 5.0, 5.0]})
    scaled = scale_features(features, decimals=3)
    assert list(scaled.columns) == ["a"]
    assert scaled["a"].mean() == pytest.approx(0) and scaled["a"].std(ddof=0) == pytest.approx(1, abs=1e-3)
    assert list(scaled["a"]) == [-1.225, 0.0, 1.225]  # (x - 2) / sqrt(2/3), to 3 decimals


@pytest.mark.slow  # featurizes and maps the 150-row sample twice
def test_last_bit_noise_in_the_features_leaves_the_clusters_unchanged(raw_sample):
    """Issue 'reproducible clusters': features perturbed by up to 1e-9 of their value (what another
    BLAS or CPU does to the last digits) give the same scaled input, map and DBSCAN labels. The
    full-data version of this check is in `make bench` (cluster_stability)."""
    from electrode_ml.data.electrodes import prepare_electrodes
    from electrode_ml.features.representations import ModnetFeatures

    formulas = sorted(prepare_electrodes(raw_sample).electrodes["composition"].unique())
    features = ModnetFeatures().featurize(formulas, progress=False)
    noise = np.random.default_rng(0).uniform(-1e-9, 1e-9, size=features.shape)
    scaled, perturbed = scale_features(features, 3), scale_features(features * (1 + noise), 3)
    assert (scaled.to_numpy() == perturbed.to_numpy()).all()
    labels = [dbscan_labels(embed_tsne(table.to_numpy(), 15, seed=42), 4.0, 5) for table in (scaled, perturbed)]
    np.testing.assert_array_equal(labels[0], labels[1])
    assert labels[0].max() >= 1  # at least two clusters: the labels carry information


def test_same_seed_same_map_and_clusters():
    rng = np.random.default_rng(1)
    points = np.vstack([rng.normal(0, 1, (60, 8)), rng.normal(6, 1, (60, 8))])
    first, second = embed_tsne(points, 20, seed=7), embed_tsne(points, 20, seed=7)
    np.testing.assert_array_equal(first, second)
    # The map keeps the two blobs apart: DBSCAN finds them, each whole.
    labels = dbscan_labels(first, 5, 5)
    assert len(set(labels[:60])) == len(set(labels[60:])) == 1 and labels[0] != labels[60]


def test_dominant_ions_tie_by_symbol_whatever_the_row_order():
    """Equal shares are listed by symbol (the rule of `counts_most_first`), not in the order of a
    sort kernel: the same table on every CPU and for every order of the rows."""
    from electrode_ml.clustering.clusters import cluster_table
    from electrode_ml.data.targets import TARGETS

    ions = ["Zn", "Zn", "Li", "Li", "Ca", "Ca", "Mg", "Na", "Na", "Na"]
    members = pd.DataFrame({"cluster": 0, "composition": "LiFePO4", "working_ion": ions,
                            **{target: 1.0 for target in TARGETS}})
    for seed in range(5):
        table = cluster_table(members.sample(frac=1, random_state=seed), "mod_petti", 1)
        assert table.loc[0, "dominant_ions"] == "Na 0.30; Ca 0.20; Li 0.20"
