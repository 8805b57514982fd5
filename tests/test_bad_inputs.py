"""The bad-input corpus: every broken input a producer (or a hostile file) can hand the tool gives
one plain message naming the file (and line), the documented exit code, and no traceback, and
costs no other episode its build.

Each case is a YAML file in tests/bad_inputs/: what to change in a copy of the small test project
(conftest's `project` with the `tone` voice), which commands to run through the CLI, and what each
must print and exit with. Case format (paths are relative to the project root; `{project}` and
`{outside}` (a folder beside the project) are substituted in every string):

    about: what the case is, and where it comes from (issue 11, the README, or our own)
    prebuilt: true           # start from a built project (the template's out/ copied in)
    env: {NAME: value}       # environment for the commands
    setup:                   # in order; each step is one action
      - edit: FILE           #   replace text (which must be there)
        replace: old
        with: new
      - write: FILE          #   create or overwrite, with one of:
        text: ...            #     UTF-8 text, followed by
        repeat: {text: "Word. ", times: 10}   # this text repeated
        hex: "00ff"          #     bytes
        random_bytes: 100    #     random bytes (or `same_size: true` to keep the file's size)
        image: {size: [1400, 1400], mode: RGB, format: PNG}
        audio: {seconds: 1.0, layout: "5.1", silent: false}   # made by ffmpeg: a tone, or silence
      - append: FILE
        text: ...
      - truncate: FILE       #   keep the first `keep` bytes
        keep: 1000
      - delete: PATH         #   file or folder
      - mkdir: PATH
      - symlink: PATH
        to: TARGET
      - python: CODE         #   run with `root` (the project folder) and `Path` defined
      - command: [build]     #   a CLI run that must exit `exit` (default 0)
    command: [build, --jobs, "1"]     # or `runs:`, a list of {command, exit, message, ...}
    exit: 1
    message: "scripts/test-series/02-beta.md:5: ..."   # substring(s) of the output
    once: [...]              # substrings that must appear exactly once
    absent: [...]            # substrings that must not appear
    json: true               # stdout must be valid JSON (no NaN or Infinity)
    timeout_s: 60            # run in a child process, killed (and failed) if it runs longer
    traceback: true          # a real traceback is expected (--debug), not forbidden
    survivors: [01-alpha, 03-gamma]   # episodes still built: MP3 decodes, manifest agrees with it
    exists: [PATH], missing: [PATH]   # after the runs
    verify: CODE             # assertions run last, with `root`, `Path` and `decode` defined
    disk_agrees: false       # skip the disk-and-manifest check below (the case breaks out/ itself)
    xfail: why it fails today (strict: the lead removes it with the fix)

After every `build` run (not `--dry-run`), what is on disk and what the manifest says must agree:
each entry's MP3 has the recorded checksum, and no MP3 sits in the series folder unrecorded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.audio.codec import decode, ffmpeg_path
from pipeline.cli import app

from .conftest import BODY, SERIES_YAML, TONE_VOICE, episode_text

CASES = Path(__file__).parent / "bad_inputs"
SERIES = "test-series"
EPISODES = ("01-alpha", "02-beta", "03-gamma")
CHECK_KEYS = {"command", "exit", "message", "once", "absent", "json", "timeout_s", "traceback"}
CASE_KEYS = {"about", "prebuilt", "env", "setup", "runs", "survivors", "exists", "missing", "verify", "xfail",
             "disk_agrees"} | CHECK_KEYS

runner = CliRunner()


def load_cases() -> list[Any]:
    """Every case file, as a pytest param (xfail-marked where the case says it fails today)."""
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        case = yaml.safe_load(path.read_text(encoding="utf-8"))
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if case.get("xfail") else []
        params.append(pytest.param(path.stem, case, id=path.stem, marks=marks))
    return params


# -- setting a case up -----------------------------------------------------------------------


def make_project(root: Path) -> Path:
    """The same project as conftest's `project` with the `tone_engine` voice (for the template)."""
    (root / "voices").mkdir(parents=True)
    (root / "voices" / "joe.yaml").write_text(TONE_VOICE)
    series = root / "scripts" / SERIES
    series.mkdir(parents=True)
    (series / "series.yaml").write_text(SERIES_YAML)
    for number, slug in ((1, "alpha"), (2, "beta"), (3, "gamma")):
        (series / f"{number:02d}-{slug}.md").write_text(episode_text(number, slug, BODY))
    return root


@pytest.fixture(scope="session")
def built_template(tmp_path_factory, _tone_engine_plugin) -> Path:
    """A project built once; cases that start from a built project copy its out/."""
    root = make_project(tmp_path_factory.mktemp("template") / "project")
    result = runner.invoke(app, ["--project", str(root), "build", "--jobs", "1"])
    assert result.exit_code == 0, result.output
    return root


class Substitute:
    """Fills `{project}` and `{outside}` into a case's strings."""

    def __init__(self, project: Path, outside: Path):
        self.values = {"{project}": str(project), "{outside}": str(outside)}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            for key, text in self.values.items():
                value = value.replace(key, text)
            return value
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        return value


def image_bytes(spec: dict[str, Any]) -> bytes:
    from PIL import Image

    colour = spec.get("colour", "navy")
    image = Image.new(spec.get("mode", "RGB"), tuple(spec.get("size", (1400, 1400))),
                      tuple(colour) if isinstance(colour, list) else colour)
    buffer = io.BytesIO()
    image.save(buffer, format=spec.get("format", "PNG"))
    return buffer.getvalue()


def audio_file(path: Path, spec: dict[str, Any]) -> None:
    """A test recording made by ffmpeg itself: a tone (or silence) of the given length and layout."""
    seconds = spec.get("seconds", 1.0)
    layout = spec.get("layout", "mono")
    source = f"anullsrc=r=48000:cl={layout}" if spec.get("silent") else "sine=frequency=440:sample_rate=48000"
    command = [ffmpeg_path(), "-v", "error", "-y", "-f", "lavfi", "-i", source, "-t", str(seconds)]
    if not spec.get("silent"):
        command += ["-af", f"aformat=channel_layouts={layout}"]
    subprocess.run([*command, str(path)], check=True, capture_output=True)


def apply_step(step: dict[str, Any], root: Path) -> None:
    """One setup action on the project."""
    if "edit" in step:
        path = root / step["edit"]
        text = path.read_text(encoding="utf-8")
        assert step["replace"] in text, f"case is stale: {step['replace']!r} not in {path}"
        path.write_text(text.replace(step["replace"], step["with"]), encoding="utf-8")
    elif "write" in step:
        path = root / step["write"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if "text" in step or "repeat" in step:
            repeat = step.get("repeat") or {"text": "", "times": 0}
            path.write_bytes((step.get("text", "") + repeat["text"] * repeat["times"]).encode("utf-8"))
        elif "hex" in step:
            path.write_bytes(bytes.fromhex(step["hex"]))
        elif "image" in step:
            path.write_bytes(image_bytes(step["image"]))
        elif "audio" in step:
            audio_file(path, step["audio"])
        else:
            size = path.stat().st_size if step.get("same_size") else step["random_bytes"]
            path.write_bytes(random.Random(size).randbytes(size))
    elif "append" in step:
        with (root / step["append"]).open("ab") as handle:
            handle.write(step["text"].encode("utf-8"))
    elif "truncate" in step:
        path = root / step["truncate"]
        path.write_bytes(path.read_bytes()[: step["keep"]])
    elif "delete" in step:
        path = root / step["delete"]
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    elif "mkdir" in step:
        (root / step["mkdir"]).mkdir(parents=True, exist_ok=True)
    elif "symlink" in step:
        link = root / step["symlink"]
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(step["to"])
    elif "python" in step:
        exec(step["python"], {"root": root, "Path": Path})
    elif "command" in step:
        result = invoke(root, step["command"])
        assert result.exit_code == step.get("exit", 0), result.output
    else:
        raise AssertionError(f"unknown setup step {step}")


# -- running and judging -----------------------------------------------------------------------


def invoke(root: Path, command: list[str]):
    return runner.invoke(app, ["--project", str(root), *[str(c) for c in command]])


@dataclass
class Finished:
    """A CLI run in its own process (the fields of CliRunner's result that `judge` reads)."""

    exit_code: int
    output: str
    stdout: str


def invoke_process(root: Path, command: list[str], timeout_s: float) -> Finished:
    """Run the CLI in a child process, killed with its workers after `timeout_s`: a guard against a
    case that would otherwise run for hours, not a measure of speed."""
    child = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--project", str(root), *map(str, command)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        pytest.fail(f"{command} still running after {timeout_s} s")
    return Finished(child.returncode, stdout + stderr, stdout)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_entries(root: Path) -> dict[str, dict[str, Any]]:
    path = root / "out" / SERIES / "manifest.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {e["file"]: e for e in data["episodes"]} if isinstance(data, dict) else {}


def assert_disk_agrees(root: Path) -> None:
    """Every manifest entry with audio names an MP3 with its recorded size and checksum, and every
    MP3 in the series folder has an entry."""
    folder = root / "out" / SERIES
    entries = manifest_entries(root)
    for name, entry in entries.items():
        if entry.get("file_sha256"):
            path = folder / name
            assert path.is_file(), f"manifest lists {name}, not on disk"
            assert sha256(path) == entry["file_sha256"], f"{name} on disk is not the file the manifest describes"
    if folder.is_dir():
        unrecorded = [p.name for p in folder.glob("*.mp3") if p.name not in entries]
        assert not unrecorded, f"MP3s the manifest does not describe: {unrecorded}"


def assert_survived(root: Path, stem: str) -> None:
    """The episode is built: its MP3 decodes to audio, and the manifest describes that file."""
    path = root / "out" / SERIES / f"{stem}.mp3"
    assert path.is_file(), f"{stem}.mp3 was lost"
    audio, rate = decode(path)
    assert len(audio) / rate > 5.0, f"{stem}.mp3 decodes to {len(audio) / rate:.2f} s"
    entry = manifest_entries(root).get(path.name)
    assert entry is not None and entry["status"] != "error", f"{stem} is not recorded as built: {entry}"
    assert entry["file_sha256"] == sha256(path)


def judge(check: dict[str, Any], result, root: Path) -> None:
    output = result.output
    shown = f"exit {result.exit_code}, output:\n{output}"
    if check.get("traceback"):
        assert "Traceback (most recent call last):" in output, shown
    else:
        assert "Traceback" not in output, shown
    assert result.exit_code == check["exit"], shown
    messages = check.get("message") or []
    for text in [messages] if isinstance(messages, str) else messages:
        assert text in output, f"expected {text!r}; {shown}"
    for text in check.get("once") or []:
        assert output.count(text) == 1, f"expected {text!r} once; {shown}"
    for text in check.get("absent") or []:
        assert text not in output, f"unexpected {text!r}; {shown}"
    if check.get("json"):
        json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def run_case(case: dict[str, Any], root: Path, template: Path | None, monkeypatch) -> None:
    """Set the case up on the project at `root`, run its commands and check every expectation."""
    unknown = set(case) - CASE_KEYS
    assert not unknown, f"unknown case keys {unknown}"
    outside = root.parent / "outside"
    outside.mkdir(exist_ok=True)
    case = Substitute(root, outside)(case)
    if case.get("prebuilt"):
        assert template is not None
        shutil.copytree(template / "out", root / "out", symlinks=True)
    for name, value in (case.get("env") or {}).items():
        monkeypatch.setenv(name, value)
    for step in case.get("setup") or []:
        apply_step(step, root)
    runs = case.get("runs") or [{k: case[k] for k in CHECK_KEYS if k in case}]
    for check in runs:
        if check.get("timeout_s"):
            result = invoke_process(root, check["command"], check["timeout_s"])
        else:
            result = invoke(root, check["command"])
        judge(check, result, root)
        if check["command"][0] == "build" and "--dry-run" not in check["command"] and case.get("disk_agrees", True):
            assert_disk_agrees(root)
    for stem in case.get("survivors") or []:
        assert_survived(root, stem)
    for path in case.get("exists") or []:
        assert Path(root, path).exists(), f"{path} should exist"
    for path in case.get("missing") or []:
        assert not Path(root, path).exists(), f"{path} should not exist"
    if case.get("verify"):
        exec(case["verify"], {"root": root, "Path": Path, "decode": decode})


@pytest.mark.parametrize("name, case", load_cases())
def test_bad_input(name, case, project, tone_engine, built_template, monkeypatch):
    run_case(case, project, built_template if case.get("prebuilt") else None, monkeypatch)


def test_corpus_is_large_and_every_failure_names_something():
    """The corpus covers issue 11's lists: 80 cases or more, each documented, each failing command
    expecting a message."""
    cases = load_cases()
    assert len(cases) >= 80
    for param in cases:
        name, case = param.values
        assert case.get("about"), f"{name}: say what the case is"
        assert set(case.get("survivors") or []) <= set(EPISODES), f"{name}: survivors are the fixture's episodes"
        for check in case.get("runs") or [case]:
            if check["exit"] != 0:
                assert check.get("message"), f"{name}: a failing command must expect a message"


def test_template_is_the_project_fixture(project, tone_engine, built_template):
    """Prebuilt cases copy the template's out/ into the fixture's project: their inputs must be the
    same files, or every prebuilt case would quietly start with a rebuild."""
    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for folder in ("scripts", "voices")
                for p in sorted((root / folder).rglob("*")) if p.is_file()}

    assert files(project) == files(built_template)
