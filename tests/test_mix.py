"""Production sound: sound settings, intro/outro crossfades, the ducked bed, loops, and the plot.

Sounds are generated (chords, tone-burst speech); the mix is measured on what comes out: the bed
alone is the mix less the narration, the narration is found in the mix by cross-correlation.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.signal import correlate

from pipeline.audio.codec import ffmpeg_path, write_wav
from pipeline.audio.dsp import assemble, resample, trim_silence
from pipeline.audio.loudness import integrated_lufs
from pipeline.audio.mix import SoundDesign, added_seconds, bed_level_db, loop_to_length, merge_sound, mix_programme
from pipeline.errors import AudioError, ConfigError
from pipeline.plots import BED_COLOUR, render_plot
from pipeline.settings import parse_yaml_mapping

from .tone_engine import ToneEngine

RATE = 44100
SENTENCES = [
    "The first sentence has a handful of ordinary words.",
    "A second sentence follows it closely.",
    "After a long pause another sentence begins here.",
    "And the last one ends the episode.",
]
PAUSES_MS = [350, 2000, 350, 0]
"""The second pause is a `[pause 2s]`."""


def narration(lead_ms: int = 300, tail_ms: int = 700) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Tone-burst speech assembled like an episode, at RATE, and each sentence's (start, end)."""
    engine = ToneEngine()
    clips = [(resample(trim_silence(engine.synthesize(text, 1.0), engine.sample_rate), engine.sample_rate, RATE),
              pause) for text, pause in zip(SENTENCES, PAUSES_MS)]
    audio, spans = assemble(clips, RATE, lead_ms, tail_ms)
    return audio, [(span.start_s, span.end_s) for span in spans]


def chord(freqs: list[float], seconds: float, amplitude: float, phase: float = 1.0) -> np.ndarray:
    """A chord that starts and ends mid-cycle, so any hard cut of it would click."""
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * sum(np.sin(2 * np.pi * f * t + phase) for f in freqs) / len(freqs)).astype(np.float32)


INTRO_HZ, OUTRO_HZ = [261.6, 329.6, 392.0], [196.0, 246.9, 293.7]
INTRO = chord(INTRO_HZ, 3.0, 0.5)
OUTRO = chord(OUTRO_HZ, 3.0, 0.5)
BED = chord([443.3, 553.1, 1201.7], 4.0, 0.1)
SOURCES = {"intro": (INTRO, RATE), "outro": (OUTRO, RATE), "bed": (BED, RATE)}


def design(**files: bool) -> SoundDesign:
    """A design using the named SOURCES (the paths are never read: the samples are passed)."""
    return SoundDesign(**{name: Path(f"{name}.wav") for name, used in files.items() if used})


def max_step(x: np.ndarray) -> float:
    return float(np.abs(np.diff(x.astype(np.float64))).max())


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spectrum)])


# --- the mix ---------------------------------------------------------------------------------

def test_bed_ducks_under_speech_and_returns_in_a_two_second_pause():
    speech, spans = narration()
    programme = mix_programme(speech, RATE, design(bed=True), SOURCES)
    assert programme.narration_offset_s == 0.0  # no intro: the narration starts the programme
    bed_alone = programme.audio - np.pad(speech, (0, len(programme.audio) - len(speech)))
    pause_end, next_start = spans[1][1], spans[2][0]
    in_pause = rms_db(bed_alone[int((pause_end + 1.0) * RATE) : int((next_start - 0.3) * RATE)])
    for start, end in spans:
        under_speech = rms_db(bed_alone[int((start + 0.1) * RATE) : int((end - 0.1) * RATE)])
        assert in_pause - under_speech >= 9.0
    # Look-ahead: the bed is already down when the first word after the pause starts.
    first_sound = int(next_start * RATE) + int(np.flatnonzero(np.abs(speech[int(next_start * RATE):]) > 1e-3)[0])
    onset_level = rms_db(bed_alone[first_sound : first_sound + int(0.02 * RATE)])
    assert in_pause - onset_level >= 11.0
    # A sentence pause (350 ms) is too short for the bed to come back.
    short_pause = rms_db(bed_alone[int(spans[0][1] * RATE) : int(spans[1][0] * RATE)])
    assert in_pause - short_pause >= 9.0
    assert np.allclose(bed_alone, programme.bed_track, atol=1e-6)


def test_bed_level_is_relative_to_the_narration_so_a_quiet_or_loud_file_mixes_the_same():
    speech, _ = narration(lead_ms=4000)  # 4 s before the first word: the bed plays at its full level
    loud = mix_programme(speech, RATE, design(bed=True), {"bed": (BED * 8, RATE)})
    quiet = mix_programme(speech, RATE, design(bed=True), {"bed": (BED / 30, RATE)})
    assert np.abs(loud.audio - quiet.audio).max() < 1e-4
    bed_alone = loud.audio - speech
    # Full level where nobody speaks: bed_gain_db (-18) under the narration's loudness.
    level = integrated_lufs(bed_alone[int(1.0 * RATE) : int(3.5 * RATE)], RATE)
    assert level == pytest.approx(integrated_lufs(speech, RATE) - 18.0, abs=0.5)


def test_intro_is_heard_first_and_the_offset_is_where_the_narration_sits():
    speech, spans = narration()
    programme = mix_programme(speech, RATE, design(intro=True, outro=True), SOURCES)
    # Where the narration sits in the mix, found by cross-correlation.
    lags = correlate(programme.audio, speech, mode="valid", method="fft")
    found = int(np.argmax(lags))
    assert abs(found / RATE - programme.narration_offset_s) < 0.001
    # The narration starts under the intro's last 500 ms (crossfade_ms).
    assert programme.narration_offset_s == pytest.approx(len(INTRO) / RATE - 0.5, abs=0.001)
    # The intro is heard, and alone, before the first word.
    first_word = programme.narration_offset_s + spans[0][0]
    before = programme.audio[: int((first_word - 0.6) * RATE)]
    assert rms_db(before) > -30.0
    assert min(abs(peak_hz(before) - f) for f in INTRO_HZ) < 2.0
    # The outro follows the narration's end and finishes the programme.
    after = programme.audio[int((programme.narration_offset_s + len(speech) / RATE) * RATE):]
    assert len(after) == pytest.approx(len(OUTRO) - 0.5 * RATE, abs=2)
    assert min(abs(peak_hz(after) - f) for f in OUTRO_HZ) < 2.0


@pytest.mark.parametrize("crossfade_ms", [500, 0])
def test_no_click_at_crossfades(crossfade_ms):
    speech, _ = narration(lead_ms=600, tail_ms=700)  # the voice is silent through each crossfade
    sound = SoundDesign(intro=Path("intro.wav"), outro=Path("outro.wav"), crossfade_ms=crossfade_ms)
    programme = mix_programme(speech, RATE, sound, SOURCES)
    offset = int(programme.narration_offset_s * RATE)
    # The sources' own largest steps at the level they play in the mix, measured where each plays
    # alone: the intro before the narration, the outro after it.
    intro_alone = programme.audio[int(0.1 * RATE) : offset - int(0.1 * RATE)]
    outro_alone = programme.audio[-int(1.5 * RATE) : -int(0.1 * RATE)]
    largest = max(max_step(intro_alone), max_step(outro_alone), max_step(speech))
    if crossfade_ms:
        assert max_step(programme.audio) <= largest * 1.01
    else:  # the check can fail: without a crossfade the intro stops mid-cycle
        assert max_step(programme.audio) > largest * 1.5


@pytest.mark.parametrize("crossfade_ms", [500, 0])
def test_bed_fades_and_ducking_ramps_do_not_click(crossfade_ms):
    speech, _ = narration(lead_ms=2000)
    programme = mix_programme(speech, RATE, SoundDesign(bed=Path("bed.wav"), crossfade_ms=crossfade_ms), SOURCES)
    bed_alone = programme.audio - speech
    steady = bed_alone[int(0.8 * RATE) : int(1.6 * RATE)]  # at full level, before the first word
    assert max_step(bed_alone) <= max_step(steady) * 1.01
    assert abs(bed_alone[0]) < 1e-3 and abs(bed_alone[-1]) < 1e-3  # faded in and out, always


def test_loop_has_no_click_at_the_loop_point():
    looped = loop_to_length(BED, 3 * len(BED), int(0.5 * RATE))
    assert len(looped) == 3 * len(BED)
    # The crossfade keeps the bed's power, so where end and start are out of phase a sample
    # step may grow a little; a click is a jump: a plain repeat's is over 1.5 times the largest.
    assert max_step(looped) <= max_step(BED) * 1.1
    assert max_step(np.tile(BED, 3)) > max_step(BED) * 1.5
    assert np.array_equal(loop_to_length(BED, 1000, 100), BED[:1000])  # long enough: trimmed


@pytest.mark.parametrize("kind", ["noise", "chord"])
def test_loop_point_neither_dips_nor_swells(kind):
    # Noise: end and start unrelated (an equal-gain crossfade would dip 3 dB); a chord whose
    # period divides the loop: end and start alike (an equal-power one would swell 3 dB).
    if kind == "noise":
        bed = np.random.default_rng(2).standard_normal(2 * RATE).astype(np.float32) * 0.1
    else:
        bed = chord([440.0, 550.0], 2.0, 0.1)
    looped = loop_to_length(bed, 4 * len(bed), int(0.5 * RATE))
    window = int(0.05 * RATE)
    levels = [rms_db(looped[i : i + window]) for i in range(0, len(looped) - window, window)]
    assert max(abs(level - rms_db(bed)) for level in levels) < 1.0


def test_stereo_files_are_decoded_at_the_mix_rate_and_downmixed(tmp_path):
    stereo = np.stack([INTRO, INTRO], axis=1)
    stereo = resample(stereo, RATE, 48000)
    write_wav(stereo, 48000, tmp_path / "intro.wav")
    speech, _ = narration()
    from_file = mix_programme(speech, RATE, SoundDesign(intro=tmp_path / "intro.wav"))
    from_samples = mix_programme(speech, RATE, design(intro=True), SOURCES)
    assert len(from_file.audio) == pytest.approx(len(from_samples.audio), abs=2)
    n = min(len(from_file.audio), len(from_samples.audio))
    assert np.abs(from_file.audio[:n] - from_samples.audio[:n]).max() < 0.01


def test_silent_or_too_short_sound_is_an_error_naming_the_file():
    speech, _ = narration()
    with pytest.raises(AudioError, match=r"bed\.wav: the sound file is silent"):
        mix_programme(speech, RATE, design(bed=True), {"bed": (np.zeros(RATE, np.float32), RATE)})
    with pytest.raises(AudioError, match=r"intro.wav: `intro` lasts 0.10 s"):
        mix_programme(speech, RATE, design(intro=True), {"intro": (INTRO[: RATE // 10], RATE)})


# --- settings --------------------------------------------------------------------------------

SERIES = """\
title: Test
sound:
  intro: sound/intro.wav
  outro: sound/outro.flac
  bed: sound/bed.wav
  bed_gain_db: -20
  crossfade_ms: 400
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "sound").mkdir()
    write_wav(INTRO, RATE, tmp_path / "sound" / "intro.wav")
    write_wav(OUTRO, RATE, tmp_path / "outro.wav")
    subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(tmp_path / "outro.wav"), str(tmp_path / "sound" / "outro.flac")],
                   check=True)
    write_wav(BED, RATE, tmp_path / "sound" / "bed.wav")
    return tmp_path


def series_sound(folder: Path, text: str = SERIES) -> tuple[SoundDesign | None, Path]:
    path = folder / "series.yaml"
    data = parse_yaml_mapping(text, path)
    return merge_sound(None, data["sound"], path, folder, data.line_of("sound")), path


def test_sound_block_resolves_files_and_keeps_defaults(folder):
    sound, _ = series_sound(folder)
    assert sound.intro == (folder / "sound" / "intro.wav").resolve()
    assert sound.outro == (folder / "sound" / "outro.flac").resolve()
    assert (sound.bed_gain_db, sound.duck_db, sound.crossfade_ms) == (-20.0, -12.0, 400)


@pytest.mark.parametrize("change, line, message", [
    (("sound/intro.wav", "sound/missing.wav"), 3, "`intro` file not found"),
    (("sound/bed.wav", "notes.txt"), 5, "`bed` file .*notes.txt is not audio ffmpeg can read"),
    (("bed_gain_db: -20", "bed_gain_db: 6"), 6, "`bed_gain_db` 6 is outside -60..0"),
    (("crossfade_ms: 400", "crossfade_ms: soft"), 7, "`crossfade_ms` must be a int"),
    (("crossfade_ms: 400", "fade_ms: 400"), 7, "unknown sound setting `fade_ms`"),
])
def test_bad_sound_settings_name_the_file_and_line(folder, change, line, message):
    (folder / "notes.txt").write_text("not audio\n")
    with pytest.raises(ConfigError, match=rf"series.yaml:{line}: {message}"):
        series_sound(folder, SERIES.replace(*change))


def test_episode_override_merges_keys_and_off_disables(folder):
    series, _ = series_sound(folder)
    episode = folder / "01-alpha.md"
    front = parse_yaml_mapping("title: A\nsound:\n  duck_db: -15\n  intro: null\n", episode, first_line=2)
    merged = merge_sound(series, front["sound"], episode, folder, front.line_of("sound"))
    assert merged.duck_db == -15.0 and merged.intro is None
    assert merged.bed == series.bed and merged.bed_gain_db == -20.0
    assert merge_sound(series, None, episode, folder) is series
    off = parse_yaml_mapping("sound: off\n", episode)["sound"]  # YAML reads `off` as false
    assert merge_sound(series, off, episode, folder) is None
    assert merge_sound(series, "off", episode, folder) is None
    assert merge_sound(series, {"intro": None, "outro": None, "bed": None}, episode, folder) is None
    with pytest.raises(ConfigError, match=r"01-alpha.md:3: `sound` must be a mapping"):
        merge_sound(series, 3, episode, folder, front.line_of("sound"))


# --- the plot --------------------------------------------------------------------------------

def test_plot_draws_the_bed_level_in_its_own_colour():
    speech, _ = narration()
    programme = mix_programme(speech, RATE, design(bed=True), SOURCES)
    mastered_lufs = -16.0
    levels = bed_level_db(programme, RATE, mastered_lufs)
    # The bed's level moves with the mastering gain and shows the ducking.
    gain_db = mastered_lufs - integrated_lufs(programme.audio, RATE)
    plain = bed_level_db(programme, RATE, integrated_lufs(programme.audio, RATE))
    assert np.allclose(levels - plain, gain_db)
    assert levels[60] - levels[30] >= 9.0  # 6.0 s (in the 2 s pause) against 3.0 s (speech)
    assert levels[55:70].max() == pytest.approx(mastered_lufs - 18.0, abs=1.0)  # bed_gain_db in the pause
    with_bed = Image.open(io.BytesIO(render_plot(programme.audio, np.full(100, -20.0), -16.0, levels)))
    without = Image.open(io.BytesIO(render_plot(programme.audio, np.full(100, -20.0), -16.0)))
    assert with_bed.size == without.size == (960, 180)
    assert BED_COLOUR in {colour for _, colour in with_bed.convert("RGB").getcolors(1 << 16)}
    assert BED_COLOUR not in {colour for _, colour in without.convert("RGB").getcolors(1 << 16)}


def test_added_seconds_is_what_intro_and_outro_add_to_the_narration():
    speech, _ = narration()
    for files in ({"intro": True}, {"outro": True}, {"intro": True, "outro": True, "bed": True}, {"bed": True}):
        programme = mix_programme(speech, RATE, design(**files), SOURCES)
        added = (len(programme.audio) - len(speech)) / RATE
        assert added_seconds(design(**files), SOURCES) == pytest.approx(added, abs=0.001)


@pytest.mark.parametrize("value, message", [
    ("/etc/passwd", "`intro` file /etc/passwd: must be inside the project folder"),
    ("../../../intro.wav", "`intro` file .*intro.wav: must be inside the project folder"),
    ("~/intro.wav", "`intro` file '~/intro.wav': `~` is not expanded here"),
    ("sound", "`intro` file .*sound is a folder, not a file"),
    ("pipe.wav", r"`intro` file .*pipe.wav is a named pipe \(FIFO\), not a file"),
    ("link.wav", "`intro` file .*outside.wav: must be inside the project folder"),
])
def test_sound_files_must_be_files_inside_the_project(folder, value, message):
    # The series folder is `folder`; the project is two folders up (scripts/<series>/).
    os.mkfifo(folder / "pipe.wav")
    outside = folder.parent.parent.parent / "outside.wav"
    write_wav(INTRO, RATE, outside)
    (folder / "link.wav").symlink_to(outside)
    with pytest.raises(ConfigError, match=rf"series.yaml:3: {message}"):
        series_sound(folder, SERIES.replace("sound/intro.wav", value))
