#!/usr/bin/env python3
"""Writes the .npy fixtures of arrstore's npy tests into this folder.

Run it from anywhere with NumPy installed: `python3 tests/data/npy/make_fixtures.py`.
It is deterministic: the same NumPy version writes the same bytes. tests/it/npy.rs computes the
same values independently and checks every element bit for bit.

Recipe: values(dtype, n) is a flat array of n elements (flat index k = 0..n-1, logical C order):
  bool    k % 3 == 0
  ints    k, except flat[1] = the type's min and flat[n-1] = the type's max
  floats  k, except flat[1] = -0.0,
                    flat[2] = a quiet NaN with payload 0x123
                              (bits 0x7fc00123 for float32, 0x7ff8000000000123 for float64),
                    flat[3] = +inf, flat[4] = -inf,
                    flat[5] = the smallest positive subnormal,
                    flat[n-1] = the largest finite value (only when n > 6)

Files (dtype names: bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32,
float64):
  {dtype}_le_c.npy      values(dtype, 6).reshape(2, 3), little-endian ('|' for 1-byte), C order
  {dtype}_be_c.npy      the same values stored big-endian (dtype.newbyteorder('>')), C order
  {dtype}_f.npy         values(dtype, 12).reshape(3, 4) in Fortran order, little-endian
  float64_be_f.npy      values(float64, 12).reshape(3, 4), big-endian, Fortran order
  scalar_0d_f64.npy     0-d float64 array holding -1.5
  empty_0x3_i16.npy     int16 array of shape (0, 3)
  six_d_u16.npy         values(uint16, 12).reshape(1, 2, 1, 3, 1, 2)
  v2_i32.npy            values(int32, 6).reshape(2, 3), written as format version 2.0
  v3_f32_f.npy          values(float32, 12).reshape(3, 4) in Fortran order, format version 3.0
Unsupported or broken files (reading them must fail with a message naming the problem):
  bad_complex128.npy    complex128 [0, 1, 2, 3]
  bad_float16.npy       float16 [0, 1, 2, 3]
  bad_unicode.npy       '<U3' ['abc', 'de']
  bad_object.npy        object array [1, 'a', None] (pickled)
  bad_structured.npy    structured dtype [('a', '<i4'), ('b', '<f8')], 2 zeros
  bad_truncated.npy     float64_le_c.npy with its last 5 bytes cut off
  bad_magic.npy         float64_le_c.npy with its 6-byte magic replaced by b'PK\\x03\\x04\\x14\\x00'
"""

import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = ["bool", "int8", "int16", "int32", "int64",
          "uint8", "uint16", "uint32", "uint64", "float32", "float64"]

NAN_BITS = {"float32": 0x7FC00123, "float64": 0x7FF8000000000123}
UINT_OF = {"float32": np.uint32, "float64": np.uint64}


def values(name, n):
    """The flat array of the recipe above, little-endian."""
    dt = np.dtype(name)
    if name == "bool":
        return np.arange(n) % 3 == 0
    a = np.arange(n).astype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        a[1] = info.min
        a[n - 1] = info.max
    else:
        info = np.finfo(dt)
        a[1] = -0.0
        a[3] = np.inf
        a[4] = -np.inf
        a[5] = info.smallest_subnormal
        if n > 6:
            a[n - 1] = info.max
        # Set the NaN through its bits so that the payload is exact.
        a.view(UINT_OF[name])[2] = NAN_BITS[name]
    return a


def path(name):
    return os.path.join(HERE, name)


def save(name, a):
    np.save(path(name), a, allow_pickle=False)


def same_bits(a, b):
    """True when two arrays hold the same element bits (in native byte order)."""
    a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("=")))
    b = np.ascontiguousarray(b.astype(b.dtype.newbyteorder("=")))
    return a.shape == b.shape and a.tobytes() == b.tobytes()


def main():
    for name in DTYPES:
        c = values(name, 6).reshape(2, 3)
        save(f"{name}_le_c.npy", c)
        be = c.astype(c.dtype.newbyteorder(">"))
        assert same_bits(be, c), name
        save(f"{name}_be_c.npy", be)
        f = np.asfortranarray(values(name, 12).reshape(3, 4))
        assert f.flags.f_contiguous and not f.flags.c_contiguous
        save(f"{name}_f.npy", f)

    f = np.asfortranarray(values("float64", 12).reshape(3, 4))
    save("float64_be_f.npy", np.asfortranarray(f.astype(">f8")))
    save("scalar_0d_f64.npy", np.array(-1.5, dtype="<f8"))
    save("empty_0x3_i16.npy", np.zeros((0, 3), dtype="<i2"))
    save("six_d_u16.npy", values("uint16", 12).reshape(1, 2, 1, 3, 1, 2))
    with open(path("v2_i32.npy"), "wb") as fp:
        np.lib.format.write_array(fp, values("int32", 6).reshape(2, 3), version=(2, 0))
    with open(path("v3_f32_f.npy"), "wb") as fp:
        a = np.asfortranarray(values("float32", 12).reshape(3, 4))
        np.lib.format.write_array(fp, a, version=(3, 0))

    save("bad_complex128.npy", np.arange(4, dtype=np.complex128))
    save("bad_float16.npy", np.arange(4, dtype=np.float16))
    save("bad_unicode.npy", np.array(["abc", "de"], dtype="<U3"))
    np.save(path("bad_object.npy"), np.array([1, "a", None], dtype=object), allow_pickle=True)
    save("bad_structured.npy", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]))
    with open(path("float64_le_c.npy"), "rb") as fp:
        good = fp.read()
    with open(path("bad_truncated.npy"), "wb") as fp:
        fp.write(good[:-5])
    with open(path("bad_magic.npy"), "wb") as fp:
        fp.write(b"PK\x03\x04\x14\x00" + good[6:])

    # Check that what was written reads back as the recipe says.
    for name in DTYPES:
        for suffix, shape, n in [("le_c", (2, 3), 6), ("be_c", (2, 3), 6), ("f", (3, 4), 12)]:
            a = np.load(path(f"{name}_{suffix}.npy"))
            assert same_bits(a, values(name, n).reshape(shape)), (name, suffix)
    v3 = np.load(path("v3_f32_f.npy"))
    assert v3.flags.f_contiguous and same_bits(v3, values("float32", 12).reshape(3, 4))


if __name__ == "__main__":
    main()
