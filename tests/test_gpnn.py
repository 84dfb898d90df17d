"""GPNN (patch nearest neighbours, no training): determinism, sizes, diversity, bounds, bad inputs.

Tiny generated images only (the synthetic SinGAN reference picture); no files, no network.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import gpnn
from pix2pix_demo.singan import reference_image


@pytest.fixture(autouse=True)
def one_thread():
    torch.set_num_threads(1)


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32)


def test_deterministic_per_seed_and_diverse_across_seeds():
    image = reference_image(64)
    first, again = gpnn.generate(image, seed=3, max_side=64), gpnn.generate(image, seed=3, max_side=64)
    other = gpnn.generate(image, seed=4, max_side=64)
    assert first.mode == "RGB" and first.size == (64, 64)
    assert np.array_equal(pixels(first), pixels(again))
    assert np.abs(pixels(first) - pixels(other)).mean() > 2  # another seed, another image


def test_without_noise_the_image_comes_back_and_samples_keep_its_colours():
    """noise=0 starts from the blurred image itself: the patch search must restore it (a broken search
    or fold would give a blur or garbage); samples are made of the image's patches, so their colour
    statistics stay close to the image's."""
    image = reference_image(64)
    copy = gpnn.generate(image, seed=0, noise=0.0, max_side=64)
    mse = np.mean((pixels(copy) - pixels(image)) ** 2)
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-6)) > 24
    sample = gpnn.generate(image, seed=1, max_side=64)
    assert np.abs(pixels(sample).mean((0, 1)) - pixels(image).mean((0, 1))).max() < 20


def test_output_sizes_and_retargeting():
    image = reference_image(64).resize((80, 48))
    assert gpnn.generate(image, seed=1, max_side=80).size == (80, 48)
    assert gpnn.generate(image, seed=1, max_side=80, width_factor=2.0).size == (160, 48)
    assert gpnn.generate(image, seed=1, max_side=80, height_factor=0.5).size == (80, 24)
    assert gpnn.generate(image, seed=1, max_side=40).size == (40, 24)  # shrunk to max_side first


def test_large_inputs_are_bounded_by_size():
    """A big upload is worked on at max_side (what bounds time and memory); outputs never exceed
    MAX_OUTPUT_SIDE even at 4x."""
    big = reference_image(64).resize((2000, 1500))
    assert gpnn._input(big, gpnn.MAX_SIDE).size == (320, 240)
    small = reference_image(64).resize((120, 90))
    out = gpnn.generate(small, seed=0, max_side=64, width_factor=4.0)
    assert out.size == (256, 48)
    shapes = gpnn._level_shapes(240, 320 * 4, 14, 0.75)
    assert max(shapes[-1]) == 1280  # the level shapes of a 4x panorama before the MAX_OUTPUT_SIDE clamp
    assert gpnn.MAX_OUTPUT_SIDE < 1280


def test_local_search_matches_exact_search_when_the_window_covers_the_keys():
    generator = torch.Generator().manual_seed(0)
    keys, queries = torch.randn(36, 5, generator=generator), torch.randn(50, 5, generator=generator)
    exact = gpnn._nearest(queries, keys, alpha=None)
    centres = torch.full((50, 2), 2, dtype=torch.long)  # the middle of a 6x6 key grid; radius 4 covers it
    assert torch.equal(gpnn._local_nearest(queries, keys, gpnn._window(centres, 4, (6, 6))), exact)


def test_exact_search_is_the_brute_force_argmin_with_and_without_completeness():
    generator = torch.Generator().manual_seed(1)
    keys, queries = torch.randn(300, 8, generator=generator), torch.randn(700, 8, generator=generator)
    distances = torch.cdist(queries.double(), keys.double()) ** 2
    assert torch.equal(gpnn._nearest(queries, keys, alpha=None), distances.argmin(1))
    completeness = distances / (0.5 + distances.min(0).values)[None]
    assert torch.equal(gpnn._nearest(queries, keys, alpha=0.5), completeness.argmin(1))


def test_coherent_candidates_continue_the_neighbours_pieces():
    # every query matched the key at its own place (a copy): each neighbour's match, shifted back, is the
    # query's own place again (inside the grid)
    index = torch.arange(5 * 7)
    candidates = gpnn._coherent(index, (5, 7), (5, 7)).view(5, 7, 4)
    assert torch.equal(candidates[1:-1, 1:-1], index.view(5, 7)[1:-1, 1:-1, None].expand(-1, -1, 4))
    # a query whose right neighbour copied key (2, 4) is offered (2, 3)
    index = torch.zeros(3 * 3, dtype=torch.long)
    index[1 * 3 + 2] = 2 * 6 + 4  # query (1, 2) matched key (2, 4) on a 4 x 6 key grid
    assert 2 * 6 + 3 in gpnn._coherent(index, (3, 3), (4, 6))[1 * 3 + 1].tolist()


def test_fast_refine_stays_close_to_the_exact_search_it_replaced():
    """refine's fast search (exact only on small levels, radius 3, a same-level pass of radius 1 + coherence)
    against the settings before issue 28 (exact up to 1.2e8 pairs, radius 4 everywhere): a new picture,
    close to the old one, and as sharp."""
    photo = reference_image(96)
    soft = photo.resize((24, 24), Image.BILINEAR).resize((192, 96), Image.BILINEAR).transpose(Image.FLIP_LEFT_RIGHT)
    fast = gpnn.refine(soft, photo, from_side=24)
    slow = gpnn.refine(soft, photo, from_side=24, radius=4, same_level_radius=None, coherence=False, exact_pairs=1.2e8)
    assert not np.array_equal(pixels(fast), pixels(slow))  # the search did change
    assert np.abs(pixels(fast) - pixels(slow)).mean() < 4  # of 255 (measured: 1.7)
    assert laplacian_energy(fast) > 0.9 * laplacian_energy(slow)


@pytest.mark.parametrize("kwargs, message", [
    (dict(image=None), "provide an image"),
    (dict(image=Image.new("RGB", (100, 20))), "too small or too narrow"),
    (dict(image=Image.new("RGB", (400, 10))), "too thin"),
    (dict(image=Image.new("RGB", (64, 64)), width_factor=9), "width_factor"),
    (dict(image=Image.new("RGB", (64, 64)), max_side=5000), "max_side"),
    (dict(image=Image.new("RGB", (64, 64)), noise=-1), "noise"),
    (dict(image=Image.new("RGB", (64, 64)), height_factor=0.25, max_side=64), "short side"),
])
def test_bad_inputs_get_clear_messages(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gpnn.generate(**kwargs)


def test_bad_image_bytes_get_a_clear_message():
    with pytest.raises(ValueError):
        gpnn.generate(b"not an image")


def laplacian_energy(image: Image.Image) -> float:
    x = pixels(image).mean(2)
    return float(np.abs(4 * x[1:-1, 1:-1] - x[:-2, 1:-1] - x[2:, 1:-1] - x[1:-1, :-2] - x[1:-1, 2:]).mean())


def test_weighted_fold_of_one_image_s_patches_gives_the_image_back():
    x = gpnn.image_to_tensor(reference_image(24))
    patches = gpnn._patches(x)
    for sigma in (None, 0.5, 2.0):  # any weighting of identical overlapping values is the value itself
        assert torch.allclose(gpnn._fold(patches, (24, 24), sigma), x, atol=1e-5)


def test_refine_keeps_the_layout_and_puts_back_the_photo_s_sharpness():
    photo = reference_image(96)
    soft = photo.resize((24, 24), Image.BILINEAR).resize((96, 96), Image.BILINEAR)  # a blurry "sample"
    flipped = soft.transpose(Image.FLIP_LEFT_RIGHT)  # a new layout the photo does not have
    refined = gpnn.refine(flipped, photo, from_side=24)
    again = gpnn.refine(flipped, photo, from_side=24)
    assert refined.size == (96, 96) and np.array_equal(pixels(refined), pixels(again))  # deterministic
    assert laplacian_energy(refined) > 1.5 * laplacian_energy(flipped)  # sharp again
    # the layout is the picture's, not the photo's: closer to the flipped picture than to the photo
    small = lambda im: pixels(im.resize((12, 12), Image.BILINEAR))  # noqa: E731
    assert np.abs(small(refined) - small(flipped)).mean() < np.abs(small(refined) - small(photo)).mean()
    wide = gpnn.refine(soft.resize((192, 96)), photo, from_side=24)  # a retargeted sample keeps its size
    assert wide.size == (192, 96)


@pytest.mark.parametrize("kwargs, message", [(dict(from_side=3), "from_side"), (dict(from_side=1000), "from_side")])
def test_refine_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gpnn.refine(reference_image(48), reference_image(48), **kwargs)
