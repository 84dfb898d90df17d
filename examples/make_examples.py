"""Rebuild the example inputs in this folder (run from the repository root):

    python examples/make_examples.py [--photos DIR]

sketches/cat.png, shoe.png, handbag.png: line drawings made here with PIL (ours, same licence as
the code). sketches/sitting-cat.png and open-face.png: copies of test-drawings/sitting-front.png and
face-with-gaps.png (examples/make_test_drawings.py). photos/: copies of scikit-image sample photos (see ATTRIBUTION.md); DIR
defaults to ../shared/data/sample-images/scikit-image.
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 512
WIDTH = 4  # stroke width: like a small brush on the 512-px canvas
PHOTOS = ("chelsea.png", "coffee.png")
# the Fill in example of a regular texture: scikit-image's brick wall, 384 px, JPEG (28 KB, not 240 KB as a PNG)
FILL_BRICK = ("brick.png", "brick.jpg", 384)
BLACK_AND_WHITE = ("camera.png",)  # the Colour & fill tab's colourize example (a real black-and-white photo)


def canvas():
    image = Image.new("L", (SIZE, SIZE), 255)
    return image, ImageDraw.Draw(image)


def arc_points(cx, cy, rx, ry, start, end, steps=48):
    return [(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
            for a in (start + (end - start) * i / steps for i in range(steps + 1))]


def cat() -> Image.Image:
    image, draw = canvas()
    # head: a wide rounded outline from ear to ear around the chin
    draw.line(arc_points(256, 280, 170, 150, -20, 200), fill=0, width=WIDTH, joint="curve")
    draw.line([(96, 229), (120, 70), (196, 150)], fill=0, width=WIDTH, joint="curve")  # left ear
    draw.line([(416, 229), (392, 70), (316, 150)], fill=0, width=WIDTH, joint="curve")  # right ear
    draw.line([(196, 150), (316, 150)], fill=0, width=WIDTH)  # top of the head
    draw.line([(128, 110), (150, 170)], fill=0, width=2)  # inner ears
    draw.line([(384, 110), (362, 170)], fill=0, width=2)
    for cx in (190, 322):  # eyes with slit pupils
        draw.ellipse([cx - 34, 222, cx + 34, 272], outline=0, width=WIDTH)
        draw.line([(cx, 228), (cx, 266)], fill=0, width=WIDTH)
    draw.polygon([(240, 310), (272, 310), (256, 330)], outline=0, width=WIDTH)  # nose
    draw.line([(256, 330), (256, 348)], fill=0, width=WIDTH)
    draw.line(arc_points(236, 348, 20, 14, 0, 160), fill=0, width=WIDTH)  # mouth
    draw.line(arc_points(276, 348, 20, 14, 20, 180), fill=0, width=WIDTH)
    for dy in (-12, 4, 20):  # whiskers
        draw.line([(200, 330 + dy // 2), (90, 318 + dy)], fill=0, width=2)
        draw.line([(312, 330 + dy // 2), (422, 318 + dy)], fill=0, width=2)
    draw.line([(130, 392), (90, 440), (50, 505)], fill=0, width=WIDTH, joint="curve")  # shoulders
    draw.line([(382, 392), (422, 440), (462, 505)], fill=0, width=WIDTH, joint="curve")
    return image


def shoe() -> Image.Image:
    image, draw = canvas()
    outline = [(60, 330), (70, 250), (110, 150), (200, 150), (250, 215), (330, 245), (420, 268), (460, 300),
               (462, 340), (60, 340), (60, 330)]
    draw.line(outline, fill=0, width=WIDTH, joint="curve")
    draw.line([(56, 340), (56, 372), (466, 372), (466, 340)], fill=0, width=WIDTH, joint="curve")  # sole
    draw.line([(110, 150), (118, 250), (200, 262), (250, 215)], fill=0, width=WIDTH, joint="curve")  # collar
    for i in range(4):  # laces
        x = 205 + 26 * i
        draw.line([(x, 190 + 14 * i), (x + 30, 214 + 12 * i)], fill=0, width=3)
    draw.line([(330, 245), (350, 300), (460, 310)], fill=0, width=3)  # toe cap
    draw.line([(90, 300), (300, 305)], fill=0, width=2)  # stitching
    return image


def handbag() -> Image.Image:
    image, draw = canvas()
    draw.polygon([(110, 200), (402, 200), (440, 440), (72, 440)], outline=0, width=WIDTH)  # body
    draw.line(arc_points(256, 200, 100, 110, 180, 360), fill=0, width=WIDTH)  # handle
    draw.line(arc_points(256, 200, 80, 90, 180, 360), fill=0, width=WIDTH)
    draw.line([(100, 260), (412, 260)], fill=0, width=3)  # flap
    draw.rectangle([236, 250, 276, 285], outline=0, width=WIDTH)  # clasp
    return image


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=HERE.parent.parent / "shared/data/sample-images/scikit-image")
    args = parser.parse_args()
    (HERE / "sketches").mkdir(exist_ok=True)
    (HERE / "photos").mkdir(exist_ok=True)
    for name, draw in (("cat", cat), ("shoe", shoe), ("handbag", handbag)):
        draw().save(HERE / "sketches" / f"{name}.png", optimize=True)
    for name in PHOTOS:
        if (args.photos / name).is_file():
            shutil.copyfile(args.photos / name, HERE / "photos" / name)
    source, name, side = FILL_BRICK
    if (args.photos / source).is_file():
        brick = Image.open(args.photos / source).convert("L").resize((side, side), Image.LANCZOS)
        (HERE / "fill-in").mkdir(exist_ok=True)  # not photos/: the Photo tab offers every file there as a cat example
        brick.save(HERE / "fill-in" / name, quality=90)
    (HERE / "black-and-white").mkdir(exist_ok=True)
    for name in BLACK_AND_WHITE:
        if (args.photos / name).is_file():
            shutil.copyfile(args.photos / name, HERE / "black-and-white" / name)
    # hand-drawn ones (make_test_drawings.py). Not a photo's edge map: edges2cats turned that into a brown smear
    for name, drawing in (("sitting-cat", "sitting-front"), ("open-face", "face-with-gaps")):
        shutil.copyfile(HERE / "test-drawings" / f"{drawing}.png", HERE / "sketches" / f"{name}.png")


if __name__ == "__main__":
    main()
