"""One problem found in what is published (a feed, a page, a series' metadata): where, what, and
how to fix it, as one line."""

from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One rule broken at one place: an error fails `episodes check`, a warning is reported."""

    file: str
    """The file it is in: "fine-tuning/feed.xml", "site/index.html", a series.yaml or a script."""
    rule: str
    element: str
    """Where in the file: "<channel>", "<item> 3 (03-qlora)", "artwork cover.png"; "" for a line."""
    message: str
    fix: str = ""
    """What to do about it, in a sentence ("set `cover:` in series.yaml or run `episodes cover SERIES`")."""
    severity: str = ERROR
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        text = f"{where}: {self.element}: {self.message}" if self.element else f"{where}: {self.message}"
        return f"{text}; to fix: {self.fix}" if self.fix else text

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR
