"""Rebuilds that are always right and exactly as big as the change: each kind of edit does the
stage it must and no more, proven on the files (decoded audio checksums, tags read back)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from typer.testing import CliRunner

from pipeline.audio.codec import ffmpeg_path
from pipeline.cli import app
from pipeline.commands.build import build, dry_run
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.state import Store

from .conftest import BODY, episode_text

SERIES = "test-series"


def run(project: Path, targets=(), **options):
    options.setdefault("jobs", 1)
    return build(Project(project), list(targets), BuildOptions(**options))


def folder(project: Path) -> Path:
    return project / "out" / SERIES


def audio_md5(path: Path) -> str:
    """Checksum of the decoded audio stream alone (tags play no part)."""
    result = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-map", "0:a", "-f", "md5", "-"],
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def decoded(project: Path) -> dict[str, str]:
    return {p.name: audio_md5(p) for p in sorted(folder(project).glob("*.mp3"))}


def statuses(report) -> dict[str, str]:
    return {r.file: r.status for r in report.results}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def built(project, tone_engine):
    report = run(project)
    assert not report.failed
    return project


def test_copyright_change_retags_every_mp3_in_place(built, tone_engine):
    before = decoded(built)
    figures = {e["file"]: e["integrated_lufs"] for e in json.loads((folder(built) / "manifest.json").read_text())["episodes"]}
    edit(built / "scripts" / SERIES / "series.yaml", "author: Test Author", "author: Test Author\ncopyright: 2027 Us")
    plan = dry_run(Project(built), [], BuildOptions())
    assert {s.job.file: s.reason for s in plan.steps} == {
        f"0{n}-{slug}.mp3": "tags changed: copyright" for n, slug in ((1, "alpha"), (2, "beta"), (3, "gamma"))}
    tone_engine.calls.clear()
    report = run(built)
    assert set(statuses(report).values()) == {"retagged"}
    assert tone_engine.calls == []
    assert decoded(built) == before  # the audio frames are untouched
    for path in folder(built).glob("*.mp3"):
        assert str(ID3(path)["TCOP"]) == "2027 Us"
    manifest = json.loads((folder(built) / "manifest.json").read_text())["episodes"]
    assert {e["file"]: e["integrated_lufs"] for e in manifest} == figures  # measured figures kept
    assert all(e["file_bytes"] == (folder(built) / e["file"]).stat().st_size for e in manifest)
    assert set(statuses(run(built)).values()) == {"up-to-date"}


def test_summary_edit_retags_only_that_episode(built):
    edit(built / "scripts" / SERIES / "02-beta.md", "summary: Summary of beta.", "summary: A better summary.")
    report = run(built, base_url="https://example.org/pod")
    assert statuses(report) == {"01-alpha.mp3": "up-to-date", "02-beta.mp3": "retagged", "03-gamma.mp3": "up-to-date"}
    assert ID3(folder(built) / "02-beta.mp3").getall("COMM")[0].text == [
        "A better summary. Narrated by an AI-generated synthetic voice."]
    assert "A better summary." in (folder(built) / "feed.xml").read_text()
    assert "A better summary." in (folder(built) / "index.html").read_text()


def test_adding_an_episode_retags_the_others_with_the_new_total(built, tone_engine):
    before = decoded(built)
    (built / "scripts" / SERIES / "04-delta.md").write_text(episode_text(4, "delta", BODY))
    report = run(built)
    assert statuses(report) == {"01-alpha.mp3": "retagged", "02-beta.mp3": "retagged", "03-gamma.mp3": "retagged",
                                "04-delta.mp3": "built"}
    assert [str(ID3(folder(built) / f)["TRCK"]) for f in sorted(before)] == ["1/4", "2/4", "3/4"]
    assert {k: v for k, v in decoded(built).items() if k in before} == before
    assert not report.failed_gates  # track totals agree across the series


def test_lexicon_entry_touching_one_episode_changes_exactly_one_mp3(built, tone_engine):
    edit(built / "scripts" / SERIES / "03-gamma.md", "It ends the episode", "It ends the gizmo episode")
    run(built)
    before = decoded(built)
    raw_before = {p.name: p.read_bytes() for p in folder(built).glob("*.mp3")}
    (built / "voices" / "lexicon.yaml").write_text("gizmo: gadget thing\n")
    tone_engine.calls.clear()
    report = run(built)
    assert statuses(report) == {"01-alpha.mp3": "up-to-date", "02-beta.mp3": "up-to-date", "03-gamma.mp3": "built"}
    assert tone_engine.calls == [("It ends the gadget thing episode with a few more words to say.", 1.0)]
    after = decoded(built)
    assert [name for name in before if before[name] != after[name]] == ["03-gamma.mp3"]
    assert {p.name: p.read_bytes() for p in folder(built).glob("*.mp3") if p.name != "03-gamma.mp3"} == \
        {k: v for k, v in raw_before.items() if k != "03-gamma.mp3"}


def test_voice_model_file_replaced_in_place_rebuilds(project, tone_engine):
    model = project / "voices" / "tone.model"
    model.write_bytes(b"weights one")
    (project / "voices" / "joe.yaml").write_text("engine: tone\nmodel: tone.model\nsentence_pause_ms: 400\n")
    run(project)
    model.write_bytes(b"weights two")  # same name, new contents
    plan = dry_run(Project(project), [], BuildOptions())
    assert {s.reason for s in plan.steps} == {"changed: voice"}
    assert set(statuses(run(project)).values()) == {"built"}


def test_audio_code_version_change_rebuilds(built, monkeypatch):
    import pipeline.audio

    monkeypatch.setattr(pipeline.audio, "AUDIO_FORMAT", pipeline.audio.AUDIO_FORMAT + "-next")
    plan = dry_run(Project(built), [], BuildOptions())
    assert {s.reason for s in plan.steps} == {"changed: software"}


def test_renamed_slug_removes_the_orphan_after_a_clean_whole_series_build(built):
    scripts = built / "scripts" / SERIES
    text = (scripts / "02-beta.md").read_text().replace("slug: beta", "slug: better-beta")
    (scripts / "02-beta.md").unlink()
    (scripts / "02-better-beta.md").write_text(text)
    named = run(built, ["alpha"])  # a build of named episodes leaves orphans alone
    assert named.orphans_removed == [] and (folder(built) / "02-beta.mp3").exists()
    plan = dry_run(Project(built), [], BuildOptions())
    assert [o.stem for o in plan.orphans] == ["02-beta"]
    result = CliRunner().invoke(app, ["--project", str(built), "build", "--dry-run"])
    assert "02-beta" in result.output and "remove" in result.output
    report = run(built, base_url="https://example.org/pod")
    assert [o.stem for o in report.orphans_removed] == ["02-beta"]
    assert not list(folder(built).glob("02-beta.*"))
    manifest = json.loads((folder(built) / "manifest.json").read_text())
    assert [e["file"] for e in manifest["episodes"]] == ["01-alpha.mp3", "02-better-beta.mp3", "03-gamma.mp3"]
    assert "02-beta.mp3" not in (folder(built) / "feed.xml").read_text()
    assert not [g for g in report.failed_gates if g.name == "track numbers"]  # no "duplicated 2"


@pytest.mark.parametrize("stop_in", ["publish_series", "delete_orphan_files"])
def test_a_build_stopped_around_the_orphans_publishing_names_only_files_on_disk(built, monkeypatch, stop_in):
    """Killed after the orphan is forgotten but before publishing, or after publishing but before its
    files are deleted: the manifest and the feed never name a file that is not there."""
    import pipeline.commands.build as command

    run(built, base_url="https://example.org/pod")
    scripts = built / "scripts" / SERIES
    text = (scripts / "02-beta.md").read_text().replace("slug: beta", "slug: better-beta")
    (scripts / "02-beta.md").unlink()
    (scripts / "02-better-beta.md").write_text(text)

    def killed(*args, **kwargs):
        raise SystemExit("killed")

    monkeypatch.setattr(command, stop_in, killed)
    with pytest.raises(SystemExit):
        run(built, base_url="https://example.org/pod")
    on_disk = {p.name for p in folder(built).glob("*.mp3")}
    manifest = json.loads((folder(built) / "manifest.json").read_text())
    assert {e["file"] for e in manifest["episodes"]} <= on_disk
    feed = (folder(built) / "feed.xml").read_text()
    assert {name for name in ("01-alpha.mp3", "02-beta.mp3", "02-better-beta.mp3", "03-gamma.mp3")
            if f"/{name}" in feed} <= on_disk
    monkeypatch.undo()
    healed = run(built, base_url="https://example.org/pod")  # the next build finishes the job
    assert not healed.failed and not list(folder(built).glob("02-beta.*"))


def test_orphans_are_kept_when_the_build_has_failures(built):
    scripts = built / "scripts" / SERIES
    (scripts / "02-beta.md").rename(scripts / "02-better.md")
    edit(scripts / "02-better.md", "slug: beta", "slug: better")
    (scripts / "04-broken.md").write_text("---\ntitle: [oops\n---\nWords.\n")
    report = run(built)
    assert report.failed and report.orphans_removed == []
    assert [o.stem for o in report.orphans_kept] == ["02-beta"]
    assert (folder(built) / "02-beta.mp3").exists()


def test_editing_a_fitted_episode_respeaks_only_the_edited_sentence(project, tone_engine):
    overrides = {"target_duration_s": 21.0, "duration_tolerance_s": 0.5}  # beyond what the pauses can reach
    first = run(project, ["alpha"], overrides=overrides).results[0]
    assert first.rate_factor != 1.0 and round(first.rate_factor, 2) == first.rate_factor
    tone_engine.calls.clear()
    edit(project / "scripts" / SERIES / "01-alpha.md", "A second sentence follows it closely.",
         "A second sentence follows it gently.")
    again = run(project, ["alpha"], overrides=overrides).results[0]
    assert [text for text, _ in tone_engine.calls] == ["A second sentence follows it gently."]
    assert again.rate_factor == first.rate_factor


def test_the_fit_records_only_rates_it_synthesized(project, tone_engine):
    overrides = {"target_duration_s": 40.0, "duration_tolerance_s": 2.0}  # unreachable: every round is used
    result = run(project, ["alpha"], overrides=overrides).results[0]
    spoken = {round(rate, 4) for _, rate in tone_engine.calls}
    assert round(result.rate_factor, 4) in spoken
    cache = Project(project).cache
    assert result.cache_keys and all(cache.get(key) is not None for key in result.cache_keys)


def test_a_written_form_change_rewrites_tags_and_captions_not_audio(built, tone_engine):
    before = decoded(built)
    edit(built / "scripts" / SERIES / "01-alpha.md", "The first sentence", "[The 1st sentence]{The first sentence}")
    tone_engine.calls.clear()
    report = run(built)
    assert report.steps[0].stages == ("tags", "sidecars")
    assert statuses(report)["01-alpha.mp3"] == "retagged"
    assert tone_engine.calls == [] and decoded(built) == before
    vtt = (folder(built) / "01-alpha.vtt").read_text()
    assert "The 1st sentence" in vtt
    assert "The 1st sentence" in ID3(folder(built) / "01-alpha.mp3").getall("USLT")[0].text
    assert set(statuses(run(built)).values()) == {"up-to-date"}


def test_the_ffmpeg_found_is_remembered_while_its_lookup_and_file_stay(tmp_path, monkeypatch):
    """A no-op build does not import imageio-ffmpeg to find the binary again; a changed lookup
    or a vanished binary looks again, and EPISODES_FFMPEG is always used as it is."""
    from pipeline.audio import ffmpeg as finder
    from pipeline.fingerprint import Memo

    monkeypatch.delenv("EPISODES_FFMPEG", raising=False)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE", raising=False)
    first, second = tmp_path / "ffmpeg-one", tmp_path / "ffmpeg-two"
    first.write_text("")
    second.write_text("")
    lookups: list[str] = []
    current = {"binary": str(first)}

    def look() -> str:
        lookups.append(current["binary"])
        return current["binary"]

    monkeypatch.setattr(finder, "ffmpeg_path", look)
    store = Store(tmp_path / "state.sqlite")
    memo = Memo(store)
    assert memo.ffmpeg() == str(first)
    memo.save()
    current["binary"] = str(second)
    assert Memo(store).ffmpeg() == str(first)  # remembered: no lookup
    assert lookups == [str(first)]

    monkeypatch.setenv("IMAGEIO_FFMPEG_EXE", "/elsewhere")  # decides the lookup: look again
    assert Memo(store).ffmpeg() == str(second)
    monkeypatch.delenv("IMAGEIO_FFMPEG_EXE")

    first.unlink()  # the remembered binary is gone: look again
    assert Memo(store).ffmpeg() == str(second)
    assert lookups == [str(first), str(second), str(second)]

    monkeypatch.setenv("EPISODES_FFMPEG", str(first))  # named by the user: used as it is, every time
    Memo(store).ffmpeg()
    Memo(store).ffmpeg()
    assert len(lookups) == 5


def test_workers_on_this_machine_reuse_the_drivers_digests_of_unchanged_voice_files(tmp_path, monkeypatch):
    """The worker's voice check reads a model file only if it is not the one the driver hashed."""
    import hashlib

    from pipeline import fingerprint
    from pipeline.fingerprint import Memo

    model = tmp_path / "voice.onnx"
    model.write_bytes(b"weights" * 1000)
    known = Memo(None).known([model])
    read: list[Path] = []
    real = fingerprint.sha256_file
    monkeypatch.setattr(fingerprint, "sha256_file", lambda path: read.append(path) or real(path))
    assert known(model) == hashlib.sha256(model.read_bytes()).hexdigest()
    assert read == []
    model.write_bytes(b"other weights")  # replaced after planning: hashed, and the new digest is returned
    assert known(model) == hashlib.sha256(b"other weights").hexdigest()
    assert read == [model]


def test_a_worker_refuses_a_voice_model_replaced_after_planning(tmp_path):
    from pipeline.engines import voice_files, voice_identity
    from pipeline.errors import EngineError
    from pipeline.execute.tasks import SpeakTask, _checked_engine, speak
    from pipeline.fingerprint import Memo
    from pipeline.settings import load_voice

    (tmp_path / "model.bin").write_bytes(b"planned weights")
    profile = tmp_path / "toned.yaml"
    profile.write_text("engine: tone\nmodel: model.bin\n")
    voice = load_voice(profile)
    known = Memo(None).known(voice_files(voice))
    identity = voice_identity(voice, known)
    assert len(speak(SpeakTask(voice, identity, known, "As planned.", 1.0)).samples) > 0
    (tmp_path / "model.bin").write_bytes(b"other weights")
    _checked_engine.cache_clear()  # a worker that loads the voice after the change
    with pytest.raises(EngineError, match="not the one this build planned with"):
        speak(SpeakTask(voice, identity, known, "Replaced.", 1.0))
