"""Benchmark production runs on the shipped series. Prints figures; asserts nothing.

    python bench/bench_build.py            # everything (about 5 minutes on 2 cores)
    python bench/bench_build.py --quick    # skip the cold builds (uses one build for the rest)

Every figure is printed with a reference measured in the same run, because the machines are shared
and noisy:
- cold build of the 16 episodes against Piper alone speaking the same sentences with the same cores
  (the issue's target: at most 1.25x);
- rebuilds after each kind of change (no-op, the median of 5; one sentence, the median of 3 edits;
  one lexicon entry touching one episode; a copyright line; a 17th episode), end to end through the
  CLI with the package's bytecode compiled, against the interpreter's own start-up;
- which MP3s each change rewrote, proven by the decoded audio's checksum;
- peak memory of the driver and of the largest worker.
"""

from __future__ import annotations

import argparse
import compileall
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import itertools

from pipeline.audio.codec import ffmpeg_path
from pipeline.engines import load_engine
from pipeline.fingerprint import Memo
from pipeline.plan import BuildOptions, plan_build
from pipeline.project import Project, load_catalog, select
from pipeline.state import Store

SERIES = "fine-tuning"
EDITS = [f"so {word}little information is lost." for word in ("", "very ", "truly ", "remarkably ")]
"""Successive versions of one sentence of 03-qlora: three edits."""


def seconds_list(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def fresh_project(root: Path, name: str) -> Path:
    project = root / name
    shutil.copytree(REPO / "scripts", project / "scripts")
    shutil.copytree(REPO / "voices", project / "voices")
    return project


def cli(project: Path, *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pipeline.cli", "--project", str(project), *args],
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode not in (0, 1):
        raise SystemExit(f"episodes {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def python_startup() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def _speak_share(args: tuple[list[tuple[str, float]], Path, int]) -> float:
    """One process: load the voice, speak its share of the sentences; returns the seconds."""
    sentences, voice_path, threads = args
    os.environ["EPISODES_THREADS"] = str(threads)
    from pipeline.settings import load_voice

    engine = load_engine(load_voice(voice_path))
    started = time.perf_counter()
    for text, rate in sentences:
        engine.synthesize(text, rate)
    return time.perf_counter() - started


def piper_alone(project: Path, workers: int) -> tuple[float, int]:
    """Wall time for Piper alone to speak every planned sentence of the series, split over
    `workers` processes as the build splits them (model loading included, as in a build)."""
    catalog = load_catalog(Project(project))
    plan = plan_build(Project(project), catalog, select(catalog, []), BuildOptions(), Memo(None), Store(None))
    sentences = sorted({(u.spoken, s.job.voice.rate) for s in plan.steps for u in s.job.utterances if u.spoken})
    shares = [sentences[i::workers] for i in range(workers)]
    voice = project / "voices" / "joe.yaml"
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(_speak_share, [(share, voice, max(1, (os.cpu_count() or 1) // workers)) for share in shares])
    return time.perf_counter() - started, len(sentences)


def decoded_md5(path: Path) -> str:
    result = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def audio_state(project: Path) -> dict[str, tuple[str, bytes]]:
    folder = project / "out" / SERIES
    return {p.name: (decoded_md5(p), p.read_bytes()) for p in sorted(folder.glob("*.mp3"))}


def changed(before: dict[str, tuple[str, bytes]], after: dict[str, tuple[str, bytes]]) -> tuple[list[str], list[str]]:
    """(files whose decoded audio changed, files whose bytes changed)."""
    audio = [name for name in after if name not in before or before[name][0] != after[name][0]]
    files = [name for name in after if name not in before or before[name][1] != after[name][1]]
    return audio, files


def rebuild(project: Path, before: dict[str, tuple[str, bytes]]) -> tuple[float, str, dict[str, tuple[str, bytes]], list[str], list[str]]:
    """Build after a change: seconds, the CLI's output, the new audio state, and the files whose
    decoded audio and whose bytes changed against `before`."""
    seconds, output = cli(project, "build")
    after = audio_state(project)
    return (seconds, output, after, *changed(before, after))


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the cold-build comparison")
    args = parser.parse_args()
    workers = os.cpu_count() or 1
    # Steady state: Python caches the package's bytecode on its first run, unless
    # PYTHONDONTWRITEBYTECODE is set (as on the CI machines), which would make every run compile.
    compileall.compile_dir(REPO / "pipeline", quiet=1)
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        project = fresh_project(root, "project")
        print(f"machine: {os.cpu_count()} cores; series: 16 episodes of {SERIES}")

        if not args.quick:
            alone, count = piper_alone(project, workers)
            print(f"Piper alone, {count} sentences in {workers} processes: {alone:.1f} s")
        started = time.perf_counter()
        _, output = cli(project, "build")
        cold = time.perf_counter() - started
        print(f"cold build, CLI end to end (default workers): {cold:.1f} s"
              + ("" if args.quick else f" = {cold / alone:.2f}x Piper alone (target <= 1.25x)"))
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"peak memory of the largest process the build started: {usage.ru_maxrss / 1024:.0f} MB")
        cache = Project(project).cache
        stored = cache.stats()
        as_float = sum(len(cache.get(key)[0]) * 4 for key in cache.stored_keys())
        print(f"sentence cache: {stored.entries} entries, {stored.bytes / 1e6:.1f} MB = "
              f"{stored.bytes / 16 / 1e6:.2f} MB per episode (target <= 2 MB); as float32 it would be "
              f"{as_float / 1e6:.1f} MB ({stored.bytes / as_float:.2f}x)")

        startup = python_startup()
        noops = [cli(project, "build")[0] for _ in range(5)]
        noop = statistics.median(noops)
        print(f"no-op rebuild: {noop:.2f} s, median of {seconds_list(noops)} (target <= 0.3 s); "
              f"python's own start-up {startup:.2f} s = {noop / startup:.1f}x")

        after = audio_state(project)
        scripts = project / "scripts" / SERIES
        edits, changed_audio = [], []
        for old, new in itertools.pairwise(EDITS):  # each a sentence never spoken before: synthesised
            edit(scripts / "03-qlora.md", old, new)
            seconds, _, after, audio, files = rebuild(project, after)
            edits.append(seconds)
            changed_audio.append(audio)
        one = statistics.median(edits)
        print(f"one-sentence edit: {one:.2f} s, median of {seconds_list(edits)} (target <= 2 s) = "
              f"{one / noop:.1f}x a no-op; decoded audio changed in {changed_audio}")

        lexicon = project / "voices" / "lexicon.yaml"
        edit(lexicon, "SLERP: slurp", "SLERP: slerp")  # a term only 07-model-merging says
        lex, _, after, audio, files = rebuild(project, after)
        print(f"lexicon entry touching one episode: {lex:.2f} s; MP3s changed: {files} (target: exactly one)")

        series_yaml = scripts / "series.yaml"
        edit(series_yaml, 'copyright: "2026 GenAI Explained"', 'copyright: "2027 GenAI Explained"')
        copyright_s, _, after, audio, files = rebuild(project, after)
        print(f"copyright change: {copyright_s:.2f} s (target <= 2 s) = {copyright_s / noop:.1f}x a no-op; "
              f"re-tagged {len(files)} files, decoded audio changed in {len(audio)} (target 0)")

        extra = (scripts / "16-alignment-tax.md").read_text().replace("episode: 16", "episode: 17")
        (scripts / "17-alignment-tax-two.md").write_text(extra.replace("slug: alignment-tax", "slug: alignment-tax-two"))
        added, output, after, audio, files = rebuild(project, after)
        print(f"a 17th episode: {added:.2f} s; new or changed files: {len(files)} (16 re-tagged as n/17, "
              f"1 built), decoded audio changed in {audio}")
        print(output.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
