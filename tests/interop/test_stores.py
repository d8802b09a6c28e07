"""A NumPy .npz of several arrays becomes a store (a directory: one arrstore file per array and
store.json) and comes back from it as the same .npz: keys, dtypes, shapes, memory order, bits."""

import json
import zipfile

import numpy as np
import pyarrow.parquet as pq
import pytest

from common import DTYPES


def sample(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if dtype == "bool":
        return (rng.random(n) < 0.3).reshape(shape)
    if dtype.startswith("float"):
        uint = np.uint32 if dtype == "float32" else np.uint64
        a = rng.integers(0, np.iinfo(uint).max, n, dtype=uint, endpoint=True).view(dtype).copy()
        a[: min(n, 4)] = np.array([-0.0, np.inf, np.nan, 0.5], dtype=dtype)[: min(n, 4)]
        return a.reshape(shape)
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
    a[a % 3 == 0] = 0
    return a.reshape(shape)


def arrays():
    """Every dtype, plus Fortran order, big-endian, 0-d, empty, and awkward keys."""
    out = {f"a_{d}": sample(d, (6, 5), i) for i, d in enumerate(DTYPES)}
    out["fortran"] = np.asfortranarray(sample("int32", (4, 7), 20))
    out["fortran 3d"] = np.asfortranarray(sample("float64", (3, 4, 5), 21))
    out["big_endian_f8"] = sample("float64", (5, 3), 22).astype(">f8")
    out["big_endian_u4"] = sample("uint32", (9,), 23).astype(">u4")
    out["zero_d"] = np.array(42, dtype=np.int64)
    out["zero_d_float"] = np.array(np.nan, dtype=np.float32)
    out["empty"] = np.zeros((0,), dtype=np.uint16)
    out["empty_2d"] = np.zeros((3, 0), dtype=np.float32)
    out["with spaces"] = np.arange(10, dtype=np.int16)
    out["dir/with/slashes"] = np.arange(12, dtype=np.int8).reshape(3, 4)
    out["with_spaces"] = np.array([True])  # the same file name as "with spaces" once made safe
    out["température"] = np.linspace(0, 1, 7)
    out["counts"] = (np.arange(3000, dtype=np.int64) * 7919) % 60000  # narrows to uint16
    rng = np.random.default_rng(30)
    mostly_zero = np.zeros((500, 400))
    mostly_zero.flat[rng.choice(mostly_zero.size, 40, replace=False)] = rng.random(40)
    out["mostly_zero"] = mostly_zero  # stored sparse
    return out


def assert_same(b, a, key):
    assert b.dtype == a.dtype.newbyteorder("="), (key, b.dtype, a.dtype)
    assert b.shape == a.shape, (key, b.shape, a.shape)
    assert b.tobytes(order="C") == a.astype(b.dtype).tobytes(order="C"), f"{key}: bits differ"
    if a.ndim > 1 and a.size > 1:
        assert b.flags.f_contiguous == a.flags.f_contiguous, f"{key}: memory order differs"


@pytest.mark.parametrize("save", ["savez", "savez_compressed"])
def test_npz_to_store_and_back(tmp_path, run, save):
    src = arrays()
    getattr(np, save)(tmp_path / "a.npz", **src)
    store = tmp_path / "store_dir"
    run("write", tmp_path / "a.npz", store, "--quiet")

    index = json.loads((store / "store.json").read_text())
    assert index["format_version"] == "1.0"
    assert [e["name"] for e in index["arrays"]] == list(src)
    files = [e["file"] for e in index["arrays"]]
    assert len(set(files)) == len(files), "one file per array"
    assert sorted(p.name for p in store.iterdir()) == sorted(files + ["store.json"])
    for f in files:
        assert f.endswith(".parquet") and "/" not in f and not f.startswith(".")
        meta = json.loads(pq.read_metadata(store / f).metadata[b"arrstore"])  # each opens alone
        assert meta["format_version"] in ("1.4", "2.0")
    assert index["arrays"][list(src).index("with spaces")]["file"] == "with_spaces.parquet"
    assert index["arrays"][list(src).index("dir/with/slashes")]["file"] == "dir_with_slashes.parquet"
    assert index["arrays"][list(src).index("with_spaces")]["file"] == "with_spaces~1.parquet"

    back = tmp_path / "b.npz"
    run("read", store, "-o", back)
    with np.load(back) as b:
        assert list(b.keys()) == list(src)
        for k, a in src.items():
            assert_same(b[k], a, k)
    with zipfile.ZipFile(back) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}


def test_info_lists_the_arrays(tmp_path, run):
    src = arrays()
    np.savez(tmp_path / "a.npz", **src)
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    text = run("info", tmp_path / "s").stdout
    assert f"({len(src)} arrays)" in text
    for k in src:
        assert k in text, k
    assert "total" in text
    info = json.loads(run("info", tmp_path / "s", "--json").stdout)
    assert [a["name"] for a in info["arrays"]] == list(src)
    by_name = {a["name"]: a for a in info["arrays"]}
    for k, a in src.items():
        r = by_name[k]
        assert r["shape"] == list(a.shape) and r["dtype"] == a.dtype.name, (k, r)
        assert r["memory_bytes"] == a.nbytes, k
        assert (tmp_path / "s" / r["file"]).is_file()
        assert r["disk_bytes"] == (tmp_path / "s" / r["file"]).stat().st_size, k
    assert by_name["mostly_zero"]["layout"] == "sparse"
    assert by_name["mostly_zero"]["nnz"] == int(np.count_nonzero(src["mostly_zero"]))
    assert by_name["counts"]["columns"][0]["stored_type"] == "uint16"


def test_compress_deflates_the_archive(tmp_path, run):
    src = {"x": np.zeros(10_000, dtype=np.int64), "y": np.arange(100, dtype=np.float32)}
    np.savez(tmp_path / "a.npz", **src)
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz", "--compress")
    with zipfile.ZipFile(tmp_path / "b.npz") as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}
        assert sorted(z.namelist()) == ["x.npy", "y.npy"]
    assert (tmp_path / "b.npz").stat().st_size < 10_000
    with np.load(tmp_path / "b.npz") as b:
        for k, a in src.items():
            assert_same(b[k], a, k)


def test_positional_arrays_keep_numpys_keys(tmp_path, run):
    a, b = np.arange(5, dtype=np.uint8), np.eye(3)
    np.savez(tmp_path / "a.npz", a, b)
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as z:
        assert list(z.keys()) == ["arr_0", "arr_1"]
        assert_same(z["arr_0"], a, "arr_0")
        assert_same(z["arr_1"], b, "arr_1")


def test_an_empty_archive_is_an_empty_store(tmp_path, run):
    np.savez(tmp_path / "a.npz")
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    assert json.loads((tmp_path / "s" / "store.json").read_text())["arrays"] == []
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as z:
        assert list(z.keys()) == []


def snapshot(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_existing_store_needs_force(tmp_path, run):
    np.savez(tmp_path / "one.npz", a=np.arange(4), b=np.ones(3, dtype=np.float32))
    np.savez(tmp_path / "two.npz", c=np.array([True, False]))
    store = tmp_path / "s"
    run("write", tmp_path / "one.npz", store, "--quiet")
    before = snapshot(store)

    p = run("write", tmp_path / "two.npz", store, ok=False)
    assert p.returncode == 1
    assert "exists" in p.stderr and "--force" in p.stderr, p.stderr
    assert snapshot(store) == before, "a refused write leaves the store intact"

    run("write", tmp_path / "two.npz", store, "--force", "--quiet")
    assert sorted(p.name for p in store.iterdir()) == ["c.parquet", "store.json"]
    run("read", store, "-o", tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as z:
        assert list(z.keys()) == ["c"] and z["c"].tolist() == [True, False]
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["b.npz", "one.npz", "s", "two.npz"], "no temporary directories remain"


def test_read_of_a_store_into_an_existing_npz_needs_force(tmp_path, run):
    np.savez(tmp_path / "a.npz", x=np.arange(3))
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    (tmp_path / "b.npz").write_bytes(b"keep me")
    p = run("read", tmp_path / "s", "-o", tmp_path / "b.npz", ok=False)
    assert p.returncode == 1 and "--force" in p.stderr
    assert (tmp_path / "b.npz").read_bytes() == b"keep me"
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz", "--force")
    with np.load(tmp_path / "b.npz") as z:
        assert z["x"].tolist() == [0, 1, 2]


def test_a_store_does_not_read_into_npy(tmp_path, run):
    np.savez(tmp_path / "a.npz", x=np.arange(3), y=np.arange(2))
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    p = run("read", tmp_path / "s", "-o", tmp_path / "b.npy", ok=False)
    assert p.returncode == 1 and ".npz" in p.stderr, p.stderr
    assert not (tmp_path / "b.npy").exists()


def test_store_read_checks_memory(tmp_path, run):
    np.savez(tmp_path / "a.npz", x=np.arange(1000, dtype=np.int64), y=np.zeros(10, np.uint8))
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    p = run("read", tmp_path / "s", "-o", tmp_path / "b.npz", "--max-memory", "4K", ok=False)
    assert p.returncode == 1 and "need" in p.stderr and "--max-memory" in p.stderr, p.stderr
    assert not (tmp_path / "b.npz").exists()
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz", "--max-memory", "8K")


def test_a_dense_file_reads_into_a_one_array_npz_keyed_by_its_stem(tmp_path, run):
    a = sample("uint64", (4, 3), 9)
    np.save(tmp_path / "weights.npy", a)
    run("write", tmp_path / "weights.npy", tmp_path / "weights.parquet", "--quiet")
    run("read", tmp_path / "weights.parquet", "-o", tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz") as z:
        assert list(z.keys()) == ["weights"]
        assert_same(z["weights"], a, "weights")


@pytest.mark.parametrize("dtype", DTYPES)
def test_single_array_npz_is_a_store_too(tmp_path, run, dtype):
    a = sample(dtype, (8, 3), 4)
    np.savez_compressed(tmp_path / "a.npz", only=a)
    run("write", tmp_path / "a.npz", tmp_path / "s", "--quiet")
    assert (tmp_path / "s" / "only.parquet").is_file()
    run("read", tmp_path / "s", "-o", tmp_path / "b.npz")
    with np.load(tmp_path / "b.npz") as z:
        assert_same(z["only"], a, "only")
