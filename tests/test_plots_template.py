"""`make plots`: DVC's plots page carries its chart library, so it opens without the internet."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

BIN = Path(sys.executable).parent
REPOSITORY = Path(__file__).resolve().parents[1]


def _run(*command, cwd):
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def test_the_plots_page_draws_every_model_and_target_from_an_inline_library(tmp_path):
    """dvc.yaml's plot and its template, on a learning-curve table as the report writes it (two
    models, two targets): one chart per target, one line per model, the page self-contained."""
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

    _run("electrode-ml", "plots-template", "--out", ".dvc/tmp/template.html", cwd=tmp_path)
    _run("dvc", "plots", "show", "--html-template", ".dvc/tmp/template.html", "-o", "page", cwd=tmp_path)
    page = (tmp_path / "page" / "index.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc=", page), "the page loads a script from elsewhere"
    assert "vegaEmbed(" in page and "RF@Magpie" in page and "Control" in page
    assert len(page) > 500_000  # Vega, Vega-Lite and vega-embed are in it


def test_make_plots_uses_the_template_it_writes():
    makefile = (REPOSITORY / "Makefile").read_text()
    recipe = makefile[makefile.index("\nplots:"):].split("\n\n")[0]
    assert "plots-template --out $(PLOTS_TEMPLATE)" in recipe and "--html-template $(PLOTS_TEMPLATE)" in recipe
