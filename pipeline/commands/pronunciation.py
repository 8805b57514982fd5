"""Fixing how a word is said (the studio): audition a respelling in its sentence, see every
sentence in the project a lexicon entry would change, and save the entry.

The lexicon is rewritten atomically with a round-trip YAML library (ruamel.yaml), so its comments,
its order and every other entry's line stay as they were; the new file is read back by the same
loader builds use before it replaces the old one, so a bad entry is the same error, naming
voices/lexicon.yaml and its line. A saved entry changes the spoken text of exactly the sentences
listed, so the next build speaks exactly those again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from ..disclosure import disclosure_text
from ..errors import ConfigError, PipelineError
from ..files import replacing
from ..project import Catalog, Project, load_catalog
from ..script import written_text
from ..text import Lexicon, LexiconEntry, load_lexicon, prepare, split_sentences
from .audition import lexicon_of
from .edit import speak
from .workspace import open_episode

LEXICON = "lexicon.yaml"


@dataclass(frozen=True)
class Affected:
    """A sentence a lexicon entry changes."""

    label: str
    """The episode (`series/NN-slug`); for a series' disclosure sentence, `series/*`."""
    line: int
    written: str
    before: str
    """What the voice reads now."""
    after: str
    """What it will read with the entry."""


@dataclass(frozen=True)
class Audition:
    """A sentence as a voice reads it with a candidate entry, in the cache, ready to play."""

    spoken: str
    phonemes: str | None
    key: str
    affected: list[Affected]


def with_entry(lexicon: Lexicon, word: str, say: str, match_case: bool = True) -> Lexicon:
    """The lexicon with one entry added, or replacing the entry for the same word."""
    word, say = _checked(word, say)
    entries = [e for e in lexicon.entries if e.word != word] + [LexiconEntry(word, say, match_case)]
    return Lexicon(entries, lexicon.source)


def _checked(word: str, say: str) -> tuple[str, str]:
    word, say = word.strip(), " ".join(str(say).split())
    if not word or any(c in word for c in "\n\r\t"):
        raise ConfigError("a lexicon entry needs one word (or phrase) on one line")
    if not say:
        raise ConfigError(f"entry `{word}` has no spoken form")
    return word, say


def affected(catalog: Catalog, candidate: Lexicon) -> list[Affected]:
    """Every sentence in the project whose spoken text the candidate lexicon changes, in order.
    Only sentences holding a word of a changed entry can change, so only those are read again."""
    before = catalog.lexicon
    old = {(e.word, e.say, e.match_case) for e in before.entries}
    words = {e.word.casefold() for e in candidate.entries if (e.word, e.say, e.match_case) not in old}
    words |= {e.word.casefold() for e in before.entries
              if (e.word, e.say, e.match_case) not in {(c.word, c.say, c.match_case) for c in candidate.entries}}
    found: list[Affected] = []

    def compare(label: str, line: int, sentence: str) -> None:
        if any(word in sentence.casefold() for word in words):
            now, then = prepare(sentence, before), prepare(sentence, candidate)
            if now != then:
                found.append(Affected(label, line, " ".join(written_text(sentence).split()), now, then))

    for entry in catalog.series:
        for episode in entry.episodes:
            label = f"{entry.series.slug}/{episode.stem}"
            for block in episode.blocks:
                line, counted = block.line, 0
                for offset, sentence in split_sentences(block.text):
                    line += block.text.count("\n", counted, offset)
                    counted = offset
                    compare(label, line, sentence)
        disclosure = disclosure_text(entry.series)
        if disclosure:
            compare(f"{entry.series.slug}/*", 0, disclosure)
    return found


def audition(project: Project, label: str, index: int, word: str, say: str, match_case: bool = True) -> Audition:
    """One sentence of an episode as the voice reads it with `word` said as `say`, spoken into the
    cache at the episode's rate (so a rebuild after saving the entry reuses it), with every
    sentence in the project the entry would change."""
    context = open_episode(project, label)
    spoken = [u for u in context.job.utterances if u.spoken]
    if not 0 <= index < len(spoken):
        raise PipelineError(f"{label} has no sentence {index + 1} (it has {len(spoken)})", context.job.episode.path)
    candidate = with_entry(context.catalog.lexicon, word, say, match_case)
    sentence = _marked(context, index)
    reading = prepare(sentence, candidate)
    key, _, _ = speak(context, reading)
    from ..engines import load_engine

    phonemes = getattr(load_engine(context.job.voice), "phonemes", None)
    return Audition(reading, phonemes(reading) if phonemes else None, key, affected(context.catalog, candidate))


def _marked(context, index: int) -> str:
    """The sentence with its marks, as the plan reads it (the disclosure from series.yaml)."""
    utterance = [u for u in context.job.utterances if u.spoken][index]
    if not utterance.line:
        return utterance.written
    from ..script_edit import read_source

    return read_source(context.job.episode.path).sentences[index].marked


def preview_entry(project: Project, word: str, say: str, match_case: bool = True) -> list[Affected]:
    """The sentences an entry would change, nothing written."""
    catalog = load_catalog(project)
    return affected(catalog, with_entry(catalog.lexicon, word, say, match_case))


def save_entry(project: Project, word: str, say: str, match_case: bool = True) -> list[Affected]:
    """Add or change one lexicon entry (comments, order and other entries kept), atomically;
    returns the sentences it changes."""
    catalog = load_catalog(project)
    word, say = _checked(word, say)
    candidate = with_entry(catalog.lexicon, word, say, match_case)
    changes = affected(catalog, candidate)
    path = project.voices_dir / LEXICON
    if path.exists():
        lexicon_of(project)  # a lexicon linked out of the project is refused, as everywhere
    text = _with_entry_text(path.read_text(encoding="utf-8") if path.exists() else "", word, say, match_case, path)
    with replacing(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
        try:
            load_lexicon(temporary)
        except PipelineError as exc:
            raise ConfigError(exc.message, path, exc.line) from None
    return changes


def _with_entry_text(text: str, word: str, say: str, match_case: bool, path: Path) -> str:
    """The lexicon's text with the entry set, every other line as it was."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML()
    yaml.width = 4096
    yaml.preserve_quotes = True
    data = yaml.load(text) if text.strip() else None
    value: object = say
    if not match_case or (isinstance(data, dict) and isinstance(data.get(word), dict)):
        value = CommentedMap([("say", say), ("match_case", match_case)])
        value.fa.set_flow_style()
    if data is None:  # empty, or comments only: keep every line and add the entry after them
        out = io.StringIO()
        yaml.dump({word: value}, out)
        return text + ("" if not text or text.endswith("\n") else "\n") + out.getvalue()
    if not isinstance(data, dict):
        raise ConfigError("the lexicon must be a mapping of words to how to say them", path)
    data[word] = value
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
