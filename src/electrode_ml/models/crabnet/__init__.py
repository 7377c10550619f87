"""CrabNet (Wang et al.) on the composition strings, crabnet 2.0.8, CUDA when available.

This module imports only torch, pandas, numpy and scikit-learn (and crabnet): it runs on the GPU
machine, which has no TensorFlow, modnet or matminer.
"""
from __future__ import annotations

import contextlib
import math
import os
import tempfile
import warnings
from collections import OrderedDict

import numpy as np
import pandas as pd
from crabnet.utils.optim import SWA
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from electrode_ml.models.registry import FittedInputs
from electrode_ml.params import ParameterError

DEVICES = ("auto", "cpu", "cuda")
TRAINERS = ("crabnet", "batched")
GROUP_STEP_RATIO = 0.8


def resolve_device(device: str) -> str:
    import torch

    if device not in DEVICES:
        raise ParameterError(f"CrabNetRegressor.device must be one of {DEVICES}, got {device!r}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("CrabNetRegressor.device is 'cuda' but torch sees no CUDA device")
    return device


class HookableSWA(SWA):
    """crabnet's SWA optimizer, made to run under torch 2 for every fit in a process, not just the first.

    crabnet's `SWA` subclasses `torch.optim.Optimizer` without calling its `__init__`. Its first
    `zero_grad` makes torch wrap `SWA.step` (class-wide) in a profiling hook that reads the
    instance's `_optimizer_step_pre_hooks` / `_optimizer_step_post_hooks`, which SWA never
    creates: the second CrabNet fit in a process dies with AttributeError. This subclass creates
    them. It lives at module level so that a fitted model can be pickled.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()


@contextlib.contextmanager
def torch2_compatible_swa():
    """Hand crabnet `HookableSWA` instead of its own `SWA` for the duration of the call."""
    import crabnet.crabnet_ as crabnet_module

    original = crabnet_module.SWA
    crabnet_module.SWA = HookableSWA
    try:
        yield
    finally:
        crabnet_module.SWA = original


@contextlib.contextmanager
def quiet_crabnet():
    """crabnet prints its progress and torch warns about pinned memory on every batch loader."""
    with contextlib.redirect_stdout(None), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pin_memory.*")
        warnings.filterwarnings("ignore", message=".*enable_nested_tensor.*")
        yield


@contextlib.contextmanager
def scratch_directory():
    """crabnet writes figures/lc_data/*.csv into the working directory: give it a throwaway one."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="crabnet-") as scratch:
        os.chdir(scratch)
        try:
            yield
        finally:
            os.chdir(previous)


class CrabNetRegressor(RegressorMixin, BaseEstimator):
    """crabnet's `CrabNet` with its defaults (300 epochs, d_model 512, 3 layers, 4 heads), behind fit/predict.

    `epochs=None` and `batch_size=None` mean crabnet's own defaults (300 epochs; batch size from
    the data size). crabnet rounds epochs up to a multiple of 2 x `epochs_step` (default 10, so
    20), starts weight averaging after 2 x `epochs_step` epochs, and holds out `val_size` of the
    training rows to choose the averaged weights. `out_hidden` is the residual head's widths:
    crabnet 2.0.8's `CrabNet.fit` ignores its own `out_hidden` (its head is always 1024-512-256-128),
    so both trainers hand it a `SubCrab` built with these widths (`batched.build_network`).

    `trainer` picks the training loop: "crabnet" is `CrabNet.fit` itself, one model at a time;
    "batched" is `electrode_ml.models.crabnet.batched`, the same network, optimizer chain, schedule,
    loss, scaling and internal split, with every model that `fit_many` is handed trained together
    on the device (random streams differ from crabnet's, so results agree statistically, not bit
    for bit). A batched model holds CPU tensors and predicts on the device `device` resolves to then.
    `matmul_precision` ("highest" or "high": TF32 on CUDA) applies to the batched trainer only.
    """

    def __init__(self, epochs: int | None = None, epochs_step: int = 10, batch_size: int | None = None,
                 d_model: int = 512, N: int = 3,
                 heads: int = 4, dim_feedforward: int = 2048, out_hidden=(1024, 512, 256, 128), lr: float = 1e-3,
                 val_size: float = 0.2, device: str = "auto", trainer: str = "crabnet",
                 matmul_precision: str = "highest", random_state: int = 1):
        self.epochs = epochs
        self.epochs_step = epochs_step
        self.batch_size = batch_size
        self.d_model = d_model
        self.N = N
        self.heads = heads
        self.dim_feedforward = dim_feedforward
        self.out_hidden = out_hidden
        self.lr = lr
        self.val_size = val_size
        self.device = device
        self.trainer = trainer
        self.matmul_precision = matmul_precision
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y):
        if self._check_trainer() == "batched":
            (self.network_,) = self._train_batched(X, y, [np.arange(len(X))])
            self.device_, self.epochs_run_ = resolve_device(self.device), self.network_.epochs_run
            return self
        from crabnet.crabnet_ import CrabNet

        from electrode_ml.models.crabnet.batched import build_network

        self.device_ = resolve_device(self.device)
        train = pd.DataFrame({"formula": X["composition"].to_numpy(), "target": np.asarray(y, dtype=float)})
        with scratch_directory(), torch2_compatible_swa(), quiet_crabnet():
            # CrabNet seeds torch and numpy in its constructor: built here, inside fit.
            self.model_ = CrabNet(
                mat_prop="target", epochs=self.epochs, epochs_step=self.epochs_step, batch_size=self.batch_size, d_model=self.d_model, N=self.N,
                heads=self.heads, dim_feedforward=self.dim_feedforward, out_hidden=list(self.out_hidden), lr=self.lr,
                val_size=self.val_size, compute_device=self.device_, random_state=self.random_state, verbose=False,
                losscurve=False, learningcurve=False, save=False,
            )
            # Built right after the constructor's seeding, as `CrabNet.fit` would build it: the same
            # initial weights as crabnet's own network where the head is crabnet's.
            self.model_.model = build_network(self._settings(), device=self.device_)
            self.model_.fit(train)
        self.epochs_run_ = self.model_.epoch + 1
        return self

    @property
    def trains_together(self) -> bool:
        """Whether `cross_validate` and `bootstrap_curve` should hand a cell's fits to `fit_many`."""
        return self._check_trainer() == "batched"

    def fit_many(self, X: pd.DataFrame, y, train_indices: list) -> list[CrabNetRegressor]:
        """One fitted clone per entry of `train_indices` (row positions into X, repeats allowed):
        with the batched trainer, trained together, one group per batch size; with crabnet's, one by one."""
        if self._check_trainer() == "crabnet":
            return [clone(self).fit(X.iloc[rows], y.iloc[rows]) for rows in train_indices]
        fitted = []
        for network in self._train_batched(X, y, train_indices):
            model = clone(self)
            model.network_, model.device_, model.epochs_run_ = network, resolve_device(self.device), network.epochs_run
            fitted.append(model)
        return fitted

    def _train_batched(self, X: pd.DataFrame, y, train_indices: list) -> list:
        from electrode_ml.models.crabnet.batched import train_crabnets

        device, settings = resolve_device(self.device), self._settings()
        compositions, targets = X["composition"].to_numpy(), np.asarray(y, dtype=float)
        train_indices = [np.asarray(rows) for rows in train_indices]
        networks = [None] * len(train_indices)
        for members in self._training_groups([len(rows) for rows in train_indices]):
            trained = train_crabnets(compositions, targets, [train_indices[m] for m in members], settings, device,
                                     self.random_state)
            for member, network in zip(members, trained):
                networks[member] = network
        return networks

    def _settings(self):
        """The hyperparameters as the batched trainer and `FittedCrabNet` read them."""
        from electrode_ml.models.crabnet.batched import CrabNetSettings

        return CrabNetSettings(epochs=self.epochs, epochs_step=self.epochs_step, batch_size=self.batch_size,
                               d_model=self.d_model, N=self.N, heads=self.heads, dim_feedforward=self.dim_feedforward,
                               out_hidden=tuple(int(width) for width in self.out_hidden), val_size=self.val_size, matmul_precision=self.matmul_precision)

    def _training_groups(self, sizes: list[int]) -> list[list[int]]:
        """Which training sets train together: one batch size, and batches per epoch within
        `GROUP_STEP_RATIO` of the group's longest, since a shorter set sits out the extra steps
        while its share of every step is still computed. The folds of a cv cell make one group
        per batch size; the draws of a bootstrap cell one group per fraction."""
        from crabnet.crabnet_ import CrabNet

        fit_sizes = [n - math.ceil(self.val_size * n) for n in sizes]  # train_test_split rounds the held-out part up
        batch_sizes = [CrabNet._default_batch_size(None, self.batch_size, n) for n in fit_sizes]
        steps = [math.ceil(n / batch) for n, batch in zip(fit_sizes, batch_sizes)]
        groups: list[list[int]] = []
        for position in sorted(range(len(sizes)), key=lambda p: (batch_sizes[p], -steps[p])):
            group = groups[-1] if groups else None
            if (group and batch_sizes[group[0]] == batch_sizes[position]
                    and steps[position] >= GROUP_STEP_RATIO * steps[group[0]]):
                group.append(position)
            else:
                groups.append([position])
        return groups

    def _check_trainer(self) -> str:
        if self.trainer not in TRAINERS:
            raise ParameterError(f"CrabNetRegressor.trainer must be one of {TRAINERS}, got {self.trainer!r}")
        return self.trainer

    def fitted_inputs(self) -> FittedInputs:
        """What the fitted model reads per electrode (the report's input-size table): a sequence of
        elements (each a 200-wide mat2vec vector and its fraction), as long as the training formula
        with the most elements."""
        check_is_fitted(self, ("network_", "model_"), all_or_any=any)
        n_elements = self.network_.n_elements if hasattr(self, "network_") else self.model_.n_elements
        return FittedInputs("element sequence: mat2vec (200 per element) and fraction", offered=int(n_elements),
                            used=int(n_elements), unit="elements")

    def __getstate__(self):
        """crabnet's fitted `CrabNet` is saved as its network's weights (`FittedCrabNet`): a pickled
        torch tensor carries its memory address, so the same model would pickle to other bytes in
        every process; and the optimizer and data loaders it also holds are not needed to predict."""
        state = dict(super().__getstate__())  # a copy: for this class it is the live __dict__
        if "model_" in state:
            from electrode_ml.models.crabnet.batched import FittedCrabNet

            crabnet = state.pop("model_")
            state["network_"] = FittedCrabNet.from_tensors(self._settings(), crabnet.model.state_dict(),
                                                           crabnet.scaler.mean,
                                                           crabnet.scaler.std, crabnet.n_elements, self.epochs_run_)
        return state

    def predict(self, X: pd.DataFrame):
        check_is_fitted(self, ("network_", "model_"), all_or_any=any)
        if hasattr(self, "network_"):
            return self.network_.predict(X["composition"].to_numpy(), resolve_device(self.device))
        # The row number rides along as the "target" so we can check crabnet kept the order.
        frame = pd.DataFrame({"formula": X["composition"].to_numpy(), "target": np.arange(len(X), dtype=float)})
        with scratch_directory(), quiet_crabnet():
            predictions, order = self.model_.predict(frame, return_true=True)
        if not np.array_equal(order, np.arange(len(X))):
            raise RuntimeError("crabnet returned predictions in another order than its input")
        return np.asarray(predictions, dtype=float)
