"""What tests/test_numerics.py runs under two numerical environments: the CPU-sensitive steps of the
pipeline at a small size, each result written as raw bytes.

Usage: python tests/numerics_workload.py RAW_CSV OUT_DIR [--unpinned]
It pins the numerical environment first, as `electrode-ml` does, unless --unpinned (today's
libraries left to choose their kernels: the case the pin exists for).
"""
import sys
from pathlib import Path

if __name__ == "__main__":
    raw_csv, out = Path(sys.argv[1]), Path(sys.argv[2])
    if "--unpinned" not in sys.argv:
        from electrode_ml.numerics import pin_numerical_environment

        pin_numerical_environment()

    import warnings

    warnings.filterwarnings("ignore")
    import numpy as np

    from electrode_ml.clustering.embedding import embed_umap, scale_features
    from electrode_ml.data.electrodes import load_raw, prepare_electrodes
    from electrode_ml.data.targets import TARGET_KEYS
    from electrode_ml.features.representations import ModnetFeatures, featurize_unique
    from electrode_ml.models.registry import make_model

    out.mkdir(parents=True, exist_ok=True)
    electrodes = prepare_electrodes(load_raw(raw_csv).sample(160, random_state=3)).electrodes
    features = featurize_unique(ModnetFeatures(), electrodes, progress=False)
    (out / "modnet_features.bin").write_bytes(features.to_numpy().tobytes())

    X = electrodes[["composition", "working_ion", "group"]].set_index(electrodes["battery_id"])
    X = X.join(features.add_prefix("modnet|"))
    y = electrodes.set_index("battery_id")[TARGET_KEYS["voltage"]]
    modnet = make_model("modnet", n_feat=16, epochs=5, random_state=3).fit(X, y)
    (out / "modnet_predictions.bin").write_bytes(np.asarray(modnet.predict(X)).tobytes())
    crabnet = make_model("crabnet", epochs=2, epochs_step=1, d_model=32, N=1, dim_feedforward=64,
                         out_hidden=(32, 16), batch_size=32, device="cpu", random_state=3).fit(X, y)
    (out / "crabnet_predictions.bin").write_bytes(np.asarray(crabnet.predict(X)).tobytes())

    unique = features.groupby(electrodes["composition"].to_numpy()).first()
    umap = embed_umap(scale_features(unique, 3).to_numpy(), n_neighbors=10, min_dist=0.1, seed=3)
    (out / "umap.bin").write_bytes(np.asarray(umap).tobytes())
