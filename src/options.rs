//! Options for writing arrays: [`WriteOptions`] (with `Default` and consuming `with_*`
//! methods) and the requested [`Layout`].

use parquet::basic::{Compression, ZstdLevel};

use crate::dynarray::Scalar;
use crate::effort::Effort;

/// The layout a writer is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// Whichever of dense, sparse and runs is estimated smaller on disk.
    #[default]
    Auto,
    /// Every cell, in C order.
    Dense,
    /// COO: only the cells that differ from the fill value.
    Sparse,
    /// Runs of equal cells along the last axis (a `row`, `length`, `value` table).
    Runs,
}

impl std::str::FromStr for Layout {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Layout::Auto),
            "dense" => Ok(Layout::Dense),
            "sparse" | "coo" => Ok(Layout::Sparse),
            "runs" => Ok(Layout::Runs),
            _ => Err(format!(
                "unknown layout '{s}' (expected auto, dense, sparse or runs)"
            )),
        }
    }
}

/// Rows per Parquet row group unless set: each row group is encoded and compressed on its own.
pub const DEFAULT_ROW_GROUP_SIZE: usize = 1 << 20;

/// The zstd level unless set.
pub const DEFAULT_ZSTD_LEVEL: i32 = 3;

/// Bytes of input measured when choosing encodings and the layout (every cell of a smaller
/// array): 262,144 cells of a 64-bit dtype, 2,097,152 of `bool` or `uint8`. A budget in bytes
/// rather than cells gives one-byte dtypes, whose patterns span more cells per byte, a sample
/// that shows how they compress (see `DESIGN.md`).
pub const DEFAULT_SAMPLE_BYTES: usize = 2 << 20;

/// The least saving, in percent of the smaller of the dense and sparse estimates, for which an
/// array is stored as runs when the layout is chosen automatically: Parquet readers see a
/// dense or sparse table's cells directly, a run table's only through its lengths.
pub const RUNS_MIN_SAVING_PERCENT: u64 = 2;

/// The least saving, in percent of the measured sample, for which a sparse file's entries are
/// stored in an order other than row-major (which pruning by the first axis, and readers that
/// expect it, favour when the orders measure alike).
pub const OTHER_ORDER_MIN_SAVING_PERCENT: u64 = 2;

/// The cells whose runs are found at a time when a run table is written: the runs held in
/// memory are at most a slab's and a row group's, whatever the size of the array.
pub const RUNS_SLAB_CELLS: usize = 1 << 22;

/// How to write an array.
///
/// ```
/// use arrstore::{Layout, Scalar, WriteOptions};
/// let opts = WriteOptions::default()
///     .with_layout(Layout::Sparse)
///     .with_fill(Scalar::Float(f64::NAN))
///     .with_overwrite(true);
/// assert_eq!(opts.layout(), Layout::Sparse);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct WriteOptions {
    layout: Layout,
    compression: Compression,
    row_group_size: usize,
    sample_bytes: usize,
    fill: Option<Scalar>,
    overwrite: bool,
    arrow_dictionary: bool,
    portable: bool,
    transform: Option<crate::predict::Prediction>,
    effort: Effort,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            layout: Layout::Auto,
            compression: Compression::ZSTD(
                ZstdLevel::try_new(DEFAULT_ZSTD_LEVEL).expect("the default level is valid"),
            ),
            row_group_size: DEFAULT_ROW_GROUP_SIZE,
            sample_bytes: DEFAULT_SAMPLE_BYTES,
            fill: None,
            overwrite: false,
            arrow_dictionary: false,
            portable: false,
            transform: None,
            effort: Effort::Default,
        }
    }
}

impl WriteOptions {
    /// Chooses the layout (default [`Layout::Auto`]).
    pub fn with_layout(mut self, layout: Layout) -> Self {
        self.layout = layout;
        self
    }

    /// Chooses the Parquet codec and level (default zstd level 3). With zstd the level is where
    /// the choice starts: a column may be written at level 1 or at a higher level where that
    /// measures smaller on the sample.
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Rows per row group (default [`DEFAULT_ROW_GROUP_SIZE`]; at least 1).
    pub fn with_row_group_size(mut self, rows: usize) -> Self {
        self.row_group_size = rows.max(1);
        self
    }

    /// Bytes of input measured when choosing encodings and layout (default
    /// [`DEFAULT_SAMPLE_BYTES`]): that many bytes' worth of cells of the array's dtype (at least
    /// one cell), or of COO entries counted as 8 bytes each.
    pub fn with_sample_bytes(mut self, bytes: usize) -> Self {
        self.sample_bytes = bytes.max(1);
        self
    }

    /// The value of cells a sparse layout leaves out (default 0, or `false`). It must be exactly
    /// representable in the array's dtype.
    pub fn with_fill(mut self, fill: Scalar) -> Self {
        self.fill = Some(fill);
        self
    }

    /// Whether an existing output may be replaced (default `false`).
    pub fn with_overwrite(mut self, overwrite: bool) -> Self {
        self.overwrite = overwrite;
        self
    }

    /// Whether a dictionary-encoded column is also declared as an Arrow dictionary type in the
    /// file's embedded Arrow schema (default `false`).
    ///
    /// The values are dictionary-encoded on disk either way (dictionary pages). With the
    /// declaration, Arrow readers such as pyarrow hand the column back as a dictionary array
    /// (one small key per cell in memory); without it they give plain values, and Rust Arrow
    /// readers (DataFusion, and so `arrstore sql`) decode the column about twice as fast,
    /// because they would otherwise rebuild the dictionary by hashing every value.
    pub fn with_arrow_dictionary(mut self, declare: bool) -> Self {
        self.arrow_dictionary = declare;
        self
    }

    /// Whether to keep only what a plain Parquet reader can undo with column arithmetic
    /// (default `false`): no predictive transform (see [`crate::predict`]), so pyarrow or
    /// DuckDB read a dense file's values directly (less its offset, as today).
    ///
    /// ```
    /// use arrstore::{write_array_to, WriteOptions};
    /// let ramp = ndarray::Array2::from_shape_fn((256, 256), |(i, j)| (i * 7 + j * 3) as u16);
    /// let mut buf = Vec::new();
    /// let s = write_array_to(&mut buf, &ramp, &WriteOptions::default().with_portable(true)).unwrap();
    /// assert!(s.meta.columns[0].transform.is_none());
    /// assert_eq!(s.meta.format_version, "1.4");
    /// ```
    pub fn with_portable(mut self, portable: bool) -> Self {
        self.portable = portable;
        self
    }

    /// Stores a dense array's values with this predictive transform, whatever it measures
    /// (default: each candidate is measured and the smallest kept), where the values narrow to
    /// integers; an error where the distances do not fit the array. Takes precedence over
    /// [`with_portable`](Self::with_portable).
    ///
    /// ```
    /// use arrstore::predict::{Prediction, Predictor};
    /// use arrstore::{write_array_to, WriteOptions, Layout};
    /// let a = ndarray::Array2::from_shape_fn((64, 64), |(i, j)| (i * j) as i32);
    /// let opts = WriteOptions::default()
    ///     .with_layout(Layout::Dense)
    ///     .with_transform(Prediction { predictor: Predictor::Up, left: 1, up: Some(64), colour: None, contexts: None });
    /// let s = write_array_to(Vec::new(), &a, &opts).unwrap();
    /// assert_eq!(s.meta.columns[0].transform.unwrap().predictor, Predictor::Up);
    /// ```
    pub fn with_transform(mut self, prediction: crate::predict::Prediction) -> Self {
        self.transform = Some(prediction);
        self
    }

    /// Chooses how much is measured to make the file small (default [`Effort::Default`]).
    ///
    /// ```
    /// use arrstore::{write_array_to, Effort, WriteOptions};
    /// let mut x = 1u32; // a smooth image with a little noise (a linear congruential generator)
    /// let a = ndarray::Array2::from_shape_fn((256, 256), |(i, j)| {
    ///     x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
    ///     let noise = f64::from(x >> 29);
    ///     (120.0 + 60.0 * (i as f64 / 9.0).sin() + 50.0 * (j as f64 / 13.0).cos() + noise) as u8
    /// });
    /// let write = |effort| write_array_to(Vec::new(), &a, &WriteOptions::default().with_effort(effort));
    /// let (fast, best) = (write(Effort::Fast).unwrap(), write(Effort::Best).unwrap());
    /// // `none` and one predictor measured, against more at the best effort.
    /// assert_eq!(fast.meta.value_column().transform_candidates.len(), 2);
    /// assert!(best.meta.value_column().transform_candidates.len() > 2);
    /// assert!(best.file_bytes <= fast.file_bytes);
    /// ```
    pub fn with_effort(mut self, effort: Effort) -> Self {
        self.effort = effort;
        self
    }

    /// The effort asked for.
    pub fn effort(&self) -> Effort {
        self.effort
    }

    /// The transform asked for, if any.
    pub fn transform(&self) -> Option<crate::predict::Prediction> {
        self.transform
    }

    /// Whether only portable transforms are written.
    pub fn portable(&self) -> bool {
        self.portable
    }

    /// The layout asked for.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The codec.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Rows per row group.
    pub fn row_group_size(&self) -> usize {
        self.row_group_size
    }

    /// Bytes of input measured when choosing.
    pub fn sample_bytes(&self) -> usize {
        self.sample_bytes
    }

    /// The cells of a `dtype` array measured when choosing (at least one).
    pub fn sample_cells(&self, dtype: crate::DType) -> usize {
        (self.sample_bytes / dtype.size()).max(1)
    }

    /// The fill value asked for, if any.
    pub fn fill(&self) -> Option<Scalar> {
        self.fill
    }

    /// Whether an existing output may be replaced.
    pub fn overwrite(&self) -> bool {
        self.overwrite
    }

    /// Whether dictionary-encoded columns are declared as Arrow dictionary types.
    pub fn arrow_dictionary(&self) -> bool {
        self.arrow_dictionary
    }
}
