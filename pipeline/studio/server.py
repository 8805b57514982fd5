"""Starting the studio: the socket bound first (so the address printed is the one listening, even
with `--port 0`), then uvicorn serving the app until Ctrl-C, which uvicorn turns into a clean
shutdown (open event streams get two seconds to end)."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass

from ..errors import PipelineError
from ..project import Project
from .app import create_app
from .guard import WILDCARDS, allowed_hosts, new_token

DEFAULT_PORT = 8731
SHUTDOWN_S = 2


@dataclass
class Studio:
    """A studio bound to its address, not serving yet."""

    project: Project
    host: str
    port: int
    token: str
    listener: socket.socket

    @property
    def url(self) -> str:
        """The address to open: the page, with the token that lets the browser in."""
        host = "127.0.0.1" if self.host in WILDCARDS else self.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}/?token={self.token}"

    def app(self):
        return create_app(self.project, self.token, allowed_hosts(self.host), f"studio-{self.port}")


def open_studio(project: Project, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> Studio:
    """Bind the studio's socket (port 0: any free port); raises PipelineError when it cannot."""
    if not project.scripts_dir.is_dir():
        raise PipelineError("no scripts/ folder here; run from the project folder or pass --project", project.root)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
        listener.listen(64)
    except OSError as exc:
        listener.close()
        raise PipelineError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pass --port N "
                            "(--port 0 picks a free port)") from None
    return Studio(project, host, listener.getsockname()[1], new_token(), listener)


WARM_MODULES = ("pipeline.audio.master", "pipeline.audio.tempo", "pipeline.plots", "pipeline.tags",
                "pipeline.sidecars", "pipeline.publish.review", "pipeline.publish.feed", "soundfile")
"""What a build imports on its way (mastering, the plot, tags, captions, the review page and feed)."""


def warm_up(project: Project) -> None:
    """Load the default voice and import what a build uses, in the background, so the first edit
    and the first rebuild do not wait for them."""
    def load() -> None:
        import importlib

        from ..commands.audition import voice_named
        from ..engines import load_engine

        try:
            load_engine(voice_named(project, None))
        except Exception:
            pass
        for name in WARM_MODULES:
            importlib.import_module(name)

    threading.Thread(target=load, name="studio-warm-up", daemon=True).start()


def serve(studio: Studio) -> None:
    """Serve until Ctrl-C (or SIGTERM); uvicorn shuts down cleanly and re-raises the signal."""
    import uvicorn

    config = uvicorn.Config(studio.app(), log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=SHUTDOWN_S)
    warm_up(studio.project)
    try:
        uvicorn.Server(config).run(sockets=[studio.listener])
    finally:
        studio.listener.close()
