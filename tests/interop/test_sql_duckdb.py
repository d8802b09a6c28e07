"""`arrstore sql` against DuckDB reading the same Parquet files, and against NumPy on the arrays.

Each test writes arrays with the arrstore binary, asks the same question three ways (arrstore's
SQL, DuckDB's SQL over the raw file with the format's rules applied by hand, NumPy on the
array) and compares the answers.
"""

import json

import duckdb
import numpy as np
import pyarrow.parquet as pq
import pytest


def stars(shape, density, seed):
    """A float64 "star image": about `density` of the cells non-zero, values in (0, 1]."""
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    a[a > density] = 0.0
    a[a != 0] = 1.0 - rng.random(np.count_nonzero(a))
    return a


def write(run, tmp_path, name, array, *flags):
    npy = tmp_path / f"{name}.npy"
    np.save(npy, array)
    out = tmp_path / f"{name}.parquet"
    run("write", npy, out, "--quiet", *flags)
    return out


def sql(run, query, *args):
    """Runs `arrstore sql QUERY ARGS --format json`; the rows as a list of dicts."""
    p = run("sql", query, *args, "--format", "json")
    return json.loads(p.stdout)


def offset_of(path):
    meta = json.loads(pq.read_metadata(path).metadata[b"arrstore"])
    (value,) = [c for c in meta["columns"] if c["role"] == "value"]
    return int(value.get("offset", 0)), meta


@pytest.fixture
def star_file(run, tmp_path):
    a = stars((400, 300), 0.05, seed=42)
    return a, write(run, tmp_path, "stars", a, "--layout", "sparse", "--row-group-size", "2000")


def test_per_row_aggregates_equal_duckdb_and_numpy(run, star_file):
    a, path = star_file
    q = "SELECT row, count(*) AS n, sum(value) AS s, max(value) AS m FROM stars GROUP BY row ORDER BY row"
    ours = sql(run, q, "--table", f"stars={path}")
    duck = duckdb.sql(q.replace("FROM stars", f"FROM read_parquet('{path}')")).fetchall()
    nz_rows = np.flatnonzero(np.count_nonzero(a, axis=1))
    assert [r["row"] for r in ours] == [r[0] for r in duck] == nz_rows.tolist()
    assert [r["n"] for r in ours] == [r[1] for r in duck] == np.count_nonzero(a, axis=1)[nz_rows].tolist()
    np.testing.assert_allclose([r["s"] for r in ours], a.sum(axis=1)[nz_rows], rtol=1e-12)
    np.testing.assert_allclose([r["s"] for r in ours], [r[2] for r in duck], rtol=1e-12)
    assert [r["m"] for r in ours] == [r[3] for r in duck] == a.max(axis=1)[nz_rows].tolist()


def test_column_sums_and_threshold_equal_duckdb_and_numpy(run, star_file):
    a, path = star_file
    q = "SELECT col, sum(value) AS s FROM stars GROUP BY col ORDER BY col"
    ours = sql(run, q, "--table", f"stars={path}")
    duck = duckdb.sql(q.replace("FROM stars", f"FROM read_parquet('{path}')")).fetchall()
    np.testing.assert_allclose([r["s"] for r in ours], [r[1] for r in duck], rtol=1e-12)
    col_sums = a.sum(axis=0)
    np.testing.assert_allclose([r["s"] for r in ours], col_sums[col_sums != 0], rtol=1e-12)

    q = "SELECT count(*) AS n, sum(value) AS s FROM stars WHERE value > 0.95 AND row BETWEEN 100 AND 199"
    (ours,) = sql(run, q, "--table", f"stars={path}")
    (duck,) = duckdb.sql(q.replace("FROM stars", f"FROM read_parquet('{path}')")).fetchall()
    sel = a[100:200]
    sel = sel[sel > 0.95]
    assert ours["n"] == duck[0] == sel.size > 0
    assert ours["s"] == pytest.approx(sel.sum(), rel=1e-12) == duck[1]


def test_narrowed_values_equal_duckdb_with_the_offset_applied(run, tmp_path):
    rng = np.random.default_rng(7)
    a = (10**12 + rng.integers(0, 200, size=(60, 50))).astype(np.int64)
    path = write(run, tmp_path, "big", a, "--layout", "dense")
    offset, meta = offset_of(path)
    assert offset != 0 and meta["columns"][0]["stored_type"] == "uint8"
    q = "SELECT sum(value) AS s, min(value) AS lo, max(value) AS hi FROM big"
    (ours,) = sql(run, q, "--table", f"big={path}")
    (duck,) = duckdb.sql(
        f"SELECT sum(CAST(value AS BIGINT) + {offset}), min(CAST(value AS BIGINT) + {offset}), "
        f"max(CAST(value AS BIGINT) + {offset}) FROM read_parquet('{path}')"
    ).fetchall()
    assert (ours["s"], ours["lo"], ours["hi"]) == (int(a.sum()), int(a.min()), int(a.max()))
    assert (ours["s"], ours["lo"], ours["hi"]) == tuple(int(x) for x in duck)


def test_dense_row_sums_equal_duckdb_row_numbers_and_numpy(run, tmp_path):
    rng = np.random.default_rng(3)
    a = rng.integers(-500, 500, size=(123, 45)).astype(np.int32)
    path = write(run, tmp_path, "dense", a, "--layout", "dense", "--row-group-size", "1000")
    q = "SELECT row, sum(value) AS s FROM dense GROUP BY row ORDER BY row"
    ours = sql(run, q, "--table", f"dense={path}")
    duck = duckdb.sql(
        f"SELECT file_row_number // 45 AS row, sum(value) FROM read_parquet('{path}', file_row_number=true) "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [r["s"] for r in ours] == [r[1] for r in duck] == a.sum(axis=1).tolist()
    (one,) = sql(run, "SELECT sum(value) AS s FROM dense WHERE row = 3", "--table", f"dense={path}")
    assert one["s"] == int(a[3].sum())
    (one,) = sql(run, "SELECT sum(value) AS s FROM dense WHERE col = 44", "--table", f"dense={path}")
    assert one["s"] == int(a[:, 44].sum())


def test_into_makes_the_filtered_array(run, star_file, tmp_path):
    a, path = star_file
    out = tmp_path / "bright.parquet"
    run("sql", "SELECT row, col, value FROM stars WHERE value > 0.9", "--table", f"stars={path}", "--into", out)
    run("read", out, "-o", tmp_path / "bright.npy")
    back = np.load(tmp_path / "bright.npy")
    np.testing.assert_array_equal(back, np.where(a > 0.9, a, 0.0))
    # DuckDB reads the new file: the same cells as its own filter of the source.
    mine = duckdb.sql(f"SELECT row, col, value FROM read_parquet('{out}') ORDER BY 1, 2").fetchall()
    theirs = duckdb.sql(
        f"SELECT row, col, value FROM read_parquet('{path}') WHERE value > 0.9 ORDER BY 1, 2"
    ).fetchall()
    assert mine == theirs and len(mine) > 0


def test_store_and_errors(run, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    a = stars((40, 30), 0.2, seed=1)
    write(run, store, "a", a, "--layout", "sparse")
    write(run, store, "b", np.arange(1200, dtype=np.int64).reshape(40, 30), "--layout", "dense")
    (r,) = sql(
        run,
        "SELECT sum(a.value * b.value) AS s FROM a JOIN b ON a.row = b.row AND a.col = b.col",
        "--store",
        store,
    )
    expected = (a * np.arange(1200).reshape(40, 30)).sum()
    assert r["s"] == pytest.approx(expected, rel=1e-12)
    p = run("sql", "SELECT * FROM missing", "--store", store, ok=False)
    assert p.returncode == 1 and "table 'datafusion.public.missing' not found" in p.stderr
    p = run("sql", "SELECT colour FROM a", "--store", store, ok=False)
    assert p.returncode == 1 and "colour" in p.stderr and "panicked" not in p.stderr
