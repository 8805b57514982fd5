"""Settings: layering, validation, and errors naming the file and line."""

from __future__ import annotations

import pytest

from pipeline.errors import ConfigError
from pipeline.settings import Production, load_series, load_voice, load_voices


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
