"""`electrode-ml verify`: what counts as a difference from the committed results, and what does not."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from electrode_ml.commands.verify import compare_hashes, compare_metrics, output_hashes

LOCK = textwrap.dedent("""\
    schema: '2.0'
    stages:
      cv@rf_magpie-voltage-loco:
        cmd: electrode-ml cv
        outs:
        - path: results/cv/rf_magpie/voltage/loco/predictions.csv
          hash: md5
          md5: aaaa
        - path: results/cv/rf_magpie/voltage/loco/timings.json
          hash: md5
          md5: tttt
""")


def test_timing_files_are_left_out_of_the_comparison():
    assert output_hashes(LOCK) == {"results/cv/rf_magpie/voltage/loco/predictions.csv": "aaaa"}
    other = LOCK.replace("tttt", "uuuu")
    assert compare_hashes(output_hashes(LOCK), output_hashes(other)) == []


def test_a_changed_missing_or_extra_output_is_named():
    ours = {"results/a.csv": "bbbb", "results/new.csv": "cccc"}
    differences = compare_hashes({"results/a.csv": "aaaa", "results/gone.csv": "dddd"}, ours)
    assert differences == ["results/a.csv: committed aaaa, this run bbbb",
                           "results/gone.csv: committed, but not an output of this run",
                           "results/new.csv: an output of this run, not in the committed dvc.lock"]


def test_metric_differences_are_named_with_their_size_in_unit_and_standard_errors():
    committed = {"m.voltage.loco.mae": 0.5, "m.voltage.loco.mae_2sigma": 0.2, "m.voltage.loco.smae": 0.5,
                 "m.voltage.loco.folds": 4}
    ours = {**committed, "m.voltage.loco.mae": 0.55, "m.voltage.loco.smae": 0.5000001}
    differences = compare_metrics(committed, ours, "x.json")
    # SE = 0.2 / 2 / sqrt(4) = 0.05: a difference of 0.05 V is one standard error.
    assert differences == ["x.json: m.voltage.loco.mae: committed 0.5, this run 0.55 (difference +0.05 V, +1 standard "
                           "errors of the cell)",
                           "x.json: m.voltage.loco.smae: committed 0.5, this run 0.5000001 (difference +1e-07)"]
    assert compare_metrics({"a": 1}, {"a": 1}, "x.json") == []


def test_missing_extra_and_non_numeric_metrics_are_named():
    differences = compare_metrics({"a": 1, "b": "x", "c": 2}, {"b": "y", "c": 2, "d": 3}, "x.json")
    assert differences == ["x.json: a: committed 1, missing in this run",
                           "x.json: b: committed 'x', this run 'y'",
                           "x.json: d: 3 in this run, not committed"]


def test_compare_puts_experiments_in_columns_and_shows_only_changed_params():
    from electrode_ml.commands.compare import changed_params, experiment_rows, results_table

    def record(eps, smae):
        return {"data": {"params": {"params.yaml": {"data": {"cluster": {"eps": eps, "min_samples": 10}}}},
                         "metrics": {"results/cv/rf_magpie/voltage/loco/metrics.json": {"data": {
                             "rf_magpie.voltage.loco.smae": smae, "rf_magpie.voltage.loco.r2": 0.5,
                             "rf_magpie.voltage.loco.mae": 1.0}}}}}

    shown = [{"rev": "workspace", "name": None, **record(6.0, 0.61), "experiments": None},
             {"rev": "abcdef1234", "name": "main", **record(6.0, 0.61),
              "experiments": [{"revs": [{"rev": "1234567", "name": "eps-five", **record(5.0, 0.58)}]}]}]
    rows = experiment_rows(shown)
    assert list(rows) == ["workspace", "main", "eps-five"]
    params = changed_params(rows)
    assert list(params.index) == ["cluster.eps"] and params.loc["cluster.eps", "eps-five"] == 5.0
    table = results_table(rows)
    assert table.loc[("rf_magpie", "voltage", "loco", "smae"), "eps-five"] == 0.58
    assert len(table.to_string().splitlines()[0]) <= 100


def test_the_report_timing_page_is_a_timing_record_too():
    from electrode_ml.commands.verify import is_timing_record

    assert is_timing_record("paper/timings.md") and is_timing_record("results/cv/a/b/c/timings.json")
    assert not is_timing_record("paper/REPRODUCTION.md")


def test_a_changed_metrics_file_is_compared_with_the_values_kept_in_git(tmp_path):
    """A fresh clone has none of the committed results in its DVC cache: the committed values come
    from the report's git-tracked paper/metrics.json, keyed by the path dvc.lock names."""
    from electrode_ml.commands.verify import compare_metrics_file

    ours = tmp_path / "metrics.json"
    ours.write_text(json.dumps({"m.smae": 0.52, "m.r2": 0.7}))
    kept = {ours.as_posix(): {"m.smae": 0.5, "m.r2": 0.7}}
    differences, compared = compare_metrics_file(ours, "aaaa", "bbbb", kept)
    assert differences == [f"{ours}: m.smae: committed 0.5, this run 0.52 (difference +0.02)"] and compared == 2
    assert compare_metrics_file(ours, "same", "same", kept) == ([], 2)
    missing, _ = compare_metrics_file(ours, "aaaa", "bbbb", {})
    assert "paper/metrics.json does not hold its values" in missing[0]


# --- the commands, end to end on a small DVC project ------------------------------------------

CELL = "results/cv/rf_magpie/voltage/loco"
SCORE = f"""\
import json, pathlib, yaml
params = yaml.safe_load(open("params.yaml"))
cell = pathlib.Path("{CELL}")
cell.mkdir(parents=True, exist_ok=True)
(cell / "predictions.csv").write_text("battery_id,y_pred\\nmp-1,3.2\\n")
mae = params["mae"]
(cell / "metrics.json").write_text(json.dumps({{
    "rf_magpie.voltage.loco.mae": mae, "rf_magpie.voltage.loco.mae_2sigma": 0.2,
    "rf_magpie.voltage.loco.smae": 0.61, "rf_magpie.voltage.loco.r2": 0.5, "rf_magpie.voltage.loco.folds": 4}}))
"""


BIN = Path(sys.executable).parent  # this environment's dvc
ENVIRONMENT = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}


def _command(*arguments, cwd):
    """`electrode-ml ...` in `cwd`."""
    return subprocess.run([sys.executable, "-m", "electrode_ml.cli", *arguments], cwd=cwd, capture_output=True,
                          text=True, env=ENVIRONMENT)


def _git(*arguments, cwd):
    return _tool("git", "-c", "user.name=test", "-c", "user.email=test@example.org", *arguments, cwd=cwd)


def _dvc(*arguments, cwd):
    return _tool(str(BIN / "dvc"), *arguments, cwd=cwd)


def _tool(*command, cwd):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=ENVIRONMENT)
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture
def committed_project(tmp_path):
    """A git + DVC project with one cell whose results are committed as the pipeline commits them:
    dvc.lock, and the metric values in paper/metrics.json (the report's git-tracked copy)."""
    _git("init", "-q", "-b", "main", cwd=tmp_path)
    (tmp_path / "params.yaml").write_text("profile: quick\nmae: 0.5\n")
    _git("add", "params.yaml", cwd=tmp_path)
    _git("commit", "-q", "-m", "params only", cwd=tmp_path)
    _dvc("init", "-q", cwd=tmp_path)
    (tmp_path / "score.py").write_text(SCORE)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"score": {
        "cmd": "python score.py", "deps": ["score.py"], "params": ["mae"],
        "outs": [f"{CELL}/predictions.csv"], "metrics": [f"{CELL}/metrics.json"]}}}))
    _dvc("repro", "-q", cwd=tmp_path)
    (tmp_path / "paper").mkdir()
    (tmp_path / "paper/metrics.json").write_text(json.dumps({f"{CELL}/metrics.json": json.loads(
        (tmp_path / CELL / "metrics.json").read_text())}))
    _git("add", "-A", cwd=tmp_path)
    _git("commit", "-q", "-m", "results", cwd=tmp_path)
    return tmp_path


def test_verify_passes_on_the_committed_results_and_names_a_changed_metric_with_its_size(committed_project):
    identical = _command("verify", cwd=committed_project)
    assert identical.returncode == 0, identical.stderr
    assert "identical to HEAD: 2 output hashes and 5 metrics" in identical.stdout

    # A rerun that moves the MAE by one standard error of the cell (0.2 / 2 / sqrt(4) = 0.05 V).
    (committed_project / "params.yaml").write_text("profile: quick\nmae: 0.55\n")
    _dvc("repro", "-q", cwd=committed_project)
    moved = _command("verify", cwd=committed_project)
    assert moved.returncode == 1
    assert f"{CELL}/metrics.json: committed " in moved.stderr  # the hash line names the file
    assert (f"{CELL}/metrics.json: rf_magpie.voltage.loco.mae: committed 0.5, this run 0.55 "
            "(difference +0.05 V, +1 standard errors of the cell)") in moved.stderr
    assert "predictions.csv" not in moved.stderr  # the same bytes: not a difference


def test_verify_fails_when_an_output_is_not_the_one_dvc_lock_names(committed_project):
    (committed_project / CELL / "predictions.csv").write_text("battery_id,y_pred\nmp-1,9.9\n")
    result = _command("verify", cwd=committed_project)
    assert result.returncode == 1
    assert "dvc status: stage score is not up to date" in result.stderr


def test_verify_refuses_another_profile_and_a_revision_without_results(committed_project):
    (committed_project / "params.yaml").write_text("profile: paper\nmae: 0.5\n")
    other_profile = _command("verify", cwd=committed_project)
    assert other_profile.returncode == 1 and other_profile.stderr.count("\n") == 2  # one line and the hint
    assert "are of profile 'quick', this run is 'paper': run `make reproduce PROFILE=quick`" in other_profile.stderr
    (committed_project / "params.yaml").write_text("profile: quick\nmae: 0.5\n")
    before_results = _command("verify", "--against", "HEAD~1", cwd=committed_project)
    assert before_results.returncode == 1
    assert "no committed params.yaml and dvc.lock at HEAD~1: nothing to compare with" in before_results.stderr


def test_compare_puts_each_experiment_beside_the_commit(committed_project):
    _dvc("exp", "run", "-q", "-n", "higher-mae", "-S", "mae=0.7", cwd=committed_project)
    text = _command("compare", "--r2", cwd=committed_project)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    # `dvc exp run` leaves the experiment's results in the workspace.
    assert lines[0].split() == ["workspace", "main", "higher-mae"]
    assert lines[1].split() == ["mae", "0.7", "0.5", "0.7"]  # only the changed parameter
    rows = {line.split()[-4]: [float(value) for value in line.split()[-3:]] for line in lines[5:]}
    assert rows == {"r2": [0.5, 0.5, 0.5], "smae": [0.61, 0.61, 0.61]}, text.stdout
    markdown = _command("compare", "--md", cwd=committed_project)
    assert markdown.returncode == 0, markdown.stderr
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in markdown.stdout.splitlines() if line]
    assert cells[0] == ["", "workspace", "main", "higher-mae"] and cells[2] == ["mae", "0.7", "0.5", "0.7"]
    assert cells[-1] == ["rf_magpie", "voltage", "loco", "smae", "0.61", "0.61", "0.61"]
    assert "r2" not in markdown.stdout  # R2 only with --r2


def test_compare_says_what_is_missing(tmp_path):
    outside = _command("compare", cwd=tmp_path)
    assert outside.returncode == 1 and "electrode-ml compare: `dvc exp show` failed" in outside.stderr
    _git("init", "-q", "-b", "main", cwd=tmp_path)
    _dvc("init", "-q", cwd=tmp_path)
    _git("commit", "-q", "-m", "a pipeline not run yet", cwd=tmp_path)
    nothing = _command("compare", cwd=tmp_path)
    assert nothing.returncode == 1
    assert "no SMAE/R2 metrics in any experiment: run the pipeline (make reproduce) first" in nothing.stderr
