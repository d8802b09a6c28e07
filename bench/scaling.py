"""How arrstore's write and read costs grow with the input: time and peak memory at several sizes.

Usage (from the repository root, numpy installed, e.g. the tests' .venv):

    .venv/bin/python bench/scaling.py [WORK_DIR] [--sizes-mib 8,128,2048] [--keep] [--no-build]

For each size, makes a C-order int64 `.npy` of random counts in 0..60000 (fixed seed, written in
chunks so this script never holds the array), then runs the release `arrstore write` and
`arrstore read -o` as whole processes under GNU time and prints seconds, peak resident memory
and bytes on disk, with the per-MiB figures that show whether growth is linear. Each read is
checked against the input byte for byte. Inputs are deleted afterwards unless --keep.
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/arrstore"
CHUNK = 1 << 24  # elements generated and written at a time (128 MiB of int64)


def make_npy(path: Path, elements: int, seed: int) -> None:
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
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="use the release binary as it is")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "arrstore", "--example", "sql_bench"],
                       cwd=ROOT, check=True)  # as bench/run.sh builds them
    rows = []
    for mib in (int(s) for s in args.sizes_mib.split(",")):
        npy, parquet, back = work / f"counts_{mib}.npy", work / f"counts_{mib}.parquet", work / f"back_{mib}.npy"
        make_npy(npy, mib * (1 << 20) // 8, seed=mib)
        for p in (parquet, back):
            p.unlink(missing_ok=True)
        ws, wk = timed([BIN, "--quiet", "write", npy, parquet])
        rs, rk = timed([BIN, "--quiet", "read", parquet, "-o", back])
        assert same(npy, back), f"{back} differs from {npy}"
        rows.append((mib, ws, wk / 1024, rs, rk / 1024, parquet.stat().st_size))
        if not args.keep:
            for p in (npy, parquet, back):
                p.unlink()
    print("| input | write s | write s/GiB | write peak MiB | read s | read s/GiB | read peak MiB | on disk |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for mib, ws, wm, rs, rm, disk in rows:
        gib = mib / 1024
        print(f"| {mib:,} MiB | {ws:.2f} | {ws / gib:.2f} | {wm:,.0f} | {rs:.2f} | {rs / gib:.2f} | {rm:,.0f} | {disk:,} |")


if __name__ == "__main__":
    main()
