"""Benchmark mastering one 90 s episode WAV against ffmpeg-normalize's podcast preset.

    python bench/bench_master.py                   # speech from the bundled Piper voice (qlora episode)
    python bench/bench_master.py --wav IN.wav      # or a WAV of your own
    python bench/bench_master.py --encoder-shifts  # re-measure ENCODER_SHIFT_DB in pipeline/audio/master.py

Prints, all from one run: our time (the `master_file` library call in a warm process, and a
fresh process doing what `episodes master IN -o OUT.mp3` does), ffmpeg-normalize's time
(`--preset podcast -c:a libmp3lame -b:a 128k`, the tool a producer would otherwise use), the
ratio, and both outputs' integrated loudness and true peak as ffmpeg's own ebur128 meter reads
them (dual mono for mono; it shares no code with the pipeline). Times are medians of --repeat
runs, ours and theirs alternating. ffmpeg-normalize finds ffmpeg through FFMPEG_PATH and is
run from this interpreter's bin folder, so the bench works from a fresh venv with no PATH set up.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.audio.codec import decode, decode_bytes, encode_mp3_bytes, ffmpeg_path, write_wav
from pipeline.audio.dsp import assemble, resample, trim_silence
from pipeline.audio.limiter import level
from pipeline.audio.loudness import integrated_lufs
from pipeline.audio.master import MasterSettings, master_file
from pipeline.settings import MP3_BITRATES_KBPS, MP3_SAMPLE_RATES_HZ, Production

EPISODE = REPO / "scripts" / "fine-tuning" / "03-qlora.md"
COLD_RUN = (
    "import sys; from pathlib import Path; "
    "from pipeline.audio.master import MasterSettings, master_file; from pipeline.settings import Production; "
    "result = master_file(Path(sys.argv[1]), MasterSettings.of(Production())); Path(sys.argv[2]).write_bytes(result.mp3)"
)


def speech_wav(path: Path) -> None:
    """The qlora episode spoken by the bundled Piper voice, assembled as the build does, at 44.1 kHz."""
    from pipeline.engines import load_engine
    from pipeline.script import parse_episode
    from pipeline.settings import load_voice
    from pipeline.text import load_lexicon, plan_utterances

    production = Production()
    voice = load_voice(REPO / "voices" / "joe.yaml")
    engine = load_engine(voice)
    plan = plan_utterances(parse_episode(EPISODE), load_lexicon(REPO / "voices" / "lexicon.yaml"),
                           voice.sentence_pause_ms, production.paragraph_pause_ms, production.max_pause_ms)
    clips = [(trim_silence(engine.synthesize(u.spoken, voice.rate), engine.sample_rate), u.pause_after_ms)
             for u in plan if u.spoken]
    audio, _ = assemble(clips, engine.sample_rate, production.lead_pad_ms, production.tail_pad_ms)
    write_wav(resample(audio, engine.sample_rate, production.sample_rate_hz), production.sample_rate_hz, path)


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBTP) by ffmpeg's ebur128, dual mono for mono, to 0.001."""
    result = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:dualmono=true:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    integrated = float(re.findall(r"lavfi\.r128\.I=(-?[\d.]+|-?inf|nan)", result.stdout)[-1])
    peak = float(re.findall(r"lavfi\.r128\.true_peak=([\d.]+)", result.stdout)[-1])
    return integrated, 20 * np.log10(max(peak, 1e-12))


def cpu_seconds() -> float:
    """CPU time used so far by this process (all threads) and the children it waited for."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one call."""
    started, cpu = time.perf_counter(), cpu_seconds()
    run()
    return time.perf_counter() - started, cpu_seconds() - cpu


def compare(wav: Path, workdir: Path, repeat: int) -> None:
    settings = MasterSettings.of(Production())
    ours_path, cold_path, theirs_path = workdir / "ours.mp3", workdir / "cold.mp3", workdir / "theirs.mp3"
    venv_bin = Path(sys.executable).parent
    env = {**os.environ, "FFMPEG_PATH": ffmpeg_path(), "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    theirs_command = [str(venv_bin / "ffmpeg-normalize"), str(wav), "--preset", "podcast", "-c:a", "libmp3lame",
                      "-b:a", "128k", "-o", str(theirs_path), "-f", "-q"]

    samples, rate = decode(wav)
    write_wav(samples[: 2 * rate], rate, workdir / "warm-up.wav")
    master_file(workdir / "warm-up.wav", settings)  # imports scipy.signal and soxr, as a long-lived build has

    runs: dict[str, list[tuple[float, float]]] = {"ours (warm process)": [], "ours (fresh process)": [],
                                                  "ffmpeg-normalize": []}
    passes = []
    for _ in range(repeat):
        def ours() -> None:
            result = master_file(wav, settings)
            ours_path.write_bytes(result.mp3)
            passes.append(result.passes)
        runs["ours (warm process)"].append(timed(ours))
        runs["ours (fresh process)"].append(timed(lambda: subprocess.run(
            [sys.executable, "-c", COLD_RUN, str(wav), str(cold_path)], check=True, capture_output=True, cwd=REPO)))
        runs["ffmpeg-normalize"].append(timed(lambda: subprocess.run(
            theirs_command, check=True, capture_output=True, env=env)))
    wall = {name: statistics.median(w for w, _ in times) for name, times in runs.items()}
    cpu = {name: statistics.median(c for _, c in times) for name, times in runs.items()}

    duration = len(samples) / rate
    print(f"mastering one {duration:.0f} s episode WAV to a 128 kbps MP3 (median of {repeat} runs, this machine, "
          f"load average {os.getloadavg()[0]:.1f}):")
    outputs = {"ours (warm process)": ours_path, "ours (fresh process)": cold_path, "ffmpeg-normalize": theirs_path}
    for name, path in outputs.items():
        lufs, peak = ebur128(path)
        print(f"  {name:22s} {wall[name]:6.2f} s wall, {cpu[name]:5.2f} s CPU -> I {lufs:7.2f} LUFS "
              f"({lufs - settings.target_lufs:+.2f} LU off -16), TP {peak:6.2f} dBTP   [ffmpeg ebur128, dual mono]")
    print(f"  encode+verify passes: {passes}")
    theirs = "ffmpeg-normalize"
    for name in ("ours (warm process)", "ours (fresh process)"):
        print(f"  ffmpeg-normalize / {name}: {wall[theirs] / wall[name]:.2f}x wall, {cpu[theirs] / cpu[name]:.2f}x CPU")


def encoder_shifts(wav: Path) -> None:
    """How much quieter the decoded MP3 reads than what went into the encoder, per setting."""
    speech, rate = decode(wav)
    speech = speech[: 30 * rate, 0]
    print("bitrate  " + "  ".join(f"{r:>6d}/{c}" for r in MP3_SAMPLE_RATES_HZ for c in (1, 2))
          + "   median at 32 kHz and up (MPEG-1)")
    for bitrate in MP3_BITRATES_KBPS:
        shifts: dict[tuple[int, int], float] = {}
        for out_rate in MP3_SAMPLE_RATES_HZ:
            mono = resample(speech, rate, out_rate)
            for channels in (1, 2):
                x = mono if channels == 1 else np.stack([mono, mono], axis=1)
                levelled = level(x, out_rate, -16.0, -1.0)
                decoded, decoded_rate = decode_bytes(encode_mp3_bytes(levelled, out_rate, bitrate))
                shifts[out_rate, channels] = integrated_lufs(levelled, out_rate) - integrated_lufs(decoded, decoded_rate)
        mpeg1 = statistics.median(shift for (out_rate, _), shift in shifts.items() if out_rate >= 32000)
        print(f"{bitrate:7d}  " + "  ".join(f"{s:8.3f}" for s in shifts.values()) + f"   {mpeg1:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", type=Path, help="master this WAV instead of synthesized speech")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each tool (medians are printed)")
    parser.add_argument("--encoder-shifts", action="store_true", help="measure the encoder's level shift table")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-master-") as temporary:
        workdir = Path(temporary)
        wav = args.wav
        if wav is None:
            wav = workdir / "speech.wav"
            speech_wav(wav)
        if args.encoder_shifts:
            encoder_shifts(wav)
        else:
            compare(wav, workdir, args.repeat)


if __name__ == "__main__":
    main()
