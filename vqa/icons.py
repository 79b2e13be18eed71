"""Drawing counted icons (diamonds, stars, circles, …) into RGBA images in two visual styles."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

CANVAS = 96
GRID = 3  # icons sit in a GRID x GRID layout of cells, jittered, so they never overlap
BIG_GRID = 4  # for the rare images with more than GRID * GRID icons (multi-digit answers)

SHAPE_NAMES = ("diamond", "star", "circle", "heart", "triangle", "square")


@dataclass(frozen=True)
class Style:
    """How a data set looks: the background and the palette its icons are drawn from."""

    name: str
    background: tuple[int, int, int, int]
    palette: tuple[tuple[int, int, int], ...]


STYLES = {
    # the "pretraining" look: saturated icons on white
    "source": Style(
        "source",
        (255, 255, 255, 255),
        ((220, 40, 40), (40, 90, 220), (30, 150, 60), (230, 140, 20), (140, 50, 180)),
    ),
    # the fine-tuning look: light, pastel icons on black
    "shifted": Style(
        "shifted",
        (0, 0, 0, 255),
        ((255, 235, 160), (170, 230, 255), (200, 255, 190), (255, 200, 230), (235, 235, 235)),
    ),
}


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    if shape == "diamond":
        return [(cx, cy - r), (cx + r * 0.7, cy), (cx, cy + r), (cx - r * 0.7, cy)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r * 0.95, cy + r * 0.8), (cx - r * 0.95, cy + r * 0.8)]
    if shape == "square":
        s = r * 0.8
        return [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "star":
        points = []
        for k in range(10):
            radius = r if k % 2 == 0 else r * 0.45
            angle = -math.pi / 2 + k * math.pi / 5
            points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
        return points
    raise ValueError(shape)


def draw_icon(
    draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, r: float, colour
) -> None:
    """Draw one icon of ``shape`` centred at (cx, cy) with radius ``r``."""
    fill = tuple(colour) + (255,)
    if shape == "circle":
        draw.ellipse([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=fill)
    elif shape == "heart":
        lobe = r * 0.5
        draw.ellipse([cx - 2 * lobe, cy - r * 0.8, cx, cy - r * 0.8 + 2 * lobe], fill=fill)
        draw.ellipse([cx, cy - r * 0.8, cx + 2 * lobe, cy - r * 0.8 + 2 * lobe], fill=fill)
        draw.polygon(
            [(cx - 2 * lobe + 1, cy - r * 0.2), (cx + 2 * lobe - 1, cy - r * 0.2), (cx, cy + r)],
            fill=fill,
        )
    else:
        draw.polygon(_polygon(shape, cx, cy, r), fill=fill)


def render(counts: dict[str, int], style: Style, rng: random.Random) -> Image.Image:
    """An RGBA image holding ``counts[shape]`` icons of each shape, in random cells, sizes and colours."""
    total = sum(counts.values())
    grid = GRID if total <= GRID * GRID else BIG_GRID
    if total > grid * grid:
        raise ValueError(f"at most {grid * grid} icons fit, got {total}")
    image = Image.new("RGBA", (CANVAS, CANVAS), style.background)
    draw = ImageDraw.Draw(image)
    cell = CANVAS / grid
    cells = rng.sample(range(grid * grid), total)
    shapes = [shape for shape, n in counts.items() for _ in range(n)]
    colour = rng.choice(style.palette)  # one colour per image, as IconQA's icons mostly are
    for shape, index in zip(shapes, cells):
        r = rng.uniform(0.28, 0.42) * cell
        cx = (index % grid + 0.5) * cell + rng.uniform(-1, 1) * (cell / 2 - r)
        cy = (index // grid + 0.5) * cell + rng.uniform(-1, 1) * (cell / 2 - r)
        draw_icon(draw, shape, cx, cy, r, colour)
    return image
