"""Disclosing a synthetic voice: the words, and where they join an episode's or a show's text.

Apple's content guidelines ask for the use of AI to be disclosed in the audio and in the
metadata of each episode or show, and RSS.com asks for it when an AI voice narrates. One text
(series.yaml `disclosure:`, or DEFAULT_DISCLOSURE) is spoken at the end of every synthetic
episode and appended to its description in the feed, on the site, on the review page and in
the ID3 comment, and to the show's description; `disclosure: false` turns it off (every check
then warns).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import DEFAULT_DISCLOSURE

if TYPE_CHECKING:
    from .script import Episode
    from .settings import Series

__all__ = ["DEFAULT_DISCLOSURE", "disclosure_text", "is_synthetic", "with_disclosure"]

def disclosure_text(series: Series) -> str | None:
    """The series' disclosure sentence; None when series.yaml says `disclosure: false`."""
    return series.disclosure


def is_synthetic(episode: Episode) -> bool:
    """Whether a voice engine speaks the episode (any engine), not a person's `audio:` recording."""
    return episode.audio is None


def with_disclosure(text: str, disclosure: str | None) -> str:
    """`text` with the disclosure sentence after it (the same words everywhere); `text` alone
    when there is nothing to disclose."""
    text = text.strip()
    if not disclosure:
        return text
    return f"{text} {disclosure}" if text else disclosure
