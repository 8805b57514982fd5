"""Episode scripts: YAML front matter plus a Markdown narration body.

Body markup (documented in the README):
- a blank line ends a paragraph (a paragraph pause follows it);
- `[pause]`, `[pause 1.2s]`, `[pause 800ms]` insert a pause, on its own line or inline;
- `[written]{spoken}` speaks `spoken` where the transcript shows `written`;
- `# headings` and `<!-- comments -->` are notes for the producer and are not spoken;
- Markdown emphasis and list markers are dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PipelineError, ScriptError
from .settings import SLUG_RE, LineDict, parse_yaml_mapping, read_text

PAUSE_RE = re.compile(r"\[pause(?:\s+(\d+(?:\.\d+)?)\s*(ms|s))?\]", re.IGNORECASE)
ANY_PAUSE_RE = re.compile(r"\[pause\b[^\]]*\]", re.IGNORECASE)
SAY_RE = re.compile(r"\[([^\[\]{}]+)\]\{([^{}]*)\}")
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
FILENAME_RE = re.compile(r"^(\d+)-(.+)$")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
FRONT_MATTER_FIELDS = ("title", "episode", "slug", "date", "summary", "tags", "voice", "production")


@dataclass(frozen=True)
class Block:
    """A run of narration followed by a pause."""

    text: str
    """Narration with `[written]{spoken}` marks still in place; newlines kept for line numbers."""
    line: int
    """1-based line in the script where the run starts."""
    pause_after_ms: int | None
    """Pause after the run; None means the production's paragraph pause."""
    pause_line: int
    """Line of the pause mark or blank line that ends the run."""


@dataclass(frozen=True)
class Episode:
    """One parsed episode script."""

    path: Path
    number: int
    slug: str
    title: str
    date: str
    summary: str
    tags: tuple[str, ...]
    voice: str | None
    """Voice profile override; None uses the series' voice."""
    overrides: dict[str, Any]
    """Production settings from the front matter (a LineDict, for error lines)."""
    blocks: tuple[Block, ...]
    field_lines: dict[str, int]
    """Front-matter key -> line, for errors about a field found later (an unknown voice)."""

    @property
    def stem(self) -> str:
        """Output file name without extension: `NN-slug`."""
        return f"{self.number:02d}-{self.slug}"

    @property
    def narration(self) -> str:
        """The narration as a listener reads it: written forms, paragraphs on their own lines."""
        return "\n\n".join(
            " ".join(written_text(b.text).split()) for b in self.blocks if b.text.strip()
        )

    @property
    def word_count(self) -> int:
        return len(self.narration.split())


def written_text(text: str) -> str:
    """Narration as shown in transcripts: `[LoRA]{lora}` -> `LoRA`."""
    return SAY_RE.sub(lambda m: m.group(1), text)


def spoken_text(text: str) -> str:
    """Narration as handed to the voice: `[LoRA]{lora}` -> `lora`."""
    return SAY_RE.sub(lambda m: m.group(2), text)


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pause_ms(match: re.Match[str]) -> int | None:
    if match.group(1) is None:
        return None
    value = float(match.group(1))
    return int(round(value * 1000 if match.group(2).lower() == "s" else value))


def _clean_line(line: str) -> str:
    line = _LIST_MARK_RE.sub("", line)
    return _EMPHASIS_RE.sub("", line)


def parse_body(body: str, path: Path, first_line: int) -> tuple[Block, ...]:
    """Split the narration into runs of text separated by paragraph breaks and pause marks."""
    body = COMMENT_RE.sub(lambda m: "\n" * m.group(0).count("\n"), body)
    blocks: list[Block] = []
    run: list[str] = []
    run_line = first_line

    def close(pause: int | None, line: int) -> None:
        nonlocal run
        text = "\n".join(run).strip()
        if text:
            blocks.append(Block(text, run_line, pause, line))
        elif blocks:
            # A pause mark straight after a paragraph sets that paragraph's pause.
            blocks[-1] = Block(blocks[-1].text, blocks[-1].line, pause, line)
        else:
            blocks.append(Block("", line, pause, line))
        run = []

    for offset, raw in enumerate(body.split("\n")):
        line_no = first_line + offset
        stripped = raw.strip()
        if not stripped:
            if run:
                close(None, line_no)
            continue
        if stripped.startswith("#"):
            continue
        for mark in ANY_PAUSE_RE.finditer(stripped):
            if not PAUSE_RE.fullmatch(mark.group(0)):
                raise ScriptError(
                    f"bad pause mark {mark.group(0)!r}: write [pause], [pause 1.5s] or [pause 800ms]",
                    path,
                    line_no,
                )
        text = _clean_line(stripped)
        pos = 0
        for match in PAUSE_RE.finditer(text):
            if not run:
                run_line = line_no
            run.append(text[pos : match.start()])
            close(_pause_ms(match), line_no)
            pos = match.end()
        rest = text[pos:].strip()
        if rest:
            if not run:
                run_line = line_no
            run.append(rest)
    if run:
        close(None, run_line)
    return tuple(blocks)


def _split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """Return (front matter, body, first body line)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise ScriptError("script must start with a `---` line opening its YAML front matter", path, 1)
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "\n".join(lines[1:index]), "\n".join(lines[index + 1 :]), index + 2
    raise ScriptError("front matter is not closed by a `---` line", path, 1)


def _text_field(data: LineDict, key: str, path: Path, required: bool = False) -> str:
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ScriptError(f"missing required field `{key}`", path, data.line_of(key, 2))
        return ""
    if isinstance(value, (dict, list)):
        raise ScriptError(f"`{key}` must be text", path, data.line_of(key))
    return str(value).strip()


def parse_episode(path: Path) -> Episode:
    """Parse one script; every problem raises ScriptError naming the file and line."""
    text = read_text(path, ScriptError).replace("\r\n", "\n").lstrip("\ufeff")
    front, body, body_line = _split_front_matter(text, path)
    data = parse_yaml_mapping(front, path, first_line=2, error=ScriptError)
    for key in data:
        if key not in FRONT_MATTER_FIELDS:
            raise ScriptError(
                f"unknown front-matter field `{key}` (known: {', '.join(FRONT_MATTER_FIELDS)})",
                path,
                data.line_of(key),
            )
    title = _text_field(data, "title", path, required=True)
    named = FILENAME_RE.match(path.stem)
    number = data.get("episode", int(named.group(1)) if named else None)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise ScriptError(
            "episode number missing or not a positive whole number "
            "(set `episode:` or name the file NN-slug.md)",
            path,
            data.line_of("episode", 2),
        )
    slug = _text_field(data, "slug", path) or (named.group(2) if named else path.stem)
    if not SLUG_RE.match(slug):
        raise ScriptError(
            f"slug {slug!r} must be lowercase letters, digits and dashes (it names the output file)",
            path,
            data.line_of("slug", 1),
        )
    date = data.get("date", "")
    if isinstance(date, (dt.date, dt.datetime)):
        date = date.isoformat()[:10]
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, (str, int, float)) for t in tags):
        raise ScriptError("`tags` must be a list of words", path, data.line_of("tags"))
    overrides = data.get("production") or LineDict()
    if not isinstance(overrides, dict):
        raise ScriptError("`production` must be a mapping", path, data.line_of("production"))
    blocks = parse_body(body, path, body_line)
    if not any(written_text(b.text).strip() for b in blocks):
        raise ScriptError("the script has no narration after its front matter", path, body_line)
    return Episode(
        path=path,
        number=number,
        slug=slug,
        title=title,
        date=str(date),
        summary=_text_field(data, "summary", path),
        tags=tuple(str(t) for t in tags),
        voice=_text_field(data, "voice", path) or None,
        overrides=overrides,
        blocks=blocks,
        field_lines=dict(data.key_lines),
    )


def load_episodes(folder: Path) -> tuple[list[Episode], list[PipelineError]]:
    """Parse every `*.md` script in a series folder.

    A broken script, or one whose number or slug another script already uses, is returned as an
    error so that the others can still be built.
    """
    episodes: list[Episode] = []
    errors: list[PipelineError] = []
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        try:
            episodes.append(parse_episode(path))
        except PipelineError as exc:
            errors.append(exc)
    clean: list[Episode] = []
    for episode in episodes:
        clash = next(
            (o for o in episodes if o is not episode and (o.number == episode.number or o.slug == episode.slug)),
            None,
        )
        if clash is None:
            clean.append(episode)
            continue
        field = "episode" if clash.number == episode.number else "slug"
        what = f"number {episode.number}" if field == "episode" else f"slug {episode.slug!r}"
        errors.append(ScriptError(f"duplicate episode {what}, also used by {clash.path.name}", episode.path,
                                  episode.field_lines.get(field, 1)))
    clean.sort(key=lambda e: e.number)
    return clean, errors
