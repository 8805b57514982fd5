"""The review page's picture of an episode: waveform envelope with short-term loudness over it,
and the music bed's level where the episode has one (to see it duck under the voice)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .audio.loudness import DUAL_MONO_OFFSET_DB

WIDTH, HEIGHT = 960, 180
LOUDNESS_RANGE = (-40.0, -5.0)
BED_RANGE_LOW = -60.0
"""With a bed, the scale reaches down to here: a ducked bed sits 30 dB or more under the voice."""
LOUDNESS_COLOUR = (200, 60, 40)
BED_COLOUR = (120, 70, 180)


def render_plot(
    audio: np.ndarray, short_term_lufs: np.ndarray, target_lufs: float, bed_level_db: np.ndarray | None = None
) -> bytes:
    """PNG bytes: min/max envelope per pixel column, short-term loudness (`short_term_lufs`, the
    plain reading of `audio`, drawn as targeted), target line, and where there is a bed its
    level over the same duration (`bed_level_db`, already as targeted: see
    pipeline.audio.mix.bed_level_db)."""
    mono = audio if audio.ndim == 1 else audio.mean(axis=1)
    image = Image.new("RGB", (WIDTH, HEIGHT), (250, 250, 252))
    draw = ImageDraw.Draw(image)
    columns = np.array_split(mono, WIDTH)
    middle = HEIGHT / 2
    for x, column in enumerate(columns):
        if len(column):
            top, bottom = float(column.max()), float(column.min())
            draw.line((x, middle - top * middle, x, middle - bottom * middle), fill=(150, 170, 210))

    low, high = LOUDNESS_RANGE
    if bed_level_db is not None:
        low = BED_RANGE_LOW

    def y_of(lufs: float) -> float:
        return HEIGHT - (min(max(lufs, low), high) - low) / (high - low) * HEIGHT

    def trace(values: np.ndarray, colour: tuple[int, int, int]) -> None:
        if len(values) > 1:
            step = WIDTH / (len(values) - 1)
            draw.line([(i * step, y_of(v)) for i, v in enumerate(values.tolist())], fill=colour, width=2)

    offset = DUAL_MONO_OFFSET_DB if audio.ndim == 1 or audio.shape[1] == 1 else 0.0
    trace(short_term_lufs + offset, LOUDNESS_COLOUR)
    if bed_level_db is not None:
        trace(bed_level_db, BED_COLOUR)
    draw.line((0, y_of(target_lufs), WIDTH, y_of(target_lufs)), fill=(40, 140, 60), width=1)
    font = ImageFont.load_default(size=13)
    draw.text((6, y_of(target_lufs) - 16), f"target {target_lufs:g} LUFS", fill=(40, 140, 60), font=font)
    draw.text((WIDTH - 190, 4), "short-term loudness (red)", fill=LOUDNESS_COLOUR, font=font)
    if bed_level_db is not None:
        draw.text((WIDTH - 190, 20), "music bed level (violet)", fill=BED_COLOUR, font=font)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
