"""CrabNet's residual head: the widths `out_hidden` names are the widths the fitted network has,
in both trainers and after a round trip through pickling; the paper profile is crabnet's defaults."""
import inspect
import pickle

import numpy as np
import pandas as pd
import pytest
from crabnet import kingcrab
from crabnet.crabnet_ import CrabNet

from electrode_ml.models.crabnet import batched
from electrode_ml.models.registry import make_model
from electrode_ml.params import DEFAULT_PARAMS, profile_block

TARGET = "capacity_grav_mAh_g"
HEAD = (24, 12)
D_MODEL = 32


@pytest.fixture(scope="module")
def electrodes(real_raw) -> pd.DataFrame:
    from electrode_ml.data.electrodes import prepare_electrodes

    return prepare_electrodes(real_raw.sample(120, random_state=5)).electrodes


def _head_shapes(state: dict) -> list[tuple]:
    """The hidden layers' weight shapes of crabnet's ResidualNetwork, in order."""
    names = sorted((name for name in state if name.startswith("output_nn.fcs.") and name.endswith(".weight")),
                   key=lambda name: int(name.split(".")[2]))
    return [tuple(state[name].shape) for name in names]


@pytest.mark.parametrize("trainer", ["crabnet", "batched"])
def test_out_hidden_reaches_the_fitted_network(trainer, electrodes):
    model = make_model("crabnet", trainer=trainer, epochs=2, epochs_step=1, d_model=D_MODEL, N=1, dim_feedforward=32,
                       out_hidden=HEAD, batch_size=64, device="cpu", random_state=3)
    model.fit(electrodes[["composition"]], electrodes[TARGET])
    restored = pickle.loads(pickle.dumps(model))  # the crabnet trainer's model is saved as its network's weights
    assert _head_shapes(restored.network_.state) == [(HEAD[0], D_MODEL), (HEAD[1], HEAD[0])]
    np.testing.assert_allclose(restored.predict(electrodes[["composition"]]), model.predict(electrodes[["composition"]]),
                               rtol=1e-6)


def test_crabnets_own_head_when_out_hidden_is_its_default(electrodes):
    """Built by us with crabnet's default head, the network is the one `CrabNet.fit` builds itself:
    the same initial weights for the same seed."""
    settings = batched.CrabNetSettings(d_model=D_MODEL, N=1, dim_feedforward=32)
    CrabNet(mat_prop="target", random_state=3, verbose=False)
    ours = batched.build_network(settings).state_dict()
    CrabNet(mat_prop="target", random_state=3, verbose=False)
    theirs = kingcrab.SubCrab(compute_device="cpu", out_dims=3, d_model=D_MODEL, N=1, dim_feedforward=32).state_dict()
    assert ours.keys() == theirs.keys()
    assert all(ours[name].equal(theirs[name]) for name in ours)


def test_paper_profile_builds_crabnets_defaults():
    model = make_model("crabnet", **profile_block("paper", "crabnet", DEFAULT_PARAMS))
    settings = model._settings()
    defaults = {name: parameter.default for name, parameter in inspect.signature(CrabNet.__init__).parameters.items()}
    for name in ("d_model", "N", "heads", "dim_feedforward", "epochs_step", "batch_size", "val_size"):
        assert getattr(settings, name) == defaults[name], name
    assert settings.epochs is None  # crabnet's 300
    assert list(settings.out_hidden) == defaults["out_hidden"] == [1024, 512, 256, 128]
    assert _head_shapes(batched.build_network(settings).state_dict()) == [(1024, 512), (512, 1024), (256, 512), (128, 256)]
