"""Draw the test drawings that judge the cat models: cats as a person draws them with a mouse.

    python examples/make_test_drawings.py [NAME ...]  # writes examples/test-drawings/*.png (512², ours, CC0)

Ten drawings (faces, a head and shoulders, sitting, lying, standing and walking cats, a silhouette
without inner lines and a face whose outline has gaps), each
stroke a polyline with the slow wobble and uneven pressure of a hand on a mouse, 4-px black lines
on white like the app's pen. They are never trained on: `train.eval.pix2pix --sketches
examples/test-drawings` reports background cleanliness on them, and the README grid shows them.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 512
WIDTH = 4


class Hand:
    """Strokes with a mouse's wobble: a smooth random offset along each stroke (seeded)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.image = Image.new("L", (SIZE, SIZE), 255)
        self.draw = ImageDraw.Draw(self.image)

    def stroke(self, points, wobble: float = 2.5):
        points = np.asarray(points, dtype=float)
        n = len(points)
        # low-frequency noise: a few random values, linearly interpolated along the stroke
        knots = max(2, n // 8)
        offsets = self.rng.normal(0, wobble, (knots, 2))
        t = np.linspace(0, knots - 1, n)
        noise = np.stack([np.interp(t, np.arange(knots), offsets[:, k]) for k in range(2)], axis=1)
        wobbly = points + noise
        self.draw.line([tuple(p) for p in wobbly], fill=0, width=WIDTH, joint="curve")

    def arc(self, cx, cy, rx, ry, start, end, steps=40, **kw):
        self.stroke([(cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a)))
                     for a in np.linspace(start, end, steps)], **kw)

    def line(self, *points, **kw):
        dense = []
        for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
            steps = max(2, int(math.hypot(x1 - x0, y1 - y0) / 8))
            dense += [(x0 + (x1 - x0) * s / steps, y0 + (y1 - y0) * s / steps) for s in range(steps)]
        dense.append(points[-1])
        self.stroke(dense, **kw)

    def face(self, cx, cy, r, eye="round", whiskers=True):
        """Eyes, nose, mouth and whiskers of a face centred at (cx, cy) with radius r."""
        ex, ey = 0.38 * r, -0.12 * r
        for side in (-1, 1):
            if eye == "round":
                self.arc(cx + side * ex, cy + ey, 0.13 * r, 0.13 * r, 0, 360, steps=24, wobble=1.0)
                self.arc(cx + side * ex, cy + ey, 0.04 * r, 0.06 * r, 0, 360, steps=12, wobble=0.5)
            elif eye == "almond":
                self.arc(cx + side * ex, cy + ey + 0.05 * r, 0.17 * r, 0.12 * r, 200, 340, steps=16, wobble=1.0)
                self.arc(cx + side * ex, cy + ey - 0.05 * r, 0.17 * r, 0.12 * r, 20, 160, steps=16, wobble=1.0)
            else:  # dots
                self.arc(cx + side * ex, cy + ey, 0.05 * r, 0.05 * r, 0, 360, steps=10, wobble=0.5)
        nose_y = cy + 0.2 * r
        self.line((cx - 0.08 * r, nose_y), (cx + 0.08 * r, nose_y), (cx, nose_y + 0.08 * r), (cx - 0.08 * r, nose_y),
                  wobble=0.8)
        self.arc(cx - 0.1 * r, nose_y + 0.1 * r, 0.1 * r, 0.08 * r, 0, 160, steps=12, wobble=0.8)
        self.arc(cx + 0.1 * r, nose_y + 0.1 * r, 0.1 * r, 0.08 * r, 20, 180, steps=12, wobble=0.8)
        if whiskers:
            for side in (-1, 1):
                for dy in (-0.04, 0.06):
                    self.line((cx + side * 0.25 * r, nose_y + dy * r), (cx + side * 0.85 * r, nose_y + (dy * 2.5 - 0.05) * r),
                              wobble=1.2)

    def ears(self, cx, cy, r, spread=0.62, height=0.75):
        for side in (-1, 1):
            base_out = (cx + side * 0.92 * r, cy - 0.35 * r)
            tip = (cx + side * spread * r * 1.15, cy - (0.55 + height) * r)
            base_in = (cx + side * 0.28 * r, cy - 0.92 * r)
            self.line(base_out, tip, base_in, wobble=1.5)


def face_round(hand: Hand):
    hand.arc(256, 280, 175, 160, 200, 340 + 360 - 360 + 0, steps=10)  # top of the head, between the ears
    hand.arc(256, 280, 175, 160, -20, 200, steps=48)
    hand.ears(256, 280, 175)
    hand.face(256, 290, 175)


def face_wide(hand: Hand):
    hand.arc(256, 290, 200, 145, -15, 195, steps=48)
    hand.arc(256, 290, 200, 145, 235, 305, steps=10)
    hand.ears(256, 290, 195, spread=0.7, height=0.6)
    hand.face(256, 300, 170, eye="almond")


def head_and_shoulders(hand: Hand):
    hand.arc(256, 220, 130, 120, -25, 205, steps=40)
    hand.arc(256, 220, 130, 120, 240, 300, steps=8)
    hand.ears(256, 220, 130)
    hand.face(256, 230, 130, eye="almond")
    hand.line((150, 300), (110, 400), (80, 505))
    hand.line((362, 300), (400, 400), (430, 505))


def sitting_front(hand: Hand):
    hand.arc(256, 150, 85, 78, -30, 210, steps=32)
    hand.arc(256, 150, 85, 78, 240, 300, steps=8)
    hand.ears(256, 150, 85)
    hand.face(256, 155, 85, eye="round", whiskers=False)
    # pear-shaped body, front legs, paws, a tail around the feet
    hand.line((185, 200), (160, 300), (150, 400), (170, 470))
    hand.line((327, 200), (352, 300), (362, 400), (342, 470))
    hand.line((225, 330), (220, 470))
    hand.line((287, 330), (292, 470))
    hand.line((170, 470), (220, 472), (256, 468), (292, 472), (342, 470))
    hand.arc(350, 440, 80, 40, 180 + 90, 180 + 270, steps=20)


def sitting_side(hand: Hand):
    hand.arc(330, 140, 70, 62, 0, 360, steps=36)
    for dx in (-35, 25):
        hand.line((330 + dx - 18, 95), (330 + dx, 45), (330 + dx + 20, 88))
    hand.arc(355, 140, 10, 10, 0, 360, steps=10, wobble=0.6)
    hand.line((395, 160), (405, 165))
    hand.line((280, 185), (230, 260), (200, 360), (205, 450))
    hand.line((350, 200), (340, 300), (330, 450))
    hand.line((205, 450), (330, 452), (370, 455))
    hand.line((290, 300), (300, 450))
    hand.arc(150, 420, 60, 45, -60, 120, steps=20)


def lying(hand: Hand):
    hand.arc(270, 330, 190, 85, 180, 360, steps=40)
    hand.line((80, 330), (120, 400), (420, 400), (460, 330))
    hand.arc(120, 260, 70, 62, 0, 360, steps=36)
    for dx in (-35, 25):
        hand.line((120 + dx - 18, 215), (120 + dx, 165), (120 + dx + 20, 208))
    hand.face(120, 262, 62, eye="dots", whiskers=False)
    hand.arc(440, 300, 40, 80, -90, 90, steps=20)


def standing(hand: Hand):
    hand.arc(270, 250, 150, 70, 0, 360, steps=48)
    hand.arc(120, 180, 62, 58, 0, 360, steps=36)
    for dx in (-30, 25):
        hand.line((120 + dx - 18, 135), (120 + dx, 85), (120 + dx + 20, 128))
    hand.face(120, 183, 58, eye="dots", whiskers=False)
    for x in (170, 215, 330, 375):
        hand.line((x, 300), (x + 5, 420), (x + 20, 422))
    hand.line((418, 230), (460, 170), (470, 100))


def simple_face(hand: Hand):
    hand.arc(256, 300, 160, 150, -30, 210, steps=40)
    hand.ears(256, 300, 160, spread=0.55, height=0.9)
    hand.arc(256, 300, 160, 150, 245, 295, steps=8)
    for side in (-1, 1):
        hand.arc(256 + side * 60, 280, 14, 18, 0, 360, steps=14, wobble=0.8)
    hand.arc(256, 350, 30, 14, 10, 170, steps=12)


def silhouette_sitting(hand: Hand):
    """Only the outline of a sitting cat, seen from the front: no eyes, no inner line."""
    hand.arc(256, 150, 85, 78, -30, 210, steps=32)
    hand.arc(256, 150, 85, 78, 240, 300, steps=8)
    hand.ears(256, 150, 85)
    hand.line((185, 200), (160, 300), (150, 400), (170, 470))
    hand.line((327, 200), (352, 300), (362, 400), (342, 470))
    hand.line((170, 470), (256, 474), (342, 470))


def face_with_gaps(hand: Hand):
    """A face drawn in a hurry: the head's outline in pieces, the eyes and nose, nothing else."""
    hand.arc(256, 290, 170, 150, -20, 60, steps=16)
    hand.arc(256, 290, 170, 150, 85, 150, steps=14)
    hand.arc(256, 290, 170, 150, 170, 200, steps=8)
    hand.ears(256, 290, 170)
    for side in (-1, 1):
        hand.arc(256 + side * 62, 270, 18, 14, 0, 360, steps=14, wobble=0.8)
    hand.line((246, 320), (266, 320), (256, 332), (246, 320), wobble=0.8)


DRAWINGS = {"face-round": face_round, "face-wide": face_wide, "head-and-shoulders": head_and_shoulders,
            "sitting-front": sitting_front, "sitting-side": sitting_side, "lying": lying, "standing": standing,
            "simple-face": simple_face, "silhouette-sitting": silhouette_sitting, "face-with-gaps": face_with_gaps}


def main(names=None) -> None:
    """Write the drawings named (default: all); each keeps its seed (its place in DRAWINGS)."""
    out = HERE / "test-drawings"
    out.mkdir(exist_ok=True)
    written = 0
    for seed, (name, draw) in enumerate(DRAWINGS.items()):
        if names and name not in names:
            continue
        written += 1
        hand = Hand(seed)
        draw(hand)
        hand.image.save(out / f"{name}.png", optimize=True)
    print(f"Wrote {written} drawings to {out}.")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
