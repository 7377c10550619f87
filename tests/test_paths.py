"""dvc.yaml spells the paths that electrode_ml.paths declares: every output and data dependency of
a stage is one of them, or a file in one of its cell folders, so moving a path in one place and
not the other fails here."""
from pathlib import Path

import yaml

from electrode_ml import paths

REPOSITORY = Path(__file__).resolve().parents[1]
STAGES = yaml.safe_load((REPOSITORY / "dvc.yaml").read_text())["stages"]
ITEM = {name: f"${{item.{name}}}" for name in ("model", "target", "scheme")}
RANK_MODEL = "${screen.rank_model}"  # the discovery stage's model, from params.yaml's screen block


def declared() -> tuple[set[str], set[str]]:
    """(paths declared as such, folders whose files a stage names), with dvc.yaml's placeholders."""
    constants = {str(value) for value in vars(paths).values() if isinstance(value, Path)}
    constants |= {str(paths.feature_table(name)) for name in ("magpie", "modnet")}
    constants |= {str(paths.fold_file(name)) for name in ("stratified5", "stratified5_repeated", "loco", ITEM["scheme"])}
    constants |= {str(paths.model_inputs(model)) for model in (ITEM["model"], RANK_MODEL)}
    constants |= {str(paths.cv_cell(RANK_MODEL, target, paths.SCHEMES[0]) / "predictions.csv")
                  for target in ("voltage", "grav_capacity", "vol_capacity")}
    folders = {str(paths.cv_cell(ITEM["model"], ITEM["target"], ITEM["scheme"])),
               str(paths.bootstrap_cell(ITEM["model"], ITEM["target"])),
               str(paths.trained_model(ITEM["model"], ITEM["target"])),
               str(paths.repeated_cv_cell(ITEM["model"], ITEM["target"])),
               str(paths.trust_summary()),
               *(str(paths.cv_cell(ITEM["model"], ITEM["target"], scheme)) for scheme in paths.SCHEMES),
               str(paths.FEATURES), str(paths.CLUSTERS), str(paths.TRUST), str(paths.CANDIDATES), str(paths.SCREEN),
               str(paths.DISCOVERY)}
    return constants, folders


def stage_paths(stage: dict) -> list[str]:
    entries = [*stage.get("outs", []), *stage.get("metrics", []), *stage.get("deps", [])]
    names = [entry if isinstance(entry, str) else next(iter(entry)) for entry in entries]
    return [name for name in names if name.startswith(("results/", "paper/"))]


def test_every_output_and_data_dependency_is_a_declared_path():
    constants, folders = declared()
    unknown = sorted({name for stage in STAGES.values() for name in stage_paths(stage)
                      if name not in constants and str(Path(name).parent) not in folders})
    assert not unknown, f"dvc.yaml names paths that electrode_ml.paths does not declare: {unknown}"


def test_a_cell_folder_is_the_one_its_stage_command_writes():
    assert str(paths.cv_cell("crabnet", "voltage", "loco")) == "results/cv/crabnet/voltage/loco"
    cells = {"cv": paths.cv_cell(ITEM["model"], ITEM["target"], ITEM["scheme"]),
             "bootstrap": paths.bootstrap_cell(ITEM["model"], ITEM["target"]),
             "train": paths.trained_model(ITEM["model"], ITEM["target"]),
             "repeated_cv": paths.repeated_cv_cell(ITEM["model"], ITEM["target"])}
    for stage, folder in cells.items():
        outs = [entry if isinstance(entry, str) else next(iter(entry)) for entry in STAGES[stage]["outs"]]
        assert {str(Path(out).parent) for out in outs} == {str(folder)}, stage


def test_the_learning_curve_plot_reads_the_reports_table_whatever_the_matrix():
    """`make plots` draws every model in one chart per target from one long table that the report
    writes, so a new model or target needs no line in dvc.yaml's `plots:` (DVC's has no loop)."""
    plots = [name for entry in yaml.safe_load((REPOSITORY / "dvc.yaml").read_text())["plots"] for name in entry]
    assert plots == [str(paths.LEARNING_CURVES)]
    assert str(paths.LEARNING_CURVES) in STAGES["report"]["outs"]


def test_the_report_keeps_exactly_the_metrics_files_dvc_declares(tmp_path):
    """`verify` reads the committed values of every metrics file from paper/metrics.json, so the
    report must keep each file that dvc.yaml declares as a metric, expanded over its matrix."""
    from electrode_ml.params import DEFAULT_PARAMS, pipeline_matrix, read_params
    from electrode_ml.stages import report

    models, targets, schemes = pipeline_matrix(REPOSITORY / DEFAULT_PARAMS)
    repeated = read_params(REPOSITORY / DEFAULT_PARAMS)["repeated_cv"]["models"]
    lists = {"cv": {"model": models, "target": targets, "scheme": schemes},
             "bootstrap": {"model": models, "target": targets},
             "repeated_cv": {"model": repeated, "target": targets}}
    expected = set()
    for name, stage in STAGES.items():
        for metric in stage.get("metrics", []):
            items = [{}]
            for key, values in lists.get(name, {}).items():
                items = [{**item, key: value} for item in items for value in values]
            expected |= {metric.replace("${item.model}", item.get("model", "")).replace(
                "${item.target}", item.get("target", "")).replace("${item.scheme}", item.get("scheme", ""))
                for item in items}
    found = report.Paths(prepare_summary=tmp_path / "s", feature_metrics=tmp_path / "s", cluster_metrics=tmp_path / "s",
                         domain_metrics=tmp_path / "s", cv=tmp_path, bootstrap=tmp_path, repeated_cv=tmp_path,
                         trust=tmp_path, candidates=tmp_path / "candidates", screen=tmp_path / "screen",
                         discovery=tmp_path / "discovery")
    (tmp_path / "s").write_text("{}")
    for folder in (found.candidates, found.screen, found.discovery):
        folder.mkdir()
        (folder / paths.METRICS).write_text("{}")
    for path in expected:
        if path.startswith(("results/cv/", "results/bootstrap/", "results/repeated_cv/", "results/trust/")):
            target = tmp_path / Path(path).relative_to(Path(path).parts[0], Path(path).parts[1])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("{}")
    kept = report.collect_metrics(found, models, targets, schemes, repeated)
    assert set(kept) == expected
