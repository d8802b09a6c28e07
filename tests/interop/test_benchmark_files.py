"""Benchmark-style files (the public cases' recipes at a reduced size) read back exactly by
pyarrow and DuckDB, whatever encodings, codecs and levels the writer chose for them."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

duckdb = pytest.importorskip("duckdb")


def cases():
    rng = np.random.default_rng(11)
    stars = rng.random((256, 256))
    stars[stars < 0.9] = 0
    field = np.cumsum(np.cumsum(rng.standard_normal((512, 512)), 0), 1)
    return {
        "ones_u64": np.ones((256, 256), np.uint64),
        "stars_f64": stars,
        "counts_i64": rng.integers(0, 60001, (300, 300), np.int64),
        "image_u16_as_f64": np.clip(np.round(rng.normal(2000, 25, (200, 300))), 0, 4095),
        "float32_in_f64": rng.standard_normal((256, 256), np.float32).astype(np.float64),
        "labels_i64": np.digitize(field, np.quantile(field, np.linspace(0.35, 1, 12)[:-1])).astype(np.int64),
        "bool_mask": rng.random((512, 512)) < 0.05,
        "nd_f32": rng.random((8, 32, 32), np.float32),
        "random_f64": rng.random((200, 300)),
        "offset_i64": 10**12 + rng.integers(0, 200, (100, 100)),
    }


@pytest.mark.parametrize("name", sorted(cases()))
def test_pyarrow_and_duckdb_read_the_values(tmp_path, run, name):
    a = cases()[name]
    src, path = tmp_path / f"{name}.npy", tmp_path / f"{name}.parquet"
    np.save(src, a)
    run("write", src, path, "--quiet")
    meta = json.loads(pq.ParquetFile(path).metadata.metadata[b"arrstore"])
    value = next(c for c in meta["columns"] if c["role"] == "value")
    offset = int(value.get("offset", 0))

    def logical(values):
        v = np.asarray(values)
        if offset:
            v = v.astype(np.int64) + offset
        return v.astype(a.dtype)

    table = pq.read_table(path)

    def col(n):
        c = table.column(n)
        if pa.types.is_dictionary(c.type):
            c = c.cast(c.type.value_type)
        return c.to_numpy()

    con = duckdb.connect()
    if meta["layout"] == "dense":
        got = logical(col("value")).reshape(a.shape)
        assert got.tobytes() == a.tobytes()
        rows = con.execute(f"SELECT value FROM '{path}'").fetchnumpy()["value"]
        assert logical(rows).reshape(a.shape).tobytes() == a.tobytes()
    elif meta["layout"] == "runs":
        got = np.repeat(logical(col("value")), col("length").astype(np.int64)).reshape(a.shape)
        assert got.tobytes() == a.tobytes()
        lengths = con.execute(f"SELECT length FROM '{path}'").fetchnumpy()["length"]
        assert int(lengths.astype(np.int64).sum()) == a.size
    else:
        names = [c["name"] for c in meta["columns"] if c["role"] == "index"]
        dense = np.zeros(a.shape, a.dtype)
        idx = tuple(col(n).astype(np.int64) for n in names)
        dense[idx] = logical(col("value"))
        assert dense.tobytes() == a.tobytes()
        cols = ", ".join(names)
        res = con.execute(f"SELECT {cols}, value FROM '{path}' ORDER BY {cols}").fetchnumpy()
        dense = np.zeros(a.shape, a.dtype)
        dense[tuple(res[n].astype(np.int64) for n in names)] = logical(res["value"])
        assert dense.tobytes() == a.tobytes()
