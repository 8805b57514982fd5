"""Settings: layering, validation, and errors naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError
from pipeline.script import parse_episode
from pipeline.settings import (
    Production,
    load_series,
    load_voice,
    load_voices,
    parse_yaml_mapping,
    series_folder_problems,
)


def test_layering_defaults_series_episode_flags(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "series.yaml").write_text(
        "title: T\nauthor: A\nproduction:\n  target_lufs: -18\n  bitrate_kbps: 192\n  channels: 2\n"
    )
    series = load_series(folder)
    assert series.album == "T"
    assert (series.production.target_lufs, series.production.bitrate_kbps) == (-18.0, 192)
    assert series.production.ceiling_dbtp == Production().ceiling_dbtp  # default kept
    episode_layer = series.production.merged({"bitrate_kbps": 160})
    flags_layer = episode_layer.merged({"bitrate_kbps": 96, "target_lufs": -16})
    assert (flags_layer.bitrate_kbps, flags_layer.target_lufs, flags_layer.channels) == (96, -16.0, 2)


@pytest.mark.parametrize(
    "yaml_text, line, fragment",
    [
        ("title: T\nauthor: A\nproduction:\n  loudness: -16\n", 4, "unknown production setting `loudness`"),
        ("title: T\nauthor: A\nproduction:\n  bitrate_kbps: 100\n", 4, "bitrate_kbps must be one of"),
        ("title: T\nauthor: A\nproduction:\n  target_lufs: loud\n", 4, "`target_lufs` must be a float"),
        ("title: T\n", 1, "missing required field `author`"),
        ("title: T\nauthor: A\ncover: missing.png\n", 3, "cover image not found"),
        ("title: T\nauthor: [A\n", 3, "invalid YAML"),
    ],
)
def test_series_errors(tmp_path, yaml_text, line, fragment):
    (tmp_path / "series.yaml").write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_series(tmp_path)
    assert fragment in caught.value.message
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{tmp_path / 'series.yaml'}:{line}: ")


def test_voice_profiles(tmp_path):
    (tmp_path / "calm.yaml").write_text("engine: piper\nmodel: bundled\nrate: 0.95\nsentence_pause_ms: 400\n")
    (tmp_path / "lexicon.yaml").write_text("LoRA: Laura\n")
    voices = load_voices(tmp_path)
    assert list(voices) == ["calm"]
    assert (voices["calm"].rate, voices["calm"].sentence_pause_ms) == (0.95, 400)


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("engine: festival\nmodel: x\n", "unknown engine `festival`"),
        ("engine: piper\n", "missing required field `model`"),
        ("engine: piper\nmodel: bundled\npitch: 3\n", "unknown voice field `pitch`"),
    ],
)
def test_voice_errors(tmp_path, yaml_text, fragment):
    path = tmp_path / "v.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError, match=fragment):
        load_voice(path)


def test_nested_settings_in_front_matter_name_their_own_line(tmp_path):
    path = tmp_path / "01-x.md"
    path.write_text("---\ntitle: T\nproduction:\n  bitrate_kbps: 128\n  target_lufs: loud\n---\nWords.\n")
    with pytest.raises(ConfigError) as caught:
        Production().merged(parse_episode(path).overrides, path)
    assert str(caught.value).startswith(f"{path}:5: `target_lufs` must be a float")


@pytest.mark.parametrize(
    "yaml_text, line, fragment",
    [
        ("title: T\nauthor: A\nproduction:\n  target_lufs:\n", 4, "`target_lufs` has no value"),
        ("title: T\nauthor: A\nproduction:\n  target_lufs: .nan\n", 4, "finite number"),
        ("title: T\nauthor: A\nproduction:\n  max_pause_ms: 1.0e+400\n", 4, "finite number"),
        ("title: T\nauthor: A\nproduction:\n  lead_pad_ms: 99999999999999999999999\n", 4, "sensible size"),
        ("title: T\nauthor: A\nproduction:\n  fit: everything\n", 4, "fit must be one of narration, programme"),
        ("title: T\nauthor: A\nproduction:\n  min_pause_ms: 2000\n", 4, "min_pause_ms must be between 0 and max"),
        ("title: T\nauthor: A\nproduction:\n  min_pause_ms: -1\n", 4, "min_pause_ms must be between 0 and max"),
        ("title: T\nauthor: A\nproduction:\n  max_tempo_change: 0.3\n", 4, "max_tempo_change must be between"),
        ("title: T\nauthor: A\nproduction:\n  max_pause_ms: 60000\n", 4, "max_pause_ms must be between 0 and 10000"),
        ("title: T\nauthor: A\nproduction: [1, 2]\n", 3, "`production` must be a mapping"),
        ("title: T\nauthor: A\nsound: rain\n", 3, "`sound` must be a mapping"),
        ("title: [T]\nauthor: A\n", 1, "`title` must be text"),
        ("title: T\nauthor: A\ncover: \"a\\0b.png\"\n", 3, "cover path"),
        ("title: T\nauthor: A\npodcast_guid: show-2026\n", 3, "`podcast_guid` must be a UUID"),
    ],
)
def test_more_series_errors(tmp_path, yaml_text, line, fragment):
    test_series_errors(tmp_path, yaml_text, line, fragment)


def test_new_production_settings_and_series_sound(tmp_path):
    defaults = Production()
    assert (defaults.fit, defaults.min_pause_ms, defaults.max_tempo_change) == ("narration", 250, 0.08)
    changed = defaults.merged({"fit": "programme", "min_pause_ms": 100, "max_tempo_change": 0.2})
    assert (changed.fit, changed.min_pause_ms, changed.max_tempo_change) == ("programme", 100, 0.2)
    (tmp_path / "series.yaml").write_text("title: T\nauthor: A\nsound:\n  bed: rain.wav\n  level_db: -24\n")
    series = load_series(tmp_path)
    assert series.sound == {"bed": "rain.wav", "level_db": -24} and series.sound.line_of("level_db") == 5
    assert load_series(_folder_with(tmp_path / "plain", "title: T\nauthor: A\n")).sound is None


def _folder_with(folder, series_yaml):
    folder.mkdir()
    (folder / "series.yaml").write_text(series_yaml)
    return folder


@pytest.mark.parametrize("overrides", [[1, 2, 3], "target_lufs: -16", 5, None])
def test_merged_refuses_what_is_not_a_mapping(overrides):
    with pytest.raises(ConfigError, match="production settings must be a mapping"):
        Production().merged(overrides, Path("series.yaml"))


@pytest.mark.parametrize(
    "yaml_text, line, fragment",
    [
        ("engine: piper\nmodel: bundled\nrate:\n", 3, "`rate` has no value"),
        ("engine: piper\nmodel: bundled\nrate: 3\n", 3, "`rate` must be between 0.5 and 2"),
        ("engine: piper\nmodel: bundled\nsentence_pause_ms: -500\n", 3, "`sentence_pause_ms` must be between 0 and 5000"),
        ("engine: piper\nmodel: bundled\nsentence_pause_ms: 5001\n", 3, "`sentence_pause_ms` must be between 0 and 5000"),
        ("engine: piper\nmodel: bundled\nsentence_pause_ms: 1.5\n", 3, "must be a whole number"),
        ("engine: piper\nmodel: bundled\ngpus: 9\n", 3, "`gpus` must be between 0 and 8"),
        ("engine: piper\nmodel: bundled\ngpus: many\n", 3, "`gpus` must be a float"),
        ("engine: piper\nmodel: bundled\n\nthreads: 4\n", 4, "unknown voice field `threads`"),
        ("engine: piper\nmodel: bundled\nname: other\n", 3, "unknown voice field `name`"),
        ("engine:\nmodel: bundled\n", 1, "`engine` has no value"),
        ("engine: piper\nmodel: bundled\nlanguage:\n", 3, "`language` has no value"),
        ("engine: [piper]\nmodel: bundled\n", 1, "`engine` must be a str"),
    ],
)
def test_voice_errors_name_the_voice_file_and_line(tmp_path, yaml_text, line, fragment):
    path = tmp_path / "v.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_voice(path)
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_voice_optional_fields(tmp_path):
    path = tmp_path / "v.yaml"
    path.write_text("engine: coqui\nmodel: m\nspeaker: 3\nconfig: null\nspeaker_wav:\ngpus: 0.5\n")
    voice = load_voice(path)
    assert (voice.speaker, voice.config, voice.speaker_wav, voice.gpus) == ("3", None, None, 0.5)
    assert (voice.sentence_pause_ms, load_voice(_write(tmp_path / "w.yaml", "engine: piper\nmodel: m\n")).gpus) == (
        400, 0.0)


def _write(path, text):
    path.write_text(text)
    return path


def test_series_folder_problems(tmp_path):
    scripts = tmp_path / "scripts"
    for name in ("good", "orphan", "notes", ".hidden"):
        (scripts / name).mkdir(parents=True)
    (scripts / "good" / "series.yaml").write_text("title: T\nauthor: A\n")
    (scripts / "good" / "01-a.md").write_text("x")
    (scripts / "orphan" / "01-a.md").write_text("x")
    (scripts / "orphan" / "02-b.md").write_text("x")
    (scripts / "notes" / "README.md").write_text("x")
    (scripts / ".hidden" / "01-a.md").write_text("x")
    assert [str(e) for e in series_folder_problems(scripts)] == [
        f"{scripts / 'orphan'}: 2 episode scripts here but no series.yaml, so none is built: add a series.yaml "
        "with `title:` and `author:`",
    ]
    (scripts / "01-loose.md").write_text("x")
    assert [e.path for e in series_folder_problems(scripts)] == [scripts, scripts / "orphan"]
    assert "directly under scripts/" in series_folder_problems(scripts)[0].message


@pytest.mark.parametrize(
    "text, line",
    [
        ("a: !!timestamp 2026-02-30\n", 1),
        ("a: !!int x\n", 1),
        ("a: " + "1" * 5000 + "\n", 1),
        ("a: " + "[" * 2000 + "]" * 2000 + "\n", 1),
        ("a: 1\nb: [\n", 3),
    ],
)
def test_yaml_that_pyyaml_cannot_build_is_a_config_error(tmp_path, text, line):
    with pytest.raises(ConfigError) as caught:
        parse_yaml_mapping(text, tmp_path / "x.yaml")
    assert caught.value.line == line and caught.value.message.startswith("invalid YAML")


def test_dates_stay_text_for_the_field_to_check():
    assert parse_yaml_mapping("date: 2026-02-19\n", Path("x.yaml"))["date"] == "2026-02-19"


def test_podcast_guid_is_read_in_its_canonical_form(tmp_path):
    (tmp_path / "series.yaml").write_text("title: T\nauthor: A\npodcast_guid: 917393E3-1B1E-5CEF-ACE4-EDAA54E1F810\n")
    assert load_series(tmp_path).podcast_guid == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
