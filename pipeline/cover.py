"""Series cover art, drawn from the series' own metadata so it can be regenerated at any time.

Podcast directories want a square image of 1400-3000 px; this draws 1400 px: a dark gradient,
a stylised waveform, and the series title and topic in Pillow's bundled font.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .settings import Series

SIZE_PX = 1400
MAX_BYTES = 500_000


def _fit_font(draw: ImageDraw.ImageDraw, text: str, width: int, largest: int) -> ImageFont.FreeTypeFont:
    size = largest
    while size > 24:
        font = ImageFont.load_default(size=size)
        if draw.textlength(text, font=font) <= width:
            return font
        size -= 4
    return ImageFont.load_default(size=size)


def render_cover(series: Series) -> bytes:
    """PNG bytes of the series cover (square, 1400 px, well under 500 KB)."""
    size = SIZE_PX
    y, x = np.mgrid[0:size, 0:size] / size
    top, bottom = np.array([16, 24, 48]), np.array([58, 22, 92])
    mix = ((x + y) / 2)[..., None]
    pixels = (top * (1 - mix) + bottom * mix).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)

    # A waveform across the middle: bars whose heights follow a few summed sines.
    bars, centre = 56, size * 0.52
    for index in range(bars):
        phase = index / bars
        height = size * 0.16 * (0.35 + 0.65 * abs(math.sin(7 * phase) * math.sin(3 * phase + 1) + 0.3 * math.sin(19 * phase)))
        left = size * 0.1 + index * (size * 0.8 / bars)
        draw.rounded_rectangle((left, centre - height / 2, left + size * 0.8 / bars * 0.55, centre + height / 2),
                               radius=6, fill=(120 + int(100 * phase), 200 - int(60 * phase), 255))

    margin = int(size * 0.09)
    title_font = _fit_font(draw, series.title, size - 2 * margin, 150)
    draw.text((margin, int(size * 0.12)), series.title, font=title_font, fill=(245, 245, 250))
    if series.topic:
        topic_font = _fit_font(draw, series.topic, size - 2 * margin, 190)
        draw.text((margin, int(size * 0.72)), series.topic, font=topic_font, fill=(255, 214, 102))
    caption = ImageFont.load_default(size=54)
    draw.text((margin, int(size * 0.88)), "90-second audio overviews", font=caption, fill=(200, 205, 230))

    buffer = io.BytesIO()
    image.quantize(colors=128).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
