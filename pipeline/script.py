"""Episode scripts: YAML front matter plus a Markdown narration body.

Body markup (documented in the README):
- a blank line ends a paragraph (a paragraph pause follows it);
- `[pause]`, `[pause 1.2s]`, `[pause 800ms]` insert a pause, on its own line or inline;
- `[written]{spoken}` speaks `spoken` where the transcript shows `written`; a malformed one
  (`[LoRA]{`, `[]{}`, `[x]{}`, a stray brace) is an error naming the line;
- `# headings` (a `#` and a space) and `<!-- comments -->` are notes for the producer and are
  not spoken; a line starting `#1` is narration ("number one");
- Markdown emphasis and list markers are dropped.

Front matter is validated here: `date:` is an ISO date, `episode:` a number from 1 to 999,
`audio:` an existing recording, `sound:` `off` or a mapping.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import PipelineError, ScriptError
from .paths import file_problem, inside_project
from .settings import SLUG_RE, LineDict, parse_yaml_mapping, read_text

PAUSE_RE = re.compile(r"\[pause(?:\s+(\d+(?:\.\d+)?)\s*(ms|s))?\]", re.IGNORECASE)
ANY_PAUSE_RE = re.compile(r"\[pause\b[^\]]*\]", re.IGNORECASE)
SAY_RE = re.compile(r"\[([^\[\]{}]+)\]\{([^{}]*)\}")
COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)
FILENAME_RE = re.compile(r"^(\d+)-(.+)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_EPISODE = 999
MAX_WORDS = 6 * 60 * 200
"""Words of narration an episode may hold: six hours at a brisk 200 words a minute."""
_HEADING_RE = re.compile(r"^#{1,6}(?:\s|$)")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
_BRACE_RE = re.compile(r"\]\{|[{}]")
FRONT_MATTER_FIELDS = ("title", "episode", "slug", "date", "summary", "tags", "voice", "production", "audio",
                       "sound")


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
    audio: Path | None = None
    """A recorded narration to use instead of synthesis (`audio:`, resolved against the script's folder)."""
    sound: LineDict | str | None = None
    """`sound:` as written: "off", a mapping of sound settings (key lines kept), or None."""

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


def _check_pronunciations(text: str, path: Path, line: int) -> None:
    """Every `[written]{spoken}` mark must be whole, with both parts; a stray brace is an error."""
    for match in SAY_RE.finditer(text):
        if not match.group(1).strip() or not match.group(2).strip():
            raise ScriptError(f"pronunciation mark {match.group(0)!r} needs text in both parts: "
                              "write [written]{spoken}", path, line)
    rest = SAY_RE.sub("", text)
    stray = _BRACE_RE.search(rest)
    if stray is not None:
        near = rest[max(0, stray.start() - 20):stray.end() + 20].strip()
        raise ScriptError(f"malformed pronunciation mark near {near!r}: write [written]{{spoken}}", path, line)


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
        if _HEADING_RE.match(stripped):
            continue
        for mark in ANY_PAUSE_RE.finditer(stripped):
            if not PAUSE_RE.fullmatch(mark.group(0)):
                raise ScriptError(
                    f"bad pause mark {mark.group(0)!r}: write [pause], [pause 1.5s] or [pause 800ms]",
                    path,
                    line_no,
                )
        text = _clean_line(stripped)
        _check_pronunciations(text, path, line_no)
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
    found = _CONTROL_RE.search(str(value))
    if found:
        raise ScriptError(f"control character {found.group(0)!r} in `{key}`; delete it", path, data.line_of(key))
    return str(value).strip()


def _episode_number(data: LineDict, path: Path) -> int:
    named = FILENAME_RE.match(path.stem)
    number = data["episode"] if "episode" in data else int(named.group(1)) if named else None
    if not isinstance(number, int) or isinstance(number, bool):
        raise ScriptError(
            f"episode number missing or not a whole number from 1 to {MAX_EPISODE} "
            "(set `episode:` or name the file NN-slug.md)",
            path,
            data.line_of("episode"),
        )
    if not 1 <= number <= MAX_EPISODE:
        shown = str(number) if len(str(number)) <= 12 else str(number)[:12] + "…"
        raise ScriptError(f"episode {shown} is outside 1..{MAX_EPISODE} (number episodes 1..N)",
                          path, data.line_of("episode"))
    return number


def _date_field(data: LineDict, path: Path) -> str:
    """The `date:` as YYYY-MM-DD, or "" when there is none; anything else names the line."""
    if "date" not in data:
        return ""
    value = data["date"]
    date: dt.date | None = value.date() if isinstance(value, dt.datetime) else (
        value if isinstance(value, dt.date) else None)
    if isinstance(value, str) and DATE_RE.match(value.strip()):
        try:
            date = dt.date.fromisoformat(value.strip())
        except ValueError:
            date = None
    if date is not None and date.year >= 1900:
        return date.isoformat()
    shown = "nothing" if value is None else repr(str(value)[:30])
    raise ScriptError(f"`date` must be a date written YYYY-MM-DD, such as 2026-02-19 (got {shown})",
                      path, data.line_of("date"))


def _audio_field(data: LineDict, path: Path) -> Path | None:
    if "audio" not in data:
        return None
    value, line = data["audio"], data.line_of("audio")
    if not isinstance(value, str) or not value.strip():
        raise ScriptError("`audio` must be the path of a recording, relative to the series folder", path, line)
    audio = inside_project(value, path.parent, path.parent.parent.parent, "recording", path, line, ScriptError)
    problem = file_problem(audio)
    if problem == "not found":
        raise ScriptError(f"recording not found: {value.strip()} (looked for {audio})", path, line)
    if problem:
        raise ScriptError(f"recording {audio} {problem}: `audio` must name a sound file", path, line)
    return audio


def _sound_field(data: LineDict, path: Path) -> LineDict | str | None:
    value = data.get("sound")
    if value is None:
        return None
    if value is False or isinstance(value, str) and value.strip().lower() == "off":
        return "off"  # YAML reads a bare `off` as false
    if isinstance(value, LineDict):
        return value
    raise ScriptError("`sound` must be `off` or a mapping of sound settings", path, data.line_of("sound"))


_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters: invisible, unspeakable, and invalid in the feed's XML (tabs and newlines are fine)."""


def _refuse_control_characters(text: str, path: Path) -> None:
    found = _CONTROL_RE.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        raise ScriptError(f"control character {found.group(0)!r} in the script; delete it", path, line)


def parse_episode(path: Path) -> Episode:
    """Parse one script; every problem raises ScriptError naming the file and line."""
    text = read_text(path, ScriptError).replace("\r\n", "\n").lstrip("\ufeff")
    _refuse_control_characters(text, path)
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
    number = _episode_number(data, path)
    named = FILENAME_RE.match(path.stem)
    slug = _text_field(data, "slug", path) or (named.group(2) if named else path.stem)
    if not SLUG_RE.match(slug):
        raise ScriptError(
            f"slug {slug!r} must be lowercase letters, digits and dashes (it names the output file)",
            path,
            data.line_of("slug", 1),
        )
    date = _date_field(data, path)
    tags = data.get("tags") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, (str, int, float)) for t in tags):
        raise ScriptError("`tags` must be a list of words", path, data.line_of("tags"))
    overrides = LineDict() if data.get("production") is None else data["production"]
    if not isinstance(overrides, dict):
        raise ScriptError("`production` must be a mapping", path, data.line_of("production"))
    audio = _audio_field(data, path)
    sound = _sound_field(data, path)
    blocks = parse_body(body, path, body_line)
    if not any(written_text(b.text).strip() for b in blocks):
        raise ScriptError("the script has no narration after its front matter", path, body_line)
    words = sum(len(b.text.split()) for b in blocks)
    if words > MAX_WORDS:
        raise ScriptError(f"the narration has {words} words, more than {MAX_WORDS} (six hours read aloud); "
                          "split it into episodes", path, body_line)
    return Episode(
        path=path,
        number=number,
        slug=slug,
        title=title,
        date=date,
        summary=_text_field(data, "summary", path),
        tags=tuple(str(t) for t in tags),
        voice=_text_field(data, "voice", path) or None,
        overrides=overrides,
        blocks=blocks,
        field_lines=dict(data.key_lines),
        audio=audio,
        sound=sound,
    )


def load_episodes(folder: Path) -> tuple[list[Episode], list[PipelineError]]:
    """Parse every `*.md` script in a series folder.

    A broken script, one numbered outside 1..N (N scripts in the folder), or one whose number or
    slug another script already uses, is returned as an error so that the others can still be
    built.
    """
    scripts = [p for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md"]
    episodes: list[Episode] = []
    errors: list[PipelineError] = []
    for path in scripts:
        try:
            if path.exists():  # a link that leads nowhere is reported by parse_episode ("file not found")
                inside_project(path.name, folder, folder.parent.parent, "a link to", path, None, ScriptError)
            episode = parse_episode(path)
        except PipelineError as exc:
            errors.append(exc)
            continue
        if episode.number > len(scripts):
            errors.append(ScriptError(
                f"episode {episode.number} is outside 1..{len(scripts)} (this series has {len(scripts)} "
                f"script{'s' if len(scripts) != 1 else ''}; number episodes 1..N)",
                path,
                episode.field_lines.get("episode"),
            ))
            continue
        episodes.append(episode)
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
