"""Writes the public benchmark arrays as .npy files (and the sparse ones as scipy .npz).

Usage: python3 benches/peers/cases.py OUT_DIR [CASE ...]

Each case is made from its own fixed seed, following the recipes of the peer baseline
(seed_ones_u64, seed_stars_f64 and counts_i64 are the exact recipes; image_u16_as_f64 and
labels_i64 follow the described construction, so their figures are comparable but not
byte-identical to the baseline's). The sparse cases (sparse_large, sparse_powerlaw) follow
the baseline's description too (shape, dtype, number of nonzeros, value alphabet, Pareto row
lengths and Zipf columns); their exact recipes are not public either.
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


def labels_i64():
    rng = np.random.default_rng(5)
    n = 4096
    coarse = rng.standard_normal((n // 64 + 2, n // 64 + 2))
    # Smooth field: bilinear upsampling of a coarse random grid.
    yi = np.linspace(0, coarse.shape[0] - 1.001, n)
    xi = np.linspace(0, coarse.shape[1] - 1.001, n)
    y0, x0 = yi.astype(int), xi.astype(int)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    f = (coarse[y0][:, x0] * (1 - fy) * (1 - fx) + coarse[y0 + 1][:, x0] * fy * (1 - fx)
         + coarse[y0][:, x0 + 1] * (1 - fy) * fx + coarse[y0 + 1][:, x0 + 1] * fy * fx)
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


DENSE = [seed_ones_u64, seed_stars_f64, counts_i64, image_u16_as_f64, float32_in_f64,
         labels_i64, bool_mask, nd_f32, random_f64]


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
