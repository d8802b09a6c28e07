"""Writes the public benchmark arrays as .npy files (and the sparse ones as scipy .npz).

Usage: python3 benches/peers/cases.py OUT_DIR [CASE ...]

Each case is made from its own fixed seed, following the recipes of the peer baseline
(seed_ones_u64, seed_stars_f64 and counts_i64 are the exact recipes; image_u16_as_f64 and
labels_i64 follow the described construction, so their figures are comparable but not
byte-identical to the baseline's). The sparse cases (sparse_large, sparse_powerlaw) follow
the baseline's description too (shape, dtype, number of nonzeros, value alphabet, Pareto row
lengths and Zipf columns); their exact recipes are not public either.

The image cases (img_*) are pictures bundled with scikit-image (its skimage/data folder, no
download: pooch is not installed and these files ship in the wheel): img_coffee, img_chelsea,
img_rocket (RGB uint8), img_brick, img_grass, img_gravel, img_text, img_page, img_camera (2-D
uint8) and img_horse (2-D bool). All ten are bundled in the pinned scikit-image 0.26.0; its
download-only images (brain, cells3d, kidney, lily, skin, eagle, ...) are not used. img_rocket is
a JPEG file, so its pixels are those of the pinned Pillow's decoder. normalised_f64 is
img_camera as float64 / 255 (values k/255); smooth_f32 is a smooth float32 field (low-frequency
sines and cosines plus a bilinearly upsampled coarse random grid from a fixed seed).
"""

import os
import sys

import numpy as np


def seed_ones_u64():
    return np.ones((1024, 1024), np.uint64)


def seed_stars_f64():
    rng = np.random.default_rng(1)
    a = rng.random((1024, 1024))
    a[a < 0.9] = 0
    return a


def counts_i64():
    return np.random.default_rng(2).integers(0, 60001, (2048, 2048), np.int64)


def image_u16_as_f64():
    rng = np.random.default_rng(3)
    h, w = 2000, 3000
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = 400.0 + 800.0 * (x / w) + 300.0 * (y / h)
    for _ in range(25):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        s = rng.uniform(20, 120)
        amp = rng.uniform(800, 2500)
        img += amp * np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * s * s))
    img += rng.normal(0, 25, (h, w))
    return np.clip(np.round(img), 0, 4095).astype(np.float64)


def float32_in_f64():
    return np.random.default_rng(4).standard_normal((1024, 1024), np.float32).astype(np.float64)


def upsample(coarse, h, w):
    """Bilinear upsampling of a coarse grid to h x w (a smooth field)."""
    yi = np.linspace(0, coarse.shape[0] - 1.001, h)
    xi = np.linspace(0, coarse.shape[1] - 1.001, w)
    y0, x0 = yi.astype(int), xi.astype(int)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    return (coarse[y0][:, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1][:, x0] * fy * (1 - fx)
            + coarse[y0][:, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1][:, x0 + 1] * fy * fx)


def labels_i64():
    rng = np.random.default_rng(5)
    n = 4096
    coarse = rng.standard_normal((n // 64 + 2, n // 64 + 2))
    f = upsample(coarse, n, n)
    qs = np.quantile(f, [0.35] + list(np.linspace(0.35, 1, 12)[1:-1]))
    return np.digitize(f, qs).astype(np.int64)


def bool_mask():
    return np.random.default_rng(6).random((4096, 4096)) < 0.05


def nd_f32():
    return np.random.default_rng(7).random((64, 128, 128), np.float32)


def random_f64():
    return np.random.default_rng(8).random((1000, 1000))


def sparse_large():
    """200000x200000 float64 COO, 2,000,000 nonzeros at uniform random positions, 256 values."""
    import scipy.sparse as sp

    rng = np.random.default_rng(9)
    n, nnz = 200_000, 2_000_000
    flat = np.unique(rng.integers(0, n * n, nnz + nnz // 100, dtype=np.int64))
    flat = np.sort(rng.choice(flat, nnz, replace=False))
    alphabet = rng.random(256)
    values = alphabet[rng.integers(0, 256, nnz)]
    return sp.coo_array((values, (flat // n, flat % n)), shape=(n, n))


def sparse_powerlaw():
    """100000x50000 int32 document-term counts: Pareto row lengths, Zipf column choice."""
    import scipy.sparse as sp

    rng = np.random.default_rng(10)
    docs, terms = 100_000, 50_000
    lengths = np.minimum((rng.pareto(1.5, docs) + 1) * 60, 20_000).astype(np.int64)
    rows = np.repeat(np.arange(docs, dtype=np.int64), lengths)
    cols = np.minimum(rng.zipf(1.3, rows.size), terms) - 1
    m = sp.coo_array((np.ones(rows.size, np.int32), (rows, cols)), shape=(docs, terms))
    m.sum_duplicates()  # repeated terms become counts
    return m


def bundled_image(name):
    """A case that loads scikit-image's bundled picture `name` (no download), named img_<name>."""

    def make():
        import skimage.data

        return np.ascontiguousarray(getattr(skimage.data, name)())

    make.__name__ = make.__qualname__ = "img_" + name
    make.__doc__ = f"skimage.data.{name}() as shipped in the scikit-image wheel."
    return make


IMAGES = [bundled_image(n) for n in ("coffee", "chelsea", "rocket", "brick", "grass", "gravel",
                                     "text", "page", "camera", "horse")]


def normalised_f64():
    """The camera picture as a normalised float64 image: values k/255."""
    import skimage.data

    return skimage.data.camera().astype(np.float64) / 255.0


def smooth_f32():
    """1024x1024 float32: a few low-frequency sines and cosines plus an upsampled coarse grid."""
    rng = np.random.default_rng(11)
    n = 1024
    y, x = np.mgrid[0:n, 0:n] / n
    tau = 2 * np.pi
    f = (np.sin(tau * (1.5 * x + 0.5 * y)) + 0.6 * np.cos(tau * (0.7 * x - 1.3 * y) + 0.4)
         + 0.3 * np.sin(tau * 2.3 * y) * np.cos(tau * 1.1 * x))
    f += 0.5 * upsample(rng.standard_normal((18, 18)), n, n)
    return f.astype(np.float32)


DENSE = [seed_ones_u64, seed_stars_f64, counts_i64, image_u16_as_f64, float32_in_f64,
         labels_i64, bool_mask, nd_f32, random_f64, *IMAGES, normalised_f64, smooth_f32]


SPARSE = [sparse_large, sparse_powerlaw]


def main():
    out = sys.argv[1]
    wanted = set(sys.argv[2:])
    os.makedirs(out, exist_ok=True)
    for make in DENSE + SPARSE:
        name = make.__name__
        if wanted and name not in wanted:
            continue
        if make in SPARSE:
            import scipy.sparse as sp

            path = os.path.join(out, name + ".npz")
            if not os.path.exists(path):
                sp.save_npz(path, make(), compressed=False)
        else:
            path = os.path.join(out, name + ".npy")
            if not os.path.exists(path):
                np.save(path, make())
        print(path)


if __name__ == "__main__":
    main()
