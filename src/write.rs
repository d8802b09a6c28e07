//! Writing arrays: scan, choose the layout and each column's encoding by measuring, narrow,
//! and write the Parquet table with its self-description.
//!
//! Each operation is a core over `io::Write` (`*_to`) and a one-line path wrapper that writes
//! atomically and never replaces an existing file unless asked.

use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use ndarray::{ArrayBase, Data, Dimension};
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, ArrowWriterOptions,
};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::writer::SerializedFileWriter;

use crate::cells::{Cells, NpyCells};
use crate::content::ContentHash;
use crate::coo::{Coo, Coords};
use crate::dtype::{DType, Element};
use crate::dynarray::{DynArray, Order, Scalar};
use crate::encode::{self, ColumnEncoding, EncodingChoice};
use crate::entry_order;
use crate::error::{Error, Result, ResultExt};
use crate::integrity::ChecksumWriter;
use crate::meta::{ArrayMeta, ColumnMeta, Estimates, Role, StoredLayout, FORMAT_VERSION};
use crate::narrow::{narrow, narrow_chunks, Narrowing, Scan};
use crate::options::{Layout, WriteOptions};
use crate::runs::{RunCount, RunGroups, Runs};
use crate::with_dyn_array;

/// What a write produced: the file's self-description and its size.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSummary {
    /// The metadata written to the file.
    pub meta: ArrayMeta,
    /// Bytes written (the whole Parquet file).
    pub file_bytes: u64,
}

/// Writes `array` as an arrstore Parquet file to `writer`.
///
/// Any memory layout works (C, Fortran, strided views); the values are stored in C order and
/// the original order is recorded.
///
/// ```
/// use arrstore::{write_array_to, WriteOptions};
/// let a = ndarray::Array2::<u64>::ones((64, 64));
/// let mut buf = Vec::new();
/// let s = write_array_to(&mut buf, &a, &WriteOptions::default()).unwrap();
/// assert_eq!(s.meta.columns[0].stored_type, arrstore::DType::U8);
/// assert!(buf.len() < 4096);
/// ```
pub fn write_array_to<W, T, S, D>(
    writer: W,
    array: &ArrayBase<S, D>,
    opts: &WriteOptions,
) -> Result<WriteSummary>
where
    W: Write + Send,
    T: Element,
    S: Data<Elem = T>,
    D: Dimension,
{
    let order = Order::of(array);
    write_cells(writer, &array.view().into_dyn(), order, opts)
}

/// Writes `array` to the file `path` (atomically; see [`WriteOptions::with_overwrite`]).
pub fn write_array<T, S, D>(
    path: impl AsRef<Path>,
    array: &ArrayBase<S, D>,
    opts: &WriteOptions,
) -> Result<WriteSummary>
where
    T: Element,
    S: Data<Elem = T>,
    D: Dimension,
{
    let path = path.as_ref();
    crate::limits::check_shape(array.shape()).in_file(path)?;
    crate::atomic::write_atomic(path, opts.overwrite(), |w| write_array_to(w, array, opts))
}

/// Writes an array of any dtype to `writer`.
pub fn write_dyn_to<W: Write + Send>(
    writer: W,
    array: &DynArray,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    with_dyn_array!(array, a => write_array_to(writer, a, opts))
}

/// Writes an array of any dtype to the file `path` (atomically).
pub fn write_dyn(path: impl AsRef<Path>, array: &DynArray, opts: &WriteOptions) -> Result<WriteSummary> {
    let path = path.as_ref();
    crate::limits::check_shape(array.shape()).in_file(path)?;
    crate::atomic::write_atomic(path, opts.overwrite(), |w| write_dyn_to(w, array, opts))
}

/// Writes a COO array to `writer` in the sparse layout (the options' layout and fill are not
/// used: the COO has its own fill).
pub fn write_coo_to<W: Write + Send, T: Element>(
    writer: W,
    coo: &Coo<T>,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    write_sparse(writer, coo, Order::C, None, opts)
}

/// Writes a COO array to the file `path` (atomically).
pub fn write_coo<T: Element>(
    path: impl AsRef<Path>,
    coo: &Coo<T>,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    let path = path.as_ref();
    crate::limits::check_shape(coo.shape()).in_file(path)?;
    crate::atomic::write_atomic(path, opts.overwrite(), |w| write_coo_to(w, coo, opts))
}

/// The fill value of `opts` as a `T` (0 or `false` by default).
fn fill_for<T: Element>(opts: &WriteOptions) -> Result<T> {
    match opts.fill() {
        None => Ok(T::from_bits(0)),
        Some(s) => s.to_element::<T>().ok_or_else(|| Error::BadFill {
            fill: s.to_string(),
            dtype: T::DTYPE,
        }),
    }
}

/// Cells per chunk when scanning a dense array.
const SCAN_CHUNK: usize = 1 << 16;

/// Writes an `.npy` file as an arrstore file at `output` (atomically). A C-order file is read in
/// chunks, twice (once to choose the layout and encodings, once to write), so memory does not
/// grow with the input; a Fortran-order file is read whole.
pub fn write_npy_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    let input = input.as_ref();
    let Some(stream) = crate::npy::NpyStream::open(input)? else {
        return write_dyn(output, &crate::npy::read_npy(input)?, opts);
    };
    crate::atomic::write_atomic(output.as_ref(), opts.overwrite(), |w| {
        crate::with_dtype!(stream.dtype(), T => {
            write_cells::<_, T>(w, &NpyCells::<T>::new(&stream), Order::C, opts)
        })
    })
    .map_err(|e| match e {
        Error::UnsupportedNpy(_) => e.in_file(input),
        other => other,
    })
}

fn write_cells<W: Write + Send, T: Element>(
    writer: W,
    view: &dyn Cells<T>,
    order: Order,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    crate::limits::check_shape(view.shape())?;
    let fill: T = fill_for(opts)?;
    let fill_bits = fill.to_bits();
    let cells = view.cells();
    let ranges = encode::sample_ranges(cells, opts.sample_cells(T::DTYPE));

    // One pass: narrowing of all cells and of the non-fill cells, nnz, and the sample.
    let CellScan {
        dense: dense_scan,
        sparse: sparse_scan,
        nnz,
        runs,
        sample,
        blocks,
    } = scan_cells(
        view,
        fill_bits,
        &ranges,
        matches!(opts.layout(), Layout::Auto | Layout::Runs),
    )?;
    let dense_n = dense_scan.narrowing();
    let cells_hash = crate::content::cells_from_blocks(blocks);
    let compression = opts.compression();
    let rg = opts.row_group_size();

    let dense_bytes = |choice: &EncodingChoice| scale(choice.best_bytes(), cells, sample.len());
    let (layout, estimates, dense_choice) = match opts.layout() {
        Layout::Dense => {
            let choice = encode::choose(&narrow(&sample, &dense_n), dense_n.stored, compression, rg)?;
            (StoredLayout::Dense, None, Some(choice))
        }
        Layout::Sparse => (StoredLayout::Sparse, None, None),
        Layout::Runs => (StoredLayout::Runs, None, None),
        Layout::Auto => {
            // The dense column, the COO and the runs of the same sample are measured together.
            let sparse = sparse_sample(
                view.shape(),
                &ranges,
                &sample,
                fill_bits,
                nnz,
                &sparse_scan.narrowing(),
                &dense_n,
            );
            let mut columns = vec![(narrow(&sample, &dense_n), dense_n.stored)];
            columns.extend(sparse.columns().iter().cloned());
            let sparse_end = columns.len();
            // Runs are measured only where they are at most half the cells: a run stores a
            // length beside its value, so shorter runs do not pay.
            let runs_sample =
                (runs.runs() <= cells / 2).then(|| Runs::of_sample(view.shape(), &ranges, &sample));
            if let Some(r) = &runs_sample {
                columns.extend(r.sample_columns(&dense_n));
            }
            // The layout is chosen at the requested level; only the kept layout's columns then
            // climb the zstd level steps (a sparse or runs table is measured again whole).
            let mut measured = encode::measure_candidates(&columns, compression, rg)?;
            let best: Vec<u64> = measured
                .iter()
                .map(|m| m.iter().map(|(_, b)| *b).min().unwrap_or(0))
                .collect();
            let sparse_bytes = sparse.estimate(nnz, &best[1..sparse_end], best[0]);
            let runs_bytes =
                runs_sample.map(|r| scale(best[sparse_end..].iter().sum(), runs.runs(), r.len()));
            let mut estimates = Estimates {
                dense_bytes: scale(best[0], cells, sample.len()),
                sparse_bytes,
                runs_bytes,
                sampled_cells: sample.len() as u64, // usize fits in u64
            };
            let other = estimates.dense_bytes.min(sparse_bytes);
            match runs_bytes {
                Some(r) if r < other && r <= other / 100 * (100 - RUNS_MIN_SAVING_PERCENT) => {
                    (StoredLayout::Runs, Some(estimates), None)
                }
                _ if sparse_bytes < estimates.dense_bytes => (StoredLayout::Sparse, Some(estimates), None),
                _ => {
                    measured.truncate(1);
                    columns.truncate(1);
                    let choice = encode::choose_levels(&columns, measured, compression, rg)?.remove(0);
                    estimates.dense_bytes = dense_bytes(&choice);
                    (StoredLayout::Dense, Some(estimates), Some(choice))
                }
            }
        }
    };
    drop(sample);

    // The self-description of a dense or runs table with `columns`.
    let cell_meta = |layout: StoredLayout, columns: Vec<ColumnMeta>| {
        let mut meta = ArrayMeta {
            format_version: FORMAT_VERSION.into(),
            dtype: T::DTYPE,
            shape: view.shape().iter().map(|&d| d as u64).collect(), // usize fits in u64
            order,
            layout,
            fill: None,
            fill_bits: None,
            nnz: nnz as u64, // usize fits in u64
            columns,
            sorted_by: None,
            runs: None,
            estimates,
            writer: Some(writer_name()),
            content_hash: Some(ContentHash::cells(&shape_u64(view.shape()), cells_hash)),
            checksums: None,
        };
        if opts.fill().is_some() {
            meta.fill = Some(Scalar::of(fill).to_string());
            meta.fill_bits = Some(format!("{fill_bits:#018x}"));
        }
        meta
    };
    let value_meta = |enc: ColumnEncoding| ColumnMeta {
        name: "value".into(),
        role: Role::Value,
        axis: None,
        stored_type: dense_n.stored,
        offset: dense_n.offset,
        encoding: Some(enc.name().into()),
    };
    match (layout, dense_choice) {
        (StoredLayout::Dense, Some(choice)) => {
            let (enc, codec) = (choice.best, choice.compression);
            let meta = cell_meta(StoredLayout::Dense, vec![value_meta(enc)]);
            let mut table = TableWriter::new(
                writer,
                vec![(meta.columns[0].clone(), dense_n.stored.arrow_type(), enc, codec)],
                cells,
                opts,
            )?;
            // Each worker reads and narrows its row group's cells a chunk at a time.
            table.write_groups(cells, |_, rows| {
                narrow_chunks(rows.len(), &dense_n, |push| {
                    view.each_chunk_in(rows, SCAN_CHUNK, &mut |_, c| {
                        push(c);
                        Ok(())
                    })
                })
            })?;
            table.finish(meta)
        }
        (StoredLayout::Runs, _) => {
            let total = runs.runs();
            let index_dtypes = Runs::<T>::new(view.shape()).index_dtypes();
            // The encodings are measured on runs of stretches of whole rows: consecutive rows'
            // runs, whose lengths repeat one another, as in the table. The sample holds as many
            // runs as fill the sample's bytes in plain pages.
            let row_bits = index_dtypes
                .iter()
                .chain([&dense_n.stored])
                .map(|d| d.plain_bits())
                .sum::<usize>();
            let budget = (opts.sample_bytes().saturating_mul(8) / row_bits).max(1);
            let sample = Runs::sample_of_cells(view, total, budget, SCAN_CHUNK)?;
            let choices = encode::choose_columns(&sample.sample_columns(&dense_n), compression, rg)?;
            drop(sample);
            let ndim = view.shape().len();
            let names = index_names(ndim).into_iter().take(ndim.saturating_sub(1));
            let mut columns: Vec<ColumnMeta> = names
                .enumerate()
                .map(|(axis, name)| (name, Role::Index, Some(axis)))
                .chain([(crate::runs::LENGTH_COLUMN.to_string(), Role::Length, None)])
                .zip(index_dtypes)
                .zip(&choices)
                .map(|(((name, role, axis), stored_type), choice)| ColumnMeta {
                    name,
                    role,
                    axis,
                    stored_type,
                    offset: 0,
                    encoding: Some(choice.best.name().into()),
                })
                .collect();
            let value_choice = choices.last().expect("a choice for the value column");
            columns.push(value_meta(value_choice.best));
            let mut meta = cell_meta(StoredLayout::Runs, columns);
            meta.runs = Some(total as u64); // usize fits in u64
            let table_columns = meta
                .columns
                .iter()
                .zip(&choices)
                .map(|(c, choice)| {
                    (
                        c.clone(),
                        c.stored_type.arrow_type(),
                        choice.best,
                        choice.compression,
                    )
                })
                .collect();
            let mut table = TableWriter::new(writer, table_columns, total, opts)?;
            // The runs are found a slab of cells at a time as the row groups are encoded.
            let groups = RunGroups::new(view, table.rows_per_group, RUNS_SLAB_CELLS, SCAN_CHUNK);
            let written =
                table.write_groups_of(groups, Runs::len, |c, g| Ok(g.column(c, 0..g.len(), &dense_n)))?;
            if written != total {
                return Err(Error::Io(std::io::Error::other(format!(
                    "the input changed while it was written: {total} runs counted, then {written} found"
                ))));
            }
            table.finish(meta)
        }
        _ => {
            let coo = Coo::from_cells(view, fill)?;
            write_sparse(writer, &coo, order, estimates, opts)
        }
    }
}

/// The cells whose runs are found at a time when a run table is written: the runs held in
/// memory are at most a slab's and a row group's, whatever the size of the array.
pub const RUNS_SLAB_CELLS: usize = 1 << 22;

/// The least saving, in percent of the smaller of the dense and sparse estimates, for which an
/// array is stored as runs when the layout is chosen automatically: Parquet readers see a
/// dense or sparse table's cells directly, a run table's only through its lengths.
pub const RUNS_MIN_SAVING_PERCENT: u64 = 2;

/// What one pass over a dense array's cells finds.
struct CellScan<T> {
    /// The narrowing scan of every cell.
    dense: Scan,
    /// The narrowing scan of the cells that are not the fill.
    sparse: Scan,
    /// The number of cells that are not the fill.
    nnz: usize,
    /// The runs of equal cells along the last axis.
    runs: RunCount,
    /// The cells at the sample's positions, in order.
    sample: Vec<T>,
    /// The content hash's block hashes of the cells (see [`crate::content`]).
    blocks: crate::content::BlockHashes,
}

impl<T: Element> CellScan<T> {
    /// The findings of no cells of an array of `shape`, with room for a sample of
    /// `sample_cells`.
    fn new(shape: &[usize], sample_cells: usize) -> Self {
        CellScan {
            dense: Scan::new(T::DTYPE),
            sparse: Scan::new(T::DTYPE),
            nnz: 0,
            runs: RunCount::new(crate::runs::row_cells(shape)),
            sample: Vec::with_capacity(sample_cells),
            blocks: Vec::new(),
        }
    }
}

/// Scans the cells of `view`: the array is cut into one part per core, each scanned on its own
/// thread, and the parts' findings are merged in order. Runs are counted only with
/// `count_runs` (the count stays 0 otherwise).
fn scan_cells<T: Element>(
    view: &dyn Cells<T>,
    fill_bits: u64,
    sample_ranges: &[Range<usize>],
    count_runs: bool,
) -> Result<CellScan<T>> {
    let cells = view.cells();
    let threads = crate::par::threads();
    let parts = threads.min(cells.div_ceil(SCAN_CHUNK)).max(1);
    // Part p is cells[bound(p)..bound(p + 1)]; exact in u128, at most `cells`, and a part
    // starts a block of the content hash.
    let bound = |p: usize| {
        let b = usize::try_from(cells as u128 * p as u128 / parts as u128).unwrap_or(cells);
        if p == parts {
            cells
        } else {
            b / crate::content::BLOCK_CELLS * crate::content::BLOCK_CELLS
        }
    };
    let scans = crate::par::map_indices(parts, |p| {
        let part = bound(p)..bound(p + 1);
        let mut found = CellScan::new(view.shape(), 0);
        let mut nonfill: Vec<T> = Vec::new();
        let mut hasher = crate::content::CellHasher::new::<T>(part.start);
        view.each_chunk_in(part, SCAN_CHUNK, &mut |start, c| {
            hasher.push(c);
            found.dense.push(c);
            if count_runs {
                found.runs.push(start, c);
            }
            nonfill.clear();
            nonfill.extend(c.iter().filter(|v| v.to_bits() != fill_bits));
            found.nnz += nonfill.len();
            found.sparse.push(&nonfill);
            for r in sample_ranges {
                let (lo, hi) = (r.start.max(start), r.end.min(start + c.len()));
                if lo < hi {
                    found.sample.extend_from_slice(&c[lo - start..hi - start]);
                }
            }
            Ok(())
        })?;
        found.blocks = hasher.finish();
        Ok(found)
    })?;
    let mut all = CellScan::new(view.shape(), sample_ranges.iter().map(|r| r.len()).sum());
    for part in scans {
        all.dense.merge(&part.dense);
        all.sparse.merge(&part.sparse);
        all.nnz += part.nnz;
        all.runs.merge(&part.runs);
        all.sample.extend_from_slice(&part.sample);
        all.blocks.extend(part.blocks);
    }
    Ok(all)
}

/// `bytes * total / part`, rounded up; `bytes` when `part` is 0.
fn scale(bytes: u64, total: usize, part: usize) -> u64 {
    if part == 0 {
        return bytes;
    }
    let v = (u128::from(bytes) * total as u128).div_ceil(part as u128); // usize fits in u128
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// The COO of the sampled cells, to be measured beside the dense column of the same sample.
enum SparseSample {
    /// No sampled cell is an entry: the raw widths of the entries there are, in bytes.
    Raw(u64),
    /// Every cell of the array is an entry: in row-major order the COO is the dense column
    /// (the same values, narrowed alike) and its coordinates besides, so it cannot be the
    /// smaller and is not measured; its estimate is the dense column's bytes and the
    /// coordinates' raw widths (`index_bytes`, for all entries). (Measured, its value column
    /// was the dense column's bytes anyway: the entry orders along other axes that a written
    /// COO may take are not weighed for dense arrays.)
    Full { index_bytes: u64, sampled: usize },
    /// The sampled entries' index columns and, unless the dense column is also theirs (no
    /// sampled cell is the fill and the narrowings agree), their value column.
    Columns {
        columns: Vec<(ArrayRef, DType)>,
        index_columns: usize,
        entries: usize,
    },
}

impl SparseSample {
    /// The columns to measure.
    fn columns(&self) -> &[(ArrayRef, DType)] {
        match self {
            SparseSample::Raw(_) | SparseSample::Full { .. } => &[],
            SparseSample::Columns { columns, .. } => columns,
        }
    }

    /// The estimated bytes of the whole COO table of `nnz` entries, given the smallest measured
    /// bytes of each of [`SparseSample::columns`] and of the dense column of the same sample.
    fn estimate(&self, nnz: usize, best: &[u64], dense_sample_bytes: u64) -> u64 {
        match self {
            SparseSample::Raw(bytes) => *bytes,
            SparseSample::Full { index_bytes, sampled } => {
                index_bytes.saturating_add(scale(dense_sample_bytes, nnz, *sampled))
            }
            SparseSample::Columns {
                index_columns,
                entries,
                ..
            } => {
                let index: u64 = best[..*index_columns].iter().sum();
                let value = best.get(*index_columns).copied().unwrap_or(dense_sample_bytes);
                scale(index + value, nnz, *entries)
            }
        }
    }
}

/// The COO of the sampled cells (see [`SparseSample`]); `dense_n` is the dense value column's
/// narrowing.
fn sparse_sample<T: Element>(
    shape: &[usize],
    ranges: &[std::ops::Range<usize>],
    sample: &[T],
    fill_bits: u64,
    nnz: usize,
    value_n: &Narrowing,
    dense_n: &Narrowing,
) -> SparseSample {
    let mut coords: Vec<Coords> = shape.iter().map(|&l| Coords::for_axis(l as u64, 0)).collect(); // usize fits in u64
    let index_width: u64 = coords.iter().map(|c| c.dtype().size() as u64).sum(); // small
    let cells = shape.iter().product::<usize>();
    if nnz == cells && value_n == dense_n {
        return SparseSample::Full {
            index_bytes: index_width.saturating_mul(nnz as u64), // usize fits in u64
            sampled: sample.len(),
        };
    }
    let mut values = Vec::new();
    let mut idx = vec![0u64; shape.len()];
    let flat_positions = ranges.iter().flat_map(|r| r.clone());
    for (flat, v) in flat_positions.zip(sample) {
        if v.to_bits() != fill_bits {
            values.push(*v);
            let mut rem = flat;
            for axis in (0..shape.len()).rev() {
                idx[axis] = (rem % shape[axis]) as u64; // < axis length, fits
                rem /= shape[axis];
            }
            for (c, &i) in coords.iter_mut().zip(&idx) {
                c.push(i);
            }
        }
    }
    if values.is_empty() {
        // No entry in the sample: count the raw widths of the entries there are.
        let per_entry = index_width + value_n.stored.size() as u64; // small
        return SparseSample::Raw(per_entry * nnz as u64); // usize fits in u64
    }
    let entries = values.len();
    let index_columns = coords.len();
    let mut columns: Vec<(ArrayRef, DType)> = coords
        .into_iter()
        .map(|c| {
            let dtype = c.dtype();
            (c.into_arrow(), dtype)
        })
        .collect();
    if !(entries == sample.len() && value_n == dense_n) {
        columns.push((narrow(&values, value_n), value_n.stored));
    }
    SparseSample::Columns {
        columns,
        index_columns,
        entries,
    }
}

/// The names of the index columns of an array with `ndim` axes.
pub fn index_names(ndim: usize) -> Vec<String> {
    if ndim == 2 {
        vec!["row".into(), "col".into()]
    } else {
        (0..ndim).map(|i| format!("dim_{i}")).collect()
    }
}

/// The least saving, in percent of the measured sample, for which a sparse file's entries are
/// stored in an order other than row-major (which pruning by the first axis, and readers that
/// expect it, favour when the orders measure alike).
pub const OTHER_ORDER_MIN_SAVING_PERCENT: u64 = 2;

/// A sparse table's entry order and each column's encoding, as measured on a sample.
struct SparsePlan {
    /// The axes the entries are sorted by.
    sorted_by: Vec<usize>,
    /// Entry `i` of the file is entry `perm[i]` of the row-major COO (`None`: row-major).
    perm: Option<Vec<usize>>,
    /// One choice per column: the index columns by axis, then `value`.
    choices: Vec<EncodingChoice>,
}

/// The sample of one entry order, its columns measured with every candidate encoding.
struct OrderSample {
    /// The axes the entries are sorted by.
    sorted_by: Vec<usize>,
    /// The sample's index columns by axis, then `value`, with their stored types.
    columns: Vec<(ArrayRef, DType)>,
    /// Each column's candidates and their measured bytes.
    measured: Vec<Vec<(ColumnEncoding, u64)>>,
    /// The sum of each column's smallest candidate.
    bytes: u64,
}

/// Measures the sample of each candidate entry order (row-major, and each other axis as the
/// innermost) with every candidate encoding and keeps the smallest: which order makes the index
/// columns runs of small gaps depends on the data (a document-term matrix is smaller by terms,
/// uniform noise is the same either way). Only the kept order's columns then climb the zstd
/// level steps, while the whole table's permutation into that order is made.
fn plan_sparse<T: Element>(coo: &Coo<T>, n: &Narrowing, opts: &WriteOptions) -> Result<SparsePlan> {
    let ndim = coo.shape().len();
    let (compression, rg) = (opts.compression(), opts.row_group_size());
    // COO entries count as 8 bytes each: a coordinate and a value.
    let ranges = encode::sample_ranges(coo.nnz(), (opts.sample_bytes() / 8).max(1));
    // Measures the sample of one order: the entries at `positions` of the row-major COO.
    let measure = |sorted_by: Vec<usize>, positions: Vec<usize>| -> Result<OrderSample> {
        let mut columns: Vec<(ArrayRef, DType)> = coo
            .all_coords()
            .iter()
            .map(|c| (entry_order::gather_coords(c, &positions).into_arrow(), c.dtype()))
            .collect();
        columns.push((
            narrow(&entry_order::gather(coo.values(), &positions), n),
            n.stored,
        ));
        let measured = encode::measure_candidates(&columns, compression, rg)?;
        let bytes = measured
            .iter()
            .map(|m| m.iter().map(|(_, b)| *b).min().unwrap_or(0))
            .sum();
        Ok(OrderSample {
            sorted_by,
            columns,
            measured,
            bytes,
        })
    };
    let row_major = entry_order::row_major(ndim);
    // The row-major sample is measured while the samples of the other orders are gathered
    // (without sorting every entry) and measured.
    let (row_major_sample, other) = crate::par::both(
        || measure(row_major.clone(), ranges.iter().flat_map(|r| r.clone()).collect()),
        || {
            let mut other: Option<OrderSample> = None;
            for inner in (0..ndim.saturating_sub(1)).filter(|_| coo.nnz() > 1) {
                let to = entry_order::inner_last(ndim, inner);
                let positions =
                    entry_order::positions_at(coo.all_coords(), coo.shape(), &row_major, &to, &ranges);
                let sample = measure(to, positions)?;
                if other.as_ref().is_none_or(|o| sample.bytes < o.bytes) {
                    other = Some(sample);
                }
            }
            Ok::<_, Error>(other)
        },
    );
    // The other orders' error first, as when they were measured on this thread and returned early.
    let other = other?;
    let row_major_sample = row_major_sample?;
    let bar = row_major_sample.bytes * (100 - OTHER_ORDER_MIN_SAVING_PERCENT) / 100;
    let kept = match other {
        Some(o) if o.bytes <= bar && o.bytes < row_major_sample.bytes => o,
        _ => row_major_sample,
    };
    let OrderSample {
        sorted_by,
        columns,
        measured,
        ..
    } = kept;
    // Only the order kept sorts every entry.
    let (perm, choices) = crate::par::both(
        || entry_order::permutation(coo.all_coords(), coo.shape(), &row_major, &sorted_by),
        || encode::choose_levels(&columns, measured, compression, rg),
    );
    Ok(SparsePlan {
        sorted_by,
        perm,
        choices: choices?,
    })
}

fn write_sparse<W: Write + Send, T: Element>(
    writer: W,
    coo: &Coo<T>,
    order: Order,
    estimates: Option<Estimates>,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    crate::limits::check_shape(coo.shape())?;
    let n = Scan::of(coo.values()).narrowing();
    let plan = plan_sparse(coo, &n, opts)?;
    let ndim = coo.shape().len();
    let mut columns = Vec::new();
    for (axis, (name, choice)) in index_names(ndim).into_iter().zip(&plan.choices).enumerate() {
        let stored = coo.coords(axis).dtype();
        let meta = ColumnMeta {
            name,
            role: Role::Index,
            axis: Some(axis),
            stored_type: stored,
            offset: 0,
            encoding: Some(choice.best.name().into()),
        };
        columns.push((meta, stored.arrow_type(), choice.best, choice.compression));
    }
    let choice = plan.choices.last().expect("a choice for the value column");
    let perm = plan.perm.as_deref();
    // Declared as an Arrow dictionary type on request (its key type fits the whole column, so
    // the column is narrowed whole first). Otherwise the Parquet writer builds the dictionary
    // pages from the values: an Arrow dictionary made only to be taken apart again would hash
    // every value twice.
    let declared = (choice.best == ColumnEncoding::Dictionary && opts.arrow_dictionary())
        .then(|| {
            let all = match perm {
                Some(p) => narrow(&entry_order::gather(coo.values(), p), &n),
                None => narrow(coo.values(), &n),
            };
            encode::to_dictionary(&all)
        })
        .flatten();
    columns.push((
        ColumnMeta {
            name: "value".into(),
            role: Role::Value,
            axis: None,
            stored_type: n.stored,
            offset: n.offset,
            encoding: Some(choice.best.name().into()),
        },
        declared
            .as_ref()
            .map_or(n.stored.arrow_type(), |d| d.data_type().clone()),
        choice.best,
        choice.compression,
    ));
    // Each worker puts its row group's entries in the file's order (and narrows the values)
    // itself: no reordered copy of the whole table is made.
    let column = |c: usize, rows: Range<usize>| -> Result<ArrayRef> {
        let part = perm.map(|p| &p[rows.clone()]);
        Ok(match (coo.all_coords().get(c), &declared) {
            (Some(coords), _) => match part {
                Some(p) => entry_order::gather_coords(coords, p).into_arrow(),
                None => coords.slice_to_arrow(rows),
            },
            (None, Some(d)) => d.slice(rows.start, rows.len()),
            (None, None) => match part {
                Some(p) => narrow(&entry_order::gather(coo.values(), p), &n),
                None => narrow(&coo.values()[rows], &n),
            },
        })
    };
    let fill = coo.fill();
    let meta = ArrayMeta {
        format_version: FORMAT_VERSION.into(),
        dtype: T::DTYPE,
        shape: coo.shape().iter().map(|&d| d as u64).collect(), // usize fits in u64
        order,
        layout: StoredLayout::Sparse,
        fill: Some(Scalar::of(fill).to_string()),
        fill_bits: Some(format!("{:#018x}", fill.to_bits())),
        nnz: coo.nnz() as u64, // usize fits in u64
        columns: columns.iter().map(|c| c.0.clone()).collect(),
        sorted_by: Some(plan.sorted_by),
        runs: None,
        estimates,
        writer: Some(writer_name()),
        content_hash: Some(ContentHash::entries(
            &shape_u64(coo.shape()),
            crate::content::hash_entries(coo)?,
        )),
        checksums: None,
    };
    let mut table = TableWriter::new(writer, columns, coo.nnz(), opts)?;
    table.write_groups(coo.nnz(), column)?;
    table.finish(meta)
}

/// A shape's lengths as `u64` (usize fits in u64).
fn shape_u64(shape: &[usize]) -> Vec<u64> {
    shape.iter().map(|&d| d as u64).collect()
}

fn writer_name() -> String {
    format!("arrstore {}", env!("CARGO_PKG_VERSION"))
}

/// An Arrow-to-Parquet writer with arrstore's per-column encodings that encodes column chunks
/// on worker threads (one per core), several row groups at a time, and appends them to the
/// file in order: the file is the one a single-threaded writer would produce.
struct TableWriter<W: Write + Send> {
    file: SerializedFileWriter<ChecksumWriter<W>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    rows_per_group: usize,
}

/// The fewest column chunks a table is cut into when it holds at least 2 x
/// [`MIN_SPLIT_ROW_GROUP_BYTES`] of stored values, whatever the row-group size asked for: a
/// one-column (dense) table that would fit one row group is cut into two, so that two cores
/// encode it (a table of several columns already has a chunk per column). Pages, not row
/// groups, bound the codec's context, so the file is hardly larger.
pub const MIN_COLUMN_CHUNKS: usize = 2;

/// The least stored bytes in a row group cut to reach [`MIN_COLUMN_CHUNKS`]: a smaller table
/// encodes in a few milliseconds on one core.
pub const MIN_SPLIT_ROW_GROUP_BYTES: usize = 2 << 20;

/// Rows per row group for a table of `rows` rows of `row_bytes` stored bytes in `columns`
/// columns, at most `max`.
fn group_rows(max: usize, rows: usize, columns: usize, row_bytes: usize) -> usize {
    let groups = MIN_COLUMN_CHUNKS.div_ceil(columns.max(1));
    let least = MIN_SPLIT_ROW_GROUP_BYTES.div_ceil(row_bytes.max(1));
    max.min(rows.div_ceil(groups).max(least)).max(1)
}

/// A column chunk to encode: its sequence number, its writer, its column and its row group.
type Job<S> = (usize, ArrowColumnWriter, usize, Arc<S>);

impl<W: Write + Send> TableWriter<W> {
    /// A writer of a table of `rows` rows.
    fn new(
        writer: W,
        columns: Vec<(ColumnMeta, DataType, ColumnEncoding, Compression)>,
        rows: usize,
        opts: &WriteOptions,
    ) -> Result<Self> {
        let mut props = encode::base_properties(opts.compression(), opts.row_group_size());
        if columns.iter().any(|c| c.0.role == Role::Index) {
            props = props.set_data_page_row_count_limit(encode::SPARSE_DATA_PAGE_ROW_COUNT_LIMIT);
        }
        let row_bytes = columns.iter().map(|c| c.0.stored_type.size()).sum();
        let rows_per_group = group_rows(opts.row_group_size(), rows, columns.len(), row_bytes);
        let mut fields = Vec::new();
        for (meta, data_type, enc, codec) in columns {
            props = enc.configure(props, &meta.name, codec);
            fields.push(Field::new(meta.name, data_type, false));
        }
        let schema = Arc::new(Schema::new(fields));
        // The Parquet logical types already say uint8..uint64; the embedded Arrow schema is
        // needed only to give readers a dictionary-typed column back as one, when asked for.
        let dictionary = schema
            .fields()
            .iter()
            .any(|f| matches!(f.data_type(), DataType::Dictionary(..)));
        let options = ArrowWriterOptions::new()
            .with_properties(props.build())
            .with_skip_arrow_metadata(!(dictionary && opts.arrow_dictionary()));
        let inner = ArrowWriter::try_new_with_options(ChecksumWriter::new(writer), schema.clone(), options)?;
        let (file, factory) = inner.into_serialized_writer()?;
        Ok(TableWriter {
            file,
            factory,
            schema,
            rows_per_group,
        })
    }

    /// Writes a table of `rows` rows in row groups of `rows_per_group`, encoding column chunks
    /// on one worker per core: `column(c, rows)` gives column `c`'s values for a range of rows
    /// and is called on the workers, so producing the values (reading and narrowing a dense
    /// array's cells) is as parallel as encoding them.
    fn write_groups(
        &mut self,
        rows: usize,
        column: impl Fn(usize, Range<usize>) -> Result<ArrayRef> + Sync,
    ) -> Result<()> {
        let step = self.rows_per_group.max(1);
        let groups = (0..rows)
            .step_by(step)
            .map(|start| Ok(start..(start + step).min(rows)));
        self.write_groups_of(groups, |r: &Range<usize>| r.len(), |c, r| column(c, r.clone()))?;
        Ok(())
    }

    /// Writes the row groups `groups` in turn (each of `rows_of(group)` rows; every one but the
    /// last should hold `rows_per_group`), encoding column chunks on one worker per core:
    /// `column(c, group)` gives column `c`'s values of a group and is called on the workers.
    /// The groups are made on the caller's thread while the workers encode the ones before, at
    /// most one more than there are workers at a time. Returns the rows written.
    fn write_groups_of<S: Send + Sync>(
        &mut self,
        groups: impl Iterator<Item = Result<S>>,
        rows_of: impl Fn(&S) -> usize,
        column: impl Fn(usize, &S) -> Result<ArrayRef> + Sync,
    ) -> Result<usize> {
        let threads = crate::par::threads();
        let TableWriter {
            file,
            factory,
            schema,
            ..
        } = self;
        let (job_tx, job_rx) = std::sync::mpsc::sync_channel::<Job<S>>(threads);
        let job_rx = std::sync::Mutex::new(job_rx);
        std::thread::scope(|s| -> Result<usize> {
            let (done_tx, done_rx) = std::sync::mpsc::channel::<(usize, Result<ArrowColumnChunk>)>();
            for _ in 0..threads {
                let (job_rx, done_tx, column, schema) = (&job_rx, done_tx.clone(), &column, &*schema);
                s.spawn(move || loop {
                    let job = job_rx
                        .lock()
                        .map_err(|_| ())
                        .and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, mut writer, c, group)) = job else {
                        return;
                    };
                    let chunk = column(c, &group).and_then(|values| {
                        for leaf in compute_leaves(schema.field(c), &values)? {
                            writer.write(&leaf)?;
                        }
                        Ok(writer.close()?)
                    });
                    if done_tx.send((seq, chunk)).is_err() {
                        return;
                    }
                });
            }
            drop(done_tx);
            let mut pipe = Pipeline {
                file,
                job_tx: Some(job_tx),
                done_rx,
                finished: std::collections::BTreeMap::new(),
                groups: std::collections::VecDeque::new(),
                sent: 0,
                appended: 0,
                max_groups: threads + 1,
            };
            let mut rows = 0;
            for (row_group, group) in groups.enumerate() {
                let group = group?;
                rows += rows_of(&group);
                let writers = factory.create_column_writers(row_group)?;
                pipe.send_group(writers, Arc::new(group))?;
            }
            pipe.drain()?;
            Ok(rows)
        })
    }

    /// Closes the file: the self-description `meta`, with the checksums of every byte before
    /// it, goes into the footer, and the footer's own checksum into it (see
    /// [`crate::integrity`]).
    fn finish(mut self, mut meta: ArrayMeta) -> Result<WriteSummary> {
        self.file.flush()?;
        let checksums = self.file.inner_mut().close_data();
        let written = self.file.bytes_written() as u64; // usize fits in u64
        if checksums.data_bytes != written {
            return Err(Error::Io(std::io::Error::other(format!(
                "the checksums cover {} bytes, the writer wrote {written}",
                checksums.data_bytes
            ))));
        }
        meta.checksums = Some(checksums);
        self.file.append_key_value_metadata(KeyValue::new(
            crate::meta::METADATA_KEY.to_string(),
            meta.to_json(),
        ));
        self.file.finish()?;
        let tail_crc = self.file.inner_mut().seal()?;
        if let Some(sums) = &mut meta.checksums {
            sums.tail_crc = format!("{tail_crc:08x}");
        }
        Ok(WriteSummary {
            meta,
            file_bytes: self.file.bytes_written() as u64, // usize fits in u64
        })
    }
}

/// The main thread's side of [`TableWriter::write_groups`]: hands column chunks to the workers
/// and appends the encoded ones to the file in order, a row group at a time.
struct Pipeline<'a, W: Write + Send, S> {
    file: &'a mut SerializedFileWriter<ChecksumWriter<W>>,
    job_tx: Option<std::sync::mpsc::SyncSender<Job<S>>>,
    done_rx: std::sync::mpsc::Receiver<(usize, Result<ArrowColumnChunk>)>,
    finished: std::collections::BTreeMap<usize, ArrowColumnChunk>,
    /// The number of column chunks of each row group not yet appended, oldest first.
    groups: std::collections::VecDeque<usize>,
    sent: usize,
    appended: usize,
    /// The most row groups handed out and not yet appended.
    max_groups: usize,
}

impl<W: Write + Send, S> Pipeline<'_, W, S> {
    /// Hands out the column chunks of row group `group`, one per writer (column).
    fn send_group(&mut self, writers: Vec<ArrowColumnWriter>, group: Arc<S>) -> Result<()> {
        // Bounded by whole row groups: a group's chunks are sent together, so a group with more
        // columns than there are workers never waits for itself.
        while self.groups.len() >= self.max_groups {
            self.receive_one()?;
        }
        self.groups.push_back(writers.len());
        for (c, writer) in writers.into_iter().enumerate() {
            let tx = self.job_tx.as_ref().ok_or_else(worker_gone)?;
            tx.send((self.sent, writer, c, group.clone()))
                .map_err(|_| worker_gone())?;
            self.sent += 1;
        }
        Ok(())
    }

    /// Waits for one encoded chunk and appends every row group that is complete.
    fn receive_one(&mut self) -> Result<()> {
        let (seq, chunk) = self.done_rx.recv().map_err(|_| worker_gone())?;
        self.finished.insert(seq, chunk?);
        while let Some(&n) = self.groups.front() {
            if !(self.appended..self.appended + n).all(|i| self.finished.contains_key(&i)) {
                break;
            }
            let mut rg = self.file.next_row_group()?;
            for i in self.appended..self.appended + n {
                if let Some(c) = self.finished.remove(&i) {
                    c.append_to_row_group(&mut rg)?;
                }
            }
            rg.close()?;
            self.appended += n;
            self.groups.pop_front();
        }
        Ok(())
    }

    /// Appends everything still being encoded and stops the workers.
    fn drain(mut self) -> Result<()> {
        self.job_tx = None;
        while self.appended < self.sent {
            self.receive_one()?;
        }
        Ok(())
    }
}

fn worker_gone() -> Error {
    Error::Io(std::io::Error::other("an encoding thread stopped"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_column_tables_are_cut_into_two_row_groups_when_large_enough() {
        let m = 1 << 20;
        assert_eq!(group_rows(m, m, 1, 4), m / 2, "4 MiB of float32");
        assert_eq!(group_rows(m, m, 1, 1), m, "1 MiB of uint8: one group");
        assert_eq!(group_rows(m, m, 3, 8), m, "three columns");
        assert_eq!(group_rows(m, 16 * m, 1, 1), m);
        assert_eq!(group_rows(m, 1000, 1, 8), MIN_SPLIT_ROW_GROUP_BYTES / 8);
        assert_eq!(group_rows(m, 3 * m / 4, 1, 8), 3 * m / 8);
        assert_eq!(group_rows(1000, m, 1, 8), 1000);
        assert_eq!(group_rows(0, 5, 1, 1), 1);
    }

    #[test]
    fn scale_rounds_up_and_survives_zero() {
        assert_eq!(scale(10, 100, 30), 34);
        assert_eq!(scale(10, 100, 0), 10);
        assert_eq!(scale(u64::MAX, usize::MAX, 1), u64::MAX);
    }

    #[test]
    fn bad_fill_is_an_error() {
        let a = ndarray::arr1(&[1u8, 2]);
        let e = write_array_to(
            Vec::new(),
            &a,
            &WriteOptions::default().with_fill(Scalar::Float(0.5)),
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("fill value 0.5 is not exactly representable as uint8"),
            "{e}"
        );
    }

    #[test]
    fn index_column_names() {
        assert_eq!(index_names(2), ["row", "col"]);
        assert_eq!(index_names(3), ["dim_0", "dim_1", "dim_2"]);
        assert!(index_names(0).is_empty());
    }
}
