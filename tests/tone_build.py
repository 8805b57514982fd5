"""Run a build with the tone engine in its own process, for tests that kill or race builds.

Usage: python -m tests.tone_build PROJECT JOBS SECONDS_PER_SENTENCE
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from pipeline import episode as episode_module
from pipeline.build import build
from pipeline.jobs import BuildOptions, Project

from .conftest import ToneEngine


class SlowToneEngine(ToneEngine):
    def __init__(self, delay_s: float):
        super().__init__()
        self.delay_s = delay_s

    def synthesize(self, text: str, rate: float):
        time.sleep(self.delay_s)
        return super().synthesize(text, rate)


def main() -> int:
    project, jobs, delay = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    engine = SlowToneEngine(delay)
    episode_module.load_engine = lambda voice: engine
    report = build(Project(project), [], BuildOptions(jobs=jobs))
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
