"""NumPy loads every .npy arrstore writes, and arrstore reads every .npy NumPy writes."""

import numpy as np
import pytest

from common import DTYPES


def sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        return (rng.random(n) < 0.3).reshape(shape)
    if dtype.startswith("float"):
        bits = np.dtype(dtype).itemsize * 8
        raw = rng.integers(0, 2**bits, n, dtype=np.uint64 if bits == 64 else np.uint32,
                           endpoint=False)
        a = raw.view(dtype).copy()
        a[: min(n, 4)] = [-0.0, np.inf, np.nan, 0.5][: min(n, 4)]
        return a.reshape(shape)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    a[a % 3 == 0] = 0
    return a.reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (3, 0), (17,), (6, 7), (2, 3, 4)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("layout", ["auto", "dense", "sparse", "runs"])
def test_round_trip_through_arrstore(tmp_path, run, dtype, shape, order, layout):
    a = np.asarray(sample(dtype, shape, 7), order=order)
    src, pq, out = tmp_path / "a.npy", tmp_path / "a.parquet", tmp_path / "b.npy"
    np.save(src, a)
    run("write", src, pq, "--layout", layout, "--quiet")
    run("read", pq, "-o", out)
    b = np.load(out)
    assert b.dtype == a.dtype and b.shape == a.shape
    assert b.tobytes(order="C") == a.tobytes(order="C"), "bits differ"
    if a.ndim > 1 and a.size > 0:
        assert b.flags.f_contiguous == a.flags.f_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
def test_big_endian_input(tmp_path, run, dtype):
    a = sample(dtype, (5, 4), 3).astype(np.dtype(dtype).newbyteorder(">"))
    np.save(tmp_path / "be.npy", a)
    run("write", tmp_path / "be.npy", tmp_path / "be.parquet", "--quiet")
    run("read", tmp_path / "be.parquet", "-o", tmp_path / "le.npy")
    b = np.load(tmp_path / "le.npy")
    assert b.dtype == a.dtype.newbyteorder("=") and b.shape == a.shape
    assert b.tobytes() == a.byteswap().view(b.dtype).tobytes(), "bits differ"


def test_unsupported_dtypes_are_clear_errors(tmp_path, run):
    for name, a in {"complex": np.zeros(3, np.complex128), "half": np.zeros(3, np.float16),
                    "str": np.array(["a", "b"])}.items():
        src = tmp_path / f"{name}.npy"
        np.save(src, a)
        p = run("write", src, tmp_path / f"{name}.parquet", ok=False)
        assert p.returncode == 1
        assert "not supported" in p.stderr and str(src) in p.stderr
        assert not (tmp_path / f"{name}.parquet").exists()
