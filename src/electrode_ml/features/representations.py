"""Magpie (for the random forest) and MODNet's composition-only matminer set (for MODNet and the maps)."""
from __future__ import annotations

import functools
import logging
import math
import signal
import threading
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from tqdm import tqdm

from electrode_ml.compute import ComputeParams, map_in_workers
from electrode_ml.data.electrodes import parse_composition
from electrode_ml.errors import ElectrodeMLError


class FeaturizationError(ElectrodeMLError):
    """A featurizer failed on a formula (for matminer's featurizers: for another reason than an
    element without data, which gives NaN; `features.magpie_table` refuses such an element)."""


class FeaturizationInterrupted(Exception):
    """Raised between two formulas after Ctrl-C; `interrupts_between_formulas` turns it back into
    `KeyboardInterrupt`. An `Exception`, so that it comes back from matminer's worker processes."""


_interrupt_received = False


def _record_interrupt(signum, frame):
    global _interrupt_received
    _interrupt_received = True


@contextmanager
def interrupts_between_formulas():
    """Ctrl-C (SIGINT) during featurization takes effect between two formulas, not inside a library.

    Python raises `KeyboardInterrupt` at whatever line runs when the signal comes; inside a
    library's `except BaseException` or bare `except:` it is swallowed, and the stage then finished
    with exit 0 as if never interrupted. So the handler only records the signal: StrictFeaturize
    raises at the next formula (in matminer's worker processes too, which inherit the handler and
    get the terminal's SIGINT), and the end of this block raises `KeyboardInterrupt` if one came.
    """
    global _interrupt_received
    # Signal handlers are for the main thread only; and a process started with SIGINT ignored
    # (`nohup`, a background job) keeps ignoring it, as Python itself does.
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield
        return
    _interrupt_received = False
    previous = signal.signal(signal.SIGINT, _record_interrupt)
    try:
        yield
    except Exception:
        if not _interrupt_received:
            raise
    finally:
        signal.signal(signal.SIGINT, previous)
        # Reset on the way out: a later featurization in this process starts uninterrupted.
        interrupted, _interrupt_received = _interrupt_received, False
    if interrupted:
        raise KeyboardInterrupt


class StrictFeaturize:
    """Stands in for one matminer featurizer's `featurize`, so that only undefined values become NaN.

    modnet runs its featurizers with `ignore_errors=True`, and matminer then turns any exception
    for a formula, `KeyboardInterrupt` and `MemoryError` included, into a row of NaN without a
    word. We run them with `ignore_errors=False` and decide here instead: a `KeyError` that names
    one of the formula's elements means the featurizer's table has no data for that element
    (BandCenter has no ionization energy for U): its features are undefined, NaN, as the library
    gives them. Any other exception stops the stage and names the featurizer and the formula.
    A module-level class, so that matminer's worker processes (`n_jobs` > 1) can pickle it.
    """

    def __init__(self, step):
        self.step_featurize = step.featurize
        self.step_name = type(step).__name__
        self.n_features = len(step.feature_labels())

    def __call__(self, composition):
        if _interrupt_received:
            raise FeaturizationInterrupted(f"interrupted before {composition.formula}")
        try:
            return self.step_featurize(composition)
        except KeyError as error:
            if error.args and str(error.args[0]) in {str(element) for element in composition.elements}:
                return [np.nan] * self.n_features
            raise FeaturizationError(f"{self.step_name} failed on {composition.formula}: KeyError {error}") from error
        except Exception as error:
            raise FeaturizationError(
                f"{self.step_name} failed on {composition.formula}: {type(error).__name__}: {error}") from error


MATMINER_ADVICE = "\nTO SKIP THESE ERRORS"


def first_message(error: BaseException) -> str:
    """matminer re-raises a featurizer's exception as a new one of the same type, with advice to
    set `ignore_errors=True` appended (advice that does not apply: StrictFeaturize decides what
    becomes NaN). From a worker process (`n_jobs` > 1) only that new exception comes back, so the
    advice is cut from its text."""
    return str(error).split(MATMINER_ADVICE)[0]


@contextmanager
def quiet_featurizers():
    """matminer, pymatgen and modnet warn once per composition; keep logs readable."""
    modnet_log = logging.getLogger("modnet")
    level = modnet_log.level
    modnet_log.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            modnet_log.setLevel(level)


class MagpieFeatures:
    """matminer's `ElementProperty.from_preset("magpie")`: 22 elemental properties x 6 statistics.

    Elements without Magpie data give NaN (matminer's default, `impute_nan=False`); the random
    forest handles NaN natively.
    """

    name = "magpie"

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = n_jobs

    def _featurizer(self):
        from matminer.featurizers.composition import ElementProperty

        with quiet_featurizers():
            featurizer = ElementProperty.from_preset("magpie")
        featurizer.featurize = StrictFeaturize(featurizer)
        featurizer.set_n_jobs(self.n_jobs)
        return featurizer

    def feature_labels(self) -> list[str]:
        return self._featurizer().feature_labels()

    def featurize(self, formulas: list[str], progress: bool = True) -> pd.DataFrame:
        featurizer = self._featurizer()
        compositions = pd.DataFrame({"composition": [parse_composition(formula) for formula in formulas]})
        with quiet_featurizers(), interrupts_between_formulas():
            try:  # ignore_errors=False (matminer's default): StrictFeaturize decides
                table = featurizer.featurize_dataframe(compositions, "composition", pbar=progress)
            except FeaturizationError as error:
                raise FeaturizationError(first_message(error)) from None
        return table.drop(columns="composition").set_axis(list(formulas)).astype(float)



class ModnetFeatures:
    """MODNet 0.4.5's `CompositionOnlyMatminer2023Featurizer`, as `MODData.featurize` computes it.

    Differences, none changing a value: matminer's `AtomicPackingEfficiency` and `IonProperty` are
    swapped for `FastAtomicPackingEfficiency` (same numbers, ~40x faster) and `FastIonProperty`
    (the same charge-balance answer without listing every oxidation-state guess), and all-NaN
    columns are kept so the table has the same 285 columns whatever the rows.
    """

    name = "modnet"

    def __init__(self, n_jobs: int = 1):
        self.n_jobs = n_jobs

    def _featurizer(self):
        from modnet.featurizers.presets import CompositionOnlyMatminer2023Featurizer

        with quiet_featurizers():
            featurizer = CompositionOnlyMatminer2023Featurizer()
            swaps = _fast_featurizers()
            featurizer.composition_featurizers = tuple(
                swaps[type(step)](**step.get_params()) if type(step) in swaps else step
                for step in featurizer.composition_featurizers
            )
        for step in featurizer.composition_featurizers:
            step.featurize = StrictFeaturize(step)
        featurizer.ignore_errors = False  # modnet reads this attribute; StrictFeaturize decides instead
        featurizer.set_n_jobs(self.n_jobs)
        featurizer.set_drop_allnan(False)
        return featurizer

    def feature_labels(self) -> list[str]:
        return list(self.featurize(["LiFePO4"], progress=False).columns)

    def featurize(self, formulas: list[str], progress: bool = True) -> pd.DataFrame:
        """matminer draws its own progress bar here; modnet offers no switch for it."""
        from modnet.preprocessing import CompositionContainer

        structures = pd.DataFrame(
            {"structure": [CompositionContainer(parse_composition(formula)) for formula in formulas]},
            index=list(formulas),
        )
        featurizer = self._featurizer()
        with quiet_featurizers(), interrupts_between_formulas():
            try:
                table = featurizer.featurize(structures)
            except FeaturizationError as error:
                raise FeaturizationError(first_message(error)) from None
        # matminer prefixes labels with the class name; keep the library's column names.
        for library, fast in _fast_featurizers().items():
            table.columns = table.columns.str.replace(f"{fast.__name__}|", f"{library.__name__}|", regex=False)
        return table.astype(float)


def _fast_featurizers() -> dict[type, type]:
    """matminer's featurizers in MODNet's set, each with its exact, faster drop-in."""
    from matminer.featurizers.composition import AtomicPackingEfficiency, IonProperty

    from electrode_ml.features.charge_balance import FastIonProperty
    from electrode_ml.features.packing import FastAtomicPackingEfficiency

    return {AtomicPackingEfficiency: FastAtomicPackingEfficiency, IonProperty: FastIonProperty}



REPRESENTATIONS = {representation.name: representation for representation in (MagpieFeatures, ModnetFeatures)}


@functools.cache
def elements_with_data(name: str) -> frozenset[str]:
    """The elements for which every elemental property that the representation's `ElementProperty`
    featurizers read is defined.

    Both representations hold matminer's `ElementProperty` with Magpie's 22 properties: an element
    lacking one (He has no electronegativity, Og no data at all) leaves those features undefined
    for every composition that contains it. MODNet's other featurizers are undefined for whole
    classes of compositions (Miedema's enthalpies outside its metals), which MODNet imputes; those
    are counted in the featurize stage's `nan_counts.csv`, not refused here.
    """
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Element

    featurizer = REPRESENTATIONS[name]()._featurizer()
    steps = [step for step in getattr(featurizer, "composition_featurizers", [featurizer]) if isinstance(step, ElementProperty)]
    with quiet_featurizers():
        return frozenset(
            element.symbol for element in map(Element.from_Z, range(1, 119))
            if all(_is_defined(step.data_source, element, prop) for step in steps for prop in step.features)
        )


def _is_defined(data_source, element, prop: str) -> bool:
    try:
        value = data_source.get_elemental_property(element, prop)
    except KeyError:
        return False
    return value is not None and not (isinstance(value, float) and math.isnan(value))


# Formulas per task when the fit workers featurize (`featurize_unique` with `compute`). matminer's
# own processes (`n_jobs` > 1) fork a new process for every 10 formulas (`maxtasksperchild=1`),
# which starts from the parent's empty caches (the packing-efficiency clusters of each element
# set) and loses what it computed when it exits; a worker keeps them for its whole block.
BLOCK_FORMULAS = 200


def featurize_unique(representation, electrodes: pd.DataFrame, progress: bool = True,
                     compute: ComputeParams | None = None) -> pd.DataFrame:
    """Features for every electrode, indexed by `battery_id`, computing each distinct formula once.

    Formulas are sorted so that those sharing elements sit together (the APE cache stays warm).
    With `compute`, blocks of them are featurized in the one-thread workers (`electrode_ml.compute`)
    by `representation` (give it `n_jobs=1`): a formula's features do not depend on its block.
    """
    formulas = sorted(electrodes["composition"].unique(), key=lambda formula: (_element_key(formula), formula))
    if compute is None:
        unique_table = representation.featurize(formulas, progress=progress)
    else:
        blocks = [formulas[start:start + BLOCK_FORMULAS] for start in range(0, len(formulas), BLOCK_FORMULAS)]
        bar = (lambda tasks: tqdm(tasks, total=len(blocks), desc=f"featurize {representation.name}",
                                  unit="block")) if progress else None
        unique_table = pd.concat(map_in_workers(_featurize_block, blocks, compute, shared=(representation,),
                                                progress=bar, sizes=[len(block) for block in blocks]))
    table = unique_table.loc[electrodes["composition"]].set_axis(pd.Index(electrodes["battery_id"], name="battery_id"))
    return table


def _featurize_block(formulas: list[str], representation) -> pd.DataFrame:
    return representation.featurize(formulas, progress=False)


def _element_key(formula: str) -> tuple[str, ...]:
    return tuple(sorted(str(element) for element in parse_composition(formula)))
