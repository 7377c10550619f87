"""CrabNet's training loop for K models at once: one step advances every model of a cell.

crabnet 2.0.8 trains one model per process, batch by batch through a DataLoader, with host-side
work per batch; on a GPU that loop, not the GPU, sets the pace. Here the compositions of every
training set sit on the device once, the K networks' weights are stacked, and `torch.func.vmap`
runs crabnet's own network (`SubCrab`, mat2vec embeddings) for all K in one forward and backward.

What is crabnet's, reused or mirrored step for step (crabnet_.py `CrabNet.fit` / `_train`):
- the network as `CrabNet.fit` builds it, after `torch.manual_seed(random_state)`: the same
  initial weights. Two forward methods are swapped for ones with the same arithmetic that vmap
  can batch (crabnet assigns through boolean masks, which vmap refuses); the weights are crabnet's;
- the internal split (`train_test_split(test_size=val_size)` after `np.random.seed(random_state)`:
  the same rows), target scaling (`Scaler` on the training part), the default batch size, epoch
  rounding and cycle length (`CrabNet._default_batch_size`, `_get_epochs_checkin_stepsize`);
- the loss (`RobustL1`), the fraction jitter (`_add_jitter`, normal, `fudge`), the optimizer chain
  Lamb -> Lookahead -> SWA with crabnet's constants and update rules (trust ratio per weight
  tensor, Lookahead's slow weights set at its first sync, SWA's reset/average rule on the
  validation MAE, early stop after 3 epochs without a new minimum, the averaged weights kept),
  and the learning rate from torch's `CyclicLR` set up as crabnet sets it up;
- crabnet's dropout schedule: its first loss-curve check calls `predict`, which puts the network
  in eval mode and nothing puts it back, so dropout acts in the first epoch only.

What differs: the random streams. Batch order and jitter come from one generator per model (so a
model's training does not depend on which others share its group), dropout (first epoch) from
the global generator, one mask shared by the group's models (vmap's randomness="same", which is
what keeps K models together equal to the same models one by one). A partial last batch is
padded and masked; a model with fewer batches per epoch than the group's largest sits out the
extra steps (its weights, optimizer state and schedule untouched).

Imports only torch, numpy, pandas, scikit-learn and crabnet: it runs on the GPU machine.
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from crabnet import kingcrab
from crabnet.crabnet_ import CrabNet
from crabnet.utils.utils import Scaler, get_edm
from sklearn.model_selection import train_test_split
from torch.func import functional_call, vmap
from torch.optim.lr_scheduler import CyclicLR

CRABNET_DEFAULTS = {name: parameter.default for name, parameter in inspect.signature(CrabNet.__init__).parameters.items()
                    if name != "self"}
# Set inside CrabNet.fit, not constructor arguments.
DISCARD_LIMIT = 3  # self.discard_n: epochs of SWA checks without a new minimum before stopping
SWA_START = 2      # self.swa_start: SWA checks begin after swa_start * epochs_step epochs
PREDICT_CHUNK = 4096  # rows per forward pass when predicting (memory only; results do not depend on it)


@dataclass(frozen=True)
class CrabNetSettings:
    """The CrabNet hyperparameters the trainer reads; the rest are crabnet's defaults.

    `out_hidden` is the residual head's widths. crabnet 2.0.8's `CrabNet.fit` never hands its own
    `out_hidden` to the `SubCrab` it builds (the head is always 1024-512-256-128 there), so both
    trainers build the `SubCrab` themselves, with these widths (`build_network`).
    `lr` is not here: `CyclicLR` overwrites the optimizer's learning rate before the first step.
    """

    epochs: int | None = None
    epochs_step: int = 10
    batch_size: int | None = None
    d_model: int = 512
    N: int = 3
    heads: int = 4
    dim_feedforward: int = 2048
    out_hidden: tuple[int, ...] = tuple(CRABNET_DEFAULTS["out_hidden"])
    val_size: float = 0.2
    # torch.set_float32_matmul_precision while training: "highest" is float32 as crabnet's loop
    # runs; "high" lets CUDA matrix units use TF32 (about 8x the float32 rate on an H100/H200).
    matmul_precision: str = "highest"


class _BatchableFractionalEncoder(kingcrab.FractionalEncoder):
    """`FractionalEncoder.forward` with its boolean-mask assignments as `torch.where`."""

    def forward(self, x):
        if self.log10:
            x = 0.0025 * torch.log2(x) ** 2
            x = torch.where(x > 1, 1.0, x)
        x = torch.where(x < 1 / self.resolution, 1 / self.resolution, x)
        frac_idx = torch.round(x * self.resolution).to(dtype=torch.long) - 1
        return self.pe[frac_idx]


class _BatchableEncoder(kingcrab.Encoder):
    """`Encoder.forward` (attention and fractional weighting on, no extended features, as SubCrab
    builds it) with `mask[mask != 0] = 1` as `torch.where`."""

    def forward(self, src, frac, extra_features=None):
        x = self.embed(src) * self.emb_scaler
        pe = torch.zeros_like(x)
        ple = torch.zeros_like(x)
        pe[:, :, : self.d_model // 2] = self.prevalence_encoder(frac) * self.pos_scaler
        ple[:, :, self.d_model // 2:] = self.prevalence_log_encoder(frac) * self.pos_scaler_log
        mask = frac.unsqueeze(dim=-1)
        mask = torch.matmul(mask, mask.transpose(-2, -1))
        mask = torch.where(mask != 0, 1.0, mask)
        src_mask = mask[:, 0] != 1
        x = self.transformer_encoder((x + pe + ple).transpose(0, 1), src_key_padding_mask=src_mask).transpose(0, 1)
        x = x * frac.unsqueeze(2).repeat(1, 1, self.d_model)
        hmask = mask[:, :, 0:1].repeat(1, 1, self.d_model)
        return x.masked_fill(hmask == 0, 0)


def build_network(settings: CrabNetSettings, batchable: bool = False, device="cpu") -> kingcrab.SubCrab:
    """The network `CrabNet.fit` builds (the same arguments, so the same weights for the same torch
    seed), with `settings.out_hidden` as its head, on `device`."""
    network = kingcrab.SubCrab(
        compute_device=torch.device(device), out_hidden=list(settings.out_hidden), out_dims=CRABNET_DEFAULTS["out_dims"], d_model=settings.d_model,
        d_extend=0, N=settings.N, heads=settings.heads, pe_resolution=CRABNET_DEFAULTS["pe_resolution"],
        ple_resolution=CRABNET_DEFAULTS["ple_resolution"], emb_scaler=CRABNET_DEFAULTS["emb_scaler"],
        pos_scaler=CRABNET_DEFAULTS["pos_scaler"], pos_scaler_log=CRABNET_DEFAULTS["pos_scaler_log"],
        dim_feedforward=settings.dim_feedforward, dropout=CRABNET_DEFAULTS["dropout"],
    ).to(device)
    if batchable:
        network.encoder.__class__ = _BatchableEncoder
        for encoder in (network.encoder.prevalence_encoder, network.encoder.prevalence_log_encoder):
            encoder.__class__ = _BatchableFractionalEncoder
    return network


def element_matrix(formulas, n_elements="infer") -> tuple[np.ndarray, np.ndarray]:
    """crabnet's element descriptor matrix (`get_edm`): atomic numbers and fractions, largest share first."""
    frame = pd.DataFrame({"formula": np.asarray(formulas, dtype=object), "target": 0.0})
    edm, _, _ = get_edm(frame, n_elements=n_elements, inference=True, verbose=False)
    width = edm.shape[1] // 2
    return edm[:, :width, 0].astype(np.int64), edm[:, width:, 0].astype(np.float32)


@dataclass
class FittedCrabNet:
    """One trained network as numpy arrays, so it loads anywhere (no GPU needed) and pickles to the
    same bytes in every process (a pickled torch tensor carries its memory address); predicts like
    `CrabNet.predict`."""

    settings: CrabNetSettings
    state: dict  # the network's state_dict, numpy arrays
    target_mean: np.ndarray  # crabnet's Scaler, 0-d, its dtype kept
    target_std: np.ndarray
    n_elements: int  # crabnet truncates formulas to the most elements seen in its training rows
    epochs_run: int

    @classmethod
    def from_tensors(cls, settings: CrabNetSettings, state: dict, target_mean: torch.Tensor,
                     target_std: torch.Tensor, n_elements: int, epochs_run: int) -> FittedCrabNet:
        return cls(settings=settings, state={name: tensor.detach().cpu().numpy() for name, tensor in state.items()},
                   target_mean=target_mean.detach().cpu().numpy(), target_std=target_std.detach().cpu().numpy(),
                   n_elements=int(n_elements), epochs_run=int(epochs_run))

    def predict(self, formulas, device: str) -> np.ndarray:
        # Building the network draws initial weights: keep that off the caller's random stream.
        with torch.random.fork_rng(devices=[]):
            network = build_network(self.settings)
        network.load_state_dict({name: torch.from_numpy(array) for name, array in self.state.items()})
        network.to(device).eval()
        mean, std = torch.as_tensor(self.target_mean, device=device), torch.as_tensor(self.target_std, device=device)
        src, frac = element_matrix(formulas, self.n_elements)
        outputs = []
        with torch.no_grad():
            for start in range(0, len(src), PREDICT_CHUNK):
                chunk = slice(start, start + PREDICT_CHUNK)
                output = network(torch.as_tensor(src[chunk], device=device), torch.as_tensor(frac[chunk], device=device))
                outputs.append((output[:, 0] * std + mean).cpu())
        return torch.cat(outputs).numpy().astype(float)


class _StackedWeights:
    """The trainable tensors of K networks in one (K, P) tensor; each network's tensors are views of its row."""

    def __init__(self, network: kingcrab.SubCrab, k: int, device):
        trainable = [(name, p) for name, p in network.named_parameters() if p.requires_grad]
        self.names = [name for name, _ in trainable]
        self.shapes = [p.shape for _, p in trainable]
        sizes = [p.numel() for _, p in trainable]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        row = torch.cat([p.detach().reshape(-1) for _, p in trainable])
        self.flat = row.to(device).repeat(k, 1)
        # How many columns each weight tensor has, for Lamb's per-tensor norms and trust ratios.
        self.tensor_sizes = torch.tensor(sizes, device=device)
        self.shared = {name: p.detach().to(device) for name, p in network.named_parameters() if not p.requires_grad}
        self.shared.update({name: b.to(device) for name, b in network.named_buffers()})

    def as_parameters(self, flat: torch.Tensor) -> dict:
        k = flat.shape[0]
        return {name: flat[:, start:stop].view(k, *shape)
                for name, shape, start, stop in zip(self.names, self.shapes, self.offsets[:-1], self.offsets[1:])}

    def leaves(self) -> dict:
        """Each weight tensor of the K networks as a leaf sharing `flat`'s storage, for one step.

        Differentiating through slices of `flat` instead would have the backward pass build a
        zero-filled (K, P) tensor for every weight tensor and add them up: dozens of passes over
        all weights per step, more memory traffic than the networks' own arithmetic.
        """
        return {name: view.detach().requires_grad_() for name, view in self.as_parameters(self.flat).items()}

    def gradient(self, loss: torch.Tensor, leaves: dict, out: torch.Tensor) -> torch.Tensor:
        """`out` (K, P) filled with the gradient of `loss` with respect to `leaves`, laid out as `flat`."""
        gradients = torch.autograd.grad(loss, list(leaves.values()))
        for destination, gradient in zip(self.as_parameters(out).values(), gradients):
            destination.copy_(gradient)
        return out

    def per_tensor_norm(self, values: torch.Tensor) -> torch.Tensor:
        """(K, T): the 2-norm of each weight tensor of each network (Lamb's `.pow(2).sum().sqrt()`).

        A segmented reduction, not index_add_: its atomic adds on CUDA would make runs differ.
        """
        lengths = self.tensor_sizes.expand(values.shape[0], len(self.tensor_sizes)).contiguous()
        return torch.segment_reduce(values.pow(2), "sum", lengths=lengths, axis=1).sqrt()

    def per_column(self, per_tensor: torch.Tensor) -> torch.Tensor:
        """(K, T) -> (K, P): each weight tensor's value repeated over its columns (no host sync)."""
        return torch.repeat_interleave(per_tensor, self.tensor_sizes, dim=1, output_size=self.flat.shape[1])

    def state_dict_of(self, values: torch.Tensor, k: int, template: dict) -> dict:
        state = {name: tensor.detach().cpu().clone() for name, tensor in template.items()}
        for name, tensor in self.as_parameters(values[k:k + 1]).items():
            state[name] = tensor[0].detach().cpu().clone()
        return state


def _learning_rates(steps_per_epoch: int, epochs: int, epochs_step: int) -> np.ndarray:
    """The learning rate of every step, from torch's `CyclicLR` configured as `CrabNet.fit` configures it."""
    probe = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([probe], lr=CRABNET_DEFAULTS["lr"])
    schedule = CyclicLR(optimizer, base_lr=CRABNET_DEFAULTS["base_lr"], max_lr=CRABNET_DEFAULTS["max_lr"],
                        cycle_momentum=False, step_size_up=epochs_step * steps_per_epoch)
    rates = np.empty(steps_per_epoch * epochs)
    for step in range(len(rates)):
        rates[step] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        schedule.step()
    return rates


def train_crabnets(formulas, targets, train_sets: list[np.ndarray], settings: CrabNetSettings, device: str,
                   random_state: int) -> list[FittedCrabNet]:
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(settings.matmul_precision)
    try:
        return _train_together(formulas, targets, train_sets, settings, device, random_state)
    finally:
        torch.set_float32_matmul_precision(previous)


def _train_together(formulas, targets, train_sets: list[np.ndarray], settings: CrabNetSettings, device: str,
                    random_state: int) -> list[FittedCrabNet]:
    """Train one CrabNet per entry of `train_sets` (positions into `formulas`/`targets`) together.

    Every model sees the data exactly as `CrabNet(random_state=random_state).fit` on its rows would
    (split, scaling, initial weights); see the module docstring for what is shared and what is not.
    All training sets must resolve to the same batch size (`CrabNetRegressor.fit_many` groups them).
    """
    if CRABNET_DEFAULTS["weight_decay"] != 0 or CRABNET_DEFAULTS["adam"] or CRABNET_DEFAULTS["min_trust"]:
        raise NotImplementedError("the batched trainer implements Lamb with crabnet's defaults only")
    formulas, targets = np.asarray(formulas, dtype=object), np.asarray(targets, dtype=np.float32)
    n_models = len(train_sets)
    # The whole table once on the device; its element width is that of all rows, so a model's
    # inputs (and the shape of every random draw) do not depend on the other models of its group.
    src_all, frac_all = element_matrix(formulas)
    element_counts = (frac_all > 0).sum(axis=1)
    SRC = torch.as_tensor(src_all, device=device)
    FRAC = torch.as_tensor(frac_all, device=device)
    Y = torch.as_tensor(targets, device=device)
    width = SRC.shape[1]

    fit_rows, val_rows, means, stds, counts = [], [], [], [], []
    for positions in train_sets:
        fit_part, val_part = train_test_split(np.asarray(positions), test_size=settings.val_size, random_state=random_state)
        scaler = Scaler(torch.as_tensor(targets[fit_part]))
        fit_rows.append(fit_part)
        val_rows.append(val_part)
        means.append(scaler.mean)
        stds.append(scaler.std)
        counts.append(len(fit_part))
    batch_sizes = {CrabNet._default_batch_size(None, settings.batch_size, n) for n in counts}
    if len(batch_sizes) != 1:
        raise ValueError(f"training sets of one group must share a batch size, got {sorted(batch_sizes)}")
    batch = batch_sizes.pop()
    steps_per_epoch = np.array([math.ceil(n / batch) for n in counts])
    most_steps = int(steps_per_epoch.max())
    epochs = CrabNet._get_epochs_checkin_stepsize(
        SimpleNamespace(train_loader=range(most_steps), epochs_step=settings.epochs_step, verbose=False),
        settings.epochs, None)[0]
    learning_rates = {n: _learning_rates(n, epochs, settings.epochs_step) for n in set(steps_per_epoch.tolist())}
    mean = torch.stack(means).to(device)
    std = torch.stack(stds).to(device)

    torch.manual_seed(random_state)  # as CrabNet's constructor: the initial weights, then dropout
    network = build_network(settings, batchable=True)
    template = network.state_dict()
    weights = _StackedWeights(network, n_models, device)
    network.to(device)

    def forward(parameters: dict, src, frac):
        return vmap(lambda p, s, f: functional_call(network, {**p, **weights.shared}, (s, f)),
                    randomness="same")(parameters, src, frac)

    # Validation rows, padded to the longest set with a mask.
    longest = max(len(v) for v in val_rows)
    val_index = torch.zeros(n_models, longest, dtype=torch.long, device=device)
    val_mask = torch.zeros(n_models, longest, device=device)
    for k, rows in enumerate(val_rows):
        val_index[k, :len(rows)] = torch.as_tensor(rows, device=device)
        val_mask[k, :len(rows)] = 1

    def validation_mae(flat):
        predictions = []
        with torch.no_grad():
            for start in range(0, longest, PREDICT_CHUNK):
                rows = val_index[:, start:start + PREDICT_CHUNK]
                predictions.append(forward(weights.as_parameters(flat), SRC[rows], FRAC[rows])[..., 0])
        predicted = torch.cat(predictions, dim=1) * std[:, None] + mean[:, None]
        return ((predicted - Y[val_index]).abs() * val_mask).sum(1) / val_mask.sum(1)

    generators = [torch.Generator(device=device).manual_seed(random_state) for _ in range(n_models)]
    beta1, beta2 = CRABNET_DEFAULTS["betas"]
    eps, fudge, alpha, lookahead_k = (CRABNET_DEFAULTS[name] for name in ("eps", "fudge", "alpha", "k"))
    exp_avg = torch.zeros_like(weights.flat)
    exp_avg_sq = torch.zeros_like(weights.flat)
    slow = torch.zeros_like(weights.flat)
    swa = torch.zeros_like(weights.flat)
    gradient_buffer = torch.empty_like(weights.flat)
    row_sets: dict = {}

    def on_device(chosen: np.ndarray):
        """The models chosen, as row positions on the device (None: all of them); one copy per distinct set."""
        if chosen.all():
            return None
        key = chosen.tobytes()
        if key not in row_sets:
            row_sets[key] = torch.as_tensor(np.flatnonzero(chosen), device=device)
        return row_sets[key]

    def update_rows(rows, state: tuple, update, *inputs) -> None:
        """`update(*state, *inputs)` in place on the given rows (all rows when `rows` is None)."""
        if rows is None:
            update(*state, *inputs)
            return
        chosen = [tensor.index_select(0, rows) for tensor in state]
        update(*chosen, *(tensor.index_select(0, rows) for tensor in inputs))
        for tensor, rows_updated in zip(state, chosen):
            tensor.index_copy_(0, rows, rows_updated)

    def lamb(flat, exp_avg, exp_avg_sq, gradient, rate):
        # crabnet's Lamb without debiasing, in its own in-place operations: the Adam direction,
        # scaled per weight tensor by the trust ratio.
        exp_avg.mul_(beta1).add_(gradient, alpha=1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(gradient, gradient, value=1 - beta2)
        adam_step = exp_avg / exp_avg_sq.sqrt().add_(eps)
        weight_norm = weights.per_tensor_norm(flat).clamp(0, 10)
        adam_norm = weights.per_tensor_norm(adam_step)
        trust = torch.where((weight_norm == 0) | (adam_norm == 0), 1.0, weight_norm / adam_norm)
        flat.addcmul_(weights.per_column(rate[:, None] * trust), adam_step, value=-1)

    def take_slow_copy(slow_rows, flat_rows):
        slow_rows.copy_(flat_rows)

    def move_back_to_slow(slow_rows, flat_rows):
        slow_rows.add_(flat_rows - slow_rows, alpha=alpha)
        flat_rows.copy_(slow_rows)

    lookahead_steps = np.zeros(n_models, dtype=int)
    steps_taken = np.zeros(n_models, dtype=int)
    swa_count = np.zeros(n_models, dtype=int)
    minimum_mae = np.full(n_models, 1e9)
    maximum_mae = np.full(n_models, 1e9)
    discards = np.zeros(n_models, dtype=int)
    stopped = np.zeros(n_models, dtype=bool)
    epochs_run = np.zeros(n_models, dtype=int)

    for epoch in range(epochs):
        network.train(epoch == 0)
        swa_epoch = (epoch + 1) % (2 * settings.epochs_step) == 0 and epoch >= settings.epochs_step * SWA_START - 1
        # This epoch's batches: each model's rows in its own shuffled order, padded with its first row.
        order = torch.zeros(n_models, most_steps * batch, dtype=torch.long, device=device)
        row_mask = torch.zeros(n_models, most_steps * batch, device=device)
        noise = torch.zeros(n_models, most_steps * batch, width, device=device)
        for k, rows in enumerate(fit_rows):
            rows = torch.as_tensor(rows, device=device)
            shuffled = rows[torch.randperm(len(rows), generator=generators[k], device=device)]
            order[k] = shuffled[0]
            order[k, :len(rows)] = shuffled
            row_mask[k, :len(rows)] = 1
            noise[k, :steps_per_epoch[k] * batch] = torch.randn(steps_per_epoch[k] * batch, width,
                                                                generator=generators[k], device=device)
        active_steps = (np.arange(most_steps)[:, None] < steps_per_epoch[None, :]) & ~stopped[None, :]
        # Every step's learning rate per model, sent to the device once per epoch: a model's active
        # steps are the first of the epoch, so its schedule position is known in advance.
        epoch_rates = torch.as_tensor(np.array(
            [[learning_rates[steps_per_epoch[k]][steps_taken[k] + step] if active_steps[step, k] else 0.0
              for k in range(n_models)] for step in range(most_steps)]), dtype=weights.flat.dtype, device=device)
        found_minimum = np.zeros(n_models, dtype=bool)
        for step in range(most_steps):
            active = active_steps[step]
            if not active.any():
                break
            batch_slice = slice(step * batch, (step + 1) * batch)
            rows, mask = order[:, batch_slice], row_mask[:, batch_slice]
            src = SRC[rows]
            frac = FRAC[rows] * (1 + noise[:, batch_slice] * fudge)  # crabnet's _add_jitter, normal
            frac = torch.clamp(frac, 0, 1)
            frac = torch.where(src == 0, 0.0, frac)
            frac = frac / frac.sum(dim=-1, keepdim=True)
            target = (Y[rows] - mean[:, None]) / std[:, None]
            leaves = weights.leaves()
            output = forward(leaves, src, frac)
            prediction, log_std = output[..., 0], output[..., 1]
            # crabnet's RobustL1, its mean taken over each model's real rows.
            loss = (math.sqrt(2.0) * torch.abs(prediction - target) * torch.exp(-log_std) + log_std) * mask
            # A model sitting out this step has no rows: its loss is 0, not 0/0.
            gradient = weights.gradient((loss.sum(1) / mask.sum(1).clamp(min=1)).sum(), leaves, out=gradient_buffer)

            with torch.no_grad():
                # Only the rows of the models taking this step; all rows in place when all take it.
                update_rows(on_device(active), (weights.flat, exp_avg, exp_avg_sq), lamb, gradient, epoch_rates[step])
                # Lookahead: every k-th step of a model, its weights move half-way back to the slow
                # copy, which is taken from the weights at the first such step.
                lookahead_steps += active
                sync = active & (lookahead_steps % lookahead_k == 0)
                first = sync & (lookahead_steps == lookahead_k)
                if first.any():
                    update_rows(on_device(first), (slow, weights.flat), take_slow_copy)
                if sync.any():
                    update_rows(on_device(sync), (slow, weights.flat), move_back_to_slow)
            steps_taken += active

            if swa_epoch:
                maes = validation_mae(weights.flat).cpu().numpy()
                reset, first_rate, second_rate = np.zeros(n_models, bool), np.zeros(n_models), np.zeros(n_models)
                for k in np.flatnonzero(active):  # SWA.update_swa, model by model
                    if maes[k] < 0.98 * maximum_mae[k]:
                        reset[k], first_rate[k], swa_count[k] = True, 1.0, 1
                        maximum_mae[k] = maes[k]
                    minimum_mae[k] = min(minimum_mae[k], maes[k])
                    if maes[k] <= 1.01 * minimum_mae[k]:
                        second_rate[k] = (1 / (swa_count[k] + 1)) ** (1 / 3)
                        swa_count[k] += 1
                        found_minimum[k] = True
                with torch.no_grad():
                    swa.copy_(torch.where(torch.as_tensor(reset, device=device)[:, None], 0.0, swa))
                    for rate in (first_rate, second_rate):
                        swa.add_((weights.flat - swa) * torch.as_tensor(rate, dtype=swa.dtype, device=device)[:, None])
        ran = ~stopped
        epochs_run[ran] = epoch + 1
        if swa_epoch:
            discards[ran & ~found_minimum] += 1
            stopped |= discards >= DISCARD_LIMIT
        if stopped.all():
            break

    # Every model ends on its averaged weights (crabnet's swap_swa_sgd, at an early stop or the last epoch).
    return [FittedCrabNet.from_tensors(settings, weights.state_dict_of(swa, k, template), means[k], stds[k],
                                       n_elements=element_counts[fit_rows[k]].max(), epochs_run=epochs_run[k])
            for k in range(n_models)]
