"""The disclosure of a synthetic voice: spoken last and counted in the fit, in the captions,
transcript and comment tag; not said over a person's recording; checked by `episodes check`."""

from __future__ import annotations

import json
from pathlib import Path

from mutagen.id3 import ID3
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.commands.build import build
from pipeline.commands.check import check
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.settings import DEFAULT_DISCLOSURE

SENTENCES = 4
"""The test body's sentences (conftest.BODY)."""


def run(project: Path, **options):
    options.setdefault("jobs", 1)
    return build(Project(project), [], BuildOptions(**options))


def series_yaml(project: Path) -> Path:
    return project / "scripts" / "test-series" / "series.yaml"


def test_a_synthetic_episode_ends_with_the_disclosure_everywhere(project, tone_engine):
    result = run(project).results[0]
    assert result.disclosure == DEFAULT_DISCLOSURE
    assert len(result.sentences) == SENTENCES + 1 and result.sentences[-1]["line"] == 0
    assert (DEFAULT_DISCLOSURE, 1.0) in tone_engine.calls  # spoken by the voice, like any sentence
    assert result.captions[-1]["text"] == DEFAULT_DISCLOSURE
    folder = project / "out" / "test-series"
    assert (folder / "01-alpha.txt").read_text().endswith(f"\n\n{DEFAULT_DISCLOSURE}\n")
    assert ID3(folder / "01-alpha.mp3").getall("COMM")[0].text[0].endswith(DEFAULT_DISCLOSURE)
    last_caption_ends = result.captions[-1]["end_s"]
    assert last_caption_ends <= result.duration_s  # inside the audio, counted in its duration
    report = check(Project(project))
    disclosed = [g for g in report.gates if g.name == "disclosure"]
    assert len(disclosed) == 3 and all(g.passed for g in disclosed)


def test_a_series_may_say_it_in_its_own_words(project, tone_engine):
    config = series_yaml(project)
    config.write_text(config.read_text() + "disclosure: This voice was made by a computer.\n")
    result = run(project).results[0]
    assert result.disclosure == "This voice was made by a computer."
    assert result.captions[-1]["text"] == "This voice was made by a computer."


def test_a_recording_is_not_disclosed(project, tone_engine):
    from pipeline.audio.codec import write_wav
    from tests.tone_engine import ToneEngine

    engine = ToneEngine()
    sentences = ["The first sentence has a handful of ordinary words.", "A second sentence follows it closely.",
                 "A new paragraph starts here after a pause.", "It ends the episode with a few more words to say."]
    import numpy as np

    write_wav(np.concatenate([engine.synthesize(s, 1.0) for s in sentences]), engine.sample_rate,
              project / "scripts" / "test-series" / "beta.wav")
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text().replace("tags: [Testing]", "tags: [Testing]\naudio: beta.wav\ncleanup: off"))
    results = {r.file: r for r in run(project).results}
    assert results["02-beta.mp3"].disclosure is None and len(results["02-beta.mp3"].sentences) == SENTENCES
    assert results["01-alpha.mp3"].disclosure == DEFAULT_DISCLOSURE
    comment = ID3(project / "out" / "test-series" / "02-beta.mp3").getall("COMM")[0].text[0]
    assert DEFAULT_DISCLOSURE not in comment


def test_check_fails_audio_without_it_and_warns_when_it_is_turned_off(project, tone_engine):
    config = series_yaml(project)
    original = config.read_text()
    config.write_text(original + "disclosure: false\n")
    result = run(project).results[0]
    assert result.disclosure is None and len(result.sentences) == SENTENCES
    off = CliRunner().invoke(app, ["--project", str(project), "check", "--json"])
    document = json.loads(off.stdout)
    assert any("disclosure: false" in w for w in document["warnings"])
    assert not [g for g in document["failed"] if g["name"] == "disclosure"]
    config.write_text(original)  # the disclosure back on, the MP3s not built again
    report = check(Project(project))
    failed = [g for g in report.gates if g.name == "disclosure" and not g.passed]
    audio = {g.file: g for g in failed if g.file.endswith(".mp3") and "/" not in g.file}
    assert set(audio) == {"01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"}  # the audio, as built, does not say it
    assert "run episodes build" in audio["01-alpha.mp3"].detail
    assert "test-series/01-alpha.mp3" in {g.file for g in failed}  # nor does its comment tag
