"""Side-by-side comparison of arrstore with the tools people use today, on the public cases.

Usage: python benches/peers/compare.py [--arrstore BIN | --no-arrstore] [--cases DIR] [--work DIR]
       [--repeat N] [--jxl-effort N] [--detail] [--json OUT] [CASE ...]

(benches/peers/run.sh creates the pinned environment, builds arrstore and runs this.)

For every case (benches/peers/cases.py makes them: dense cases as .npy, sparse ones as scipy .npz) it
writes and reads the array with arrstore and with each peer, each write and each read in its own
process, and checks that every round trip is exact (same dtype, shape and bits; for sparse
cases the same sorted coordinates and values). Every write and read, arrstore's and the peers'
alike, runs --repeat times (3 by default). It prints one table: bytes on disk, write and read
seconds (the fastest run), peak memory (the process's maximum resident set, the highest run),
and arrstore's ratios:

- size: arrstore's bytes / the smallest exact peer's bytes (of all peers), and the same against
  the best older peer, the best pcodec variant and JPEG-XL lossless;
- write: the whole `arrstore write` process (.npy or .npz in) / the peer's write call (array
  already in memory), for zarr v3 blosc-zstd (dense) and np.savez_compressed or
  scipy.sparse.save_npz;
- read: the whole `arrstore read` process (.npy out) / zarr blosc-zstd's read call.

A second table gives the bytes of the best older peer, of each pcodec variant and of each image
codec per case, with the reason where a codec was skipped. --json OUT writes every figure
(case, peer, bytes, write and read seconds, peaks, exact, or why a peer was skipped) as it goes.

Older peers: np.save, np.savez_compressed, pyarrow Parquet with one column (zstd), zarr v3
(default and blosc-zstd), HDF5 via h5py (gzip+shuffle and blosc-zstd); and COO tables (int64
coordinates as scipy makes them) in scipy/pydata .npz, pyarrow Parquet, HDF5 and zarr for the
sparse cases and for dense cases with at most a third of the cells nonzero.

pcodec (standalone format, compression level 12) on every case: dense arrays as their flat
C-order values ("flat"; bool as uint8) and, where one exists, cast first to the smallest dtype
that gives the same bits back ("narrowed": e.g. integer-valued float64 to uint16, float64 that is
float32-exact to float32, int64 to uint8); sparse cases, and dense ones with at most a third of
the cells nonzero, as COO with each column compressed on its own (coordinates narrowed to the
smallest unsigned dtype, values as they are or narrowed). Each pcodec file starts with a one-line
text header (original dtype, shape and, for COO, the three column lengths), counted in its bytes.

Image codecs, lossless, on 2-D and HxWx3 arrays of uint8 or uint16, or of other (non-bool)
dtypes whose values all cast exactly to uint8 or uint16 (e.g. a 12-bit image held in float64):
JPEG-XL (imagecodecs, lossless, effort 9 unless --jxl-effort), WebP (imagecodecs, lossless,
method 6, level 100; 8-bit only, gray expanded to RGB), JPEG-LS (imagecodecs, level 0 =
lossless) and PNG (Pillow, optimize=True; no 16-bit RGB). Their files carry the same one-line
header (original dtype and shape), so a read gives back the original array, and are checked
exactly like the other peers.
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
OLDER_PEERS = DENSE_PEERS + COO_PEERS
PCODEC_PEERS = ["pcodec", "pcodec_narrow", "pcodec_coo", "pcodec_coo_narrow"]
IMAGE_PEERS = ["jpegxl", "webp", "jpegls", "png"]
PCODEC_LEVEL = 12
# JPEG-XL's effort (1..10); 9 is the highest with reasonable times here (about 15 s for a
# 16-megapixel image), 10 is several times slower. Set by --jxl-effort, passed to the workers.
JXL_EFFORT = int(os.environ.get("ARRSTORE_PEERS_JXL_EFFORT", "9"))
WEBP_MAX_SIDE = 16383
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
    "pcodec": f"pcodec {PCODEC_LEVEL}, flat values",
    "pcodec_narrow": f"pcodec {PCODEC_LEVEL}, narrowed dtype",
    "pcodec_coo": f"pcodec {PCODEC_LEVEL}, COO columns",
    "pcodec_coo_narrow": f"pcodec {PCODEC_LEVEL}, COO columns, narrowed values",
    "jpegxl": f"JPEG-XL lossless (effort {JXL_EFFORT})",
    "webp": "WebP lossless (method 6, level 100)",
    "jpegls": "JPEG-LS lossless",
    "png": "PNG (Pillow, optimize)",
}
SHORT = {"pcodec": "flat", "pcodec_narrow": "narrowed", "pcodec_coo": "COO",
         "pcodec_coo_narrow": "COO narrowed", "jpegxl": "JPEG-XL", "webp": "WebP",
         "jpegls": "JPEG-LS", "png": "PNG"}


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


# Ladder of the dtypes an array may be narrowed to, smallest first (integers before floats).
NARROW_LADDER = ["u1", "i1", "u2", "i2", "f2", "u4", "i4", "f4", "u8", "i8"]


def casts_exactly(a, dtype):
    """Whether a.astype(dtype).astype(a.dtype) gives a's bits back."""
    import numpy as np
    dtype = np.dtype(dtype)
    if a.size == 0:
        return True
    if dtype.kind in "iu":
        if a.dtype.kind not in "iuf":
            return False
        lo, hi = a.min(), a.max()  # NaN compares false below
        info = np.iinfo(dtype)
        if not (info.min <= lo and hi <= info.max):
            return False
    flat = np.ascontiguousarray(a).reshape(-1)
    with np.errstate(all="ignore"):
        back = flat.astype(dtype).astype(a.dtype)
    bits = f"u{a.dtype.itemsize}"
    return np.array_equal(back.view(bits), flat.view(bits))


def narrowest(a):
    """The smallest dtype that a casts to and back without changing a bit (a's own if none)."""
    import numpy as np
    if a.dtype.kind not in "iuf":
        return a.dtype
    for c in map(np.dtype, NARROW_LADDER):
        if c.itemsize >= a.dtype.itemsize:
            break
        if a.dtype.kind in "iu" and c.kind == "f":
            continue
        if casts_exactly(a, c):
            return c
    return a.dtype


def image_dtype(a):
    """(uint8 or uint16 dtype the image codecs get, None) or (None, why they do not apply)."""
    import numpy as np
    if a.dtype == bool:
        return None, "bool"
    if not (a.ndim == 2 or (a.ndim == 3 and a.shape[2] == 3)):
        return None, "not 2-D or HxWx3"
    for c in map(np.dtype, ("u1", "u2")):
        if a.dtype == c or (a.dtype.kind in "iuf" and casts_exactly(a, c)):
            return c, None
    return None, "values not all uint8/uint16"


def image_skip(method, info):
    """Why the image codec `method` cannot store this case exactly, or None."""
    if info.get("image") is None:
        return info.get("image_skip", "sparse")
    wide = info["image"] != "|u1"
    if method == "webp":
        if wide:
            return "WebP is 8-bit only"
        if max(info["shape"][:2]) > WEBP_MAX_SIDE:
            return f"WebP: side over {WEBP_MAX_SIDE}"
    if method == "png" and wide and len(info["shape"]) == 3:
        return "Pillow writes no 16-bit RGB PNG"
    return None


def write_headed(out, fields, blobs):
    """A one-line text header (space-separated fields) followed by the payload blobs."""
    with open(out, "wb") as f:
        f.write((" ".join(fields) + "\n").encode())
        for b in blobs:
            f.write(b)


def read_headed(path):
    with open(path, "rb") as f:
        data = f.read()
    end = data.index(b"\n")
    return data[:end].decode().split(" "), data[end + 1:]


def shape_text(shape):
    return ",".join(str(int(n)) for n in shape)


def parse_shape(text):
    return tuple(int(n) for n in text.split(",") if n)


def pco_compress(x):
    """pcodec's standalone bytes of a 1-D array (bool as uint8)."""
    import numpy as np
    from pcodec import ChunkConfig, standalone
    x = np.ascontiguousarray(x).reshape(-1)
    if x.dtype == bool:
        x = x.view(np.uint8)
    return standalone.simple_compress(x, ChunkConfig(compression_level=PCODEC_LEVEL,
                                                     enable_8_bit=True))


def pco_decompress(blob, dtype):
    import numpy as np
    from pcodec import standalone
    x = standalone.simple_decompress(blob)
    if x is None:  # no values
        return np.empty(0, dtype)
    return x.view(np.uint8).view(bool) if dtype == bool else x.astype(dtype, copy=False)


def write_pcodec(method, a, out):
    """Dense: header `DTYPE SHAPE`, one pcodec blob. COO: header `DTYPE SHAPE NR,NC,NV` and the
    row, column and value blobs; coordinates in the smallest unsigned dtype."""
    import numpy as np
    if method in ("pcodec", "pcodec_narrow"):
        x = a.astype(narrowest(a), copy=False) if method == "pcodec_narrow" else a
        write_headed(out, [a.dtype.str, shape_text(a.shape)], [pco_compress(x)])
        return None if x.dtype == a.dtype else x.dtype.str
    r, c, v, shape = coo_parts(a)
    dtype = v.dtype
    if method == "pcodec_coo_narrow":
        v = v.astype(narrowest(v), copy=False)
    blobs = []
    for x, side in ((r, shape[0]), (c, shape[1])):
        blobs.append(pco_compress(x.astype(np.min_scalar_type(max(side - 1, 0)), copy=False)))
    blobs.append(pco_compress(v))
    write_headed(out, [dtype.str, shape_text(shape), ",".join(str(len(b)) for b in blobs)], blobs)
    return None if v.dtype == dtype else v.dtype.str


def read_pcodec(method, path):
    import numpy as np
    fields, payload = read_headed(path)
    dtype, shape = np.dtype(fields[0]), parse_shape(fields[1])
    if method in ("pcodec", "pcodec_narrow"):
        return pco_decompress(payload, dtype).reshape(shape)
    import scipy.sparse as sp
    cols, at = [], 0
    for n, kind in zip((int(x) for x in fields[2].split(",")), (np.int64, np.int64, dtype)):
        cols.append(pco_decompress(payload[at:at + n], np.dtype(kind)))
        at += n
    r, c, v = cols
    return sp.coo_array((v, (r, c)), shape=shape)


def write_image(method, a, out):
    """Header `DTYPE SHAPE` (of the original array), then the image file's bytes."""
    import io
    import numpy as np
    dtype, why = image_dtype(a)
    if dtype is None:
        raise ValueError(f"image codecs do not apply: {why}")
    img = np.ascontiguousarray(a.astype(dtype, copy=False))
    if method == "jpegxl":
        import imagecodecs
        data = imagecodecs.jpegxl_encode(img, lossless=True, effort=JXL_EFFORT)
    elif method == "webp":
        import imagecodecs
        if dtype != np.uint8:
            raise ValueError("WebP is 8-bit only")
        if img.ndim == 2:  # WebP has no gray: three equal channels
            img = np.repeat(img[:, :, None], 3, axis=2)
        data = imagecodecs.webp_encode(img, level=100, lossless=True, method=6)
    elif method == "jpegls":
        import imagecodecs
        data = imagecodecs.jpegls_encode(img, level=0)
    elif method == "png":
        from PIL import Image
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
    else:
        raise ValueError(method)
    write_headed(out, [a.dtype.str, shape_text(a.shape)], [data])
    return None if dtype == a.dtype else dtype.str


def read_image(method, path):
    import io
    import numpy as np
    fields, payload = read_headed(path)
    dtype, shape = np.dtype(fields[0]), parse_shape(fields[1])
    if method == "png":
        from PIL import Image
        img = np.asarray(Image.open(io.BytesIO(payload)))
    else:
        import imagecodecs
        img = getattr(imagecodecs, method + "_decode")(payload)
    if len(shape) == 2 and img.ndim == 3:
        if (img == img[:, :, :1]).all():  # gray stored as equal channels
            img = img[:, :, 0]
        else:
            return img  # not the array that was written: the digest tells
    return img.astype(dtype).reshape(shape)


def write_peer(method, a, out):
    """Writes a with `method`; returns the dtype its values were stored as where it is not a's."""
    import numpy as np
    if method in PCODEC_PEERS:
        return write_pcodec(method, a, out)
    if method in IMAGE_PEERS:
        return write_image(method, a, out)
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
    if method in PCODEC_PEERS:
        return read_pcodec(method, path)
    if method in IMAGE_PEERS:
        return read_image(method, path)
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
        stored = write_peer(method, a, dst)
        seconds = time.perf_counter() - t0
        print(json.dumps({"seconds": seconds, "stored": stored}))
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
            img, why = image_dtype(a)
            out.update(image=img and img.str, image_skip=why)
            values = a
        else:
            values = a.data
        out.update(shape=list(a.shape), dtype=values.dtype.str, narrow=narrowest(values).str)
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
           "hdf5_coo_gzip_shuffle": ".h5", "pcodec": ".pco", "pcodec_narrow": ".pco",
           "pcodec_coo": ".pco", "pcodec_coo_narrow": ".pco", "jpegxl": ".jxl", "webp": ".webp",
           "jpegls": ".jls", "png": ".png"}.get(method, ".parquet" if "parquet" in method
                                                else ".zarr")
    out = os.path.join(WORK, f"{case}.{method}{ext}")
    wsec, wmem, stored = None, 0, None
    for _ in range(REPEAT):
        remove(out)
        _, peak, so, rc, se = run_rusage(py_worker("write", method, src, out))
        if rc != 0:
            return {"method": method, "error": last_line(se)}
        w = json.loads(so)
        wsec, wmem, stored = least(wsec, w["seconds"]), max(wmem, peak), w["stored"]
    size = disk_bytes(out)
    op = "read_dense" if want.startswith("dense") else "read"
    rsec, rmem, exact = None, 0, True
    for _ in range(REPEAT):
        _, peak, so, rc, se = run_rusage(py_worker(op, method, out, "-"))
        if rc != 0:
            remove(out)
            return {"method": method, "error": last_line(se)}
        r = json.loads(so)
        rsec, rmem, exact = least(rsec, r["seconds"]), max(rmem, peak), exact and r["digest"] == want
    remove(out)
    res = {"method": method, "bytes": size, "write_s": wsec, "read_s": rsec,
           "write_peak": wmem, "read_peak": rmem, "exact": exact}
    if stored:
        res["stored"] = stored
    return res


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else "failed"


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
    ap.add_argument("--no-arrstore", action="store_true",
                    help="measure the peers only (no arrstore binary needed)")
    ap.add_argument("--jxl-effort", type=int, default=JXL_EFFORT,
                    help=f"JPEG-XL encoder effort, 1..10 (default {JXL_EFFORT})")
    ap.add_argument("--cases", default=os.path.join(HERE, "out", "cases"))
    ap.add_argument("--work", default=os.path.join(HERE, "out", "work"))
    ap.add_argument("--detail", action="store_true", help="also print every peer's figures")
    ap.add_argument("--json", metavar="OUT",
                    help="also write all measurements to this JSON file (rewritten after "
                         "every case)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of every write and read, arrstore's and each peer's alike; the "
                         "table shows the fastest and the highest peak (default 3)")
    ap.add_argument("case", nargs="*")
    args = ap.parse_args()
    WORK = args.work
    REPEAT = max(1, args.repeat)
    set_jxl_effort(args.jxl_effort)
    if not args.no_arrstore and not os.access(args.arrstore, os.X_OK):
        ap.error(f"no arrstore binary at {args.arrstore} (build it, pass --arrstore BIN, or "
                 "--no-arrstore to measure the peers only)")
    os.makedirs(WORK, exist_ok=True)
    sys.path.insert(0, HERE)
    sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
    import cases as cases_mod

    known = [m.__name__ for m in cases_mod.DENSE + cases_mod.SPARSE]
    unknown = [c for c in args.case if c not in known]
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; the cases are {', '.join(known)}")
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
        if args.no_arrstore:
            rows = [{"method": "arrstore", "skipped": "--no-arrstore"}]
        else:
            rows = [measure_arrstore(args.arrstore, src, want, name)]
        for p, skip in plan_peers(info, sparse):
            row = {"method": p, "skipped": skip} if skip else measure_peer(p, src, want, name)
            rows.append(row)
            row["label"] = LABELS.get(p, p)
        results[name] = {"nbytes": nbytes, "sparse": sparse, "dtype": info["dtype"],
                         "shape": info["shape"], "rows": rows}
        print(f"measured {name}", file=sys.stderr, flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)

    print_table(results, args.detail)


def set_jxl_effort(effort):
    """The JPEG-XL effort for this process, its label and the worker processes."""
    global JXL_EFFORT
    JXL_EFFORT = effort
    os.environ["ARRSTORE_PEERS_JXL_EFFORT"] = str(effort)
    LABELS["jpegxl"] = f"JPEG-XL lossless (effort {effort})"


def plan_peers(info, sparse):
    """[(peer, None or why it is skipped)] for a case, from the digest worker's facts about it."""
    same = info["narrow"] == info["dtype"]
    narrowed = "no narrower dtype" if same else None
    if sparse:
        return ([(p, None) for p in COO_PEERS]
                + [("pcodec_coo", None), ("pcodec_coo_narrow", narrowed)])
    plan = [(p, None) for p in DENSE_PEERS]
    if info["few_nonzero"]:
        plan += [(p, None) for p in COO_PEERS]
    plan += [("pcodec", None), ("pcodec_narrow", narrowed)]
    if info["few_nonzero"]:
        plan += [("pcodec_coo", None), ("pcodec_coo_narrow", narrowed)]
    return plan + [(p, image_skip(p, info)) for p in IMAGE_PEERS]


def exact_rows(rows, methods):
    return [x for x in rows if x["method"] in methods and "bytes" in x and x["exact"]]


def smallest(rows, methods):
    """The exact row of the fewest bytes among `methods`, or None."""
    rows = exact_rows(rows, methods)
    return min(rows, key=lambda x: x["bytes"]) if rows else None


def dtype_name(s):
    import numpy as np
    return np.dtype(s).name


def variant(x):
    """A row's short name, with the dtype its values were stored as where that was changed."""
    name = SHORT.get(x["method"], LABELS.get(x["method"], x["method"]))
    return f"{name} ({dtype_name(x['stored'])})" if x.get("stored") else name


def peer_cell(x):
    """Bytes of one peer for the bytes table, or why there are none."""
    if x is None:
        return ""
    if "skipped" in x:
        return f"- ({x['skipped']})"
    if "error" in x:
        return "error"
    text = fmt_int(x["bytes"])
    if x.get("stored") and x["method"] not in IMAGE_PEERS:
        text += f" ({dtype_name(x['stored'])})"
    return text + " NOT EXACT" if x.get("exact") is False else text


def print_table(results, detail):
    print("| case | arrstore bytes | best peer | best peer bytes | size ratio "
          "| arrstore write s | zarr blosc-zstd write s | savez/save_npz write s "
          "| write ratio (zarr / savez) | arrstore read s | zarr read s | read ratio "
          "| write peak MiB | read peak MiB (limit) | exact "
          "| best older peer | older peer bytes | size vs older "
          "| best pcodec | pcodec bytes | size vs pcodec "
          "| best image codec | image codec bytes | size vs JPEG-XL |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---"
          "|---|---:|---:|---|---:|---:|---|---:|---:|")
    for name, r in results.items():
        rows = r["rows"]
        ours = rows[0]
        peers = rows[1:]
        best = smallest(peers, [x["method"] for x in peers])
        older = smallest(peers, OLDER_PEERS)
        pco = smallest(peers, PCODEC_PEERS)
        image = smallest(peers, IMAGE_PEERS)
        jxl = smallest(peers, ["jpegxl"])
        by = {x["method"]: x for x in peers if "bytes" in x}
        zarr = by.get("zarr_blosc_zstd")
        slow = by.get("npz_compressed") or by.get("scipy_npz")
        inexact = [x["method"] for x in rows if x.get("exact") is False]
        size = ours.get("bytes")
        limit = None if r["nbytes"] is None else 1.2 * r["nbytes"] + 32 * 2**20
        read_s = ours.get("read_s")
        image_skips = sorted({x["skipped"] for x in peers
                              if x["method"] in IMAGE_PEERS and "skipped" in x})
        no_image = f"- ({'; '.join(image_skips)})" if image_skips and not image else "-"
        if size is None:
            first = ("skipped: " + ours["skipped"]) if "skipped" in ours else ours["error"]
            ours_cells = [first, LABELS[best["method"]] if best else "-",
                          fmt_int(best["bytes"]) if best else "-"] + ["-"] * 10
        else:
            ours_cells = [
                fmt_int(size), LABELS[best["method"]] if best else "-",
                fmt_int(best["bytes"]) if best else "-", ratio(size, best and best["bytes"]),
                fmt_s(ours["write_s"]), fmt_s(zarr and zarr["write_s"]),
                fmt_s(slow and slow["write_s"]),
                f"{ratio(ours['write_s'], zarr and zarr['write_s'])} / "
                f"{ratio(ours['write_s'], slow and slow['write_s'])}",
                fmt_s(read_s) if read_s is not None else ours.get("read_error", "-"),
                fmt_s(zarr and zarr["read_s"]), ratio(read_s, zarr and zarr["read_s"]),
                fmt_mib(ours["write_peak"]),
                f"{fmt_mib(ours.get('read_peak'))} ({fmt_mib(limit)})",
            ]
        print("| " + " | ".join([
            name, *ours_cells,
            "yes" if not inexact else "NO: " + ", ".join(inexact),
            LABELS[older["method"]] if older else "-", fmt_int(older["bytes"]) if older else "-",
            ratio(size, older and older["bytes"]),
            variant(pco) if pco else "-", fmt_int(pco["bytes"]) if pco else "-",
            ratio(size, pco and pco["bytes"]),
            variant(image) if image else no_image, fmt_int(image["bytes"]) if image else "-",
            ratio(size, jxl and jxl["bytes"]),
        ]) + " |")

    print()
    print("Bytes by peer (pcodec at level 12; image codecs lossless, JPEG-XL effort "
          f"{JXL_EFFORT}; dtype in brackets where the values were cast first):")
    print()
    print("| case | dtype, shape | arrstore | best older peer | older peer bytes | pcodec flat "
          "| pcodec narrowed | pcodec COO | JPEG-XL | WebP | JPEG-LS | PNG |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in results.items():
        rows = r["rows"]
        by = {x["method"]: x for x in rows}
        older = smallest(rows[1:], OLDER_PEERS)
        coo = smallest(rows[1:], ["pcodec_coo", "pcodec_coo_narrow"]) or by.get("pcodec_coo")
        image_dtype_note = next((x["stored"] for x in rows if x["method"] in IMAGE_PEERS
                                 and x.get("stored")), None)
        what = f"{dtype_name(r['dtype'])}, {'sparse ' if r['sparse'] else ''}" + "x".join(
            map(str, r["shape"]))
        if image_dtype_note and image_dtype_note != r["dtype"]:
            what += f" (images as {dtype_name(image_dtype_note)})"
        print("| " + " | ".join([
            name, what, peer_cell(rows[0]) if "bytes" in rows[0] else "-",
            LABELS[older["method"]] if older else "-", fmt_int(older["bytes"]) if older else "-",
            peer_cell(by.get("pcodec")), peer_cell(by.get("pcodec_narrow")), peer_cell(coo),
            *(peer_cell(by.get(m)) for m in IMAGE_PEERS),
        ]) + " |")

    if detail:
        print()
        print("| case | method | bytes | write s | read s | write peak MiB | read peak MiB | exact |")
        print("|---|---|---:|---:|---:|---:|---:|---|")
        for name, r in results.items():
            for x in r["rows"]:
                label = LABELS.get(x["method"], x["method"])
                if x.get("stored"):
                    label += f", as {dtype_name(x['stored'])}"
                if "skipped" in x or "error" in x:
                    why = f"skipped: {x['skipped']}" if "skipped" in x else x["error"]
                    print(f"| {name} | {label} | {why} | | | | | |")
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
