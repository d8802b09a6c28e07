//! The dense layout: one `value` column holding every cell in C order, narrowed, in row groups.
//!
//! Spec card (format 1.x): the table has exactly one column, `value`, non-nullable, of the
//! stored type named in the metadata (`stored_type`); row `i` is the cell whose C-order flat
//! index is `i`; the logical value is `dtype(stored + offset)`. The number of rows equals the
//! product of the shape (1 for a 0-d array). The array's original memory order is recorded in
//! the metadata and restored on read.
//!
//! ```
//! use arrstore::{read_array_from, write_array_to, Layout, WriteOptions};
//! let a = ndarray::Array2::<i64>::from_shape_fn((100, 100), |(i, j)| (i * j) as i64);
//! let mut file = Vec::new();
//! write_array_to(&mut file, &a, &WriteOptions::default().with_layout(Layout::Dense)).unwrap();
//! let back: ndarray::Array2<i64> = read_array_from(bytes::Bytes::from(file)).unwrap();
//! assert_eq!(back, a);
//! ```

use std::ops::Range;

use ndarray::{ArrayViewD, Axis};

use crate::dtype::Element;
use crate::error::Result;
use crate::npy::NpyStream;

/// Cells per chunk when scanning a dense array.
pub(crate) const SCAN_CHUNK: usize = 1 << 16;

/// The cells of a dense array, walked in C order chunk by chunk: an array in memory, or an
/// `.npy` file read as it is walked. Any range of cells can be walked on its own, so several
/// threads can walk parts of one array at once.
pub(crate) trait Cells<T: Element>: Sync {
    /// The array's shape.
    fn shape(&self) -> &[usize];

    /// Calls `f(start, chunk)` on consecutive chunks of at most `chunk` cells of `range` (flat
    /// C-order indices, within [`Cells::cells`]), `start` being the flat index of the chunk's
    /// first cell.
    fn each_chunk_in(
        &self,
        range: Range<usize>,
        chunk: usize,
        f: &mut dyn FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()>;

    /// [`Cells::each_chunk_in`] over every cell.
    fn each_chunk(&self, chunk: usize, f: &mut dyn FnMut(usize, &[T]) -> Result<()>) -> Result<()> {
        self.each_chunk_in(0..self.cells(), chunk, f)
    }

    /// The number of cells.
    fn cells(&self) -> usize {
        self.shape().iter().product()
    }
}

impl<T: Element> Cells<T> for ArrayViewD<'_, T> {
    fn shape(&self) -> &[usize] {
        ArrayViewD::shape(self)
    }

    fn each_chunk_in(
        &self,
        range: Range<usize>,
        chunk: usize,
        f: &mut dyn FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        for_each_chunk_in(self, range, chunk, f)
    }
}

/// An `.npy` file's cells as `T` (its dtype).
pub(crate) struct NpyCells<'a, T> {
    stream: &'a NpyStream,
    _type: std::marker::PhantomData<T>,
}

impl<'a, T> NpyCells<'a, T> {
    pub(crate) fn new(stream: &'a NpyStream) -> Self {
        NpyCells {
            stream,
            _type: std::marker::PhantomData,
        }
    }
}

impl<T: Element> Cells<T> for NpyCells<'_, T> {
    fn shape(&self) -> &[usize] {
        self.stream.shape()
    }

    fn each_chunk_in(
        &self,
        range: Range<usize>,
        chunk: usize,
        f: &mut dyn FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        self.stream.for_each_chunk_in(range, chunk, f)
    }
}

/// Calls `f(start, chunk)` on consecutive chunks of at most `chunk` of the cells `range` of
/// `view` (flat indices in C order, the logical order whatever the memory layout), `start`
/// being the flat index of the chunk's first cell. A contiguous C-order view is passed as
/// slices of its memory, others through a buffer.
///
/// # Panics
/// If `range` goes past the end of the view (a caller bug).
pub(crate) fn for_each_chunk_in<T: Element, E>(
    view: &ArrayViewD<'_, T>,
    range: Range<usize>,
    chunk: usize,
    mut f: impl FnMut(usize, &[T]) -> Result<(), E>,
) -> Result<(), E> {
    assert!(
        range.start <= range.end && range.end <= view.len(),
        "cells {range:?} of an array of {} cells",
        view.len()
    );
    let chunk = chunk.max(1);
    if let Some(s) = view.as_slice() {
        for (i, c) in s[range.clone()].chunks(chunk).enumerate() {
            f(range.start + i * chunk, c)?;
        }
        return Ok(());
    }
    let mut buf = Vec::with_capacity(chunk.min(range.len()));
    let mut start = range.start;
    let mut result = Ok(());
    walk_range(view.view(), range, &mut |v| {
        if result.is_err() {
            return;
        }
        buf.push(*v);
        if buf.len() == chunk {
            result = f(start, &buf);
            start += chunk;
            buf.clear();
        }
    });
    result?;
    if !buf.is_empty() {
        f(start, &buf)?;
    }
    Ok(())
}

/// Calls `f` on the cells `range` (flat C-order indices) of `view`, in order, visiting no other
/// cell: the whole rows of the leading axis in the range are walked as one sub-view, the
/// partial rows at either end recursively, one axis down.
fn walk_range<T>(view: ArrayViewD<'_, T>, range: Range<usize>, f: &mut impl FnMut(&T)) {
    if range.is_empty() {
        return;
    }
    if view.ndim() == 0 {
        // One cell: the range is 0..1.
        view.iter().for_each(&mut *f);
        return;
    }
    let row = view.len() / view.shape()[0];
    let (first, last) = (range.start / row, (range.end - 1) / row);
    let within = |i: usize| view.index_axis(Axis(0), i);
    if first == last {
        walk_range(
            within(first),
            range.start - first * row..range.end - first * row,
            f,
        );
        return;
    }
    walk_range(within(first), range.start - first * row..row, f);
    view.slice_axis(Axis(0), (first + 1..last).into())
        .iter()
        .for_each(&mut *f);
    walk_range(within(last), 0..range.end - last * row, f);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every range of every layout walks the cells of that range in C order.
    #[test]
    fn ranges_follow_c_order_for_any_layout() {
        let a = ndarray::Array::from_shape_vec((3, 4, 5), (0..60).collect::<Vec<i32>>()).unwrap();
        let mut f = ndarray::Array3::zeros(ndarray::ShapeBuilder::f((3, 4, 5)));
        f.assign(&a);
        assert!(f.as_slice().is_none());
        let strided = a.slice(ndarray::s![.., ..;2, 1..]);
        let zero_d = ndarray::arr0(7i32);
        let views = [
            a.view().into_dyn(),
            f.view().into_dyn(),
            strided.into_dyn(),
            zero_d.view().into_dyn(),
        ];
        for view in &views {
            let all: Vec<i32> = view.iter().copied().collect();
            for start in 0..=all.len() {
                for end in start..=all.len() {
                    let mut got = Vec::new();
                    let mut starts = Vec::new();
                    for_each_chunk_in(view, start..end, 3, |s, c| {
                        starts.push(s);
                        got.extend_from_slice(c);
                        Ok::<(), ()>(())
                    })
                    .unwrap();
                    assert_eq!(got, all[start..end], "{:?} cells {start}..{end}", view.shape());
                    let expect: Vec<usize> = (start..end).step_by(3).collect();
                    assert_eq!(starts, expect);
                }
            }
        }
    }

    #[test]
    fn an_error_stops_the_walk() {
        let mut f = ndarray::Array2::<u8>::zeros(ndarray::ShapeBuilder::f((4, 4)));
        f[[1, 1]] = 1;
        let mut calls = 0;
        let r = for_each_chunk_in(&f.view().into_dyn(), 0..16, 2, |_, _| {
            calls += 1;
            Err(())
        });
        assert_eq!((r, calls), (Err(()), 1));
    }

    #[test]
    #[should_panic(expected = "cells 3..17 of an array of 16 cells")]
    fn a_range_past_the_end_is_a_caller_bug() {
        let a = ndarray::Array2::<u8>::zeros((4, 4));
        let _ = for_each_chunk_in(&a.view().into_dyn(), 3..17, 2, |_, _| Ok::<(), ()>(()));
    }
}
