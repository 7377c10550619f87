import json

from electrode_ml.commands.bench import compare, render_performance


def _record(device, timings, skipped=()):
    return {"device": device, "date": "2026-11-27", "timings": timings, "skipped": list(skipped),
            "versions": {"torch": "2.13.0", "crabnet": "2.0.8"}}


def test_comparison_with_the_last_run_on_the_device():
    current = _record("cpu", {"fit.modnet.seconds": 12.0, "fit.crabnet.device": "cpu"})
    assert compare(current, None) == ["no earlier run on this device to compare with"]
    lines = compare(current, _record("cpu", {"fit.modnet.seconds": 24.0}))
    assert lines == ["fit.modnet.seconds: 24.0 -> 12.0 (0.50x)"]


def test_performance_page_sets_devices_side_by_side(tmp_path):
    (tmp_path / "cpu.json").write_text(json.dumps(_record("cpu: 2 cores", {"fit.crabnet.epochs_per_second": 0.05})))
    (tmp_path / "gpu.json").write_text(json.dumps(_record("cuda: H100", {"fit.crabnet.epochs_per_second": 5.5},
                                                          skipped=["modnet"])))
    page = render_performance(tmp_path)
    assert "| Measurement | cpu: 2 cores | cuda: H100 |" in page
    assert "| fit.crabnet.epochs_per_second | 0.05 | 5.5 |" in page
    assert "| skipped | - | modnet |" in page
