//! The library's error type: one variant per way a write or read can fail, with the numbers in
//! the message.
//!
//! Policy (as written in the crate docs): a caller's contract violation in the in-memory API
//! panics with a message and has a `try_` twin; anything read from a file or typed by a user is
//! a `Result` with one of these errors.

use std::path::{Path, PathBuf};

use crate::dtype::DType;

/// The result type of arrstore.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when writing or reading an array.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error that happened while working on a file, with the file's path.
    ///
    /// Every variant that wraps another error both shows its message and returns it as
    /// `source()`, so that `to_string()` is whole and the cause can be reached; a report of the
    /// cause chain leaves out a message the one before it already ends with (as the `arrstore`
    /// binary does).
    #[error("{}: {error}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        error: Box<Error>,
    },

    /// An operating-system error (its message is this error's message; it is also the source).
    #[error("{0}")]
    Io(#[from] std::io::Error),

    /// The Parquet reader or writer failed (a truncated or corrupt file, most often).
    #[error("Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    /// Arrow failed while building or converting columns.
    #[error("Arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A zip archive (`.npz`) that cannot be read: not a zip file, truncated, or of a kind the
    /// zip reader does not take.
    #[error("not a readable .npz (zip) archive: {0}")]
    Zip(#[source] zip::result::ZipError),

    /// The output exists and overwriting was not asked for.
    #[error("output already exists (pass --force / `with_overwrite(true)` to replace it)")]
    OutputExists,

    /// A Parquet file that arrstore did not write: its metadata has no arrstore key.
    #[error("not an arrstore file: the Parquet metadata has no '{key}' key")]
    NotArrstore {
        /// The key that was looked for.
        key: &'static str,
    },

    /// A file written by a newer, incompatible arrstore format.
    #[error("format version {found} is newer than this reader supports ({supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The version this reader writes.
        supported: String,
    },

    /// The arrstore metadata is present but cannot be used.
    #[error("corrupt arrstore metadata: {0}")]
    CorruptMetadata(String),

    /// The data in the file disagrees with its metadata.
    #[error("corrupt data: {0}")]
    CorruptData(String),

    /// The array's element type is not the one asked for.
    #[error("dtype mismatch: the array is {found}, the caller asked for {expected}")]
    WrongDtype {
        /// The dtype asked for.
        expected: DType,
        /// The dtype stored.
        found: DType,
    },

    /// The array's rank is not the one asked for.
    #[error("dimensionality mismatch: the array has {found} axes, the caller asked for {expected}")]
    WrongNdim {
        /// The rank asked for.
        expected: usize,
        /// The rank stored.
        found: usize,
    },

    /// A coordinate lies outside the array's shape.
    #[error("coordinate {index} on axis {axis} is out of range for length {len} (entry {entry})")]
    CoordinateOutOfRange {
        /// The entry (0-based position in the COO table).
        entry: u64,
        /// The axis.
        axis: usize,
        /// The coordinate found.
        index: u64,
        /// The axis length.
        len: u64,
    },

    /// COO coordinates that are not strictly increasing in their order (row-major in memory;
    /// a file's `sorted_by`).
    #[error("coordinates are not sorted in {} order without duplicates (at entry {entry})", order_name(.sorted_by))]
    UnsortedCoordinates {
        /// The first entry out of order.
        entry: u64,
        /// The axes the entries should be sorted by, most significant first.
        sorted_by: Vec<usize>,
    },

    /// The fill value cannot be held exactly by the array's dtype.
    #[error("fill value {fill} is not exactly representable as {dtype}")]
    BadFill {
        /// The fill value as given.
        fill: String,
        /// The array's dtype.
        dtype: DType,
    },

    /// A shape whose element count overflows, or that disagrees with the data.
    #[error("shape {shape:?}: {problem}")]
    BadShape {
        /// The shape.
        shape: Vec<u64>,
        /// What is wrong with it.
        problem: String,
    },

    /// A `.npy` file arrstore cannot read (foreign dtype, bad header).
    #[error("unsupported .npy: {0}")]
    UnsupportedNpy(String),

    /// A SQL query failed to plan or run (DataFusion's error, also the source).
    #[error("SQL: {0}")]
    Sql(#[source] Box<datafusion::error::DataFusionError>),

    /// A table could not be registered for SQL: its name is taken, or its path cannot be a
    /// table's location.
    #[error("SQL: {0}")]
    SqlTable(String),

    /// A query result that cannot be made into an array (wrong columns, duplicate
    /// coordinates, NULLs).
    #[error("query result: {0}")]
    QueryResult(String),

    /// Bytes of the file differ from what their writer recorded: a checksum failed.
    #[error(
        "checksum mismatch in {place}: CRC-32 {found:08x}, recorded {recorded:08x}: the file is corrupt"
    )]
    ChecksumMismatch {
        /// Where: the bytes, and the row group, column and pages they belong to.
        place: String,
        /// The CRC-32 the writer recorded.
        recorded: u32,
        /// The CRC-32 of the bytes read.
        found: u32,
    },
    /// The array read back differs from the content hash its writer recorded.
    #[error(
        "content hash mismatch: the {what} read hash to {found:016x}, the writer recorded {recorded:016x}"
    )]
    ContentMismatch {
        /// What was hashed: `"cells"` or `"entries"`.
        what: &'static str,
        /// The hash the writer recorded.
        recorded: u64,
        /// The hash of what was read.
        found: u64,
    },
    /// An element type arrstore does not store.
    #[error("unsupported dtype '{0}' (arrstore stores bool, int8..int64, uint8..uint64, float32, float64)")]
    UnsupportedDtype(String),

    /// A predictive transform asked for (`WriteOptions::with_transform`) that cannot apply to
    /// the array.
    #[error("bad transform: {0}")]
    BadTransform(String),

    /// A member of a zip archive (`.npz`) whose bytes do not match the CRC-32 the archive
    /// records for it: the archive is corrupt.
    #[error("member '{member}' is corrupt: bad CRC-32 {found:#010x}, the archive records {recorded:#010x}")]
    BadCrc {
        /// The member's name in the archive.
        member: String,
        /// The CRC-32 the archive's directory records.
        recorded: u32,
        /// The CRC-32 of the member's bytes as read.
        found: u32,
    },

    /// A slice that does not fit the array, or is not one (see [`crate::slice`]).
    #[error("bad slice {0}")]
    BadSlice(String),

    /// An array with more axes than arrstore (and NumPy) handle.
    #[error("{ndim} axes, more than the {max} an array may have")]
    TooManyAxes {
        /// The number of axes.
        ndim: usize,
        /// The most allowed ([`crate::limits::MAX_NDIM`]).
        max: usize,
    },
}

impl Error {
    /// This error, marked as having happened on `path` (once: an error already naming a file
    /// keeps that name). `None`, for bytes that came from no file, leaves it as it is.
    ///
    /// ```
    /// use std::path::Path;
    /// let e = arrstore::Error::CorruptData("3 values for 4 cells".into());
    /// assert_eq!(e.in_file(Path::new("a.parquet")).to_string(), "a.parquet: corrupt data: 3 values for 4 cells");
    /// ```
    pub fn in_file<'p>(self, path: impl Into<Option<&'p Path>>) -> Error {
        match (self, path.into()) {
            (e @ Error::File { .. }, _) | (e, None) => e,
            (e, Some(path)) => Error::File {
                path: path.to_path_buf(),
                error: Box::new(e),
            },
        }
    }

    /// A copy of this error for reporting it twice: the same variant where it holds only text
    /// and numbers, its message as [`Error::CorruptData`] otherwise.
    pub(crate) fn clone_message(&self) -> Error {
        match self {
            Error::File { path, error } => Error::File {
                path: path.clone(),
                error: Box::new(error.clone_message()),
            },
            Error::ChecksumMismatch {
                place,
                recorded,
                found,
            } => Error::ChecksumMismatch {
                place: place.clone(),
                recorded: *recorded,
                found: *found,
            },
            Error::CorruptData(m) => Error::CorruptData(m.clone()),
            Error::CorruptMetadata(m) => Error::CorruptMetadata(m.clone()),
            other => Error::CorruptData(other.to_string()),
        }
    }

    /// The innermost error, looking through [`Error::File`].
    pub fn kind(&self) -> &Error {
        match self {
            Error::File { error, .. } => error.kind(),
            e => e,
        }
    }
}

/// "row-major", or "axis [1, 0]" for another order.
fn order_name(sorted_by: &[usize]) -> String {
    if sorted_by.iter().copied().eq(0..sorted_by.len()) {
        "row-major".into()
    } else {
        format!("axis {sorted_by:?}")
    }
}

/// The one way a `Result`'s error is marked with the file it happened on.
pub trait ResultExt<T> {
    /// The error converted to [`Error`] and marked with `path` ([`Error::in_file`]).
    ///
    /// ```
    /// use arrstore::error::ResultExt;
    /// let e = std::fs::read("no-such.npy").in_file(std::path::Path::new("no-such.npy")).unwrap_err();
    /// assert!(e.to_string().starts_with("no-such.npy: "));
    /// ```
    fn in_file<'p>(self, path: impl Into<Option<&'p Path>>) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn in_file<'p>(self, path: impl Into<Option<&'p Path>>) -> Result<T> {
        self.map_err(|e| e.into().in_file(path))
    }
}
