"""`episodes lint`: before any audio is made, every token of the scripts a listener could not follow
once it is read aloud (formulas, symbols read by their name, unknown acronyms, letters the voice
cannot read), with its file, line and the reading it would get."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PipelineError
from ..project import Project, load_catalog, select
from ..stumbles import Stumble, find_stumbles
from ..text import split_sentences
from .audition import lexicon_of


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    stumble: Stumble

    def __str__(self) -> str:
        stumble = self.stumble
        return f"{self.path}:{self.line}: {stumble.token!r} is read {stumble.reading!r}: {stumble.reason}"


@dataclass
class LintReport:
    findings: list[Finding] = field(default_factory=list)
    errors: list[PipelineError] = field(default_factory=list)
    episodes: int = 0


def lint(project: Project, targets: list[str]) -> LintReport:
    """The stumbles of the targeted episodes' scripts (all if none), in script order."""
    catalog = load_catalog(project)
    selection = select(catalog, targets)
    lexicon = lexicon_of(project)
    report = LintReport(errors=list(selection.errors), episodes=len(selection.episodes))
    for _, episode in selection.episodes:
        for block in episode.blocks:
            for offset, sentence in split_sentences(block.text):
                line = block.line + block.text.count("\n", 0, offset)
                report.findings += [Finding(episode.path, line, s) for s in find_stumbles(sentence, lexicon)]
    return report
