"""The package's layout is its architecture (docs/pipeline.md "Architecture"): every module belongs to one
part of that page's table, a part imports only from its own row and the rows above it, a part's
`__init__` imports nothing, and no two modules share a name."""
import ast
import re
from collections import Counter
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
PACKAGE = REPOSITORY / "src" / "electrode_ml"
MODEL_PACKAGES = PACKAGE / "models"


def architecture_rows(page: str) -> list[list[str]]:
    """The parts named in the first column of the Architecture table, one list per row."""
    section = page.split("## Architecture\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [re.findall(r"`([a-z_]+)`", row.split("|")[1]) for row in rows]


ROWS = architecture_rows((REPOSITORY / "docs" / "pipeline.md").read_text())
LEVEL = {part: level for level, row in enumerate(ROWS) for part in row}
MODULES = sorted(path for path in PACKAGE.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part_of(module: str) -> str | None:
    """`electrode_ml.evaluation.statistics` -> `evaluation`; the package itself belongs to no part."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def package_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import of the package in `path`, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from electrode_ml import paths` imports the module electrode_ml.paths
            found += ([(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
                      if node.module == "electrode_ml" else [(node.lineno, node.module)])
    return [(line, name) for line, name in found if name.split(".")[0] == "electrode_ml"]


def test_the_architecture_page_names_every_part_of_the_package_once():
    parts = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()
             if (path.suffix == ".py" and path.stem != "__init__") or (path / "__init__.py").exists()}
    named = [part for row in ROWS for part in row]
    assert sorted(named) == sorted(set(named)), f"named twice: {[p for p, n in Counter(named).items() if n > 1]}"
    assert set(named) == parts, f"in the package, not docs/pipeline.md: {sorted(parts - set(named))}; " \
                                f"in docs/pipeline.md, not the package: {sorted(set(named) - parts)}"


def upward_imports(path: Path, part: str) -> list[str]:
    """The imports in `path` of parts listed below `part` in docs/pipeline.md 'Architecture'."""
    return [f"line {line}: {name} ({part_of(name)})" for line, name in package_imports(path)
            if part_of(name) is not None and LEVEL[part_of(name)] > LEVEL[part]]


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_part_imports_only_from_its_own_row_and_the_rows_above(path):
    part = part_of(module_name(path))
    if part is None:
        return
    upward = upward_imports(path, part)
    assert not upward, f"{part} may not import a part listed below it in docs/pipeline.md 'Architecture': {upward}"


def test_an_upward_import_is_caught_inside_a_function_too(tmp_path):
    """A data module that imports a model's registry, even lazily, breaks the layering."""
    module = tmp_path / "electrodes.py"
    module.write_text("import pandas\n\ndef f():\n    from electrode_ml.models.registry import MODELS\n"
                      "    from electrode_ml import paths\n")
    assert upward_imports(module, "data") == ["line 4: electrode_ml.models.registry (models)"]


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("__init__.py")), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_a_parts_init_says_what_it_offers_and_imports_nothing(path):
    """Importing one module of a part must not run the others (a DVC stage depends on exactly what it
    runs). A model's package is the exception: its `__init__` is the estimator, whose import path
    is part of every saved model."""
    if path.parent.parent == MODEL_PACKAGES:
        return
    tree = ast.parse(path.read_text())
    assert ast.get_docstring(tree), "a part's __init__ says what it offers"
    imports = [node.lineno for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not imports, f"imports on lines {imports}"


def test_no_two_modules_share_a_name():
    """`stages/report.py` beside a `report.py` library module was two things called `report`."""
    names = Counter(path.stem if path.stem != "__init__" else path.parent.name for path in MODULES)
    names.subtract({"electrode_ml": 1})
    assert not [name for name, count in names.items() if count > 1], names.most_common(5)
