"""The project's error types: one base class the CLI catches, one subclass per kind of failure.

Every message is one plain line that names the file (and line, where one applies), so a
producer can go straight to the problem.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """A problem the producer can fix; `str()` gives `file:line: message`."""

    def __init__(self, message: str, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def __reduce__(self):
        """Keep file and line when an error crosses a process boundary (worker to driver)."""
        return (self.__class__, (self.message, self.path, self.line))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = str(self.path) if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class ConfigError(PipelineError):
    """A series, voice or lexicon file is missing, malformed or holds a bad value."""


class ScriptError(PipelineError):
    """An episode script cannot be read or parsed."""


class EngineError(PipelineError):
    """A synthesis engine is not installed, cannot load its model, or failed on a sentence."""


class AudioError(PipelineError):
    """Encoding, decoding or measuring audio failed."""


class DurationError(PipelineError):
    """The episode cannot be fitted into its duration window (raised only with --strict)."""


class LockedError(PipelineError):
    """Another build holds the output folder."""


def describe(exc: BaseException, where: Path | None = None) -> str:
    """One plain line for any error: the project's own name their file and line; an OS error names
    its file; anything else says what it was, naming `where` (the episode's script) when given."""
    if isinstance(exc, PipelineError):
        return str(exc) if exc.path or where is None else f"{where}: {exc.message}"
    if isinstance(exc, OSError):
        path = exc.filename or where
        return f"{path}: {exc.strerror or exc}" if path else str(exc.strerror or exc)
    if isinstance(exc, MemoryError):
        return f"{where}: out of memory" if where else "out of memory"
    prefix = f"{where}: " if where else ""
    return f"{prefix}unexpected error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)"
