//! Writing arrays: scan, choose the layout and each column's encoding by measuring, narrow,
//! and write the Parquet table with its self-description.
//!
//! Each operation is a core over `io::Write` (`*_to`) and a one-line path wrapper that writes
//! atomically and never replaces an existing file unless asked.

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use arrow::array::ArrayRef;
use ndarray::{ArrayBase, Data, Dimension};

use crate::cells::SCAN_CHUNK;
use crate::cells::{Cells, NpyCells};
use crate::content::ContentHash;
use crate::coo::{Coo, DynCoo};
use crate::coords::Coords;
use crate::dtype::{DType, Element};
use crate::dynarray::{DynArray, Order, Scalar};
use crate::encode::{self, ColumnEncoding, EncodingChoice};
use crate::error::{Error, Result, ResultExt};
use crate::meta::{shape_u64, ArrayMeta, ColumnMeta, Estimates, Role, StoredLayout, TransformCandidate};
use crate::narrow::{narrow, narrow_chunks, Narrowing, Scan};
use crate::options::{Layout, WriteOptions, RUNS_MIN_SAVING_PERCENT};
use crate::predict::TransformChoice;
use crate::runs::{RunCount, Runs};
use crate::table::TableWriter;
pub use crate::table::WriteSummary;
use crate::with_dyn_array;

mod sparse;

use sparse::write_sparse;

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

/// Writes a [`DynCoo`] to `writer` in the sparse layout, as [`write_coo_to`] its [`Coo`].
pub fn write_dyn_coo_to<W: Write + Send>(
    writer: W,
    coo: &DynCoo,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    crate::with_dyn_coo!(coo, c => write_coo_to(writer, c, opts))
}

/// Writes a [`DynCoo`] (a SciPy `.npz` read by [`crate::npz::read_npz`], say) to the file
/// `path` (atomically), as [`write_coo`] its [`Coo`].
///
/// ```
/// use arrstore::{read_coo, write_dyn_coo, Coo, DynCoo, WriteOptions};
/// let dir = tempfile::tempdir()?;
/// let coo = DynCoo::from(Coo::from_dense(&ndarray::arr2(&[[0i32, 7], [0, 0]]), 0));
/// write_dyn_coo(dir.path().join("m.parquet"), &coo, &WriteOptions::default())?;
/// assert_eq!(read_coo::<i32>(dir.path().join("m.parquet"))?.nnz(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_dyn_coo(path: impl AsRef<Path>, coo: &DynCoo, opts: &WriteOptions) -> Result<WriteSummary> {
    crate::with_dyn_coo!(coo, c => write_coo(path, c, opts))
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
    let mut dense_n = dense_scan.narrowing();
    if dense_n.stored.is_float() && !opts.portable() {
        // Floats that are not whole numbers may still be integers over a common scale.
        if let Some(scaled) = scaled_narrowing(view, &sample, dense_n.stored.size())? {
            dense_n = scaled;
        }
    }
    let cells_hash = crate::content::cells_from_blocks(blocks);
    let compression = opts.compression();
    let rg = opts.row_group_size();

    let dense_bytes = |choice: &EncodingChoice| scale(choice.best_bytes(), cells, sample.len());
    // The predictive transforms of the dense column, measured where a dense table may be
    // written and a plain Parquet reader's view of the values was not asked for.
    let transform = match opts.layout() {
        Layout::Auto | Layout::Dense if !opts.portable() || opts.transform().is_some() => {
            let budget = opts.sample_cells(T::DTYPE);
            crate::predict::choose(
                view,
                &dense_n,
                budget,
                compression,
                rg,
                opts.transform(),
                opts.effort(),
            )?
        }
        _ => None,
    };
    let kept = transform.as_ref().filter(|t| t.transform.is_some());
    // The dense column's encoding: of its residuals where a transform is kept.
    let transformed_choice = |kept: &TransformChoice| -> Result<(EncodingChoice, u64)> {
        let columns = [(kept.sample.clone(), kept.sample_type())];
        let mut choice =
            encode::choose_levels(&columns, vec![kept.kept_encodings.clone()], compression, rg)?.remove(0);
        encode::try_residual_codecs(&mut choice, &kept.sample, rg, opts.effort())?;
        let bytes = scale(choice.best_bytes(), cells, kept.sample.len());
        Ok((choice, bytes))
    };
    let (layout, estimates, dense_choice) = match opts.layout() {
        Layout::Dense => {
            let choice = match kept {
                Some(k) => transformed_choice(k)?.0,
                None => encode::choose(&narrow(&sample, &dense_n), dense_n.stored, compression, rg)?,
            };
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
            let mut dense_estimate = scale(best[0], cells, sample.len());
            if let Some(k) = kept {
                // The transform's saving, measured on its own sample of whole rows.
                dense_estimate = scale(dense_estimate, usize_of(k.kept_bytes), usize_of(k.none_bytes));
            }
            let mut estimates = Estimates {
                dense_bytes: dense_estimate,
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
                    let choice = match kept {
                        Some(k) => {
                            let (choice, bytes) = transformed_choice(k)?;
                            estimates.dense_bytes = bytes;
                            choice
                        }
                        None => {
                            measured.truncate(1);
                            columns.truncate(1);
                            let choice =
                                encode::choose_levels(&columns, measured, compression, rg)?.remove(0);
                            estimates.dense_bytes = dense_bytes(&choice);
                            choice
                        }
                    };
                    (StoredLayout::Dense, Some(estimates), Some(choice))
                }
            }
        }
    };
    drop(sample);

    // The self-description of a dense or runs table with `columns`.
    let cell_meta = |layout: StoredLayout, columns: Vec<ColumnMeta>| {
        let mut meta = ArrayMeta::new(T::DTYPE, view.shape(), order, layout, nnz, columns);
        meta.estimates = estimates;
        meta.content_hash = Some(ContentHash::cells(&shape_u64(view.shape()), cells_hash));
        if opts.fill().is_some() {
            meta.fill = Some(Scalar::of(fill).to_string());
            meta.fill_bits = Some(format!("{fill_bits:#018x}"));
        }
        meta
    };
    let value_meta = |enc: ColumnEncoding| ColumnMeta {
        encoding: Some(enc.name().into()),
        scale: dense_n.scale,
        ..ColumnMeta::new("value", Role::Value, dense_n.stored, dense_n.offset)
    };
    match (layout, dense_choice) {
        (StoredLayout::Dense, Some(choice)) => {
            let (enc, codec) = (choice.best, choice.compression);
            let kept = kept.and_then(|k| k.transform);
            let mut value = value_meta(enc);
            // The candidates are recorded with the transform kept; where none is, the file is
            // the one a portable write makes (no larger by their few hundred bytes).
            if let Some(t) = transform.as_ref().filter(|t| t.transform.is_some()) {
                value.transform = t.transform;
                value.stored_type = t.sample_type();
                value.transform_candidates = t
                    .measured
                    .iter()
                    .map(|(name, bytes)| TransformCandidate {
                        name: name.clone(),
                        sample_bytes: *bytes,
                    })
                    .collect();
            }
            let mut meta = cell_meta(StoredLayout::Dense, vec![value]);
            // Each row group's count of residuals per context, where the transform splits them.
            let context_counts = std::sync::Mutex::new(Vec::new());
            let mut table = TableWriter::new(
                writer,
                vec![(
                    meta.columns[0].clone(),
                    meta.columns[0].stored_type.arrow_type(),
                    enc,
                    codec,
                )],
                cells,
                opts,
            )?;
            if kept.is_some() {
                // Undoing a transform costs a reader about as much per cell as decoding 8 bytes
                // of plain values: row groups (which decode in parallel) are cut as for those.
                table.rows_per_group =
                    crate::table::group_rows(opts.row_group_size(), cells, 1, TRANSFORMED_CELL_COST_BYTES);
            }
            if let Some(t) = kept.filter(|t| t.colour.is_some()) {
                // A colour transform works on whole pixels: no row group may cut one.
                let pixel = usize::try_from(t.left).unwrap_or(1);
                table.rows_per_group = (table.rows_per_group / pixel * pixel).max(pixel);
            }
            // Each worker reads and narrows its row group's cells a chunk at a time, and
            // transforms them as a row group of their own.
            table.write_groups(cells, |_, rows| {
                let start = rows.start;
                let narrowed = narrow_chunks(rows.len(), &dense_n, |push| {
                    view.each_chunk_in(rows, SCAN_CHUNK, &mut |_, c| {
                        push(c);
                        Ok(())
                    })
                })?;
                match &kept {
                    Some(t) => {
                        let (stored, counts) = t.encode(narrowed.as_ref())?;
                        if let Some(c) = counts {
                            context_counts
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push((start, c));
                        }
                        Ok(stored)
                    }
                    None => Ok(narrowed),
                }
            })?;
            let mut counts = context_counts.into_inner().unwrap_or_else(|e| e.into_inner());
            counts.sort_unstable_by_key(|c| c.0);
            meta.columns[0].context_counts = counts.into_iter().map(|c| c.1).collect();
            table.finish(meta)
        }
        (StoredLayout::Runs, _) => crate::runs::write_runs(
            writer,
            view,
            runs.runs(),
            &dense_n,
            cell_meta(StoredLayout::Runs, Vec::new()),
            &value_meta,
            opts,
        ),
        _ => {
            let coo = Coo::from_cells(view, fill)?;
            write_sparse(writer, &coo, order, estimates, opts)
        }
    }
}

/// The bytes of plain values whose decoding costs a reader as much as undoing a predictive
/// transform of one cell, for cutting a transformed column into row groups (see
/// `table::group_rows`): a 720,000-cell RGB image is then two row groups, read back 1.7x as
/// fast as in one, 1% larger (`DESIGN.md`).
const TRANSFORMED_CELL_COST_BYTES: usize = 8;

/// The most candidate scales checked on the whole array (each a pass over it, stopped at the
/// first value it does not hold).
const MAX_SCALES_CHECKED: usize = 8;

/// The narrowing of `view`'s float cells as integers over a common scale, where one holds
/// every cell and its integers are stored narrower than `narrower_than` bytes: the
/// [`crate::scale::candidates`] of the `sample` are checked on every cell in turn (at most
/// [`MAX_SCALES_CHECKED`]), in parallel parts, each stopping at the first value that fails.
fn scaled_narrowing<T: Element>(
    view: &dyn Cells<T>,
    sample: &[T],
    narrower_than: usize,
) -> Result<Option<Narrowing>> {
    let cells = view.cells();
    let parts = crate::par::threads().min(cells.div_ceil(SCAN_CHUNK)).max(1);
    // Part p is cells[bound(p)..bound(p + 1)] (exact in u128, at most `cells`).
    let bound = |p: usize| usize::try_from(cells as u128 * p as u128 / parts as u128).unwrap_or(cells);
    for scale in crate::scale::candidates(sample)
        .into_iter()
        .take(MAX_SCALES_CHECKED)
    {
        // Each part's integers' range, or `None` at the first value the scale does not hold.
        let ranges = crate::par::map_indices(parts, |p| {
            let mut range = Some((i128::MAX, i128::MIN));
            let mut at = bound(p);
            while let (Some((lo, hi)), true) = (&mut range, at < bound(p + 1)) {
                let chunk = at..(at + SCAN_CHUNK).min(bound(p + 1));
                at = chunk.end;
                let mut held = true;
                view.each_chunk_in(chunk, SCAN_CHUNK, &mut |_, c| {
                    for v in c {
                        let Some(k) = scale.integer_of(*v) else {
                            held = false;
                            break;
                        };
                        (*lo, *hi) = ((*lo).min(k), (*hi).max(k));
                    }
                    Ok(())
                })?;
                if !held {
                    range = None;
                }
            }
            Ok(range)
        })?;
        let Some((lo, hi)) = ranges
            .into_iter()
            .try_fold((i128::MAX, i128::MIN), |(lo, hi), r| {
                r.map(|(a, b)| (lo.min(a), hi.max(b)))
            })
        else {
            continue;
        };
        if lo > hi {
            return Ok(None); // no cells
        }
        return Ok(crate::narrow::int_narrowing(lo, hi)
            .filter(|n| n.stored.size() < narrower_than)
            .map(|n| Narrowing {
                scale: Some(scale),
                ..n
            }));
    }
    Ok(None)
}

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

/// `v` as `usize`, saturating (a byte count, for [`scale`]).
fn usize_of(v: u64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
