//! A dataset: one array grown along its first axis in parts, each an arrstore file of its own,
//! so an array larger than memory is written a chunk at a time ([`ArrayWriter`]) and grown
//! without rewriting what is stored ([`Dataset::append`]).
//!
//! Spec card (dataset format 1.0):
//! - a directory holding `dataset.json` and the part files it lists; files it does not list
//!   (a part whose append was killed before the index was replaced) are not part of the array;
//! - `dataset.json` is `{"format_version": "1.0", "dtype": "int64", "trailing_shape": [..],
//!   "parts": [{"file": "part-000000.parquet", "rows": N}, ..]}`: the array is the parts'
//!   arrays concatenated along axis 0, in the listed order, and its shape is
//!   `[sum of rows] + trailing_shape`;
//! - every part is an ordinary arrstore file (any format version, layout and order) of the
//!   dataset's dtype and of shape `[rows] + trailing_shape`, narrowed and encoded on its own
//!   data (parts may be stored in different types; readers give the dataset's dtype);
//! - an append writes its part under a new name, atomically, then replaces `dataset.json`
//!   atomically (a temporary file renamed over it): a crash or kill at any point leaves the
//!   dataset as it was before, or with the part appended.
//!
//! ```
//! use arrstore::dataset::{ArrayWriter, Dataset};
//! use arrstore::{DType, DynArray, WriteOptions};
//! let dir = tempfile::tempdir()?;
//! let mut w = ArrayWriter::new(dir.path().join("grown"), DType::I64, &[3], WriteOptions::default())?;
//! w.write_chunk(&ndarray::Array2::<i64>::from_elem((4, 3), 7))?;
//! w.write_chunk(&ndarray::Array2::<i64>::from_elem((2, 3), 1 << 40))?;
//! let d = w.finish()?;
//! assert_eq!(d.shape(), vec![6, 3]);
//! let a = Dataset::open(dir.path().join("grown"))?.read_dyn()?;
//! assert_eq!(a.shape(), &[6, 3]);
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::path::{Path, PathBuf};

use ndarray::{ArrayBase, ArrayD, Axis, Data, Dimension};
use serde::{Deserialize, Serialize};

use crate::dtype::{DType, Element};
use crate::dynarray::DynArray;
use crate::error::{Error, Result, ResultExt};
use crate::options::WriteOptions;
use crate::read::ArrayFile;
use crate::slice::{AxisSelection, Selection};
use crate::with_dtype;

/// The index file of a dataset.
pub const DATASET_INDEX: &str = "dataset.json";

/// The dataset format version this library writes.
pub const DATASET_FORMAT_VERSION: &str = "1.0";

/// One part of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// Its file, in the dataset's directory.
    pub file: String,
    /// Its rows along axis 0.
    pub rows: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DatasetIndex {
    format_version: String,
    dtype: DType,
    trailing_shape: Vec<u64>,
    parts: Vec<Part>,
}

/// An opened dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    dir: PathBuf,
    index: DatasetIndex,
}

impl Dataset {
    /// Creates an empty dataset of `dtype` and `trailing_shape` (the shape of a row along axis
    /// 0) at `dir`, which must not exist.
    pub fn create(dir: impl AsRef<Path>, dtype: DType, trailing_shape: &[usize]) -> Result<Dataset> {
        let dir = dir.as_ref();
        if dir.exists() {
            return Err(Error::OutputExists.in_file(dir));
        }
        std::fs::create_dir_all(dir).in_file(dir)?;
        let d = Dataset {
            dir: dir.to_path_buf(),
            index: DatasetIndex {
                format_version: DATASET_FORMAT_VERSION.into(),
                dtype,
                trailing_shape: trailing_shape.iter().map(|&l| l as u64).collect(), // usize fits in u64
                parts: Vec::new(),
            },
        };
        d.save_index()?;
        Ok(d)
    }

    /// Opens the dataset at `dir`: its index is read and checked (not its parts).
    pub fn open(dir: impl AsRef<Path>) -> Result<Dataset> {
        let dir = dir.as_ref();
        let go = || -> Result<Dataset> {
            let text = std::fs::read_to_string(dir.join(DATASET_INDEX))?;
            let index: DatasetIndex = serde_json::from_str(&text)
                .map_err(|e| Error::CorruptMetadata(format!("{DATASET_INDEX}: {e}")))?;
            let major = index.format_version.split('.').next().unwrap_or_default();
            if major != "1" {
                return Err(Error::UnsupportedVersion {
                    found: index.format_version.clone(),
                    supported: DATASET_FORMAT_VERSION.into(),
                });
            }
            for p in &index.parts {
                if !crate::store::is_plain_file_name(&p.file) {
                    return Err(Error::CorruptMetadata(format!(
                        "{DATASET_INDEX} lists '{}', which is not a file name in the dataset",
                        p.file
                    )));
                }
            }
            Ok(Dataset {
                dir: dir.to_path_buf(),
                index,
            })
        };
        go().in_file(dir)
    }

    /// Whether `dir` is a dataset (a directory with `dataset.json`).
    pub fn is_dataset(dir: impl AsRef<Path>) -> bool {
        dir.as_ref().join(DATASET_INDEX).is_file()
    }

    /// The dataset's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.index.dtype
    }

    /// The shape of a row along axis 0.
    pub fn trailing_shape(&self) -> &[u64] {
        &self.index.trailing_shape
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.index.parts
    }

    /// The array's shape: the parts' rows, then the trailing shape.
    pub fn shape(&self) -> Vec<u64> {
        let rows = self
            .index
            .parts
            .iter()
            .map(|p| p.rows)
            .fold(0u64, u64::saturating_add);
        std::iter::once(rows)
            .chain(self.index.trailing_shape.iter().copied())
            .collect()
    }

    /// Opens part `i`, checking it is of the dataset's dtype and of the rows and trailing
    /// shape the index lists.
    pub fn part(&self, i: usize) -> Result<ArrayFile<std::fs::File>> {
        let p = &self.index.parts[i];
        let path = self.dir.join(&p.file);
        let f = ArrayFile::open(&path)?;
        let expected: Vec<u64> = std::iter::once(p.rows)
            .chain(self.index.trailing_shape.iter().copied())
            .collect();
        if f.meta().dtype != self.index.dtype || f.meta().shape != expected {
            return Err(Error::CorruptData(format!(
                "a part of {} {:?}, the dataset's index says {} {expected:?}",
                f.meta().dtype,
                f.meta().shape,
                self.index.dtype
            ))
            .in_file(path.as_path()));
        }
        Ok(f)
    }

    /// Appends `array` (of the dataset's dtype, shape `[rows] + trailing_shape`) as a new part,
    /// narrowed and encoded on its own data with `opts` (its overwrite flag is ignored: a part
    /// never replaces a file). Atomic: see the module docs.
    pub fn append(&mut self, array: &DynArray, opts: &WriteOptions) -> Result<crate::write::WriteSummary> {
        let shape = array.shape();
        let trailing: Vec<u64> = shape.iter().skip(1).map(|&l| l as u64).collect(); // usize fits in u64
        if array.dtype() != self.index.dtype || shape.is_empty() || trailing != self.index.trailing_shape {
            return Err(Error::BadShape {
                shape: shape.iter().map(|&l| l as u64).collect(), // usize fits in u64
                problem: format!(
                    "a part of {} cannot be appended to a dataset of {} rows of shape {:?}",
                    array.dtype(),
                    self.index.dtype,
                    self.index.trailing_shape
                ),
            }
            .in_file(self.dir.as_path()));
        }
        // A name no file has, listed or not (a killed append may have left one).
        let file = (self.index.parts.len()..)
            .map(|k| format!("part-{k:06}.parquet"))
            .find(|f| !self.dir.join(f).exists())
            .expect("some name is free");
        let summary =
            crate::write::write_dyn(self.dir.join(&file), array, &opts.clone().with_overwrite(false))?;
        self.index.parts.push(Part {
            file,
            rows: shape[0] as u64, // usize fits in u64
        });
        if let Err(e) = self.save_index() {
            self.index.parts.pop();
            return Err(e);
        }
        Ok(summary)
    }

    /// The whole array, with the dataset's dtype, in C order.
    pub fn read_dyn(&self) -> Result<DynArray> {
        let shape = self.shape();
        self.read_selection(&Selection::all(&shape))
    }

    /// The cells `sel` (resolved against [`Dataset::shape`]) takes: only the parts holding its
    /// rows are opened, and in each only what the slice needs is read.
    pub fn read_selection(&self, sel: &Selection) -> Result<DynArray> {
        with_dtype!(self.index.dtype, T => self.read_selection_typed::<T>(sel).map(DynArray::from))
    }

    /// The slice `text` (NumPy's basic slicing syntax) of the dataset; an error names it.
    pub fn selection(&self, text: &str) -> Result<Selection> {
        Selection::parse(text, &self.shape()).in_file(self.dir.as_path())
    }

    fn read_selection_typed<T: Element>(&self, sel: &Selection) -> Result<ArrayD<T>> {
        let shape = self.shape();
        if sel.axes().len() != shape.len() {
            return Err(
                Error::BadSlice(format!("{sel:?} was resolved for another shape than {shape:?}"))
                    .in_file(self.dir.as_path()),
            );
        }
        let first = sel.axes()[0];
        // Each part's share of the slice: the ks of axis 0 whose rows it holds.
        let mut pieces: Vec<(u64, ArrayD<T>)> = Vec::new();
        let mut start = 0u64;
        for (i, p) in self.index.parts.iter().enumerate() {
            let ks = first.taking(start, start + p.rows);
            if !ks.is_empty() {
                let sub = AxisSelection {
                    start: first.index(ks.start) - start,
                    len: ks.end - ks.start,
                    ..first
                };
                let part = self.part(i)?;
                let got = part.read_selection(&sel.with_first_axis(sub))?;
                let got = T::from_dyn_array(got).map_err(|_| {
                    Error::CorruptData(format!("part '{}' did not read as {}", p.file, T::DTYPE))
                        .in_file(self.dir.as_path())
                })?;
                pieces.push((ks.start, got));
            }
            start += p.rows;
        }
        pieces.sort_by_key(|(k, _)| *k);
        let out_shape = sel.shape();
        match (sel.out_axis_of(0), pieces.len()) {
            (_, 0) => Ok(
                ArrayD::from_shape_vec(ndarray::IxDyn(&out_shape), Vec::new()).map_err(|e| {
                    Error::BadShape {
                        shape: shape.clone(),
                        problem: e.to_string(),
                    }
                })?,
            ),
            (_, 1) => Ok(pieces.pop().expect("one piece").1),
            (Some(axis), _) => {
                let views: Vec<_> = pieces.iter().map(|(_, a)| a.view()).collect();
                ndarray::concatenate(Axis(axis), &views).map_err(|e| {
                    Error::BadShape {
                        shape: shape.clone(),
                        problem: e.to_string(),
                    }
                    .in_file(self.dir.as_path())
                })
            }
            (None, _) => unreachable!("a dropped axis 0 takes one row, in one part"),
        }
    }

    fn save_index(&self) -> Result<()> {
        let text = serde_json::to_string_pretty(&self.index).expect("the index serializes");
        crate::atomic::write_atomic(&self.dir.join(DATASET_INDEX), true, |w| {
            use std::io::Write;
            Ok(w.write_all(text.as_bytes())?)
        })
    }
}

/// Writes an array a chunk of rows at a time, as a [`Dataset`]: each chunk becomes a part,
/// narrowed and encoded on its own, so the array is never held whole.
#[derive(Debug)]
pub struct ArrayWriter {
    dataset: Dataset,
    opts: WriteOptions,
}

impl ArrayWriter {
    /// A new dataset at `path` (which must not exist) of `dtype`, rows of `trailing_shape`.
    pub fn new(
        path: impl AsRef<Path>,
        dtype: DType,
        trailing_shape: &[usize],
        opts: WriteOptions,
    ) -> Result<ArrayWriter> {
        Ok(ArrayWriter {
            dataset: Dataset::create(path, dtype, trailing_shape)?,
            opts,
        })
    }

    /// Appends `chunk` (rows along axis 0 of the writer's dtype and trailing shape).
    pub fn write_chunk<T: Element, S: Data<Elem = T>, D: Dimension>(
        &mut self,
        chunk: &ArrayBase<S, D>,
    ) -> Result<()> {
        let a = T::into_dyn_array(chunk.to_owned().into_dyn());
        self.dataset.append(&a, &self.opts).map(|_| ())
    }

    /// The dataset written (every chunk is already durable when `write_chunk` returns).
    pub fn finish(self) -> Result<Dataset> {
        Ok(self.dataset)
    }
}
