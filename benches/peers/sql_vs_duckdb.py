"""SQL over a stored sparse array: arrstore (DataFusion, in process) against DuckDB on the same file.

Usage (from the repository root, with numpy and duckdb installed, e.g. the tests' .venv):

    .venv/bin/python benches/peers/sql_vs_duckdb.py [WORK_DIR] [--reps N] [--profile release|dev]

Makes the `sparse_large` array deterministically (scipy-style COO, 200000x200000 float64,
2,000,000 nonzeros at uniform random positions, 256 distinct values), stores it with arrstore,
then times each query several times with both engines, in one run, on the same Parquet file,
both returning Arrow tables. Prints best and median seconds and the ratio arrstore/DuckDB
(below 1: arrstore faster).
"""

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

import duckdb
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SHAPE = (200_000, 200_000)
NNZ = 2_000_000

QUERIES = {
    "group by row, sum": "SELECT row, sum(value) AS s FROM t GROUP BY row",
    "selective filter (rows 1000-1099)": "SELECT row, col, value FROM t WHERE row BETWEEN 1000 AND 1099",
    # The two largest of the 256 values: about 15,600 cells spread over the whole file.
    "filter on value (top 2 of 256 levels)": "SELECT row, col, value FROM t WHERE value >= {threshold}",
}


BENCH = ROOT / "target/release/examples/sql_bench"


def make(work: Path) -> Path:
    rng = np.random.default_rng(20240601)
    flat = np.unique(rng.integers(0, SHAPE[0] * SHAPE[1], size=NNZ + NNZ // 100))
    flat = np.sort(rng.permutation(flat)[:NNZ])  # NNZ distinct positions, row-major order
    rows, cols = np.divmod(flat, SHAPE[1])
    levels = rng.random(256)
    values = levels[rng.integers(0, 256, NNZ)]
    for name, a in (("rows", rows), ("cols", cols), ("values", values)):
        np.save(work / f"{name}.npy", a.astype(np.float64 if name == "values" else np.int64))
    out = work / "sparse_large.parquet"
    subprocess.run(
        [str(BENCH), "write", *(str(work / f"{n}.npy") for n in ("rows", "cols", "values")),
         str(SHAPE[0]), str(SHAPE[1]), str(out)],
        check=True,
    )
    return out, float(np.sort(levels)[-2])


def time_duckdb(path: Path, query: str, reps: int):
    con = duckdb.connect()
    con.execute(f"CREATE VIEW t AS SELECT * FROM read_parquet('{path}')")
    times, rows = [], 0
    for _ in range(reps):
        start = time.perf_counter()
        table = con.sql(query).to_arrow_table()
        times.append(time.perf_counter() - start)
        rows = table.num_rows
    times.sort()
    return {"best": times[0], "median": times[len(times) // 2], "rows": rows}


def time_arrstore(path: Path, queries, reps: int):
    p = subprocess.run(
        [str(BENCH), "time", str(path), str(reps), *queries],
        check=True, capture_output=True, text=True,
    )
    return [json.loads(line) for line in p.stdout.splitlines()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="/tmp/arrstore-sql-bench")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--profile", default="release", choices=["release", "dev"])
    args = ap.parse_args()
    global BENCH
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    BENCH = target / ("release" if args.profile == "release" else "debug") / "examples/sql_bench"
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cargo", "build", "--profile", args.profile, "--quiet", "--bin", "arrstore", "--example", "sql_bench"],
                   cwd=ROOT, check=True)  # as benches/peers/run.sh builds them
    path, threshold = make(work)
    queries = {label: q.format(threshold=repr(threshold)) for label, q in QUERIES.items()}
    print(f"{path}: {path.stat().st_size:,} bytes; {args.profile} build; duckdb {duckdb.__version__}, {args.reps} runs each\n")
    ours = time_arrstore(path, list(queries.values()), args.reps)
    print(f"{'query':<40}{'rows':>9}{'arrstore best':>15}{'median':>9}{'duckdb best':>13}{'median':>9}{'ratio':>8}")
    for (label, q), mine in zip(queries.items(), ours):
        duck = time_duckdb(path, q, args.reps)
        assert mine["rows"] == duck["rows"], (label, mine["rows"], duck["rows"])
        print(
            f"{label:<40}{mine['rows']:>9,}{mine['best'] * 1000:>13.1f}ms{mine['median'] * 1000:>7.1f}ms"
            f"{duck['best'] * 1000:>11.1f}ms{duck['median'] * 1000:>7.1f}ms{mine['best'] / duck['best']:>8.2f}"
        )


if __name__ == "__main__":
    main()
