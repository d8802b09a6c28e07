"""The zarr v3 side of the slice benchmark (`examples/slice_bench.rs`): the dense array that
run wrote as `.npy` (`--npy DIR`) is stored as zarr v3 (blosc-zstd, chunks of 1000x1000 and
zarr's default chunks), and the same reads are timed, best of `--reps`: the whole array, 1% of
the rows from the middle, and a 100x100 window there. The bytes read are the stored chunks the
read touches (zarr reads whole chunks), summed from the store's files.

Run: benches/peers/.venv/bin/python benches/slices/zarr_slices.py DIR [--reps 3]
"""

import argparse
import os
import shutil
import time

import numpy as np
import zarr
from zarr.codecs import BloscCodec


def chunk_bytes(store_dir, chunks, rows, cols):
    """The stored bytes of the chunks that rows x cols touches."""
    total = 0
    for ci in range(rows.start // chunks[0], (rows.stop - 1) // chunks[0] + 1):
        for cj in range(cols.start // chunks[1], (cols.stop - 1) // chunks[1] + 1):
            path = os.path.join(store_dir, "c", str(ci), str(cj))
            if os.path.exists(path):
                total += os.path.getsize(path)
    return total


def best(reps, f):
    out = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    a = np.load(os.path.join(args.dir, "dense.npy"), mmap_mode="r")
    side = a.shape[0]
    mid, rows_1pct = side // 2, side // 100
    for label, chunks in [("zarr v3 blosc-zstd, chunks 1000x1000", (1000, 1000)), ("zarr v3 default chunks", None)]:
        store = os.path.join(args.dir, "dense.zarr")
        shutil.rmtree(store, ignore_errors=True)
        kw = {"chunks": chunks} if chunks else {}
        if chunks:
            kw["compressors"] = BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
        t = time.perf_counter()
        z = zarr.create_array(store=store, shape=a.shape, dtype=a.dtype, **kw)
        step = 4096
        for r in range(0, side, step):
            z[r:r + step] = a[r:r + step]
        write_s = time.perf_counter() - t
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs)
        print(f"{label}: chunks {z.chunks}, {size} bytes, written in {write_s:.1f} s")
        full = best(args.reps, lambda: zarr.open_array(store, mode="r")[:])
        print(f"  {'full':<22}{full:>10.3f} s {'1':>10}{size:>16}")
        for name, rows, cols in [("1% of rows", slice(mid, mid + rows_1pct), slice(0, side)),
                                 ("100x100 window", slice(mid, mid + 100), slice(mid, mid + 100))]:
            secs = best(args.reps, lambda: zarr.open_array(store, mode="r")[rows, cols])
            got = zarr.open_array(store, mode="r")[rows, cols]
            assert np.array_equal(got, a[rows, cols])
            print(f"  {name:<22}{secs:>10.4f} s {secs / full:>10.4f}{chunk_bytes(store, z.chunks, rows, cols):>16}")
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
