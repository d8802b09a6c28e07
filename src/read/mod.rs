//! Reading arrays back: [`ArrayFile`] opens a file (or any Parquet `ChunkReader`), checks its
//! self-description, and reads the exact original array, its COO, or its narrowed form.
//!
//! ```
//! use arrstore::{write_array_to, ArrayFile, WriteOptions};
//! let a = ndarray::arr2(&[[0.0, 1.5], [0.0, -0.0]]);
//! let mut buf = Vec::new();
//! write_array_to(&mut buf, &a, &WriteOptions::default()).unwrap();
//! let file = ArrayFile::new(bytes::Bytes::from(buf)).unwrap();
//! assert_eq!(file.meta().dtype, arrstore::DType::F64);
//! let back: ndarray::Array2<f64> = file.read().unwrap();
//! assert_eq!(back[[1, 1]].to_bits(), (-0.0f64).to_bits());
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, UInt64Type};
use arrow::record_batch::RecordBatch;
use ndarray::{ArrayD, Dimension, IxDyn, ShapeBuilder};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder,
};
use parquet::file::metadata::PageIndexPolicy;
use parquet::file::reader::ChunkReader;

use crate::contain::contain;
use crate::content::{
    cells_from_blocks, hash_cells_with, hash_entries, BlockHashes, CellHasher, BLOCK_CELLS,
};
use crate::coo::{Coo, Coords, DynCoo};
use crate::dtype::{DType, Element};
use crate::dynarray::{DynArray, Order, Scalar};
use crate::entry_order;
use crate::error::{Error, Result, ResultExt};
use crate::integrity::{Checked, Checksums, Verifier};
use crate::meta::{ArrayMeta, ColumnMeta, StoredLayout, METADATA_KEY};
use crate::narrow::{widen, Narrowing};
use crate::predict::{Decoder, Group};
use crate::sizes::SizeReport;
use crate::verify::Verified;
use crate::with_dtype;

mod export;
mod slice;

/// Rows decoded per batch.
const BATCH_ROWS: usize = 1 << 16;

/// The most entries a sparse read reserves from the footer's count before seeing the data.
const MAX_PREALLOCATION: usize = 1 << 24;

/// An opened arrstore file: its metadata is read and checked; the data is read by one of the
/// `read*` methods (each consumes the file).
#[derive(Debug)]
pub struct ArrayFile<R: ChunkReader + 'static> {
    reader: Checked<R>,
    meta: ArrayMeta,
    parquet: ArrowReaderMetadata,
    disk_bytes: u64,
    path: Option<PathBuf>,
}

impl ArrayFile<File> {
    /// Opens the file at `path`. Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<ArrayFile<File>> {
        let path = path.as_ref();
        let mut f = File::open(path)
            .map_err(Error::from)
            .and_then(ArrayFile::new)
            .in_file(path)?;
        f.path = Some(path.to_path_buf());
        Ok(f)
    }
}

impl<R: ChunkReader + 'static> ArrayFile<R> {
    /// Reads and checks the footer and the arrstore metadata of `reader`: the footer's
    /// checksum first, when the file has checksums (format 1.3), so that nothing is taken from
    /// a corrupt footer; every byte read later is checked against its block's checksum.
    pub fn new(reader: R) -> Result<ArrayFile<R>> {
        // The Parquet logical types give every stored type; an embedded Arrow schema would only
        // ask for dictionary arrays, which the arrow reader builds by hashing every value. The
        // offset index (page locations) lets the decoder read each page with one checked read
        // and lets a checksum error name its page.
        let options = ArrowReaderOptions::new()
            .with_skip_arrow_metadata(true)
            .with_page_index_policy(PageIndexPolicy::Optional)
            .with_column_index_policy(PageIndexPolicy::Skip);
        let parquet = contain(|| Ok(ArrowReaderMetadata::load(&reader, options)?))?;
        let json = parquet
            .metadata()
            .file_metadata()
            .key_value_metadata()
            .and_then(|kv| kv.iter().find(|k| k.key == METADATA_KEY))
            .and_then(|k| k.value.clone())
            .ok_or(Error::NotArrstore { key: METADATA_KEY })?;
        let verifier = match recorded_checksums(&json)? {
            Some(sums) => Some(Arc::new(Verifier::new(&reader, &sums, parquet.metadata())?)),
            None => None,
        };
        let meta = ArrayMeta::from_json(&json)?;
        if verifier.is_none() && meta.format_at_least(1, 3) {
            return Err(Error::CorruptMetadata(format!(
                "a format {} file carries checksums, this one has none",
                meta.format_version
            )));
        }
        let schema = parquet.schema();
        for c in &meta.columns {
            let field = schema.field_with_name(&c.name).map_err(|_| {
                Error::CorruptData(format!(
                    "the metadata lists column '{}', the file has none",
                    c.name
                ))
            })?;
            if DType::from_arrow(field.data_type()) != Some(c.stored_type) {
                return Err(Error::CorruptData(format!(
                    "column '{}' has type {}, the metadata says {}",
                    c.name,
                    field.data_type(),
                    c.stored_type
                )));
            }
        }
        let rows = u64::try_from(parquet.metadata().file_metadata().num_rows()).unwrap_or(u64::MAX);
        let expected = match meta.layout {
            StoredLayout::Dense => meta.cells()?,
            StoredLayout::Sparse => meta.nnz,
            StoredLayout::Runs => meta.runs.unwrap_or(0),
        };
        if rows != expected {
            let counted = match meta.layout {
                StoredLayout::Runs => format!("{expected} runs"),
                _ => format!("nnz {}", meta.nnz),
            };
            return Err(Error::CorruptData(format!(
                "the table has {rows} rows; a {} array of shape {:?} with {counted} needs {expected}",
                meta.layout.name(),
                meta.shape,
            )));
        }
        let disk_bytes = reader.len();
        Ok(ArrayFile {
            reader: Checked::new(reader, verifier),
            meta,
            parquet,
            disk_bytes,
            path: None,
        })
    }

    /// The array's self-description.
    pub fn meta(&self) -> &ArrayMeta {
        &self.meta
    }

    /// The Parquet footer.
    pub fn parquet_metadata(&self) -> &parquet::file::metadata::ParquetMetaData {
        self.parquet.metadata()
    }

    /// The size report: in-memory, narrowed, COO and on-disk bytes, per column.
    pub fn sizes(&self) -> SizeReport {
        SizeReport::new(&self.meta, self.parquet.metadata(), self.disk_bytes)
    }

    /// Reads the array with the dtype and rank the caller names.
    ///
    /// Errors with [`Error::WrongDtype`] or [`Error::WrongNdim`] when they differ from the file's.
    pub fn read<T: Element, D: Dimension>(self) -> Result<ndarray::Array<T, D>> {
        let ndim = self.meta.shape.len();
        let path = self.path.clone();
        self.check_dtype::<T>()?;
        if let Some(expected) = D::NDIM {
            if expected != ndim {
                return Err(Error::WrongNdim {
                    expected,
                    found: ndim,
                }
                .in_file(path.as_deref()));
            }
        }
        let a = self.read_typed::<T>()?;
        a.into_dimensionality::<D>().map_err(|_| {
            Error::WrongNdim {
                expected: D::NDIM.unwrap_or(0),
                found: ndim,
            }
            .in_file(path.as_deref())
        })
    }

    /// Checks the whole file, as `arrstore verify` does: the footer and every block against
    /// their checksums (format 1.3), then every row decoded with every check a read makes (see
    /// [`Verified`]). Dense files and C-order runs files are decoded a batch at a time;
    /// a sparse file's entries, or a Fortran-order runs array, are held whole while checked.
    /// Returns what was checked; the first problem is an error naming its place.
    pub fn verify(self) -> Result<Verified> {
        let path = self.path.clone();
        let go = move || -> Result<Verified> {
            let metadata = self.parquet.metadata();
            let mut report = Verified {
                format_version: self.meta.format_version.clone(),
                layout: self.meta.layout,
                dtype: self.meta.dtype,
                shape: self.meta.shape.clone(),
                file_bytes: self.disk_bytes,
                checksum_blocks: None,
                row_groups: metadata.num_row_groups(),
                rows: u64::try_from(metadata.file_metadata().num_rows()).unwrap_or(0),
                cells: self.meta.cells()?,
            };
            if let Some(v) = self.reader.verifier() {
                let inner = self.reader.inner();
                v.check_all(|r| {
                    let len = usize::try_from(r.end - r.start)
                        .map_err(|_| Error::CorruptData(format!("a read of {} bytes", r.end - r.start)))?;
                    Ok(inner.get_bytes(r.start, len)?)
                })?;
                report.checksum_blocks = Some(v.blocks() as u64); // usize fits in u64
            }
            match self.meta.layout {
                StoredLayout::Sparse => drop(self.read_dyn_coo()?),
                StoredLayout::Runs => self.write_npy_to(std::io::sink())?,
                StoredLayout::Dense => with_dtype!(self.meta.dtype, T => self.check_dense::<T>())?,
            }
            Ok(report)
        };
        go().in_file(path.as_deref())
    }

    /// Decodes every value of a dense file, checking each as a read does, keeping none.
    fn check_dense<T: Element>(self) -> Result<()> {
        let n = self.meta.value_column().narrowing();
        let cells = self.meta.cells()?;
        let mut value_reader = self.value_reader(0)?;
        let (meta, _, batches) = self.batches()?;
        let (mut values, mut seen) = (Vec::<T>::new(), 0u64);
        let mut hasher = CellHasher::new::<T>(0);
        for batch in batches {
            let batch = batch?;
            values.clear();
            value_reader.widen(column(&batch, "value")?, &n, &mut values)?;
            hasher.push(&values);
            seen += values.len() as u64; // usize fits in u64
        }
        if seen != cells {
            return Err(Error::CorruptData(format!("{seen} values for {cells} cells")));
        }
        match &meta.content_hash {
            Some(h) => h.check("cells", &meta.shape, cells_from_blocks(hasher.finish())),
            None => Ok(()),
        }
    }

    /// Decodes row group `i` of a dense file opened from a path (with a handle of its own on
    /// the file) and hands its logical values to `out`, a batch at a time: the transform
    /// undone, widened to `T`, checked against the checksums (not the content hash, which
    /// covers the whole array).
    pub(crate) fn for_each_in_row_group<T: Element>(
        &self,
        i: usize,
        out: &mut dyn FnMut(&[T]) -> Result<()>,
    ) -> Result<()> {
        self.check_dtype::<T>()?;
        let groups = self.parquet.metadata().num_row_groups();
        let (Some(path), StoredLayout::Dense, true) = (self.path.as_deref(), self.meta.layout, i < groups)
        else {
            return Err(Error::CorruptData(format!(
                "row group {i} of {groups} of a {} file is not one to decode alone",
                self.meta.layout.name()
            )));
        };
        let v = self.meta.value_column();
        let mut go = || {
            decode_row_group(
                path,
                self.reader.verifier(),
                &self.parquet,
                &v.narrowing(),
                v,
                i,
                out,
            )
        };
        go().in_file(path)
    }

    /// What checks the file's bytes (`None` for a file without checksums).
    pub(crate) fn verifier(&self) -> Option<Arc<Verifier>> {
        self.reader.verifier().cloned()
    }

    /// Reads the array with its original dtype.
    pub fn read_dyn(self) -> Result<DynArray> {
        with_dtype!(self.meta.dtype, T => self.read_typed::<T>().map(DynArray::from))
    }

    /// Reads the array in its stored, narrowed type: an `int64` array of small counts comes
    /// back as `u16` (a quarter of the memory). [`Narrowed::widen`] gives the original.
    pub fn read_narrowed(self) -> Result<Narrowed> {
        let path = self.path.clone();
        let n = self.meta.value_column().narrowing();
        let dtype = self.meta.dtype;
        let fill = self.fill_scalar()?;
        let array = with_dtype!(n.stored, S => {
            let raw = Narrowing::identity(S::DTYPE);
            let meta = self.meta.clone();
            // The stored values are compared with the content hash of the logical values they
            // widen to: a transform or scale that lies would otherwise go unseen here.
            let checked = |a: ArrayD<S>| -> Result<DynArray> {
                check_widened_hash(&meta, &n, &a).in_file(path.as_deref())?;
                Ok(DynArray::from(a))
            };
            match self.meta.layout {
                StoredLayout::Dense => self.read_dense_with::<S>(&raw, false).and_then(checked),
                StoredLayout::Runs => self.read_runs_with::<S>(&raw, false).and_then(checked),
                StoredLayout::Sparse => {
                    let fill = narrowed_fill(fill, &n).to_element::<S>().ok_or_else(|| {
                        Error::CorruptData(format!(
                            "the fill value {fill} has no {} form with offset {}; read the original dtype instead",
                            S::DTYPE, n.offset
                        )).in_file(path.as_deref())
                    })?;
                    self.meta.check_dense_fits().in_file(path.as_deref())?;
                    let order = self.meta.order;
                    let dense = self.read_sparse_with::<S>(&raw, fill, false)?.try_to_dense().in_file(path.as_deref())?;
                    Ok(DynArray::from(with_order(dense, order)))
                }
            }
        })?;
        Ok(Narrowed {
            array,
            offset: n.offset,
            scale: n.scale,
            dtype,
        })
    }

    /// Reads the array as COO without densifying a sparse file (coordinates stay narrow). A
    /// dense file is converted, leaving out the cells equal to 0 (or the file's fill).
    pub fn read_coo<T: Element>(self) -> Result<Coo<T>> {
        self.check_dtype::<T>()?;
        let fill = self.fill_scalar()?.to_element::<T>().unwrap_or_default();
        match self.meta.layout {
            StoredLayout::Sparse => {
                let n = self.meta.value_column().narrowing();
                self.read_sparse_with::<T>(&n, fill, true)
            }
            StoredLayout::Dense | StoredLayout::Runs => Ok(Coo::from_dense(&self.read_typed::<T>()?, fill)),
        }
    }

    /// Reads the array as COO with its original dtype.
    pub fn read_dyn_coo(self) -> Result<DynCoo> {
        with_dtype!(self.meta.dtype, T => self.read_coo::<T>().map(DynCoo::from))
    }

    fn check_dtype<T: Element>(&self) -> Result<()> {
        if T::DTYPE != self.meta.dtype {
            return Err(Error::WrongDtype {
                expected: T::DTYPE,
                found: self.meta.dtype,
            }
            .in_file(self.path.as_deref()));
        }
        Ok(())
    }

    /// The fill value (0 / `false` when none is recorded).
    fn fill_scalar(&self) -> Result<Scalar> {
        let bits = self.meta.fill_bits().in_file(self.path.as_deref())?.unwrap_or(0);
        with_dtype!(self.meta.dtype, T => {
            let v = <T as Element>::from_bits(bits);
            if Element::to_bits(v) != bits {
                return Err(Error::CorruptMetadata(format!(
                    "fill_bits {bits:#018x} do not fit a {}", T::DTYPE
                )).in_file(self.path.as_deref()));
            }
            Ok(Scalar::of(v))
        })
    }

    fn read_typed<T: Element>(self) -> Result<ArrayD<T>> {
        self.check_dtype::<T>()?;
        let n = self.meta.value_column().narrowing();
        // Each compares the values with the content hash as it decodes them.
        match self.meta.layout {
            StoredLayout::Dense => self.read_dense_with::<T>(&n, true),
            StoredLayout::Runs => self.read_runs_with::<T>(&n, true),
            StoredLayout::Sparse => {
                let fill = self.fill_scalar()?.to_element::<T>().unwrap_or_default();
                let order = self.meta.order;
                self.meta.check_dense_fits().in_file(self.path.as_deref())?;
                let coo = self.read_sparse_with::<T>(&n, fill, true)?;
                Ok(with_order(coo.try_to_dense()?, order))
            }
        }
    }

    /// What undoes the value column's transform, if any, for a read that starts at row group
    /// `first_group`.
    fn value_reader(&self, first_group: usize) -> Result<ValueReader> {
        ValueReader::new(self.meta.value_column(), self.parquet.metadata(), first_group)
    }

    /// Every record batch of the file.
    fn batches(
        self,
    ) -> Result<(
        ArrayMeta,
        Option<PathBuf>,
        impl Iterator<Item = Result<RecordBatch>>,
    )> {
        let checked = self.reader.clone();
        let reader = contain(|| {
            ParquetRecordBatchReaderBuilder::new_with_metadata(self.reader, self.parquet)
                .with_batch_size(BATCH_ROWS)
                .build()
                .map_err(|e| checked.explain(e.into()))
        })
        .in_file(self.path.as_deref())?;
        Ok((self.meta, self.path, decoded(reader, checked)))
    }

    /// The cells, widened by `n`; compared with the content hash when they are the logical
    /// values (`logical`), not a narrowed read's stored ones.
    fn read_dense_with<T: Element>(self, n: &Narrowing, logical: bool) -> Result<ArrayD<T>> {
        let threads = crate::par::threads();
        if let Some(path) = self.path.clone() {
            if threads > 1 && self.parquet.metadata().num_row_groups() > 1 {
                let go = || -> Result<ArrayD<T>> {
                    let (values, hashes) = read_dense_parallel::<T>(
                        &path,
                        self.reader.verifier(),
                        &self.meta,
                        &self.parquet,
                        n,
                        threads,
                        logical && self.meta.content_hash.is_some(),
                    )?;
                    if let Some(h) = self.meta.content_hash.as_ref().filter(|_| logical) {
                        h.check("cells", &self.meta.shape, hash_cells_with(&values, hashes))?;
                    }
                    let shape = self.meta.shape_usize()?;
                    let a = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| Error::BadShape {
                        shape: self.meta.shape.clone(),
                        problem: e.to_string(),
                    })?;
                    Ok(with_order(a, self.meta.order))
                };
                return go().in_file(path.as_path());
            }
        }
        let mut value_reader = self.value_reader(0).in_file(self.path.as_deref())?;
        let (meta, path, batches) = self.batches()?;
        let go = || -> Result<ArrayD<T>> {
            let shape = meta.shape_usize()?;
            let cells = meta.cells()?;
            let mut values = Vec::new();
            values
                .try_reserve_exact(meta.check_dense_fits()?)
                .map_err(|e| Error::BadShape {
                    shape: meta.shape.clone(),
                    problem: format!("cannot allocate the array: {e}"),
                })?;
            // The content hash is taken batch by batch, while the new values are in cache.
            let mut hasher = CellHasher::new::<T>(0);
            for batch in batches {
                let batch = batch?;
                let from = values.len();
                value_reader.widen(column(&batch, "value")?, n, &mut values)?;
                hasher.push(&values[from..]);
            }
            if values.len() as u64 != cells {
                // usize fits in u64
                return Err(Error::CorruptData(format!(
                    "{} values for shape {:?} ({cells} cells)",
                    values.len(),
                    meta.shape
                )));
            }
            if let Some(h) = meta.content_hash.as_ref().filter(|_| logical) {
                h.check("cells", &meta.shape, cells_from_blocks(hasher.finish()))?;
            }
            let a = ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| Error::BadShape {
                shape: meta.shape.clone(),
                problem: e.to_string(),
            })?;
            Ok(with_order(a, meta.order))
        };
        go().in_file(path.as_deref())
    }

    /// The cells, widened by `n`; compared with the content hash when `logical` (as
    /// [`ArrayFile::read_dense_with`]).
    fn read_runs_with<T: Element>(self, n: &Narrowing, logical: bool) -> Result<ArrayD<T>> {
        self.meta.check_dense_fits().in_file(self.path.as_deref())?;
        let path = self.path.clone();
        // The content hash is taken batch by batch, while the new cells are in cache.
        let (mut hasher, mut hashed) = (CellHasher::new::<T>(0), 0);
        let (meta, cells) = self.expand_runs::<T>(n, true, |cells| {
            let new = &cells.expanded()[hashed..];
            hasher.push(new);
            hashed += new.len();
            Ok(())
        })?;
        if let Some(h) = meta.content_hash.as_ref().filter(|_| logical) {
            h.check("cells", &meta.shape, cells_from_blocks(hasher.finish()))
                .in_file(path.as_deref())?;
        }
        let a = ArrayD::from_shape_vec(IxDyn(&meta.shape_usize()?), cells).map_err(|e| {
            let e = Error::BadShape {
                shape: meta.shape.clone(),
                problem: e.to_string(),
            };
            e.in_file(path.as_deref())
        })?;
        Ok(with_order(a, meta.order))
    }

    /// Expands a runs file into its cells in C order, a batch of runs at a time, the values
    /// widened by `n`: after each batch, `sink` is handed the expander (to drain the cells so
    /// far, unless it keeps them all: `whole`). Errors of the file name it; the sink's are
    /// passed on as they are. Returns the metadata and the cells not drained.
    fn expand_runs<T: Element>(
        self,
        n: &Narrowing,
        whole: bool,
        mut sink: impl FnMut(&mut crate::runs::Expander<T>) -> Result<()>,
    ) -> Result<(ArrayMeta, Vec<T>)> {
        let (meta, path, batches) = self.batches()?;
        let input = |e: Error| e.in_file(path.as_deref());
        let shape = meta.shape_usize().map_err(input)?;
        let index = meta.index_columns();
        let length = meta.runs_length_column().map_err(input)?;
        let mut cells = crate::runs::Expander::new(&shape, whole).map_err(input)?;
        let mut values: Vec<T> = Vec::new();
        for batch in batches {
            let push = || -> Result<()> {
                let batch = batch?;
                values.clear();
                widen(column(&batch, "value")?, n, &mut values)?;
                let index: Vec<&dyn Array> = index
                    .iter()
                    .map(|c| column(&batch, &c.name))
                    .collect::<Result<_>>()?;
                cells.push(&index, column(&batch, &length.name)?, &values)
            };
            push().map_err(input)?;
            sink(&mut cells)?;
        }
        let rest = cells.finish().map_err(input)?;
        Ok((meta, rest))
    }

    /// The entries, widened by `n`; compared with the content hash when they are the logical
    /// values (`logical`), not a narrowed read's stored ones.
    fn read_sparse_with<T: Element>(self, n: &Narrowing, fill: T, logical: bool) -> Result<Coo<T>> {
        let (meta, path, batches) = self.batches()?;
        let go = || -> Result<Coo<T>> {
            let shape = meta.shape_usize()?;
            let index = meta.index_columns();
            // Capacity from the footer, bounded: a lying footer must not cause a huge allocation.
            let cap = usize::try_from(meta.nnz).unwrap_or(0).min(MAX_PREALLOCATION);
            let mut coords: Vec<Coords> = meta.shape.iter().map(|&len| Coords::for_axis(len, cap)).collect();
            let mut values = Vec::with_capacity(cap);
            for batch in batches {
                let batch = batch?;
                for (axis, c) in index.iter().enumerate() {
                    push_coordinates(&batch, c, axis, meta.shape[axis], &mut coords[axis])?;
                }
                widen(column(&batch, "value")?, n, &mut values)?;
            }
            if values.len() as u64 != meta.nnz {
                // usize fits in u64
                return Err(Error::CorruptData(format!(
                    "{} entries, the metadata says nnz {}",
                    values.len(),
                    meta.nnz
                )));
            }
            // Sorted as the file says, so sorting into row-major order needs no duplicate check.
            let sorted_by = meta.sorted_by();
            entry_order::check_sorted_by(&coords, &sorted_by)?;
            let row_major = entry_order::row_major(shape.len());
            if let Some(p) = entry_order::permutation(&coords, &shape, &sorted_by, &row_major) {
                coords = coords.iter().map(|c| entry_order::gather_coords(c, &p)).collect();
                values = entry_order::gather(&values, &p);
            }
            let coo = Coo::from_parts(shape, coords, values, fill);
            if let Some(h) = meta.content_hash.as_ref().filter(|_| logical) {
                h.check("entries", &meta.shape, hash_entries(&coo)?)?;
            }
            Ok(coo)
        };
        go().in_file(path.as_deref())
    }
}

/// The `value` column of the dense file at `path`, widened, with its row groups decoded on
/// `threads` threads (each with its own handle on the file) into disjoint parts of the output;
/// and, with `hash`, the content hash's hashes of the blocks of cells that lie within one row
/// group.
fn read_dense_parallel<T: Element>(
    path: &Path,
    verifier: Option<&Arc<Verifier>>,
    meta: &ArrayMeta,
    parquet: &ArrowReaderMetadata,
    n: &Narrowing,
    threads: usize,
    hash: bool,
) -> Result<(Vec<T>, BlockHashes)> {
    let cells = meta.check_dense_fits()?;
    let mut values: Vec<T> = Vec::new();
    values.try_reserve_exact(cells).map_err(|e| Error::BadShape {
        shape: meta.shape.clone(),
        problem: format!("cannot allocate the array: {e}"),
    })?;
    values.resize(cells, T::default());
    // One disjoint slice of the output per row group, dealt round-robin to the threads.
    let mut work: Vec<Vec<(usize, usize, &mut [T])>> = (0..threads).map(|_| Vec::new()).collect();
    let mut rest = values.as_mut_slice();
    let mut start = 0;
    for (i, rg) in parquet.metadata().row_groups().iter().enumerate() {
        let rows = usize::try_from(rg.num_rows())
            .map_err(|_| Error::CorruptData(format!("row group {i} has {} rows", rg.num_rows())))?;
        if rows > rest.len() {
            return Err(Error::CorruptData(format!(
                "the row groups hold more rows than the shape {:?} has cells",
                meta.shape
            )));
        }
        let (part, tail) = rest.split_at_mut(rows);
        rest = tail;
        if let Some(w) = work.get_mut(i % threads) {
            w.push((i, start, part));
        }
        start += rows;
    }
    if !rest.is_empty() {
        return Err(Error::CorruptData(format!(
            "the row groups hold fewer rows than the shape {:?} has cells",
            meta.shape
        )));
    }
    let hashes = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|parts| {
                s.spawn(move || -> Result<BlockHashes> {
                    let mut hashes = Vec::new();
                    for (i, start, part) in parts {
                        let mut at = 0;
                        // The content hash's blocks of a row group that starts one, taken while
                        // the values are in cache; blocks that straddle row groups are left to
                        // the caller.
                        let mut hasher =
                            (hash && start % BLOCK_CELLS == 0).then(|| CellHasher::new::<T>(start));
                        decode_row_group(
                            path,
                            verifier,
                            parquet,
                            n,
                            meta.value_column(),
                            i,
                            &mut |values: &[T]| {
                                let dst = part.get_mut(at..at + values.len()).ok_or_else(|| {
                                    Error::CorruptData(format!(
                                        "row group {i} holds more rows than its footer says"
                                    ))
                                })?;
                                dst.copy_from_slice(values);
                                if let Some(h) = &mut hasher {
                                    h.push(values);
                                }
                                at += values.len();
                                Ok(())
                            },
                        )?;
                        if at != part.len() {
                            return Err(Error::CorruptData(format!(
                                "row group {i} holds {at} rows, its footer says {}",
                                part.len()
                            )));
                        }
                        let end = start + part.len();
                        let whole = |b: &usize| (b + 1) * BLOCK_CELLS <= end || end == cells;
                        hashes.extend(
                            hasher
                                .map(CellHasher::finish)
                                .unwrap_or_default()
                                .into_iter()
                                .filter(|(b, _)| whole(b)),
                        );
                    }
                    Ok(hashes)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(crate::par::join)
            .collect::<Result<Vec<_>>>()
    })?;
    Ok((values, hashes.concat()))
}

/// The batches of `reader`, each decoded inside [`contain`], its errors explained by `checked`
/// (a checksum failure of the bytes behind a decoder error is the error to report); the first
/// error ends them.
fn decoded<R: ChunkReader + 'static>(
    mut reader: ParquetRecordBatchReader,
    checked: Checked<R>,
) -> impl Iterator<Item = Result<RecordBatch>> {
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let next = contain(|| reader.next().transpose().map_err(|e| checked.explain(e.into())));
        failed = next.is_err();
        next.transpose()
    })
}

/// Decodes row group `i` of the dense file at `path` (with its own handle on the file) and hands
/// its values, the value column `value`'s transform undone and widened by `n`, to `out`, a
/// batch at a time.
fn decode_row_group<T: Element>(
    path: &Path,
    verifier: Option<&Arc<Verifier>>,
    parquet: &ArrowReaderMetadata,
    n: &Narrowing,
    value: &ColumnMeta,
    i: usize,
    out: &mut dyn FnMut(&[T]) -> Result<()>,
) -> Result<()> {
    let checked = Checked::new(File::open(path)?, verifier.cloned());
    let reader = contain(|| {
        ParquetRecordBatchReaderBuilder::new_with_metadata(checked.clone(), parquet.clone())
            .with_batch_size(BATCH_ROWS)
            .with_row_groups(vec![i])
            .build()
            .map_err(|e| checked.explain(e.into()))
    })?;
    let mut value_reader = ValueReader::new(value, parquet.metadata(), i)?;
    let mut buf: Vec<T> = Vec::new();
    for batch in decoded(reader, checked) {
        let batch = batch?;
        buf.clear();
        value_reader.widen(column(&batch, "value")?, n, &mut buf)?;
        out(&buf)?;
    }
    Ok(())
}

/// Undoes a value column's transform (where it has one) before its values are widened, batch
/// by batch, restarting at each row group.
struct ValueReader(Option<Decoder>);

impl ValueReader {
    /// The reader of the value column `column`, in a file whose row groups `parquet` lists,
    /// for a read that starts at row group `first_group`.
    fn new(
        column: &ColumnMeta,
        parquet: &parquet::file::metadata::ParquetMetaData,
        first_group: usize,
    ) -> Result<ValueReader> {
        let Some(t) = column.transform else {
            return Ok(ValueReader(None));
        };
        let split = t.contexts.is_some();
        if split && column.context_counts.len() != parquet.num_row_groups() {
            return Err(Error::CorruptMetadata(format!(
                "context counts for {} row groups, the file has {}",
                column.context_counts.len(),
                parquet.num_row_groups()
            )));
        }
        let mut groups = Vec::with_capacity(parquet.num_row_groups());
        let mut at = 0u64;
        for (i, rg) in parquet.row_groups().iter().enumerate() {
            let rows = u64::try_from(rg.num_rows()).unwrap_or(u64::MAX);
            groups.push(Group {
                start: at,
                rows,
                counts: column.context_counts.get(i).copied().filter(|_| split),
            });
            at = at.saturating_add(rows);
        }
        let first = groups.get(first_group).map_or(at, |g| g.start);
        Ok(ValueReader(Some(Decoder::new(t, first, groups)?)))
    }

    /// Appends the values of `stored` (a batch of the value column), the transform undone and
    /// widened by `n`, to `out`.
    fn widen<T: Element>(&mut self, stored: &dyn Array, n: &Narrowing, out: &mut Vec<T>) -> Result<()> {
        match &mut self.0 {
            None => widen(stored, n, out),
            Some(d) => widen(d.decode(stored)?.as_ref(), n, out),
        }
    }
}

/// The checksums recorded in the self-description `json`, read before the rest of it is
/// trusted: `None` for a file written before format 1.3.
fn recorded_checksums(json: &str) -> Result<Option<Checksums>> {
    #[derive(serde::Deserialize)]
    struct Recorded {
        #[serde(default)]
        checksums: Option<serde_json::Value>,
    }
    // JSON that does not parse is reported by `ArrayMeta::from_json`.
    let Ok(recorded) = serde_json::from_str::<Recorded>(json) else {
        return Ok(None);
    };
    recorded
        .checksums
        .map(|v| {
            serde_json::from_value::<Checksums>(v)
                .map_err(|e| Error::CorruptMetadata(format!("checksums: {e}")))
        })
        .transpose()
}

/// The column `name` of a batch, or a clear error.
/// Appends the coordinates of index column `c` (of `axis`, `len` long) in `batch` to `out`:
/// an error for a null or a coordinate out of range, naming the entry (counted in `out`).
fn push_coordinates(
    batch: &RecordBatch,
    c: &ColumnMeta,
    axis: usize,
    len: u64,
    out: &mut Coords,
) -> Result<()> {
    let col = column(batch, &c.name)?;
    if col.null_count() > 0 {
        return Err(Error::CorruptData(format!(
            "index column '{}' holds {} nulls; arrstore columns have none",
            c.name,
            col.null_count()
        )));
    }
    // Lossless: index columns are unsigned (checked with the metadata).
    let col = arrow::compute::cast(col, &DataType::UInt64)?;
    for &x in col.as_primitive::<UInt64Type>().values() {
        if x >= len {
            return Err(Error::CoordinateOutOfRange {
                entry: out.len() as u64, // usize fits in u64
                axis,
                index: x,
                len,
            });
        }
        out.push(x);
    }
    Ok(())
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array> {
    batch
        .column_by_name(name)
        .map(|c| c.as_ref())
        .ok_or_else(|| Error::CorruptData(format!("no column '{name}' in the table")))
}

/// `a` (C order) with the memory order `order`.
fn with_order<T: Element>(a: ArrayD<T>, order: Order) -> ArrayD<T> {
    match order {
        Order::C => a,
        Order::F => {
            let mut f = ArrayD::from_elem(IxDyn(a.shape()).f(), T::default());
            f.assign(&a);
            f
        }
    }
}

/// Compares the content hash of `meta` (of the cells, when it has one) with the hash of the
/// logical values that the stored values `stored` (a dense or runs array read narrowed) widen
/// to by `n`.
fn check_widened_hash<S: Element>(meta: &ArrayMeta, n: &Narrowing, stored: &ArrayD<S>) -> Result<()> {
    let Some(h) = meta.content_hash.as_ref().filter(|h| h.of == "cells") else {
        return Ok(());
    };
    with_dtype!(meta.dtype, T => {
        let mut hasher = CellHasher::new::<T>(0);
        let mut logical = Vec::<T>::new();
        let mut cells = stored.iter().copied().peekable(); // C order, whatever the memory order
        while cells.peek().is_some() {
            let block: Vec<S> = cells.by_ref().take(BLOCK_CELLS).collect();
            logical.clear();
            widen(S::to_arrow(block).as_ref(), n, &mut logical)?;
            hasher.push(&logical);
        }
        h.check("cells", &meta.shape, cells_from_blocks(hasher.finish()))
    })
}

/// A fill value as it is stored: less the offset, as an integer where the column is one.
fn narrowed_fill(fill: Scalar, n: &Narrowing) -> Scalar {
    match fill {
        Scalar::Int(i) => Scalar::Int(i - n.offset),
        Scalar::Float(f) if n.stored.is_integer() => match crate::Element::to_int(f) {
            Some(i) => Scalar::Int(i - n.offset),
            None => Scalar::Float(f),
        },
        other => other,
    }
}

/// An array in its stored (narrowed) type, with what turns it back into the original.
#[derive(Debug, Clone, PartialEq)]
pub struct Narrowed {
    /// The values as stored (less `offset`).
    pub array: DynArray,
    /// Added back to each value by [`Narrowed::widen`].
    pub offset: i128,
    /// For floats stored as integers: how [`Narrowed::widen`] scales them back.
    pub scale: Option<crate::scale::Scale>,
    /// The original dtype.
    pub dtype: DType,
}

impl Narrowed {
    /// The original array (exact).
    pub fn widen(&self) -> Result<DynArray> {
        let n = Narrowing {
            stored: self.array.dtype(),
            offset: self.offset,
            scale: self.scale,
        };
        with_dtype!(self.dtype, T => {
            let mut out: Vec<T> = Vec::with_capacity(self.array.len());
            let order = self.array.order();
            crate::with_dyn_array!(&self.array, a => {
                let flat: Vec<_> = a.iter().copied().collect();
                let stored = crate::Element::to_arrow(flat);
                widen(stored.as_ref(), &n, &mut out)?;
                let a = ArrayD::from_shape_vec(IxDyn(a.shape()), out).expect("same number of cells");
                Ok(DynArray::from(with_order(a, order)))
            })
        })
    }
}

/// Reads the array in `path` with the dtype and rank the caller's annotation picks.
///
/// ```no_run
/// let a: ndarray::Array2<f64> = arrstore::read_array("stars.parquet")?;
/// # Ok::<(), arrstore::Error>(())
/// ```
pub fn read_array<T: Element, D: Dimension>(path: impl AsRef<Path>) -> Result<ndarray::Array<T, D>> {
    ArrayFile::open(path)?.read()
}

/// Reads the array held in `reader` (a `File`, or `bytes::Bytes` of a whole file).
pub fn read_array_from<T: Element, D: Dimension, R: ChunkReader + 'static>(
    reader: R,
) -> Result<ndarray::Array<T, D>> {
    ArrayFile::new(reader)?.read()
}

/// Reads the array in `path` with its original dtype.
pub fn read_dyn(path: impl AsRef<Path>) -> Result<DynArray> {
    ArrayFile::open(path)?.read_dyn()
}

/// Reads the array in `path` as COO, without densifying.
pub fn read_coo<T: Element>(path: impl AsRef<Path>) -> Result<Coo<T>> {
    ArrayFile::open(path)?.read_coo()
}
