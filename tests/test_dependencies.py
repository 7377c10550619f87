"""dvc.yaml's `deps` match the code: every package module a stage's command imports (directly or
through other modules, at any depth, also inside functions) is a dependency of that stage, so
editing it reruns the stage; and the matrix stages read the model module of their own cell. The
numerical environment that `electrode-ml` pins before any command runs (`numerics`) is part of
every stage's code too. A cell depends on the modules that every cell runs through one file,
`cell_code`'s output, which stands here for the modules that stage hashes."""
import ast
from pathlib import Path

import pytest
import yaml

from electrode_ml import paths
from electrode_ml.cli import COMMANDS
from electrode_ml.models.registry import MODELS

REPOSITORY = Path(__file__).resolve().parents[1]
SOURCE = REPOSITORY / "src"


def module_file(name: str) -> Path | None:
    path = SOURCE / Path(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}  # `from package import module`
    return {name for name in names if name.split(".")[0] == "electrode_ml"}


def import_closure(module: str) -> set[Path]:
    """Source files of `module` and everything it imports from the package, parents' __init__ included."""
    files, pending = set(), [module]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for depth in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ too
            path = module_file(".".join(parts[:depth]))
            if path is not None and path not in files:
                files.add(path)
                pending.extend(imported_modules(path))
    return files


def stage_dependencies(stage: dict, model: str | None) -> list[Path]:
    """The stage's deps, with the cells' code file (`cell_code`'s output) standing for the modules it hashes."""
    deps = []
    for dep in stage.get("deps", []):
        dep = dep if isinstance(dep, str) else next(iter(dep))
        deps += CELL_CODE_MODULES if dep == str(paths.CELL_CODE) else [dep]
    return [REPOSITORY / dep.replace("${item.model}", model or "") for dep in deps]


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


STAGES = yaml.safe_load((REPOSITORY / "dvc.yaml").read_text())["stages"]

# What `cell_code` hashes for the cells: its deps, less its own module, which no cell runs.
CELL_CODE_MODULES = [dep for dep in STAGES["cell_code"]["deps"]
                     if REPOSITORY / dep != module_file(COMMANDS["cell_code"][0])]

# The cells: one stage per model x target (x scheme), each fitting its model.
CELL_STAGES = sorted(name for name, stage in STAGES.items() if "matrix" in stage)


# The stages that load trained models by the names in params.yaml's screen block (unpickled or
# made by the registry, not imported): their models' packages are part of their code.
SCREEN = yaml.safe_load((REPOSITORY / "params.yaml").read_text())["screen"]
PROFILES = yaml.safe_load((REPOSITORY / "params.yaml").read_text())["profiles"]
LOADED_MODELS = {"screen": SCREEN["models"],
                 "discovery": sorted({model for block in PROFILES.values()
                                      for model in (block.get("discovery") or {}).get("models") or [SCREEN["rank_model"]]})}


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_imported_module_is_a_dependency(name):
    stage = STAGES[name]
    command = stage["cmd"].split()[1]
    models = MODELS if name in CELL_STAGES else [None]
    for model in models:
        needed = import_closure(COMMANDS[command][0]) | import_closure("electrode_ml.numerics")
        for loaded in [model] if model is not None else LOADED_MODELS.get(name, []):
            needed |= import_closure(MODELS[loaded].estimator.split(":")[0])
        deps = [Path(str(dep).replace("${screen.rank_model}", SCREEN["rank_model"]))
                for dep in stage_dependencies(stage, model)]
        missing = sorted(str(path.relative_to(REPOSITORY)) for path in needed if not covered(path, deps))
        assert not missing, f"stage {name} ({model}): add to deps: {missing}"
        if name == "cell_code":
            continue  # the modules it hashes for the cells: each cell's own check finds one it does not run
        unused = sorted(str(dep.relative_to(REPOSITORY)) for dep in deps
                        if dep.is_relative_to(SOURCE) and not any(path == dep or dep in path.parents for path in needed))
        assert not unused, f"stage {name} ({model}): deps the command never imports: {unused}"




@pytest.mark.parametrize("name", CELL_STAGES)
def test_a_cell_reads_its_own_models_inputs_and_no_feature_table(name):
    """A featurizer change reruns `inputs`; a cell reruns only when its own model's folder changed
    (CrabNet and the control read no features), so no cell may depend on a feature table itself."""
    from electrode_ml import paths

    assert STAGES["inputs"]["outs"] == [str(paths.MODEL_INPUTS)]  # the stage that writes every folder
    deps = [dep if isinstance(dep, str) else next(iter(dep)) for dep in STAGES[name]["deps"]]
    data = [dep for dep in deps if dep.startswith("results/")]
    assert str(paths.model_inputs("${item.model}")) in data
    assert not [dep for dep in data if dep.startswith(str(paths.FEATURES))], data
    assert not [dep for dep in data if dep.startswith(str(paths.MODEL_INPUTS)) and "${item.model}" not in dep], data


def test_the_cells_code_file_changes_with_each_module_it_hashes_and_names_a_bad_entry(tmp_path):
    import json

    from electrode_ml.errors import ElectrodeMLError
    from electrode_ml.stages import cell_code

    pipeline, out = tmp_path / "dvc.yaml", tmp_path / "results" / "cells.json"
    (tmp_path / "a.py").write_text("A = 1\n")
    (tmp_path / "b.py").write_text("B = 1\n")
    pipeline.write_text(yaml.safe_dump({"stages": {"cell_code": {"cmd": "electrode-ml cell_code", "deps": ["a.py", "b.py"],
                                                                 "outs": ["results/cells.json"]}}}))
    cell_code.main(["--pipeline", str(pipeline), "--out", str(out)])
    before = json.loads(out.read_text())["modules"]
    (tmp_path / "b.py").write_text("B = 2\n")
    cell_code.main(["--pipeline", str(pipeline), "--out", str(out)])
    after = json.loads(out.read_text())["modules"]
    assert list(after) == ["a.py", "b.py"] and after["a.py"] == before["a.py"] and after["b.py"] != before["b.py"]

    (tmp_path / "b.py").unlink()
    with pytest.raises(ElectrodeMLError, match="depends on b.py, which is not a file"):
        cell_code.module_digests(pipeline)
    pipeline.write_text(yaml.safe_dump({"stages": {"cv": {"cmd": "electrode-ml cv"}}}))
    with pytest.raises(ElectrodeMLError, match="no stage 'cell_code'"):
        cell_code.module_digests(pipeline)


@pytest.mark.parametrize("ignored", [True, False])
def test_bytecode_caches_leave_a_model_packages_hash_alone(tmp_path, ignored):
    """Python writes __pycache__ beside the sources unless PYTHONDONTWRITEBYTECODE is set, and a
    model's package is a folder dependency of its cells: the repository's .dvcignore keeps the
    caches out of its hash, so running the code leaves `dvc status` clean (without it, it does not)."""
    import os
    import shutil
    import subprocess
    import sys

    dvc = [sys.executable, "-m", "dvc"]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}

    def run(*command):
        return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, env=env, check=True).stdout

    run("git", "init", "-q")
    run(*dvc, "init", "-q")
    if ignored:
        shutil.copy(REPOSITORY / ".dvcignore", tmp_path / ".dvcignore")
    (tmp_path / "package").mkdir()
    (tmp_path / "package" / "model.py").write_text("WEIGHT = 1\n")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"cell": {
        "cmd": "cp package/model.py out.txt", "deps": ["package"], "outs": ["out.txt"]}}}))
    run(*dvc, "repro", "-q")
    (tmp_path / "package" / "__pycache__").mkdir()
    (tmp_path / "package" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\x00bytecode")
    status = run(*dvc, "status", "cell")
    assert ("modified:" not in status) == ignored, status
