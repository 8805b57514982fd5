"""The Coqui TTS engine: a tiny VITS model made here (random weights) loaded through the same
local-path code as a user's model, built end to end; guards and errors with doubles at the edge."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from pipeline.commands.build import build
from pipeline.engines import coqui, voice_identity
from pipeline.errors import EngineError
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.settings import load_voice

from .conftest import ffmpeg_duration_s, ffmpeg_ebur128


def _require_coqui():
    if os.environ.get("EPISODES_REQUIRE_COQUI") == "1":
        import TTS  # noqa: F401  (CI installs the extra: a missing one must fail, not skip)
    else:
        pytest.importorskip("TTS", reason="the coqui extra is not installed: pip install -e '.[coqui]'")


def make_tiny_vits(folder: Path, speakers: list[str] | None = None) -> tuple[Path, Path]:
    """A VITS model small enough to build in a second: random weights, no discriminator;
    multi-speaker (with a speakers.pth name map) when `speakers` are given."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits

    args = VitsArgs(hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2,
                    num_layers_text_encoder=1, kernel_size_text_encoder=3, num_layers_posterior_encoder=1,
                    num_layers_flow=1, resblock_type_decoder="2", resblock_kernel_sizes_decoder=[3],
                    resblock_dilation_sizes_decoder=[[1, 3]], upsample_rates_decoder=[8, 8, 4],
                    upsample_initial_channel_decoder=32, upsample_kernel_sizes_decoder=[16, 16, 8],
                    init_discriminator=False)
    folder.mkdir(parents=True, exist_ok=True)
    if speakers:
        torch.save({name: index for index, name in enumerate(speakers)}, folder / "speakers.pth")
        args.num_speakers, args.use_speaker_embedding = len(speakers), True
        args.speakers_file, args.speaker_embedding_channels = str(folder / "speakers.pth"), 16
    characters = CharactersConfig(characters_class="TTS.tts.models.vits.VitsCharacters", pad="_", eos="", bos="",
                                  blank=None, characters="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                  punctuations="!'(),-.:;? ", phonemes=None)
    config = VitsConfig(model_args=args, use_phonemes=False, text_cleaner="english_cleaners", characters=characters,
                        audio=BaseAudioConfig(sample_rate=22050, hop_length=256, win_length=1024, fft_size=1024,
                                              num_mels=80))
    config.num_speakers = len(speakers or [])
    torch.manual_seed(0)
    model = Vits(config)
    torch.save({"model": model.state_dict()}, folder / "model.pth")
    config.save_json(str(folder / "config.json"))
    return folder / "model.pth", folder / "config.json"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> tuple[Path, Path]:
    _require_coqui()
    return make_tiny_vits(tmp_path_factory.mktemp("tiny-vits"))


@pytest.fixture
def coqui_project(project: Path, tiny_model) -> Path:
    """The test project with a `tiny` Coqui voice used by every episode (its files inside the
    project, where voice files must be)."""
    model, _config = tiny_model
    shutil.copytree(model.parent, project / "voices" / "tiny")
    (project / "voices" / "tiny.yaml").write_text("engine: coqui\nmodel: tiny/model.pth\nconfig: tiny/config.json\n"
                                                  "language: en\n")
    series = project / "scripts" / "test-series" / "series.yaml"
    series.write_text(series.read_text() + "  voice: tiny\n")
    return project


@pytest.mark.coqui
def test_tiny_vits_loads_from_a_local_path_and_rate_changes_length(coqui_project):
    voice = load_voice(coqui_project / "voices" / "tiny.yaml")
    engine = coqui.load(voice, threads=1)
    assert engine.kind == "Vits" and engine.sample_rate == 22050
    assert {p.name for p in coqui.model_files(voice)} == {"model.pth", "config.json"}
    before = voice_identity(voice)
    config = voice.resolve(voice.config)
    config.write_text(config.read_text().replace('"hop_length": 256', '"hop_length": 256 '))
    assert voice_identity(voice) != before  # a local config.json is part of the voice
    natural = engine.synthesize("A short sentence for the tiny model.", 1.0)
    slow = engine.synthesize("A short sentence for the tiny model.", 0.5)
    assert natural.dtype == np.float32 and len(natural) > 0
    assert 1.6 < len(slow) / len(natural) < 2.4  # VITS length scale divides by the rate


@pytest.mark.coqui
def test_episode_through_coqui_is_processed_like_a_piper_one(coqui_project):
    natural = build(Project(coqui_project), ["alpha"], BuildOptions(jobs=1)).results[0]
    assert natural.status == "built", natural.error
    window = {"target_duration_s": round(natural.duration_s * 1.3, 2), "duration_tolerance_s": 0.5}
    report = build(Project(coqui_project), ["alpha"], BuildOptions(jobs=1, force=True, overrides=window))
    result = report.results[0]
    assert result.status == "built", result.error
    assert result.rate_factor < 1.0  # fitted by slowing the model down
    path = coqui_project / "out" / "test-series" / "01-alpha.mp3"
    oracle = ffmpeg_ebur128(path)
    assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
    assert oracle["true_peak_dbtp"] <= -1.0 + 0.05
    assert abs(ffmpeg_duration_s(path) - window["target_duration_s"]) <= 0.5
    tags = ID3(path)
    assert {f.desc: f.text[0] for f in tags.getall("TXXX")}["engine"].startswith("coqui:")
    assert str(tags["TRCK"]) == "1/3" and str(tags["TALB"]) == "Test Series: Testing"
    assert path.with_suffix(".vtt").exists()


@pytest.mark.coqui
def test_multi_speaker_model_needs_and_uses_a_speaker_name(tmp_path):
    _require_coqui()
    model, config = make_tiny_vits(tmp_path / "multi", speakers=["ada", "grace"])
    profile = tmp_path / "duo.yaml"
    profile.write_text(f"engine: coqui\nmodel: {model}\nconfig: {config}\n")
    with pytest.raises(EngineError, match="this model has several speakers; set `speaker:` \\(for example 'ada'\\)"):
        coqui.load(load_voice(profile), threads=1)
    profile.write_text(f"engine: coqui\nmodel: {model}\nconfig: {config}\nspeaker: hopper\n")
    with pytest.raises(EngineError, match="speaker 'hopper' is not in this model \\(known: ada, grace\\)"):
        coqui.load(load_voice(profile), threads=1)
    profile.write_text(f"engine: coqui\nmodel: {model}\nconfig: {config}\nspeaker: grace\n")
    engine = coqui.load(load_voice(profile), threads=1)
    assert len(engine.synthesize("Grace speaks this line.", 1.0)) > 0
    ada = tmp_path / "ada.yaml"
    ada.write_text(f"engine: coqui\nmodel: {model}\nconfig: {config}\nspeaker: ada\n")
    assert voice_identity(load_voice(profile)) != voice_identity(load_voice(ada))


def test_coqui_voice_without_the_extra_fails_that_episode_only(project, tone_engine, monkeypatch):
    from pipeline import engines

    monkeypatch.setattr(engines, "engine_installed", lambda name: name != "coqui")
    (project / "voices" / "vits.yaml").write_text("engine: coqui\nmodel: tts_models/en/ljspeech/vits\n")
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text().replace("tags: [Testing]\n", "tags: [Testing]\nvoice: vits\n"))
    report = build(Project(project), [], BuildOptions(jobs=1))
    assert [r.file for r in report.results if r.status == "built"] == ["01-alpha.mp3", "03-gamma.mp3"]
    assert [str(e) for e in report.errors] == [
        f"{project / 'voices' / 'vits.yaml'}: voice `vits` needs the coqui engine, which is not installed; "
        "install it with: pip install -e '.[coqui]'  (Coqui TTS with torch 2.9.1, about 7 GB)"]


def test_split_for_limit_breaks_at_clauses_and_keeps_every_word():
    text = ("First clause is here; the second one follows it, with a comma, and then a long tail of "
            "words that keeps going until the limit is certainly passed by this sentence")
    pieces = coqui.split_for_limit(text, 60)
    assert all(len(p) <= 60 for p in pieces)
    assert " ".join(pieces).split() == text.split()
    assert pieces[0] == "First clause is here;"


class FakeSynthesizer:
    output_sample_rate = 1000

    def __init__(self, lengths):
        self.lengths = list(lengths)
        self.tts_model = type("Model", (), {"length_scale": 1.0})()


class FakeTTS:
    """Returns audio of scripted lengths, to drive the runaway guard."""

    def __init__(self, seconds):
        self.synthesizer = FakeSynthesizer(seconds)
        self.calls = 0

    def tts(self, text, **kwargs):
        self.calls += 1
        return [0.1] * int(self.synthesizer.lengths.pop(0) * 1000)


def fake_engine(tmp_path, seconds) -> coqui.CoquiEngine:
    voice_path = tmp_path / "v.yaml"
    voice_path.write_text("engine: coqui\nmodel: x\n")
    return coqui.CoquiEngine(FakeTTS(seconds), load_voice(voice_path), "Vits", 1.0)


def test_runaway_output_is_retried_then_fails_clearly(tmp_path):
    text = "Twenty characters ok"  # at most 20 / 4 + 2 = 7 s is plausible
    recovered = fake_engine(tmp_path, [30.0, 2.0])
    assert len(recovered.synthesize(text, 1.0)) == 2000
    assert recovered.tts.calls == 2
    stuck = fake_engine(tmp_path, [30.0, 31.0, 32.0])
    with pytest.raises(EngineError, match=r"runaway audio \(32.0 s for 20 characters, at most 7.0 s expected\)"):
        stuck.synthesize(text, 1.0)


def test_xtts_reference_audio_errors(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("engine: coqui\nmodel: tts_models/multilingual/multi-dataset/xtts_v2\nspeaker_wav: ref.wav\n")
    with pytest.raises(EngineError, match="reference audio for XTTS not found"):
        coqui._check_reference(load_voice(path))
    (tmp_path / "ref.wav").write_bytes(b"not audio at all")
    with pytest.raises(EngineError, match="reference audio for XTTS is unreadable"):
        coqui._check_reference(load_voice(path))
    path.write_text("engine: coqui\nmodel: tts_models/multilingual/multi-dataset/xtts_v2\n")
    with pytest.raises(EngineError, match="needs `speaker_wav:`"):
        coqui._check_reference(load_voice(path))


@pytest.mark.coqui
def test_unreachable_model_name_says_offline_and_how_to_use_a_local_model(tmp_path, monkeypatch):
    _require_coqui()
    import TTS.api

    class Offline:
        def __init__(self, *args, **kwargs):
            raise ConnectionError("Failed to establish a new connection")

    monkeypatch.setattr(TTS.api, "TTS", Offline)
    path = tmp_path / "v.yaml"
    path.write_text("engine: coqui\nmodel: tts_models/en/ljspeech/vits\n")
    with pytest.raises(EngineError) as caught:
        coqui.load(load_voice(path), threads=1)
    message = str(caught.value)
    assert "cannot load Coqui model tts_models/en/ljspeech/vits" in message
    assert "if this machine is offline" in message and "point `model:` at the checkpoint" in message
