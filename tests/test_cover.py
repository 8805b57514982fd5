"""Cover art: only real JPEG/PNG images inside the project; oversized or non-RGB covers re-encoded."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipeline.cover import MAX_BYTES, SIZE_PX, load_cover, render_cover, series_cover
from pipeline.errors import ConfigError
from pipeline.settings import load_series


def image_bytes(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    channels = {"RGB": 3, "RGBA": 4, "CMYK": 4}[mode]
    pixels = np.random.default_rng(7).integers(0, 256, (height, width, channels), dtype=np.uint8)
    return Image.fromarray(pixels, mode)


def decoded(data: bytes) -> Image.Image:
    """The cover's bytes as an image file reader sees them (not the Cover's own fields)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "project" / "scripts" / "series"
    folder.mkdir(parents=True)
    return tmp_path / "project"


def test_a_drawn_cover_is_embedded_byte_for_byte(project):
    folder = project / "scripts" / "test-series"
    data = render_cover(load_series(folder, require_cover=False))
    (folder / "cover.png").write_bytes(data)
    cover = load_cover(folder / "cover.png", project)
    assert cover.data == data and cover.mime == "image/png" and cover.file_name == "cover.png"
    image = decoded(cover.data)
    assert image.format == "PNG" and image.size == (SIZE_PX, SIZE_PX) == (cover.width, cover.height)
    assert len(data) < MAX_BYTES


def test_series_cover_resolves_against_the_project(project):
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text() + "cover: art/cover.jpeg\n")
    (folder / "art").mkdir()
    (folder / "art" / "cover.jpeg").write_bytes(image_bytes(Image.new("RGB", (1400, 1400), (30, 60, 90)), "JPEG"))
    series = load_series(folder)
    cover = series_cover(series)
    assert cover is not None and cover.mime == "image/jpeg" and cover.file_name == "cover.jpg"
    assert cover.data == (folder / "art" / "cover.jpeg").read_bytes()
    assert series_cover(dataclasses.replace(series, cover=None)) is None


def test_a_cover_outside_the_project_is_refused(root):
    with pytest.raises(ConfigError, match="inside the project folder") as error:
        load_cover(Path("/etc/passwd"), root)
    assert "/etc/passwd" in str(error.value)


def test_a_link_out_of_the_project_is_refused(root, tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(render_cover_like())
    link = root / "scripts" / "series" / "cover.png"
    os.symlink(outside, link)
    with pytest.raises(ConfigError, match="inside the project folder"):
        load_cover(link, root)


def render_cover_like() -> bytes:
    return image_bytes(Image.new("RGB", (1400, 1400), (20, 30, 60)), "PNG")


@pytest.mark.parametrize("content, found", [
    (b"this is not a picture\n", ""),
    (image_bytes(Image.new("RGB", (64, 64)), "GIF"), "GIF"),
    (image_bytes(Image.new("RGB", (64, 64)), "BMP"), "BMP"),
])
def test_a_file_that_is_not_png_or_jpeg_is_refused(root, content, found):
    path = root / "scripts" / "series" / "cover.png"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a PNG or JPEG image") as error:
        load_cover(path, root)
    assert str(error.value).startswith(str(path)) and found in str(error.value)


def test_a_truncated_image_is_refused(root):
    path = root / "scripts" / "series" / "cover.png"
    path.write_bytes(image_bytes(noise(300, 300), "PNG")[:5000])
    with pytest.raises(ConfigError, match="damaged"):
        load_cover(path, root)


def test_a_missing_cover_is_named(root):
    with pytest.raises(ConfigError, match="not found"):
        load_cover(root / "scripts" / "series" / "absent.png", root)


def test_a_huge_cover_is_scaled_down_for_the_tags(root):
    path = root / "scripts" / "series" / "cover.png"
    path.write_bytes(image_bytes(noise(3000, 3000), "PNG", compress_level=1))
    assert path.stat().st_size > 25_000_000  # the 27 MB cover of the report
    cover = load_cover(path, root)
    image = decoded(cover.data)
    assert len(cover.data) <= MAX_BYTES
    assert image.size == (SIZE_PX, SIZE_PX) == (cover.width, cover.height)
    assert image.mode == "RGB" and cover.mime == Image.MIME[image.format]


def test_a_wide_photo_keeps_its_shape_and_is_never_enlarged(root):
    path = root / "scripts" / "series" / "cover.jpg"
    path.write_bytes(image_bytes(noise(2800, 1400), "JPEG", quality=95))
    image = decoded(load_cover(path, root).data)
    assert image.size == (1400, 700)
    small = root / "scripts" / "series" / "small.jpg"
    small.write_bytes(image_bytes(Image.new("RGB", (600, 600), (200, 10, 10)), "JPEG"))
    assert decoded(load_cover(small, root).data).size == (600, 600)


@pytest.mark.parametrize("mode, image_format", [("RGBA", "PNG"), ("CMYK", "JPEG")])
def test_alpha_and_cmyk_covers_become_rgb(root, mode, image_format):
    path = root / "scripts" / "series" / f"cover.{image_format.lower()}"
    source = noise(400, 400, mode)
    path.write_bytes(image_bytes(source, image_format))
    image = decoded(load_cover(path, root).data)
    assert image.mode == "RGB" and image.size == (400, 400)


def test_transparent_pixels_are_flattened_onto_white(root):
    path = root / "scripts" / "series" / "cover.png"
    path.write_bytes(image_bytes(Image.new("RGBA", (200, 200), (0, 0, 0, 0)), "PNG"))
    image = decoded(load_cover(path, root).data)
    assert image.getpixel((100, 100)) == (255, 255, 255)
