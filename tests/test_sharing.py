"""Results and trained models travel through the `results` DVC remote: a fresh clone pulls them,
`dvc status` is clean, and `electrode-ml predict` answers without retraining."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

# Each test clones the checkout and runs DVC stages in it: about 3 minutes together.
pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CELLS = ["train@control-voltage", "train@rf_magpie-voltage"]


def _run(*command, cwd):
    # A git identity of its own: a fresh machine (CI, a container) may have none, and git and DVC's
    # experiments both commit.
    identity = {"GIT_AUTHOR_NAME": "electrode-ml tests", "GIT_AUTHOR_EMAIL": "tests@electrode-ml.invalid",
                "GIT_COMMITTER_NAME": "electrode-ml tests", "GIT_COMMITTER_EMAIL": "tests@electrode-ml.invalid"}
    env = {**os.environ, **identity, "PATH": f"{BIN}:{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result


def _workspace(tmp_path: Path, name: str, raw_sample) -> Path:
    """A copy of this repository's tracked files (the working tree, so the test checks the code
    under test), as its own git repository, on a 150-row sample and two cheap models."""
    workspace = tmp_path / name
    files = _run("git", "ls-files", "-co", "--exclude-standard", cwd=REPOSITORY).stdout.split()
    for file in files:
        if (REPOSITORY / file).is_file():
            (workspace / file).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPOSITORY / file, workspace / file)
    # Outside data/, which data.dvc tracks (the full data set, not needed here).
    (workspace / "sample").mkdir()
    raw_sample.to_csv(workspace / "sample" / "batteries.csv", index=False)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["prepare"]["raw_csv"] = "sample/batteries.csv"
    params["models"], params["targets"] = ["control", "rf_magpie"], ["voltage"]
    params["profiles"]["quick"]["rf_magpie"] = {"n_estimators": 20, "n_jobs": 1}
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for command in (["git", "init", "-q"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "sample"]):
        _run(*command, cwd=workspace)
    return workspace


def test_trained_models_round_trip_through_the_results_remote(tmp_path, raw_sample):
    remote = tmp_path / "remote"
    first = _workspace(tmp_path, "first", raw_sample)
    _run("dvc", "remote", "modify", "--local", "results", "url", str(remote), cwd=first)
    _run("dvc", "repro", *CELLS, cwd=first)
    _run("dvc", "push", "-r", "results", "--with-deps", *CELLS, cwd=first)
    lock = (first / "dvc.lock").read_text()

    second = _workspace(tmp_path, "second", raw_sample)
    (second / "dvc.lock").write_text(lock)  # as a clone of the commit that holds the run
    _run("dvc", "remote", "modify", "--local", "results", "url", str(remote), cwd=second)
    _run("dvc", "pull", "-r", "results", "--with-deps", *CELLS, cwd=second)
    status = _run("dvc", "status", *CELLS, cwd=second).stdout
    assert "up to date" in status, status
    predicted = _run(str(BIN / "electrode-ml"), "predict", "LiFePO4", "--ion", "Li", cwd=second)
    assert "RF@Magpie" in predicted.stdout


def test_a_queued_sweep_keeps_each_experiments_metrics(tmp_path, raw_sample):
    """docs/parameters.md's sweep: two `cluster.eps` experiments through DVC's queue, both visible with
    their `n_clusters` afterwards (metrics are git-tracked, so experiments keep them)."""
    workspace = _workspace(tmp_path, "sweep", raw_sample)
    params = yaml.safe_load((workspace / "params.yaml").read_text())
    params["cluster"].update({"perplexity": 15, "min_samples": 5})
    (workspace / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run("git", "commit", "-qam", "sample cluster settings", cwd=workspace)
    for eps in (3.0, 6.0):
        _run("dvc", "exp", "run", "--queue", "-S", f"cluster.eps={eps}", "cluster", cwd=workspace)
    _run("dvc", "queue", "start", "--jobs", "1", cwd=workspace)
    deadline = time.monotonic() + 600
    while "Running" in (queued := _run("dvc", "queue", "status", cwd=workspace).stdout) or "Queued" in queued:
        assert time.monotonic() < deadline, queued
        time.sleep(5)
    shown = json.loads(_run("dvc", "exp", "show", "--json", cwd=workspace).stdout)
    experiments = [revision for commit in shown for experiment in (commit.get("experiments") or [])
                   for revision in experiment.get("revs") or []]
    found = {}
    for revision in experiments:
        data = revision["data"]
        eps = data["params"]["params.yaml"]["data"]["cluster"]["eps"]
        found[eps] = data["metrics"]["results/clusters/metrics.json"]["data"]["n_clusters"]
    assert set(found) == {3.0, 6.0}, found
    assert found[3.0] != found[6.0]  # the metric belongs to each experiment, not to the workspace
