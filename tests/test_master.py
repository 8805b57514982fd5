"""Mastering, verified on what a player decodes: loudness and true peak by ffmpeg's own ebur128
meter (shares no code with the pipeline), the LAME Info frame, channel layouts, bad input."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3

from pipeline.audio.codec import (
    _as_a_player_trims,
    decode,
    decode_bytes,
    encode_and_decode,
    encode_mp3,
    encode_mp3_bytes,
    ffmpeg_path,
    probe_rate,
    write_wav,
)
from pipeline.audio.loudness import integrated_lufs, measure, true_peak_dbtp
from pipeline.audio.master import MasterSettings, encoder_shift_db, master, master_file
from pipeline.errors import AudioError
from pipeline.settings import Production

RATE = 22050
SETTINGS = MasterSettings.of(Production())
STEREO = MasterSettings.of(Production(channels=2))


def ebur128(path: Path) -> dict[str, float]:
    """ffmpeg's EBU R128 reading of a file to 0.001 (its summary prints 0.1), dual mono for mono:
    integrated LUFS and true peak dBTP (its own 192 kHz oversampling)."""
    result = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:dualmono=true:metadata=1,ametadata=mode=print:file=-", "-f", "null", "-"],
        capture_output=True, text=True, check=True)
    last = lambda key: re.findall(rf"lavfi\.r128\.{key}=(-?[\d.]+|-?inf|nan)", result.stdout)[-1]  # noqa: E731
    return {"integrated_lufs": float(last("I")), "true_peak_dbtp": 20 * np.log10(float(last("true_peak")))}


def assert_holds_target(path: Path) -> dict[str, float]:
    """The file, read by ffmpeg's meter, is within 0.1 LU of the target and at or under the
    ceiling; returns the reading."""
    oracle = ebur128(path)
    assert oracle["integrated_lufs"] == pytest.approx(SETTINGS.target_lufs, abs=0.1)
    assert oracle["true_peak_dbtp"] <= SETTINGS.ceiling_dbtp + 0.01
    return oracle


def speechlike(seconds: float, rate: int = RATE, seed: int = 0) -> np.ndarray:
    """Syllable-rate bursts of harmonics and noise, pauses, and clicks far above the body, at a
    level nowhere near the target, like raw TTS output."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * f * t + k) / k for k, f in enumerate((130, 260, 390, 1700, 2900, 4100), start=1))
    envelope = np.clip(np.sin(2 * np.pi * 3.7 * t) * (1 + 0.6 * np.sin(2 * np.pi * 0.4 * t)), 0, None)
    envelope[(t % 3.0) > 2.4] = 0.0
    x = 0.05 * voice * envelope + 0.004 * rng.standard_normal(len(t)) * envelope
    x[rng.integers(0, len(t), 12)] = 0.7
    return x.astype(np.float32)


@pytest.fixture(scope="module")
def mastered_mono(tmp_path_factory) -> tuple[np.ndarray, object, Path]:
    audio = speechlike(12.0)
    result = master(audio, RATE, SETTINGS)
    path = tmp_path_factory.mktemp("master") / "mono.mp3"
    path.write_bytes(result.mp3)
    return audio, result, path


def test_decoded_mp3_holds_target_and_ceiling_by_ffmpegs_meter(mastered_mono):
    _, result, path = mastered_mono
    oracle = assert_holds_target(path)
    # What the result reports is what the independent meter reads.
    assert result.report.integrated_lufs == pytest.approx(oracle["integrated_lufs"], abs=0.05)
    assert result.report.true_peak_dbtp == pytest.approx(oracle["true_peak_dbtp"], abs=0.05)
    assert result.report.true_peak_dbtp <= SETTINGS.ceiling_dbtp
    assert result.passes == 1  # the encoder-shift table put the first pass on target
    assert result.gain_target_lufs == pytest.approx(SETTINGS.target_lufs + encoder_shift_db(128, 44100), abs=0.2)
    assert result.warnings == []


def test_result_is_what_the_bytes_decode_to(mastered_mono):
    audio, result, path = mastered_mono
    decoded, rate = decode(path)
    assert rate == result.decoded_rate == 44100
    assert np.array_equal(decoded, result.decoded)
    assert np.array_equal(decode_bytes(result.mp3)[0], decoded)
    assert result.decoded.shape == (2 * len(audio), 1)  # gapless: encoder delay and padding removed
    report = measure(decoded, rate)
    assert report == result.report
    assert len(result.short_term_lufs) == pytest.approx((len(audio) / RATE - 3.0) / 0.1 + 1, abs=1)


def test_mp3_has_its_info_frame_and_exact_duration(mastered_mono):
    audio, result, path = mastered_mono
    # The Info frame opens the file (for mono MPEG-1 the tag sits 21 bytes in): the number of audio
    # frames, then in the LAME extension the samples to drop at the start and at the end (12 bits
    # each) that players trim for the exact duration.
    assert result.mp3[21:25] == b"Info"
    frames = int.from_bytes(result.mp3[29:33], "big")
    delay_padding = int.from_bytes(result.mp3[162:165], "big")
    delay, padding = delay_padding >> 12, delay_padding & 0xFFF
    assert frames * 1152 - delay - padding == len(result.decoded) == 2 * len(audio)
    info = MP3(path).info
    assert info.bitrate == 128000 and info.sample_rate == 44100 and info.channels == 1
    assert info.length == pytest.approx(len(audio) / RATE, abs=1152 * 2 / 44100)
    assert not result.mp3.startswith(b"ID3")  # untagged: tags are written later, once


def test_start_point_from_an_earlier_episode_holds_in_one_pass(mastered_mono):
    audio, result, _ = mastered_mono
    progress: list[str] = []
    again = master(audio[::-1].copy(), RATE, SETTINGS, start=(result.gain_target_lufs, result.limiter_ceiling_dbtp),
                   progress=progress.append)
    assert again.passes == 1
    assert abs(again.report.integrated_lufs - SETTINGS.target_lufs) <= 0.1
    assert any("encoding" in message for message in progress)


def test_a_wrong_start_is_corrected_on_the_decoded_file(tmp_path):
    audio = speechlike(8.0, seed=4)
    result = master(audio, RATE, SETTINGS, start=(-21.0, -3.0))
    assert result.passes >= 2
    path = tmp_path / "corrected.mp3"
    path.write_bytes(result.mp3)
    assert_holds_target(path)


def test_stereo_output_at_other_settings(tmp_path):
    settings = MasterSettings.of(Production(channels=2, target_lufs=-19.0, ceiling_dbtp=-2.0, bitrate_kbps=192,
                                            sample_rate_hz=48000))
    result = master(speechlike(8.0, seed=5), RATE, settings)
    path = tmp_path / "stereo.mp3"
    path.write_bytes(result.mp3)
    oracle = ebur128(path)
    assert result.decoded.shape[1] == 2 and result.decoded_rate == 48000
    assert oracle["integrated_lufs"] == pytest.approx(-19.0, abs=0.1)
    assert oracle["true_peak_dbtp"] <= -2.0 + 0.01
    assert MP3(path).info.channels == 2


def test_master_file_reads_mono_stereo_and_downmixes_5_1(tmp_path):
    mono = speechlike(6.0, rate=44100, seed=6)
    write_wav(mono, 44100, tmp_path / "mono.wav")
    write_wav(np.stack([mono, 0.5 * mono], axis=1), 44100, tmp_path / "stereo.wav")
    surround = tmp_path / "surround.wav"
    sources = [f"sine=f={f}:d=6:r=48000" for f in (220, 330, 440, 55, 550, 660)]
    subprocess.run([ffmpeg_path(), "-v", "error", *[a for s in sources for a in ("-f", "lavfi", "-i", s)],
                    "-filter_complex", "join=inputs=6:channel_layout=5.1(side)", "-y", str(surround)], check=True)
    for name in ("mono.wav", "stereo.wav", "surround.wav"):
        for settings in (SETTINGS, STEREO):
            result = master_file(tmp_path / name, settings)
            assert result.decoded.shape[1] == settings.channels
            assert abs(result.report.integrated_lufs - settings.target_lufs) <= 0.1, name
            assert result.report.true_peak_dbtp <= settings.ceiling_dbtp, name
    # The 5.1 file's own reading (L R C LFE Ls Rs weights) agrees with ffmpeg's meter.
    samples, rate = decode(surround)
    assert samples.shape[1] == 6
    assert integrated_lufs(samples, rate) == pytest.approx(ebur128(surround)["integrated_lufs"], abs=0.05)


def test_silent_input_is_a_clear_error(tmp_path):
    with pytest.raises(AudioError, match="silent"):
        master(np.zeros(RATE * 2, dtype=np.float32), RATE, SETTINGS)
    silent = tmp_path / "silent.wav"
    write_wav(np.zeros(44100 * 2, dtype=np.float32), 44100, silent)
    with pytest.raises(AudioError, match="silent") as caught:
        master_file(silent, SETTINGS)
    assert str(caught.value).startswith(str(silent))


def test_too_short_or_unreadable_input_names_the_file(tmp_path):
    short = tmp_path / "short.wav"
    write_wav(speechlike(0.2, rate=44100), 44100, short)
    with pytest.raises(AudioError, match="too short") as caught:
        master_file(short, SETTINGS)
    assert str(caught.value).startswith(str(short))
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("not audio at all")
    with pytest.raises(AudioError) as caught:
        master_file(not_audio, SETTINGS)
    assert str(caught.value).startswith(str(not_audio))
    with pytest.raises(AudioError, match="not found"):
        master_file(tmp_path / "missing.wav", SETTINGS)
    with pytest.raises(AudioError) as caught:
        probe_rate(not_audio)
    assert str(caught.value).startswith(str(not_audio))
    assert probe_rate(short) == 44100
    with pytest.raises(AudioError, match="3-channel"):
        master(np.zeros((RATE, 3), dtype=np.float32), RATE, SETTINGS)
    broken = speechlike(2.0)
    broken[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        master(broken, RATE, SETTINGS)


@pytest.mark.parametrize("rate, channels, bitrate", [(44100, 1, 128), (48000, 2, 192), (22050, 1, 64), (24000, 2, 160)])
def test_encoding_while_decoding_gives_the_files_bytes_and_what_a_player_decodes(tmp_path, monkeypatch, rate,
                                                                                  channels, bitrate):
    mono = speechlike(3.0, rate=rate, seed=8)
    audio = mono if channels == 1 else np.stack([mono, -mono], axis=1)
    path = tmp_path / "direct.mp3"
    encode_mp3(audio, rate, path, bitrate)
    with monkeypatch.context() as patched:  # the decoded stream must be used, not a second decode of the file
        patched.setattr("pipeline.audio.codec.decode_bytes", lambda *args: pytest.fail("fell back to decoding the file"))
        mp3, decoded, decoded_rate = encode_and_decode(audio, rate, bitrate)
    assert mp3 == path.read_bytes() == encode_mp3_bytes(audio, rate, bitrate)
    from_file, file_rate = decode(path)
    assert decoded_rate == file_rate == rate
    assert np.array_equal(decoded, from_file)  # the same samples, to the bit
    assert decoded.shape == (len(audio), channels)


def test_the_stream_is_only_trusted_when_the_file_is_its_info_frame_plus_the_stream():
    audio = speechlike(2.0, rate=44100, seed=12)
    mp3 = encode_mp3_bytes(audio, 44100, 128)
    stream, header = mp3[417:], mp3[:417]  # one 128 kbps frame at 44.1 kHz holds the Info frame
    decoded_stream = np.zeros((int.from_bytes(mp3[29:33], "big") * 1152, 1), dtype=np.float32)
    assert _as_a_player_trims(mp3, stream, decoded_stream) is not None
    assert _as_a_player_trims(mp3, stream[:-1] + b"x", decoded_stream) is None  # other bytes than decoded
    assert _as_a_player_trims(mp3, stream, decoded_stream[:-1]) is None  # frame count disagrees
    assert _as_a_player_trims(header.replace(b"Info", b"Nope") + stream, stream, decoded_stream) is None


@pytest.mark.parametrize("channels", [1, 2])
def test_our_meter_agrees_with_ffmpegs_on_generated_signals(tmp_path, channels):
    t = np.arange(10 * 44100) / 44100
    rng = np.random.default_rng(9)
    signals = {
        "tone": (0.2 * np.sin(2 * np.pi * 997 * t)).astype(np.float32),
        "noise": (0.05 * rng.standard_normal(len(t))).astype(np.float32),
        "speechlike": speechlike(10.0, rate=44100, seed=10) * 4,
    }
    for name, mono in signals.items():
        x = mono if channels == 1 else np.stack([mono, 0.6 * mono[::-1]], axis=1)
        path = tmp_path / f"{name}.wav"
        write_wav(x, 44100, path)
        samples, rate = decode(path)
        oracle = ebur128(path)
        assert integrated_lufs(samples, rate) == pytest.approx(oracle["integrated_lufs"], abs=0.05), name
        assert true_peak_dbtp(samples) == pytest.approx(oracle["true_peak_dbtp"], abs=0.05), name


@pytest.mark.slow
def test_our_meter_agrees_with_ffmpegs_on_real_speech(tmp_path):
    from pipeline.engines import load_engine
    from pipeline.settings import load_voice

    from .conftest import REPO

    engine = load_engine(load_voice(REPO / "voices" / "joe.yaml"))
    speech = np.concatenate([engine.synthesize(text, 1.0) for text in (
        "Fine-tuning adapts a pretrained model to a narrower task.",
        "Low-rank adapters train a few million parameters instead of billions.",
        "Quantization stores the frozen weights in four bits, so the model fits on one card.")])
    path = tmp_path / "speech.wav"
    write_wav(speech, engine.sample_rate, path)
    samples, rate = decode(path)
    oracle = ebur128(path)
    assert integrated_lufs(samples, rate) == pytest.approx(oracle["integrated_lufs"], abs=0.05)
    assert true_peak_dbtp(samples) == pytest.approx(oracle["true_peak_dbtp"], abs=0.05)
    result = master_file(path, SETTINGS)
    out = tmp_path / "speech.mp3"
    out.write_bytes(result.mp3)
    assert_holds_target(out)


def test_an_encoder_that_fails_or_is_missing_is_a_clear_error(monkeypatch):
    audio = speechlike(1.0, rate=44100)
    monkeypatch.setattr("pipeline.audio.codec.ffmpeg_path", lambda: "/bin/false")
    with pytest.raises(AudioError, match="MP3 encoding failed"):
        encode_and_decode(audio, 44100, 128)
    monkeypatch.setattr("pipeline.audio.codec.ffmpeg_path", lambda: "/nonexistent/ffmpeg")
    with pytest.raises(AudioError, match="MP3 encoding failed"):
        encode_and_decode(audio, 44100, 128)
