"""Changing one sentence and hearing it at once (the studio): edit its text, mark a word's
pronunciation, speak another take and pick one.

A sentence is spoken by the episode's voice, kept loaded in this process (`load_engine` keeps it),
at the rate the episode was last fitted to and with the take the next build will use, and stored
in the sentence cache under the key that build looks for: the rebuild after an edit speaks nothing
again. Script writes are atomic and change only the edited sentence's bytes; a script that changed
on disk since the page read it is not written (`EditConflict`, with both versions). Picks are
written to the store under the output lock, so they never race a build.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..cache import CorruptEntry
from ..engines import load_engine, spec_of
from ..errors import PipelineError, ScriptError
from ..files import ensure_folder, output_lock, replacing
from ..project import Project
from ..script_edit import ScriptSource, read_source, replace_sentence, version_of
from ..script_edit import mark_word as marked_source
from ..state import open_store
from .workspace import MAX_TAKES, EpisodeContext, Take, open_episode

SPEAKING = threading.Lock()
"""One sentence spoken at a time in this process (a voice's phonemizer is not thread-safe)."""
_WRITING = threading.Lock()


class EditConflict(ScriptError):
    """The script changed on disk since the page read it: nothing was written."""

    def __init__(self, message: str, path: Path | str | None, line: int | None, yours: str, disk: str | None,
                 version: str):
        super().__init__(message, path, line)
        self.yours = yours
        """The text the producer wrote."""
        self.disk = disk
        """What the script says there now (None when the sentence is not found any more)."""
        self.version = version
        """The script's version now."""

    def __reduce__(self):
        return (self.__class__, (self.message, self.path, self.line, self.yours, self.disk, self.version))


@dataclass(frozen=True)
class SpokenSentence:
    """A sentence in the cache, ready to play."""

    index: int
    """Its place among the episode's spoken sentences."""
    written: str
    spoken: str
    key: str
    take: int
    synthesized: bool
    """Whether the voice spoke it now (False: it was in the cache)."""


@dataclass(frozen=True)
class EditReport:
    label: str
    version: str
    """The script's new version."""
    before: str
    after: str
    sentences: list[SpokenSentence]
    """What the edited sentence became (several if the new text holds several), spoken."""
    count_changed: bool
    """Whether the edit changed the number of sentences (the page then reads them again)."""


def speak(context: EpisodeContext, spoken: str, take: int | None = None) -> tuple[str, int, bool]:
    """Make sure a sentence is in the cache as the next build will look for it; returns its key,
    its take, and whether the voice had to speak it."""
    if not context.synthetic:
        raise PipelineError(f"{context.job.label} is a recording: there is no voice to speak it",
                            context.job.episode.path)
    take = context.take_of(spoken) if take is None else take
    key = context.key_of(spoken, take)
    cache = context.project.cache.check()
    with cache.in_use():
        try:
            if cache.get(key) is not None:
                return key, take, False
        except CorruptEntry:
            pass
        import numpy as np

        voice = context.job.voice
        engine = load_engine(voice)
        with SPEAKING:
            samples = np.asarray(engine.synthesize(spoken, context.rate), dtype=np.float32)
        cache.put(key, samples, int(engine.sample_rate), spec_of(voice.engine).sample_format)
    return key, take, True


def speak_sentence(project: Project, label: str, index: int) -> SpokenSentence:
    """One sentence of an episode in the cache, spoken now if it is not."""
    context = open_episode(project, label)
    utterance = _spoken(context, index)
    key, take, synthesized = speak(context, utterance.spoken)
    return SpokenSentence(index, utterance.written, utterance.spoken, key, take, synthesized)


def _spoken(context: EpisodeContext, index: int):
    spoken = [u for u in context.job.utterances if u.spoken]
    if not 0 <= index < len(spoken):
        raise PipelineError(f"{context.job.label} has no sentence {index + 1} (it has {len(spoken)})",
                            context.job.episode.path)
    return spoken[index]


def edit_sentence(project: Project, label: str, index: int, text: str, version: str) -> EditReport:
    """Replace one sentence of an episode's script (only its bytes change), then speak what it
    became. `version` is the script's version the page read: a script changed since is refused
    with both versions (EditConflict)."""
    return _edit(open_episode(project, label), index, version, lambda source: text, text)


def mark_pronunciation(project: Project, label: str, index: int, word: str, say: str, version: str) -> EditReport:
    """Write `[word]{say}` for the word wherever the sentence has it (an inline mark: this
    sentence only), then speak the sentence."""
    return _edit(open_episode(project, label), index, version,
                 lambda source: marked_source(source, index, word, say), f"[{word}]{{{say}}}")


def _edit(context: EpisodeContext, index: int, version: str, new_text: Callable[[ScriptSource], str],
          yours: str) -> EditReport:
    utterance = _spoken(context, index)
    path = context.job.episode.path
    if not utterance.line:
        raise PipelineError(f"the disclosure sentence comes from {context.job.series.config_path.name} "
                            "(`disclosure:`), not from the script; edit it there", context.job.series.config_path)
    with _WRITING:
        source = read_source(path)
        if source.version != version:
            disk = source.source_of(index) if index < len(source.sentences) else None
            raise EditConflict("the script changed on disk since the page read it; nothing was written: compare "
                               "the two versions and edit again", path, utterance.line, yours, disk, source.version)
        before = source.source_of(index) or ""
        text = new_text(source)
        edit = replace_sentence(source, index, text, context.plan_sentences)
        with replacing(path) as temporary:
            temporary.write_bytes(edit.data)
    sentences = []
    for offset, new in enumerate(edit.utterances):
        key, take, synthesized = speak(context, new.spoken) if context.synthetic else ("", 0, False)
        sentences.append(SpokenSentence(index + offset, new.written, new.spoken, key, take, synthesized))
    return EditReport(context.job.label, version_of(edit.data), before, text.strip(), sentences,
                      len(edit.utterances) != 1)


@dataclass(frozen=True)
class TakeReport:
    label: str
    index: int
    spoken: str
    take: int
    """The take spoken (another_take) or picked (pick_take)."""
    key: str
    takes: list[Take]
    """Every take of the sentence in the cache."""
    in_use: int
    """The take the next build uses."""


def another_take(project: Project, label: str, index: int) -> TakeReport:
    """Speak a sentence again as a new take (a voice that is not deterministic says it differently)."""
    context = open_episode(project, label)
    utterance = _spoken(context, index)
    if context.synthetic and context.deterministic:
        raise PipelineError(f"the voice `{context.job.voice.name}` always says a sentence the same way, so another "
                            "take would sound the same: add a lexicon entry or reword the sentence",
                            context.job.voice.path)
    take = max((t.take for t in context.takes_cached(utterance.spoken)), default=0) + 1
    if take > MAX_TAKES:
        raise PipelineError(f"this sentence has {MAX_TAKES + 1} takes already: pick one of them",
                            context.job.episode.path, utterance.line)
    key, _, _ = speak(context, utterance.spoken, take)
    return TakeReport(context.job.label, index, utterance.spoken, take, key, context.takes_cached(utterance.spoken),
                      context.take_of(utterance.spoken))


def pick_take(project: Project, label: str, index: int, take: int) -> TakeReport:
    """Use this take of the sentence in every build from now on (recorded in the store)."""
    context = open_episode(project, label)
    utterance = _spoken(context, index)
    takes = context.takes_cached(utterance.spoken)
    if take not in {t.take for t in takes}:
        raise PipelineError(f"take {take + 1} of this sentence has not been spoken (takes: "
                            f"{', '.join(str(t.take + 1) for t in takes) or 'none'})", context.job.episode.path,
                            utterance.line)
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        store = open_store(project.out_dir)
        try:
            store.pick(context.job.series.slug, context.job.file, utterance.spoken, take,
                       dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
        finally:
            store.close()
    return TakeReport(context.job.label, index, utterance.spoken, take, context.key_of(utterance.spoken, take), takes,
                      take)
