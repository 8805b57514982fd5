"""How the pipeline's own cost grows with a series' size. Prints figures; asserts nothing.

    python bench/bench_scale.py                  # 16, 256 and 1000 episodes (about 15 minutes on 2 cores)
    python bench/bench_scale.py --sizes 16 64    # other sizes (the first is the reference)

Speech costs nothing here: the tests' tone engine (tests/tone_engine.py, registered as an engine
plugin the way an installed package would be) speaks every sentence, so what is measured is the
pipeline itself. For each size a series of that many episodes is generated (8 sentences of their
own each), and in a fresh process of its own, each with the CLI's code path:

    cold      build from nothing (driver CPU per episode, and wall time)
    no-op     build again
    edit      one sentence of one episode changed
    copyright the series' copyright line changed: every episode re-tagged in place
    check     every gate on out/ (`episodes check`)
    publish   the public site (`episodes publish`)

Each figure is per episode, printed with its ratio to the first (smallest) size's figure measured
in the same run (flat = 1.0), and the peak memory of the driver and of its largest child process (a worker, or ffmpeg),
read from /proc (Linux).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("cold", "no-op", "edit", "copyright", "check", "publish")
SERIES_YAML = """\
title: Scale Test
topic: Growth
author: Bench
description: Generated episodes for the scale benchmark.
copyright: "{copyright}"
base_url: https://example.org/scale
production:
  target_duration_s: 14
  duration_tolerance_s: 6
"""
WORDS = ("model", "weights", "adapter", "training", "data", "layer", "token", "rank", "update", "loss", "batch",
         "gradient", "prompt", "answer", "signal")


def episode(number: int) -> str:
    """An episode of eight sentences no other episode says."""
    sentences = []
    for index in range(8):
        words = [WORDS[(number * 7 + index * 3 + k) % len(WORDS)] for k in range(6)]
        sentences.append(f"Episode {number} sentence {index} says {' '.join(words)}.")
    body = " ".join(sentences[:4]) + "\n\n" + " ".join(sentences[4:])
    return (f"---\ntitle: Generated episode {number}\nepisode: {number}\nslug: part-{number}\ndate: 2026-01-01\n"
            f"summary: Episode {number} of the scale test.\n---\n{body}\n")


def make_project(root: Path, size: int) -> Path:
    (root / "voices").mkdir(parents=True)
    (root / "voices" / "joe.yaml").write_text("engine: tone\nmodel: tone\nsentence_pause_ms: 400\n")
    series = root / "scripts" / "scale"
    series.mkdir(parents=True)
    (series / "series.yaml").write_text(SERIES_YAML.format(copyright="2026 Bench"))
    for number in range(1, size + 1):
        (series / f"{number:04d}-part-{number}.md").write_text(episode(number))
    return root


def register_tone_engine(folder: Path) -> None:
    """The tests' tone engine as an installed engine plugin, here and in worker processes."""
    info = folder / "tone_test_engine-1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tone-test-engine\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[audio_overviews.engines]\ntone = tests.tone_engine:SPEC\n")
    sys.path[:0] = [str(REPO), str(folder)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(folder), os.environ.get("PYTHONPATH", "")])


def timed(action) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    return time.perf_counter() - wall, time.process_time() - cpu


class ChildPeak:
    """The largest peak resident memory (VmHWM) of this process's children (the build's worker
    processes, ffmpeg), read from /proc every 0.1 s while the steps run. `RUSAGE_CHILDREN` cannot
    say it: a child that forks and execs keeps the parent's peak from before the exec."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ChildPeak:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.done.set()
        self.thread.join()

    def _watch(self) -> None:
        me = str(os.getpid())
        while not self.done.wait(0.1):
            for status in Path("/proc").glob("[0-9]*/status"):
                try:
                    fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
                except OSError:
                    continue  # the process ended
                if fields.get("PPid", "").strip() == me and "VmHWM" in fields:
                    self.peak_kb = max(self.peak_kb, int(fields["VmHWM"].split()[0]))


def measure_size(size: int, root: Path) -> dict[str, object]:
    """Every step on a series of `size` episodes, in this process (the driver)."""
    register_tone_engine(root / "plugins")
    from typer.testing import CliRunner

    from pipeline.cli import app

    project = make_project(root / "project", size)
    runner = CliRunner()

    def cli(*args: str) -> None:
        result = runner.invoke(app, ["--project", str(project), *args])
        if result.exit_code not in (0, 1):
            raise SystemExit(f"episodes {' '.join(args)} exited {result.exit_code}:\n{result.output}")

    figures: dict[str, object] = {"size": size}
    with ChildPeak() as children:
        figures["cold"] = timed(lambda: cli("build"))
        figures["no-op"] = timed(lambda: cli("build"))
        script = project / "scripts" / "scale" / f"{size // 2:04d}-part-{size // 2}.md"
        script.write_text(script.read_text().replace("sentence 2 says", "sentence 2 now says"))
        figures["edit"] = timed(lambda: cli("build"))
        series = project / "scripts" / "scale" / "series.yaml"
        series.write_text(SERIES_YAML.format(copyright="2027 Bench"))
        figures["copyright"] = timed(lambda: cli("build"))
        figures["check"] = timed(lambda: cli("check"))
        figures["publish"] = timed(lambda: cli("publish"))
    figures["driver_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["worker_mb"] = children.peak_kb / 1024
    return figures


def run_size(size: int) -> dict[str, object]:
    """One size in a fresh process, so its peak memory is its own."""
    result = subprocess.run([sys.executable, __file__, "--one", str(size)], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"size {size} failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(all_figures: list[dict[str, object]]) -> None:
    reference = all_figures[0]
    base = int(reference["size"])
    print(f"{'episodes':>8}  {'step':<10} {'wall s':>8} {'per ep ms':>10} {'ratio':>6}   {'driver CPU/ep ms':>16} {'ratio':>6}")
    for figures in all_figures:
        size = int(figures["size"])
        for step in STEPS:
            wall, cpu = figures[step]
            ref_wall, ref_cpu = reference[step]
            per, ref_per = wall / size * 1000, ref_wall / base * 1000
            cpu_per, ref_cpu_per = cpu / size * 1000, ref_cpu / base * 1000
            print(f"{size:>8}  {step:<10} {wall:>8.2f} {per:>10.1f} {per / ref_per:>6.2f}   {cpu_per:>16.1f} "
                  f"{cpu_per / ref_cpu_per:>6.2f}")
        print(f"{size:>8}  peak memory: driver {figures['driver_mb']:.0f} MB "
              f"({figures['driver_mb'] / reference['driver_mb']:.2f}x), largest child process {figures['worker_mb']:.0f} MB "
              f"({figures['worker_mb'] / reference['worker_mb']:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 256, 1000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if args.one:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder:
            print(json.dumps(measure_size(args.one, Path(folder))))
        return
    all_figures = []
    for size in args.sizes:
        print(f"measuring {size} episodes ...", file=sys.stderr, flush=True)
        all_figures.append(run_size(size))
    report(all_figures)


if __name__ == "__main__":
    main()
