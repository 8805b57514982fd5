"""Benchmark the studio's targets with the real Piper voice on the shipped series. Prints figures;
asserts nothing.

    python bench/bench_studio.py            # about 2 minutes on 2 cores (one episode built cold first)

`episodes studio` runs as the producer starts it (its own process, the voice loaded once), driven
over HTTP as the page drives it. Every figure is printed with a reference measured in the same run:
- edit -> the new sentence playable: a 10-word sentence edited (the POST answered: script written,
  sentence spoken into the cache) and its WAV fetched, the median of 5 edits, against `episodes say`
  speaking the same kind of sentence into a file (start-up included), and against the voice alone
  speaking the same sentences in this process (what no edit can go below). Target: at most 0.5 s.
- the episode page of the shipped series (01-sft, HTML), the median of 10 loads, against a plain
  page of the studio (the lexicon). Target: at most 300 ms.
- rebuild after one edited sentence: the build started from the page and its events read to `done`,
  the median of 3, against a no-op build through the same route. Target: at most 1.5 s.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
LABEL = "fine-tuning/01-sft"
SENTENCE = 3
"""Of 01-sft: "The recipe is simple." (ten words once edited)."""
EDITS = [f"The recipe is simple enough for {who} team to follow." for who in ("any", "every", "one", "our", "your")]


def listed(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def median(values: list[float]) -> float:
    return statistics.median(values)


def line(name: str, value_s: float, reference_name: str, reference_s: float, target_s: float) -> None:
    verdict = "meets" if value_s <= target_s else "misses"
    print(f"{name}: {value_s * 1000:.0f} ms (median), {reference_name}: {reference_s * 1000:.0f} ms, "
          f"ratio {value_s / reference_s:.2f}; target {target_s * 1000:.0f} ms: {verdict}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as folder:
        project = Path(folder) / "project"
        shutil.copytree(REPO / "scripts", project / "scripts")
        shutil.copytree(REPO / "voices", project / "voices")
        episodes = [sys.executable, "-m", "pipeline.cli", "--project", str(project)]
        started = time.perf_counter()
        subprocess.run([*episodes, "build", "sft"], check=True, capture_output=True, cwd=REPO)
        print(f"set-up: 01-sft built cold with Piper in {time.perf_counter() - started:.1f} s")

        say = []
        for number, text in enumerate(EDITS[:3]):
            started = time.perf_counter()
            subprocess.run([*episodes, "say", text, "--out", str(Path(folder) / f"say{number}.wav")], check=True,
                           capture_output=True, cwd=REPO)
            say.append(time.perf_counter() - started)

        voice = voice_alone()
        studio = subprocess.Popen([*episodes, "studio", "--port", "0"], stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            address = re.fullmatch(r"Studio at (\S+)", studio.stdout.readline().strip()).group(1)
            base = address.split("/?")[0]
            with httpx.Client(base_url=base, headers={"Origin": base}, timeout=120) as client:
                client.get(address).raise_for_status()
                measure(client, say, voice)
        finally:
            studio.terminate()
            studio.wait(timeout=30)


def voice_alone() -> list[float]:
    """Seconds the Piper voice takes to speak each edit's sentence, loaded, in this process."""
    sys.path.insert(0, str(REPO))
    from pipeline.engines import load_engine
    from pipeline.settings import load_voices

    engine = load_engine(load_voices(REPO / "voices")["joe"])
    engine.synthesize("Warm up.", 1.0)
    seconds = []
    for text in EDITS:
        started = time.perf_counter()
        engine.synthesize(text, 1.0)
        seconds.append(time.perf_counter() - started)
    return seconds


def edit(client: httpx.Client, text: str) -> float:
    """Seconds from the edit's POST to its sentence's audio fetched."""
    version = client.get(f"/episode/{LABEL}.json").json()["version"]
    started = time.perf_counter()
    answer = client.post(f"/api/episode/{LABEL}/sentence/{SENTENCE}/edit", json={"text": text, "version": version})
    answer.raise_for_status()
    spoken = answer.json()["sentences"][0]
    assert spoken["synthesized"], "the sentence was in the cache: the figure would not include speaking it"
    client.get(f"/audio/sentence/{spoken['key']}.wav").raise_for_status()
    return time.perf_counter() - started


def rebuild(client: httpx.Client) -> tuple[float, dict]:
    """Seconds from starting a build of the episode to its `done` event, and that event."""
    started = time.perf_counter()
    client.post("/api/build", json={"targets": [LABEL]}).raise_for_status()
    with client.stream("GET", "/api/build/events") as stream:
        for text in stream.iter_lines():
            if text.startswith("data: "):
                event = json.loads(text[6:])
                if event["event"] == "done":
                    return time.perf_counter() - started, event
    raise SystemExit("the build's events ended without `done`")


def measure(client: httpx.Client, say: list[float], voice: list[float]) -> None:
    client.post(f"/api/episode/{LABEL}/sentence/0/speak").raise_for_status()  # the voice loaded (the studio warms it)
    edits, rebuilds = [], []
    for text in EDITS:
        edits.append(edit(client, text))
        if len(rebuilds) < 3:
            seconds, done = rebuild(client)
            if done["failed"] or done["results"][0]["status"] != "built":
                raise SystemExit(f"the rebuild failed: {done}")
            rebuilds.append(seconds)
    rebuild(client)  # the last edits, built: what follows are no-op builds
    noop = [rebuild(client)[0] for _ in range(3)]
    pages, plain = [], []
    for _ in range(10):
        started = time.perf_counter()
        client.get(f"/episode/{LABEL}").raise_for_status()
        pages.append(time.perf_counter() - started)
        started = time.perf_counter()
        client.get("/lexicon").raise_for_status()
        plain.append(time.perf_counter() - started)
    print(f"edits: {listed(edits)} s; `episodes say`: {listed(say)} s; the voice alone: {listed(voice)} s")
    print(f"rebuilds: {listed(rebuilds)} s; no-op builds: {listed(noop)} s")
    line("edit -> new sentence playable", median(edits), "`episodes say` (one phrase, start-up included)",
         median(say), 0.5)
    line("edit -> new sentence playable", median(edits), "the voice alone speaking the sentence", median(voice), 0.5)
    line("episode page of the shipped series", median(pages), "a plain page (the lexicon)", median(plain), 0.3)
    line("rebuild after one edited sentence", median(rebuilds), "a no-op build from the page", median(noop), 1.5)


if __name__ == "__main__":
    main()
