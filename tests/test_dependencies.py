"""dvc.yaml's `deps` match the code: every package module a stage's command imports (directly or
through other modules, at any depth, also inside functions) is a dependency of that stage, so
editing it reruns the stage; and the matrix stages read the model module of their own cell. The
numerical environment that `electrode-ml` pins before any command runs (`numerics`) is part of
every stage's code too."""
import ast
from pathlib import Path

import pytest
import yaml

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
    deps = [dep if isinstance(dep, str) else next(iter(dep)) for dep in stage.get("deps", [])]
    return [REPOSITORY / dep.replace("${item.model}", model or "") for dep in deps]


def covered(path: Path, deps: list[Path]) -> bool:
    return any(path == dep or dep in path.parents for dep in deps)


STAGES = yaml.safe_load((REPOSITORY / "dvc.yaml").read_text())["stages"]

# The cells that fit a model; `trust` is a cell too, but fits nothing and measures every model's
# intervals in one space, the Magpie features.
CELL_STAGES = sorted(name for name, stage in STAGES.items() if "matrix" in stage and name != "trust")


# The stages that load trained models by the names in params.yaml's screen block (unpickled or
# made by the registry, not imported): their models' packages are part of their code.
SCREEN = yaml.safe_load((REPOSITORY / "params.yaml").read_text())["screen"]
LOADED_MODELS = {"screen": SCREEN["models"], "discovery": [SCREEN["rank_model"]]}


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
