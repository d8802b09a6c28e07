//! Checking a whole file ([`ArrayFile::verify`](crate::ArrayFile::verify)): every checksum,
//! every byte decoded, every invariant of its layout; and [`Verified`], the report of what was
//! checked.
//!
//! A verified file is one every read gives back without error: its footer and every block
//! match their checksums (format 1.3), the footer's counts match its self-description, and
//! decoding every row checks what the reads check (values in range of the dtype after their
//! offset; sparse coordinates in range, sorted in the recorded entry order and unique; runs
//! of positive lengths that fill each row exactly, rows in order), and the values match the
//! content hash ([`crate::content`]).
//!
//! ```
//! use arrstore::{write_array_to, ArrayFile, WriteOptions};
//! let a = ndarray::Array2::<i64>::from_shape_fn((100, 100), |(i, j)| (i * j % 7) as i64);
//! let mut file = Vec::new();
//! write_array_to(&mut file, &a, &WriteOptions::default())?;
//! let report = ArrayFile::new(bytes::Bytes::from(file))?.verify()?;
//! assert_eq!(report.cells, 10_000);
//! assert!(report.checksum_blocks.is_some());
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::fmt;

use crate::dtype::DType;
use crate::meta::StoredLayout;

/// What [`ArrayFile::verify`](crate::ArrayFile::verify) checked in a file that passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The file's format version.
    pub format_version: String,
    /// The layout.
    pub layout: StoredLayout,
    /// The dtype.
    pub dtype: DType,
    /// The shape.
    pub shape: Vec<u64>,
    /// The file's size in bytes.
    pub file_bytes: u64,
    /// The block checksums compared (`None`: a file written before format 1.3, without any).
    pub checksum_blocks: Option<u64>,
    /// The row groups decoded.
    pub row_groups: usize,
    /// The table rows decoded (cells, entries or runs).
    pub rows: u64,
    /// The cells of the array.
    pub cells: u64,
}

impl fmt::Display for Verified {
    /// One line: what the file holds and what was checked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape: Vec<String> = self.shape.iter().map(u64::to_string).collect();
        write!(
            f,
            "{} {} [{}], {} bytes: ",
            self.layout.name(),
            self.dtype.name(),
            shape.join(", "),
            self.file_bytes
        )?;
        match self.checksum_blocks {
            Some(n) => write!(f, "footer and {n} block checksums match; ")?,
            None => write!(f, "no checksums (format {}); ", self.format_version)?,
        }
        let what = match self.layout {
            StoredLayout::Dense => "cells, values in range",
            StoredLayout::Sparse => "entries, coordinates in range, sorted and unique, values in range",
            StoredLayout::Runs => "runs, lengths filling every row in order, values in range",
        };
        let groups = if self.row_groups == 1 {
            "row group"
        } else {
            "row groups"
        };
        write!(f, "{} {what} in {} {groups}", self.rows, self.row_groups)
    }
}
