"""What a build must do: one job per episode with everything resolved, each stage's fingerprint,
and the smallest set of stages that brings out/ up to date.

    audio     speak (cache misses only), assemble, fit, mix, master, then tags and sidecars
    tags      re-tag the existing MP3 in place (audio frames untouched, figures kept)
    sidecars  rewrite captions and transcript from the recorded sentence timings

A whole-series build also lists orphans: outputs whose script is gone or renamed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .disclosure import disclosure_text, is_synthetic
from .errors import ConfigError, PipelineError
from .fingerprint import KnownDigests, Memo, audio_key, changed, plan_key, sidecars_key, tags_key
from .manifest import EpisodeResult
from .outputs import AUDIO, OUTPUTS, SIDECARS, TAGS, made_by
from .project import Catalog, Project, Selection, SeriesEntry, _names_of_script
from .script import Episode
from .settings import Production, Series, VoiceProfile
from .tags import TagValues
from .text import Lexicon, Utterance, plan_utterances, prepare, unreadable_warnings

if TYPE_CHECKING:
    from .state import Store

DISCLOSURE_LINE = 0
"""The line of the disclosure sentence, which comes from series.yaml, not from the script."""
OUTPUT_STEM_RE = re.compile(r"^\d+-[a-z0-9][a-z0-9-]*$")
"""Names this tool gives episode outputs (`NN-slug`); only such files are ever removed as orphans."""


@dataclass(frozen=True)
class BuildOptions:
    """Choices a producer makes on the command line."""

    force: bool = False
    """Rebuild even when nothing changed."""
    strict: bool = False
    """An episode that cannot be fitted to its window fails instead of warning."""
    voice: str | None = None
    """Voice profile for every episode, over series and front matter."""
    overrides: dict[str, object] = field(default_factory=dict)
    """Production settings from flags: the top layer."""
    jobs: int | None = None
    """Workers at once; None picks from the cores, the memory and the voices' needs."""
    base_url: str | None = None
    """Where the series is published (feed enclosure URLs); over series.yaml's base_url."""
    executor: str = "local"
    """"local" (worker processes on this machine) or "ray" (a Ray cluster)."""
    ray_address: str | None = None
    """Ray cluster to join ("auto", "HOST:PORT"); None starts a local Ray instance."""
    asr: bool = False
    """Check every sentence with speech recognition, and retake flagged ones."""
    asr_model: str | None = None
    """faster-whisper model name or folder; None is the bundled tiny.en."""


@dataclass(frozen=True)
class EpisodeJob:
    """One episode, resolved: settings, voice, sentences, tags, where it goes and its fingerprints."""

    series: Series
    episode: Episode
    production: Production
    voice: VoiceProfile
    voice_identity: str
    voice_digests: KnownDigests
    """The voice files' digests, so a worker here checks the identity without reading them."""
    utterances: tuple[Utterance, ...]
    tags: TagValues
    out_path: Path
    keys: dict[str, dict[str, str]]
    """Stage fingerprints: audio, tags, sidecars."""
    warnings: tuple[str, ...] = ()
    """What the producer should hear about the script (text the voice cannot read)."""
    sound: Any = None
    """The episode's SoundDesign (intro, outro, ducked bed), or None for the narration alone."""
    plan_key: str = ""
    """Key of the episode's sentence plan in the build memo."""
    overrides: tuple[tuple[str, Any], ...] = ()
    """Production settings the command line set (over series and script), for the record."""
    store_key: str = ""
    """Where the state store keeps its result: the series' slug (a preview's: `<slug>/preview`)."""
    disclosure: str | None = None
    """The sentence disclosing a synthetic voice, spoken last (None for a recording, or when the
    series says `disclosure: false`)."""
    cleanup: Any = None
    """A recording's CleanupSettings (series < front matter); None for a synthetic episode."""
    picks: tuple[tuple[str, int], ...] = ()
    """The take the producer picked (in the studio) for sentences of this episode, by spoken text:
    over speech QA's takes."""

    @property
    def production_record(self) -> dict[str, Any]:
        """The settings the episode is built with, as its result records them (check judges by them)."""
        return dataclasses.asdict(self.production)

    @property
    def stem(self) -> str:
        return self.episode.stem

    @property
    def file(self) -> str:
        return self.out_path.name

    @property
    def label(self) -> str:
        return f"{self.series.slug}/{self.episode.stem}"


@dataclass(frozen=True)
class Step:
    """What the build does for one episode."""

    job: EpisodeJob
    stages: tuple[str, ...]
    """Empty when up to date; `audio` implies the rest."""
    reason: str
    """Why, in a producer's words: "changed: spoken text", "MP3 missing", "up to date"."""
    previous: EpisodeResult | None
    """The manifest's entry before this build."""


@dataclass(frozen=True)
class Orphan:
    """Outputs of an episode whose script is gone or renamed."""

    folder: Path
    stem: str
    files: tuple[Path, ...]
    store_key: str


@dataclass
class BuildPlan:
    steps: list[Step]
    orphans: list[Orphan]
    errors: list[PipelineError]
    entries: dict[str, dict[str, EpisodeResult]]
    """Each series' results as the store holds them (by store key, then MP3 name), read once."""
    warnings: list[str] = field(default_factory=list)

    @property
    def todo(self) -> list[Step]:
        return [s for s in self.steps if s.stages]


def planned_utterances(episode: Episode, lexicon: Lexicon, voice: VoiceProfile, production: Production,
                       memo: Memo, disclosure: str | None) -> tuple[str, tuple[Utterance, ...], tuple[str, ...]]:
    """The episode's sentences as written and as spoken, with their pauses, then the disclosure of
    a synthetic voice (if any) as its own last paragraph; warnings about text the voice cannot
    read. Remembered by everything they are made from, so a no-op build does not run the
    normaliser over every sentence again."""
    pauses = (voice.sentence_pause_ms, production.paragraph_pause_ms, production.max_pause_ms)
    key = plan_key(memo(episode.path), memo.of(lexicon.source), pauses, episode.path, disclosure)
    known = memo.plan(key)
    if known is not None:
        return key, tuple(Utterance(*fields) for fields in known["utterances"]), tuple(known["warnings"])
    utterances = tuple(plan_utterances(episode, lexicon, *pauses))
    if disclosure:
        utterances += (Utterance(disclosure, prepare(disclosure, lexicon), DISCLOSURE_LINE, 0),)
    warnings = tuple(unreadable_warnings(list(utterances), episode.path))
    memo.remember_plan(key, {"utterances": [dataclasses.astuple(u) for u in utterances], "warnings": warnings})
    return key, utterances, warnings


def episode_sound(entry: SeriesEntry, episode: Episode, designs: dict[str, Any]):
    """The episode's SoundDesign: the series' `sound:` block with the front matter's override
    (`sound: off` for none); None when there is nothing to mix. The series' block is parsed once."""
    series = entry.series
    if series.sound is None and episode.sound is None:
        return None
    from .audio.mix import merge_sound

    if series.slug not in designs:
        designs[series.slug] = merge_sound(None, series.sound, series.config_path, series.folder) \
            if series.sound is not None else None
    return merge_sound(designs[series.slug], episode.sound, episode.path, series.folder,
                       episode.field_lines.get("sound"))


def recording_cleanup(entry: SeriesEntry, episode: Episode, parsed: dict[str, Any]):
    """A recording's CleanupSettings: every step on, then series.yaml's `cleanup:`, then the front
    matter's (which changes only what it names). The series' value is parsed once."""
    from .audio.cleanup import parse_cleanup

    series = entry.series
    if series.slug not in parsed:
        parsed[series.slug] = parse_cleanup(True if series.cleanup is None else series.cleanup, series.config_path,
                                            series.lines.get("cleanup"))
    if episode.cleanup is None:
        return parsed[series.slug]
    return parse_cleanup(episode.cleanup, episode.path, episode.field_lines.get("cleanup"), parsed[series.slug])


def recording_digest(episode: Episode, cleanup: Any, memo: Memo) -> object:
    """What a recording's audio is made from: the file, and how it is cleaned (with the noise
    model's version)."""
    if episode.audio is None:
        return memo.of(None)
    from .engines import package_version

    return [memo.of(episode.audio), cleanup.to_dict(), package_version("pyrnnoise") if cleanup.noise else "-"]


def make_job(project: Project, entry: SeriesEntry, episode: Episode, catalog: Catalog, options: BuildOptions,
             memo: Memo, identities: dict[str, tuple[str, KnownDigests]], encoder: str,
             parsed: dict[str, dict[str, Any]] | None = None, picks: dict[str, int] | None = None) -> EpisodeJob:
    """Resolve one episode: settings layers, voice, sentences, tags and stage fingerprints.
    `parsed` keeps each series' sound design and clean-up settings, parsed once per build; `picks`
    are the takes the producer picked for its sentences (None: it has none)."""

    series = entry.series
    production = episode_production(series, episode, options.overrides)
    name = options.voice or episode.voice or production.voice
    if name not in catalog.voices:
        known = ", ".join(catalog.voices) or "none"
        if options.voice:
            raise ConfigError(f"--voice {name!r} is not a voice profile (profiles in voices/: {known})")
        if episode.voice:
            where: tuple[Path | None, int | None] = (episode.path, episode.field_lines.get("voice"))
        elif "voice" in episode.overrides:
            where = (episode.path, episode.overrides.line_of("voice") or episode.field_lines.get("production"))
        elif "production.voice" in series.lines:
            where = (series.config_path, series.lines["production.voice"])
        else:  # the built-in default voice
            where = (project.voices_dir, None)
        raise ConfigError(f"unknown voice {name!r} (profiles in voices/: {known})", *where)
    voice = catalog.voices[name]
    if name not in identities:
        from .engines import voice_files, voice_identity

        known = memo.known(voice_files(voice))
        identities[name] = voice_identity(voice, known), known
    identity, voice_digests = identities[name]
    disclosure = disclosure_text(series) if is_synthetic(episode) else None
    plan_key, utterances, warnings = planned_utterances(episode, catalog.lexicon, voice, production, memo, disclosure)
    script_sha = memo(episode.path)
    tags = TagValues(
        title=episode.title, album=series.album, artist=series.author, genre=series.genre,
        copyright=series.copyright, track=episode.number, track_total=entry.scripts, date=episode.date,
        summary=episode.summary, narration=episode.narration, language=series.language, cover=series.cover,
        custom={"script_sha256": script_sha, "voice": voice.name, "engine": f"{voice.engine}:{identity}"},
        disclosure=disclosure or "",
    )
    parsed = parsed if parsed is not None else {}
    sound = episode_sound(entry, episode, parsed.setdefault("sound", {}))
    cleanup = recording_cleanup(entry, episode, parsed.setdefault("cleanup", {})) if episode.audio else None
    if picks is not None:  # those of sentences the script still says
        picks = {spoken: take for spoken, take in picks.items() if any(u.spoken == spoken for u in utterances)}
    keys = {
        AUDIO: audio_key(utterances, None if episode.audio is not None else (identity, voice.rate), production,
                         sound, recording_digest(episode, cleanup, memo), encoder, memo.of, picks),
        TAGS: tags_key(tags, memo.of),
        SIDECARS: sidecars_key(utterances, episode.title, episode.narration, series.narrator, disclosure),
    }
    return EpisodeJob(series, episode, production, voice, identity, voice_digests, utterances, tags,
                      project.series_out(series) / f"{episode.stem}.mp3", keys, warnings, sound, plan_key,
                      tuple(sorted(options.overrides.items())), series.slug, disclosure, cleanup,
                      tuple(sorted((picks or {}).items())))


def episode_production(series: Series, episode: Episode, overrides: dict[str, object] | None = None) -> Production:
    """The one resolution of an episode's production settings: defaults < series.yaml < front
    matter < the command line's overrides."""
    return series.production.merged(episode.overrides, episode.path).merged(overrides or {})


def mp3_matches(path: Path, entry: EpisodeResult) -> bool:
    """Whether the MP3 on disk is the one the manifest describes: same size, and same checksum
    unless its modification time is the one recorded with the checksum."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != entry.file_bytes:
        return False
    if entry.file_mtime_ns == stat.st_mtime_ns:
        return True
    return file_sha256(path) == entry.file_sha256


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def decide(job: EpisodeJob, entry: EpisodeResult | None, force: bool) -> Step:
    """The smallest set of stages that makes this episode's outputs match its inputs."""
    def step(stages: tuple[str, ...], reason: str) -> Step:
        return Step(job, stages, reason, entry)

    if force:
        return step((AUDIO,), "--force")
    if entry is None or not entry.has_audio:
        return step((AUDIO,), "not built yet")
    if not job.out_path.is_file():
        return step((AUDIO,), "MP3 missing")
    if not mp3_matches(job.out_path, entry):
        return step((AUDIO,), "MP3 differs from the one built")
    if entry.status == "error":
        return step((AUDIO,), "last build failed")
    audio = changed(entry.keys.get(AUDIO), job.keys[AUDIO])
    if audio:
        return step((AUDIO,), f"changed: {', '.join(audio)}")
    missing_audio = [o.suffix for o in made_by(AUDIO) if not job.out_path.with_suffix(o.suffix).is_file()]
    if missing_audio:
        return step((AUDIO,), f"missing {', '.join(missing_audio)}")
    stages: list[str] = []
    reasons: list[str] = []
    tags = changed(entry.keys.get(TAGS), job.keys[TAGS])
    if tags:
        stages.append(TAGS)
        reasons.append(f"tags changed: {', '.join(tags)}")
    missing = [o.suffix for o in made_by(SIDECARS) if not job.out_path.with_suffix(o.suffix).is_file()]
    captions = changed(entry.keys.get(SIDECARS), job.keys[SIDECARS])
    if missing or captions:
        stages.append(SIDECARS)
        reasons.append(f"missing {', '.join(missing)}" if missing else f"changed: {', '.join(captions)}")
    return step(tuple(stages), "; ".join(reasons) or "up to date")


def _orphans(entry: SeriesEntry, folder: Path, entries: dict[str, EpisodeResult], current: set[str]) -> list[Orphan]:
    """Outputs in a series folder that no script makes any more (a broken script's keep theirs)."""
    broken = {name for error in entry.errors if error.path for name in _names_of_script(error.path)}
    stems = {Path(name).stem for name in entries}
    if folder.is_dir():
        stems |= {p.stem for p in folder.glob("*.mp3")}
    orphans = []
    for stem in sorted(stems - current):
        if not OUTPUT_STEM_RE.match(stem) or stem in broken:
            continue
        files = tuple(p for p in (folder / f"{stem}{o.suffix}" for o in OUTPUTS) if p.exists())
        orphans.append(Orphan(folder, stem, files, entry.series.slug))
    return orphans


def check_cover(series: Series, memo: Memo) -> None:
    """The cover must open as an image (not only look like one): checked once per cover file, the
    verdict remembered by its checksum; a bad one is an error at series.yaml's `cover:` line."""
    if series.cover is None:
        return
    key = f"cover opens:{memo(series.cover)}"
    if memo.checked(key):
        return
    from .cover import series_cover

    try:
        series_cover(series)
    except PipelineError as exc:
        raise ConfigError(f"cover {series.cover}: {exc.message}", series.config_path,
                          series.lines.get("cover")) from None
    memo.remember_checked(key)


def plan_build(project: Project, catalog: Catalog, selection: Selection, options: BuildOptions,
               memo: Memo, store: Store) -> BuildPlan:
    """Jobs for the selected episodes, what each needs, and (for a whole-series build) the orphans."""
    errors = list(selection.errors)
    identities: dict[str, tuple[str, KnownDigests]] = {}
    parsed: dict[str, dict[str, Any]] = {}
    encoder = memo.encoder_version(memo.ffmpeg())
    entries: dict[str, dict[str, EpisodeResult]] = {}
    picks: dict[str, dict[str, dict[str, int]]] = {}
    steps: list[Step] = []
    warnings: list[str] = list(store.problems)
    broken: set[str] = set()
    unplanned: set[str] = set()
    """Stems of scripts that exist but could not be planned: never orphans."""
    for entry, episode in selection.episodes:
        series = entry.series
        if series.slug in broken:
            continue
        if series.slug not in entries:
            try:
                check_cover(series, memo)
                folder = project.series_out(series)
                if folder.exists() and not folder.is_dir():
                    raise ConfigError("is a file, but a folder is needed here; move it away", folder)
            except PipelineError as exc:
                errors.append(exc)
                broken.add(series.slug)
                continue
            entries[series.slug] = store.episodes(series.slug)
            picks[series.slug] = store.picks(series.slug)
        try:
            job = make_job(project, entry, episode, catalog, options, memo, identities, encoder, parsed,
                           picks[series.slug].get(f"{episode.stem}.mp3"))
        except PipelineError as exc:
            unplanned.add(episode.stem)
            if str(exc) not in {str(e) for e in errors}:  # one bad flag or series setting: said once
                errors.append(exc)
            continue
        steps.append(decide(job, entries[series.slug].get(job.file), options.force))
    orphans: list[Orphan] = []
    if selection.whole_series:
        for entry in catalog.series:
            known = entries.get(entry.series.slug)
            if known is None:
                continue
            current = {s.job.stem for s in steps if s.job.series.slug == entry.series.slug} | unplanned
            orphans += _orphans(entry, project.series_out(entry.series), known, current)
    return BuildPlan(steps, orphans, errors, entries, warnings)
