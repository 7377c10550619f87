"""`make plots`: DVC's plots page carries its chart library, so it opens without the internet."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

BIN = Path(sys.executable).parent


def _run(*command, cwd):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_plots_page_draws_every_model_from_an_inline_library(tmp_path):
    # Two models' learning curves in one chart, declared as dvc.yaml declares ours.
    for model, mae in (("control", [80.0, 79.0]), ("rf_magpie", [60.0, 45.0])):
        curve = tmp_path / "bootstrap" / model
        curve.mkdir(parents=True)
        pd.DataFrame({"n_train": [100, 200], "mae": mae}).to_csv(curve / "summary.csv", index=False)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"plots": [{"learning_curve": {
        "x": "n_train", "y": {"bootstrap/control/summary.csv": "mae", "bootstrap/rf_magpie/summary.csv": "mae"}}}]}))
    _run("dvc", "init", "--no-scm", "-q", cwd=tmp_path)
    _run("electrode-ml", "plots-template", "--out", ".dvc/tmp/template.html", cwd=tmp_path)
    _run("dvc", "plots", "show", "--html-template", ".dvc/tmp/template.html", "-o", "page", cwd=tmp_path)
    page = (tmp_path / "page" / "index.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", page), "the page loads a script from elsewhere"
    assert "vegaEmbed(" in page and "rf_magpie/summary.csv" in page and "control/summary.csv" in page  # DVC drops the common prefix
    assert len(page) > 500_000  # Vega, Vega-Lite and vega-embed are in it


def test_make_plots_uses_the_template_it_writes():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    recipe = makefile[makefile.index("\nplots:"):].split("\n\n")[0]
    assert "plots-template --out $(PLOTS_TEMPLATE)" in recipe and "--html-template $(PLOTS_TEMPLATE)" in recipe
