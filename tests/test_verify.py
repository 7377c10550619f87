"""`electrode-ml verify`: what counts as a difference from the committed results, and what does not."""
import textwrap

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
    import json

    from electrode_ml.commands.verify import compare_metrics_file

    ours = tmp_path / "metrics.json"
    ours.write_text(json.dumps({"m.smae": 0.52, "m.r2": 0.7}))
    kept = {ours.as_posix(): {"m.smae": 0.5, "m.r2": 0.7}}
    differences, compared = compare_metrics_file(ours, "aaaa", "bbbb", kept)
    assert differences == [f"{ours}: m.smae: committed 0.5, this run 0.52 (difference +0.02)"] and compared == 2
    assert compare_metrics_file(ours, "same", "same", kept) == ([], 2)
    missing, _ = compare_metrics_file(ours, "aaaa", "bbbb", {})
    assert "paper/metrics.json does not hold its values" in missing[0]
