//! The runs layout: each row of the last axis cut into runs of equal cells (run-length coding).
//!
//! Spec card (format 1.2):
//! - Columns, in order: one index column per axis but the last (`row` for a 2-D array,
//!   `dim_0` .. `dim_{n-2}` otherwise, none for 1-D and 0-d arrays), unsigned at the width the
//!   axis length needs; `length`, unsigned at the width that holds the last axis' length;
//!   `value`, stored as a dense array's is (the logical value is `dtype(stored + offset)`).
//! - A *row* is the cells that share every coordinate but the last (a 0-d array is one row of
//!   one cell). Each row is cut into runs of consecutive cells with the same bits (so NaN
//!   payloads and -0.0 are kept); each run is one table row: its row's coordinates, its number
//!   of cells (at least 1) and its value.
//! - Table rows are in C order: rows in row-major order, each row's runs left to right. The
//!   lengths of a row's runs add up to the last axis' length, so a run's first cell is at the
//!   sum of the lengths before it in its row. An array without cells has no runs.
//! - Writers cut rows into maximal runs; readers accept any cutting that covers every cell once.
//!
//! The layout pays where values repeat along the last axis (segmentation labels, masks, images
//! with flat regions): a run costs its length and value once, and the lengths of consecutive
//! rows repeat one another, which the codec sees.
//!
//! ```
//! use arrstore::{read_array_from, write_array_to, Layout, StoredLayout, WriteOptions};
//! let labels = ndarray::Array2::<i64>::from_shape_fn((64, 64), |(i, j)| ((i / 16) * 4 + j / 16) as i64);
//! let mut file = Vec::new();
//! let s = write_array_to(&mut file, &labels, &WriteOptions::default().with_layout(Layout::Runs))?;
//! assert_eq!(s.meta.layout, StoredLayout::Runs);
//! let back: ndarray::Array2<i64> = read_array_from(bytes::Bytes::from(file))?;
//! assert_eq!(back, labels);
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::io::Write;
use std::ops::Range;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, UInt64Type};

use crate::cells::Cells;
use crate::cells::SCAN_CHUNK;
use crate::coords::Coords;
use crate::dtype::{DType, Element};
use crate::encode::{self, ColumnEncoding};
use crate::error::{Error, Result};
use crate::meta::{index_names, ArrayMeta, ColumnMeta, Role};
use crate::narrow::{narrow, Narrowing};
use crate::options::{WriteOptions, RUNS_SLAB_CELLS};
use crate::table::{TableWriter, WriteSummary};

/// The name of the run-length column.
pub const LENGTH_COLUMN: &str = "length";

/// The cells in one row: the last axis' length (1 for a 0-d array).
pub fn row_cells(shape: &[usize]) -> usize {
    shape.last().copied().unwrap_or(1)
}

/// Calls `piece(pos, len, value)` for each stretch of cells with equal bits in `chunk` (flat
/// C-order positions from `start`) that is as long as it can be without leaving its row of
/// `row_cells` cells or the chunk.
fn pieces<T: Element>(start: usize, chunk: &[T], row_cells: usize, mut piece: impl FnMut(usize, usize, T)) {
    let row_cells = row_cells.max(1);
    let mut i = 0;
    while i < chunk.len() {
        // The end of the row that holds cell `start + i`, as an index into `chunk`.
        let row_end = ((start + i) / row_cells + 1) * row_cells - start;
        let segment = row_end.min(chunk.len());
        while i < segment {
            let v = chunk[i];
            let bits = v.to_bits();
            let mut j = i + 1;
            while j < segment && chunk[j].to_bits() == bits {
                j += 1;
            }
            piece(start + i, j - i, v);
            i = j;
        }
    }
}

/// The end and bits of the last run seen, to join it with a piece that continues it across a
/// chunk boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tail {
    end: usize,
    bits: u64,
}

/// Whether a piece at `pos` with `bits` continues the run that `tail` ends.
fn joins(tail: Option<Tail>, pos: usize, bits: u64, row_cells: usize) -> bool {
    tail.is_some_and(|t| t.end == pos && t.bits == bits && !pos.is_multiple_of(row_cells.max(1)))
}

/// Counts the runs of one part of an array, walked chunk by chunk in C order; the counts of
/// consecutive parts merge.
#[derive(Debug, Clone)]
pub(crate) struct RunCount {
    row_cells: usize,
    runs: usize,
    /// The first piece seen: its position and bits.
    first: Option<(usize, u64)>,
    tail: Option<Tail>,
}

impl RunCount {
    /// No runs yet, in rows of `row_cells` cells.
    pub(crate) fn new(row_cells: usize) -> Self {
        RunCount {
            row_cells,
            runs: 0,
            first: None,
            tail: None,
        }
    }

    /// The runs counted.
    pub(crate) fn runs(&self) -> usize {
        self.runs
    }

    /// Counts the runs of `chunk`, the cells from flat position `start` on, continuing the
    /// chunks pushed before.
    pub(crate) fn push<T: Element>(&mut self, start: usize, chunk: &[T]) {
        let row_cells = self.row_cells;
        let (mut runs, mut first, mut tail) = (self.runs, self.first, self.tail);
        pieces(start, chunk, row_cells, |pos, len, v| {
            let bits = v.to_bits();
            first.get_or_insert((pos, bits));
            if !joins(tail, pos, bits, row_cells) {
                runs += 1;
            }
            tail = Some(Tail { end: pos + len, bits });
        });
        (self.runs, self.first, self.tail) = (runs, first, tail);
    }

    /// Adds the count of the part that follows this one.
    pub(crate) fn merge(&mut self, next: &RunCount) {
        self.runs += next.runs;
        if let Some((pos, bits)) = next.first {
            if joins(self.tail, pos, bits, self.row_cells) {
                self.runs -= 1;
            }
        }
        self.first = self.first.or(next.first);
        self.tail = next.tail.or(self.tail);
    }
}

/// The runs of an array (or of some of its cells) in C order, with their rows' coordinates at
/// the widths the shape needs.
#[derive(Debug, Clone)]
pub(crate) struct Runs<T> {
    /// The shape of the axes but the last.
    lead: Vec<usize>,
    row_cells: usize,
    /// One coordinate vector per axis but the last.
    index: Vec<Coords>,
    lengths: Coords,
    values: Vec<T>,
    tail: Option<Tail>,
    /// The row of the last run and its coordinates.
    row: Option<(usize, Vec<u64>)>,
}

impl<T: Element> Runs<T> {
    /// No runs yet, for an array of `shape`.
    pub(crate) fn new(shape: &[usize]) -> Self {
        let lead = shape[..shape.len().saturating_sub(1)].to_vec();
        let row_cells = row_cells(shape);
        Runs {
            index: lead.iter().map(|&l| Coords::for_axis(l as u64, 0)).collect(), // usize fits in u64
            lengths: Coords::for_axis((row_cells as u64).saturating_add(1), 0),   // usize fits in u64
            lead,
            row_cells,
            values: Vec::new(),
            tail: None,
            row: None,
        }
    }

    /// The runs of the cells `range` (flat C-order positions) of `view`, walked `chunk` cells
    /// at a time on one thread per core (each walking a part of the range) and joined in
    /// order. The range's first cell starts a run.
    pub(crate) fn of_cells_in(view: &dyn Cells<T>, range: Range<usize>, chunk: usize) -> Result<Self> {
        let cells = range.len();
        let threads = crate::par::threads();
        let parts = threads.min(cells.div_ceil(chunk.max(1))).max(1);
        // Part p is range.start + [bound(p), bound(p + 1)); exact in u128, at most `cells`.
        let bound = |p: usize| usize::try_from(cells as u128 * p as u128 / parts as u128).unwrap_or(cells);
        let found = crate::par::map_indices(parts, |p| {
            let mut runs = Runs::new(view.shape());
            view.each_chunk_in(
                range.start + bound(p)..range.start + bound(p + 1),
                chunk,
                &mut |start, c| {
                    runs.push(start, c);
                    Ok(())
                },
            )?;
            Ok(runs)
        })?;
        let mut all = Runs::new(view.shape());
        for (p, part) in found.into_iter().enumerate() {
            all.append(part, range.start + bound(p));
        }
        Ok(all)
    }

    /// The runs of up to 16 stretches of `view`'s cells (one in each sixteenth) that together
    /// hold about `budget` runs, given that the whole array has `total`: the stretches are of
    /// whole rows where a row is short enough, so their runs are those of the whole run table,
    /// consecutive rows' runs side by side. Each stretch's first cell starts a run.
    pub(crate) fn sample_of_cells(
        view: &dyn Cells<T>,
        total: usize,
        budget: usize,
        chunk: usize,
    ) -> Result<Self> {
        const STRETCHES: usize = 16;
        let cells = view.cells();
        let row_cells = row_cells(view.shape()).max(1);
        // Cells per run on average, times the runs wanted; exact in u128, at most `cells`.
        let want = usize::try_from((budget as u128 * cells as u128).div_ceil(total.max(1) as u128))
            .unwrap_or(cells)
            .clamp(1, cells.max(1));
        let unit = if row_cells <= want / STRETCHES {
            row_cells
        } else {
            1
        };
        let mut sample = Runs::new(view.shape());
        for r in crate::encode::sample_ranges(cells / unit, (want / unit).max(1)) {
            let range = r.start * unit..r.end * unit;
            let at = range.start;
            sample.tail = None;
            sample.append(Runs::of_cells_in(view, range, chunk)?, at);
        }
        Ok(sample)
    }

    /// The runs of the sampled cells: `sample` holds the cells of `ranges` (flat C-order
    /// positions) one range after another; a range's first cell starts a run.
    pub(crate) fn of_sample(shape: &[usize], ranges: &[Range<usize>], sample: &[T]) -> Self {
        let mut runs = Runs::new(shape);
        let mut at = 0;
        for r in ranges {
            if let Some(cells) = sample.get(at..at + r.len()) {
                runs.tail = None;
                runs.push(r.start, cells);
            }
            at += r.len();
        }
        runs
    }

    /// The number of runs.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// Adds the runs of `chunk`, the cells from flat position `start` on.
    pub(crate) fn push(&mut self, start: usize, chunk: &[T]) {
        let row_cells = self.row_cells;
        pieces(start, chunk, row_cells, |pos, len, v| {
            let bits = v.to_bits();
            let len64 = len as u64; // usize fits in u64
            if joins(self.tail, pos, bits, row_cells) {
                self.lengths.add_to_last(len64);
            } else {
                let row = pos / row_cells.max(1);
                if self.row.as_ref().is_none_or(|(r, _)| *r != row) {
                    self.row = Some((row, unravel(row, &self.lead)));
                }
                if let Some((_, coords)) = &self.row {
                    for (c, &x) in self.index.iter_mut().zip(coords) {
                        c.push(x);
                    }
                }
                self.lengths.push(len64);
                self.values.push(v);
            }
            self.tail = Some(Tail { end: pos + len, bits });
        });
    }

    /// Appends the runs of the cells that follow this part's, from flat position `at` on,
    /// joining a run cut between them.
    fn append(&mut self, next: Runs<T>, at: usize) {
        let joined = next
            .values
            .first()
            .is_some_and(|v| joins(self.tail, at, v.to_bits(), self.row_cells));
        let skip = usize::from(joined);
        if joined {
            self.lengths.add_to_last(next.lengths.get(0));
        }
        for (c, n) in self.index.iter_mut().zip(&next.index) {
            c.extend_from(n, skip);
        }
        self.lengths.extend_from(&next.lengths, skip);
        self.values
            .extend_from_slice(&next.values[skip.min(next.values.len())..]);
        self.tail = next.tail.or(self.tail);
        self.row = next.row.or(self.row.take());
    }

    /// Takes out the first `n` runs (all of them when there are fewer), as a table of their own.
    pub(crate) fn split_front(&mut self, n: usize) -> Runs<T> {
        let n = n.min(self.len());
        let front = Runs {
            lead: self.lead.clone(),
            row_cells: self.row_cells,
            index: self.index.iter_mut().map(|c| c.split_front(n)).collect(),
            lengths: self.lengths.split_front(n),
            values: self.values.drain(..n).collect(),
            tail: None,
            row: None,
        };
        if self.values.is_empty() {
            // Nothing is left to continue: the next runs start afresh.
            self.tail = None;
        }
        front
    }

    /// The number of columns: the index columns, `length` and `value`.
    pub(crate) fn columns(&self) -> usize {
        self.index.len() + 2
    }

    /// The stored type of each column but `value`.
    pub(crate) fn index_dtypes(&self) -> Vec<DType> {
        self.index
            .iter()
            .chain([&self.lengths])
            .map(Coords::dtype)
            .collect()
    }

    /// Column `c` (index columns, then `length`, then `value` narrowed by `n`) for the runs
    /// `rows`.
    pub(crate) fn column(&self, c: usize, rows: Range<usize>, n: &Narrowing) -> ArrayRef {
        match self.index.get(c) {
            Some(coords) => coords.slice_to_arrow(rows),
            None if c == self.index.len() => self.lengths.slice_to_arrow(rows),
            None => narrow(&self.values[rows], n),
        }
    }

    /// Every column of the runs, with its stored type, the values narrowed by `n` (the table
    /// to measure).
    pub(crate) fn sample_columns(&self, n: &Narrowing) -> Vec<(ArrayRef, DType)> {
        let dtypes = self.index_dtypes();
        (0..self.columns())
            .map(|c| {
                let column = self.column(c, 0..self.len(), n);
                (column, dtypes.get(c).copied().unwrap_or(n.stored))
            })
            .collect()
    }
}

/// The runs of every cell of an array as consecutive tables of `group` runs each (the last may
/// hold fewer), found a slab of cells at a time: the runs held at once are at most a group and
/// a slab's, whatever the size of the array.
pub(crate) struct RunGroups<'a, T> {
    view: &'a dyn Cells<T>,
    group: usize,
    slab: usize,
    chunk: usize,
    /// The first cell whose runs are not yet found.
    next: usize,
    /// Runs found and not yet handed out; the last may continue into the next slab.
    pending: Runs<T>,
}

impl<'a, T: Element> RunGroups<'a, T> {
    /// The runs of `view` in tables of `group` runs, found `slab` cells at a time, walked
    /// `chunk` cells at a time.
    pub(crate) fn new(view: &'a dyn Cells<T>, group: usize, slab: usize, chunk: usize) -> Self {
        RunGroups {
            view,
            group: group.max(1),
            slab: slab.max(1),
            chunk,
            next: 0,
            pending: Runs::new(view.shape()),
        }
    }
}

impl<T: Element> Iterator for RunGroups<'_, T> {
    type Item = Result<Runs<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let cells = self.view.cells();
        // A group is handed out only while runs remain after it: the last run found may go
        // on in the next slab.
        while self.pending.len() <= self.group && self.next < cells {
            let range = self.next..self.next + self.slab.min(cells - self.next);
            let at = range.start;
            self.next = range.end;
            match Runs::of_cells_in(self.view, range, self.chunk) {
                Ok(slab) => self.pending.append(slab, at),
                Err(e) => {
                    self.next = cells;
                    self.pending = Runs::new(self.view.shape());
                    return Some(Err(e));
                }
            }
        }
        (self.pending.len() > 0).then(|| Ok(self.pending.split_front(self.group)))
    }
}

/// The coordinates of row `row` (a flat index over the axes but the last) in `lead`.
fn unravel(mut row: usize, lead: &[usize]) -> Vec<u64> {
    let mut coords = vec![0u64; lead.len()];
    for (c, &len) in coords.iter_mut().zip(lead).rev() {
        *c = (row % len.max(1)) as u64; // below an axis length, fits
        row /= len.max(1);
    }
    coords
}

/// Expands a run table, batch by batch, into the cells of the array in C order, checking that
/// the runs cover every cell once.
pub(crate) struct Expander<T> {
    lead: Vec<usize>,
    row_cells: usize,
    cells: usize,
    /// The cells expanded and not yet drained.
    out: Vec<T>,
    /// The cells expanded, drained or not.
    pos: usize,
    runs: u64,
    /// The row of the last run and its coordinates.
    row: Option<(usize, Vec<u64>)>,
}

impl<T: Element> Expander<T> {
    /// An expander into the `shape` array, whose cells the caller has checked fit in memory;
    /// with `whole`, room for every cell is reserved up front (else the caller drains the cells
    /// batch by batch).
    pub(crate) fn new(shape: &[usize], whole: bool) -> Result<Self> {
        let cells: usize = shape.iter().product();
        let mut out = Vec::new();
        if whole {
            out.try_reserve_exact(cells).map_err(|e| Error::BadShape {
                shape: shape.iter().map(|&d| d as u64).collect(), // usize fits in u64
                problem: format!("cannot allocate the array: {e}"),
            })?;
        }
        Ok(Expander {
            lead: shape[..shape.len().saturating_sub(1)].to_vec(),
            row_cells: row_cells(shape),
            cells,
            out,
            pos: 0,
            runs: 0,
            row: None,
        })
    }

    /// The cells expanded since the last drain.
    pub(crate) fn expanded(&self) -> &[T] {
        &self.out
    }

    /// Hands the cells expanded since the last drain to `f`, and forgets them.
    pub(crate) fn drain(&mut self, f: impl FnOnce(&[T]) -> Result<()>) -> Result<()> {
        f(&self.out)?;
        self.out.clear();
        Ok(())
    }

    /// Expands the runs of one batch: their index columns (by axis), lengths and values.
    pub(crate) fn push(&mut self, index: &[&dyn Array], lengths: &dyn Array, values: &[T]) -> Result<()> {
        let unsigned = |name: &str, a: &dyn Array| -> Result<ArrayRef> {
            if a.null_count() > 0 {
                return Err(Error::CorruptData(format!(
                    "column '{name}' holds {} nulls; arrstore columns have none",
                    a.null_count()
                )));
            }
            Ok(arrow::compute::cast(a, &DataType::UInt64)?)
        };
        let index: Vec<ArrayRef> = index
            .iter()
            .enumerate()
            .map(|(axis, a)| unsigned(&format!("index of axis {axis}"), *a))
            .collect::<Result<_>>()?;
        let lengths = unsigned(LENGTH_COLUMN, lengths)?;
        let lengths = lengths.as_primitive::<UInt64Type>().values();
        let index: Vec<&[u64]> = index
            .iter()
            .map(|a| &a.as_primitive::<UInt64Type>().values()[..])
            .collect();
        if lengths.len() != values.len() || index.iter().any(|c| c.len() != values.len()) {
            return Err(Error::CorruptData("the run columns differ in length".into()));
        }
        let row_cells = self.row_cells.max(1);
        for (i, (&len, &v)) in lengths.iter().zip(values).enumerate() {
            let pos = self.pos;
            let run = self.runs;
            if pos >= self.cells {
                return Err(Error::CorruptData(format!(
                    "run {run} starts after the last of the {} cells",
                    self.cells
                )));
            }
            let (row, col) = (pos / row_cells, pos % row_cells);
            if self.row.as_ref().is_none_or(|(r, _)| *r != row) {
                self.row = Some((row, unravel(row, &self.lead)));
            }
            if let Some((_, coords)) = &self.row {
                for (axis, (c, &want)) in index.iter().zip(coords).enumerate() {
                    if c[i] != want {
                        return Err(Error::CorruptData(format!(
                            "run {run} has coordinate {} on axis {axis}; the runs before it end in the row at {want}",
                            c[i]
                        )));
                    }
                }
            }
            let fits = usize::try_from(len).is_ok_and(|l| l >= 1 && l <= row_cells - col);
            if !fits {
                return Err(Error::CorruptData(format!(
                    "run {run} has length {len}; its row has {} cells from its start (cell {col} of {row_cells})",
                    row_cells - col
                )));
            }
            let len = len as usize; // fits: checked above
            self.out.resize(self.out.len() + len, v);
            self.pos += len;
            self.runs += 1;
        }
        Ok(())
    }

    /// The cells not drained, once every run is expanded.
    pub(crate) fn finish(self) -> Result<Vec<T>> {
        if self.pos != self.cells {
            return Err(Error::CorruptData(format!(
                "{} runs cover {} cells; the shape has {}",
                self.runs, self.pos, self.cells
            )));
        }
        Ok(self.out)
    }
}

/// Writes the runs table of `view` (`total` runs along the last axis, counted beforehand),
/// its values narrowed by `n`: each column's encoding measured on a sample of whole rows'
/// runs, then the runs found a slab of cells at a time as the row groups are encoded. `meta`
/// is the array's self-description without columns; `value_meta` gives the value column's.
pub(crate) fn write_runs<W: Write + Send, T: Element>(
    writer: W,
    view: &dyn Cells<T>,
    total: usize,
    dense_n: &Narrowing,
    mut meta: ArrayMeta,
    value_meta: &dyn Fn(ColumnEncoding) -> ColumnMeta,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    let compression = opts.compression();
    let rg = opts.row_group_size();
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
    let choices = encode::choose_columns(&sample.sample_columns(dense_n), compression, rg)?;
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
            axis,
            encoding: Some(choice.best.name().into()),
            ..ColumnMeta::new(&name, role, stored_type, 0)
        })
        .collect();
    let value_choice = choices.last().expect("a choice for the value column");
    columns.push(value_meta(value_choice.best));
    meta.columns = columns;
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
    let written = table.write_groups_of(groups, Runs::len, |c, g| Ok(g.column(c, 0..g.len(), dense_n)))?;
    if written != total {
        return Err(Error::Io(std::io::Error::other(format!(
            "the input changed while it was written: {total} runs counted, then {written} found"
        ))));
    }
    table.finish(meta)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_of(shape: &[usize], cells: &[i32], chunk: usize) -> Runs<i32> {
        let mut runs = Runs::new(shape);
        for (k, c) in cells.chunks(chunk).enumerate() {
            runs.push(k * chunk, c);
        }
        runs
    }

    fn table(r: &Runs<i32>) -> (Vec<Vec<u64>>, Vec<u64>, Vec<i32>) {
        let get = |c: &Coords| (0..c.len()).map(|i| c.get(i)).collect::<Vec<_>>();
        (
            r.index.iter().map(get).collect(),
            get(&r.lengths),
            r.values.clone(),
        )
    }

    #[test]
    fn rows_are_cut_into_maximal_runs_whatever_the_chunks() {
        let cells = [1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 1];
        let want = (
            vec![vec![0, 0, 1, 1, 2, 2]],
            vec![2, 2, 3, 1, 3, 1],
            vec![1, 2, 2, 3, 3, 1],
        );
        for chunk in 1..=12 {
            let r = runs_of(&[3, 4], &cells, chunk);
            assert_eq!(table(&r), want, "chunk {chunk}");
            let mut count = RunCount::new(4);
            for (k, c) in cells.chunks(chunk).enumerate() {
                count.push(k * chunk, c);
            }
            assert_eq!(count.runs(), 6, "chunk {chunk}");
        }
    }

    #[test]
    fn parts_join_where_a_run_crosses_them() {
        let cells: Vec<i32> = (0..60).map(|i| (i / 7) % 3).collect();
        let whole = runs_of(&[5, 12], &cells, 60);
        for cut in 0..=60 {
            let mut a = runs_of(&[5, 12], &cells[..cut], 60);
            let mut b = Runs::new(&[5, 12]);
            b.push(cut, &cells[cut..]);
            a.append(b, cut);
            assert_eq!(table(&a), table(&whole), "cut at {cut}");
            let (mut ca, mut cb) = (RunCount::new(12), RunCount::new(12));
            ca.push(0, &cells[..cut]);
            cb.push(cut, &cells[cut..]);
            ca.merge(&cb);
            assert_eq!(ca.runs(), whole.len(), "cut at {cut}");
        }
    }

    #[test]
    fn groups_found_slab_by_slab_are_the_whole_table_cut_in_groups() {
        // Rows of 12 cells (2-D) and one row of all cells (1-D): slabs cut rows and runs.
        let cells: Vec<i32> = (0..120).map(|i| (i / 5 + i / 17) % 4).collect();
        for shape in [vec![10, 12], vec![120]] {
            let view = ndarray::ArrayViewD::from_shape(shape.clone(), &cells).unwrap();
            let whole = runs_of(&shape, &cells, 120);
            for (group, slab, chunk) in [(1, 1, 1), (7, 13, 4), (5, 120, 64), (1000, 9, 2), (3, 50, 7)] {
                let groups: Vec<Runs<i32>> = RunGroups::new(&view, group, slab, chunk)
                    .collect::<Result<_>>()
                    .unwrap();
                let sizes: Vec<usize> = groups.iter().map(Runs::len).collect();
                let want: Vec<usize> = (0..whole.len())
                    .step_by(group)
                    .map(|s| group.min(whole.len() - s))
                    .collect();
                assert_eq!(sizes, want, "{shape:?} group {group} slab {slab}");
                let mut joined = (vec![Vec::new(); shape.len() - 1], Vec::new(), Vec::new());
                for g in &groups {
                    let (index, lengths, values) = table(g);
                    for (j, i) in joined.0.iter_mut().zip(index) {
                        j.extend(i);
                    }
                    joined.1.extend(lengths);
                    joined.2.extend(values);
                }
                assert_eq!(
                    joined,
                    table(&whole),
                    "{shape:?} group {group} slab {slab} chunk {chunk}"
                );
            }
        }
    }

    #[test]
    fn samples_of_whole_rows_are_runs_of_the_table() {
        let cells: Vec<i32> = (0..4000).map(|i| ((i % 40) / 9 + i / 400) % 3).collect();
        let view = ndarray::ArrayViewD::from_shape(vec![100, 40], &cells).unwrap();
        let whole = runs_of(&[100, 40], &cells, 4000);
        let sample = Runs::sample_of_cells(&view, whole.len(), 160, 64).unwrap();
        // Stretches of whole rows: each row's runs as in the table, lengths adding up to rows.
        let lengths: u64 = table(&sample).1.iter().sum();
        assert_eq!(lengths % 40, 0);
        assert!((100..=400).contains(&sample.len()), "{} runs", sample.len());
        let rows = table(&sample).0.remove(0);
        let (whole_rows, whole_lengths, _) = table(&whole);
        for (k, &row) in rows.iter().enumerate() {
            let first = whole_rows[0].iter().position(|&r| r == row).unwrap();
            let before = rows[..k].iter().filter(|&&r| r == row).count();
            assert_eq!(table(&sample).1[k], whole_lengths[first + before]);
        }
        // A 1-D array is sampled in stretches of cells.
        let view = ndarray::ArrayViewD::from_shape(vec![4000], &cells).unwrap();
        let sample = Runs::sample_of_cells(&view, 500, 50, 64).unwrap();
        assert!((16..=200).contains(&sample.len()), "{} runs", sample.len());
    }

    #[test]
    fn bits_decide_runs() {
        let cells = [
            0.0f64,
            -0.0,
            f64::NAN,
            f64::from_bits(0x7ff8_0000_0000_0001),
            1.0,
            1.0,
        ];
        let mut r = Runs::new(&[6]);
        r.push(0, &cells);
        assert_eq!(r.len(), 5);
    }

    #[test]
    fn expander_rebuilds_and_rejects_bad_tables() {
        let cells = [1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 1];
        let r = runs_of(&[3, 4], &cells, 5);
        let n = Narrowing::identity(DType::I32);
        let cols: Vec<ArrayRef> = (0..3).map(|c| r.column(c, 0..r.len(), &n)).collect();
        let expand = |row: &dyn Array, len: &dyn Array, vals: &[i32]| -> Result<Vec<i32>> {
            let mut e = Expander::new(&[3, 4], true)?;
            e.push(&[row], len, vals)?;
            e.finish()
        };
        assert_eq!(expand(&cols[0], &cols[1], &r.values).unwrap(), cells);
        let u8s = |v: &[u8]| arrow::array::UInt8Array::from(v.to_vec());
        let e = expand(&u8s(&[0, 0, 1]), &u8s(&[2, 2, 5]), &[1, 2, 3]).unwrap_err();
        assert!(e.to_string().contains("run 2 has length 5"), "{e}");
        let e = expand(&u8s(&[0, 1]), &u8s(&[2, 4]), &[1, 2]).unwrap_err();
        assert!(e.to_string().contains("run 1 has coordinate 1 on axis 0"), "{e}");
        let e = expand(&u8s(&[0, 0]), &u8s(&[2, 0]), &[1, 2]).unwrap_err();
        assert!(e.to_string().contains("run 1 has length 0"), "{e}");
        let e = expand(&u8s(&[0, 0]), &u8s(&[2, 2]), &[1, 2]).unwrap_err();
        assert!(
            e.to_string().contains("2 runs cover 4 cells; the shape has 12"),
            "{e}"
        );
    }

    #[test]
    fn zero_d_and_empty_arrays() {
        let mut r = Runs::new(&[]);
        r.push(0, &[7]);
        assert_eq!((r.len(), r.lengths.get(0), r.columns()), (1, 1, 2));
        let r = Runs::<i32>::new(&[4, 0]);
        assert_eq!(r.len(), 0);
        assert!(Expander::<i32>::new(&[4, 0], true)
            .unwrap()
            .finish()
            .unwrap()
            .is_empty());
    }
}
