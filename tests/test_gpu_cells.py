"""scripts/gpu_crabnet_cells.py, the CrabNet cells' runner for a CUDA machine without DVC: its
cells are DVC's CrabNet cells by name (so `dvc commit` records what it wrote), and its deadline
rule starts no cell that might not finish."""
import importlib.util
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def _runner():
    spec = importlib.util.spec_from_file_location("gpu_crabnet_cells", REPOSITORY / "scripts" / "gpu_crabnet_cells.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cells_are_dvcs_crabnet_cells():
    dvc = str(Path(sys.executable).parent / "dvc")
    listed = subprocess.run([dvc, "stage", "list", "--name-only"], cwd=REPOSITORY, capture_output=True, text=True,
                            check=True).stdout.split()
    crabnet = {name for name in listed if "@crabnet-" in name and not name.startswith("repeated_cv@")}
    cells = _runner().cells(REPOSITORY / "params.yaml")
    assert cells[0] == ("parity", [])
    assert {name for name, _ in cells[1:]} == crabnet
    for name, argv in cells[1:]:
        stage, rest = name.split("@")
        assert argv[0] == stage and "crabnet" in argv and rest.removeprefix("crabnet-").split("-")[0] in argv


def test_a_cell_is_expected_to_take_as_long_as_the_longest_of_its_kind():
    expected = _runner().expected_seconds
    assert expected("cv@crabnet-voltage-loco", {}) == 0.0  # nothing known: the first cell always starts
    finished = {"parity": 20.0, "cv@crabnet-voltage-stratified5": 30.0, "cv@crabnet-voltage-loco": 45.0}
    assert expected("cv@crabnet-grav_capacity-loco", finished) == 45.0
    assert expected("bootstrap@crabnet-voltage", finished) == 90.0  # a new kind: twice the longest cell
    finished["bootstrap@crabnet-voltage"] = 200.0
    assert expected("bootstrap@crabnet-grav_capacity", finished) == 200.0
