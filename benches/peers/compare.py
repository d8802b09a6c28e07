"""Side-by-side comparison of arrstore with the tools people use today, on the public cases.

Usage: python benches/peers/compare.py [--arrstore BIN] [--cases DIR] [--work DIR] [--repeat N] [--detail]
       [CASE ...]

(benches/peers/run.sh creates the pinned environment, builds arrstore and runs this.)

For every case (benches/peers/cases.py makes them: dense cases as .npy, sparse ones as scipy .npz) it
writes and reads the array with arrstore and with each peer, each write and each read in its own
process, and checks that every round trip is exact (same dtype, shape and bits; for sparse
cases the same sorted coordinates and values). Every write and read, arrstore's and the peers'
alike, runs --repeat times (3 by default). It prints one table: bytes on disk, write and read
seconds (the fastest run), peak memory (the process's maximum resident set, the highest run),
and arrstore's ratios:

- size: arrstore's bytes / the smallest exact peer's bytes;
- write: the whole `arrstore write` process (.npy or .npz in) / the peer's write call (array
  already in memory), for zarr v3 blosc-zstd (dense) and np.savez_compressed or
  scipy.sparse.save_npz;
- read: the whole `arrstore read` process (.npy out) / zarr blosc-zstd's read call.

Peers: np.save, np.savez_compressed, pyarrow Parquet with one column (zstd), zarr v3 (default
and blosc-zstd), HDF5 via h5py (gzip+shuffle and blosc-zstd); and COO tables (int64
coordinates as scipy makes them) in scipy/pydata .npz, pyarrow Parquet, HDF5 and zarr for the
sparse cases and for dense cases with at most a third of the cells nonzero.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DENSE_PEERS = ["npy", "npz_compressed", "parquet_1col", "zarr_default", "zarr_blosc_zstd",
               "hdf5_gzip_shuffle", "hdf5_blosc_zstd"]
COO_PEERS = ["scipy_npz", "pydata_sparse_npz", "parquet_coo", "hdf5_coo_gzip_shuffle",
             "zarr_coo_blosc_zstd"]
LABELS = {
    "npy": "np.save",
    "npz_compressed": "np.savez_compressed",
    "parquet_1col": "pyarrow Parquet, one column, zstd",
    "zarr_default": "zarr v3 default",
    "zarr_blosc_zstd": "zarr v3 blosc-zstd",
    "hdf5_gzip_shuffle": "HDF5 gzip+shuffle",
    "hdf5_blosc_zstd": "HDF5 blosc-zstd",
    "scipy_npz": "scipy.sparse.save_npz",
    "pydata_sparse_npz": "pydata sparse save_npz",
    "parquet_coo": "pyarrow Parquet COO, zstd",
    "hdf5_coo_gzip_shuffle": "COO in HDF5, gzip+shuffle",
    "zarr_coo_blosc_zstd": "COO in zarr v3, blosc-zstd",
}


# ---------------------------------------------------------------------------------------------
# Worker side: one write or read in this process, timing the call only.

def load_input(path):
    import numpy as np
    if path.endswith(".npz"):
        import scipy.sparse as sp
        return sp.load_npz(path).tocoo()
    return np.load(path)


def as_coo(a):
    """A scipy COO array of a dense array or of a sparse one."""
    import numpy as np
    import scipy.sparse as sp
    if sp.issparse(a):
        return a.tocoo()
    if a.ndim != 2:
        raise ValueError("COO peers take 2-D arrays")
    r, c = np.nonzero(a)
    return sp.coo_array((a[r, c], (r, c)), shape=a.shape)


def coo_parts(a):
    c = as_coo(a)
    return c.row.astype("int64"), c.col.astype("int64"), c.data, c.shape


def write_peer(method, a, out):
    import numpy as np
    if method == "npy":
        np.save(out, a)
    elif method == "npz_compressed":
        np.savez_compressed(out, a=a)
    elif method == "parquet_1col":
        import pyarrow as pa
        import pyarrow.parquet as pq
        t = pa.table({"value": a.reshape(-1)})
        t = t.replace_schema_metadata({"shape": json.dumps(a.shape), "dtype": a.dtype.str})
        pq.write_table(t, out, compression="zstd")
    elif method in ("zarr_default", "zarr_blosc_zstd"):
        import zarr
        kw = {}
        if method == "zarr_blosc_zstd":
            kw["compressors"] = zarr.codecs.BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
        z = zarr.create_array(out, shape=a.shape, dtype=a.dtype, **kw)
        z[...] = a
    elif method in ("hdf5_gzip_shuffle", "hdf5_blosc_zstd"):
        import h5py
        kw = dict(compression="gzip", shuffle=True)
        if method == "hdf5_blosc_zstd":
            import hdf5plugin
            kw = dict(hdf5plugin.Blosc(cname="zstd", clevel=5, shuffle=hdf5plugin.Blosc.SHUFFLE))
        with h5py.File(out, "w") as f:
            f.create_dataset("a", data=a, chunks=True, **kw)
    elif method == "scipy_npz":
        import scipy.sparse as sp
        sp.save_npz(out, as_coo(a), compressed=True)
    elif method == "pydata_sparse_npz":
        import sparse
        sparse.save_npz(out, sparse.COO.from_scipy_sparse(as_coo(a)), compressed=True)
    elif method == "parquet_coo":
        import pyarrow as pa
        import pyarrow.parquet as pq
        r, c, v, shape = coo_parts(a)
        t = pa.table({"row": r, "col": c, "value": v})
        t = t.replace_schema_metadata({"shape": json.dumps(shape)})
        pq.write_table(t, out, compression="zstd")
    elif method == "hdf5_coo_gzip_shuffle":
        import h5py
        r, c, v, shape = coo_parts(a)
        with h5py.File(out, "w") as f:
            for name, x in (("row", r), ("col", c), ("value", v)):
                f.create_dataset(name, data=x, chunks=True, compression="gzip", shuffle=True)
            f.attrs["shape"] = shape
    elif method == "zarr_coo_blosc_zstd":
        import zarr
        r, c, v, shape = coo_parts(a)
        g = zarr.open_group(out, mode="w")
        comp = zarr.codecs.BloscCodec(cname="zstd", clevel=5, shuffle="shuffle")
        for name, x in (("row", r), ("col", c), ("value", v)):
            z = g.create_array(name, shape=x.shape, dtype=x.dtype, compressors=comp)
            z[...] = x
        g.attrs["shape"] = list(shape)
    else:
        raise ValueError(method)


def read_peer(method, path):
    import numpy as np
    if method == "npy":
        return np.load(path)
    if method == "npz_compressed":
        with np.load(path) as f:
            return f["a"]
    if method == "parquet_1col":
        import pyarrow.parquet as pq
        t = pq.read_table(path)
        m = t.schema.metadata
        shape = tuple(json.loads(m[b"shape"]))
        return t.column("value").to_numpy().astype(m[b"dtype"].decode(), copy=False).reshape(shape)
    if method in ("zarr_default", "zarr_blosc_zstd"):
        import zarr
        return zarr.open_array(path, mode="r")[...]
    if method in ("hdf5_gzip_shuffle", "hdf5_blosc_zstd"):
        import h5py
        import hdf5plugin  # noqa: F401  (registers the blosc filter)
        with h5py.File(path, "r") as f:
            return f["a"][...]
    import scipy.sparse as sp
    if method == "scipy_npz":
        return sp.load_npz(path).tocoo()
    if method == "pydata_sparse_npz":
        import sparse
        return sparse.load_npz(path).to_scipy_sparse().tocoo()
    if method == "parquet_coo":
        import pyarrow.parquet as pq
        t = pq.read_table(path)
        shape = tuple(json.loads(t.schema.metadata[b"shape"]))
        cols = [t.column(n).to_numpy() for n in ("row", "col", "value")]
        return sp.coo_array((cols[2], (cols[0], cols[1])), shape=shape)
    if method == "hdf5_coo_gzip_shuffle":
        import h5py
        with h5py.File(path, "r") as f:
            return sp.coo_array((f["value"][...], (f["row"][...], f["col"][...])),
                                shape=tuple(f.attrs["shape"]))
    if method == "zarr_coo_blosc_zstd":
        import zarr
        g = zarr.open_group(path, mode="r")
        return sp.coo_array((g["value"][...], (g["row"][...], g["col"][...])),
                            shape=tuple(g.attrs["shape"]))
    raise ValueError(method)


def digest(a):
    """dtype, shape and a hash of the exact bits (sparse: sorted coordinates and values)."""
    import numpy as np
    import scipy.sparse as sp
    h = hashlib.sha256()
    if sp.issparse(a):
        c = a.tocoo()
        order = np.lexsort((c.col, c.row))
        for x in (c.row[order].astype("<i8"), c.col[order].astype("<i8"), c.data[order]):
            h.update(np.ascontiguousarray(x).view(np.uint8))
        return f"coo {c.data.dtype} {tuple(c.shape)} {h.hexdigest()}"
    if a.dtype == object:
        raise ValueError("object arrays")
    h.update(np.ascontiguousarray(a).reshape(-1).view(np.uint8))
    return f"dense {a.dtype.str} {tuple(a.shape)} {h.hexdigest()}"


def worker(argv):
    op, method, src, dst = argv
    if op == "write":
        a = load_input(src)
        t0 = time.perf_counter()
        write_peer(method, a, dst)
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds}))
    elif op in ("read", "read_dense"):
        import scipy.sparse as sp
        t0 = time.perf_counter()
        a = read_peer(method, src)
        if op == "read_dense" and sp.issparse(a):
            a = a.toarray()  # a dense case stored as COO: the reader wants the dense array back
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds, "digest": digest(a)}))
    elif op == "digest":
        import numpy as np
        a = load_input(src) if src.endswith(".npz") else np.load(src, mmap_mode="r")
        out = {"digest": digest(a)}
        if not src.endswith(".npz"):
            few = a.ndim == 2 and int(np.count_nonzero(a)) * 3 <= a.size
            out.update(nbytes=int(a.nbytes), few_nonzero=few)
        print(json.dumps(out))


# ---------------------------------------------------------------------------------------------
# Driver side.

def run_rusage(cmd):
    """Runs cmd; returns (wall seconds, peak RSS in bytes, stdout, returncode, stderr).

    The peak comes from GNU time when it is installed: a child forked from this (larger)
    process would inherit this process's high-water mark in its own.
    """
    out_path = os.path.join(WORK, ".stdout")
    err_path = os.path.join(WORK, ".stderr")
    peak_path = os.path.join(WORK, ".peak")
    timed = os.path.exists("/usr/bin/time")
    if timed:
        cmd = ["/usr/bin/time", "-f", "%M", "-o", peak_path, *cmd]
    t0 = time.perf_counter()
    with open(out_path, "wb") as o, open(err_path, "wb") as e:
        p = subprocess.Popen(cmd, stdout=o, stderr=e)
        _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    peak = usage.ru_maxrss * 1024
    if timed:
        with open(peak_path) as f:
            peak = int(f.read().split()[-1]) * 1024
    with open(out_path) as o, open(err_path) as e:
        return wall, peak, o.read(), os.waitstatus_to_exitcode(status), e.read()


def disk_bytes(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)
    return os.path.getsize(path)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


def py_worker(*args):
    return [sys.executable, os.path.abspath(__file__), "--worker", *args]


def measure_peer(method, src, want, case):
    ext = {"npy": ".npy", "npz_compressed": ".npz", "scipy_npz": ".npz",
           "pydata_sparse_npz": ".npz", "hdf5_gzip_shuffle": ".h5", "hdf5_blosc_zstd": ".h5",
           "hdf5_coo_gzip_shuffle": ".h5"}.get(method, ".parquet" if "parquet" in method
                                                 else ".zarr")
    out = os.path.join(WORK, f"{case}.{method}{ext}")
    wsec, wmem = None, 0
    for _ in range(REPEAT):
        remove(out)
        _, peak, so, rc, se = run_rusage(py_worker("write", method, src, out))
        if rc != 0:
            return {"method": method, "error": se.strip().splitlines()[-1]}
        wsec, wmem = least(wsec, json.loads(so)["seconds"]), max(wmem, peak)
    size = disk_bytes(out)
    op = "read_dense" if want.startswith("dense") else "read"
    rsec, rmem, exact = None, 0, True
    for _ in range(REPEAT):
        _, peak, so, rc, se = run_rusage(py_worker(op, method, out, "-"))
        if rc != 0:
            remove(out)
            return {"method": method, "error": se.strip().splitlines()[-1]}
        r = json.loads(so)
        rsec, rmem, exact = least(rsec, r["seconds"]), max(rmem, peak), exact and r["digest"] == want
    remove(out)
    return {"method": method, "bytes": size, "write_s": wsec, "read_s": rsec,
            "write_peak": wmem, "read_peak": rmem, "exact": exact}


def least(best, seconds):
    """The smaller of the fastest time so far (None before the first) and this one."""
    return seconds if best is None else min(best, seconds)


def measure_arrstore(binary, src, want, case):
    out = os.path.join(WORK, f"{case}.arrstore.parquet")
    wsec, wmem = None, 0
    for _ in range(REPEAT):
        remove(out)
        seconds, peak, so, rc, se = run_rusage([binary, "write", src, out, "--force", "--quiet"])
        if rc != 0:
            return {"method": "arrstore", "error": se.strip()}
        wsec, wmem = least(wsec, seconds), max(wmem, peak)
    size = disk_bytes(out)
    sparse = src.endswith(".npz")
    back = os.path.join(WORK, f"{case}.back" + (".npz" if sparse else ".npy"))
    res = {"method": "arrstore", "bytes": size, "write_s": wsec, "write_peak": wmem}
    rsec, rmem, exact = None, 0, True
    for _ in range(REPEAT):
        remove(back)
        seconds, peak, so, rc, se = run_rusage([binary, "read", out, "-o", back, "--force"])
        if rc != 0:
            res.update(read_error=se.strip())
            return res
        _, _, so, rc, se = run_rusage(py_worker("digest", "-", back, "-"))
        rsec, rmem = least(rsec, seconds), max(rmem, peak)
        exact = exact and rc == 0 and json.loads(so)["digest"] == want
    remove(back)
    res.update(read_s=rsec, read_peak=rmem, exact=exact)
    return res


def fmt_int(n):
    return f"{n:,}"


def fmt_s(x):
    return "-" if x is None else f"{x:.2f}"


def fmt_mib(b):
    return "-" if b is None else f"{b / 2**20:,.0f}"


def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main():
    global WORK, REPEAT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arrstore", default=os.path.join(ROOT, "target", "release", "arrstore"))
    ap.add_argument("--cases", default=os.path.join(HERE, "out", "cases"))
    ap.add_argument("--work", default=os.path.join(HERE, "out", "work"))
    ap.add_argument("--detail", action="store_true", help="also print every peer's figures")
    ap.add_argument("--json", help="also write all measurements to this JSON file")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of every write and read, arrstore's and each peer's alike; the "
                         "table shows the fastest and the highest peak (default 3)")
    ap.add_argument("case", nargs="*")
    args = ap.parse_args()
    WORK = args.work
    REPEAT = max(1, args.repeat)
    os.makedirs(WORK, exist_ok=True)
    sys.path.insert(0, HERE)
    import cases as cases_mod

    subprocess.run([sys.executable, os.path.join(HERE, "cases.py"), args.cases, *args.case],
                   check=True, stdout=subprocess.DEVNULL)
    makers = cases_mod.DENSE + cases_mod.SPARSE
    names = [m.__name__ for m in makers if not args.case or m.__name__ in args.case]
    results = {}
    for name in names:
        sparse = name in [m.__name__ for m in cases_mod.SPARSE]
        src = os.path.join(args.cases, name + (".npz" if sparse else ".npy"))
        _, _, so, rc, se = run_rusage(py_worker("digest", "-", src, "-"))
        info = json.loads(so)
        want = info["digest"]
        nbytes = info.get("nbytes")
        peers = COO_PEERS if sparse else DENSE_PEERS + (COO_PEERS if info["few_nonzero"] else [])
        rows = [measure_arrstore(args.arrstore, src, want, name)]
        for p in peers:
            rows.append(measure_peer(p, src, want, name))
        results[name] = {"nbytes": nbytes, "rows": rows}
        print(f"measured {name}", file=sys.stderr, flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print_table(results, args.detail)


def print_table(results, detail):
    print("| case | arrstore bytes | best peer | best peer bytes | size ratio "
          "| arrstore write s | zarr blosc-zstd write s | savez/save_npz write s "
          "| write ratio (zarr / savez) | arrstore read s | zarr read s | read ratio "
          "| write peak MiB | read peak MiB (limit) | exact |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for name, r in results.items():
        rows = r["rows"]
        ours = rows[0]
        peers = [x for x in rows[1:] if "error" not in x and x["exact"]]
        best = min(peers, key=lambda x: x["bytes"]) if peers else None
        by = {x["method"]: x for x in rows[1:] if "error" not in x}
        zarr = by.get("zarr_blosc_zstd")
        slow = by.get("npz_compressed") or by.get("scipy_npz")
        inexact = [x["method"] for x in rows if "error" not in x and x.get("exact") is False]
        if "error" in ours:
            print(f"| {name} | {ours['error']} | {LABELS[best['method']]} | "
                  f"{fmt_int(best['bytes'])} | - | - | - | - | - | - | - | - | - | - | - |")
            continue
        limit = None if r["nbytes"] is None else 1.2 * r["nbytes"] + 32 * 2**20
        read_s = ours.get("read_s")
        print("| " + " | ".join([
            name, fmt_int(ours["bytes"]), LABELS[best["method"]], fmt_int(best["bytes"]),
            ratio(ours["bytes"], best["bytes"]),
            fmt_s(ours["write_s"]), fmt_s(zarr and zarr["write_s"]), fmt_s(slow and slow["write_s"]),
            f"{ratio(ours['write_s'], zarr and zarr['write_s'])} / "
            f"{ratio(ours['write_s'], slow and slow['write_s'])}",
            fmt_s(read_s) if read_s is not None else ours.get("read_error", "-"),
            fmt_s(zarr and zarr["read_s"]), ratio(read_s, zarr and zarr["read_s"]),
            fmt_mib(ours["write_peak"]),
            f"{fmt_mib(ours.get('read_peak'))} ({fmt_mib(limit)})",
            "yes" if not inexact and ours.get("exact", True) else "NO: " + ", ".join(inexact),
        ]) + " |")
    if detail:
        print()
        print("| case | method | bytes | write s | read s | write peak MiB | read peak MiB | exact |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for name, r in results.items():
            for x in r["rows"]:
                label = LABELS.get(x["method"], x["method"])
                if "error" in x:
                    print(f"| {name} | {label} | {x['error']} | | | | | |")
                    continue
                print(f"| {name} | {label} | {fmt_int(x['bytes'])} | {fmt_s(x['write_s'])} | "
                      f"{fmt_s(x.get('read_s'))} | {fmt_mib(x['write_peak'])} | "
                      f"{fmt_mib(x.get('read_peak'))} | {x.get('exact', '-')} |")


WORK = None
REPEAT = 3

if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
    else:
        main()
