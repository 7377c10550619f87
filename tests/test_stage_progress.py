"""`electrode-ml stage-progress`: DVC's output passes through unchanged, with "stage k of n" lines."""
import subprocess
import sys

from electrode_ml.commands.stage_progress import progress_lines

DVC_OUTPUT = [
    "Stage 'prepare' didn't change, skipping\nRunning st",  # a line cut between two reads
    "age 'cv@control-voltage-loco':\n> electrode-ml cv ...\n",
    "cv control:  50%|#####     | 1/2\rcv control: 100%|##########| 2/2\n",  # a progress bar
    "Stage 'train@control-voltage' is cached - skipping run, checking out outputs\n",
    "Running stage 'cv@control-voltage-loco':\n",  # the same stage again is not counted twice
]


def test_every_byte_passes_and_each_stage_is_counted_once():
    ticks = iter(range(0, 1000, 75))
    written = list(progress_lines(iter(DVC_OUTPUT), total=5, clock=lambda: next(ticks)))
    assert "".join(text for text in written if not text.startswith("[stage")) == "".join(DVC_OUTPUT)
    assert [text for text in written if text.startswith("[stage")] == [
        "[stage 1 of 5, 1:15 elapsed]\n", "[stage 2 of 5, 2:30 elapsed]\n", "[stage 3 of 5, 3:45 elapsed]\n"]


def test_the_command_ends_with_its_input_and_keeps_progress_bars():
    text = b"Running stage 'report':\nbar 1\rbar 2\n"
    result = subprocess.run([sys.executable, "-m", "electrode_ml.cli", "stage-progress", "--total", "1"],
                            input=text, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"Running stage 'report':\n[stage 1 of 1, 0:0")
    assert result.stdout.endswith(b" elapsed]\nbar 1\rbar 2\n")
