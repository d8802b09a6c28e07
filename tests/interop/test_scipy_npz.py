"""SciPy sparse .npz files go through arrstore and back without densifying and without losing a bit.

`scipy.sparse.save_npz` (coo, csr, csc; 2-D matrices and arrays, and n-d `coo_array`) ->
`arrstore write` -> `arrstore read -o x.npz` -> `scipy.sparse.load_npz`: the same shape, dtype and
set of (coordinates, value bits); duplicates summed as SciPy sums them; `-o x.npy` densifies only
within the memory it may use.
"""

import json
import resource
import subprocess
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp

from common import DTYPES, bits


# Every format save_npz writes that arrstore reads, with the shape used for it.
FORMATS = {
    "coo_matrix": (7, 9),
    "coo_array": (7, 9),
    "csr_matrix": (7, 9),
    "csr_array": (7, 9),
    "csc_matrix": (7, 9),
    "csc_array": (7, 9),
    "coo_array_3d": (4, 5, 6),
    "coo_array_1d": (11,),
}


def values(dtype, n, rng):
    """`n` values of `dtype` over its whole range; floats include -0.0, +-inf, NaNs with payloads."""
    if dtype == "bool":
        return rng.random(n) < 0.5
    if dtype.startswith("float"):
        uint = np.uint32 if dtype == "float32" else np.uint64
        a = rng.integers(0, np.iinfo(uint).max, n, dtype=uint, endpoint=True).view(dtype).copy()
        special = np.array([-0.0, np.inf, -np.inf, 1.5], dtype=dtype)
        if dtype == "float32":
            nans = np.array([0x7FC00001, 0xFFA00002], dtype=np.uint32).view(dtype)
        else:
            nans = np.array([0x7FF8000000000123, 0xFFF4000000000456], dtype=np.uint64).view(dtype)
        special = np.concatenate([special, nans])[:n]
        a[: len(special)] = special
        return a
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    a[:2] = [info.min, info.max][: min(n, 2)]
    return a


def random_entries(shape, nnz, dtype, seed):
    """`nnz` distinct coordinates in random order (an (ndim, nnz) int64 array) and their values."""
    rng = np.random.default_rng(seed)
    flat = rng.choice(int(np.prod(shape)), size=nnz, replace=False)
    coords = np.array(np.unravel_index(flat, shape), dtype=np.int64).reshape(len(shape), nnz)
    return coords, values(dtype, nnz, rng)


def make(fmt, shape, coords, data):
    """A SciPy sparse object of format `fmt` holding the (distinct) entries."""
    if fmt.startswith("coo_array"):
        return sp.coo_array((data, tuple(coords)), shape=shape)
    coo = sp.coo_matrix((data, (coords[0], coords[1])), shape=shape)
    kind, container = fmt.split("_")
    m = {"coo": coo, "csr": coo.tocsr(), "csc": coo.tocsc()}[kind]
    return getattr(sp, f"{kind}_array")(m) if container == "array" else m


def entries(m):
    """The entries of a sparse object in row-major order of their coordinates: ((ndim, nnz) int64
    coordinates, values), read without arithmetic on the values."""
    if m.format == "coo":
        coords = np.array(m.coords, dtype=np.int64).reshape(m.ndim, m.nnz)
        data = np.asarray(m.data)
    elif m.format in ("csr", "csc"):
        major = np.repeat(np.arange(len(m.indptr) - 1), np.diff(m.indptr)).astype(np.int64)
        minor = np.asarray(m.indices, dtype=np.int64)
        coords = np.stack([major, minor] if m.format == "csr" else [minor, major])
        data = np.asarray(m.data)
    else:
        raise AssertionError(f"unexpected format {m.format}")
    order = np.lexsort(coords[::-1]) if coords.shape[1] else np.arange(0)
    return coords[:, order], data[order]


def assert_same_entries(back, m):
    assert back.shape == m.shape
    assert back.dtype == m.dtype, (back.dtype, m.dtype)
    bc, bv = entries(back)
    mc, mv = entries(m)
    assert bc.shape == mc.shape, f"nnz {bc.shape[1]} != {mc.shape[1]}"
    assert np.array_equal(bc, mc), "coordinates differ"
    assert np.array_equal(bits(bv), bits(mv)), "value bits differ"


def through_arrstore(tmp_path, run, m, compressed, name="m"):
    """save_npz -> arrstore write -> arrstore read -o .npz -> load_npz; returns (loaded, parquet)."""
    src, pq, out = tmp_path / f"{name}.npz", tmp_path / f"{name}.parquet", tmp_path / f"{name}_back.npz"
    sp.save_npz(src, m, compressed=compressed)
    run("write", src, pq, "--quiet")
    run("read", pq, "-o", out)
    return sp.load_npz(out), pq


def info_json(run, path):
    return json.loads(run("info", path, "--json").stdout)


def test_save_npz_accepts_every_dtype(tmp_path):
    # The premise of the parametrization below: SciPy saves and loads every dtype of ours.
    for dtype in DTYPES:
        m = sp.coo_matrix((np.ones(2, dtype=dtype), ([0, 1], [1, 0])), shape=(2, 2))
        sp.save_npz(tmp_path / f"{dtype}.npz", m)
        assert sp.load_npz(tmp_path / f"{dtype}.npz").dtype == np.dtype(dtype)


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip(tmp_path, run, dtype, fmt, compressed):
    shape = FORMATS[fmt]
    nnz = min(20, int(np.prod(shape)))
    coords, data = random_entries(shape, nnz, dtype, seed=DTYPES.index(dtype))
    m = make(fmt, shape, coords, data)
    assert m.format == fmt.split("_")[0] and m.nnz == nnz
    back, pq = through_arrstore(tmp_path, run, m, compressed)
    assert back.format == "coo", "arrstore writes SciPy's COO layout"
    assert_same_entries(back, m)
    info = info_json(run, pq)
    assert info["layout"] == "sparse"
    assert info["nnz"] == nnz
    assert info["dtype"] == dtype and info["shape"] == list(shape)


def test_unsorted_indices_within_csr_rows(tmp_path, run):
    # Row 0 lists columns 5, 1, 3; row 2 lists 4, 0. SciPy keeps them as given in the file.
    data = np.array([1.5, -2.0, 3.25, 4.0, -0.0], dtype=np.float64)
    indices = np.array([5, 1, 3, 4, 0], dtype=np.int32)
    indptr = np.array([0, 3, 3, 5], dtype=np.int32)
    m = sp.csr_matrix((data, indices, indptr), shape=(3, 6))
    assert not m.has_sorted_indices
    back, _ = through_arrstore(tmp_path, run, m, False)
    assert_same_entries(back, m)
    c, v = entries(back)
    assert c.tolist() == [[0, 0, 0, 2, 2], [1, 3, 5, 0, 4]]
    assert bits(v).tolist() == bits(np.array([-2.0, 3.25, 1.5, -0.0, 4.0])).tolist()


def test_unsorted_indices_within_csc_columns(tmp_path, run):
    data = np.array([7, 8, 9], dtype=np.int16)
    indices = np.array([2, 0, 1], dtype=np.int32)
    indptr = np.array([0, 0, 3], dtype=np.int32)
    m = sp.csc_matrix((data, indices, indptr), shape=(3, 2))
    back, _ = through_arrstore(tmp_path, run, m, True)
    assert_same_entries(back, m)
    assert np.array_equal(back.toarray(), m.toarray())


@pytest.mark.parametrize("dtype", DTYPES)
def test_duplicates_are_summed_like_scipy(tmp_path, run, dtype):
    # Entries in random order, several of them at the same cell; integers wrap, bools or.
    rng = np.random.default_rng(11)
    row = np.array([2, 0, 2, 1, 2, 0, 3, 0], dtype=np.int64)
    col = np.array([1, 4, 1, 0, 1, 4, 3, 0], dtype=np.int64)
    if dtype == "bool":
        data = np.array([False, True, True, False, False, False, True, False])
    elif dtype.startswith("float"):
        data = np.array([0.5, 1.25, -3.0, 2.0, 8.0, -1.25, 0.75, 6.5], dtype=dtype)
    else:
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, len(row), dtype=dtype, endpoint=True)
        data[0] = data[2] = info.max  # wraps
    m = sp.coo_matrix((data, (row, col)), shape=(4, 5))
    assert not m.has_canonical_format
    back, pq = through_arrstore(tmp_path, run, m, False)
    assert back.dtype == m.dtype and back.shape == m.shape
    expected = m.toarray()
    assert np.array_equal(bits(back.toarray()), bits(expected))
    distinct = {(r, c) for r, c in zip(row, col)}
    assert back.nnz == len(distinct), "one entry per cell"
    assert info_json(run, pq)["nnz"] == len(distinct)


def test_duplicates_in_nd_coo_are_summed(tmp_path, run):
    coords = np.array([[1, 0, 1], [2, 2, 2], [3, 0, 3]])
    m = sp.coo_array((np.array([5, 7, 250], dtype=np.uint8), tuple(coords)), shape=(2, 3, 4))
    back, _ = through_arrstore(tmp_path, run, m, True)
    assert np.array_equal(back.toarray(), m.toarray())
    assert back.nnz == 2 and back.toarray()[1, 2, 3] == 255


@pytest.mark.parametrize("fmt", ["coo_matrix", "csr_matrix", "csc_matrix", "coo_array_3d"])
def test_explicit_zeros_are_kept(tmp_path, run, fmt):
    shape = FORMATS[fmt]
    coords, _ = random_entries(shape, 6, "float64", seed=5)
    data = np.array([0.0, 1.0, 0.0, -0.0, 2.0, 0.0])
    m = make(fmt, shape, coords, data)
    assert m.nnz == 6
    back, pq = through_arrstore(tmp_path, run, m, False)
    assert_same_entries(back, m)
    assert info_json(run, pq)["nnz"] == 6


EMPTY = [(kind, shape) for kind in ["coo", "csr", "csc"]
         for shape in [(5, 7), (0, 3), (0, 0), (3, 4, 2), (6,)] if kind == "coo" or len(shape) == 2]


@pytest.mark.parametrize("compressed", [False, True], ids=["stored", "deflated"])
@pytest.mark.parametrize("kind,shape", EMPTY)
def test_empty(tmp_path, run, kind, shape, compressed):
    if kind == "coo":
        m = sp.coo_array(shape, dtype=np.int32) if len(shape) != 2 else sp.coo_matrix(shape, dtype=np.int32)
    else:
        m = getattr(sp, f"{kind}_matrix")(shape, dtype=np.int32)
    assert m.nnz == 0
    back, pq = through_arrstore(tmp_path, run, m, compressed)
    assert back.shape == m.shape and back.dtype == m.dtype and back.nnz == 0
    info = info_json(run, pq)
    assert info["layout"] == "sparse" and info["nnz"] == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fmt", ["coo_matrix", "csr_matrix", "coo_array_3d"])
def test_read_to_npy_densifies(tmp_path, run, dtype, fmt):
    shape = FORMATS[fmt]
    coords, data = random_entries(shape, 15, dtype, seed=3)
    m = make(fmt, shape, coords, data)
    sp.save_npz(tmp_path / "m.npz", m)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    run("read", tmp_path / "m.parquet", "-o", tmp_path / "d.npy")
    d = np.load(tmp_path / "d.npy")
    # Dense cells are filled from the entries directly (toarray() would add -0.0 to 0.0).
    expected = np.zeros(shape, dtype=dtype)
    c, v = entries(m)
    expected[tuple(c)] = v
    assert d.dtype == np.dtype(dtype) and d.shape == shape
    assert np.array_equal(bits(d), bits(expected))
    assert np.array_equal(d, m.toarray(), equal_nan=dtype.startswith("float"))


def test_max_memory_refuses_a_small_dense_read(tmp_path, run):
    m = sp.coo_matrix((np.array([1.0, 2.0]), ([0, 9], [3, 9])), shape=(10, 10))  # 800 bytes dense
    sp.save_npz(tmp_path / "m.npz", m)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    out = tmp_path / "d.npy"
    p = run("read", tmp_path / "m.parquet", "-o", out, "--max-memory", "512", ok=False)
    assert p.returncode == 1, p
    assert "needs" in p.stderr and "--max-memory" in p.stderr, p.stderr
    assert not out.exists()
    p = run("read", tmp_path / "m.parquet", "-o", out, "--max-memory", "1K", ok=False)
    assert p.returncode == 0, p.stderr  # 800 bytes fit in 1 KiB
    assert np.array_equal(np.load(out), m.toarray())
    # The sparse output is never densified, so no limit applies to it.
    run("read", tmp_path / "m.parquet", "-o", tmp_path / "s.npz", "--max-memory", "1")
    assert_same_entries(sp.load_npz(tmp_path / "s.npz"), m)


def test_max_memory_1k_refuses(tmp_path, run):
    m = sp.coo_matrix((np.array([3], dtype=np.int64), ([0], [0])), shape=(20, 20))  # 3,200 bytes
    sp.save_npz(tmp_path / "m.npz", m)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    p = run("read", tmp_path / "m.parquet", "-o", tmp_path / "d.npy", "--max-memory", "1K", ok=False)
    assert p.returncode == 1
    assert "needs" in p.stderr and "--max-memory" in p.stderr, p.stderr
    assert not (tmp_path / "d.npy").exists()


def test_sparse_npz_output_honours_compress(tmp_path, run):
    coords, data = random_entries((50, 60), 300, "int64", seed=1)
    m = make("coo_matrix", (50, 60), coords, data)
    sp.save_npz(tmp_path / "m.npz", m)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    for flag, method in [((), zipfile.ZIP_STORED), (("--compress",), zipfile.ZIP_DEFLATED)]:
        out = tmp_path / f"out{len(flag)}.npz"
        run("read", tmp_path / "m.parquet", "-o", out, *flag)
        with zipfile.ZipFile(out) as z:
            assert {i.compress_type for i in z.infolist()} == {method}
        assert_same_entries(sp.load_npz(out), m)


@pytest.mark.parametrize("fmt", ["dia", "bsr"])
def test_unsupported_sparse_formats_are_named(tmp_path, run, fmt):
    m = sp.dia_matrix(np.eye(4)) if fmt == "dia" else sp.bsr_matrix(np.eye(4), blocksize=(2, 2))
    sp.save_npz(tmp_path / "m.npz", m)
    p = run("write", tmp_path / "m.npz", tmp_path / "m.parquet", ok=False)
    assert p.returncode == 1
    assert not (tmp_path / "m.parquet").exists()
    assert f"'{fmt}' is not supported" in p.stderr and ".tocoo()" in p.stderr, p.stderr


def test_unsupported_sparse_formats_fail_cleanly(tmp_path, run):
    # Whatever the message, a dia or bsr archive is refused with exit 1 and writes nothing.
    for m in [sp.dia_matrix(np.eye(4)), sp.bsr_matrix(np.eye(4), blocksize=(2, 2))]:
        sp.save_npz(tmp_path / "m.npz", m)
        p = run("write", tmp_path / "m.npz", tmp_path / "m.parquet", ok=False)
        assert p.returncode == 1 and p.stderr.startswith("error: ") and "m.npz" in p.stderr, p
        assert not (tmp_path / "m.parquet").exists()


def peak_rss_of(cmd):
    """Runs `cmd` under /usr/bin/time -v; returns (completed process, peak RSS in bytes)."""
    p = subprocess.run(["/usr/bin/time", "-v", *map(str, cmd)], capture_output=True, text=True)
    line = next(x for x in p.stderr.splitlines() if "Maximum resident set size" in x)
    return p, int(line.split(":")[1]) * 1024


def peak_rss_via_rusage(cmd):
    """The same without /usr/bin/time: the children's max RSS, which only grows, so the child
    must be the largest one run so far for the figure to be its own (an upper bound otherwise)."""
    p = subprocess.run(list(map(str, cmd)), capture_output=True, text=True)
    return p, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def measure(cmd):
    try:
        return peak_rss_of(cmd)
    except (FileNotFoundError, StopIteration):
        return peak_rss_via_rusage(cmd)


def test_a_huge_sparse_matrix_is_never_densified(tmp_path, arrstore_bin):
    n, nnz = 200_000, 2_000_000
    rng = np.random.default_rng(2024)
    row = rng.integers(0, n, nnz, dtype=np.int32)
    col = rng.integers(0, n, nnz, dtype=np.int32)
    data = rng.integers(0, 256, nnz).astype(np.float64) * 0.5 - 17.0  # 256 distinct values
    m = sp.coo_matrix((data, (row, col)), shape=(n, n))
    src, pq, back = tmp_path / "big.npz", tmp_path / "big.parquet", tmp_path / "back.npz"
    sp.save_npz(src, m, compressed=False)
    limit = 1 << 30  # the dense array would take 320 GB
    p, rss = measure([arrstore_bin, "write", src, pq, "--quiet"])
    assert p.returncode == 0, p.stderr
    assert rss < limit, f"write peaked at {rss / 2**20:.0f} MiB"
    p, rss = measure([arrstore_bin, "read", pq, "-o", back])
    assert p.returncode == 0, p.stderr
    assert rss < limit, f"read peaked at {rss / 2**20:.0f} MiB"

    got = sp.load_npz(back)
    assert got.shape == (n, n) and got.dtype == np.float64
    want = m.copy()
    want.sum_duplicates()  # random positions collide a little; SciPy sums them, as must arrstore
    assert got.nnz == want.nnz
    gc, gv = entries(got)
    wc, wv = entries(want)
    assert np.array_equal(gc, wc) and np.array_equal(bits(gv), bits(wv))

    info = json.loads(subprocess.run([str(arrstore_bin), "info", pq, "--json"], capture_output=True,
                                     text=True, check=True).stdout)
    assert info["layout"] == "sparse" and info["nnz"] == want.nnz

    dense = tmp_path / "dense.npy"
    p = subprocess.run([str(arrstore_bin), "read", pq, "-o", dense], capture_output=True, text=True)
    assert p.returncode == 1, p
    assert "needs" in p.stderr and "--max-memory" in p.stderr, p.stderr
    assert not dense.exists()


def test_big_endian_data_and_int64_indices(tmp_path, run):
    # SciPy itself refuses big-endian data, but an archive in its layout can hold it (written by
    # np.savez, or by SciPy on a big-endian machine): arrstore reads it in native order.
    data = np.array([1.5, -2.0, np.nan, -0.0], dtype=">f8")
    row = np.array([3, 0, 2, 0], dtype=">i8")
    col = np.array([1, 4, 2, 0], dtype=np.int64)
    np.savez(tmp_path / "m.npz", row=row, col=col, format=np.array(b"coo"), shape=np.array([5, 6]),
             data=data)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    run("read", tmp_path / "m.parquet", "-o", tmp_path / "back.npz")
    back = sp.load_npz(tmp_path / "back.npz")
    assert back.dtype == np.dtype("f8")
    c, v = entries(back)
    assert c.tolist() == [[0, 0, 2, 3], [0, 4, 2, 1]]
    want = np.array([-0.0, -2.0, np.nan, 1.5])
    assert np.array_equal(bits(v), bits(want))


def test_hand_written_nd_archive_with_fortran_coords(tmp_path, run):
    # SciPy's n-d layout written by np.savez: coords (ndim, nnz) in Fortran order, uint16.
    coords = np.asfortranarray(np.array([[0, 1, 1], [2, 0, 3], [4, 4, 0]], dtype=np.uint16))
    np.savez(tmp_path / "m.npz", format=np.array(b"coo"), shape=np.array([2, 4, 5]),
             coords=coords, data=np.array([7, -8, 9], dtype=np.int8), _is_array=np.array(True))
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    run("read", tmp_path / "m.parquet", "-o", tmp_path / "back.npz")
    back = sp.load_npz(tmp_path / "back.npz")
    assert back.shape == (2, 4, 5) and back.dtype == np.int8
    c, v = entries(back)
    assert c.tolist() == [[0, 1, 1], [2, 0, 3], [4, 4, 0]] and v.tolist() == [7, -8, 9]


def test_wide_axes_use_int64_coordinates(tmp_path, run):
    # An axis longer than int32 allows: SciPy needs int64 indices, and arrstore writes them.
    m = sp.coo_array((np.array([1, 2], dtype=np.uint8), (np.array([0, 3_000_000_000]), np.array([1, 0]))),
                     shape=(3_000_000_001, 2))
    sp.save_npz(tmp_path / "m.npz", m)
    run("write", tmp_path / "m.npz", tmp_path / "m.parquet", "--quiet")
    run("read", tmp_path / "m.parquet", "-o", tmp_path / "back.npz")
    with np.load(tmp_path / "back.npz") as z:
        assert z["row"].dtype == np.int64
    back = sp.load_npz(tmp_path / "back.npz")
    assert_same_entries(back, m)
