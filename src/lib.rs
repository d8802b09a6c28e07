//! arrstore stores n-dimensional numeric arrays small and without losing a bit, as plain
//! Parquet files that any Parquet reader opens.
//!
//! - **Dense arrays** become one `value` column in C order, narrowed to the smallest type that
//!   holds every value exactly (int64 counts in 0..60000 become `uint16`; whole-number floats an
//!   integer type; `float64` that survive `float32` become `float32`; a common offset is
//!   subtracted where that is narrower), each column encoded with whichever Parquet encoding
//!   measures smallest.
//! - **Sparse arrays** become a COO table (`row`, `col`, `value` for 2-D; `dim_0..` otherwise),
//!   sorted (row-major, or with another axis innermost where that measures smaller), with
//!   coordinates at the width the shape needs and values dictionary-encoded where that is
//!   smaller.
//! - **Arrays of long runs** (labels, masks) become a run table (`row`, `length`, `value`;
//!   see `FORMAT.md`), each row of the last axis cut into runs of equal cells. `Layout::Auto` stores
//!   whichever layout is estimated smallest.
//! - **Reads are exact**: same dtype, shape, memory order and bits (NaN payloads, -0.0), or, on
//!   request, the narrowed form or the COO without densifying.
//! - **Sizes are reported** side by side: original, narrowed and COO in memory, on disk per column.
//!
//! # Entry points
//! - Write: [`write_array`] / [`write_array_to`] (any `ndarray` array or view),
//!   [`write_dyn`] / [`write_dyn_to`] ([`DynArray`]), [`write_coo`] / [`write_coo_to`] ([`Coo`]),
//!   [`write_dyn_coo`] / [`write_dyn_coo_to`] ([`DynCoo`]),
//!   [`write_npy_file`] (an `.npy` file, streamed);
//!   options in [`WriteOptions`].
//! - Read: [`read_array`] / [`read_array_from`] (the caller's type annotation picks dtype and
//!   rank), [`read_dyn`], [`read_coo`]; [`ArrayFile`] for the metadata, the narrowed read
//!   ([`ArrayFile::read_narrowed`]) and the size report ([`ArrayFile::sizes`]).
//! - Read a slice: [`ArrayFile::read_slice`] and [`ArrayFile::read_slice_narrowed`] (ndarray's
//!   `s![..]`), [`ArrayFile::read_selection`] and [`ArrayFile::read_selection_narrowed`]
//!   ([`slice::Selection`], NumPy's basic slicing syntax); only the row groups and pages that
//!   hold the slice are read.
//! - Check a file whole: [`ArrayFile::verify`] (every checksum of [`integrity`], every value
//!   decoded and compared with the [`content`] hash, every invariant of its layout; the report is a
//!   [`Verified`]).
//! - `.npy` files: [`npy::read_npy`] / [`npy::write_npy`]; `.npz` archives (NumPy's named
//!   arrays and SciPy's sparse matrices, never densified): [`npz::read_npz`],
//!   [`npz::write_npz`], [`npz::write_sparse_npz`].
//! - Stores of many named arrays (a directory, one file per array): [`store::Store`].
//! - Arrays grown along axis 0 in parts, larger than memory: [`dataset::Dataset`] (appends)
//!   and [`dataset::ArrayWriter`] (chunks).
//! - SQL: [`sql::ArraySession`] (DataFusion over stored arrays and stores; results back into
//!   arrays).
//! - The pieces a caller may need: [`narrow`] (the narrowing rules), [`meta`] (the
//!   self-description), [`sizes`], [`options`] (defaults and the layout choice's thresholds),
//!   [`limits`] (the shapes that can be written and read), [`integrity`] and [`content`]
//!   (checksums and the content hash), [`atomic`] (atomic output files; removing what killed
//!   writers left), [`contain`] (decoder panics as errors), [`error`].
//!
//! The rest is private: how each layout is written (`write`, `runs`, the table writer), how
//! encodings are chosen (`encode`), the entry orders of sparse files (`entry_order`), the
//! readers (`read`). `FORMAT.md` describes every file they write.
//!
//! ```
//! use arrstore::{read_array_from, write_array_to, WriteOptions};
//! let counts = ndarray::Array2::<i64>::from_shape_fn((256, 256), |(i, j)| ((i * 31 + j * 17) % 60001) as i64);
//! let mut file = Vec::new();
//! let summary = write_array_to(&mut file, &counts, &WriteOptions::default())?;
//! assert_eq!(summary.meta.value_column().stored_type, arrstore::DType::U16);
//! let back: ndarray::Array2<i64> = read_array_from(bytes::Bytes::from(file))?;
//! assert_eq!(back, counts);
//! # Ok::<(), arrstore::Error>(())
//! ```
//!
//! # Errors and panics
//! Anything read from a file or typed by a user returns a [`Result`] whose [`Error`] names the
//! file and the problem; a panic of the Parquet decoder on a malformed page is caught and
//! returned as an error too ([`contain`]). A caller's contract violation in the in-memory API (for example
//! [`Coo::new`] with unsorted coordinates) panics with a message and has a checked `try_` twin.
//!
//! # Limitations
//! - Element types: bool, int8..int64, uint8..uint64, float32, float64 (no complex, float16,
//!   strings or objects).
//! - A sparse array is built in memory as COO before it is written, and a runs table as its runs
//!   (memory in proportion to the entries or runs); a dense array is scanned twice (once to
//!   decide, once to write) and not memory-mapped yet.
//! - At most [`limits::MAX_NDIM`] (64) axes, as NumPy, and at most `u64::MAX` cells.
//! - Narrowing happens only at the storage boundary; arrays in memory keep their dtype unless
//!   the narrowed read is asked for.

#![warn(missing_docs)]

pub mod atomic;
mod cells;
pub mod contain;
pub mod content;
mod coo;
mod coords;
pub mod dataset;
mod dtype;
mod dynarray;
mod effort;
mod encode;
mod entry_order;
pub mod error;
pub mod integrity;
pub mod limits;
pub mod meta;
pub mod narrow;
pub mod npy;
pub mod npz;
pub mod options;
mod par;
pub mod predict;
mod read;
mod runs;
pub mod scale;
pub mod sizes;
pub mod slice;
pub mod sql;
pub mod store;
mod table;
mod verify;
mod write;

pub use coo::{Coo, DynCoo};
pub use coords::Coords;
pub use dtype::{DType, Element, UnknownDType};
pub use dynarray::{BadScalar, DynArray, Order, Scalar};
pub use effort::Effort;
pub use error::{Error, Result};
pub use meta::{ArrayMeta, StoredLayout};
pub use options::{Layout, WriteOptions};
pub use read::{read_array, read_array_from, read_coo, read_dyn, ArrayFile, Narrowed};
pub use sizes::SizeReport;
pub use verify::Verified;
pub use write::{
    write_array, write_array_to, write_coo, write_coo_to, write_dyn, write_dyn_coo, write_dyn_coo_to,
    write_dyn_to, write_npy_file, WriteSummary,
};

pub(crate) use coo::with_dyn_coo;
pub(crate) use dynarray::{with_dtype, with_dyn_array};
