"""Benchmark the speech check on a built series. Prints figures; asserts nothing.

    python bench/bench_asr.py --out out/fine-tuning            # a series built by `episodes build`
    python bench/bench_asr.py --out DIR --cold-build-s 42      # also the share of a cold build
    python bench/bench_asr.py --out DIR --tempo 1.25 --mos     # another tempo; DNSMOS timings

Figures: seconds (wall and CPU) to transcribe every sentence of the series (MP3 decoding is not
counted: the build already holds the decoded audio), the series' median and worst word error and
the flagged sentences, the time to re-check one edited sentence, and the ratio against Piper
synthesis of the same sentences measured in this process (and against a cold build, if given).
The sentence spans come from the manifest's captions; their text and lines from the scripts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.audio.codec import decode
from pipeline.commands.build import dry_run
from pipeline.engines import load_engine
from pipeline.plan import BuildOptions
from pipeline.project import Project, load_catalog
from pipeline.qa.asr import TEMPO, Clip, load_asr, transcribe_many
from pipeline.qa.check import EpisodeSpeech, check_speech
from pipeline.qa.score import Sentence, summarise
from pipeline.speech_check import sentences_of

TARGET_SHARE = 0.25
"""Issue 12: checking the series may cost at most this share of a cold build."""


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


def series_sentences(project: Path, out: Path) -> list[tuple[str, float, object, list[Sentence]]]:
    """(file, rate factor, voice, sentences) per built episode of the series in `out`: text and lines
    from the scripts, places in the audio from the manifest."""
    plan = dry_run(Project(project), [], BuildOptions())
    if plan.errors:
        raise SystemExit("\n".join(str(e) for e in plan.errors))
    episodes = []
    for step in plan.steps:
        entry = plan.entries.get(step.job.series.slug, {}).get(step.job.file)
        if step.job.out_path.parent.name != out.name or entry is None or not entry.sentences:
            continue
        episodes.append((step.job.file, entry.rate_factor or 1.0, step.job.voice, sentences_of(step.job, entry)))
    if not episodes:
        raise SystemExit(f"no built episode of {project} found in {out}")
    return episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "out" / "fine-tuning",
                        help="folder of a built series: its MP3s and manifest.json")
    parser.add_argument("--project", type=Path, default=REPO, help="project whose scripts built it")
    parser.add_argument("--tempo", type=float, default=TEMPO)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--cold-build-s", type=float, default=None, help="cold build time to compare with")
    parser.add_argument("--mos", action="store_true", help="also time DNSMOS per episode")
    args = parser.parse_args()
    if not (args.out / "manifest.json").is_file():
        raise SystemExit(f"no manifest.json in {args.out}: build the series first (episodes build)")

    episodes = series_sentences(args.project, args.out)
    started = clock()
    audio = [decode(args.out / name, 16000)[0] for name, *_ in episodes]
    decode_s = since(started)[0]
    sentence_count = sum(len(s) for *_, s in episodes)
    speech_s = sum(s.end_s - s.start_s for *_, ss in episodes for s in ss)
    print(f"series: {len(episodes)} episodes, {sentence_count} sentences, {speech_s:.0f} s of speech "
          f"(decoding the MP3s: {decode_s:.1f} s, not counted)")

    started = clock()
    model = load_asr(threads=args.threads, tempo=args.tempo)
    load_s = since(started)[0]
    lexicon = load_catalog(Project(args.project)).lexicon
    speech = [EpisodeSpeech(a, 16000, ss) for a, (*_, ss) in zip(audio, episodes)]
    started = clock()
    first = check_speech(model, speech, lexicon, relisten=False)
    asr_wall, asr_cpu = since(started)
    started = clock()
    checks = check_speech(model, speech, lexicon)
    full_wall, full_cpu = since(started)
    print(f"ASR (tiny.en, tempo {args.tempo}, {model.workers} workers): model load {load_s:.2f} s")
    for label, result, wall, cpu in (("one greedy reading", first, asr_wall, asr_cpu),
                                     ("flagged sentences read again", checks, full_wall, full_cpu)):
        summary = summarise([c for episode in result for c in episode])
        print(f"  {label}: {wall:.2f} s wall, {cpu:.2f} s CPU; word error median {summary['median_word_error']:.3f}, "
              f"worst {summary['worst_word_error']:.3f}, mean {summary['mean_word_error']:.3f}; "
              f"flagged {summary['flagged']} of {summary['sentences']}")
    for (name, *_), episode_checks in zip(episodes, checks):
        for check in episode_checks:
            if check.flagged:
                print(f"  {name}:{check.line}: error {check.word_error:.2f}, wrong run {check.wrong_run}\n"
                      f"      expected: {' '.join(check.expected)}\n      heard:    {' '.join(check.heard)}")
    asr_wall, asr_cpu = full_wall, full_cpu

    name, _, _, sentences = episodes[0]
    longest = max(sentences, key=lambda s: s.end_s - s.start_s)
    started = clock()
    transcribe_many(model, [Clip(audio[0], 16000, [(longest.start_s, longest.end_s)])])
    print(f"re-checking one edited sentence ({longest.end_s - longest.start_s:.1f} s): {since(started)[0]:.2f} s")

    engine = load_engine(episodes[0][2])
    started = clock()
    for _, factor, voice, sentences in episodes:
        for sentence in sentences:
            engine.synthesize(sentence.spoken, voice.rate * factor)
    piper_wall, piper_cpu = since(started)
    print(f"Piper synthesis of the same {sentence_count} sentences: {piper_wall:.2f} s wall, {piper_cpu:.2f} s CPU")
    print(f"ASR / Piper: {asr_wall / piper_wall:.2f} (wall), {asr_cpu / piper_cpu:.2f} (CPU)")
    if args.cold_build_s:
        print(f"ASR / cold build ({args.cold_build_s:g} s): {asr_wall / args.cold_build_s:.2f} "
              f"(target <= {TARGET_SHARE:.2f})")

    if args.mos:
        from pipeline.qa.mos import dnsmos

        seconds, overall = [], []
        for samples in audio:
            started = clock()
            overall.append(dnsmos(samples, 16000).overall)
            seconds.append(since(started)[0])
        print(f"DNSMOS: {statistics.fmean(seconds):.2f} s per episode ({sum(seconds):.1f} s for the series); "
              f"overall median {statistics.median(overall):.2f}, lowest {min(overall):.2f}")


if __name__ == "__main__":
    main()
