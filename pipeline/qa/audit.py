"""Lexicon audit: does a listener hear each lexicon word when the voice says its respelling?

Each entry's word is spoken in a carrier sentence ("We say QLoRA here."), through the full front
end, so the voice says the respelling. The recogniser is given the lexicon's words as vocabulary
(a listener who knows the terms), and the entry passes when the WORD comes back: "QLoRA",
"Q-LoRA" or "qlora" for QLoRA; "70 billion" for 70B.

The comparison is deliberately not made through the lexicon: mapping what was heard through the
same lexicon turns the word into its respelling, so a clearly spoken but wrong respelling
("LoRA: banana", heard "banana") would always pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..text import Lexicon, prepare
from .asr import AsrModel, Clip, transcribe_many
from .score import normalise

CARRIER = "We say {} here."
_NO_LEXICON = Lexicon([])
Speak = Callable[[str], tuple[np.ndarray, int]]
"""Text as the engine reads it -> (mono float samples, sample rate)."""


@dataclass(frozen=True)
class AuditResult:
    """How one lexicon entry came across."""

    word: str
    say: str
    heard: str
    """What the recogniser wrote for the whole carrier sentence."""
    recognised: bool
    """The word (as written, in any case, split or joined) was heard."""

    def to_dict(self) -> dict[str, object]:
        return {"word": self.word, "say": self.say, "heard": self.heard, "recognised": self.recognised}


def _letters(text: str) -> str:
    """Lower-case letters and digits only, superscripts folded ("IA³" -> "ia3")."""
    return re.sub(r"[\W_]", "", unicodedata.normalize("NFKC", text).lower())


def _spoken_letters(text: str) -> str:
    """The same after numbers and symbols are spelled out, without the lexicon ("70B" -> "seventybillion")."""
    return "".join(normalise(text, _NO_LEXICON))


def _without_carrier(squashed: str, carrier: str) -> str:
    head, tail = (_letters(part) for part in carrier.split("{}"))
    squashed = squashed[len(head):] if squashed.startswith(head) else squashed
    return squashed[: -len(tail)] if tail and squashed.endswith(tail) else squashed


def word_heard(word: str, heard: str, carrier: str = CARRIER) -> bool:
    """Whether `word` occurs in `heard` (the carrier's own words excluded), compared as written
    letters or with numbers spelled out."""
    written = _letters(word)
    spoken = _spoken_letters(word)
    return bool(
        (written and written in _without_carrier(_letters(heard), carrier))
        or (spoken and spoken in _without_carrier(_spoken_letters(heard), carrier))
    )


def audit_lexicon(lexicon: Lexicon, speak: Speak, model: AsrModel, carrier: str = CARRIER) -> list[AuditResult]:
    """Speak every lexicon entry in `carrier` and report whether its word was recognised.

    `speak` receives the text after the front end (the lexicon's respelling in place).
    """
    clips = []
    for entry in lexicon.entries:
        audio, rate = speak(prepare(carrier.format(entry.word), lexicon))
        clips.append(Clip(audio, rate, [(0.0, len(audio) / rate)]))
    heard = transcribe_many(model, clips, vocabulary=[e.word for e in lexicon.entries], separate=True)
    results = []
    for entry, words in zip(lexicon.entries, heard):
        text = " ".join(w.text for w in words)
        results.append(AuditResult(entry.word, entry.say, text, word_heard(entry.word, text, carrier)))
    return results
