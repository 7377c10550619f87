"""Stage `inputs`: each model's input table, apart from the targets (see electrode_ml.models.input_tables).

Writes results/inputs/<model>/ for every model of params.yaml's `models`: electrodes.csv and the
feature tables that model reads. Every table is built before any is written.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from electrode_ml import paths
from electrode_ml.files import interrupts_deferred
from electrode_ml.models.input_tables import model_input_tables, write_model_inputs
from electrode_ml.models.registry import model_entry
from electrode_ml.params import DEFAULT_PARAMS, pipeline_matrix


def run(models: list[str], electrodes_csv: Path, features_dir: Path, out_dir: Path) -> None:
    folders = {model: model_input_tables(electrodes_csv, features_dir, model_entry(model).input_sets)
               for model in models}
    with interrupts_deferred():
        for model, (electrodes, features) in folders.items():
            write_model_inputs(electrodes, features, paths.model_inputs(model, out_dir))
    for model, (electrodes, features) in folders.items():
        print(f"inputs: {model}: {len(electrodes)} electrodes, features: {', '.join(features) or 'none'}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml inputs", description=__doc__)
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS, help="parameter file (default: %(default)s)")
    parser.add_argument("--electrodes", type=Path, default=paths.ELECTRODES, help="prepared table (default: %(default)s)")
    parser.add_argument("--features", type=Path, default=paths.FEATURES, help="feature tables (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=paths.MODEL_INPUTS, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    run(pipeline_matrix(args.params)[0], args.electrodes, args.features, args.out)
