"""Every file a build writes beside an episode, in one table: which stage makes it, whether the
public site carries it, how the feed links it, and its type. Planning (what is missing, what is an
orphan), the sidecar writer, the site and the feed all read this table, so an output is added here
and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

AUDIO, TAGS, SIDECARS = "audio", "tags", "sidecars"
"""The build's stages: make the audio (then tags and sidecars), re-tag in place, re-caption."""


@dataclass(frozen=True)
class Output:
    suffix: str
    stage: str
    """The stage that writes it (AUDIO or SIDECARS); a missing file reruns that stage."""
    published: bool
    """Copied to the public site beside the MP3."""
    feed: str | None
    """How the feed links it: "enclosure", "transcript", or None."""
    mime: str
    rel: str | None = None
    """A transcript's `rel` in the feed ("captions" for timed text)."""


OUTPUTS = (
    Output(".mp3", AUDIO, True, "enclosure", "audio/mpeg"),
    Output(".vtt", SIDECARS, True, "transcript", "text/vtt", "captions"),
    Output(".srt", SIDECARS, True, "transcript", "application/x-subrip", "captions"),
    Output(".txt", SIDECARS, True, "transcript", "text/plain"),
    Output(".png", AUDIO, False, None, "image/png"),
)
BESIDE_MP3 = tuple(o for o in OUTPUTS if o.suffix != ".mp3")
"""The files written next to each MP3."""
TRANSCRIPTS = tuple(o for o in OUTPUTS if o.feed == "transcript")


def made_by(stage: str) -> tuple[Output, ...]:
    return tuple(o for o in BESIDE_MP3 if o.stage == stage)
