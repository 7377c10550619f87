"""`dvc repro ... | electrode-ml stage-progress --total N`: DVC's output, unchanged, with a line
"stage k of N, time elapsed" after each stage DVC starts or skips.

DVC names each stage as it reaches it ("Running stage 'x':", "Stage 'x' didn't change,
skipping", "Stage 'x' is cached - skipping run, checking out outputs") but never says how far
the whole run is. Everything read is written on at once, progress bars (carriage returns)
included; only complete lines are matched. Ctrl-C is left to DVC: this filter ignores it and ends
when DVC closes the pipe, so DVC's last words still get through.
"""
from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import time

STAGE_LINE = re.compile(r"^(?:Running stage '(?P<run>[^']+)':|Stage '(?P<skip>[^']+)' (?:didn't change|is cached))")


def progress_lines(chunks, total: int, clock=time.monotonic):
    """Yield what to write for each chunk read: its text, with a progress line right after each
    complete line that names a stage for the first time."""
    started, seen, pending = clock(), set(), ""
    for chunk in chunks:
        *complete, rest = chunk.split("\n")
        for piece in complete:
            line, pending = pending + piece, ""
            yield piece + "\n"
            match = STAGE_LINE.match(line.rsplit("\r", 1)[-1])
            if match and (match.group("run") or match.group("skip")) not in seen:
                seen.add(match.group("run") or match.group("skip"))
                minutes, seconds = divmod(int(clock() - started), 60)
                yield f"[stage {len(seen)} of {total}, {minutes}:{seconds:02d} elapsed]\n"
        pending += rest
        if rest:
            yield rest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="electrode-ml stage-progress", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, required=True, help="stages in the pipeline (dvc stage list | wc -l)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stdin = sys.stdin.fileno()
    chunks = iter(lambda: os.read(stdin, 65536).decode("utf-8", errors="replace"), "")
    for text in progress_lines(chunks, args.total):
        sys.stdout.write(text)
        sys.stdout.flush()
