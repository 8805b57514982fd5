"""Episode scripts: YAML front matter plus a Markdown narration body.

Body markup (documented in the README) is read by one tokenizer (`parse_body`): whatever is not
narration is understood or refused with an error naming its line, never read aloud.
- A blank line ends a paragraph (a paragraph pause follows it).
- `[pause]`, `[pause 1.2s]`, `[pause 800ms]` insert a pause, on its own line or inline; spacing
  and letter case are free (`[ Pause 2 s ]`, `[pause2s]`). Any other mark starting with "pause"
  is an error saying the right form, and so is one asking for more than a day (400 digits
  included); `max_pause_ms` refuses shorter ones too long for the production (text.py).
- `[written]{spoken}` speaks `spoken` where the transcript shows `written`; a malformed one, an
  empty part or a mark inside a mark is an error.
- `[text](link)` is a Markdown link: its text is narration, its address is not; `![alt](image)`
  is not spoken. A bare web address (`https://...`, `www....`, `<https://...>`) is an error:
  nobody can follow one read aloud, so write it as a link or in words.
- Any other `[...]`, an unclosed `[`, and a stray `]`, `{` or `}` are errors.
- Not spoken: `# headings` (a `#` and a space; a line starting `#1` is narration), a line
  underlined with `===` or `---` (a heading, as in Markdown; under several lines, an error),
  dividers (`---`, `***`, `___` on their own), `<!-- comments -->` (unclosed: an error), HTML tags
  and the contents of `<script>` and `<style>`. Quote markers (`> `), list markers, emphasis and
  backticks are dropped; what they mark is narration.

Front matter is validated here: `date:` is an ISO date, `episode:` a number from 1 to 999,
`audio:` a sound file inside the project, `sound:` `off` or a mapping.
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
from .settings import MAX_PAUSE_MS, SLUG_RE, LineDict, parse_yaml_mapping, read_text

PAUSE_RE = re.compile(r"\s*pause\s*(?:(\d+(?:\.\d+)?)\s*(ms|s))?\s*", re.IGNORECASE)
"""The inside of a pause mark: `pause`, `pause 1.2s`, `pause 800ms`; spacing and case are free."""
_PAUSE_WORD_RE = re.compile(r"\s*pause", re.IGNORECASE)
"""A mark starting with this is a pause mark, good or bad."""
MAX_PAUSE_MARK_MS = 24 * 3600 * 1000
"""A pause mark asking for more than a day is an error here; `max_pause_ms` (at most
MAX_PAUSE_MS) refuses shorter ones too long for the production when the plan is made."""
SAY_RE = re.compile(r"\[([^\[\]{}]+)\]\{([^{}]*)\}")
"""A pronunciation mark as parse_body leaves it in a block's text."""
_INLINE_RE = re.compile(
    r"(?P<autolink><(?:https?|ftp)://[^<>\s]*>)"
    r"|(?P<tag></?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w.:-]*\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))*\s*/?>)"
    r"|(?P<url>\b(?:https?|ftp)://\S+|\bwww\.\S+)"
    r"|(?P<mark>!?\[)"
    r"|(?P<stray>[\]{}])"
)
"""What a narration line may hold besides words: a web address, an HTML tag (`<b>`, `</b>`,
`<br/>`, `<span class="x">`: attributes with values, so "x<y and y>z" stays narration), a mark,
link or image, or a stray bracket or brace."""
_NOTE_RE = re.compile(r"<!--|<(script|style)\b[^>]*>", re.IGNORECASE)
_NOTE_END_RE = {"--": re.compile(r"-->"), "script": re.compile(r"</script\s*>", re.IGNORECASE),
                "style": re.compile(r"</style\s*>", re.IGNORECASE)}
FILENAME_RE = re.compile(r"^(\d+)-(.+)$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_EPISODE = 999
MAX_WORDS = 6 * 60 * 200
"""Words of narration an episode may hold: six hours at a brisk 200 words a minute."""
_HEADING_RE = re.compile(r"^#{1,6}(?:\s|$)")
_UNDERLINE_RE = re.compile(r"^(?:=+|-+)$")
"""A setext heading's underline (a divider where no text is above it)."""
_RULE_RE = re.compile(r"^(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
"""A thematic break (`***`, `- - -`, `___`): a divider, not narration."""
_QUOTE_RE = re.compile(r"^(?:>[ \t]*)+")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_EMPHASIS_RE = re.compile(r"(\*\*|__|\*|`)")
FRONT_MATTER_FIELDS = ("title", "episode", "slug", "date", "summary", "tags", "voice", "production", "audio",
                       "sound", "cleanup")


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
    cleanup: object = None
    """`cleanup:` as written (on, off or a mapping of steps), over the series' for a recording."""

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


@dataclass(frozen=True)
class _Say:
    """A pronunciation mark: `written` in transcripts, `spoken` to the voice."""

    written: str
    spoken: str


@dataclass(frozen=True)
class _Pause:
    """A pause mark; `ms` None is the production's paragraph pause."""

    ms: int | None


_Piece = str | _Say | _Pause


def _near(line: str, position: int) -> str:
    return line[max(0, position - 20) : position + 21].strip()


def _malformed(line: str, position: int, why: str, path: Path, line_no: int) -> ScriptError:
    return ScriptError(f"malformed pronunciation mark near {_near(line, position)!r} ({why}): "
                       "write [written]{spoken}", path, line_no)


def _pause(content: str, mark: str, path: Path, line_no: int) -> _Pause:
    """A `[pause ...]` mark's length, or an error saying the right form (never an overflow)."""
    found = PAUSE_RE.fullmatch(content)
    if found is None:
        raise ScriptError(f"bad pause mark {mark!r}: write [pause], [pause 1.5s] or [pause 800ms]", path, line_no)
    if found.group(1) is None:
        return _Pause(None)
    value = float(found.group(1)) * (1000.0 if found.group(2).lower() == "s" else 1.0)  # inf for 400 digits
    if not value <= MAX_PAUSE_MARK_MS:
        shown = mark if len(mark) <= 30 else mark[:27] + "…]"
        raise ScriptError(f"pause mark {shown!r} asks for more than a day; a pause is at most "
                          f"{MAX_PAUSE_MS} ms (`max_pause_ms`)", path, line_no)
    return _Pause(int(round(value)))


def _next_bracket(line: str, start: int) -> int:
    """Index of the first bracket or brace from `start` on, or -1: what closes a mark (or, when
    it is not the closing one, a mark inside a mark)."""
    return next((index for index in range(start, len(line)) if line[index] in "[]{}"), -1)


def _link_end(line: str, start: int) -> int:
    """Index of the `)` closing a link's address that opens at `start` (balanced parentheses
    inside the address are part of it, as in Markdown), or -1."""
    depth = 0
    for index in range(start, len(line)):
        if line[index] == "(":
            depth += 1
        elif line[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    return -1


def _mark(line: str, start: int, image: bool, path: Path, line_no: int) -> tuple[list[_Piece], int]:
    """The mark opening at `start` (`[`, or `![` when `image`): its pieces and where it ends."""
    opening = start + (2 if image else 1)
    bang: list[_Piece] = ["!"] if image else []
    close = _next_bracket(line, opening)
    if close < 0:
        raise ScriptError(f"unclosed '[' near {_near(line, start)!r}: write [pause], [pause 1.5s], "
                          "[written]{spoken} or [text](link)", path, line_no)
    if line[close] != "]":
        raise _malformed(line, close, "a mark cannot hold another mark or a brace", path, line_no)
    content = line[opening:close]
    follows = line[close + 1 : close + 2]
    if follows == "{":
        end = _next_bracket(line, close + 2)
        if end < 0:
            raise _malformed(line, close + 1, "'{' is not closed by '}'", path, line_no)
        if line[end] != "}":
            raise _malformed(line, end, "a mark cannot hold another mark or a brace", path, line_no)
        mark = line[start + len(bang) : end + 1]
        if not content:
            raise _malformed(line, close, "nothing to show", path, line_no)
        spoken = line[close + 2 : end]
        if not content.strip() or not spoken.strip():
            raise ScriptError(f"pronunciation mark {mark!r} needs text in both parts: write [written]{{spoken}}",
                              path, line_no)
        return [*bang, _Say(_inline_text(content, path, line_no), _inline_text(spoken, path, line_no))], end + 1
    if follows == "(":
        end = _link_end(line, close + 1)
        if end < 0:
            raise ScriptError(f"unclosed link near {_near(line, close + 1)!r}: write [text](link)", path, line_no)
        if image:
            return [], end + 1  # a picture is not narration
        if not content.strip():
            raise ScriptError(f"link {line[start : end + 1][:60]!r} has no text to speak: write [text](link)",
                              path, line_no)
        return [_inline_text(content, path, line_no)], end + 1
    mark = line[start + len(bang) : close + 1]
    if _PAUSE_WORD_RE.match(content):
        return [*bang, _pause(content, mark, path, line_no)], close + 1
    raise ScriptError(f"unknown mark {mark[:40]!r}: write [pause], [pause 1.5s] or [pause 800ms] for a pause, "
                      "[written]{spoken} for a pronunciation, [text](link) for a link", path, line_no)


def _inline(line: str, path: Path, line_no: int) -> list[_Piece]:
    """One line of narration read as text, pronunciation marks and pauses: links become their
    text, HTML tags and images are dropped, and everything else in brackets or braces is an
    error naming the line."""
    pieces: list[_Piece] = []
    position = 0
    while (found := _INLINE_RE.search(line, position)) is not None:
        pieces.append(line[position : found.start()])
        kind, token = found.lastgroup, found.group()
        if kind == "tag":
            position = found.end()
        elif kind in ("autolink", "url"):
            address = token.strip("<>").rstrip(".,;:!?)")
            raise ScriptError(f"web address {address[:60]!r} cannot be read aloud: write [words to say]({address[:60]})"
                              " to link it, or say it in words", path, line_no)
        elif kind == "stray":
            raise _malformed(line, found.start(), f"a stray {token!r}", path, line_no)
        else:
            marked, position = _mark(line, found.start(), token == "![", path, line_no)
            pieces += marked
    pieces.append(line[position:])
    return [_EMPHASIS_RE.sub("", p) if isinstance(p, str) else p for p in pieces]


def _inline_text(text: str, path: Path, line_no: int) -> str:
    """The text inside a mark or link: HTML tags dropped, emphasis removed; it holds no marks."""
    return "".join(p for p in _inline(text, path, line_no) if isinstance(p, str))


def _without_notes(body: str, path: Path, first_line: int) -> str:
    """The body with `<!-- comments -->` and `<script>`/`<style>` elements (contents included)
    blanked out, newlines kept for line numbers; an unclosed one is an error on its line."""
    kept: list[str] = []
    position = 0
    while (found := _NOTE_RE.search(body, position)) is not None:
        closer = _NOTE_END_RE["--" if found.group(0) == "<!--" else found.group(1).lower()]
        end = closer.search(body, found.end())
        if end is None:
            what = "comment `<!--`: close it with `-->`" if found.group(0) == "<!--" else \
                f"`<{found.group(1)}>`: close it with `</{found.group(1)}>` (its contents are not spoken)"
            raise ScriptError(f"unclosed {what}", path, first_line + body.count("\n", 0, found.start()))
        kept += [body[position : found.start()], "\n" * body.count("\n", found.start(), end.end())]
        position = end.end()
    kept.append(body[position:])
    return "".join(kept)


def _lines(body: str, path: Path, first_line: int) -> list[tuple[int, str | None]]:
    """The body's narration lines, (line number, text), with None for a paragraph break. Headings
    (`# x`, or a line underlined with `===` or `---`), quote markers and list markers go here."""
    entries: list[tuple[int, str | None]] = []
    for offset, raw in enumerate(body.split("\n")):
        line_no = first_line + offset
        text = _QUOTE_RE.sub("", raw.strip())
        if not text:
            entries.append((line_no, None))
        elif _HEADING_RE.match(text):
            continue
        elif _UNDERLINE_RE.match(text):
            if entries and entries[-1][1] is not None:  # the line above is a heading (Markdown's setext form)
                if len(entries) > 1 and entries[-2][1] is not None:
                    raise ScriptError(f"{text[:3]!r} under several lines of narration makes them a heading: put a "
                                      "blank line before it for a divider, or use one line (or `# `) for a heading",
                                      path, line_no)
                entries.pop()
            entries.append((line_no, None))
        elif _RULE_RE.match(text):
            entries.append((line_no, None))
        else:
            entries.append((line_no, _LIST_MARK_RE.sub("", text)))
    return entries


def parse_body(body: str, path: Path, first_line: int) -> tuple[Block, ...]:
    """Split the narration into runs of text separated by paragraph breaks and pause marks."""
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

    for line_no, text in _lines(_without_notes(body, path, first_line), path, first_line):
        if text is None:
            if run:
                close(None, line_no)
            continue
        current = ""
        for piece in _inline(text, path, line_no):
            if isinstance(piece, _Pause):
                if not run:
                    run_line = line_no
                run.append(current)
                close(piece.ms, line_no)
                current = ""
            else:
                current += piece if isinstance(piece, str) else f"[{piece.written}]{{{piece.spoken}}}"
        rest = current.strip()
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
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
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
    return parse_script(read_text(path, ScriptError), path)


def parse_script(text: str, path: Path) -> Episode:
    """Parse a script's text as if it were the file at `path` (the studio checks an edit before
    writing it): the same errors, naming `path` and the line."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
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
        cleanup=data.get("cleanup"),
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
