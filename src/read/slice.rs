//! Slice reads ([`ArrayFile::read_slice`] and kin): the cells a [`Selection`] takes, read
//! without reading the array.
//!
//! A dense file's cell is a row, at its place in C order, so a slice is a set of *lines*: runs
//! of cells along the last axis, each a first row,
//! a row step and a count. Only the row groups the lines touch are read, and in them only the
//! rows the lines cover (a Parquet row selection: with the offset index, pages holding none of
//! them are neither read nor decoded). A transformed column (format 2.0) is decoded from the
//! first row of each row group it touches, where its prediction restarts, so those row groups
//! are read whole. Bytes read are checked against their blocks' checksums; the content hash
//! covers the whole array, so a slice read does not check it (`verify` does).
//!
//! Sparse and runs files read the row groups whose index columns' statistics meet the slice on
//! every axis, and a sparse file in them only the pages whose column index (each page's min
//! and max) meets it: its entries in the slice are placed on the fill value (never densifying
//! the whole array). A runs file's rows are laid out from their runs and the cells the slice
//! takes placed (its row groups are read whole: a row's first run fixes where the next begin).

use arrow::array::AsArray;
use ndarray::{ArrayD, Dimension, IxDyn, SliceInfo, SliceInfoElem};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use parquet::file::reader::ChunkReader;

use super::{column, decoded, narrowed_fill, push_coordinates, ArrayFile, Narrowed, ValueReader, BATCH_ROWS};
use crate::contain::contain;
use crate::dtype::Element;
use crate::dynarray::DynArray;
use crate::error::{Error, Result, ResultExt};
use crate::meta::StoredLayout;
use crate::narrow::Narrowing;
use crate::slice::{AxisSelection, Selection};
use crate::with_dtype;

/// Rows between two selected runs of a row group below which they are read as one: decoding a
/// few rows costs less than a selector and the reader's skip.
const MERGE_GAP_ROWS: u64 = 1024;

impl<R: ChunkReader + 'static> ArrayFile<R> {
    /// The slice `text`, in NumPy's basic slicing syntax (see [`Selection::parse`]), of this
    /// file's array; an error names the file.
    pub fn selection(&self, text: &str) -> Result<Selection> {
        Selection::parse(text, &self.meta.shape).in_file(self.path.as_deref())
    }

    /// Reads the cells ndarray's `s![..]` takes, with the dtype and rank the caller names: the
    /// same array as reading the whole and slicing it with `info`, reading only the row groups
    /// and pages that hold them (see the module docs). Errors where the dtype or rank differ
    /// from the file's, or the slice does not fit the shape (where ndarray would panic).
    ///
    /// ```
    /// use arrstore::{write_array_to, ArrayFile, WriteOptions};
    /// use ndarray::s;
    /// let a = ndarray::Array3::<i32>::from_shape_fn((40, 30, 8), |(i, j, k)| (i * 1000 + j * 10 + k) as i32);
    /// let mut file = Vec::new();
    /// write_array_to(&mut file, &a, &WriteOptions::default())?;
    /// let f = ArrayFile::new(bytes::Bytes::from(file))?;
    /// let part: ndarray::Array2<i32> = f.read_slice(s![10..20;3, .., 5])?;
    /// assert_eq!(part, a.slice(s![10..20;3, .., 5]));
    /// # Ok::<(), arrstore::Error>(())
    /// ```
    pub fn read_slice<T, I, Din, Dout>(self, info: SliceInfo<I, Din, Dout>) -> Result<ndarray::Array<T, Dout>>
    where
        T: Element,
        I: AsRef<[SliceInfoElem]>,
        Din: Dimension,
        Dout: Dimension,
    {
        let path = self.path.clone();
        self.check_dtype::<T>()?;
        let ndim = self.meta.shape.len();
        if let Some(expected) = Din::NDIM.filter(|&d| d != ndim) {
            return Err(Error::WrongNdim {
                expected,
                found: ndim,
            }
            .in_file(path.as_deref()));
        }
        let sel = Selection::from_ndarray(info.as_ref(), &self.meta.shape).in_file(path.as_deref())?;
        let n = self.meta.value_column().narrowing();
        let a = self.read_selection_with::<T>(&sel, &n, false)?;
        let found = a.ndim();
        a.into_dimensionality::<Dout>().map_err(|_| {
            Error::WrongNdim {
                expected: Dout::NDIM.unwrap_or(found),
                found,
            }
            .in_file(path.as_deref())
        })
    }

    /// Reads the cells `sel` takes (see [`ArrayFile::selection`]) with the file's dtype, in C
    /// order: what NumPy's slicing of the whole array gives.
    ///
    /// ```
    /// use arrstore::{write_array_to, ArrayFile, DynArray, WriteOptions};
    /// let a = ndarray::Array2::<f64>::from_shape_fn((50, 20), |(i, j)| i as f64 - j as f64 / 4.0);
    /// let mut file = Vec::new();
    /// write_array_to(&mut file, &a, &WriteOptions::default())?;
    /// let f = ArrayFile::new(bytes::Bytes::from(file))?;
    /// let sel = f.selection("-5:, ::-7")?;
    /// let part = f.read_selection(&sel)?;
    /// assert_eq!(part, DynArray::from(a.slice(ndarray::s![-5.., ..;-7]).to_owned().into_dyn()));
    /// # Ok::<(), arrstore::Error>(())
    /// ```
    pub fn read_selection(self, sel: &Selection) -> Result<DynArray> {
        let n = self.meta.value_column().narrowing();
        with_dtype!(self.meta.dtype, T => self.read_selection_with::<T>(sel, &n, false).map(DynArray::from))
    }

    /// [`ArrayFile::read_slice`] in the stored, narrowed type (as [`ArrayFile::read_narrowed`]):
    /// ndarray's `s![..]`, any dtype; [`Narrowed::widen`] gives the slice of the original.
    ///
    /// ```
    /// use arrstore::{write_array_to, ArrayFile, DynArray, WriteOptions};
    /// let counts = ndarray::Array2::<i64>::from_shape_fn((300, 40), |(i, j)| ((i * 40 + j) % 60_000) as i64);
    /// let mut file = Vec::new();
    /// write_array_to(&mut file, &counts, &WriteOptions::default())?;
    /// let part = ArrayFile::new(bytes::Bytes::from(file))?.read_slice_narrowed(ndarray::s![100..110, ..;2])?;
    /// assert_eq!(part.array.dtype(), arrstore::DType::U16);
    /// let want = counts.slice(ndarray::s![100..110, ..;2]).to_owned().into_dyn();
    /// assert_eq!(part.widen()?, DynArray::from(want));
    /// # Ok::<(), arrstore::Error>(())
    /// ```
    pub fn read_slice_narrowed<I, Din, Dout>(self, info: SliceInfo<I, Din, Dout>) -> Result<Narrowed>
    where
        I: AsRef<[SliceInfoElem]>,
        Din: Dimension,
        Dout: Dimension,
    {
        let ndim = self.meta.shape.len();
        if let Some(expected) = Din::NDIM.filter(|&d| d != ndim) {
            return Err(Error::WrongNdim {
                expected,
                found: ndim,
            }
            .in_file(self.path.as_deref()));
        }
        let sel = Selection::from_ndarray(info.as_ref(), &self.meta.shape).in_file(self.path.as_deref())?;
        self.read_selection_narrowed(&sel)
    }

    /// [`ArrayFile::read_selection`] in the stored, narrowed type (as
    /// [`ArrayFile::read_narrowed`]).
    pub fn read_selection_narrowed(self, sel: &Selection) -> Result<Narrowed> {
        let n = self.meta.value_column().narrowing();
        let dtype = self.meta.dtype;
        let array = with_dtype!(n.stored, S => {
            self.read_selection_with::<S>(sel, &Narrowing::identity(S::DTYPE), true).map(DynArray::from)
        })?;
        Ok(Narrowed {
            array,
            offset: n.offset,
            scale: n.scale,
            dtype,
        })
    }

    /// The cells `sel` takes, widened by `n` (the identity for a `narrowed` read, whose cells
    /// are the stored values).
    pub(crate) fn read_selection_with<T: Element>(
        self,
        sel: &Selection,
        n: &Narrowing,
        narrowed: bool,
    ) -> Result<ArrayD<T>> {
        let path = self.path.clone();
        if sel.axes().len() != self.meta.shape.len()
            || sel
                .axes()
                .iter()
                .zip(&self.meta.shape)
                .any(|(a, &len)| a.bounds().is_some_and(|(_, hi)| hi >= len))
        {
            return Err(Error::BadSlice(format!(
                "{sel:?} was resolved for another shape than {:?}",
                self.meta.shape
            ))
            .in_file(path.as_deref()));
        }
        let shape = sel.shape();
        let cells = usize::try_from(sel.cells()).map_err(|_| {
            Error::BadShape {
                shape: shape.iter().map(|&l| l as u64).collect(), // usize fits in u64
                problem: "more cells than this machine can address".into(),
            }
            .in_file(path.as_deref())
        })?;
        let values: Vec<T> = match self.meta.layout {
            StoredLayout::Dense => self.dense_selection::<T>(sel, n, cells)?,
            StoredLayout::Sparse => {
                let fill = if narrowed {
                    // The fill in the stored type.
                    let fill = self.fill_scalar()?;
                    narrowed_fill(fill, &self.meta.value_column().narrowing())
                        .to_element::<T>()
                        .ok_or_else(|| {
                            Error::CorruptData(format!(
                                "the fill value {fill} has no {} form; read the original dtype instead",
                                T::DTYPE
                            ))
                            .in_file(path.as_deref())
                        })?
                } else {
                    self.fill_scalar()?.to_element::<T>().unwrap_or_default()
                };
                self.sparse_selection::<T>(sel, n, fill, cells)?
            }
            StoredLayout::Runs => self.runs_selection::<T>(sel, n, cells)?,
        };
        ArrayD::from_shape_vec(IxDyn(&shape), values).map_err(|e| {
            Error::BadShape {
                shape: shape.iter().map(|&l| l as u64).collect(), // usize fits in u64
                problem: e.to_string(),
            }
            .in_file(path.as_deref())
        })
    }

    /// The cells of a dense file that `sel` takes, in C order of the result (see the module
    /// docs).
    fn dense_selection<T: Element>(self, sel: &Selection, n: &Narrowing, cells: usize) -> Result<Vec<T>> {
        let path = self.path.clone();
        let mut out: Vec<T> = Vec::new();
        out.try_reserve_exact(cells).map_err(|e| {
            Error::BadShape {
                shape: self.meta.shape.clone(),
                problem: format!("cannot allocate the slice of {cells} cells: {e}"),
            }
            .in_file(path.as_deref())
        })?;
        out.resize(cells, T::default());
        if cells == 0 {
            return Ok(out);
        }
        let value = self.meta.value_column().clone();
        let transformed = value.transform.is_some();
        let metadata = self.parquet.metadata().clone();
        let mut lines = Lines::new(sel, &self.meta.shape).peekable();
        let mut placed = 0usize;
        let mut group_start = 0u64;
        let mut go = || -> Result<()> {
            for (g, rg) in metadata.row_groups().iter().enumerate() {
                let rows = u64::try_from(rg.num_rows())
                    .map_err(|_| Error::CorruptData(format!("row group {g} has {} rows", rg.num_rows())))?;
                let (start, end) = (group_start, group_start.saturating_add(rows));
                group_start = end;
                // The lines with a cell in this row group; one that goes on past it stays for the
                // next.
                let mut here = Vec::new();
                while let Some(l) = lines.peek().copied() {
                    if l.row0 >= end {
                        break;
                    }
                    if l.last() >= start {
                        here.push(l);
                    }
                    if l.last() >= end {
                        break;
                    }
                    lines.next();
                }
                if here.is_empty() {
                    continue;
                }
                // The rows read: the whole row group for a transformed column, else the lines'
                // spans, close ones merged.
                let mut spans: Vec<(u64, u64)> = Vec::new();
                if transformed {
                    spans.push((start, end));
                } else {
                    for l in &here {
                        let (a, b) = (l.row0.max(start), (l.last() + 1).min(end));
                        match spans.last_mut() {
                            Some(last) if a <= last.1.saturating_add(MERGE_GAP_ROWS) => {
                                last.1 = last.1.max(b)
                            }
                            _ => spans.push((a, b)),
                        }
                    }
                }
                let mut selectors = Vec::with_capacity(2 * spans.len() + 1);
                let mut at = start;
                for &(a, b) in &spans {
                    if a > at {
                        selectors.push(RowSelector::skip(usize::try_from(a - at).unwrap_or(usize::MAX)));
                    }
                    selectors.push(RowSelector::select(usize::try_from(b - a).unwrap_or(usize::MAX)));
                    at = b;
                }
                let checked = self.reader.clone();
                let reader = contain(|| {
                    ParquetRecordBatchReaderBuilder::new_with_metadata(checked.clone(), self.parquet.clone())
                        .with_batch_size(BATCH_ROWS)
                        .with_row_groups(vec![g])
                        .with_row_selection(RowSelection::from(selectors))
                        .build()
                        .map_err(|e| checked.explain(e.into()))
                })?;
                let mut value_reader = ValueReader::new(&value, &metadata, g)?;
                // Walks the rows read in order, placing those on a line.
                let mut span = 0usize;
                let mut row = spans[0].0;
                let mut line = 0usize;
                let mut buf: Vec<T> = Vec::new();
                for batch in decoded(reader, self.reader.clone()) {
                    let batch = batch?;
                    buf.clear();
                    value_reader.widen(column(&batch, "value")?, n, &mut buf)?;
                    for &v in &buf {
                        if span == spans.len() {
                            return Err(Error::CorruptData(format!(
                                "row group {g} gave more rows than the {rows} it has"
                            )));
                        }
                        while line < here.len() && here[line].last() < row {
                            line += 1;
                        }
                        if let Some(l) = here.get(line).filter(|l| l.row0 <= row) {
                            let d = row - l.row0;
                            if d.is_multiple_of(l.stride) {
                                let at = l.out_at(d / l.stride);
                                out[at] = v;
                                placed += 1;
                            }
                        }
                        row += 1;
                        if row == spans[span].1 {
                            span += 1;
                            if let Some(&(a, _)) = spans.get(span) {
                                row = a;
                            }
                        }
                    }
                }
                if span != spans.len() {
                    return Err(Error::CorruptData(format!(
                        "row group {g} ended at row {row}, before the rows the slice needs"
                    )));
                }
            }
            Ok(())
        };
        go().in_file(path.as_deref())?;
        if placed != cells {
            return Err(Error::CorruptData(format!(
                "the file's rows gave {placed} of the slice's {cells} cells"
            ))
            .in_file(path.as_deref()));
        }
        Ok(out)
    }
}

impl<R: ChunkReader + 'static> ArrayFile<R> {
    /// The cells of a sparse file that `sel` takes, in C order of the result: the entries of
    /// the row groups whose coordinates' statistics (min and max of each index column, in the
    /// checksummed footer) meet the slice on every axis, those in the slice placed on `fill`.
    fn sparse_selection<T: Element>(
        self,
        sel: &Selection,
        n: &Narrowing,
        fill: T,
        cells: usize,
    ) -> Result<Vec<T>> {
        let path = self.path.clone();
        let mut out = vec![fill; cells];
        if cells == 0 {
            return Ok(out);
        }
        let (index, groups) = self.groups_meeting(sel).in_file(path.as_deref())?;
        if groups.is_empty() {
            return Ok(out);
        }
        let shape = self.meta.shape.clone();
        let sorted_by = self.meta.sorted_by();
        let strides = out_strides(sel);
        let checked = self.reader.clone();
        let mut go = || -> Result<()> {
            // The footer again with the column index (each page's min and max), read through
            // the checked reader: within the row groups, only the pages whose coordinates meet
            // the slice on every axis are read.
            let options = parquet::arrow::arrow_reader::ArrowReaderOptions::new()
                .with_skip_arrow_metadata(true)
                .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Optional);
            let paged = contain(|| {
                parquet::arrow::arrow_reader::ArrowReaderMetadata::load(&checked, options)
                    .map_err(|e| checked.explain(e.into()))
            })?;
            let selection = pages_meeting(paged.metadata(), &groups, &index_positions(&paged, &index)?, sel);
            let reader = contain(|| {
                ParquetRecordBatchReaderBuilder::new_with_metadata(checked.clone(), paged.clone())
                    .with_batch_size(BATCH_ROWS)
                    .with_row_groups(groups.clone())
                    .with_row_selection(selection.clone())
                    .build()
                    .map_err(|e| checked.explain(e.into()))
            })?;
            let mut coords: Vec<crate::coords::Coords> = shape
                .iter()
                .map(|&len| crate::coords::Coords::for_axis(len, 0))
                .collect();
            let mut values: Vec<T> = Vec::new();
            for batch in decoded(reader, self.reader.clone()) {
                let batch = batch?;
                for (axis, c) in index.iter().enumerate() {
                    push_coordinates(&batch, c, axis, shape[axis], &mut coords[axis])?;
                }
                crate::narrow::widen(column(&batch, "value")?, n, &mut values)?;
            }
            // The entries read are in the file's order, without repeats, as a whole read checks.
            crate::entry_order::check_sorted_by(&coords, &sorted_by)?;
            for (e, &v) in values.iter().enumerate() {
                if let Some(at) = position_in(sel, coords.iter().map(|c| c.get(e)), &strides) {
                    out[at] = v;
                }
            }
            Ok(())
        };
        go().in_file(path.as_deref())?;
        Ok(out)
    }
}

impl<R: ChunkReader + 'static> ArrayFile<R> {
    /// The index columns of a sparse or runs file (in axis order), and the row groups whose
    /// statistics of each (min and max, in the checksummed footer) meet what `sel` takes of
    /// its axis: the others hold no entry or run of the slice.
    fn groups_meeting(&self, sel: &Selection) -> Result<(Vec<crate::meta::ColumnMeta>, Vec<usize>)> {
        let metadata = self.parquet.metadata();
        let schema = metadata.file_metadata().schema_descr();
        let index: Vec<crate::meta::ColumnMeta> = self.meta.index_columns().into_iter().cloned().collect();
        let mut positions = Vec::with_capacity(index.len());
        for c in &index {
            let at = (0..schema.num_columns())
                .find(|&i| schema.column(i).name() == c.name)
                .ok_or_else(|| Error::CorruptData(format!("no index column '{}'", c.name)))?;
            positions.push(at);
        }
        let Some(bounds) = sel
            .axes()
            .iter()
            .map(AxisSelection::bounds)
            .collect::<Option<Vec<_>>>()
        else {
            return Ok((index, Vec::new()));
        };
        let groups = (0..metadata.num_row_groups())
            .filter(|&g| {
                let rg = metadata.row_group(g);
                positions
                    .iter()
                    .zip(&bounds)
                    .all(|(&i, &(lo, hi))| match statistics_bounds(rg.column(i)) {
                        Some((min, max)) => min <= hi && max >= lo,
                        None => true,
                    })
            })
            .collect();
        Ok((index, groups))
    }

    /// The cells of a runs file that `sel` takes, in C order of the result: the runs of the
    /// row groups that meet the slice ([`ArrayFile::groups_meeting`]; a row cut between two row
    /// groups is in both, so each row the slice takes is read from its first run), each row's
    /// runs laid end to end and the cells the slice takes placed.
    fn runs_selection<T: Element>(self, sel: &Selection, n: &Narrowing, cells: usize) -> Result<Vec<T>> {
        use arrow::datatypes::{DataType, UInt64Type};
        let path = self.path.clone();
        let mut out: Vec<T> = vec![T::default(); cells];
        if cells == 0 {
            return Ok(out);
        }
        let (index, groups) = self.groups_meeting(sel).in_file(path.as_deref())?;
        let shape = self.meta.shape.clone();
        let strides = out_strides(sel);
        let last = sel.axes().last().copied().unwrap_or(AxisSelection::all(1));
        let last_len = shape.last().copied().unwrap_or(1);
        let last_stride = strides.last().copied().unwrap_or(1);
        let length = self
            .meta
            .runs_length_column()
            .in_file(path.as_deref())?
            .name
            .clone();
        let checked = self.reader.clone();
        let mut placed = 0usize;
        let mut go = || -> Result<()> {
            if groups.is_empty() {
                return Ok(());
            }
            let reader = contain(|| {
                ParquetRecordBatchReaderBuilder::new_with_metadata(checked.clone(), self.parquet.clone())
                    .with_batch_size(BATCH_ROWS)
                    .with_row_groups(groups.clone())
                    .build()
                    .map_err(|e| checked.explain(e.into()))
            })?;
            // The row being laid out: its coordinates, where its next run starts, and where its
            // first cell the slice takes goes (`None`: a row the slice does not take).
            let mut row: Option<Vec<u64>> = None;
            let (mut at, mut base): (u64, Option<u64>) = (0, None);
            let finish = |row: &Option<Vec<u64>>, at: u64, base: Option<u64>| -> Result<()> {
                if base.is_some() && at != last_len {
                    return Err(Error::CorruptData(format!(
                        "the runs of row {:?} cover {at} cells of its {last_len}",
                        row.as_deref().unwrap_or_default()
                    )));
                }
                Ok(())
            };
            let mut values: Vec<T> = Vec::new();
            // The coordinates of every run read (so an error counts runs from the first).
            let mut coords: Vec<crate::coords::Coords> = (0..index.len())
                .map(|axis| crate::coords::Coords::for_axis(shape[axis], 0))
                .collect();
            for batch in decoded(reader, self.reader.clone()) {
                let batch = batch?;
                let first = coords.first().map_or(0, crate::coords::Coords::len);
                for (axis, c) in index.iter().enumerate() {
                    push_coordinates(&batch, c, axis, shape[axis], &mut coords[axis])?;
                }
                let lengths = arrow::compute::cast(column(&batch, &length)?, &DataType::UInt64)?;
                let lengths = lengths.as_primitive::<UInt64Type>();
                values.clear();
                crate::narrow::widen(column(&batch, "value")?, n, &mut values)?;
                for (r, (&len, &v)) in lengths.values().iter().zip(&values).enumerate() {
                    let here: Vec<u64> = coords.iter().map(|c| c.get(first + r)).collect();
                    if row.as_ref() != Some(&here) {
                        finish(&row, at, base)?;
                        at = 0;
                        // Where the slice takes the row: its cell at the last axis' first index
                        // taken (none where a leading coordinate is not taken).
                        let first = here.iter().copied().chain(std::iter::once(last.start));
                        base = position_in(sel, first, &strides).map(|p| p as u64); // usize fits in u64
                        row = Some(here);
                    }
                    if len == 0 || at.saturating_add(len) > last_len {
                        return Err(Error::CorruptData(format!(
                            "a run of {len} cells from cell {at} of a row of {last_len}"
                        )));
                    }
                    if let Some(b) = base {
                        for k in last.taking(at, at + len) {
                            out[usize::try_from(b + k * last_stride).expect("in the result")] = v;
                            placed += 1;
                        }
                    }
                    at += len;
                }
            }
            finish(&row, at, base)
        };
        go().in_file(path.as_deref())?;
        if placed != cells {
            return Err(Error::CorruptData(format!(
                "the file's runs gave {placed} of the slice's {cells} cells"
            ))
            .in_file(path.as_deref()));
        }
        Ok(out)
    }
}

/// The leaf positions of the index columns `index` in the file `paged` describes.
fn index_positions(
    paged: &parquet::arrow::arrow_reader::ArrowReaderMetadata,
    index: &[crate::meta::ColumnMeta],
) -> Result<Vec<usize>> {
    let schema = paged.metadata().file_metadata().schema_descr();
    index
        .iter()
        .map(|c| {
            (0..schema.num_columns())
                .find(|&i| schema.column(i).name() == c.name)
                .ok_or_else(|| Error::CorruptData(format!("no index column '{}'", c.name)))
        })
        .collect()
}

/// The rows of row groups `groups` (in order, as the reader sees them) that may hold an entry
/// `sel` takes: in each, the rows of the pages whose min and max of every index column (at
/// leaf `positions`) meet what `sel` takes of that axis; every row where a column has no
/// column index.
fn pages_meeting(
    metadata: &parquet::file::metadata::ParquetMetaData,
    groups: &[usize],
    positions: &[usize],
    sel: &Selection,
) -> RowSelection {
    use parquet::file::page_index::column_index::ColumnIndexMetaData;
    let mut selectors = Vec::new();
    for &g in groups {
        let rows = u64::try_from(metadata.row_group(g).num_rows()).unwrap_or(0);
        // The rows kept so far, as sorted disjoint ranges; each axis narrows them.
        let mut kept: Vec<(u64, u64)> = vec![(0, rows)];
        for (axis, &i) in positions.iter().enumerate() {
            let Some((lo, hi)) = sel.axes().get(axis).and_then(AxisSelection::bounds) else {
                continue;
            };
            let locations = metadata
                .offset_index()
                .and_then(|o| o.get(g))
                .and_then(|c| c.get(i));
            let pages = metadata
                .column_index()
                .and_then(|c| c.get(g))
                .and_then(|c| c.get(i));
            let (Some(locations), Some(pages)) = (locations, pages) else {
                continue;
            };
            let locations = locations.page_locations();
            let bounds = |p: usize| -> Option<(u64, u64)> {
                match pages {
                    ColumnIndexMetaData::INT32(x) => Some((
                        u64::from(x.min_value(p)?.cast_unsigned()),
                        u64::from(x.max_value(p)?.cast_unsigned()),
                    )),
                    ColumnIndexMetaData::INT64(x) => {
                        Some((x.min_value(p)?.cast_unsigned(), x.max_value(p)?.cast_unsigned()))
                    }
                    _ => None,
                }
            };
            let mut meeting: Vec<(u64, u64)> = Vec::new();
            for (p, loc) in locations.iter().enumerate() {
                let first = u64::try_from(loc.first_row_index).unwrap_or(0);
                let end = locations
                    .get(p + 1)
                    .map_or(rows, |n| u64::try_from(n.first_row_index).unwrap_or(rows));
                // A page without statistics may hold anything.
                if bounds(p).is_none_or(|(min, max)| min <= hi && max >= lo) {
                    match meeting.last_mut() {
                        Some(last) if last.1 == first => last.1 = end,
                        _ => meeting.push((first, end)),
                    }
                }
            }
            kept = intersect(&kept, &meeting);
        }
        let mut at = 0u64;
        for (a, b) in kept {
            if a > at {
                selectors.push(RowSelector::skip(usize::try_from(a - at).unwrap_or(usize::MAX)));
            }
            selectors.push(RowSelector::select(usize::try_from(b - a).unwrap_or(usize::MAX)));
            at = b;
        }
        if rows > at {
            selectors.push(RowSelector::skip(
                usize::try_from(rows - at).unwrap_or(usize::MAX),
            ));
        }
    }
    RowSelection::from(selectors)
}

/// The rows in both of two lists of sorted disjoint ranges.
fn intersect(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (lo, hi) = (a[i].0.max(b[j].0), a[i].1.min(b[j].1));
        if lo < hi {
            out.push((lo, hi));
        }
        if a[i].1 < b[j].1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// The least and the greatest value of an index column chunk (unsigned, physically INT32 or
/// INT64), from its statistics where it has them.
fn statistics_bounds(chunk: &parquet::file::metadata::ColumnChunkMetaData) -> Option<(u64, u64)> {
    use parquet::file::statistics::Statistics;
    match chunk.statistics()? {
        Statistics::Int32(s) => Some((
            u64::from(s.min_opt()?.cast_unsigned()),
            u64::from(s.max_opt()?.cast_unsigned()),
        )),
        Statistics::Int64(s) => Some((s.min_opt()?.cast_unsigned(), s.max_opt()?.cast_unsigned())),
        _ => None,
    }
}

/// A run of a slice's cells along the last axis: `n` rows from `row0` by
/// `stride`, the `k`-th going to `out0 + k * out_step` in the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Line {
    row0: u64,
    stride: u64,
    n: u64,
    out0: u64,
    out_step: i64,
}

impl Line {
    fn last(&self) -> u64 {
        self.row0 + (self.n - 1) * self.stride
    }

    fn out_at(&self, k: u64) -> usize {
        // Within the result: the lines are built from its shape.
        let at = i128::from(self.out0) + i128::from(k) * i128::from(self.out_step);
        usize::try_from(at).expect("a line stays in the result")
    }
}

/// The lines of a selection, in increasing row order (each axis walked in the direction of
/// increasing index, whatever the sign of its step).
struct Lines {
    axes: Vec<AxisSelection>,
    /// Rows between neighbours along each axis.
    row_stride: Vec<u64>,
    /// Cells of the result between neighbours along each axis (0 for a dropped axis).
    out_stride: Vec<u64>,
    /// The axes other than the fastest, slowest first, and where each one's walk is.
    outer: Vec<usize>,
    counters: Vec<u64>,
    fastest: usize,
    done: bool,
}

impl Lines {
    fn new(sel: &Selection, shape: &[u64]) -> Lines {
        let axes = sel.axes().to_vec();
        let nd = axes.len();
        // Rows are cells in C order, whatever the array's memory order (`FORMAT.md`).
        let storage: Vec<usize> = (0..nd).collect();
        let mut row_stride = vec![0u64; nd];
        let mut s = 1u64;
        for &a in storage.iter().rev() {
            row_stride[a] = s;
            s = s.saturating_mul(shape[a]);
        }
        let out_stride = out_strides(sel);
        let empty = axes.iter().any(|a| a.len == 0);
        let (fastest, outer) = match storage.split_last() {
            Some((&f, rest)) => (f, rest.to_vec()),
            None => (0, Vec::new()),
        };
        Lines {
            counters: vec![0; outer.len()],
            axes,
            row_stride,
            out_stride,
            outer,
            fastest,
            done: empty,
        }
    }
}

impl Iterator for Lines {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        if self.done {
            return None;
        }
        let (mut row, mut out) = (0u64, 0u64);
        for (i, &a) in self.outer.iter().enumerate() {
            let s = &self.axes[a];
            // Walked upwards in index: a negative step's last element first.
            let k = if s.step < 0 {
                s.len - 1 - self.counters[i]
            } else {
                self.counters[i]
            };
            row += s.index(k) * self.row_stride[a];
            out += k * self.out_stride[a];
        }
        let line = if self.axes.is_empty() {
            Line {
                row0: 0,
                stride: 1,
                n: 1,
                out0: 0,
                out_step: 1,
            }
        } else {
            let f = &self.axes[self.fastest];
            let stride = f.step.unsigned_abs() * self.row_stride[self.fastest];
            let ostep = i64::try_from(self.out_stride[self.fastest]).unwrap_or(i64::MAX);
            if f.step > 0 {
                Line {
                    row0: row + f.start * self.row_stride[self.fastest],
                    stride,
                    n: f.len,
                    out0: out,
                    out_step: ostep,
                }
            } else {
                Line {
                    row0: row + f.index(f.len - 1) * self.row_stride[self.fastest],
                    stride,
                    n: f.len,
                    out0: out + (f.len - 1) * self.out_stride[self.fastest],
                    out_step: -ostep,
                }
            }
        };
        // The next combination of the outer axes (the last one fastest).
        self.done = true;
        for i in (0..self.outer.len()).rev() {
            self.counters[i] += 1;
            if self.counters[i] < self.axes[self.outer[i]].len {
                self.done = false;
                break;
            }
            self.counters[i] = 0;
        }
        Some(line)
    }
}

/// The position in the result of the cell at `ix` of the array, where `sel` takes it.
fn position_in(sel: &Selection, ix: impl Iterator<Item = u64>, out_stride: &[u64]) -> Option<usize> {
    let mut at = 0u64;
    for ((i, a), s) in ix.zip(sel.axes()).zip(out_stride) {
        let d = i128::from(i) - i128::from(a.start);
        let step = i128::from(a.step);
        if a.len == 0 || d % step != 0 {
            return None;
        }
        let k = d / step;
        if k < 0 || k >= i128::from(a.len) {
            return None;
        }
        at += u64::try_from(k).ok()? * s;
    }
    usize::try_from(at).ok()
}

/// Cells of the result between neighbours along each axis of the array (0 for a dropped one).
fn out_strides(sel: &Selection) -> Vec<u64> {
    let axes = sel.axes();
    let mut out = vec![0u64; axes.len()];
    let mut s = 1u64;
    for a in (0..axes.len()).rev() {
        if axes[a].keep {
            out[a] = s;
            s = s.saturating_mul(axes[a].len);
        }
    }
    out
}
