//! The array's self-description, kept as JSON under one key of the Parquet key-value metadata.
//!
//! Key: [`METADATA_KEY`] (`"arrstore"`). Value: a JSON object, for example
//! ```json
//! {"format_version":"1.0","dtype":"int64","shape":[2048,2048],"order":"C","layout":"dense",
//!  "fill":"0","fill_bits":"0x0000000000000000","nnz":4194001,
//!  "columns":[{"name":"value","role":"value","stored_type":"uint16","encoding":"byte_stream_split"}],
//!  "writer":"arrstore 0.1.0"}
//! ```
//! `FORMAT.md` at the top of the repository is the full, versioned specification. A reader
//! accepts every `1.x` and `2.x` file and refuses a newer major version. A writer writes
//! [`FORMAT_VERSION`], or [`TRANSFORM_FORMAT_VERSION`] for a file whose values carry a
//! predictive transform: a `1.x` reader, which would not undo it, refuses such a file.
//!
//! ```
//! use arrstore::meta::{ArrayMeta, METADATA_KEY};
//! let json = r#"{"format_version":"1.0","dtype":"bool","shape":[3],"layout":"dense",
//!   "nnz":1,"columns":[{"name":"value","role":"value","stored_type":"bool"}]}"#;
//! let meta = ArrayMeta::from_json(json).unwrap();
//! assert_eq!(meta.shape, vec![3]);
//! assert_eq!(ArrayMeta::from_json(&meta.to_json()).unwrap(), meta);
//! # let _ = METADATA_KEY;
//! ```

use serde::{Deserialize, Serialize};

use crate::dtype::DType;
use crate::dynarray::Order;
use crate::error::{Error, Result};
use crate::narrow::Narrowing;

/// The Parquet key-value metadata key that holds [`ArrayMeta`] as JSON.
pub const METADATA_KEY: &str = "arrstore";

/// The format version this library writes for files without a transform.
pub const FORMAT_VERSION: &str = "1.4";

/// The format version this library writes for files whose value column carries a predictive
/// transform ([`ColumnMeta::transform`]).
pub const TRANSFORM_FORMAT_VERSION: &str = "2.0";

/// The newest major format version this library reads.
pub const FORMAT_MAJOR: u32 = 2;

/// How an array's cells are laid out in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoredLayout {
    /// One `value` column, every cell in C order.
    Dense,
    /// COO: one index column per axis and a `value` column, only cells that differ from the
    /// fill value, sorted in row-major order.
    Sparse,
    /// Runs of equal cells along the last axis: one index column per other axis, `length` and
    /// `value` (format 1.2; see `FORMAT.md`).
    Runs,
}

impl StoredLayout {
    /// `"dense"`, `"sparse"` or `"runs"`.
    pub fn name(self) -> &'static str {
        match self {
            StoredLayout::Dense => "dense",
            StoredLayout::Sparse => "sparse",
            StoredLayout::Runs => "runs",
        }
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The coordinate of each entry along one axis (sparse layout), or of each run's row
    /// (runs layout).
    Index,
    /// The number of cells of each run (runs layout).
    Length,
    /// The array's values.
    Value,
}

/// One column of the stored table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMeta {
    /// The column's name in the Parquet schema.
    pub name: String,
    /// Index or value.
    pub role: Role,
    /// For an index column, its axis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub axis: Option<usize>,
    /// The type the values are stored as.
    pub stored_type: DType,
    /// Subtracted before storing; the logical value is `dtype(stored + offset)`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: i128,
    /// The Parquet encoding chosen for the column (informative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// For float values stored as integers `k`: how `k` is scaled back to the value (format
    /// 2.0; see [`crate::scale`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<crate::scale::Scale>,
    /// A predictive transform of a dense value column (format 2.0): the column then stores
    /// residuals, and [`ColumnMeta::narrowing`] applies to the values the transform gives back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<crate::predict::Transform>,
    /// Where the transform splits residuals by context: each row group's count of each
    /// context's residuals, in row group order (format 2.0).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context_counts: Vec<[u64; crate::predict::CONTEXTS]>,
    /// The transforms the writer measured for the column, each with a sample's bytes under its
    /// best encoding, `"none"` first (since 1.4, informative).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transform_candidates: Vec<TransformCandidate>,
}

/// A transform the writer measured (see [`ColumnMeta::transform_candidates`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransformCandidate {
    /// `"none"`, or the transform as [`crate::predict::Transform`] displays it.
    pub name: String,
    /// The compressed bytes of the writer's sample under it.
    pub sample_bytes: u64,
}

fn is_zero(v: &i128) -> bool {
    *v == 0
}

impl ColumnMeta {
    /// A column of `role` stored as `stored_type` less `offset`, with no axis, encoding or
    /// transform recorded.
    pub(crate) fn new(name: &str, role: Role, stored_type: DType, offset: i128) -> ColumnMeta {
        ColumnMeta {
            name: name.into(),
            role,
            axis: None,
            stored_type,
            offset,
            encoding: None,
            scale: None,
            transform: None,
            context_counts: Vec::new(),
            transform_candidates: Vec::new(),
        }
    }

    /// How the column's values are stored: narrowed to `stored_type` less `offset`, or, where
    /// a transform is recorded, to its `of_type` less `offset` before the transform.
    pub fn narrowing(&self) -> Narrowing {
        Narrowing {
            stored: self.transform.map_or(self.stored_type, |t| t.of_type),
            offset: self.offset,
            scale: self.scale,
        }
    }
}

/// The layout sizes estimated when the layout was chosen automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Estimates {
    /// Estimated bytes of the dense table's columns.
    pub dense_bytes: u64,
    /// Estimated bytes of the COO table's columns.
    pub sparse_bytes: u64,
    /// Estimated bytes of the run table's columns, when runs were measured (format 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_bytes: Option<u64>,
    /// How many cells the estimate measured (all of them when equal to the array's size).
    pub sampled_cells: u64,
}

/// The self-description of a stored array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrayMeta {
    /// `"major.minor"`.
    pub format_version: String,
    /// The original element type.
    pub dtype: DType,
    /// The original shape.
    pub shape: Vec<u64>,
    /// The original memory order (reads give it back).
    #[serde(default)]
    pub order: Order,
    /// Dense, sparse or runs.
    pub layout: StoredLayout,
    /// The value of cells not stored (sparse layout), readable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    /// The fill value's bits, `0x` and 16 hex digits (authoritative over `fill`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fill_bits: Option<String>,
    /// Cells that differ from the fill value (all cells for a dense array without a fill).
    pub nnz: u64,
    /// The stored columns, in schema order.
    pub columns: Vec<ColumnMeta>,
    /// Sparse layout: the axes the entries are sorted by, most significant first (absent:
    /// row-major). `[1, 0]` stores a matrix column by column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sorted_by: Option<Vec<usize>>,
    /// Runs layout: the number of runs, the table's rows (format 1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u64>,
    /// The layout size estimates, when the layout was chosen automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimates: Option<Estimates>,
    /// The program that wrote the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<String>,
    /// The hash of the array's logical values (format 1.3; see [`crate::content`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<crate::content::ContentHash>,
    /// The checksums over every byte of the file (format 1.3; see [`crate::integrity`]). Set
    /// by the writer as it closes the file: absent in files of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksums: Option<crate::integrity::Checksums>,
}

impl ArrayMeta {
    /// The self-description every writer starts from: this format version and writer, the
    /// array's dtype, shape, memory order and layout, its `nnz` and its columns; the rest unset.
    pub(crate) fn new(
        dtype: DType,
        shape: &[usize],
        order: Order,
        layout: StoredLayout,
        nnz: usize,
        columns: Vec<ColumnMeta>,
    ) -> ArrayMeta {
        ArrayMeta {
            format_version: FORMAT_VERSION.into(),
            dtype,
            shape: shape_u64(shape),
            order,
            layout,
            fill: None,
            fill_bits: None,
            nnz: nnz as u64, // usize fits in u64
            columns,
            sorted_by: None,
            runs: None,
            estimates: None,
            writer: Some(format!("arrstore {}", env!("CARGO_PKG_VERSION"))),
            content_hash: None,
            checksums: None,
        }
    }

    /// The JSON text stored under [`METADATA_KEY`].
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("ArrayMeta always serializes")
    }

    /// The lowest format version that describes this array: [`TRANSFORM_FORMAT_VERSION`] where
    /// a column's stored values need a transform or scale undone, [`FORMAT_VERSION`] otherwise.
    pub fn lowest_format_version(&self) -> &'static str {
        if self
            .columns
            .iter()
            .any(|c| c.transform.is_some() || c.scale.is_some())
        {
            TRANSFORM_FORMAT_VERSION
        } else {
            FORMAT_VERSION
        }
    }

    /// Whether `format_version` is `major.minor` or later.
    pub fn format_at_least(&self, major: u32, minor: u32) -> bool {
        let mut parts = self
            .format_version
            .split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0));
        let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        found >= (major, minor)
    }

    /// Parses and checks the JSON text: version, shape and columns.
    pub fn from_json(text: &str) -> Result<ArrayMeta> {
        #[derive(Deserialize)]
        struct Version {
            format_version: String,
        }
        let v: Version = serde_json::from_str(text)
            .map_err(|e| Error::CorruptMetadata(format!("{e} in '{}'", preview(text))))?;
        let major = v
            .format_version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .ok_or_else(|| {
                Error::CorruptMetadata(format!(
                    "format_version '{}' is not major.minor",
                    v.format_version
                ))
            })?;
        if major > FORMAT_MAJOR {
            return Err(Error::UnsupportedVersion {
                found: v.format_version,
                supported: TRANSFORM_FORMAT_VERSION.to_string(),
            });
        }
        let meta: ArrayMeta = serde_json::from_str(text)
            .map_err(|e| Error::CorruptMetadata(format!("{e} in '{}'", preview(text))))?;
        meta.check()?;
        Ok(meta)
    }

    /// The number of cells, checked against overflow.
    pub fn cells(&self) -> Result<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| Error::BadShape {
                shape: self.shape.clone(),
                problem: "the number of cells overflows 64 bits".into(),
            })
    }

    /// The shape as `usize`, or an error when it does not fit this machine.
    pub fn shape_usize(&self) -> Result<Vec<usize>> {
        let cells = self.cells()?;
        usize::try_from(cells).map_err(|_| Error::BadShape {
            shape: self.shape.clone(),
            problem: format!("{cells} cells do not fit in memory on this machine"),
        })?;
        self.shape
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<Result<_, _>>()
            .map_err(|_| Error::BadShape {
                shape: self.shape.clone(),
                problem: "an axis does not fit in usize".into(),
            })
    }

    /// Checks that the dense array (`cells × itemsize` bytes) can be allocated at all, before
    /// a read tries to.
    pub fn check_dense_fits(&self) -> Result<usize> {
        let cells = self.cells()?;
        let bytes = cells.checked_mul(self.dtype.size() as u64); // itemsize is at most 8
        match bytes.and_then(|b| isize::try_from(b).ok()) {
            Some(_) => Ok(usize::try_from(cells).expect("fewer cells than bytes, which fit isize")),
            None => Err(Error::BadShape {
                shape: self.shape.clone(),
                problem: format!(
                    "the dense array needs {cells} cells of {} bytes, more than this machine can address",
                    self.dtype.size()
                ),
            }),
        }
    }

    /// The axes a sparse file's entries are sorted by, most significant first.
    pub fn sorted_by(&self) -> Vec<usize> {
        self.sorted_by
            .clone()
            .unwrap_or_else(|| crate::entry_order::row_major(self.shape.len()))
    }

    /// The value column's description.
    pub fn value_column(&self) -> &ColumnMeta {
        self.columns
            .iter()
            .find(|c| c.role == Role::Value)
            .expect("checked by ArrayMeta::check")
    }

    /// The index columns, by axis.
    pub fn index_columns(&self) -> Vec<&ColumnMeta> {
        let mut idx: Vec<&ColumnMeta> = self.columns.iter().filter(|c| c.role == Role::Index).collect();
        idx.sort_by_key(|c| c.axis);
        idx
    }

    /// The fill value's bits, if any.
    pub fn fill_bits(&self) -> Result<Option<u64>> {
        self.fill_bits
            .as_deref()
            .map(|s| {
                s.strip_prefix("0x")
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        Error::CorruptMetadata(format!("fill_bits '{s}' is not 0x and hex digits"))
                    })
            })
            .transpose()
    }

    /// The run-length column of a runs array.
    pub fn length_column(&self) -> Option<&ColumnMeta> {
        self.columns.iter().find(|c| c.role == Role::Length)
    }

    /// The run-length column of a runs array, or an error naming its absence (metadata that
    /// passed its checks always has one).
    pub(crate) fn runs_length_column(&self) -> Result<&ColumnMeta> {
        self.length_column()
            .ok_or_else(|| Error::CorruptMetadata("a runs array without a length column".into()))
    }

    /// Checks there are `n` index columns, for axes 0..n, unsigned.
    fn check_index_columns(&self, n: usize) -> Result<()> {
        let idx = self.index_columns();
        if idx.len() != n {
            return Err(Error::CorruptMetadata(format!(
                "{} index columns for a {} array of {} axes",
                idx.len(),
                self.layout.name(),
                self.shape.len()
            )));
        }
        for (axis, c) in idx.iter().enumerate() {
            if c.axis != Some(axis) {
                return Err(Error::CorruptMetadata(format!(
                    "index column '{}' has axis {:?}, expected {axis}",
                    c.name, c.axis
                )));
            }
            check_unsigned(c)?;
        }
        Ok(())
    }

    fn check(&self) -> Result<()> {
        // First: a shape of a million axes is refused before any work per axis.
        crate::limits::check_writable_shape(&self.shape)?;
        let bad = |m: String| Err(Error::CorruptMetadata(m));
        self.cells()?;
        let values = self.columns.iter().filter(|c| c.role == Role::Value).count();
        if values != 1 {
            return bad(format!("{values} value columns, expected 1"));
        }
        let v = self.value_column();
        v.narrowing().check(self.dtype)?;
        for c in &self.columns {
            if c.scale.is_some() && (c.role != Role::Value || !self.format_at_least(2, 0)) {
                return bad(format!(
                    "column '{}' of a format {} file has a scale; only a value column of format 2.0 may",
                    c.name, self.format_version
                ));
            }
            if let Some(t) = &c.transform {
                if c.role != Role::Value || self.layout != StoredLayout::Dense {
                    return bad(format!(
                        "column '{}' of a {} array has a transform; only a dense array's values may",
                        c.name,
                        self.layout.name()
                    ));
                }
                if !self.format_at_least(2, 0) {
                    return bad(format!(
                        "a format {} file has a transform; transforms need format 2.0",
                        self.format_version
                    ));
                }
                t.check(c.stored_type)?;
            }
        }
        match self.layout {
            StoredLayout::Dense => {
                if self.columns.len() != 1 {
                    return bad(format!(
                        "a dense array has 1 column, this one lists {}",
                        self.columns.len()
                    ));
                }
            }
            StoredLayout::Runs => {
                self.check_index_columns(self.shape.len().saturating_sub(1))?;
                let lengths: Vec<&ColumnMeta> =
                    self.columns.iter().filter(|c| c.role == Role::Length).collect();
                let [length] = lengths[..] else {
                    return bad(format!("{} length columns, expected 1", lengths.len()));
                };
                check_unsigned(length)?;
                let Some(runs) = self.runs else {
                    return bad("a runs array needs its number of runs".into());
                };
                // At least one run per row, at most one per cell.
                let cells = self.cells()?;
                let least = cells
                    .checked_div(self.shape.last().copied().unwrap_or(1))
                    .unwrap_or(0);
                if runs < least || runs > cells {
                    return bad(format!(
                        "{runs} runs; an array of shape {:?} has {least} to {cells}",
                        self.shape
                    ));
                }
                if self.columns.len() != self.shape.len().saturating_sub(1) + 2 {
                    return bad(format!(
                        "a runs array of {} axes has {} columns, this one lists {}",
                        self.shape.len(),
                        self.shape.len().saturating_sub(1) + 2,
                        self.columns.len()
                    ));
                }
            }
            StoredLayout::Sparse => {
                self.check_index_columns(self.shape.len())?;
                if let Some(s) = &self.sorted_by {
                    if !crate::entry_order::is_permutation(s, self.shape.len()) {
                        return bad(format!(
                            "sorted_by {s:?} is not an order of the {} axes",
                            self.shape.len()
                        ));
                    }
                }
                if self.fill_bits.is_none() {
                    return bad("a sparse array needs fill_bits".into());
                }
                self.fill_bits()?;
            }
        }
        if self.nnz > self.cells()? {
            return bad(format!("nnz {} exceeds the {} cells", self.nnz, self.cells()?));
        }
        Ok(())
    }
}

/// Checks that an index or length column is stored unsigned, without an offset.
fn check_unsigned(c: &ColumnMeta) -> Result<()> {
    let unsigned = matches!(c.stored_type, DType::U8 | DType::U16 | DType::U32 | DType::U64);
    if unsigned && c.offset == 0 {
        Ok(())
    } else {
        Err(Error::CorruptMetadata(format!(
            "{} column '{}' is stored as {}{}",
            match c.role {
                Role::Index => "index",
                Role::Length => "length",
                Role::Value => "value",
            },
            c.name,
            c.stored_type,
            if c.offset == 0 {
                String::new()
            } else {
                format!(" with offset {}", c.offset)
            }
        )))
    }
}

fn preview(text: &str) -> String {
    let mut s: String = text.chars().take(80).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// A shape's lengths as `u64` (usize fits in u64).
pub(crate) fn shape_u64(shape: &[usize]) -> Vec<u64> {
    shape.iter().map(|&d| d as u64).collect()
}

/// The names of the index columns of an array with `ndim` axes.
pub fn index_names(ndim: usize) -> Vec<String> {
    if ndim == 2 {
        vec!["row".into(), "col".into()]
    } else {
        (0..ndim).map(|i| format!("dim_{i}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_column_names() {
        assert_eq!(index_names(2), ["row", "col"]);
        assert_eq!(index_names(3), ["dim_0", "dim_1", "dim_2"]);
        assert!(index_names(0).is_empty());
    }

    const OK: &str = r#"{"format_version":"1.3","dtype":"int64","shape":[4,5],"layout":"sparse",
        "fill":"0","fill_bits":"0x0000000000000000","nnz":3,
        "columns":[{"name":"row","role":"index","axis":0,"stored_type":"uint8"},
                   {"name":"col","role":"index","axis":1,"stored_type":"uint8"},
                   {"name":"value","role":"value","stored_type":"uint8","offset":-170141183460469231731687303715884105728}]}"#;

    #[test]
    fn parses_minor_versions_and_big_offsets() {
        let m = ArrayMeta::from_json(OK).unwrap();
        assert_eq!(m.value_column().offset, i128::MIN);
        assert_eq!(m.index_columns()[1].name, "col");
        assert_eq!(ArrayMeta::from_json(&m.to_json()).unwrap(), m);
    }

    #[test]
    fn refuses_newer_major_and_bad_fields() {
        let e = ArrayMeta::from_json(&OK.replace("1.3", "3.0")).unwrap_err();
        assert!(matches!(e, Error::UnsupportedVersion { .. }), "{e}");
        let e = ArrayMeta::from_json(&OK.replace("int64", "complex64")).unwrap_err();
        assert!(e.to_string().contains("complex64"), "{e}");
        let e = ArrayMeta::from_json(&OK.replace("\"axis\":1", "\"axis\":3")).unwrap_err();
        assert!(e.to_string().contains("axis"), "{e}");
        let e = ArrayMeta::from_json(&OK.replace("[4,5]", "[4294967296,4294967296,4294967296]")).unwrap_err();
        assert!(
            e.to_string().contains("index columns") || e.to_string().contains("overflow"),
            "{e}"
        );
        let e = ArrayMeta::from_json(&OK.replace("\"nnz\":3", "\"nnz\":3,\"sorted_by\":[1,1]")).unwrap_err();
        assert!(e.to_string().contains("sorted_by [1, 1]"), "{e}");
        let m = ArrayMeta::from_json(&OK.replace("\"nnz\":3", "\"nnz\":3,\"sorted_by\":[1,0]")).unwrap();
        assert_eq!(m.sorted_by(), vec![1, 0]);
        let e = ArrayMeta::from_json("{not json").unwrap_err();
        assert!(e.to_string().contains("corrupt arrstore metadata"), "{e}");
    }
}
