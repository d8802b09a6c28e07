"""What the interoperability tests share: the dtypes arrstore supports and bit-exact views."""

import numpy as np

# Every element type arrstore stores, as NumPy names them.
DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float32", "float64"]

# The unsigned type of each item size.
UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def bits(a):
    """The values' bit patterns (comparable with ==, NaN payloads and -0.0 included)."""
    a = np.ascontiguousarray(a)
    return a.view(UINT[a.dtype.itemsize])
