"""`arrstore read --slice`: random NumPy basic slices (steps, negatives, integers that drop an
axis, `...`, `None`, empty results) of arrays of every layout, both memory orders, with and
without a predictive transform, give what NumPy's slicing of the array gives, bit for bit;
bad slices give NumPy's message and no output."""

import zlib

import numpy as np
import pytest

from common import bits


def random_slice(rng, shape):
    """A random basic slice of `shape`, as text, that NumPy accepts."""
    items = []
    for n in shape:
        kind = rng.integers(0, 5)
        if kind == 0 and n > 0:
            i = int(rng.integers(-n, n))
            items.append(str(i))
            continue
        if kind == 1:
            items.append(":")
            continue
        part = lambda: "" if rng.random() < 0.3 else str(int(rng.integers(-n - 3, n + 4)))
        step = "" if rng.random() < 0.3 else str(int(rng.choice([-3, -2, -1, 1, 2, 3])))
        items.append(f"{part()}:{part()}" + (f":{step}" if step else ""))
        if rng.random() < 0.1:
            items.append("None")
    # Sometimes the trailing axes are left to an ellipsis.
    if len(items) > 1 and rng.random() < 0.3:
        items = items[: int(rng.integers(1, len(items)))] + ["..."]
    return ", ".join(items)


def numpy_slice(a, text):
    """NumPy's slicing of `a` by the text `text` (the same items, evaluated by Python)."""
    return eval(f"a[{text}]", {"a": a, "None": None})  # only this test's own text


ARRAYS = {
    "smooth_u16": lambda rng: (np.add.outer(np.arange(120) * 3, np.arange(50) * 7) + rng.integers(0, 4, (120, 50))).astype(np.uint16),
    "fortran_f64": lambda rng: np.asfortranarray(rng.normal(size=(30, 20, 3))),
    "sparse_i32": lambda rng: np.where(rng.random((90, 70)) < 0.03, rng.integers(-1000, 1000, (90, 70)), 0).astype(np.int32),
    "runs_u8": lambda rng: np.repeat(rng.integers(0, 5, (40, 8)), 9, axis=1).astype(np.uint8),
    "cube_f32": lambda rng: rng.normal(size=(7, 9, 11)).astype(np.float32),
    "vector_bool": lambda rng: rng.random(333) < 0.5,
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_random_slices_match_numpy(tmp_path, run, name):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    a = ARRAYS[name](rng)
    np.save(tmp_path / "a.npy", a)
    path = tmp_path / "a.parquet"
    layout = {"sparse_i32": "sparse", "runs_u8": "runs"}.get(name, "auto")
    run("write", "--quiet", "--layout", layout, "--row-group-size", "97", tmp_path / "a.npy", path)
    for k in range(25):
        text = random_slice(rng, a.shape)
        want = numpy_slice(a, text)
        out = tmp_path / f"s{k}.npy"
        run("read", "--quiet", path, "-o", out, "--slice", text)
        got = np.load(out)
        assert got.shape == want.shape and got.dtype == want.dtype, (text, got.shape, want.shape)
        assert np.array_equal(bits(got), bits(np.ascontiguousarray(want))), text


def test_bad_slices_are_refused_with_numpys_message(tmp_path, run):
    a = np.arange(30, dtype=np.int64).reshape(6, 5)
    np.save(tmp_path / "a.npy", a)
    run("write", "--quiet", tmp_path / "a.npy", tmp_path / "a.parquet")
    for text in ["6", "0, -6", "::0", "1, 2, 3", "..., ..."]:
        with pytest.raises((IndexError, ValueError)) as numpy_error:
            numpy_slice(a, text)
        p = run("read", "--quiet", tmp_path / "a.parquet", "-o", tmp_path / "bad.npy", "--slice", text, ok=False)
        assert p.returncode != 0 and "a.parquet" in p.stderr, p.stderr
        assert str(numpy_error.value) in p.stderr, (text, str(numpy_error.value), p.stderr)
        assert not (tmp_path / "bad.npy").exists()


def test_dataset_appends_read_back_as_numpy_concatenates(tmp_path, run):
    """`arrstore append` grows a dataset part by part (each narrowed on its own); `read` gives
    NumPy's concatenation, and `--slice` NumPy's slicing of it; each part is plain Parquet."""
    rng = np.random.default_rng(3)
    parts = [rng.integers(0, 200, (50, 4)), rng.integers(-(2**40), 2**40, (30, 4)), np.arange(80).reshape(20, 4)]
    for k, p in enumerate(parts):
        np.save(tmp_path / f"p{k}.npy", p.astype(np.int64))
        run("append", "--quiet", tmp_path / "grown", tmp_path / f"p{k}.npy")
    whole = np.concatenate(parts).astype(np.int64)
    run("read", "--quiet", tmp_path / "grown", "-o", tmp_path / "all.npy")
    assert np.array_equal(np.load(tmp_path / "all.npy"), whole)
    for k, text in enumerate(["45:75", "::-7, 1", "-1", "10:90:9, None, ::-2"]):
        run("read", "--quiet", tmp_path / "grown", "-o", tmp_path / f"s{k}.npy", "--slice", text)
        assert np.array_equal(np.load(tmp_path / f"s{k}.npy"), numpy_slice(whole, text)), text
    import pyarrow.parquet as pq
    rows = [pq.ParquetFile(tmp_path / "grown" / f"part-{k:06d}.parquet").metadata.num_rows for k in range(3)]
    assert rows == [50 * 4, 30 * 4, 20 * 4]
