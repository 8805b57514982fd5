"""A produced show through the whole build: intro, ducked bed and outro, recorded narration, and
the duration fit with room; every figure read back from the decoded MP3."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from pipeline.audio.codec import decode, write_wav
from pipeline.commands.build import build
from pipeline.plan import BuildOptions
from pipeline.project import Project

from .conftest import episode_text, ffmpeg_ebur128
from .tone_engine import ToneEngine

RATE = 44100
BED_HZ, INTRO_HZ = 3000.0, 1200.0


def tone(seconds: float, hz: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def band_db(audio: np.ndarray, start_s: float, end_s: float, hz: float) -> float:
    """Level of a narrow band around `hz` in a stretch of the decoded file (FFT, Hann window)."""
    piece = audio[int(start_s * RATE): int(end_s * RATE)]
    spectrum = np.abs(np.fft.rfft(piece * np.hanning(len(piece))))
    freqs = np.fft.rfftfreq(len(piece), 1 / RATE)
    band = (freqs > hz - 60) & (freqs < hz + 60)
    return 20 * np.log10(np.sqrt(np.sum(spectrum[band] ** 2)) + 1e-12)


def sound_project(project: Path) -> Path:
    series = project / "scripts" / "test-series"
    (series / "sound").mkdir()
    write_wav(tone(2.0, INTRO_HZ), RATE, series / "sound" / "intro.wav")
    write_wav(tone(1.5, 600.0), RATE, series / "sound" / "outro.wav")
    write_wav(tone(4.0, BED_HZ, 0.2), RATE, series / "sound" / "bed.wav")
    yaml = (series / "series.yaml").read_text().replace("production:\n", "production:\n  max_pause_ms: 2500\n")
    (series / "series.yaml").write_text(yaml + "sound:\n  intro: sound/intro.wav\n  outro: sound/outro.wav\n"
                                        "  bed: sound/bed.wav\n  bed_gain_db: -18\n  duck_db: -12\n")
    body = ("The first sentence has a handful of ordinary words. A second sentence follows it.\n\n"
            "[pause 2s]\n\nA new paragraph starts after a long pause. It ends the episode.")
    (series / "01-alpha.md").write_text(episode_text(1, "alpha", body))
    return project


def test_intro_bed_and_outro_are_mixed_ducked_and_mastered(project, tone_engine):
    sound_project(project)
    result = build(Project(project), ["alpha"], BuildOptions(jobs=1)).results[0]
    assert result.status == "built", result.error
    path = project / "out" / "test-series" / "01-alpha.mp3"
    audio, rate = decode(path)
    audio = audio[:, 0]
    assert rate == RATE
    sentences = result.sentences
    first_start = sentences[0]["start_s"]
    assert first_start >= 2.0 - 0.5  # after the intro, less the crossfade
    assert band_db(audio, 0.2, 1.2, INTRO_HZ) > band_db(audio, first_start + 0.5, first_start + 1.5, INTRO_HZ) + 20
    # The bed: down under speech, up again in the two-second pause.
    start = sentences[0]["start_s"]
    gap_start, gap_end = sentences[1]["end_s"], sentences[2]["start_s"]
    assert gap_end - gap_start >= 2.0
    under = band_db(audio, start + 0.3, start + 0.8, BED_HZ)  # equal stretches: comparable band energies
    pause = band_db(audio, gap_start + 1.0, gap_start + 1.5, BED_HZ)
    depth = pause - under
    assert depth >= 9.0
    # The whole programme is mastered: loudness and peak hold for the mix.
    oracle = ffmpeg_ebur128(path)
    assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
    assert oracle["true_peak_dbtp"] <= -1.0 + 0.05
    # Captions are shifted by the intro; the duration gate judges the narration.
    vtt = (path.with_suffix(".vtt")).read_text()
    assert "00:00:00.000 -->" not in vtt
    assert result.fit["programme_extra_s"] > 2.0
    assert all(g["passed"] for g in result.gates if g["name"] == "duration")


def test_sound_off_in_front_matter_builds_the_narration_alone(project, tone_engine):
    sound_project(project)
    script = project / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(script.read_text().replace("tags: [Testing]\n", "tags: [Testing]\nsound: off\n"))
    result = build(Project(project), ["alpha"], BuildOptions(jobs=1)).results[0]
    assert result.status == "built" and result.fit["programme_extra_s"] == 0.0
    assert result.sentences[0]["start_s"] == pytest.approx(0.3, abs=0.06)  # just the lead pad


def test_a_missing_sound_file_names_series_yaml_and_its_line(project, tone_engine):
    sound_project(project)
    (project / "scripts" / "test-series" / "sound" / "bed.wav").unlink()
    report = build(Project(project), ["alpha"], BuildOptions(jobs=1))
    message = str(report.errors[0])
    assert "series.yaml:" in message and "bed" in message


def test_a_recorded_narration_builds_like_the_others(project, tone_engine):
    engine = ToneEngine()
    sentences = ["The first sentence has a handful of ordinary words.", "A second sentence follows it closely.",
                 "A new paragraph starts here after a pause.", "It ends the episode with a few more words to say."]
    pieces = []
    for _index, text in enumerate(sentences):
        pieces += [engine.synthesize(text, 1.0), np.zeros(int(0.5 * engine.sample_rate), dtype=np.float32)]
    recording = np.concatenate(pieces)
    folder = project / "scripts" / "test-series" / "recordings"
    folder.mkdir()
    write_wav(recording, engine.sample_rate, folder / "alpha.wav")
    script = project / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(script.read_text().replace("tags: [Testing]\n", "tags: [Testing]\naudio: recordings/alpha.wav\n"))
    tone_engine.calls.clear()
    report = build(Project(project), ["alpha"], BuildOptions(jobs=1))
    result = report.results[0]
    assert result.status == "built", result.error
    assert tone_engine.calls == []  # nobody synthesized anything
    path = project / "out" / "test-series" / "01-alpha.mp3"
    oracle = ffmpeg_ebur128(path)
    assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
    assert str(ID3(path)["TRCK"]) == "1/3"
    assert len(result.sentences) == 4 and result.fit["rate_factor"] == 1.0
    manifest = json.loads((project / "out" / "test-series" / "manifest.json").read_text())
    assert manifest["episodes"][0]["sentences"][1]["start_s"] > manifest["episodes"][0]["sentences"][0]["end_s"]


def _script_of_seconds(project: Path, seconds: float) -> None:
    """A script whose natural length with the tone voice is about `seconds`."""
    sentence = "Every ordinary sentence here carries about the same number of letters."
    count = max(1, int(round((seconds - 1.0) / 4.06)))
    body = "\n\n".join(" ".join([sentence] * 2) for _ in range(count // 2)) + ("\n\n" + sentence if count % 2 else "")
    (project / "scripts" / "test-series" / "01-alpha.md").write_text(episode_text(1, "alpha", body))


@pytest.mark.parametrize("natural_s", [72.0, 108.0])
def test_scripts_far_from_length_land_in_the_window(project, tone_engine, natural_s):
    _script_of_seconds(project, natural_s)
    overrides = {"target_duration_s": 90.0, "duration_tolerance_s": 10.0}
    result = build(Project(project), ["alpha"], BuildOptions(jobs=1, overrides=overrides)).results[0]
    assert result.status == "built", result.error
    assert result.fit["start_s"] == pytest.approx(natural_s, abs=4.0)
    assert 80.0 <= result.duration_s <= 100.0
    assert not result.warnings
    spoken = (project / "scripts" / "test-series" / "01-alpha.md").read_text().count("Every ordinary sentence")
    assert len(result.sentences) == spoken + 1  # every sentence is there, and the disclosure, with its caption
    vtt = (project / "out" / "test-series" / "01-alpha.vtt").read_text()
    assert vtt.count("Every ordinary sentence") == spoken
