"""The `episodes` command: parses flags, calls one command of the application layer
(pipeline.commands), and draws its events and report.

Everything the producer sees is printed here (and in progress.py) and nowhere else, and `Boundary`
is the one exception boundary: any error is one plain line naming the file (and line, where
known), with the exit code the README documents; `--debug` prints the real traceback. Heavy
libraries are imported inside the commands that need them, so a no-op build starts fast.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table
from typer.core import TyperGroup

from .durations import clock
from .errors import PipelineError, describe
from .plan import BuildOptions
from .project import Project

if TYPE_CHECKING:
    from .commands.build import BuildReport
    from .gates import Gate
    from .manifest import EpisodeResult

console = Console()
errors = Console(stderr=True)
PLAYERS = (["ffplay", "-nodisp", "-autoexit", "-loglevel", "error"], ["mpv", "--no-video"], ["afplay"],
           ["cvlc", "--play-and-exit"])
WIDE_LIST = 110
"""Terminal columns from which `episodes list` shows titles (narrower: names and figures only)."""
EXIT_FAILED, EXIT_FATAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 1, 2, 130, 143
"""Exit codes: 130 after Ctrl-C (SIGINT), 143 after SIGTERM, as shells report a process those end."""


def _say_error(message: str) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


class Boundary(TyperGroup):
    """The one exception boundary: every error a command raises becomes one plain line and an exit
    code (2 for a fatal set-up problem, 130 for Ctrl-C, 143 for SIGTERM)."""

    def invoke(self, ctx: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminate)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own: exits, and usage errors it prints with the command's help
        except KeyboardInterrupt:
            errors.print("[yellow]interrupted:[/] finished episodes are saved; run the same command to resume.")
            raise typer.Exit(_interrupt_code()) from None
        except Exception as exc:
            if state.debug:
                errors.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
            _say_error(describe(exc))
            raise typer.Exit(EXIT_FATAL) from None


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM stops a command like Ctrl-C (everything finished is kept), with its own exit code."""
    state.terminated = True
    raise KeyboardInterrupt


def _interrupt_code() -> int:
    return EXIT_TERMINATED if state.terminated else EXIT_INTERRUPTED


app = typer.Typer(help="Turn episode scripts into finished, measured MP3s.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, cls=Boundary)


@dataclasses.dataclass
class State:
    project: Project = dataclasses.field(default_factory=lambda: Project(Path.cwd()))
    debug: bool = False
    terminated: bool = False
    """SIGTERM arrived (exit 143 rather than Ctrl-C's 130)."""


state = State()


@app.callback()
def callback(
    project: Path = typer.Option(Path("."), "--project", "-C",
                                 help="Project folder holding scripts/, voices/ and out/."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks with errors."),
) -> None:
    state.project = Project(project.resolve())
    state.debug = debug


def _overrides(target_lufs: float | None, ceiling_dbtp: float | None, duration_s: float | None,
               bitrate_kbps: int | None, channels: int | None) -> dict[str, object]:
    given = {"target_lufs": target_lufs, "ceiling_dbtp": ceiling_dbtp, "target_duration_s": duration_s,
             "bitrate_kbps": bitrate_kbps, "channels": channels}
    return {k: v for k, v in given.items() if v is not None}


def _executor(executor: str | None, ray_address: str | None) -> str:
    """--executor, where --ray-address implies ray (and contradicts local)."""
    if executor is None:
        return "ray" if ray_address else "local"
    if executor not in ("local", "ray"):
        raise PipelineError(f"--executor must be local or ray, not {executor!r}")
    if ray_address and executor != "ray":
        raise PipelineError("--ray-address names a Ray cluster, but --executor is local: drop one of them")
    return executor


TARGET_LUFS = typer.Option(None, "--target-lufs", help="Loudness target (default -16, or the series' setting).")
CEILING = typer.Option(None, "--ceiling-dbtp", help="True-peak ceiling (default -1.0).")
DURATION = typer.Option(None, "--duration", help="Target duration in seconds (default 90).")
BITRATE = typer.Option(None, "--bitrate", help="MP3 bitrate in kbps (default 128).")
CHANNELS = typer.Option(None, "--channels", help="1 for mono, 2 for stereo (default 1).")
VOICE = typer.Option(None, "--voice", help="Voice profile for every episode (overrides series and scripts).")
ASR_MODEL = typer.Option(None, "--asr-model", help="faster-whisper model name (already downloaded) or folder; "
                                                   "default: the bundled tiny.en.")
JOBS = typer.Option(None, "--jobs", "-j", min=1,
                    help="Worker processes (default: the cores, as memory allows; 1 = this process).")
EXECUTOR = typer.Option(None, "--executor", help="local (this machine, the default) or ray (a Ray cluster).")
EPISODES = typer.Argument(None, help="Episodes (SERIES/NN-slug, slug, number or path); none = all.")
RAY_ADDRESS = typer.Option(None, "--ray-address", help="Ray cluster to join, e.g. auto or HOST:6379 (implies ray).")


def _summary_line(result: EpisodeResult) -> str:
    """One episode's outcome: status and measured figures, or the error."""
    if result.status == "error":
        return f"[red]failed[/]  {escape(result.error or '')}"
    figures = f"{result.duration_s:.1f} s  {result.integrated_lufs:.1f} LUFS  {result.true_peak_dbtp:.1f} dBTP"
    fitted = result.fit or {}
    changes = [f"rate {result.rate_factor:.2f}" if result.rate_factor not in (None, 1.0) else "",
               f"pauses x{fitted['pause_scale']:.2f}" if fitted.get("pause_scale") not in (None, 1.0) else "",
               f"tempo {fitted['tempo']:.3f}" if fitted.get("tempo") not in (None, 1.0) else ""]
    extra = "".join(f"  {c}" for c in changes if c)
    if result.word_error is not None and result.status == "built":
        extra += f"  WER {result.word_error:.2f}"
    shown = result.warnings if result.status == "built" else []
    warn = "".join(f"\n    [yellow]warning:[/] {escape(w)}" for w in shown)
    labels = {"built": "[green]built[/]", "retagged": "[cyan]re-tagged[/]", "captioned": "[cyan]re-captioned[/]"}
    return f"{labels.get(result.status, '[dim]up to date[/]')}  {figures}{extra}{warn}"


def _print_failures(report: BuildReport) -> None:
    failures = [str(e) for e in report.errors] + [r.error or "" for r in report.results if r.status == "error"]
    if not failures:
        return
    if state.debug:
        for label, detail in report.tracebacks.items():
            errors.print(f"\n{label}, in a worker:\n{detail}", markup=False, highlight=False)
    errors.print(f"\n[bold red]{len(failures)} failed:[/]")
    for message in failures:
        errors.print(f"  - {message}", markup=False, highlight=False, soft_wrap=True)


def _print_gates(failed: list[Gate]) -> None:
    """A table of failed quality gates, if any."""
    if not failed:
        return
    title = f"{len(failed)} quality gate{'s' if len(failed) > 1 else ''} failed"
    table = Table("file", "gate", "measured", title=title)
    for gate in failed:
        table.add_row(escape(gate.file), gate.name, escape(gate.detail))
    errors.print(table)


def _print_flagged(flagged: list[dict[str, Any]]) -> None:
    if not flagged:
        return
    table = Table(Column("where", overflow="fold"), "expected", "heard", "word error",
                  title=f"{len(flagged)} sentences not heard as written")
    for item in flagged:
        table.add_row(escape(f"{item['file']}:{item['line']}"), escape(item["expected"]), escape(item["heard"]),
                      f"{item['word_error']:.2f}")
    errors.print(table)


def _warn(messages: list[str]) -> None:
    for message in messages:
        errors.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


@app.command("build")
def build_command(
    targets: list[str] | None = typer.Argument(None, help="Episodes by slug, number or script path; none = all."),
    force: bool = typer.Option(False, "--force", help="Rebuild even if nothing changed."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only say what would be done for each episode, and why."),
    jobs: int | None = JOBS,
    executor: str | None = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
    strict: bool = typer.Option(False, "--strict",
                                help="Fail an episode that cannot be fitted to its duration window."),
    asr: bool = typer.Option(False, "--asr",
                             help="Check every sentence with speech recognition; retake misheard ones."),
    asr_model: str | None = ASR_MODEL,
    base_url: str | None = typer.Option(None, "--base-url", help="Public URL of out/<series>/, for the feed."),
    voice: str | None = VOICE,
    target_lufs: float | None = TARGET_LUFS,
    ceiling_dbtp: float | None = CEILING,
    duration: float | None = DURATION,
    bitrate: int | None = BITRATE,
    channels: int | None = CHANNELS,
) -> None:
    """Build episodes into out/<series>/: MP3s, captions, transcripts, manifest, review page and feed.

    Only what changed is redone: unchanged episodes are skipped, metadata edits re-tag in place.
    """
    kind = _executor(executor, ray_address)
    if base_url is not None:
        from .urls import check_base_url

        base_url = check_base_url(base_url, "--base-url")
    options = BuildOptions(force=force, strict=strict, voice=voice, jobs=jobs, base_url=base_url, executor=kind,
                           ray_address=ray_address, asr=asr, asr_model=asr_model,
                           overrides=_overrides(target_lufs, ceiling_dbtp, duration, bitrate, channels))
    if dry_run:
        raise typer.Exit(_dry_run(options, targets or []))
    from .commands.build import build
    from .progress import EventProgress

    with EventProgress(console, errors) as progress:
        report = build(state.project, targets or [], options, progress.emit)
    _report_build(report)


def _report_build(report: BuildReport) -> None:
    _warn(report.warnings)
    for step, result in zip(report.steps, report.results):
        console.print(f"{escape(step.job.label)}  {_summary_line(result)}", highlight=False, soft_wrap=True)
    for orphan in report.orphans_removed:
        console.print(f"removed {escape(orphan.folder.name)}/{escape(orphan.stem)}.* (its script is gone or renamed)")
    for orphan in report.orphans_kept:
        errors.print(f"[yellow]kept[/] {escape(orphan.folder.name)}/{escape(orphan.stem)}.*: its script is gone or "
                     "renamed; a clean build of the whole series removes it", highlight=False)
    _print_failures(report)
    _print_gates(report.failed_gates)
    _print_flagged(report.flagged)
    counts = {status: sum(r.status == status for r in report.results)
              for status in ("built", "retagged", "captioned", "up-to-date", "error")}
    failed = counts["error"] + len(report.errors)
    line = (f"\n{counts['built']} built, {counts['retagged'] + counts['captioned']} updated in place, "
            f"{counts['up-to-date']} up to date, {failed} failed.")
    if report.executor:
        line += f" Audio work: {report.executor}."
    if report.retried:
        line += f" {report.retried} task{'s' if report.retried > 1 else ''} retried after a worker died."
    console.print(line)
    if report.interrupted:
        errors.print("[yellow]interrupted:[/] finished episodes are saved and published; "
                     "run the same command to resume.")
        raise typer.Exit(_interrupt_code())
    if not report.results and not report.errors:
        errors.print("nothing to build: no episode scripts found under scripts/<series>/")
    raise typer.Exit(EXIT_FAILED if report.failed or report.failed_gates or report.flagged
                     or not (report.results or report.errors) else 0)


def _dry_run(options: BuildOptions, targets: list[str]) -> int:
    from .commands.build import dry_run

    plan = dry_run(state.project, targets, options)
    estimates = _estimates()
    table = Table(Column("episode", no_wrap=True), Column("would", no_wrap=True),
                  Column("words", justify="right", no_wrap=True), Column("est.", justify="right", no_wrap=True),
                  Column("why", overflow="fold"), box=None,
                  padding=(0, 1), collapse_padding=True, pad_edge=False, header_style="bold")
    for step in plan.steps:
        action = {(): "[dim]skip[/]", ("tags",): "[cyan]re-tag[/]", ("sidecars",): "[cyan]re-caption[/]",
                  ("tags", "sidecars"): "[cyan]re-tag, re-caption[/]"}.get(step.stages, "[yellow]rebuild[/]")
        estimate = estimates.get(step.job.label)
        table.add_row(escape(step.job.label), action, str(estimate.words) if estimate else "-",
                      "~" + clock(estimate.fitted_s) if estimate else "-", escape(step.reason))
    for orphan in plan.orphans:
        table.add_row(escape(f"{orphan.folder.name}/{orphan.stem}"), "[red]remove[/]", "", "",
                      "its script is gone or renamed")
    console.print(table)
    _warn(plan.warnings)
    for problem in plan.errors:
        _say_error(str(problem))
    console.print(f"{sum(1 for s in plan.steps if s.stages)} of {len(plan.steps)} episodes would change"
                  + (f", {len(plan.orphans)} orphan{'s' if len(plan.orphans) > 1 else ''} removed." if plan.orphans
                     else "."))
    return EXIT_FAILED if plan.errors else 0


def _estimates() -> dict[str, Any]:
    """Each episode's estimate by its label (for list and --dry-run)."""
    from .commands.estimate import estimate

    return {row.label: row for row in estimate(state.project, []).rows}


@app.command("estimate")
def estimate_command(
    targets: list[str] | None = EPISODES,
    voice: str | None = VOICE,
    duration: float | None = DURATION,
) -> None:
    """How long each episode will be before any audio is made: as written, and once the duration fit
    has moved its pauses (and, far off, its pace); and how many words to add or cut to land on its
    target (from the voice's pace measured on this project's built episodes)."""
    from .commands.estimate import estimate

    options = BuildOptions(voice=voice, overrides=_overrides(None, None, duration, None, None))
    report = estimate(state.project, targets or [], options)
    table = Table(Column("episode", no_wrap=True), Column("words", justify="right"), Column("written", justify="right"),
                  Column("built", justify="right"), Column("target", justify="right"), Column("change", no_wrap=True),
                  box=None, padding=(0, 1), collapse_padding=True, pad_edge=False, header_style="bold")
    for row in report.rows:
        advice = row.advice if row.in_window else f"[yellow]{row.advice}[/]"
        table.add_row(escape(row.label), str(row.words), clock(row.predicted_s), "~" + clock(row.fitted_s),
                      clock(row.target_s), advice)
    console.print(table)
    for seconds, count in report.pace.values():
        console.print(f"[dim]pace measured on {count} built episode{'s' if count != 1 else ''}: "
                      f"{60 / seconds:.0f} words a minute[/]")
    if any(not row.measured for row in report.rows):
        console.print("[dim]episodes whose voice has no built episode yet use the profile's `words_per_minute` "
                      "(or 170); the estimate sharpens after the first build.[/]")
    for problem in report.errors:
        _say_error(str(problem))
    raise typer.Exit(EXIT_FAILED if report.errors else 0)


@app.command("lint")
def lint_command(
    targets: list[str] | None = EPISODES,
) -> None:
    """Before building: every token the voice would read in a way a listener could not follow
    (formulas, symbols, unknown acronyms, letters it cannot read), with its line and its reading."""
    from .commands.lint import lint

    report = lint(state.project, targets or [])
    for finding in report.findings:
        console.print(escape(str(finding)), highlight=False, soft_wrap=True)
    for problem in report.errors:
        _say_error(str(problem))
    console.print(f"{report.episodes} episode{'s' if report.episodes != 1 else ''} read, "
                  f"{len(report.findings)} stumble{'s' if len(report.findings) != 1 else ''}.")
    raise typer.Exit(EXIT_FAILED if report.findings or report.errors else 0)


new_app = typer.Typer(help="Start a series or an episode from a template.", no_args_is_help=True)
app.add_typer(new_app, name="new")


@new_app.command("series")
def new_series_command(
    slug: str = typer.Argument(..., help="The series' folder name under scripts/ (lower-case, digits, hyphens)."),
    title: str = typer.Option(..., "--title", help="The series' name, e.g. \"GenAI Explained\"."),
    topic: str = typer.Option(..., "--topic", help="What this series is about, e.g. \"Retrieval\"."),
    author: str | None = typer.Option(None, "--author", help="Artist and album-artist tags (default: the title)."),
) -> None:
    """Start a series: scripts/SLUG/ with a commented series.yaml and a cover drawn from its title."""
    from .commands.new import new_series

    created = new_series(state.project, slug, title, topic, author)
    for path in created.files:
        console.print(f"wrote {escape(str(path))}")
    console.print(f"next: episodes new episode {created.label} \"The first episode's title\"")


@new_app.command("episode")
def new_episode_command(
    series: str = typer.Argument(..., help="The series' folder name under scripts/."),
    title: str = typer.Argument(..., help="The episode's title."),
) -> None:
    """Start the series' next episode: a numbered script with its front matter and a word budget."""
    from .commands.new import new_episode

    created = new_episode(state.project, series, title)
    console.print(f"wrote {escape(str(created.files[0]))}")
    console.print(f"next: write it, then `episodes estimate {created.label}` and `episodes preview {created.label}`")


@app.command()
def publish(
    base_url: str | None = typer.Option(None, "--base-url",
                                           help="Public root URL of the site (default: each series' base_url)."),
    to: Path | None = typer.Option(None, "--to", help="Folder to write the site into (default out/site)."),
    approved_only: bool = typer.Option(False, "--approved-only",
                                       help="Only episodes approved as they sound now (episodes approve, the studio)."),
) -> None:
    """Write the public site: an All Topics page, a topic page per series, the episodes and feeds,
    with absolute URLs, ready to upload as it is."""
    from .publish_site import publish_project

    report = publish_project(state.project, base_url, to, approved_only)
    console.print(f"wrote {report.folder}: {len(report.pages)} topic page{'s' if len(report.pages) != 1 else ''}, "
                  f"{report.episodes} episodes ({report.written} files written, {report.unchanged} unchanged, "
                  f"{report.removed} removed)")
    for path in report.kept:
        errors.print(f"[yellow]kept[/] {escape(str(path))}: an earlier publish wrote it, but it has changed since; "
                     "delete it yourself if it should go", highlight=False)
    console.print(f"open {report.index}")


@app.command()
def check(
    as_json: bool = typer.Option(False, "--json", help="Print the failed checks (and flagged sentences) as JSON."),
    asr: bool = typer.Option(False, "--asr", help="Also transcribe every episode and flag sentences not said."),
    asr_model: str | None = ASR_MODEL,
    jobs: int | None = JOBS,
    executor: str | None = EXECUTOR,
    ray_address: str | None = RAY_ADDRESS,
) -> None:
    """Run the quality gates on what is in out/: loudness, peak, duration, clipping, silence, tags, feed;
    with --asr, what the voice said."""
    from .commands.check import CheckOptions
    from .commands.check import check as check_project

    options = CheckOptions(asr=asr, asr_model=asr_model, jobs=jobs, executor=_executor(executor, ray_address),
                           ray_address=ray_address)
    with console.status("checking") as status:
        report = check_project(state.project, options, lambda event: status.update(_status_line(event)))
    flagged = report.flagged
    heard: dict[str, Any] = {}
    if report.speech is not None:
        from .qa.score import summarise

        heard = {**summarise([c for _, checks in report.speech for c in checks]), "flagged": flagged}
    failed = report.failed
    if as_json:
        document: dict[str, Any] = {"checks": len(report.gates), "failed": [dataclasses.asdict(g) for g in failed],
                                    "warnings": report.warnings, "notes": report.notes}
        if report.speech is not None:
            document["speech"] = heard
        print(json.dumps(document, indent=1))
    else:
        for note in report.notes:
            console.print(f"[cyan]note:[/] {escape(note)}", highlight=False, soft_wrap=True)
        _warn(report.warnings)
        _print_gates(failed)
        if report.speech is not None:
            _print_flagged(flagged)
            console.print(f"speech: {heard['sentences']} sentences heard, {len(flagged)} flagged; word error median "
                          f"{heard['median_word_error']}, worst {heard['worst_word_error']}")
        console.print(f"{len(report.gates)} checks, {len(failed)} failed.")
    raise typer.Exit(EXIT_FAILED if failed or flagged else 0)


def _status_line(event: Any) -> str:
    from .events import Progress

    return f"{event.message} {event.label}" if isinstance(event, Progress) else "checking"


@app.command()
def lexicon(
    audit: bool = typer.Option(False, "--audit", help="Speak each entry and check it is recognised (needs .\\[qa])."),
    voice: str | None = typer.Option(None, "--voice", help="Voice profile (default: the default voice)."),
    asr_model: str | None = ASR_MODEL,
) -> None:
    """The pronunciation lexicon; --audit speaks each entry in a sentence and lists those not recognised."""
    from .commands.audition import audit_lexicon, lexicon_of, voice_named

    if not audit:
        for entry in lexicon_of(state.project).entries:
            console.print(f"{escape(entry.word)} -> {escape(entry.say)}", highlight=False)
        return
    profile = voice_named(state.project, voice)
    with console.status("auditing the lexicon"):
        results = audit_lexicon(state.project, profile, asr_model)
    table = Table("word", "said as", "heard", "recognised")
    for result in results:
        table.add_row(escape(result.word), escape(result.say), escape(result.heard),
                      "[green]yes[/]" if result.recognised else "[red]no[/]")
    console.print(table)
    missed = sum(not r.recognised for r in results)
    console.print(f"{len(results)} entries, {missed} not recognised.")
    raise typer.Exit(EXIT_FAILED if missed else 0)


def _play(path: Path) -> None:
    """Play a file with the first player found; wait for it, and say what it complained of."""
    command = next(([*c, str(path)] for c in PLAYERS if shutil.which(c[0])), None)
    if command is None:
        errors.print(f"[yellow]warning:[/] no audio player found (tried {', '.join(c[0] for c in PLAYERS)}); "
                     f"open {path} yourself")
        return
    done = subprocess.run(command, check=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        errors.print(f"[yellow]warning:[/] {command[0]} could not play {path}: {escape(detail[0])}")


@app.command()
def preview(
    target: str = typer.Argument(..., help="One episode: SERIES/NN-slug, slug, number or script path."),
    play: bool = typer.Option(False, "--play", help="Play it when done, if a player is installed."),
    voice: str | None = VOICE,
    target_lufs: float | None = TARGET_LUFS,
    duration: float | None = DURATION,
) -> None:
    """Build one episode to out/<series>/preview/ (not the release file) and print its figures."""
    from .commands.preview import preview as preview_episode

    options = BuildOptions(voice=voice, jobs=1, overrides=_overrides(target_lufs, None, duration, None, None))
    with console.status(f"{target}: starting") as status:
        job, result = preview_episode(state.project, target, options,
                                      lambda event: status.update(_status_line(event)))
    if result.status == "error":
        raise PipelineError(result.error or "the preview failed")
    low, high = job.production.window_s
    table = Table(show_header=False, box=None)
    rows = (("file", job.out_path), ("duration", f"{result.duration_s:.2f} s (window {low:g}-{high:g} s)"),
            ("loudness", f"{result.integrated_lufs:.2f} LUFS "
                         f"({result.integrated_single_channel_lufs:.2f} single-channel)"),
            ("true peak", f"{result.true_peak_dbtp:.2f} dBTP"), ("LRA", f"{result.lra_lu:.1f} LU"),
            ("words", f"{result.word_count} ({result.words_per_minute:.0f} per minute)"),
            ("fit", ", ".join(f"{k} {v}" for k, v in result.fit.items()
                              if k in ("rate_factor", "pause_scale", "tempo"))),
            ("voice", f"{result.voice}"))
    for key, value in rows:
        table.add_row(f"[bold]{key}[/]", escape(str(value)))
    console.print(table)
    _warn(result.warnings)
    if play:
        _play(job.out_path)


@app.command("list")
def list_command() -> None:
    """Show every episode with its status (built / stale / missing) and measured figures."""
    from .commands.listing import list_episodes

    listing = list_episodes(state.project)
    wide = console.width >= WIDE_LIST
    longest = max((len(row.label) for row in listing.rows), default=7)
    columns = [Column("episode", no_wrap=True, min_width=longest)]
    if wide:
        columns.append(Column("title", overflow="ellipsis", no_wrap=True, max_width=40))
    columns += [Column("status", no_wrap=True), Column("words", justify="right"),
                Column("time", justify="right"), Column("LUFS", justify="right"), Column("dBTP", justify="right"),
                Column("WER", justify="right")]
    table = Table(*columns, box=None, padding=(0, 1), collapse_padding=True, pad_edge=False, header_style="bold")
    for row in listing.rows:
        status = {"missing": "[red]missing[/]", "built": "[green]built[/]", "stale": "[yellow]stale[/]"}[row.status]
        if row.approved:
            status = "[green]approved[/]"
        estimate = row.estimate
        figures = ("~" + clock(estimate.fitted_s) if estimate else "-", "-", "-", "-")
        entry = row.result
        if entry is not None and row.status == "built":
            figures = (clock(entry.duration_s), f"{entry.integrated_lufs:.1f}", f"{entry.true_peak_dbtp:.1f}",
                       "-" if entry.word_error is None else f"{entry.word_error:.2f}")
        words = str(estimate.words) if estimate else "-"
        table.add_row(escape(row.label), *([escape(row.title)] if wide else []), status, words, *figures)
    console.print(table)
    console.print("[dim]time: the MP3's length; ~ an estimate, for an episode a build would change.[/]")
    stale: dict[str, list[str]] = {}
    for row in listing.rows:
        if row.status == "stale":
            stale.setdefault(row.reason, []).append(row.label)
    for reason, labels in stale.items():
        console.print(f"[yellow]stale[/] ({escape(reason)}): {escape(', '.join(labels))}", highlight=False,
                      soft_wrap=True)
    _warn(listing.warnings)
    for problem in listing.errors:
        _say_error(str(problem))
    raise typer.Exit(EXIT_FAILED if listing.errors else 0)


def _finite(value: Any) -> Any:
    """JSON has no infinities: a silent file's loudness is null."""
    return value if not isinstance(value, float) or math.isfinite(value) else None


@app.command()
def approve(
    target: str = typer.Argument(..., help="One episode: SERIES/NN-slug, slug, number or script path."),
    withdraw: bool = typer.Option(False, "--withdraw", help="Withdraw the episode's approval."),
) -> None:
    """Approve an episode's audio as built (it must be up to date); any change that alters the audio
    leaves it unapproved. `publish --approved-only` publishes only approved episodes."""
    from .commands.approval import approve as approve_episode

    report = approve_episode(state.project, target, withdraw)
    console.print(f"{escape(report.label)}: " + (f"approved at {report.approved_at}" if report.approved
                                                 else "approval withdrawn"), highlight=False)


@app.command()
def studio(
    port: int = typer.Option(8731, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (default: this machine only)."),
) -> None:
    """Open the studio: hear, fix, re-hear, approve and rebuild episodes in the browser. Prints its
    address (with the token that lets a browser in); Ctrl-C stops it."""
    from .studio.server import open_studio, serve

    bound = open_studio(state.project, host, port)
    console.print(f"Studio at {bound.url}", highlight=False, soft_wrap=True)
    try:
        serve(bound)
    except KeyboardInterrupt:
        pass
    console.print("studio stopped")


@app.command()
def measure(
    files: list[Path] = typer.Argument(..., help="Audio files (anything ffmpeg reads)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Loudness report of audio files: integrated (I), LRA, true peak, max short-term, duration."""
    from .audio.codec import decode
    from .audio.loudness import measure as measure_audio

    reports = []
    failed = False
    for path in files:
        try:
            report = measure_audio(*decode(path))
            reports.append({"file": str(path), **{k: _finite(v) for k, v in dataclasses.asdict(report).items()}})
        except PipelineError as exc:
            failed = True
            _say_error(str(exc) if exc.path else f"{path}: {exc.message}")
    if as_json:
        print(json.dumps(reports, indent=1))
    else:
        table = Table("file", "I (LUFS)", "I single-ch", "LRA (LU)", "TP (dBTP)", "max S (LUFS)", "duration (s)")

        def number(value: float | None, places: int) -> str:
            return "-inf" if value is None else f"{value:.{places}f}"

        for r in reports:
            table.add_row(escape(r["file"]), number(r["integrated_lufs"], 2),
                          number(r["integrated_single_channel_lufs"], 2), number(r["lra_lu"], 1),
                          number(r["true_peak_dbtp"], 2), number(r["max_short_term_lufs"], 2),
                          f"{r['duration_s']:.2f}")
        console.print(table)
        console.print("[dim]Mono files are read as dual mono (I); 'single-ch' is the plain one-channel reading.[/]")
    raise typer.Exit(EXIT_FAILED if failed else 0)


@app.command()
def master(
    source: Path = typer.Argument(..., help="Any audio file ffmpeg reads (WAV, FLAC, MP3, ...)."),
    out: Path = typer.Option(..., "--out", "-o", help="The mastered MP3 to write."),
    target_lufs: float | None = TARGET_LUFS,
    ceiling_dbtp: float | None = CEILING,
    bitrate: int | None = BITRATE,
    channels: int | None = CHANNELS,
    series: str | None = typer.Option(None, "--series", help="Tag it with this series' album, artist, genre, "
                                                                "copyright and cover (a folder under scripts/)."),
    title: str | None = typer.Option(None, "--title", help="Title tag (default: the file's name), with --series."),
    cleanup: bool = typer.Option(True, "--cleanup/--no-cleanup",
                                 help="Clean the recording first: hum, clicks, noise, sibilance, levels, long pauses."),
    as_json: bool = typer.Option(False, "--json", help="Print the measured figures as JSON."),
) -> None:
    """Master any recording the way episodes are: cleaned (unless --no-cleanup), loudness to the
    target, true-peak limiter, MP3 encode, then the encoded file decoded and measured (and corrected
    until it holds)."""
    from .commands.master import MasterOptions
    from .commands.master import master as master_recording

    options = MasterOptions(_overrides(target_lufs, ceiling_dbtp, None, bitrate, channels), series, title, cleanup)
    with console.status(f"mastering {source.name}") as status:
        mastered = master_recording(state.project, source, out, options,
                                    lambda event: status.update(getattr(event, "message", "")))
    result = mastered.result
    report = result.report
    figures = {"file": str(out), "integrated_lufs": report.integrated_lufs, "true_peak_dbtp": report.true_peak_dbtp,
               "lra_lu": report.lra_lu, "duration_s": report.duration_s, "passes": result.passes,
               "warnings": result.warnings, "cleanup": mastered.cleanup}
    if as_json:
        print(json.dumps({k: _finite(v) for k, v in figures.items()}, indent=1))
    else:
        console.print(f"wrote {escape(str(out))}: {report.integrated_lufs:.2f} LUFS, {report.true_peak_dbtp:.2f} dBTP, "
                      f"LRA {report.lra_lu:.1f} LU, {report.duration_s:.1f} s ({result.passes} pass"
                      f"{'es' if result.passes > 1 else ''})")
        if mastered.cleanup:
            console.print(f"cleaned: {_cleanup_line(mastered.cleanup)}", highlight=False)
        _warn(result.warnings)


def _cleanup_line(report: dict[str, Any]) -> str:
    """What cleaning a recording did, in one line."""
    parts = []
    if report.get("hum_hz"):
        parts.append(f"{report['hum_hz']:.0f} Hz hum {report['hum_before_dbfs']:.0f} -> "
                     f"{report['hum_after_dbfs']:.0f} dBFS")
    if report.get("noise_floor_before_dbfs") is not None:
        parts.append(f"noise floor {report['noise_floor_before_dbfs']:.0f} -> "
                     f"{report['noise_floor_after_dbfs']:.0f} dBFS")
    if report.get("clicks_repaired"):
        parts.append(f"{report['clicks_repaired']} clicks")
    if report.get("lra_before_lu") is not None:
        parts.append(f"LRA {report['lra_before_lu']:.1f} -> {report['lra_after_lu']:.1f} LU")
    if report.get("pause_removed_s"):
        parts.append(f"{report['pause_removed_s']:.1f} s of pauses removed")
    return ", ".join(parts) or "nothing to do"


@app.command()
def cover(series: str = typer.Argument(..., help="Series folder name under scripts/.")) -> None:
    """Draw the series cover from its title and topic, into the file series.yaml names (or cover.png)."""
    from .cover import render_cover
    from .files import replacing
    from .settings import load_series

    folder = state.project.scripts_dir / series
    if folder.resolve().parent != state.project.scripts_dir.resolve():
        raise PipelineError(f"{series!r} is not a series folder under scripts/", state.project.scripts_dir)
    info = load_series(folder, require_cover=False)
    path = info.cover or folder / "cover.png"
    with replacing(path) as temporary:
        temporary.write_bytes(render_cover(info))
    console.print(f"wrote {path} ({path.stat().st_size // 1000} KB)")


@app.command()
def cache(
    prune: bool = typer.Option(False, "--prune", help="Delete entries no built episode uses."),
    shared: bool = typer.Option(False, "--shared",
                                help="Allow pruning a cache other projects share ($EPISODES_CACHE)."),
    forget_others: bool = typer.Option(False, "--forget-other-projects",
                                       help="With --prune --shared: also delete entries only other projects use."),
) -> None:
    """Show the sentence cache's size; --prune removes entries no built episode uses."""
    from .commands.cache import cache_summary, prune_cache

    summary = cache_summary(state.project)
    console.print(f"{summary.folder}: {summary.stats.entries} entries, {summary.stats.bytes / 1e6:.1f} MB; "
                  f"{summary.used_here} used by this project's built episodes"
                  + (f", {summary.used_elsewhere} only by {summary.other_projects} other project(s)"
                     if summary.other_projects else "") + f", {summary.unused} unused")
    if prune:
        removed = prune_cache(state.project, shared=shared, forget_others=forget_others)
        console.print(f"pruned {removed.entries} entries ({removed.bytes / 1e6:.1f} MB)")


@app.command()
def voices() -> None:
    """List voice profiles and whether their engine is installed."""
    from .engines import engine_installed, spec_of
    from .settings import load_voices

    table = Table("voice", "engine", "model", "installed")
    for profile in load_voices(state.project.voices_dir).values():
        ok = engine_installed(profile.engine)
        table.add_row(profile.name, profile.engine, escape(profile.model),
                      "[green]yes[/]" if ok else f"[red]no[/] - {escape(spec_of(profile.engine).install_hint)}")
    console.print(table)


@app.command()
def say(
    text: str | None = typer.Argument(None, help="A phrase to audition, with the lexicon applied."),
    script: Path | None = typer.Option(None, "--script", help="Read a whole script as it will be spoken."),
    voice: str | None = typer.Option(None, "--voice", help="Voice profile (default: the default voice)."),
    out: Path | None = typer.Option(None, "--out", help="Write the audio here (.mp3 or .wav)."),
    play: bool = typer.Option(False, "--play", help="Play it, if a player is installed."),
) -> None:
    """Audition a phrase (or a script with --script): shows what the voice will read (and its
    phonemes), and speaks it with --out or --play."""
    from .commands.audition import check_output, reading, script_reading, voice_named
    from .commands.audition import say as speak

    if (text is None) == (script is None):
        raise PipelineError("give a phrase to say, or --script FILE (one of them)")
    if text is not None and text.endswith(".md") and Path(text).is_file():
        raise PipelineError(f"{text!r} is a script: read it with `episodes say --script {text}`")
    if out is not None:
        check_output(out)
    profile = voice_named(state.project, voice)
    if script is not None:
        sentences = script_reading(state.project, script, profile)
        for line, written, spoken in sentences:
            console.print(f"[bold]{line}:[/] {escape(spoken)}", highlight=False, soft_wrap=True)
            if spoken != written:
                console.print(f"   [dim]written: {escape(written)}[/]", highlight=False, soft_wrap=True)
        text = " ".join(spoken for _, _, spoken in sentences)
        heard = reading(state.project, text, profile)
    else:
        heard = reading(state.project, text, profile)
        console.print(f"[bold]reads:[/] {escape(heard.spoken)}", highlight=False)
        if heard.phonemes:
            console.print(f"[bold]phonemes:[/] {escape(heard.phonemes)}", highlight=False)
    if out is not None:
        speak(state.project, heard.spoken, profile, out)
        console.print(f"wrote {out}")
    if play:
        with tempfile.TemporaryDirectory(prefix="episodes-say-") as folder:
            path = out or speak(state.project, heard.spoken, profile, Path(folder) / "say.mp3")
            _play(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
