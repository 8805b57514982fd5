"""Series cover art: drawn from the series' own metadata, and loaded safely for tags, feed and site.

Podcast directories want a square JPEG or PNG of 1400-3000 px in RGB; `render_cover` draws
1400 px: a dark gradient, a stylised waveform, and the series title and topic in Pillow's bundled
font. `load_cover` accepts only a real JPEG or PNG inside the project folder, and scales an
oversized one down, so a 27 MB photograph does not ride along in every MP3.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from .errors import ConfigError

if TYPE_CHECKING:  # settings may load covers: no import cycle at run time
    from .settings import Series

SIZE_PX = 1400
"""Side of a drawn cover, and the largest side of a cover embedded in tags."""
MAX_BYTES = 500_000
"""Largest cover embedded as it is; a larger file is re-encoded at most SIZE_PX."""
MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg"}
_JPEG_QUALITIES = (90, 80, 70, 60, 50, 40, 30, 20)


@dataclass(frozen=True)
class Cover:
    """A series cover as embedded (ID3 APIC frame) and published (feed and site)."""

    data: bytes
    """The image file's bytes."""
    mime: str
    """"image/png" or "image/jpeg", read from the image itself, not its file name."""
    width: int
    height: int

    @property
    def suffix(self) -> str:
        """File extension matching the content: ".png" or ".jpg"."""
        return SUFFIXES[self.mime]

    @property
    def file_name(self) -> str:
        """Name of the cover beside the episodes in out/<series>/ and the site."""
        return f"cover{self.suffix}"


def colour_problem(image: Image.Image) -> str | None:
    """Why an image is not plain RGB colour as podcast directories require, or None.

    A palette PNG without transparency is RGB colour stored compactly, so it passes.
    """
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        return "has an alpha channel (transparency)"
    if image.mode == "CMYK":
        return "is CMYK"
    if image.mode not in ("RGB", "P"):
        return f"is not RGB colour (mode {image.mode})"
    return None


def artwork_colour_problem(image: Image.Image) -> str | None:
    """Why an image is not in the RGB colour space Apple asks of podcast artwork, or None:
    colour_problem's reasons, and a palette (indexed-colour) PNG, which is not RGB as stored."""
    if image.mode == "P" and colour_problem(image) is None:
        return "is a palette (indexed-colour) image"
    return colour_problem(image)


def open_image(data: bytes, path: Path) -> Image.Image:
    """Open JPEG or PNG bytes with Pillow; anything else (or a damaged file) is a ConfigError."""
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ConfigError(f"cover is far too large to open ({exc}); use a 1400-3000 px image", path) from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise ConfigError("cover is not a PNG or JPEG image", path) from None
    if image.format not in MIME_TYPES:
        raise ConfigError(f"cover is not a PNG or JPEG image ({image.format} found)", path)
    return image


def load_cover(path: Path, project_root: Path) -> Cover:
    """The cover for tags, feed and site, from an image inside the project folder.

    A cover wider or taller than SIZE_PX, larger than MAX_BYTES, or not in RGB colour is
    re-encoded: scaled to fit SIZE_PX (never enlarged), converted to RGB. Raises ConfigError
    naming the cover's path; the caller adds series.yaml's line.
    """
    resolved = path.resolve()
    root = project_root.resolve()
    if not resolved.is_relative_to(root):
        raise ConfigError(f"cover must be inside the project folder {root}", path)
    if not resolved.is_file():
        raise ConfigError("cover image not found", path)
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the cover: {exc.strerror}", path) from None
    image = open_image(data, path)
    width, height = image.size
    if width <= SIZE_PX and height <= SIZE_PX and len(data) <= MAX_BYTES and colour_problem(image) is None:
        try:
            image.load()  # a truncated file opens (header only) but fails here
        except (OSError, ValueError, SyntaxError):
            raise ConfigError("cover is not a PNG or JPEG image (the file is damaged)", path) from None
        return Cover(data, MIME_TYPES[image.format], width, height)
    return _reencoded(image, path)


def _reencoded(image: Image.Image, path: Path) -> Cover:
    """The image fitted inside SIZE_PX, RGB, as PNG when the source was PNG and that stays
    under MAX_BYTES, else as the best JPEG quality that does."""
    source_format = image.format
    try:
        image.draft("RGB", (SIZE_PX, SIZE_PX))  # JPEG: decode at reduced scale, much faster
        image.thumbnail((SIZE_PX, SIZE_PX), Image.Resampling.LANCZOS)
        rgb = _flattened(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        raise ConfigError("cover is not a PNG or JPEG image (the file is damaged)", path) from None
    if source_format == "PNG":
        data = _encoded(rgb, "PNG")
        if len(data) <= MAX_BYTES:
            return Cover(data, "image/png", *rgb.size)
    for quality in _JPEG_QUALITIES:
        data = _encoded(rgb, "JPEG", quality=quality)
        if len(data) <= MAX_BYTES:
            break
    return Cover(data, "image/jpeg", *rgb.size)


def _flattened(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited over white (as a directory would show it)."""
    if image.mode in ("RGB", "CMYK"):
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGB", rgba.size, (255, 255, 255))
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _encoded(image: Image.Image, image_format: str, **options: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def series_cover(series: Series) -> Cover | None:
    """The series' cover (None without one); series folders sit at <project>/scripts/<series>/."""
    return load_cover(series.cover, series.folder.parent.parent) if series.cover else None


def published_cover(series: Series) -> Cover | None:
    """The cover as the feed, the site and the review page publish it: series_cover, with a palette
    PNG stored as RGB, as Apple asks of artwork. (The MP3s keep the cover as embedded, so built
    episodes need no re-tagging for it.)"""
    cover = series_cover(series)
    return _as_rgb(cover) if cover is not None and cover.mime == "image/png" else cover


@functools.lru_cache(maxsize=4)
def _as_rgb(cover: Cover) -> Cover:
    """A PNG cover in RGB (computed once per cover and process). zlib's default level, not PNG
    `optimize`: 0.1 s instead of 0.5 s for a 1400 px cover, on every build that publishes, for a
    file a quarter larger (105 KB against 85 KB for the shipped cover)."""
    image = Image.open(io.BytesIO(cover.data))
    if artwork_colour_problem(image) is None:
        return cover
    rgb = _flattened(image)
    return Cover(_encoded(rgb, "PNG"), "image/png", *rgb.size)


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
        wave = math.sin(7 * phase) * math.sin(3 * phase + 1) + 0.3 * math.sin(19 * phase)
        height = size * 0.16 * (0.35 + 0.65 * abs(wave))
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
    image.save(buffer, format="PNG", optimize=True)  # RGB, as Apple asks (about 90 KB)
    return buffer.getvalue()
