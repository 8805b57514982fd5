"""Typed settings, parsed once: production settings, series metadata and voice profiles.

Layering is built-in defaults < series.yaml < episode front matter < CLI flags. Every layer
goes through `Production.merged`, which validates keys and types and names the file and line
of a bad value.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, EngineError, PipelineError
from .paths import file_problem, inside_project

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
MP3_BITRATES_KBPS = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
MP3_SAMPLE_RATES_HZ = (22050, 24000, 32000, 44100, 48000)
FIT_MODES = ("narration", "programme")
MAX_PAUSE_MS = 10_000
"""Longest pause any setting may ask for."""
MAX_DURATION_S = 6 * 3600.0
"""Longest episode a duration target may ask for."""
DEFAULT_DISCLOSURE = "Narrated by an AI-generated synthetic voice."
"""Said of an episode and of the show alike, so one sentence serves the audio, the episode's
description and the show's."""


class LineDict(dict):
    """A YAML mapping that remembers the 1-based line of each key, for error messages."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.key_lines: dict[str, int] = {}
        """str(key) -> line."""

    def line_of(self, key: object, default: int | None = None) -> int | None:
        return self.key_lines.get(str(key), default)


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings are LineDicts, and whose dates stay text.

    Dates are validated by the field that holds them ("2026-02-30" names its line), so the
    loader does not turn them into datetime objects itself (and fail without a line).
    """


class _FastLineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """The same on libyaml's parser (ten times faster); its syntax errors point less precisely,
    so a file it refuses is parsed again with _LineLoader for the message."""


for _loader in (_LineLoader, _FastLineLoader):
    _loader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict(loader.construct_mapping(node, deep=True))
    mapping.key_lines = {
        str(loader.construct_object(key_node, deep=True)): key_node.start_mark.line + 1 for key_node, _ in node.value
    }
    return mapping


def _construct_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    """An explicitly tagged date (`!!timestamp 2026-02-30`) that cannot be: an error at its line."""
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, str(exc), node.start_mark) from None


for _loader in (_LineLoader, _FastLineLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def parse_yaml_mapping(
    text: str, path: Path, first_line: int = 1, error: type[PipelineError] = ConfigError
) -> LineDict:
    """Parse YAML text that must be a mapping; line numbers count from `first_line`."""
    # Blank lines in front put every mark, nested mappings' key lines included, on the file's line.
    padded = "\n" * (first_line - 1) + text
    try:
        try:
            data = yaml.load(padded, Loader=_FastLineLoader)
        except yaml.YAMLError:
            data = yaml.load(padded, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else first_line
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"invalid YAML: {problem}", path, line) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        # An explicitly tagged value PyYAML cannot build (`!!timestamp 2026-02-30`, `!!int x`), or
        # nesting too deep to follow.
        raise error(f"invalid YAML: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                    path, first_line) from None
    if data is None:
        data = LineDict()
    if not isinstance(data, LineDict):
        raise error("expected a mapping of `key: value` lines", path, first_line)
    return data


def read_text(path: Path, error: type[PipelineError] = ConfigError) -> str:
    """Read a UTF-8 file; a bad byte is reported with its line number."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error("file not found", path) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise error(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8", path, line
        ) from None


def load_yaml_file(path: Path) -> LineDict:
    """Read and parse a YAML mapping file."""
    return parse_yaml_mapping(read_text(path), path)


def coerce_value(value: Any, kind: type, key: str, path: Path | None, line: int | None) -> Any:
    """Convert a YAML value to the settings field's type, or raise naming the key."""
    if value is None:
        raise ConfigError(f"`{key}` has no value: give a {kind.__name__} after the colon", path, line)
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind in (int, float):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > 1e12:
                raise ConfigError(f"`{key}` must be a finite number of sensible size, got {value!r}", path, line)
            if kind is int and float(value) != int(value):
                raise ConfigError(f"`{key}` must be a whole number, got {value!r}", path, line)
            return kind(value)
    elif kind is str and isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise ConfigError(f"`{key}` must be a {kind.__name__}, got {value!r}", path, line)


@dataclass(frozen=True)
class Production:
    """How an episode is produced: loudness, duration, pacing and encoding targets."""

    voice: str = "joe"
    """Voice profile name (a file in voices/)."""
    target_lufs: float = -16.0
    """Integrated loudness target; for mono output read as dual mono (see README)."""
    loudness_tolerance_lu: float = 0.5
    """How far the measured loudness of the MP3 may sit from the target."""
    ceiling_dbtp: float = -1.0
    """True-peak ceiling, measured with 4x oversampling, after MP3 encoding."""
    target_duration_s: float = 90.0
    """Duration the episode aims at."""
    duration_tolerance_s: float = 10.0
    """Half-width of the accepted window around the target (90 +- 10 s -> 80-100 s)."""
    min_rate: float = 0.85
    """Slowest speaking-rate factor the duration fit may use (1.0 = the voice's own rate)."""
    max_rate: float = 1.15
    """Fastest speaking-rate factor the duration fit may use."""
    lead_pad_ms: int = 300
    """Silence before the first word."""
    tail_pad_ms: int = 700
    """Silence after the last word."""
    paragraph_pause_ms: int = 750
    """Pause at a blank line between paragraphs (and for a bare [pause] mark)."""
    max_pause_ms: int = 1500
    """Longest silence allowed inside the episode; longer ones are shortened to this."""
    bitrate_kbps: int = 128
    """MP3 constant bitrate."""
    sample_rate_hz: int = 44100
    """Output sample rate."""
    channels: int = 1
    """1 (mono) or 2 (stereo, the mono voice on both channels)."""
    fit: str = "narration"
    """What the duration window applies to: "narration" (the voice alone) or "programme" (with sound)."""
    min_pause_ms: int = 250
    """The duration fit never shortens a pause below this."""
    max_tempo_change: float = 0.08
    """Largest pitch-preserving tempo change the duration fit may apply (0.08 = 8 %)."""

    def __post_init__(self) -> None:
        problems = []
        if not -40.0 <= self.target_lufs <= -5.0:
            problems.append(f"target_lufs {self.target_lufs} is outside -40..-5")
        if not -12.0 <= self.ceiling_dbtp <= -0.5:
            problems.append(f"ceiling_dbtp {self.ceiling_dbtp} is outside -12..-0.5 (leave headroom under full scale)")
        if self.loudness_tolerance_lu <= 0:
            problems.append("loudness_tolerance_lu must be above 0")
        if not 0 < self.target_duration_s <= MAX_DURATION_S \
                or not 0 <= self.duration_tolerance_s < self.target_duration_s:
            problems.append(f"target_duration_s must be above 0 (at most {MAX_DURATION_S:g}) "
                            "and above duration_tolerance_s")
        if not 0.5 <= self.min_rate <= 1.0 <= self.max_rate <= 2.0:
            problems.append("rates must satisfy 0.5 <= min_rate <= 1.0 <= max_rate <= 2.0")
        if self.bitrate_kbps not in MP3_BITRATES_KBPS:
            problems.append(f"bitrate_kbps must be one of {MP3_BITRATES_KBPS}")
        elif self.sample_rate_hz < 32000 and self.bitrate_kbps > 160:
            problems.append(f"bitrate_kbps {self.bitrate_kbps} is above 160, the most MP3 allows at "
                            f"{self.sample_rate_hz} Hz (MPEG-2); use 160 or a 32000 Hz or higher sample rate")
        if self.sample_rate_hz not in MP3_SAMPLE_RATES_HZ:
            problems.append(f"sample_rate_hz must be one of {MP3_SAMPLE_RATES_HZ}")
        if self.channels not in (1, 2):
            problems.append("channels must be 1 or 2")
        if not 0 <= self.max_pause_ms <= MAX_PAUSE_MS:
            problems.append(f"max_pause_ms must be between 0 and {MAX_PAUSE_MS}")
        for name in ("lead_pad_ms", "tail_pad_ms", "paragraph_pause_ms", "min_pause_ms"):
            if not 0 <= getattr(self, name) <= self.max_pause_ms:
                problems.append(f"{name} must be between 0 and max_pause_ms ({self.max_pause_ms})")
        if self.fit not in FIT_MODES:
            problems.append(f"fit must be one of {', '.join(FIT_MODES)}")
        if not 0.0 <= self.max_tempo_change <= 0.2:
            problems.append("max_tempo_change must be between 0 and 0.2")
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def window_s(self) -> tuple[float, float]:
        """The accepted duration window, in seconds."""
        return (
            self.target_duration_s - self.duration_tolerance_s,
            self.target_duration_s + self.duration_tolerance_s,
        )

    def merged(self, overrides: Mapping[str, Any], path: Path | None = None) -> Production:
        """A copy with `overrides` applied; unknown keys and bad values name file and line."""
        if not isinstance(overrides, Mapping):
            raise ConfigError("production settings must be a mapping of `setting: value` lines", path)
        if not overrides:
            return self
        kinds = {f.name: type(getattr(self, f.name)) for f in dataclasses.fields(self)}
        line_of = overrides.line_of if isinstance(overrides, LineDict) else (lambda k, d=None: d)
        changes = {}
        for key, value in overrides.items():
            line = line_of(key)
            if key not in kinds:
                raise ConfigError(
                    f"unknown production setting `{key}` (known: {', '.join(sorted(kinds))})",
                    path,
                    line,
                )
            changes[key] = coerce_value(value, kinds[key], key, path, line)
        try:
            return dataclasses.replace(self, **changes)
        except ConfigError as exc:
            first = min((line_of(k) or 0 for k in changes), default=0) or None
            raise ConfigError(exc.message, path, first) from None


@dataclass(frozen=True)
class Owner:
    """Who owns the show: `itunes:owner` (Apple verifies ownership at this address) and
    `podcast:locked owner=`."""

    name: str
    email: str


@dataclass(frozen=True)
class Season:
    """The season every episode of the series belongs to: `itunes:season`, `podcast:season`."""

    number: int
    name: str
    """`podcast:season name=` (at most 128 characters); default the series' topic."""


@dataclass(frozen=True)
class License:
    """`podcast:license`: a well-known licence's identifier, or a custom one with its URL."""

    identifier: str
    url: str = ""


@dataclass(frozen=True)
class Person:
    """A person of the show: `podcast:person` (host, narrator, producer...)."""

    name: str
    role: str = "host"
    """A Podcast Taxonomy role, case-insensitive ("host" when not given)."""
    group: str = ""
    """A Podcast Taxonomy group ("cast" when not given)."""
    href: str = ""
    """A page about the person (absolute http(s) URL)."""
    img: str = ""
    """A picture of the person (absolute http(s) URL)."""


@dataclass(frozen=True)
class Series:
    """A series folder's metadata: the frames every episode shares, and its production settings."""

    folder: Path
    """The folder under scripts/ holding series.yaml and the episode scripts."""
    title: str
    """Series name, e.g. "GenAI Explained"."""
    topic: str
    """What this season is about, e.g. "Fine-Tuning"."""
    album: str
    """Album tag; defaults to "<title>: <topic>"."""
    author: str
    """Artist and album-artist tags."""
    description: str = ""
    genre: str = "Podcast"
    language: str = "en"
    copyright: str = ""
    cover: Path | None = None
    """Cover image embedded in every episode (resolved against the series folder)."""
    category: str = "Technology"
    """Podcast category (Apple Podcasts' list)."""
    explicit: bool = False
    base_url: str = ""
    """Where out/<series>/ is published; the feed's enclosure URLs start with it."""
    podcast_guid: str = ""
    """The feed's `podcast:guid`, kept when the feed moves; empty: derived from the feed's URL."""
    owner: Owner | None = None
    """`owner:` name and email (Apple needs them to verify the show); None: not given (a warning)."""
    locked: bool = True
    """`podcast:locked` yes/no: whether other platforms may import the feed (written with the owner)."""
    season: Season | None = None
    license: License | None = None
    people: tuple[Person, ...] = ()
    disclosure: str | None = DEFAULT_DISCLOSURE
    """The sentence that discloses a synthetic voice (spoken, and added to descriptions and the ID3
    comment); None for `disclosure: false`."""
    narrator: str = "Narrator"
    """The speaker's name in the captions' WebVTT voice spans (`<v Narrator>`)."""
    production: Production = field(default_factory=Production)
    sound: LineDict | None = None
    """The series' `sound:` mapping as written (key lines kept), for the sound stage to read."""
    cleanup: object = None
    """The series' `cleanup:` as written (on, off or a mapping of steps), for recordings; read by
    pipeline.audio.cleanup when an episode is a recording."""
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    """series.yaml's line of each key (`production.voice` for settings), for errors found later."""

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def config_path(self) -> Path:
        return self.folder / "series.yaml"


_SERIES_TEXT_FIELDS = ("title", "topic", "album", "author", "description", "genre", "language", "copyright",
                       "category", "base_url", "podcast_guid")


_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def _cover_problem(cover: Path) -> str | None:
    """Why a cover inside the project cannot be used, judged cheaply (file kind and signature); the
    image itself is checked when a build first meets it, and scaled when it is embedded
    (pipeline.cover)."""
    problem = file_problem(cover)
    if problem:
        return problem
    try:
        with cover.open("rb") as handle:
            head = handle.read(8)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not head.startswith(_IMAGE_SIGNATURES):
        return "is not a PNG or JPEG image"
    return None


SITE_FOLDER = "site"
"""out/'s folder for the public site (`episodes publish`), so no series may have this name."""


def load_series(folder: Path, require_cover: bool = True) -> Series:
    """Parse `<folder>/series.yaml` into a Series; raises ConfigError naming the line.

    `require_cover=False` accepts a cover that does not exist yet (for drawing it).
    """
    path = folder / "series.yaml"
    if folder.name.casefold() == SITE_FOLDER:  # also `Site`: the same folder on macOS and Windows
        raise ConfigError(f"a series folder may not be named `{folder.name}`: its episodes would go to "
                          f"out/{SITE_FOLDER}/, where `episodes publish` writes the public site; rename the folder",
                          folder)
    data = load_yaml_file(path)
    known = set(_SERIES_TEXT_FIELDS) | set(_SERIES_PUBLISHING_FIELDS) | {"cover", "production", "explicit", "sound",
                                                                         "cleanup"}
    for key in data:
        if key not in known:
            raise ConfigError(f"unknown series field `{key}`", path, data.line_of(key))
    for key in (*_SERIES_TEXT_FIELDS, "cover"):
        if isinstance(data.get(key), (dict, list)):
            raise ConfigError(f"`{key}` must be text", path, data.line_of(key))
    for key in ("title", "author"):
        if not str(data.get(key) or "").strip():
            raise ConfigError(f"missing required field `{key}`", path, data.line_of(key, 1))
    values = {k: str(data[k]).strip() for k in _SERIES_TEXT_FIELDS if data.get(k) is not None}
    values.setdefault("topic", "")
    values.setdefault(
        "album", f"{values['title']}: {values['topic']}" if values["topic"] else values["title"]
    )
    cover = None
    if data.get("cover"):
        line = data.line_of("cover")
        cover = inside_project(str(data["cover"]), folder, folder.parent.parent, "cover", path, line)
        problem = _cover_problem(cover)
        if problem == "not found":
            if require_cover:
                raise ConfigError(f"cover image not found: {cover}", path, line)
        elif problem:
            raise ConfigError(f"cover {cover}: {problem}", path, line)
    if values.get("base_url"):
        from .urls import check_base_url

        values["base_url"] = check_base_url(values["base_url"], "base_url", path, data.line_of("base_url"))
    if "category" in values:
        values["category"] = _category(values["category"], path, data.line_of("category"))
    if values.get("podcast_guid"):
        import uuid

        try:
            values["podcast_guid"] = str(uuid.UUID(values["podcast_guid"]))
        except ValueError:
            raise ConfigError(f"`podcast_guid` must be a UUID such as 917393e3-1b1e-5cef-ace4-edaa54e1f810 "
                              f"(got {values['podcast_guid']!r})", path, data.line_of("podcast_guid")) from None
    production = LineDict() if data.get("production") is None else data["production"]
    if not isinstance(production, dict):
        raise ConfigError("`production` must be a mapping", path, data.line_of("production"))
    explicit = data.get("explicit", False)
    if not isinstance(explicit, bool):
        raise ConfigError("`explicit` must be true or false", path, data.line_of("explicit"))
    sound = data.get("sound")
    if sound is not None and not isinstance(sound, LineDict):
        raise ConfigError("`sound` must be a mapping of sound settings", path, data.line_of("sound"))
    lines = dict(data.key_lines)
    if isinstance(production, LineDict):
        lines.update({f"production.{key}": line for key, line in production.key_lines.items()})
    return Series(
        folder=folder,
        cover=cover,
        explicit=explicit,
        production=Production().merged(production, path),
        sound=sound,
        cleanup=data.get("cleanup"),
        lines=lines,
        **values,
        **_publishing_fields(data, path, values.get("topic") or values["title"]),
    )


_SERIES_PUBLISHING_FIELDS = ("owner", "locked", "season", "license", "people", "disclosure", "narrator")
NAME_LIMIT = 128
"""Podcasting 2.0's limit for names and identifiers (person, season name, licence)."""
DISCLOSURE_LIMIT = 300
"""Longest disclosure sentence: it is spoken in every episode and joins every description."""


def _category(value: str, path: Path, line: int | None) -> str:
    """`category:` as Apple spells it (`Parent` or `Parent > Sub`); an error naming the line."""
    from .publish.categories import SEPARATOR, parse_category

    try:
        parent, child = parse_category(value)
    except ValueError as exc:
        raise ConfigError(f"`category` {exc}", path, line) from None
    return f"{parent} {SEPARATOR} {child}" if child else parent


def _text(value: Any, key: str, path: Path, line: int | None, limit: int = NAME_LIMIT, required: bool = True) -> str:
    """A one-line text field of at most `limit` characters."""
    if isinstance(value, (dict, list, bool)):
        raise ConfigError(f"`{key}` must be text", path, line)
    text = " ".join(str(value if value is not None else "").split())
    if required and not text:
        raise ConfigError(f"`{key}` has no value", path, line)
    if len(text) > limit:
        raise ConfigError(f"`{key}` is {len(text)} characters; at most {limit}", path, line)
    return text


def _mapping(value: Any, key: str, keys: tuple[str, ...], path: Path, line: int | None) -> LineDict:
    if not isinstance(value, LineDict):
        raise ConfigError(f"`{key}` must be a mapping with {', '.join(keys)}", path, line)
    for name in value:
        if name not in keys:
            raise ConfigError(f"unknown `{key}` field `{name}` (known: {', '.join(keys)})", path,
                              value.line_of(name, line))
    return value


def _owner(value: Any, path: Path, line: int | None) -> Owner:
    from .publish.podcast_namespace import EMAIL_RE

    owner = _mapping(value, "owner", ("name", "email"), path, line)
    name = _text(owner.get("name"), "owner.name", path, owner.line_of("name", line))
    email = _text(owner.get("email"), "owner.email", path, owner.line_of("email", line))
    if not EMAIL_RE.match(email):
        raise ConfigError(f"`owner.email` {email!r} is not an email address", path, owner.line_of("email", line))
    return Owner(name, email)


def _season(value: Any, default_name: str, path: Path, line: int | None) -> Season:
    season = value if isinstance(value, LineDict) else LineDict(number=value)
    if isinstance(value, LineDict):
        _mapping(value, "season", ("number", "name"), path, line)
    number_line = season.line_of("number", line)
    number = coerce_value(season.get("number"), int, "season", path, number_line)
    if not 1 <= number <= 9999:
        raise ConfigError(f"`season` must be a whole number from 1 to 9999, got {number}", path, number_line)
    name = _text(season.get("name", default_name), "season.name", path, season.line_of("name", line))
    return Season(number, name)


def _license(value: Any, path: Path, line: int | None) -> License:
    from .publish.podcast_namespace import KNOWN_LICENSES

    if not isinstance(value, LineDict):
        value = LineDict(identifier=value)
    else:
        _mapping(value, "license", ("identifier", "url"), path, line)
    identifier = _text(value.get("identifier"), "license.identifier", path, value.line_of("identifier", line))
    url = ""
    if value.get("url") is not None:
        from .urls import check_url

        url = check_url(_text(value["url"], "license.url", path, value.line_of("url", line), limit=2000),
                        "`license.url`", path, value.line_of("url", line))
    if not url and identifier.casefold() not in KNOWN_LICENSES:
        raise ConfigError(f"`license` {identifier!r} is not a well-known licence identifier (such as "
                          f"CC-BY-4.0): give the licence's `url:` too (license: {{identifier: ..., url: ...}})",
                          path, line)
    return License(identifier, url)


def _people(value: Any, path: Path, line: int | None) -> tuple[Person, ...]:
    from .urls import check_url

    if not isinstance(value, list):
        raise ConfigError("`people` must be a list of {name, role, href, img} mappings", path, line)
    people = []
    for entry in value:
        entry = entry if isinstance(entry, LineDict) else LineDict(name=entry)
        at = entry.line_of("name", line) if entry.key_lines else line
        _mapping(entry, "people", ("name", "role", "group", "href", "img"), path, at)
        fields = {"name": _text(entry.get("name"), "people.name", path, at)}
        for key in ("role", "group"):
            if entry.get(key) is not None:
                fields[key] = _text(entry[key], f"people.{key}", path, entry.line_of(key, at))
        for key in ("href", "img"):
            if entry.get(key) is not None:
                where = entry.line_of(key, at)
                fields[key] = check_url(_text(entry[key], f"people.{key}", path, where, limit=2000),
                                        f"`people.{key}`", path, where)
        people.append(Person(**fields))
    return tuple(people)


def _disclosure(value: Any, path: Path, line: int | None) -> str | None:
    if value is False:
        return None
    if value is True or value is None:
        return DEFAULT_DISCLOSURE
    text = _text(value, "disclosure", path, line, limit=DISCLOSURE_LIMIT)
    if text[-1] not in ".!?":
        text += "."
    return text


def _publishing_fields(data: LineDict, path: Path, default_season_name: str) -> dict[str, Any]:
    """owner, locked, season, license, people, disclosure and narrator, each checked on its line."""
    fields: dict[str, Any] = {}
    if data.get("owner") is not None:
        fields["owner"] = _owner(data["owner"], path, data.line_of("owner"))
    if "locked" in data:
        if not isinstance(data["locked"], bool):
            raise ConfigError("`locked` must be true or false", path, data.line_of("locked"))
        fields["locked"] = data["locked"]
    if data.get("season") is not None:
        fields["season"] = _season(data["season"], default_season_name, path, data.line_of("season"))
    if data.get("license") is not None:
        fields["license"] = _license(data["license"], path, data.line_of("license"))
    if data.get("people") is not None:
        fields["people"] = _people(data["people"], path, data.line_of("people"))
    if "disclosure" in data:
        fields["disclosure"] = _disclosure(data["disclosure"], path, data.line_of("disclosure"))
    if data.get("narrator") is not None:
        narrator = _text(data["narrator"], "narrator", path, data.line_of("narrator"))
        if any(c in narrator for c in "<>&"):
            raise ConfigError("`narrator` may not hold <, > or & (it is written into WebVTT voice spans)", path,
                              data.line_of("narrator"))
        fields["narrator"] = narrator
    return fields


def series_folder_problems(scripts_dir: Path) -> list[ConfigError]:
    """An error for each folder under scripts/ (and scripts/ itself) holding episode scripts
    but no series.yaml: such scripts would otherwise be skipped without a word."""
    problems: list[ConfigError] = []
    try:
        folders = [scripts_dir, *sorted(p for p in scripts_dir.iterdir() if p.is_dir() and not p.name.startswith("."))]
    except OSError as exc:
        return [ConfigError(f"cannot read: {exc.strerror}", scripts_dir)]
    for folder in folders:
        try:
            scripts = [p for p in folder.glob("*.md") if p.name.lower() != "readme.md"]
        except OSError as exc:
            problems.append(ConfigError(f"cannot read: {exc.strerror}", folder))
            continue
        if (folder / "series.yaml").exists() and not (folder / "series.yaml").is_file():
            problems.append(ConfigError("is not a file; the series file must be a YAML file", folder / "series.yaml"))
            continue
        if not scripts or (folder / "series.yaml").is_file():
            continue
        count = f"{len(scripts)} episode script{'s' if len(scripts) != 1 else ''}"
        if folder == scripts_dir:
            problems.append(ConfigError(
                f"{count} directly under scripts/ will not be built: put them in a series folder "
                "(scripts/<series>/) beside a series.yaml", folder))
        else:
            problems.append(ConfigError(
                f"{count} here but no series.yaml, so none is built: add a series.yaml with "
                "`title:` and `author:`", folder))
    return problems




@dataclass(frozen=True)
class VoiceProfile:
    """A named voice: which engine speaks, with which model, at which pace."""

    name: str
    """Profile name, used by `voice:` in series.yaml and front matter."""
    engine: str
    """"piper" or "coqui"."""
    model: str
    """Model: "bundled" (Piper's packaged voice), a model name, or a path to a local model."""
    path: Path
    """The profile's YAML file (model paths are resolved against its folder)."""
    speaker: str | None = None
    """Speaker name or id for multi-speaker models."""
    language: str = "en"
    """Language code, for engines that take one (XTTS)."""
    rate: float = 1.0
    """The voice's own speaking-rate factor; the duration fit multiplies it."""
    sentence_pause_ms: int = 400
    """Silence between sentences inside a paragraph (0-5000)."""
    config: str | None = None
    """Model config file, where the engine needs one beside the model."""
    speaker_wav: str | None = None
    """Reference recording for voice cloning (XTTS)."""
    gpus: float = 0.0
    """GPU share a Ray voice worker asks for (0-8; 0 runs on CPU)."""
    words_per_minute: float | None = None
    """The voice's pace at rate 1.0, for `episodes estimate` until an episode it speaks is built
    (then its measured pace is used)."""
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    """The profile's line of each key, for errors found later."""

    def resolve(self, value: str | None) -> Path | None:
        """A path from the profile (its `model`, `config` or `speaker_wav`), resolved against the
        voices folder; a ConfigError naming the profile's line when it leads out of the project."""
        if value is None:
            return None
        key = next((k for k in VOICE_PATH_FIELDS if getattr(self, k) == value), "model")
        return inside_project(value, self.path.parent, self.path.parent.parent, f"`{key}`", self.path,
                              self.lines.get(key))


VOICE_PATH_FIELDS = ("model", "config", "speaker_wav")
"""Voice fields that may name a file (`model` may also be a name: `bundled`, a Coqui model)."""


_VOICE_KINDS: dict[str, type] = {"rate": float, "sentence_pause_ms": int, "gpus": float, "words_per_minute": float}
_VOICE_LIMITS = {"rate": (0.5, 2.0), "sentence_pause_ms": (0, 5000), "gpus": (0.0, 8.0), "words_per_minute": (60, 400)}


def load_voice(path: Path) -> VoiceProfile:
    """Parse one voice profile file; every bad value is a ConfigError naming its line."""
    data = load_yaml_file(path)
    settable = {f.name: f for f in dataclasses.fields(VoiceProfile) if f.name not in ("name", "path", "lines")}
    values: dict[str, Any] = {"name": path.stem}
    for key, value in data.items():
        line = data.line_of(key)
        if key not in settable:
            raise ConfigError(f"unknown voice field `{key}` (known: {', '.join(settable)})", path, line)
        if value is None and settable[key].default is None:
            values[key] = None
            continue
        values[key] = coerce_value(value, _VOICE_KINDS.get(key, str), key, path, line)
    for key in ("engine", "model"):
        if not str(values.get(key) or "").strip():
            raise ConfigError(f"missing required field `{key}`", path, data.line_of(key, 1))
    from .engines.specs import spec_of

    try:
        spec_of(values["engine"])
    except EngineError as exc:
        raise ConfigError(str(exc), path, data.line_of("engine")) from None
    for key, (low, high) in _VOICE_LIMITS.items():
        if values.get(key) is not None and not low <= values[key] <= high:
            raise ConfigError(f"`{key}` must be between {low:g} and {high:g}", path, data.line_of(key))
    voice = VoiceProfile(path=path, lines=dict(data.key_lines), **values)
    for key in VOICE_PATH_FIELDS:
        voice.resolve(getattr(voice, key))  # refuses a path out of the project now, naming its line
    return voice


def load_voices(folder: Path) -> dict[str, VoiceProfile]:
    """Every profile in the voices folder, by name (lexicon files are skipped, but like every file
    there they must not be links out of the project)."""
    voices = {}
    for path in sorted(folder.glob("*.yaml")):
        inside_project(path.name, folder, folder.parent, "a link to", path, None)
        if path.stem == "lexicon" or path.stem.endswith(".lexicon"):
            continue
        voice = load_voice(path)
        voices[voice.name] = voice
    return voices

