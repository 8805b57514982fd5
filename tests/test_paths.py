"""Paths a project names resolve inside the project, or are errors naming the file and line; a
path that is not a regular file says what it is."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from pipeline.engines import piper
from pipeline.errors import ConfigError, ScriptError
from pipeline.paths import file_problem, inside_project
from pipeline.settings import load_voice, load_voices


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A project folder with one series and a file inside it, and a file outside it."""
    (tmp_path / "project" / "scripts" / "series" / "sound").mkdir(parents=True)
    (tmp_path / "project" / "scripts" / "series" / "sound" / "intro.wav").write_bytes(b"RIFF")
    (tmp_path / "outside.wav").write_bytes(b"RIFF")
    return tmp_path / "project"


def check(root: Path, value: str) -> Path:
    series = root / "scripts" / "series"
    return inside_project(value, series, root, "`intro` file", series / "series.yaml", 9)


@pytest.mark.parametrize("value", ["sound/intro.wav", " sound/intro.wav ", "../series/sound/intro.wav",
                                   "{root}/scripts/series/sound/intro.wav", "../../scripts/series/sound/intro.wav"])
def test_paths_inside_the_project_resolve(root, value):
    assert check(root, value.replace("{root}", str(root))) == (root / "scripts/series/sound/intro.wav").resolve()


@pytest.mark.parametrize("value, says", [
    ("../../../outside.wav", "`intro` file {outside}: must be inside the project folder {root}"),
    ("{outside}", "`intro` file {outside}: must be inside the project folder {root}"),
    ("/etc/passwd", "`intro` file /etc/passwd: must be inside the project folder {root}"),
    ("~/intro.wav", "`intro` file '~/intro.wav': `~` is not expanded here"),
    ("~", "`intro` file '~': `~` is not expanded here"),
    ("sound/a\0b.wav", "`intro` file path 'sound/a\\x00b.wav' is not usable"),
])
def test_paths_leaving_the_project_are_errors_naming_file_and_line(root, value, says):
    outside = str((root.parent / "outside.wav").resolve())
    with pytest.raises(ConfigError) as caught:
        check(root, value.replace("{outside}", outside))
    assert (caught.value.path, caught.value.line) == (root / "scripts/series/series.yaml", 9)
    assert says.replace("{outside}", outside).replace("{root}", str(root.resolve())) in caught.value.message


def test_symlinks_are_followed_out_of_the_project_and_within_it(root):
    series = root / "scripts" / "series"
    (series / "out.wav").symlink_to(root.parent / "outside.wav")
    (series / "in.wav").symlink_to(series / "sound" / "intro.wav")
    (series / "loop.wav").symlink_to(series / "loop.wav")
    assert check(root, "in.wav") == (series / "sound" / "intro.wav").resolve()
    with pytest.raises(ConfigError, match="must be inside the project folder"):
        check(root, "out.wav")
    with pytest.raises(ConfigError, match="is not usable"):
        check(root, "loop.wav")


def test_the_error_type_is_the_callers(root):
    with pytest.raises(ScriptError):
        inside_project("/etc/passwd", root, root, "recording", root / "x.md", 3, ScriptError)


def test_file_problem_says_what_a_path_is(tmp_path: Path):
    (tmp_path / "file").write_bytes(b"x")
    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "fifo")
    assert file_problem(tmp_path / "file") is None
    assert file_problem(tmp_path / "missing") == "not found"
    assert file_problem(tmp_path / "folder") == "is a folder, not a file"
    assert file_problem(tmp_path / "fifo") == "is a named pipe (FIFO), not a file"
    assert file_problem(Path("/dev/null")) == "is a device, not a file"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket"))
        assert file_problem(tmp_path / "socket") == "is a socket, not a file"


# --- voice profiles and the voices folder -------------------------------------------------------


@pytest.fixture
def voices(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "voices"
    folder.mkdir(parents=True)
    (tmp_path / "weights.onnx").write_bytes(b"onnx")
    return folder


@pytest.mark.parametrize("fields, line, says", [
    ("model: /etc/passwd\n", 2, "`model` /etc/passwd: must be inside the project folder"),
    ("model: tone\nconfig: ../../weights.onnx\n", 3, "`config` {outside}: must be inside the project folder"),
    ("model: tone\nspeaker_wav: ~/me.wav\n", 3, "`speaker_wav` '~/me.wav': `~` is not expanded here"),
])
def test_voice_paths_outside_the_project_name_the_profile_line(voices, fields, line, says):
    path = voices / "narrator.yaml"
    path.write_text("engine: tone\n" + fields)
    with pytest.raises(ConfigError) as caught:
        load_voice(path)
    assert (caught.value.path, caught.value.line) == (path, line)
    assert says.replace("{outside}", str((voices.parent.parent / "weights.onnx").resolve())) in caught.value.message


def test_model_names_and_the_bundled_voice_are_not_project_paths(voices):
    (voices / "joe.yaml").write_text("engine: piper\nmodel: bundled\n")
    (voices / "vits.yaml").write_text("engine: tone\nmodel: tts_models/en/ljspeech/vits\n")
    assert set(load_voices(voices)) == {"joe", "vits"}
    model, _config = piper.model_files(load_voice(voices / "joe.yaml"))
    assert model.is_file() and not model.is_relative_to(voices.parent.resolve())


def test_a_piper_config_beside_the_model_may_not_lead_out(voices):
    (voices / "local.onnx").write_bytes(b"onnx")
    (voices / "local.onnx.json").symlink_to(voices.parent.parent / "weights.onnx")
    (voices / "local.yaml").write_text("engine: piper\nmodel: local.onnx\n")
    with pytest.raises(ConfigError, match=r"local.yaml:2: `model` .*weights.onnx: must be inside the project folder"):
        piper.model_files(load_voice(voices / "local.yaml"))


@pytest.mark.parametrize("name", ["lexicon.yaml", "other.yaml"])
def test_files_in_voices_that_link_out_of_the_project_are_refused(voices, name):
    (voices / "joe.yaml").write_text("engine: piper\nmodel: bundled\n")
    (voices / name).symlink_to(voices.parent.parent / "weights.onnx")
    with pytest.raises(ConfigError) as caught:
        load_voices(voices)
    assert caught.value.path == voices / name and caught.value.line is None
    assert "a link to" in caught.value.message and "must be inside the project folder" in caught.value.message
