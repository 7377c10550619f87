import json

import pytest

from electrode_ml.errors import ElectrodeMLError

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


def test_stage_seconds_come_from_each_stages_timing_file_and_runs_stand_side_by_side(tmp_path, monkeypatch):
    from electrode_ml.commands.bench import stage_seconds

    monkeypatch.chdir(tmp_path)
    for folder, record in (("cell", {"seconds": 12.5, "fits": 5}), ("report", {"cv.rf_magpie.seconds": 3.0})):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "timings.json").write_text(json.dumps(record))
    (tmp_path / "dvc.lock").write_text(
        "stages:\n"
        "  cv@rf_magpie-voltage-loco:\n    outs:\n    - path: cell/predictions.csv\n    - path: cell/timings.json\n"
        "  report:\n    outs:\n    - path: report/timings.json\n"
        "  train@modnet-voltage:\n    outs:\n    - path: absent/timings.json\n")
    # The report's file gathers the others (no `seconds` of its own); a stage not run here has no file.
    assert stage_seconds(tmp_path / "dvc.lock") == {"cv@rf_magpie-voltage-loco": 12.5}

    before, after = {"cv@a": 10.0, "cv@b": 4.0}, {"cv@a": 6.0}
    (tmp_path / "cpu.json").write_text(json.dumps({**_record("cpu: 2 cores", {}), "stages": {"before": before,
                                                                                          "after": after}}))
    page = render_performance(tmp_path)
    assert "| Stage | cpu: 2 cores: before | cpu: 2 cores: after |" in page
    assert "| cv@a | 10.0 | 6.0 |" in page and "| cv@b | 4.0 |  |" in page
    assert page.rstrip().endswith("| all stages | 14 | 6 |")


def test_the_screening_pool_is_distinct_new_candidates_of_candidates_where_the_first_round_is_short(real_raw):
    from electrode_ml.commands.bench import screening_pool
    from electrode_ml.data.electrodes import prepare_electrodes
    from electrode_ml.screening.generation import CandidateParams, generate_candidates

    prepared = prepare_electrodes(real_raw.sample(40, random_state=3))
    electrodes = prepared.electrodes.merge(prepared.pairs, on="battery_id")
    first, _, _ = generate_candidates(electrodes, CandidateParams(max_candidates=10**6))
    pool = screening_pool(electrodes, len(first) + 200)
    assert len(pool) == len(first) + 200 and not pool.duplicated().any()
    assert not set(zip(electrodes["composition"], electrodes["working_ion"])) & set(zip(pool["composition"], pool["working_ion"]))
    with pytest.raises(ElectrodeMLError, match="distinct candidates"):
        screening_pool(electrodes, 10**7)


def test_a_cpu_record_is_named_by_the_cpus_model_so_two_x86_64_machines_keep_two_records(tmp_path, monkeypatch):
    from electrode_ml.commands import bench

    cpu_info = tmp_path / "cpuinfo"
    processor = ("processor\t: {n}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 106\n"
                 "model name\t: Intel(R) Xeon(R) Processor @ 2.80GHz\nflags\t\t: fpu avx512f\n\n")
    cpu_info.write_text(processor.format(n=0) + processor.format(n=1))
    monkeypatch.setattr(bench, "device_description", lambda: "cpu: x86_64, 2 cores")
    device = bench.bench_device(cpu_info)
    assert device == "cpu: x86_64 Intel(R) Xeon(R) Processor @ 2.80GHz (family 6 model 106), 2 cores"
    assert bench.record_path(device).name == "cpu_x86_64_intel_r_xeon_r_processor_2_80ghz_family_6_model_106_2_cores.json"
    assert bench.bench_device(tmp_path / "absent") == "cpu: x86_64, 2 cores"  # no /proc/cpuinfo (macOS)
    monkeypatch.setattr(bench, "device_description", lambda: "cuda: NVIDIA H100 80GB HBM3")
    assert bench.bench_device(cpu_info) == "cuda: NVIDIA H100 80GB HBM3"
