"""`make plots`: DVC's plots page carries its chart library, so it opens without the internet."""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

BIN = Path(sys.executable).parent
REPOSITORY = Path(__file__).resolve().parents[1]


def make_plots_commands() -> list[str]:
    """What `make plots` runs (make's dry run), with this environment as its VENV; -o: counted as
    installed whatever its stamp says, since it is the one running the tests."""
    result = subprocess.run(["make", "--no-print-directory", "-n", "-C", str(REPOSITORY),
                             "-o", f"{BIN.parent}/.installed", "plots", f"VENV={BIN.parent}"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _run(*command, cwd):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_plots_page_draws_every_model_and_target_from_an_inline_library(tmp_path):
    """dvc.yaml's plot and its template, on a learning-curve table as the report writes it (two
    models, two targets): one chart per target, one line per model; and `make plots`, its recipe's
    commands run in that project, writes a page that is self-contained."""
    import json

    import vl_convert

    from electrode_ml import paths
    from electrode_ml.reporting.tables import learning_curve_table

    summaries = {(model, target): pd.DataFrame({"n_train": [100, 200], "repeats": 2, "mae": mae})
                 for model, mae in (("control", [80.0, 79.0]), ("rf_magpie", [60.0, 45.0]))
                 for target in ("voltage", "grav_capacity")}
    (tmp_path / paths.LEARNING_CURVES).parent.mkdir(parents=True)
    learning_curve_table(summaries).to_csv(tmp_path / paths.LEARNING_CURVES, index=False)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": yaml.safe_load((REPOSITORY / "dvc.yaml").read_text())["plots"]}))
    _run("dvc", "init", "--no-scm", "-q", cwd=tmp_path)
    (tmp_path / ".dvc/plots").mkdir()
    (tmp_path / ".dvc/plots/learning_curves.json").write_text((REPOSITORY / ".dvc/plots/learning_curves.json").read_text())

    shown = json.loads(_run("dvc", "plots", "show", "--json", cwd=tmp_path).stdout)
    assert not shown.get("errors"), shown["errors"]
    spec = shown["data"][str(paths.LEARNING_CURVES)][0]["content"]
    drawn = vl_convert.vegalite_to_svg(spec)  # the filled template is valid Vega-Lite
    for name in ("Control", "RF@Magpie", "Voltage (V)", "Grav. capacity (mAh/g)", "training electrodes"):
        assert name in drawn, name

    for command in make_plots_commands():
        _run(*shlex.split(command), cwd=tmp_path)
    page = (tmp_path / "dvc_plots" / "index.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", page), "the page loads a script from elsewhere"
    assert "vegaEmbed(" in page and "RF@Magpie" in page and "Control" in page
    assert len(page) > 500_000  # Vega, Vega-Lite and vega-embed are in it
