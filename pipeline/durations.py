"""One clock: every length the product shows (review page, public site, feed, `episodes list`)
comes from the manifest's measured `duration_s` through these functions, so no two places
disagree by a second.

Whole seconds are counted down, as players count them (a player shows 85.7 s as 1:25, and so
do the pages and the feed). A measured length a hair under a whole second (89.99995 s, float
noise from decoded sample counts) counts as that second.
"""

from __future__ import annotations

import math

NOISE_S = 0.0005
"""Half a millisecond: far above the float noise of a length computed from sample counts, far
below anything a listener could hear."""


def whole_seconds(seconds: float) -> int:
    """The length in whole seconds, counted down (85.7 -> 85); never negative. This is
    `itunes:duration` in the feed and the number behind every m:ss."""
    if not math.isfinite(seconds) or seconds <= 0:
        return 0
    return int(math.floor(seconds + NOISE_S))


def clock(seconds: float) -> str:
    """m:ss (h:mm:ss from an hour on), from whole_seconds: 85.7 -> "1:25"."""
    whole = whole_seconds(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def iso_duration(seconds: float) -> str:
    """The same length as an HTML `<time datetime>` duration: 85.7 -> "PT85S"."""
    return f"PT{whole_seconds(seconds)}S"
