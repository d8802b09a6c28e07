"""How arrstore's write and read costs grow with the input: time and peak memory at several sizes.

Usage (from the repository root, numpy installed, e.g. the tests' .venv):

    .venv/bin/python benches/peers/scaling.py [WORK_DIR] [--sizes-mib 8,128,2048] [--data counts|labels]
                                      [--keep] [--no-build]

For each size, makes a C-order int64 `.npy` (written in chunks so this script never holds the
array): `counts`, random counts in 0..60000 (fixed seed; stored dense), or `labels`, a 2-D array
of 4096 columns holding 12 classes of a smooth field (a function of the cell's coordinates; long
runs along each row, stored as runs). Then runs the release `arrstore write` and
`arrstore read -o` as whole processes under GNU time and prints seconds, peak resident memory,
the layout chosen and bytes on disk, with the per-GiB figures that show whether growth is
linear. Each read is checked against the input byte for byte. Inputs are deleted afterwards
unless --keep.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/arrstore"
CHUNK = 1 << 24  # elements generated and written at a time (128 MiB of int64)


LABEL_COLUMNS = 4096


def make_npy(path: Path, elements: int, seed: int) -> None:
    """Random counts in 0..60000, 1-D."""
    rng = np.random.default_rng(seed)
    header = np.lib.format.header_data_from_array_1_0(np.zeros(0, np.int64))
    header["shape"] = (elements,)
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        left = elements
        while left:
            n = min(left, CHUNK)
            rng.integers(0, 60001, n, dtype=np.int64).tofile(f)
            left -= n


def make_labels(path: Path, elements: int) -> None:
    """12 classes of a smooth field over (row, column), 4096 columns; class 0 where it is low."""
    rows = elements // LABEL_COLUMNS
    header = np.lib.format.header_data_from_array_1_0(np.zeros((0, LABEL_COLUMNS), np.int64))
    header["shape"] = (rows, LABEL_COLUMNS)
    j = np.arange(LABEL_COLUMNS)[None, :]
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, header)
        for start in range(0, rows, CHUNK // LABEL_COLUMNS):
            i = np.arange(start, min(rows, start + CHUNK // LABEL_COLUMNS))[:, None]
            field = np.sin(i / 97.0) + np.sin(j / 131.0) + 0.5 * np.sin((i + j) / 53.0) + 0.3 * np.sin((i - 2 * j) / 29.0)
            labels = (np.floor((field + 2.1) * 2.75).astype(np.int64) % 11) + 1
            labels[field < -0.4] = 0
            labels.tofile(f)


def same(a: Path, b: Path) -> bool:
    """Same dtype, shape and bytes, compared a chunk at a time through memory maps."""
    x, y = np.load(a, mmap_mode="r"), np.load(b, mmap_mode="r")
    if x.dtype != y.dtype or x.shape != y.shape:
        return False
    return all(np.array_equal(x[i:i + CHUNK], y[i:i + CHUNK]) for i in range(0, x.size, CHUNK))


def timed(cmd) -> tuple[float, int]:
    """(seconds, peak KiB) of one process."""
    with tempfile.NamedTemporaryFile() as out:
        start = time.perf_counter()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *map(str, cmd)], check=True)
        seconds = time.perf_counter() - start
        return seconds, int(Path(out.name).read_text().split()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work", nargs="?", default="/tmp/arrstore-scaling")
    ap.add_argument("--sizes-mib", default="8,128,2048")
    ap.add_argument("--data", choices=["counts", "labels"], default="counts")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "arrstore", "--example", "sql_bench"],
                       cwd=ROOT, check=True)  # as benches/peers/run.sh builds them
    rows = []
    for mib in (int(s) for s in args.sizes_mib.split(",")):
        npy, parquet, back = (work / f"{args.data}_{mib}.npy", work / f"{args.data}_{mib}.parquet",
                              work / f"back_{mib}.npy")
        if args.data == "counts":
            make_npy(npy, mib * (1 << 20) // 8, seed=mib)
        else:
            make_labels(npy, mib * (1 << 20) // 8)
        for p in (parquet, back):
            p.unlink(missing_ok=True)
        ws, wk = timed([BIN, "--quiet", "write", npy, parquet])
        rs, rk = timed([BIN, "--quiet", "read", parquet, "-o", back])
        assert same(npy, back), f"{back} differs from {npy}"
        info = json.loads(subprocess.run([BIN, "info", "--json", parquet], check=True, capture_output=True).stdout)
        rows.append((mib, ws, wk / 1024, rs, rk / 1024, info["layout"], parquet.stat().st_size))
        if not args.keep:
            for p in (npy, parquet, back):
                p.unlink()
    print("| input | write s | write s/GiB | write peak MiB | read s | read s/GiB | read peak MiB | layout | on disk |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for mib, ws, wm, rs, rm, layout, disk in rows:
        gib = mib / 1024
        print(f"| {mib:,} MiB | {ws:.2f} | {ws / gib:.2f} | {wm:,.0f} | {rs:.2f} | {rs / gib:.2f} | {rm:,.0f} | {layout} "
              f"| {disk:,} |")


if __name__ == "__main__":
    main()
