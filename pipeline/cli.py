"""The `episodes` command: parses flags, calls the library, shows progress and results.

Everything the producer sees is printed here and nowhere else. Errors are one plain line naming
the file; `--debug` adds the traceback.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .build import BuildReport, build, check_project, dry_run, used_cache_keys
from .cover import render_cover
from .engines import INSTALL_HINTS, engine_installed, load_engine
from .episode import build_episode
from .errors import PipelineError
from .audio.codec import decode, encode_mp3, write_wav
from .files import replacing
from .gates import Gate
from .jobs import BuildOptions, Job, Project, manifest_entries, plan_jobs, rebuild_reason
from .audio.limiter import level
from .audio.loudness import measure as measure_audio
from .manifest import EpisodeResult
from .settings import Production, load_series
from .text import prepare

app = typer.Typer(help="Turn episode scripts into finished, measured MP3s.", no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)
PLAYERS = (["ffplay", "-nodisp", "-autoexit", "-loglevel", "error"], ["mpv", "--no-video"], ["afplay"], ["cvlc", "--play-and-exit"])


@dataclasses.dataclass
class State:
    project: Project = dataclasses.field(default_factory=lambda: Project(Path.cwd()))
    debug: bool = False


state = State()


@app.callback()
def main(
    project: Path = typer.Option(Path("."), "--project", "-C", help="Project folder holding scripts/, voices/ and out/."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks with errors."),
) -> None:
    state.project = Project(project.resolve())
    state.debug = debug


def fail(exc: BaseException, code: int = 2) -> typer.Exit:
    """Print an error as one plain line (traceback with --debug) and return the exit to raise."""
    if state.debug:
        errors.print(traceback.format_exception(exc), markup=False)
    message = str(exc) if isinstance(exc, PipelineError) else f"unexpected error: {exc!r} (rerun with --debug)"
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def _overrides(target_lufs: float | None, ceiling_dbtp: float | None, duration_s: float | None,
               bitrate_kbps: int | None, channels: int | None) -> dict[str, object]:
    given = {"target_lufs": target_lufs, "ceiling_dbtp": ceiling_dbtp, "target_duration_s": duration_s,
             "bitrate_kbps": bitrate_kbps, "channels": channels}
    return {k: v for k, v in given.items() if v is not None}


TARGET_LUFS = typer.Option(None, "--target-lufs", help="Loudness target (default -16, or the series' setting).")
CEILING = typer.Option(None, "--ceiling-dbtp", help="True-peak ceiling (default -1.0).")
DURATION = typer.Option(None, "--duration", help="Target duration in seconds (default 90).")
BITRATE = typer.Option(None, "--bitrate", help="MP3 bitrate in kbps (default 128).")
CHANNELS = typer.Option(None, "--channels", help="1 for mono, 2 for stereo (default 1).")
VOICE = typer.Option(None, "--voice", help="Voice profile for every episode (overrides series and scripts).")


def _summary_line(result: EpisodeResult) -> str:
    """One episode's outcome: status and measured figures, or the error."""
    if result.status == "error":
        return f"[red]failed[/]  {escape(result.error or '')}"
    figures = f"{result.duration_s:.1f} s  {result.integrated_lufs:.1f} LUFS  {result.true_peak_dbtp:.1f} dBTP"
    rate = f"  rate {result.rate_factor:.2f}" if result.rate_factor not in (None, 1.0) else ""
    warn = "".join(f"\n    [yellow]warning:[/] {escape(w)}" for w in result.warnings)
    label = "[green]built[/]" if result.status == "built" else "[dim]up to date[/]"
    return f"{label}  {figures}{rate}{warn}"


def _print_failures(report: BuildReport) -> None:
    failures = [str(e) for e in report.errors] + [r.error for r in report.results if r.status == "error"]
    if not failures:
        return
    errors.print(f"\n[bold red]{len(failures)} failed:[/]")
    for message in failures:
        errors.print(f"  - {message}", markup=False, highlight=False, soft_wrap=True)


@app.command("build")
def build_command(
    targets: list[str] = typer.Argument(None, help="Episodes by slug, number or script path; none = all."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if nothing changed."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say which episodes would be rebuilt, and why."),
    jobs: int = typer.Option(os.cpu_count() or 1, "--jobs", "-j", min=1, help="Episodes built at once (default: all cores)."),
    strict: bool = typer.Option(False, "--strict", help="Fail an episode that cannot be fitted to its duration window."),
    base_url: str | None = typer.Option(None, "--base-url", help="Public URL of out/<series>/, for the feed."),
    voice: str | None = VOICE,
    target_lufs: float | None = TARGET_LUFS,
    ceiling_dbtp: float | None = CEILING,
    duration: float | None = DURATION,
    bitrate: int | None = BITRATE,
    channels: int | None = CHANNELS,
) -> None:
    """Build episodes into out/<series>/: MP3s, captions, transcripts, manifest, review page and feed.

    Unchanged episodes are skipped.
    """
    options = BuildOptions(force=force, strict=strict, voice=voice, jobs=jobs, base_url=base_url,
                           overrides=_overrides(target_lufs, ceiling_dbtp, duration, bitrate, channels))
    if dry_run:
        raise typer.Exit(_dry_run(options, targets or []))
    overall = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console)
    episodes_now = Progress(TextColumn("  {task.description}"), TimeElapsedColumn(), console=console)
    active: dict[str, TaskID] = {}
    total = overall.add_task("planning", total=None)

    def on_plan(todo: list[Job]) -> None:
        overall.update(total, total=len(todo), description=f"building {len(todo)} episodes")

    def on_stage(stem: str, message: str) -> None:
        if stem not in active:
            active[stem] = episodes_now.add_task(stem, total=None)
        episodes_now.update(active[stem], description=f"{stem}: {message}")

    def on_finished(job: Job, result: EpisodeResult) -> None:
        overall.advance(total)
        if job.episode.stem in active:
            episodes_now.remove_task(active.pop(job.episode.stem))
        if not console.is_terminal:
            errors.print(f"finished {job.series.slug}/{result.file}: {result.status}", highlight=False)

    try:
        with Live(Group(overall, episodes_now), console=console, transient=True):
            report = build(state.project, targets or [], options, on_stage, on_finished, on_plan)
    except PipelineError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        errors.print("[yellow]interrupted:[/] finished episodes are saved; run the same command to resume.")
        raise typer.Exit(130) from None
    for job, result in zip(report.jobs, report.results):
        console.print(f"{escape(job.series.slug)}/{escape(result.file)}  {_summary_line(result)}", highlight=False,
                      soft_wrap=True)
    _print_failures(report)
    _print_gates(report.failed_gates)
    built = sum(r.status == "built" for r in report.results)
    fresh = sum(r.status == "up-to-date" for r in report.results)
    console.print(f"\n{built} built, {fresh} up to date, "
                  f"{sum(r.status == 'error' for r in report.results) + len(report.errors)} failed.")
    if not report.results and not report.errors:
        errors.print("nothing to build: no episode scripts found under scripts/<series>/")
    raise typer.Exit(1 if report.failed or report.failed_gates or not (report.results or report.errors) else 0)


def _print_gates(failed: list[Gate]) -> None:
    """A table of failed quality gates, if any."""
    if not failed:
        return
    table = Table("file", "gate", "measured", title=f"{len(failed)} quality gate{'s' if len(failed) > 1 else ''} failed")
    for gate in failed:
        table.add_row(escape(gate.file), gate.name, escape(gate.detail))
    errors.print(table)


@app.command()
def check() -> None:
    """Run the quality gates on what is in out/: loudness, peak, duration, clipping, silence, tags."""
    try:
        with console.status("checking") as status:
            gates = check_project(state.project, lambda name: status.update(f"checking {name}"))
    except PipelineError as exc:
        raise fail(exc) from None
    failed = [g for g in gates if not g.passed]
    _print_gates(failed)
    console.print(f"{len(gates)} checks, {len(failed)} failed.")
    raise typer.Exit(1 if failed else 0)


def _dry_run(options: BuildOptions, targets: list[str]) -> int:
    try:
        plan, problems = dry_run(state.project, targets, options)
    except PipelineError as exc:
        raise fail(exc) from None
    table = Table("episode", "would", "why")
    for job, reason in plan:
        table.add_row(f"{job.series.slug}/{job.episode.stem}", "[yellow]rebuild[/]" if reason else "[dim]skip[/]",
                      reason or "up to date")
    console.print(table)
    for problem in problems:
        errors.print(f"[red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    console.print(f"{sum(1 for _, r in plan if r)} of {len(plan)} episodes would be rebuilt.")
    return 1 if problems else 0


def _single_job(target: str, options: BuildOptions) -> Job:
    jobs, problems = plan_jobs(state.project, [target], options)
    if problems:
        raise problems[0]
    if len(jobs) > 1:
        raise PipelineError(f"{target!r} matches {len(jobs)} episodes; give the series' script path")
    return jobs[0]


def _player(path: Path) -> list[str] | None:
    for command in PLAYERS:
        if shutil.which(command[0]):
            return [*command, str(path)]
    return None


def _play(path: Path) -> None:
    command = _player(path)
    if command is None:
        errors.print(f"[yellow]warning:[/] no audio player found (tried {', '.join(c[0] for c in PLAYERS)}); "
                     f"open {path} yourself")
        return
    subprocess.run(command, check=False)


@app.command()
def preview(
    target: str = typer.Argument(..., help="One episode: slug, number or script path."),
    play: bool = typer.Option(False, "--play", help="Play it when done, if a player is installed."),
    voice: str | None = VOICE,
    target_lufs: float | None = TARGET_LUFS,
    duration: float | None = DURATION,
) -> None:
    """Build one episode to out/<series>/preview/ (not the release file) and print its figures."""
    options = BuildOptions(voice=voice, overrides=_overrides(target_lufs, None, duration, None, None))
    try:
        job = _single_job(target, options)
        path = job.out_path.parent / "preview" / job.out_path.name
        with console.status(f"{job.episode.stem}: starting") as status:
            result = build_episode(job, lambda m: status.update(f"{job.episode.stem}: {m}"), state.project.cache,
                                   out_path=path)
    except PipelineError as exc:
        raise fail(exc, 1) from None
    table = Table(show_header=False, box=None)
    for key, value in (("file", path), ("duration", f"{result.duration_s:.2f} s (window "
                       f"{job.production.window_s[0]:g}-{job.production.window_s[1]:g} s)"),
                       ("loudness", f"{result.integrated_lufs:.2f} LUFS ({result.integrated_single_channel_lufs:.2f} single-channel)"),
                       ("true peak", f"{result.true_peak_dbtp:.2f} dBTP"), ("LRA", f"{result.lra_lu:.1f} LU"),
                       ("words", f"{result.word_count} ({result.words_per_minute:.0f} per minute)"),
                       ("rate factor", f"{result.rate_factor:.3f}"), ("voice", f"{result.voice} ({result.engine})")):
        table.add_row(f"[bold]{key}[/]", str(value))
    console.print(table)
    for warning in result.warnings:
        errors.print(f"[yellow]warning:[/] {escape(warning)}")
    if play:
        _play(path)


@app.command("list")
def list_command() -> None:
    """Show every episode with its status (built / stale / missing) and measured figures."""
    try:
        jobs, problems = plan_jobs(state.project, [], BuildOptions())
    except PipelineError as exc:
        raise fail(exc) from None
    table = Table("series", "episode", "title", "status", "duration", "LUFS", "dBTP")
    for job, entry in zip(jobs, manifest_entries(jobs)):
        reason = rebuild_reason(job, entry)
        if not job.out_path.exists():
            status = "[red]missing[/]"
        elif reason is None:
            status = "[green]built[/]"
        else:
            status = f"[yellow]stale[/] ({reason})"
        figures = ("-", "-", "-") if entry is None or entry.duration_s is None else (
            f"{int(entry.duration_s // 60)}:{round(entry.duration_s % 60):02d}", f"{entry.integrated_lufs:.1f}",
            f"{entry.true_peak_dbtp:.1f}")
        table.add_row(job.series.slug, job.episode.stem, escape(job.episode.title), status, *figures)
    console.print(table)
    for problem in problems:
        errors.print(f"[red]error:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    raise typer.Exit(1 if problems else 0)


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="Audio files (anything ffmpeg reads)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Loudness report of audio files: integrated (I), LRA, true peak, max short-term, duration."""
    reports = []
    failed = False
    for path in files:
        try:
            reports.append({"file": str(path), **dataclasses.asdict(measure_audio(*decode(path)))})
        except PipelineError as exc:
            failed = True
            fail(exc)
    if as_json:
        console.print_json(json.dumps(reports))
    else:
        table = Table("file", "I (LUFS)", "I single-ch", "LRA (LU)", "TP (dBTP)", "max S (LUFS)", "duration (s)")
        for r in reports:
            table.add_row(r["file"], f"{r['integrated_lufs']:.2f}", f"{r['integrated_single_channel_lufs']:.2f}",
                          f"{r['lra_lu']:.1f}", f"{r['true_peak_dbtp']:.2f}", f"{r['max_short_term_lufs']:.2f}",
                          f"{r['duration_s']:.2f}")
        console.print(table)
        console.print("[dim]Mono files are read as dual mono (I); 'single-ch' is the plain one-channel reading.[/]")
    raise typer.Exit(1 if failed else 0)


@app.command()
def cover(
    series: str = typer.Argument(..., help="Series folder name under scripts/."),
) -> None:
    """Draw the series cover from its title and topic, into the file series.yaml names (or cover.png)."""
    try:
        folder = state.project.scripts_dir / series
        info = load_series(folder, require_cover=False)
        path = info.cover or folder / "cover.png"
        with replacing(path) as temporary:
            temporary.write_bytes(render_cover(info))
    except PipelineError as exc:
        raise fail(exc) from None
    console.print(f"wrote {path} ({path.stat().st_size // 1000} KB)")


@app.command()
def cache(prune: bool = typer.Option(False, "--prune", help="Delete entries no built episode uses.")) -> None:
    """Show the sentence cache's size; --prune removes entries no built episode uses."""
    try:
        store = state.project.cache
        used = used_cache_keys(state.project)
    except PipelineError as exc:
        raise fail(exc) from None
    stats = store.stats()
    in_use = len(store.keys() & used)
    console.print(f"{store.folder}: {stats.entries} entries, {stats.bytes / 1e6:.1f} MB; "
                  f"{in_use} used by built episodes, {stats.entries - in_use} unused")
    if prune:
        removed = store.prune(used)
        console.print(f"pruned {removed.entries} entries ({removed.bytes / 1e6:.1f} MB)")


@app.command()
def voices() -> None:
    """List voice profiles and whether their engine is installed."""
    try:
        profiles = state.project.voices()
    except PipelineError as exc:
        raise fail(exc) from None
    table = Table("voice", "engine", "model", "installed")
    for profile in profiles.values():
        ok = engine_installed(profile.engine)
        table.add_row(profile.name, profile.engine, profile.model,
                      "[green]yes[/]" if ok else f"[red]no[/] - {escape(INSTALL_HINTS[profile.engine])}")
    console.print(table)


@app.command()
def say(
    text: str = typer.Argument(..., help="A phrase to audition, with the lexicon applied."),
    voice: str | None = typer.Option(None, "--voice", help="Voice profile (default: the default voice)."),
    out: Path | None = typer.Option(None, "--out", help="Write the audio here (.mp3 or .wav)."),
    play: bool = typer.Option(False, "--play", help="Play it, if a player is installed."),
) -> None:
    """Audition a phrase: shows what the voice will read (and its phonemes), and speaks it."""
    try:
        profiles = state.project.voices()
        name = voice or Production().voice
        if name not in profiles:
            raise PipelineError(f"unknown voice {name!r} (profiles: {', '.join(profiles) or 'none'})")
        spoken = prepare(text, state.project.lexicon())
        engine = load_engine(profiles[name])
        console.print(f"[bold]reads:[/] {escape(spoken)}", highlight=False)
        phonemes = getattr(engine, "phonemes", None)
        if phonemes:
            console.print(f"[bold]phonemes:[/] {escape(phonemes(spoken))}", highlight=False)
        if out or play:
            audio = engine.synthesize(spoken, profiles[name].rate)
            production = Production()
            if len(audio) >= 0.4 * engine.sample_rate:
                audio = level(audio, engine.sample_rate, production.target_lufs, production.ceiling_dbtp)
            path = out or state.project.out_dir / "say.mp3"
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.suffix.lower() == ".wav":
                write_wav(audio, engine.sample_rate, path)
            else:
                encode_mp3(audio, engine.sample_rate, path, production.bitrate_kbps)
            console.print(f"wrote {path}")
            if play:
                _play(path)
    except PipelineError as exc:
        raise fail(exc) from None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
