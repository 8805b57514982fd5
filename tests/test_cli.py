"""The `episodes` command as a producer uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

from .conftest import ffmpeg_ebur128

runner = CliRunner()


def episodes(project, *args):
    return runner.invoke(app, ["--project", str(project), *args])


def test_build_list_and_summary(project, tone_engine):
    result = episodes(project, "build")
    assert result.exit_code == 0, result.output
    assert "test-series/01-alpha  built" in result.output
    assert "3 built, 0 updated in place, 0 up to date, 0 failed." in result.output
    listing = episodes(project, "list")
    assert listing.exit_code == 0
    assert listing.output.count("built") == 3
    script = project / "scripts" / "test-series" / "03-gamma.md"
    script.write_text(script.read_text().replace("few more", "few other"))
    (project / "out" / "test-series" / "01-alpha.mp3").unlink()
    listing = episodes(project, "list")
    assert "missing" in listing.output and "stale" in listing.output


def test_build_failure_exits_nonzero_with_plain_summary(project, tone_engine):
    (project / "scripts" / "test-series" / "04-bad.md").write_text("---\ntitle: x\n---\n\n")
    result = episodes(project, "build")
    assert result.exit_code == 1
    assert "3 built, 0 updated in place, 0 up to date, 1 failed." in result.output
    assert "04-bad.md:4: the script has no narration" in result.output
    assert "Traceback" not in result.output


def test_measure_json_matches_independent_meter(project, tone_engine):
    episodes(project, "build", "alpha")
    path = project / "out" / "test-series" / "01-alpha.mp3"
    result = episodes(project, "measure", "--json", str(path))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)[0]
    oracle = ffmpeg_ebur128(path)
    assert report["integrated_lufs"] == pytest.approx(oracle["integrated_lufs"], abs=0.15)
    assert report["true_peak_dbtp"] == pytest.approx(oracle["true_peak_dbtp"], abs=0.2)
    assert report["lra_lu"] == pytest.approx(oracle["lra_lu"], abs=1.0)
    assert set(report) >= {"integrated_single_channel_lufs", "max_short_term_lufs", "duration_s"}


def test_measure_missing_file_is_a_plain_error(project):
    result = episodes(project, "measure", str(project / "nope.mp3"))
    assert result.exit_code == 1
    assert "nope.mp3: file not found" in result.output


def test_measure_json_of_silence_is_valid_json(project, tmp_path):
    from pipeline.audio.codec import write_wav

    write_wav(np.zeros(44100, dtype=np.float32), 44100, tmp_path / "silence.wav")
    result = episodes(project, "measure", "--json", str(tmp_path / "silence.wav"))
    report = json.loads(result.output)[0]
    assert report["integrated_lufs"] is None and "Infinity" not in result.output


def test_preview_writes_outside_the_release_and_prints_figures(project, tone_engine):
    result = episodes(project, "preview", "2")
    assert result.exit_code == 0, result.output
    assert (project / "out" / "test-series" / "preview" / "02-beta.mp3").exists()
    assert not (project / "out" / "test-series" / "02-beta.mp3").exists()
    assert "LUFS" in result.output and "dBTP" in result.output


def test_voices_lists_engine_status(project):
    (project / "voices" / "coqui-test.yaml").write_text("engine: coqui\nmodel: tts_models/en/ljspeech/vits\n")
    result = episodes(project, "voices")
    assert result.exit_code == 0
    assert "joe" in result.output and "piper" in result.output and "yes" in result.output
    assert "coqui-test" in result.output


def test_say_applies_lexicon_and_writes_audio(project, tone_engine):
    (project / "voices" / "lexicon.yaml").write_text("QLoRA: queue Laura\n")
    out = project / "say.wav"
    result = episodes(project, "say", "QLoRA on 48GB", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "reads: queue Laura on forty-eight gigabytes" in result.output
    assert out.stat().st_size > 1000
    assert tone_engine.calls[-1][0] == "queue Laura on forty-eight gigabytes"


@pytest.mark.parametrize("out, message", [("x.ogg", "the output must end in .mp3 or .wav"),
                                          ("missing/x.mp3", "the folder for the output does not exist")])
def test_say_refuses_an_output_it_cannot_write(project, tone_engine, out, message):
    result = episodes(project, "say", "Hello there.", "--out", str(project / out))
    assert result.exit_code == 2 and message in result.output
    assert not (project / "missing").exists()


def test_unknown_voice_flag_names_the_flag(project, tone_engine):
    result = episodes(project, "build", "--voice", "ghost")
    assert result.exit_code == 1
    assert "--voice 'ghost' is not a voice profile" in result.output
    assert "series.yaml" not in result.output


def test_install_hint_with_brackets_is_printed_intact(project, tone_engine, monkeypatch):
    from pipeline import engines

    monkeypatch.setattr(engines, "engine_installed", lambda name: name != "coqui")
    (project / "voices" / "vits.yaml").write_text("engine: coqui\nmodel: tts_models/en/ljspeech/vits\n")
    result = episodes(project, "build", "--voice", "vits", "alpha")
    assert result.exit_code == 1
    assert "install it with: pip install -e '.[coqui]'" in result.output.replace("\n", " ")


def test_unexpected_errors_are_one_line_and_debug_shows_the_traceback(project, tone_engine, monkeypatch):
    import pipeline.commands.build

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(pipeline.commands.build, "build", broken)
    plain = episodes(project, "build")
    assert plain.exit_code == 2
    assert "unexpected error: ZeroDivisionError: boom (rerun with --debug" in plain.output
    assert "Traceback" not in plain.output
    debug = runner.invoke(app, ["--project", str(project), "--debug", "build"])
    assert "Traceback (most recent call last)" in debug.output and "ZeroDivisionError: boom" in debug.output
    assert "['Traceback" not in debug.output  # a real traceback, not a Python list


def test_master_any_recording_to_the_target_with_series_tags(project, tmp_path):
    from mutagen.id3 import ID3

    from pipeline.audio.codec import write_wav

    from .tone_engine import ToneEngine

    engine = ToneEngine(level=0.05)
    speech = np.concatenate([engine.synthesize("A recording made somewhere else entirely.", 1.0)] * 6)
    source = tmp_path / "interview.wav"
    write_wav(speech, engine.sample_rate, source)
    out = tmp_path / "interview.mp3"
    result = episodes(project, "master", str(source), "-o", str(out), "--series", "test-series", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    oracle = ffmpeg_ebur128(out)
    assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.15)
    assert oracle["true_peak_dbtp"] <= -1.0 + 0.05
    assert figures["integrated_lufs"] == pytest.approx(oracle["integrated_lufs"], abs=0.15)
    tags = ID3(out)
    assert str(tags["TALB"]) == "Test Series: Testing" and str(tags["TIT2"]) == "interview"
    assert "TRCK" not in tags
    wrong = episodes(project, "master", str(source), "-o", str(tmp_path / "x.wav"))
    assert wrong.exit_code == 2 and "the output must end in .mp3" in wrong.output


def test_flagged_sentences_show_their_whole_file_and_line(monkeypatch):
    import io

    from rich.console import Console

    from pipeline import cli

    console = Console(width=80, record=True, file=io.StringIO())
    monkeypatch.setattr(cli, "errors", console)
    place = "/a/long/project/folder/scripts/fine-tuning/05-instruction-datasets.md"
    cli._print_flagged([{"file": place, "line": 13, "expected": "two lessons " * 6, "heard": "to lesson",
                         "word_error": 0.5}])
    rows = [line.split("│") for line in console.export_text().splitlines() if line.count("│") == 5]
    assert "".join(row[1].strip() for row in rows) == f"{place}:13"
