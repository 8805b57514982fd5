"""ffmpeg children and Ctrl-C: a process that ignores SIGINT (a build started in the background)
keeps its ffmpeg children through a Ctrl-C at the terminal; one that takes Ctrl-C loses them with it.

The Ctrl-C is the real thing: SIGINT sent to the process group of a child Python process, as a
terminal sends it to its foreground job, once ffmpeg has installed its own SIGINT handler (which it
does whatever it inherits: read from /proc, so these tests run on Linux).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from pipeline.audio import codec
from pipeline.audio.ffmpeg import ffmpeg_path

from .conftest import REPO

CHILD = textwrap.dedent("""\
    import signal, subprocess, sys, time
    from pipeline.audio.ffmpeg import ffmpeg_path, start_ffmpeg

    if sys.argv[1] == "ignore":
        signal.signal(signal.SIGINT, signal.SIG_IGN)    # as a shell starts a background job
    else:
        signal.signal(signal.SIGINT, lambda *_: None)   # takes Ctrl-C (and lives to report)
    ffmpeg = start_ffmpeg([ffmpeg_path(), "-v", "error", "-nostdin", "-f", "f32le", "-ar", "8000", "-ac", "1",
                           "-i", "pipe:0", "-f", "f32le", "pipe:1"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    def catches_ctrl_c(pid):
        caught = next(line for line in open(f"/proc/{pid}/status") if line.startswith("SigCgt:"))
        return int(caught.split()[1], 16) & 1 << (signal.SIGINT - 1)

    while not catches_ctrl_c(ffmpeg.pid):               # ffmpeg installs its own handler as it starts
        time.sleep(0.01)
    print("started", flush=True)
    sys.stdin.readline()                                # the test sends Ctrl-C meanwhile
    out, _ = ffmpeg.communicate(bytes(4 * 8000))
    print(ffmpeg.returncode, len(out), flush=True)
""")


def ctrl_c_during_ffmpeg(disposition: str) -> tuple[int, int]:
    """(ffmpeg's exit status, bytes it returned) when a Ctrl-C reaches the process group of a
    process holding SIGINT as `disposition` while its ffmpeg child runs."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", CHILD, disposition], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        assert child.stdout.readline().strip() == "started"
        os.killpg(child.pid, signal.SIGINT)  # the terminal's Ctrl-C: to the whole foreground group
        out, _ = child.communicate("go\n", timeout=60)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    status, length = out.split()
    return int(status), int(length)


linux_only = pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads /proc")


@linux_only
def test_ffmpeg_survives_a_ctrl_c_its_parent_ignores():
    assert ctrl_c_during_ffmpeg("ignore") == (0, 4 * 8000)


@linux_only
def test_ffmpeg_stops_with_a_parent_that_takes_ctrl_c():
    status, _ = ctrl_c_during_ffmpeg("handle")
    assert status != 0


def test_every_ffmpeg_the_codec_starts_follows_an_ignored_ctrl_c(tmp_path, monkeypatch):
    """encode, encode-and-decode, decode, streamed decode and probe all start ffmpeg in its own
    session while SIGINT is ignored, and in this process's group otherwise."""
    started: list[bool] = []
    real_popen, ffmpeg = subprocess.Popen, ffmpeg_path()

    def recording_popen(command, *args, **kwargs):
        if command[0] == ffmpeg:
            started.append(kwargs.get("start_new_session", False))
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    samples = (0.2 * np.sin(np.arange(22050) / 7.0)).astype(np.float32)

    def use_the_codec() -> None:
        codec.encode_mp3(samples, 22050, tmp_path / "a.mp3", 64)
        codec.encode_and_decode(samples, 22050, 64)
        codec.decode(tmp_path / "a.mp3")
        codec.decode_mono(tmp_path / "a.mp3", 60.0)
        codec.probe_rate(tmp_path / "a.mp3")

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        use_the_codec()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(started) >= 6 and all(started)
    started.clear()
    codec._probe.cache_clear()
    use_the_codec()
    assert len(started) >= 6 and not any(started)




@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_background_build_finishes_its_encodes_through_ctrl_c(project, tone_engine, jobs):
    """`episodes build &` from a script: the shell starts it ignoring SIGINT, yet a Ctrl-C at the
    terminal reaches its process group. Ctrl-C after Ctrl-C for the whole build: every episode is
    still built, in the driver (--jobs 1) and in worker processes."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
           "EPISODES_TONE_DELAY_S": "0.05"}
    interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child starts ignoring it, as `&` does
    try:
        build = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--project", str(project), "build",
                                  "--jobs", jobs], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 env=env, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, interrupt)
    interrupts = 0
    try:
        while build.poll() is None:
            os.killpg(build.pid, signal.SIGINT)
            interrupts += 1
            time.sleep(0.02)
        output = build.stdout.read()
    finally:
        if build.poll() is None:
            os.killpg(build.pid, signal.SIGKILL)
        build.wait()
    assert build.returncode == 0, output
    assert interrupts > 10
    for stem in ("01-alpha", "02-beta", "03-gamma"):
        audio, rate = codec.decode(project / "out" / "test-series" / f"{stem}.mp3")
        assert len(audio) / rate > 5.0
