"""The studio, driven in-process (Starlette's TestClient): every refusal of the guard, sentence
edits (byte-exact, a conflict refused with both versions), lexicon saves (comments and order kept,
exactly the affected sentences rebuilt), approvals cleared by an audio change, takes and picks,
builds streamed as server-sent events, and the lock shared with the command line."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from starlette.testclient import TestClient
from typer.testing import CliRunner

from pipeline.cli import app as cli
from pipeline.commands.approval import approve
from pipeline.commands.build import build, dry_run
from pipeline.commands.estimate import estimate
from pipeline.commands.listing import list_episodes
from pipeline.durations import clock
from pipeline.engines import EngineSpec, registry
from pipeline.errors import PipelineError
from pipeline.files import output_lock
from pipeline.fingerprint import sentence_key
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.publish_site import publish_project
from pipeline.script import parse_episode
from pipeline.state import open_store
from pipeline.studio.app import create_app
from pipeline.studio.guard import allowed_hosts
from pipeline.studio.server import open_studio

from .conftest import BODY, REPO, SERIES_YAML, TONE_VOICE, episode_text

BASE = "http://127.0.0.1:8731"
ORIGIN = {"Origin": BASE}
TOKEN = "test-token-that-is-long-enough-to-guess-never"
SERIES = "test-series"
MARKUP = """\
# A heading is a note, not narration

The first sentence says [LoRA]{Laura} once. A *second* one links [the paper](https://example.org/x) here.
> A quoted sentence follows it. And **another** one ends the quote.
- A listed sentence is next. <!-- a note --> Then one after a comment.

It ends here.
"""
LEXICON = """\
# The project's lexicon: comments and order must survive the studio.

LoRA: Lora        # said as a name
QLoRA: queue Lora
# a comment between entries
alpaca: {say: al packa, match_case: false}
"""


def _write_project(root: Path, voice: str = TONE_VOICE) -> Path:
    (root / "voices").mkdir(parents=True)
    (root / "voices" / "joe.yaml").write_text(voice)
    (root / "voices" / "lexicon.yaml").write_text(LEXICON)
    folder = root / "scripts" / SERIES
    folder.mkdir(parents=True)
    (folder / "series.yaml").write_text(SERIES_YAML)
    (folder / "01-alpha.md").write_text(episode_text(1, "alpha", BODY))
    (folder / "02-beta.md").write_text(episode_text(2, "beta", MARKUP))
    (folder / "03-gamma.md").write_text(episode_text(3, "gamma", BODY.replace("first sentence", "first alpaca line")))
    return root


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    root = _write_project(tmp_path_factory.mktemp("studio") / "project")
    report = build(Project(root), [], BuildOptions(jobs=1))
    assert not report.failed and not report.failed_gates, [r.error for r in report.results] + report.failed_gates
    return root


@pytest.fixture
def built(built_template, tmp_path) -> Path:
    """A copy of the built three-episode project (tone voice), for one test to change."""
    root = tmp_path / "project"
    shutil.copytree(built_template, root)
    return root


def studio(root: Path, host: str = "127.0.0.1") -> TestClient:
    """A client that has opened the address the studio prints (so it holds the cookie)."""
    client = TestClient(create_app(Project(root), TOKEN, allowed_hosts(host), "studio-8731"), base_url=BASE)
    assert client.get(f"/?token={TOKEN}").status_code == 200
    return client


def bare(root: Path) -> TestClient:
    """A client without the token's cookie."""
    return TestClient(create_app(Project(root), TOKEN, allowed_hosts("127.0.0.1"), "studio-8731"), base_url=BASE)


def results(root: Path) -> dict:
    store = open_store(root / "out", write=False)
    try:
        return store.episodes(SERIES)
    finally:
        store.close()


def page(client: TestClient, label: str) -> dict:
    response = client.get(f"/episode/{label}.json")
    assert response.status_code == 200, response.text
    return response.json()


def wav_samples(data: bytes) -> np.ndarray:
    samples, _ = soundfile.read(io.BytesIO(data), dtype="float32")
    return samples


def run_build(client: TestClient, targets: list[str]) -> list[dict]:
    """Start a build from the page and read its server-sent events to the end."""
    response = client.post("/api/build", json={"targets": targets}, headers=ORIGIN)
    assert response.status_code == 200, response.text
    events = []
    with client.stream("GET", "/api/build/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["event"] == "done":
                    break
    return events


# -- the guard ------------------------------------------------------------------------------------

def test_every_request_without_the_token_is_refused(built):
    client = bare(built)
    key = results(built)["01-alpha.mp3"].cache_keys[0]
    for path in ("/", "/index.json", f"/episode/{SERIES}/01-alpha", f"/episode/{SERIES}/01-alpha.json", "/lexicon",
                 "/static/studio.js", f"/audio/sentence/{key}.wav", f"/audio/episode/{SERIES}/01-alpha.mp3",
                 "/api/build/events", "/nowhere"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "token" in response.text
    response = client.post(f"/api/episode/{SERIES}/01-alpha/approve", headers=ORIGIN)
    assert response.status_code == 403 and "token" in response.text
    assert client.get(f"/?token=not-{TOKEN}").status_code == 403
    client.cookies.set("studio-8731", "guessed")
    assert client.get("/").status_code == 403


def test_the_token_in_the_address_sets_a_strict_http_only_cookie_that_then_suffices(built):
    client = bare(built)
    response = client.get(f"/?token={TOKEN}")
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"studio-8731={TOKEN};") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/index.json").status_code == 200
    assert client.get(f"/audio/episode/{SERIES}/01-alpha.mp3").status_code == 200
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("host", ["evil.example:8731", "attacker.test", "127.0.0.1.nip.io:8731", "192.168.1.5:8731"])
def test_a_host_header_not_naming_the_loopback_address_is_refused(built, host):
    client = studio(built)
    response = client.get("/index.json", headers={"Host": host})
    assert response.status_code == 403 and "answers only as" in response.text


@pytest.mark.parametrize("host", ["localhost:8731", "127.0.0.1", "[::1]:8731", "LOCALHOST:8731"])
def test_the_loopback_names_are_served(built, host):
    assert studio(built).get("/index.json", headers={"Host": host}).status_code == 200


def test_the_address_given_with_host_is_served_besides_loopback():
    assert allowed_hosts("192.168.1.5") == {"127.0.0.1", "localhost", "::1", "192.168.1.5"}
    assert allowed_hosts("0.0.0.0") == {"127.0.0.1", "localhost", "::1"}


@pytest.mark.parametrize("origin", [None, "http://evil.example", "http://localhost:8731", "null",
                                    "https://127.0.0.1:8731"])
def test_a_change_without_the_studios_own_origin_is_refused(built, origin):
    client = studio(built)
    headers = {"Origin": origin} if origin else {}
    for path in (f"/api/episode/{SERIES}/01-alpha/approve", "/api/build", "/api/lexicon",
                 f"/api/episode/{SERIES}/01-alpha/sentence/0/edit"):
        response = client.post(path, json={}, headers=headers)
        assert response.status_code == 403 and "Origin" in response.text, path
    assert not approved(built, "01-alpha.mp3")


def approved(root: Path, file: str) -> bool:
    store = open_store(root / "out", write=False)
    try:
        return file in store.approvals(SERIES)
    finally:
        store.close()


def test_it_serves_only_the_projects_episodes_and_cache(built):
    client = studio(built)
    for path in (f"/episode/{SERIES}/09-nothing", f"/episode/{SERIES}/09-nothing.json", "/episode/../01-alpha",
                 f"/audio/episode/{SERIES}/..%2F..%2Fvoices%2Fjoe.mp3", "/audio/episode/..%2Fscripts/01-alpha.mp3",
                 "/audio/sentence/..%2F..%2Fetc%2Fpasswd.wav", f"/audio/sentence/{'0' * 64}.wav",
                 "/static/..%2Fapp.py", "/static/base.html"):
        assert client.get(path).status_code == 404, path
    response = client.post(f"/api/episode/{SERIES}/09-nothing/approve", headers=ORIGIN)
    assert response.status_code == 404


def test_the_studio_binds_the_loopback_address_by_default(tmp_path):
    root = _write_project(tmp_path / "project")
    bound = open_studio(Project(root), port=0)
    try:
        assert bound.listener.getsockname()[0] == "127.0.0.1"
        assert re.fullmatch(rf"http://127\.0\.0\.1:{bound.port}/\?token=[\w-]{{43}}", bound.url)
        with pytest.raises(PipelineError, match=f"cannot listen on 127.0.0.1:{bound.port}"):
            open_studio(Project(root), port=bound.port)
    finally:
        bound.listener.close()
    assert open_studio(Project(root), port=0).token != bound.token


# -- pages --------------------------------------------------------------------------------------

def test_the_index_lists_every_episode_with_its_status_and_figures(built):
    (built / "scripts" / SERIES / "03-gamma.md").write_text(episode_text(3, "gamma", BODY + "\nOne more sentence.\n"))
    data = studio(built).get("/index.json").json()
    rows = {row["label"]: row for series in data["series"] for row in series["episodes"]}
    assert list(rows) == [f"{SERIES}/01-alpha", f"{SERIES}/02-beta", f"{SERIES}/03-gamma"]
    stored = results(built)
    assert rows[f"{SERIES}/01-alpha"]["status"] == "built"
    assert rows[f"{SERIES}/01-alpha"]["duration_s"] == stored["01-alpha.mp3"].duration_s
    assert rows[f"{SERIES}/01-alpha"]["integrated_lufs"] == stored["01-alpha.mp3"].integrated_lufs
    assert rows[f"{SERIES}/03-gamma"]["status"] == "stale"
    assert rows[f"{SERIES}/03-gamma"]["reason"] == "changed: spoken text"
    estimates = {row.label: row for row in estimate(Project(built), []).rows}
    for label, row in rows.items():  # the same words and length as `episodes estimate` and `list`
        assert row["estimate"]["words"] == estimates[label].words
        assert row["estimate"]["fitted_s"] == estimates[label].fitted_s
    assert rows[f"{SERIES}/01-alpha"]["time"] == clock(stored["01-alpha.mp3"].duration_s)
    assert rows[f"{SERIES}/03-gamma"]["time"] == "~" + clock(estimates[f"{SERIES}/03-gamma"].fitted_s)
    html = studio(built).get("/").text
    assert "03-gamma" in html and "stale: changed: spoken text" in html


def test_the_episode_page_gives_each_sentence_its_audio_and_place_in_the_mp3(built):
    client = studio(built)
    data = page(client, f"{SERIES}/01-alpha")
    stored = results(built)["01-alpha.mp3"]
    sentences = data["sentences"]
    assert [s["key"] for s in sentences] == stored.cache_keys
    assert [(s["start_s"], s["end_s"]) for s in sentences] == [(x["start_s"], x["end_s"]) for x in stored.sentences]
    assert sentences[-1]["line"] == 0 and sentences[-1]["source"] is None  # the disclosure, from series.yaml
    assert sentences[0]["source"] == "The first sentence has a handful of ordinary words."
    audio = client.get(sentences[0]["audio"])
    assert audio.headers["content-type"] == "audio/wav"
    samples = wav_samples(audio.content)
    cached, _rate = Project(built).cache.get(sentences[0]["key"])
    assert len(samples) == len(cached) and np.max(np.abs(samples - cached)) < 1e-4
    mp3 = client.get(data["audio"], headers={"Range": "bytes=100-199"})
    assert mp3.status_code == 206 and len(mp3.content) == 100
    assert mp3.content == (built / "out" / SERIES / "01-alpha.mp3").read_bytes()[100:200]


def test_a_flagged_sentence_shows_what_recognition_heard(built):
    store = open_store(built / "out")
    try:
        entry = store.episodes(SERIES)["01-alpha.mp3"]
        entry.sentences[1] = {**entry.sentences[1], "word_error": 0.5}
        entry.flagged = [{"file": "x", "line": entry.sentences[1]["line"], "expected": "a second sentence follows it",
                          "heard": "a second sentence swallows it", "word_error": 0.5}]
        store.record(SERIES, entry)
    finally:
        store.close()
    data = page(studio(built), f"{SERIES}/01-alpha")
    assert [s["heard"] for s in data["sentences"][:3]] == [None, "a second sentence swallows it", None]
    assert "heard “a second sentence swallows it”" in studio(built).get(f"/episode/{SERIES}/01-alpha").text


# -- editing a sentence -------------------------------------------------------------------------

def test_an_edit_rewrites_exactly_that_sentence_and_its_new_audio_plays_at_once(built):
    client = studio(built)
    script = built / "scripts" / SERIES / "01-alpha.md"
    before = script.read_bytes()
    data = page(client, f"{SERIES}/01-alpha")
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/1/edit", headers=ORIGIN,
                           json={"text": "A second sentence follows it rather closely.", "version": data["version"]})
    assert response.status_code == 200, response.text
    report = response.json()
    after = script.read_bytes()
    old, new = b"A second sentence follows it closely.", b"A second sentence follows it rather closely."
    assert before.count(old) == 1 and after == before.replace(old, new)
    spoken = report["sentences"][0]
    assert spoken["synthesized"] and spoken["written"] == new.decode()
    audio = wav_samples(client.get(f"/audio/sentence/{spoken['key']}.wav").content)
    previous = wav_samples(client.get(data["sentences"][1]["audio"]).content)
    assert len(audio) > len(previous)  # the tone voice speaks each letter: "rather" is heard
    again = page(client, f"{SERIES}/01-alpha")
    assert again["status"] == "stale" and again["version"] == report["version"]
    assert again["estimate"]["words"] == data["estimate"]["words"] + 1  # "rather"
    assert again["estimate"]["text"].startswith(f"As written: {again['estimate']['words']} words, about ")
    assert again["sentences"][1]["key"] == spoken["key"] and again["sentences"][1]["start_s"] is None
    events = run_build(client, [f"{SERIES}/01-alpha"])
    kinds = [e["event"] for e in events]
    assert kinds[0] == "planned" and "progress" in kinds and kinds[-1] == "done" and not events[-1]["failed"]
    assert {"event": "finished", "label": f"{SERIES}/01-alpha", "status": "built", "detail": ""}.items() <= \
        next(e for e in events if e["event"] == "finished").items()
    entry = results(built)["01-alpha.mp3"]
    assert entry.synthesized_sentences == 0  # the studio spoke it: the rebuild speaks nothing again
    assert spoken["key"] in entry.cache_keys
    rebuilt = page(client, f"{SERIES}/01-alpha")
    assert rebuilt["status"] == "built" and rebuilt["sentences"][1]["start_s"] is not None


def test_an_edit_of_a_script_changed_on_disk_is_refused_with_both_versions(built):
    client = studio(built)
    script = built / "scripts" / SERIES / "01-alpha.md"
    version = page(client, f"{SERIES}/01-alpha")["version"]
    script.write_text(script.read_text().replace("closely", "at once"))
    changed = script.read_bytes()
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/1/edit", headers=ORIGIN,
                           json={"text": "Mine, written on the page.", "version": version})
    assert response.status_code == 409
    body = response.json()
    assert body["disk"] == "A second sentence follows it at once." and body["yours"] == "Mine, written on the page."
    assert "changed on disk" in body["error"] and body["error"].startswith(f"{script}:")
    assert script.read_bytes() == changed
    retry = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/1/edit", headers=ORIGIN,
                        json={"text": "Mine, written on the page.", "version": body["version"]})
    assert retry.status_code == 200
    assert script.read_bytes() == changed.replace(b"A second sentence follows it at once.", b"Mine, written on the page.")


def test_sentences_inside_markup_are_found_and_edited_in_place(built):
    client = studio(built)
    script = built / "scripts" / SERIES / "02-beta.md"
    data = page(client, f"{SERIES}/02-beta")
    sources = [s["source"] for s in data["sentences"]]
    assert sources[:6] == ["The first sentence says [LoRA]{Laura} once.",
                           "A *second* one links [the paper](https://example.org/x) here.",
                           "A quoted sentence follows it.", "And **another** one ends the quote.",
                           "A listed sentence is next.", None]  # a comment inside: edited in an editor
    before = script.read_bytes()
    response = client.post(f"/api/episode/{SERIES}/02-beta/sentence/3/edit", headers=ORIGIN,
                           json={"text": "And **one more** ends the quote.", "version": data["version"]})
    assert response.status_code == 200, response.text
    assert script.read_bytes() == before.replace(b"And **another** one ends", b"And **one more** ends")
    refused = client.post(f"/api/episode/{SERIES}/02-beta/sentence/5/edit", headers=ORIGIN,
                          json={"text": "Anything.", "version": response.json()["version"]})
    assert refused.status_code == 400 and "edit it in your editor" in refused.json()["error"]


def test_an_edit_is_checked_with_the_same_errors_file_and_line_as_the_command_line(built):
    client = studio(built)
    script = built / "scripts" / SERIES / "01-alpha.md"
    before = script.read_bytes()
    version = page(client, f"{SERIES}/01-alpha")["version"]
    line = before.decode().splitlines().index(BODY.splitlines()[0]) + 1

    def edit(text: str, index: int = 1):
        return client.post(f"/api/episode/{SERIES}/01-alpha/sentence/{index}/edit", headers=ORIGIN,
                           json={"text": text, "version": version})

    response = edit("It says [LoRA]{ twice.")
    assert response.status_code == 400
    copy = script.with_name("copy.md")
    copy.write_bytes(before.replace(b"A second sentence follows it closely.", b"It says [LoRA]{ twice."))
    with pytest.raises(PipelineError) as cli_error:
        parse_episode(copy)
    copy.unlink()
    assert response.json()["error"] == str(cli_error.value).replace(str(copy), str(script))
    assert response.json()["error"].startswith(f"{script}:{line}: malformed pronunciation mark")
    for bad, index, why in (("No full stop here", 0, "would change how the sentences around it are read"),
                            ("", 1, "empty"), ("See https://example.org now.", 1, "cannot be read aloud"),
                            ("A pause [pause 99s] inside.", 1, "longer than max_pause_ms")):
        response = edit(bad, index)
        assert response.status_code == 400 and why in response.json()["error"], (bad, response.text)
        assert response.json()["error"].startswith(f"{script}:")
    assert edit("A second sentence follows it closely.", index=7).status_code == 400  # the disclosure
    assert edit("x", index=99).status_code == 400
    assert client.post(f"/api/episode/{SERIES}/01-alpha/sentence/1/edit", headers=ORIGIN,
                       json={"text": 5, "version": version}).status_code == 400
    assert client.post(f"/api/episode/{SERIES}/01-alpha/sentence/1/edit", headers=ORIGIN,
                       content=b"not json").status_code == 400
    assert script.read_bytes() == before


def test_an_edit_keeps_windows_line_endings_and_a_byte_order_mark(built):
    script = built / "scripts" / SERIES / "01-alpha.md"
    original = b"\xef\xbb\xbf" + script.read_bytes().replace(b"\n", b"\r\n")
    script.write_bytes(original)
    client = studio(built)
    data = page(client, f"{SERIES}/01-alpha")
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/2/edit", headers=ORIGIN,
                           json={"text": "A new paragraph\nstarts here.", "version": data["version"]})
    assert response.status_code == 200, response.text
    assert script.read_bytes() == original.replace(b"A new paragraph starts here after a pause.",
                                                   b"A new paragraph\r\nstarts here.")


def test_an_edit_into_two_sentences_keeps_every_other_sentence(built):
    client = studio(built)
    data = page(client, f"{SERIES}/01-alpha")
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/0/edit", headers=ORIGIN,
                           json={"text": "One short sentence. Then another one.", "version": data["version"]})
    assert response.status_code == 200 and response.json()["count_changed"]
    written = [s["written"] for s in page(client, f"{SERIES}/01-alpha")["sentences"]]
    assert written[:3] == ["One short sentence.", "Then another one.", data["sentences"][1]["written"]]
    assert written[3:] == [s["written"] for s in data["sentences"][2:]]


def test_every_sentence_of_the_shipped_scripts_is_found_and_replaced_alone():
    from pipeline.script_edit import read_source, replace_sentence
    from pipeline.text import load_lexicon, plan_utterances

    lexicon = load_lexicon(REPO / "voices" / "lexicon.yaml")

    def plan(episode):
        return plan_utterances(episode, lexicon, 400, 750, 1500)

    checked = 0
    for script in sorted((REPO / "scripts").glob("*/*.md")):
        source = read_source(script)
        written = [u.written for u in plan(parse_episode(script)) if u.spoken]
        assert len(source.sentences) == len(written) and all(s.span for s in source.sentences), script
        for index, sentence in enumerate(source.sentences):
            start, end = sentence.span
            edit = replace_sentence(source, index, "Replaced here.", plan)
            text = source.text
            assert edit.data.decode() == text[:start] + "Replaced here." + text[end:], (script, index)
            assert [u.written for u in edit.utterances] == ["Replaced here."]
            checked += 1
    assert checked > 250


# -- pronunciation ------------------------------------------------------------------------------

def test_a_lexicon_entry_is_saved_with_comments_and_order_kept_and_rebuilds_exactly_what_it_changes(built):
    client = studio(built)
    lexicon = built / "voices" / "lexicon.yaml"
    preview = client.post("/api/lexicon/preview", headers=ORIGIN, json={"word": "sentence", "say": "sentense"})
    assert preview.status_code == 200 and lexicon.read_text() == LEXICON
    changed = preview.json()["affected"]
    expected = [(f"{SERIES}/{stem}", s["line"]) for stem in ("01-alpha", "02-beta", "03-gamma")
                for s in page(client, f"{SERIES}/{stem}")["sentences"] if "sentence" in s["written"]]
    assert [(a["label"], a["line"]) for a in changed] == expected
    assert all("sentense" in a["after"] and "sentence" in a["before"] for a in changed)
    saved = client.post("/api/lexicon", headers=ORIGIN, json={"word": "sentence", "say": "sentense"})
    assert saved.status_code == 200 and saved.json()["affected"] == changed
    assert lexicon.read_text() == LEXICON + "sentence: sentense\n"
    plan = dry_run(Project(built), [], BuildOptions())
    assert {s.job.label for s in plan.steps if s.stages} == {label for label, _ in expected}
    events = run_build(client, [])
    assert not events[-1]["failed"], (events[-1].get("gates"), events[-1].get("errors"))
    for stem in ("01-alpha", "02-beta", "03-gamma"):
        count = sum(1 for label, _ in expected if label == f"{SERIES}/{stem}")
        assert results(built)[f"{stem}.mp3"].synthesized_sentences == count, stem
    again = client.post("/api/lexicon", headers=ORIGIN, json={"word": "LoRA", "say": "Laura", "match_case": True})
    assert again.status_code == 200
    assert lexicon.read_text() == (LEXICON + "sentence: sentense\n").replace("LoRA: Lora        #",
                                                                              "LoRA: Laura       #")
    loose = client.post("/api/lexicon", headers=ORIGIN, json={"word": "alpaca", "say": "al pa ka", "match_case": False})
    assert loose.status_code == 200 and "alpaca: {say: al pa ka, match_case: false}\n" in lexicon.read_text()
    assert [a["label"] for a in loose.json()["affected"]] == [f"{SERIES}/03-gamma"]


def test_a_bad_lexicon_entry_is_refused_and_the_file_kept(built):
    client = studio(built)
    lexicon = built / "voices" / "lexicon.yaml"
    for body in ({"word": "", "say": "x"}, {"word": "x", "say": "  "}, {"word": "two\nlines", "say": "x"},
                 {"word": "x", "say": "y", "match_case": "no"}, {"word": "x"}):
        response = client.post("/api/lexicon", headers=ORIGIN, json=body)
        assert response.status_code == 400, body
        assert response.json()["error"]
    assert lexicon.read_text() == LEXICON
    lexicon.write_text(LEXICON + "broken: [\n")
    response = client.post("/api/lexicon", headers=ORIGIN, json={"word": "x", "say": "y"})
    assert response.status_code == 400 and str(lexicon) in response.json()["error"]
    assert lexicon.read_text() == LEXICON + "broken: [\n"


def test_an_audition_speaks_the_sentence_with_the_respelling_into_the_cache(built):
    client = studio(built)
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/0/audition", headers=ORIGIN,
                           json={"word": "handful", "say": "hand full"})
    assert response.status_code == 200, response.text
    heard = response.json()
    assert heard["spoken"] == "The first sentence has a hand full of ordinary words."
    assert client.get(f"/audio/sentence/{heard['key']}.wav").status_code == 200
    assert (built / "voices" / "lexicon.yaml").read_text() == LEXICON
    client.post("/api/lexicon", headers=ORIGIN, json={"word": "handful", "say": "hand full"})
    run_build(client, [f"{SERIES}/01-alpha"])
    assert results(built)["01-alpha.mp3"].synthesized_sentences == 0  # the audition's take was reused


def test_an_inline_mark_changes_only_that_sentence(built):
    client = studio(built)
    script = built / "scripts" / SERIES / "01-alpha.md"
    before = script.read_bytes()
    version = page(client, f"{SERIES}/01-alpha")["version"]
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/3/mark", headers=ORIGIN,
                           json={"word": "few", "say": "fyoo", "version": version})
    assert response.status_code == 200, response.text
    assert script.read_bytes() == before.replace(b"with a few more words", b"with a [few]{fyoo} more words")
    assert response.json()["sentences"][0]["spoken"] == "It ends the episode with a fyoo more words to say."
    missing = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/0/mark", headers=ORIGIN,
                          json={"word": "absent", "say": "x", "version": response.json()["version"]})
    assert missing.status_code == 400 and "'absent' is not written in this sentence" in missing.json()["error"]


# -- approval -----------------------------------------------------------------------------------

def test_an_approval_holds_until_the_audio_changes(built):
    client = studio(built)
    label = f"{SERIES}/01-alpha"
    assert client.post(f"/api/episode/{label}/approve", headers=ORIGIN).status_code == 200
    assert page(client, label)["approved"]
    rows = {row.label: row for row in list_episodes(Project(built)).rows}
    assert rows[label].approved and not rows[f"{SERIES}/02-beta"].approved
    site = publish_project(Project(built), "https://example.org", built / "out" / "site", approved_only=True)
    assert site.episodes == 1 and (built / "out" / "site" / SERIES / "01-alpha.mp3").is_file()
    script = built / "scripts" / SERIES / "01-alpha.md"
    script.write_text(script.read_text().replace("title: Episode 1", "title: Retitled episode 1"))
    build(Project(built), [], BuildOptions(jobs=1))
    assert results(built)["01-alpha.mp3"].status == "retagged"
    assert page(client, label)["approved"]  # re-tagging leaves the audio as it was
    data = page(client, label)
    client.post(f"/api/episode/{label}/sentence/0/edit", headers=ORIGIN,
                json={"text": "The first sentence has ordinary words.", "version": data["version"]})
    assert not page(client, label)["approved"]
    refused = client.post(f"/api/episode/{label}/approve", headers=ORIGIN)
    assert refused.status_code == 400 and "must be rebuilt before it is approved" in refused.json()["error"]
    run_build(client, [label])
    assert not page(client, label)["approved"]
    assert not {row.label: row for row in list_episodes(Project(built)).rows}[label].approved
    site = publish_project(Project(built), "https://example.org", built / "out" / "site", approved_only=True)
    assert site.episodes == 0 and not (built / "out" / "site" / SERIES / "01-alpha.mp3").exists()
    assert client.post(f"/api/episode/{label}/approve", headers=ORIGIN).status_code == 200
    assert publish_project(Project(built), "https://example.org", built / "out" / "site",
                           approved_only=True).episodes == 1
    assert client.post(f"/api/episode/{label}/withdraw", headers=ORIGIN).status_code == 200
    assert not page(client, label)["approved"]


def test_a_hand_replaced_mp3_is_not_published_as_approved(built):
    approve(Project(built), f"{SERIES}/02-beta")
    mp3 = built / "out" / SERIES / "02-beta.mp3"
    mp3.write_bytes(mp3.read_bytes()[:-1000])
    site = publish_project(Project(built), "https://example.org", built / "out" / "site", approved_only=True)
    assert site.episodes == 0
    with pytest.raises(PipelineError, match="not built as the store knows it"):
        approve(Project(built), f"{SERIES}/02-beta")


def test_approve_list_and_publish_approved_only_on_the_command_line(built):
    runner = CliRunner()
    result = runner.invoke(cli, ["--project", str(built), "approve", f"{SERIES}/03-gamma"])
    assert result.exit_code == 0 and "approved at" in result.output
    listed = runner.invoke(cli, ["--project", str(built), "list"])
    assert re.search(r"03-gamma\s+approved", listed.output)
    assert not re.search(r"01-alpha\s.*approved", listed.output)
    published = runner.invoke(cli, ["--project", str(built), "publish", "--approved-only", "--base-url",
                                    "https://example.org"])
    assert published.exit_code == 0, published.output
    site = built / "out" / "site" / SERIES
    assert sorted(p.name for p in site.glob("*.mp3")) == ["03-gamma.mp3"]
    withdrawn = runner.invoke(cli, ["--project", str(built), "approve", "gamma", "--withdraw"])
    assert withdrawn.exit_code == 0 and "withdrawn" in withdrawn.output
    assert "approved" not in runner.invoke(cli, ["--project", str(built), "list"]).output


# -- takes --------------------------------------------------------------------------------------

WOBBLE = EngineSpec("wobble", "tests.test_studio", "numpy", "(the studio tests' voice)", (), 0.05,
                    deterministic=False)


class WobbleEngine:
    """A tone voice that never says a sentence twice the same way (a neural voice's sampling)."""

    sample_rate = 22050

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        from .tone_engine import ToneEngine

        tone = ToneEngine().synthesize(text, rate)
        return (tone * np.random.default_rng().uniform(0.6, 1.0)).astype(np.float32)


def load(profile, threads: int) -> WobbleEngine:
    return WobbleEngine()


def model_files(profile) -> list[Path]:
    return []


@pytest.fixture
def wobbly(tmp_path):
    """A project spoken by the wobble voice, built (one episode at a time, in this process)."""
    engines = registry()
    engines["wobble"] = WOBBLE
    try:
        root = _write_project(tmp_path / "project", "engine: wobble\nmodel: wobble\nsentence_pause_ms: 400\n")
        for target in ("alpha", "beta", "gamma"):
            assert not build(Project(root), [target], BuildOptions(jobs=1)).failed
        yield root
    finally:
        engines.pop("wobble", None)


def test_a_deterministic_voice_offers_no_takes(built):
    client = studio(built)
    assert page(client, f"{SERIES}/01-alpha")["deterministic"]
    response = client.post(f"/api/episode/{SERIES}/01-alpha/sentence/0/take", headers=ORIGIN)
    assert response.status_code == 400 and "always says a sentence the same way" in response.json()["error"]


def test_a_picked_take_is_what_builds_use_and_only_that_episode_rebuilds(wobbly):
    client = studio(wobbly)
    label = f"{SERIES}/01-alpha"
    first = page(client, label)["sentences"][2]
    keys_before = {f: r.keys["audio"] for f, r in results(wobbly).items()}
    assert all("takes" not in keys for keys in keys_before.values())
    take = client.post(f"/api/episode/{label}/sentence/2/take", headers=ORIGIN)
    assert take.status_code == 200, take.text
    report = take.json()
    assert report["take"] == 1 and [t["take"] for t in report["takes"]] == [0, 1] and report["in_use"] == 0
    built_entry = results(wobbly)["01-alpha.mp3"]
    assert report["key"] == sentence_key(built_entry.engine, first["spoken"], built_entry.rate_factor, 1)
    one = wav_samples(client.get(f"/audio/sentence/{report['key']}.wav").content)
    zero = wav_samples(client.get(first["audio"]).content)
    assert len(one) == len(zero) and not np.allclose(one, zero)  # another take, said differently
    assert client.post(f"/api/episode/{label}/sentence/2/pick", headers=ORIGIN, json={"take": 5}).status_code == 400
    picked = client.post(f"/api/episode/{label}/sentence/2/pick", headers=ORIGIN, json={"take": 1})
    assert picked.status_code == 200 and picked.json()["in_use"] == 1
    plan = dry_run(Project(wobbly), [], BuildOptions())
    assert [(s.job.label, s.reason) for s in plan.steps if s.stages] == [(label, "changed: takes")]
    assert [s.job.keys["audio"] for s in plan.steps[1:]] == [keys_before["02-beta.mp3"], keys_before["03-gamma.mp3"]]
    assert run_build(client, [label])[-1]["failed"] is False
    entry = results(wobbly)["01-alpha.mp3"]
    assert entry.takes == {first["spoken"]: 1} and report["key"] in entry.cache_keys and entry.synthesized_sentences == 0
    assert page(client, label)["sentences"][2]["take"] == 1 and page(client, label)["sentences"][2]["picked"]
    client.post(f"/api/episode/{label}/sentence/2/pick", headers=ORIGIN, json={"take": 0})
    run_build(client, [label])
    entry = results(wobbly)["01-alpha.mp3"]
    assert entry.takes == {} and first["key"] in entry.cache_keys


# -- builds and the lock ------------------------------------------------------------------------

def test_while_another_build_holds_the_lock_the_page_says_who_and_writes_wait(built):
    client = studio(built)
    with output_lock(built / "out"):
        held = client.get("/index.json").json()["lock"]
        assert held.startswith(f"pid {os.getpid()}, user ")
        assert f"Another build holds the output folder: pid {os.getpid()}" in client.get("/").text
        for path, body in ((f"/api/episode/{SERIES}/01-alpha/approve", {}), ("/api/build", {"targets": []})):
            response = client.post(path, headers=ORIGIN, json=body)
            assert response.status_code == 409 and f"pid {os.getpid()}" in response.json()["error"], path
    assert client.get("/index.json").json()["lock"] is None
    assert client.post(f"/api/episode/{SERIES}/01-alpha/approve", headers=ORIGIN).status_code == 200


def test_a_command_line_build_is_refused_while_the_studio_builds(built, monkeypatch):
    monkeypatch.setenv("EPISODES_TONE_DELAY_S", "1.0")
    client = studio(built)
    (built / "scripts" / SERIES / "01-alpha.md").write_text(episode_text(1, "alpha", BODY.replace("ordinary", "odd")))
    started = client.post("/api/build", json={"targets": [f"{SERIES}/01-alpha"]}, headers=ORIGIN)
    assert started.status_code == 200
    events = []
    with client.stream("GET", "/api/build/events") as stream:
        for line in stream.iter_lines():
            if not line.startswith("data: "):
                continue
            events.append(json.loads(line[6:]))
            if events[-1]["event"] == "planned":  # the studio's build holds the lock now
                second = client.post("/api/build", json={"targets": []}, headers=ORIGIN)
                assert second.status_code == 409 and "the studio is building already" in second.json()["error"]
                result = CliRunner().invoke(cli, ["--project", str(built), "build"])
                assert result.exit_code == 2 and "another build holds this output folder" in result.output
                assert f"pid {os.getpid()}" in result.output
            if events[-1]["event"] == "done":
                break
    assert events[0]["event"] == "planned" and not events[-1]["failed"]
    assert results(built)["01-alpha.mp3"].synthesized_sentences == 1


def test_a_build_that_fails_says_so_in_its_last_event(built):
    client = studio(built)
    (built / "scripts" / SERIES / "01-alpha.md").write_text(episode_text(1, "alpha", BODY.replace("ordinary",
                                                                                                "explode")))
    events = run_build(client, [f"{SERIES}/01-alpha"])
    assert events[-1]["failed"] and any("model exploded" in e for e in events[-1]["errors"])
    assert client.post("/api/build", headers=ORIGIN, json={"targets": ["nope/01-x"]}).status_code == 400


# -- the command ----------------------------------------------------------------------------------

def test_episodes_studio_prints_its_address_and_stops_cleanly_on_ctrl_c(built):
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--project", str(built), "studio", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = process.stdout.readline().strip()
        found = re.fullmatch(r"Studio at (http://127\.0\.0\.1:(\d+)/)\?token=([\w-]+)", line)
        assert found, line
        import urllib.request

        with urllib.request.urlopen(f"{found.group(1)}index.json?token={found.group(3)}", timeout=30) as answer:
            assert json.loads(answer.read())["series"][0]["slug"] == SERIES
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert out.strip() == "studio stopped" and "Traceback" not in err
