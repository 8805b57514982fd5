"""The studio's routes, over the application layer (pipeline.commands), the same commands the CLI runs.

    GET  /                          every series and episode: status, approval, figures   (/index.json)
    GET  /episode/SERIES/NN-slug    one episode: its sentences, audio, QA, edit tools     (.json twin)
    GET  /lexicon                   the pronunciation lexicon                              (/lexicon.json)
    GET  /audio/sentence/KEY.wav    one sentence from the sentence cache
    GET  /audio/episode/SERIES/NN-slug.mp3   the episode as built (range requests, so it seeks)
    POST /api/episode/SERIES/NN-slug/sentence/N/{edit,speak,mark,take,pick,audition}
    POST /api/episode/SERIES/NN-slug/{approve,withdraw}
    POST /api/lexicon, /api/lexicon/preview
    POST /api/build                 start a build; GET /api/build/events streams it (server-sent events)

Every answer to a bad input is the command's own error (`file:line: message`) as JSON, with 400
(409 when the script changed on disk or a build holds the output folder). Pages and scripts are
served by the app itself: nothing comes from elsewhere.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ..commands import approval, edit, pronunciation
from ..commands.audition import lexicon_of
from ..commands.estimate import Estimate, estimate_job, project_pace
from ..commands.listing import list_episodes
from ..commands.workspace import episode_view, open_episode
from ..durations import clock
from ..errors import LockedError, PipelineError
from ..manifest import EpisodeResult
from ..plan import EpisodeJob
from ..project import Project, load_catalog, one_episode
from ..state import STORE_NAME
from .builds import BuildRunner, lock_holder
from .guard import Guard

HERE = Path(__file__).parent
KEY_RE = re.compile(r"^[0-9a-f]{64}$")
STATIC = {"studio.js": "text/javascript; charset=utf-8", "studio.css": "text/css; charset=utf-8"}


def create_app(project: Project, token: str, hosts: frozenset[str], cookie: str) -> Starlette:
    """The studio for one project, behind its guard."""
    studio = StudioRoutes(project)
    return Starlette(routes=studio.routes(), middleware=[Middleware(Guard, token=token, hosts=hosts, cookie=cookie)])


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _estimate_data(estimate: Estimate | None) -> dict[str, Any] | None:
    """What the pages show of an estimate: words, the length the fit will make, and the words to
    add or cut to land on the target."""
    if estimate is None:
        return None
    return {"words": estimate.words, "fitted_s": estimate.fitted_s, "target_s": estimate.target_s,
            "advice": estimate.advice, "in_window": estimate.in_window, "measured": estimate.measured,
            "text": f"As written: {estimate.words} words, about {clock(estimate.fitted_s)} once built "
                    f"(target {clock(estimate.target_s)}): {estimate.advice}."}


def _time(status: str, result: EpisodeResult | None, estimate: Estimate | None) -> str:
    """The index's time column, as `episodes list` shows it: the MP3's length when it is built as
    the script stands, else the estimate, marked ~."""
    if status == "built" and result is not None and result.duration_s is not None:
        return clock(result.duration_s)
    return "~" + clock(estimate.fitted_s) if estimate is not None else "-"


def _json(value: Any) -> Any:
    """Dataclasses (views, reports) as JSON-ready data."""
    return dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value


class StudioRoutes:
    def __init__(self, project: Project):
        self.project = project
        self.runner = BuildRunner(project)
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                         undefined=jinja2.StrictUndefined)
        environment.filters["clock"] = lambda seconds: clock(seconds) if seconds is not None else "-"
        self.templates = Jinja2Templates(env=environment)
        self._pace: tuple[tuple[int, ...], dict[str, tuple[float, int]]] | None = None

    def _estimate(self, job: EpisodeJob) -> dict[str, Any] | None:
        """An episode's words and length as written now, as `episodes estimate` gives them. Each
        voice's pace is measured again only when the store has changed (a build recorded something)."""
        stamp = tuple(_mtime_ns(self.project.out_dir / name) for name in (STORE_NAME, STORE_NAME + "-wal"))
        if self._pace is None or self._pace[0] != stamp:
            self._pace = (stamp, project_pace(self.project))
        return _estimate_data(estimate_job(job, self._pace[1]))

    def routes(self) -> list[Route]:
        episode = "/episode/{series}/{stem}"
        api = "/api/episode/{series}/{stem}"
        sentence = api + "/sentence/{index:int}/"
        post = ["POST"]
        return [
            Route("/", self.index), Route("/index.json", self.index),
            Route(episode + ".json", self.episode), Route(episode, self.episode),
            Route("/lexicon", self.lexicon), Route("/lexicon.json", self.lexicon),
            Route("/static/{name}", self.static),
            Route("/audio/sentence/{key}.wav", self.sentence_audio),
            Route("/audio/episode/{series}/{stem}.mp3", self.episode_audio),
            Route(sentence + "edit", self.edit, methods=post),
            Route(sentence + "mark", self.mark, methods=post),
            Route(sentence + "speak", self.speak, methods=post),
            Route(sentence + "take", self.take, methods=post),
            Route(sentence + "pick", self.pick, methods=post),
            Route(sentence + "audition", self.audition, methods=post),
            Route(api + "/approve", self.approve, methods=post),
            Route(api + "/withdraw", self.withdraw, methods=post),
            Route("/api/lexicon", self.save_entry, methods=post),
            Route("/api/lexicon/preview", self.preview_entry, methods=post),
            Route("/api/build", self.build, methods=post),
            Route("/api/build.json", self.build_state),
            Route("/api/build/events", self.build_events),
        ]

    # -- pages and their JSON twins ----------------------------------------------------------

    def _page(self, request: Request, template: str, data: dict[str, Any], status: int = 200) -> Response:
        if request.url.path.endswith(".json"):
            return JSONResponse(data, status_code=status)
        return self.templates.TemplateResponse(request, template, {"data": data, "json": json.dumps(data)},
                                               status_code=status)

    def _common(self) -> dict[str, Any]:
        build = self.runner.state()
        return {"lock": None if build["running"] else lock_holder(self.project.out_dir),
                "build": {"running": build["running"], "targets": build["targets"]}}

    def index(self, request: Request) -> Response:
        listing = list_episodes(self.project)
        series: dict[str, list[dict[str, Any]]] = {}
        for row in listing.rows:
            result = row.result
            series.setdefault(row.label.split("/")[0], []).append({
                "label": row.label, "title": row.title, "status": row.status, "reason": row.reason,
                "approved": row.approved, "url": f"/episode/{row.label}",
                "duration_s": result.duration_s if result else None,
                "integrated_lufs": result.integrated_lufs if result else None,
                "true_peak_dbtp": result.true_peak_dbtp if result else None,
                "word_error": result.word_error if result else None,
                "mos": (result.mos or {}).get("overall") if result else None,
                "estimate": _estimate_data(row.estimate),
                "time": _time(row.status, result, row.estimate)})
        data = {"series": [{"slug": slug, "episodes": rows} for slug, rows in series.items()],
                "warnings": listing.warnings, "errors": [str(e) for e in listing.errors], **self._common()}
        return self._page(request, "index.html", data)

    def episode(self, request: Request) -> Response:
        label = self._label(request)
        try:
            context = open_episode(self.project, label)
            view = episode_view(context)
        except PipelineError as exc:
            return self._page(request, "problem.html", {"label": label, "error": str(exc), **self._common()}, 400)
        data = _json(view)
        data["estimate"] = self._estimate(context.job)
        series, stem = label.split("/")
        data["audio"] = (f"/audio/episode/{series}/{stem}.mp3?v={view.mp3_version}" if view.mp3_version else None)
        for sentence in data["sentences"]:
            sentence["audio"] = f"/audio/sentence/{sentence['key']}.wav" if sentence["cached"] else None
        return self._page(request, "episode.html", {**data, **self._common()})

    def lexicon(self, request: Request) -> Response:
        entries = [dataclasses.asdict(e) for e in lexicon_of(self.project).entries]
        return self._page(request, "lexicon.html", {"entries": entries, "path": str(self.project.voices_dir /
                                                                                        pronunciation.LEXICON),
                                                    **self._common()})

    def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            raise HTTPException(404)
        return Response((HERE / "static" / name).read_bytes(), media_type=STATIC[name])

    # -- audio --------------------------------------------------------------------------------

    def sentence_audio(self, request: Request) -> Response:
        key = request.path_params["key"]
        if not KEY_RE.match(key):
            raise HTTPException(404)
        try:
            stored = self.project.cache.get(key)
        except Exception:
            stored = None
        if stored is None:
            raise HTTPException(404, "not in the sentence cache")
        import soundfile

        samples, rate = stored
        buffer = io.BytesIO()
        soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
        return Response(buffer.getvalue(), media_type="audio/wav",
                        headers={"cache-control": "private, max-age=86400, immutable"})

    def episode_audio(self, request: Request) -> Response:
        label = self._label(request)
        series, stem = label.split("/")
        path = self.project.out_dir / series / f"{stem}.mp3"
        if not path.is_file():
            raise HTTPException(404, "not built")
        return FileResponse(path, media_type="audio/mpeg", headers={"cache-control": "no-cache"})

    # -- the API ------------------------------------------------------------------------------

    def _label(self, request: Request) -> str:
        """The episode a route names, known to the catalogue (404 otherwise): nothing else is served."""
        label = f"{request.path_params['series']}/{request.path_params['stem']}"
        try:
            one_episode(load_catalog(self.project), label)
        except PipelineError:
            raise HTTPException(404, f"no episode {label}") from None
        return label

    async def _call(self, request: Request, action: Callable[[dict[str, Any]], Any]) -> Response:
        """Run a command with the request's JSON body; its errors are the answer (400, or 409)."""
        try:
            body = await request.json() if await request.body() else {}
        except ValueError:
            return JSONResponse({"error": "the request body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the request body must be a JSON object"}, status_code=400)
        try:
            return JSONResponse(_json(await anyio.to_thread.run_sync(action, body)))
        except edit.EditConflict as exc:
            return JSONResponse({"error": str(exc), "yours": exc.yours, "disk": exc.disk, "version": exc.version},
                                status_code=409)
        except LockedError as exc:
            return JSONResponse({"error": str(exc), "holder": lock_holder(self.project.out_dir)}, status_code=409)
        except (PipelineError, BadInput) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def edit(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: edit.edit_sentence(
            self.project, label, index, _text(body, "text"), _text(body, "version")))

    async def mark(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: edit.mark_pronunciation(
            self.project, label, index, _text(body, "word"), _text(body, "say"), _text(body, "version")))

    async def speak(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: edit.speak_sentence(self.project, label, index))

    async def take(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: edit.another_take(self.project, label, index))

    async def pick(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: edit.pick_take(self.project, label, index,
                                                                     _number(body, "take")))

    async def audition(self, request: Request) -> Response:
        label, index = self._label(request), request.path_params["index"]
        return await self._call(request, lambda body: pronunciation.audition(
            self.project, label, index, _text(body, "word"), _text(body, "say"), _flag(body, "match_case")))

    async def approve(self, request: Request) -> Response:
        label = self._label(request)
        return await self._call(request, lambda body: approval.approve(self.project, label))

    async def withdraw(self, request: Request) -> Response:
        label = self._label(request)
        return await self._call(request, lambda body: approval.approve(self.project, label, withdraw=True))

    async def save_entry(self, request: Request) -> Response:
        return await self._call(request, lambda body: {"affected": [_json(a) for a in pronunciation.save_entry(
            self.project, _text(body, "word"), _text(body, "say"), _flag(body, "match_case"))]})

    async def preview_entry(self, request: Request) -> Response:
        return await self._call(request, lambda body: {"affected": [_json(a) for a in pronunciation.preview_entry(
            self.project, _text(body, "word"), _text(body, "say"), _flag(body, "match_case"))]})

    async def build(self, request: Request) -> Response:
        def start(body: dict[str, Any]) -> dict[str, Any]:
            labels = body.get("targets") or []
            if not isinstance(labels, list) or not all(isinstance(t, str) for t in labels):
                raise BadInput("`targets` must be a list of episodes (series/NN-slug)")
            catalog = load_catalog(self.project)
            self.runner.start([str(one_episode(catalog, label)[1].path) for label in labels], labels)
            return {"started": True, "targets": labels}

        return await self._call(request, start)

    def build_state(self, request: Request) -> Response:
        return JSONResponse(self.runner.state())

    def build_events(self, request: Request) -> Response:
        """The studio build's events from the first the client has not seen (`Last-Event-ID`), until
        its `done` event; a comment line while waiting keeps the connection alive."""
        seen = request.headers.get("last-event-id", "")
        first = int(seen) + 1 if seen.isdigit() else 0

        async def stream() -> AsyncIterator[str]:
            position = first
            while True:
                events, running = await anyio.to_thread.run_sync(self.runner.since, position, 1.0)
                for event in events:
                    yield f"id: {event['id']}\ndata: {json.dumps(event)}\n\n"
                position += len(events)
                if not events:
                    if not running:
                        return
                    yield ": building\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-store"})


class BadInput(Exception):
    """A request body without the field a command needs."""


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadInput(f"`{name}` must be text")
    return value


def _number(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadInput(f"`{name}` must be a whole number")
    return value


def _flag(body: dict[str, Any], name: str, default: bool = True) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadInput(f"`{name}` must be true or false")
    return value
