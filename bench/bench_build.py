"""Benchmark production runs on the shipped series. Prints figures; asserts nothing.

    python bench/bench_build.py            # everything (about 8 minutes on 2 cores)
    python bench/bench_build.py --quick    # skip the two cold builds of the whole series

Figures: cold build wall time and pure synthesis time (the overhead ratio), speed-up of
--jobs 2 over --jobs 1, no-op and one-sentence-edit rebuild times (CLI, end to end), peak
memory, and one episode's post-processing against ffmpeg-normalize's podcast preset.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline import episode as episode_module  # noqa: E402
from pipeline.build import build  # noqa: E402
from pipeline.engines import load_engine  # noqa: E402
from pipeline.episode import Synthesizer, master, synthesize_fitted  # noqa: E402
from pipeline.audio.codec import decode, ffmpeg_path  # noqa: E402
from pipeline.tags import write_tags  # noqa: E402
from pipeline.jobs import BuildOptions, Project, plan_jobs  # noqa: E402
from pipeline.audio.loudness import measure  # noqa: E402
from pipeline.text import plan_utterances  # noqa: E402


def fresh_project(root: Path, name: str) -> Path:
    project = root / name
    shutil.copytree(REPO / "scripts", project / "scripts")
    shutil.copytree(REPO / "voices", project / "voices")
    return project


class TimedEngine:
    """Wraps an engine to add up the time spent inside synthesize()."""

    def __init__(self, engine):
        self.engine = engine
        self.sample_rate = engine.sample_rate
        self.identity = engine.identity
        self.seconds = 0.0

    def synthesize(self, text, rate):
        started = time.perf_counter()
        try:
            return self.engine.synthesize(text, rate)
        finally:
            self.seconds += time.perf_counter() - started


def cold_build(project: Path, jobs: int) -> tuple[float, float | None]:
    timed: dict[str, TimedEngine] = {}
    if jobs == 1:
        def timed_load(voice):
            return timed.setdefault(voice.name, TimedEngine(load_engine(voice)))
        episode_module.load_engine = timed_load
    started = time.perf_counter()
    report = build(Project(project), [], BuildOptions(jobs=jobs))
    wall = time.perf_counter() - started
    episode_module.load_engine = load_engine
    assert not report.failed, [r.error for r in report.results]
    return wall, (sum(t.seconds for t in timed.values()) if jobs == 1 else None)


def cli_seconds(project: Path, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "--project", str(project), "build", *args],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def one_sentence_edit(project: Path) -> float:
    script = project / "scripts" / "fine-tuning" / "03-qlora.md"
    text = script.read_text()
    script.write_text(text.replace("The catch is speed.", "The catch, though, is speed."))
    return cli_seconds(project)


def post_processing(project: Path, workdir: Path) -> None:
    """One episode: our loudness, limiter, encode, verify and tags vs ffmpeg-normalize."""
    jobs, _ = plan_jobs(Project(project), ["qlora"], BuildOptions())
    job = jobs[0]
    engine = load_engine(job.voice)
    plan = plan_utterances(job.episode, job.lexicon, job.voice.sentence_pause_ms,
                           job.production.paragraph_pause_ms, job.production.max_pause_ms)
    speech = synthesize_fitted(job, Synthesizer(engine, engine.identity, job.episode, job.production.max_pause_ms,
                                                Project(project).cache), plan, lambda m: None, False)
    wav = workdir / "speech.wav"
    from pipeline.audio.dsp import resample
    from pipeline.audio.codec import write_wav
    write_wav(resample(speech.audio, engine.sample_rate, 44100), 44100, wav)

    ours_path = workdir / "ours.mp3"
    started = time.perf_counter()
    mastered = master(job, speech.audio, engine.sample_rate, ours_path, lambda m: None)
    from pipeline.tags import TagValues
    write_tags(ours_path, TagValues(title="t", album="a", artist="a", genre="Podcast", copyright="", track=1,
                                    track_total=1, date="2026", summary="s", narration="n", language="en",
                                    cover=job.series.cover, custom={}))
    ours = time.perf_counter() - started

    theirs_path = workdir / "theirs.mp3"
    env = {**os.environ, "FFMPEG_PATH": ffmpeg_path()}
    started = time.perf_counter()
    subprocess.run(["ffmpeg-normalize", str(wav), "--preset", "podcast", "-c:a", "libmp3lame", "-b:a", "128k",
                    "-ar", "44100", "-o", str(theirs_path), "-f", "-q"], check=True, env=env, capture_output=True)
    theirs = time.perf_counter() - started
    their_report = measure(*decode(theirs_path))
    print(f"post-processing one {mastered.report.duration_s:.0f} s episode:")
    print(f"  ours              {ours:6.2f} s  -> I {mastered.report.integrated_lufs:.2f} LUFS (dual mono), "
          f"TP {mastered.report.true_peak_dbtp:.2f} dBTP, passes to verify on the MP3 included")
    print(f"  ffmpeg-normalize  {theirs:6.2f} s  -> I {their_report.integrated_single_channel_lufs:.2f} LUFS "
          f"(single channel, as loudnorm reads mono), TP {their_report.true_peak_dbtp:.2f} dBTP")
    print(f"  ratio ours / ffmpeg-normalize: {ours / theirs:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the cold builds of the whole series")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        one = fresh_project(root, "jobs1")
        if not args.quick:
            wall_1, synth_1 = cold_build(one, jobs=1)
            print(f"cold build, 16 episodes, --jobs 1: {wall_1:6.1f} s wall, {synth_1:6.1f} s in synthesis; "
                  f"everything else {wall_1 - synth_1:5.1f} s = {100 * (wall_1 - synth_1) / wall_1:.0f}% of the build")
            wall_2, _ = cold_build(fresh_project(root, "jobs2"), jobs=2)
            print(f"cold build, 16 episodes, --jobs 2: {wall_2:6.1f} s wall; speed-up {wall_1 / wall_2:.2f}x")
        else:
            cold_build(one, jobs=2)
        noop = min(cli_seconds(one) for _ in range(3))
        print(f"no-op rebuild (CLI, end to end, best of 3): {noop:5.2f} s")
        print(f"one-sentence edit of one episode (CLI, end to end): {one_sentence_edit(one):5.2f} s")
        post_processing(one, root)
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {self_rss:.0f} MB in the main process, {child_rss:.0f} MB in the largest worker or CLI run")


if __name__ == "__main__":
    main()
