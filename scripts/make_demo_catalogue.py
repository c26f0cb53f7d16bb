#!/usr/bin/env python3
"""Generates a small stand-in catalogue (24 procedural "paintings" and metadata.csv in the demo
catalogue's columns) for machines without ../shared/paintings. The images are simple landscapes
and abstractions in distinct palettes, so the feed and colour search still have something to show.

Usage: make_demo_catalogue.py --out DIR
"""
import argparse
import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SCENES = [
    ("Blue Harbour", "sea", (40, 90, 170), (150, 190, 230)),
    ("Evening Sunset", "sunset", (240, 120, 40), (120, 40, 90)),
    ("Winter Field", "snow", (235, 238, 242), (190, 200, 215)),
    ("Night Village", "night", (15, 20, 45), (60, 60, 90)),
    ("Green Forest", "forest", (30, 90, 40), (120, 160, 80)),
    ("Golden Wheat", "wheat", (220, 180, 70), (120, 150, 200)),
    ("Red Poppies", "poppies", (190, 30, 30), (110, 150, 70)),
    ("Grey Morning", "fog", (150, 150, 150), (200, 200, 200)),
]
STYLES = ["Impressionism", "Realism", "Romanticism"]


def paint(seed, top, bottom, width, height):
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    for _ in range(40):
        x, y, r = rng.randrange(width), rng.randrange(height), rng.randrange(5, width // 6)
        shade = tuple(max(0, min(255, c + rng.randrange(-40, 40))) for c in (bottom if y > height / 2 else top))
        draw.ellipse([x - r, y - r // 2, x + r, y + r // 2], fill=shade)
    return image.filter(ImageFilter.GaussianBlur(2))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    (args.out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(24):
        title, slug, top, bottom = SCENES[i % len(SCENES)]
        width, height = [(900, 700), (700, 900), (1000, 600)][i % 3]
        name = f"images/generated_{i + 1:03d}.jpg"
        paint(i, top, bottom, width, height).save(args.out / name, quality=88)
        rows.append({
            "file": name, "title": f"{title} {i // len(SCENES) + 1}", "artist": "ArtWall Generator",
            "year": 2026, "style": STYLES[i % len(STYLES)], "source": "ArtWall (generated)",
            "licence": "CC0 1.0", "source_url": f"https://example.org/artwall/generated/{slug}-{i + 1}",
            "museum_object_id": i + 1,
        })
    with open(args.out / "metadata.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"generated {len(rows)} paintings in {args.out}")


if __name__ == "__main__":
    main()
