"""The book's colour cycle stays distinguishable for a reader with deuteranopia (the commonest colour-vision
deficiency): simulate it (Machado, Oliveira & Fernandes 2009, full severity, in linear RGB) and require every pair
of the first six colours, as many as a figure of the book uses at once, to stay apart in CIELAB."""

import itertools

import numpy as np

from featlearn import figures

# Deuteranopia at severity 1 (Machado et al. 2009), acting on linear RGB.
DEUTERANOPIA = np.array([[0.367322, 0.860646, -0.227968],
                         [0.280085, 0.672501, 0.047413],
                         [-0.011820, 0.042940, 0.968881]])
SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
D65 = np.array([0.95047, 1.0, 1.08883])
# ΔE (CIE 1976) between two colours that a reader can tell apart in a line plot at a glance. The book's
# palette keeps at least 17.9 under deuteranopia; matplotlib's default cycle drops to 7.3 (its red and green).
MIN_DELTA_E = 12.0


def _linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    t = SRGB_TO_XYZ @ linear_rgb / D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _hex(h: str) -> np.ndarray:
    return np.array([int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)])


def min_delta_e(colours, simulate: bool = True) -> float:
    labs = [_lab(np.clip(DEUTERANOPIA @ _linear(_hex(c)), 0, 1) if simulate else _linear(_hex(c))) for c in colours]
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(labs, 2))


def test_palette_survives_simulated_deuteranopia():
    colours = figures.STYLE["axes.prop_cycle"].by_key()["color"][:6]
    assert len(colours) == 6
    d = min_delta_e(colours)
    assert d >= MIN_DELTA_E, f"two of the book's first six colours look alike with deuteranopia (ΔE {d:.1f})"


def test_the_simulation_tells_red_from_green_apart_only_without_deuteranopia():
    red_green = ["#d62728", "#2ca02c"]
    assert min_delta_e(red_green, simulate=False) > 50
    assert min_delta_e(red_green) < MIN_DELTA_E
