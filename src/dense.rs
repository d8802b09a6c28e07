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

use ndarray::ArrayViewD;

use crate::dtype::Element;
use crate::error::Result;
use crate::npy::NpyStream;

/// The cells of a dense array, walked in C order chunk by chunk: an array in memory, or an
/// `.npy` file read as it is walked.
pub(crate) trait Cells<T: Element> {
    /// The array's shape.
    fn shape(&self) -> &[usize];

    /// Calls `f(start, chunk)` on consecutive chunks of at most `chunk` cells in C order.
    fn each_chunk(&self, chunk: usize, f: &mut dyn FnMut(usize, &[T]) -> Result<()>) -> Result<()>;

    /// The number of cells.
    fn cells(&self) -> usize {
        self.shape().iter().product()
    }
}

impl<T: Element> Cells<T> for ArrayViewD<'_, T> {
    fn shape(&self) -> &[usize] {
        ArrayViewD::shape(self)
    }

    fn each_chunk(&self, chunk: usize, f: &mut dyn FnMut(usize, &[T]) -> Result<()>) -> Result<()> {
        for_each_chunk(self, chunk, f)
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

    fn each_chunk(&self, chunk: usize, f: &mut dyn FnMut(usize, &[T]) -> Result<()>) -> Result<()> {
        self.stream.for_each_chunk(chunk, f)
    }
}

/// Calls `f(start, chunk)` on consecutive chunks of the array's values in C order (logical
/// order, whatever the memory layout), `start` being the flat index of the chunk's first cell.
/// Contiguous C-order arrays are passed as slices of their memory, others through a buffer.
pub(crate) fn for_each_chunk<T: Element, E>(
    view: &ArrayViewD<'_, T>,
    chunk: usize,
    mut f: impl FnMut(usize, &[T]) -> Result<(), E>,
) -> Result<(), E> {
    let chunk = chunk.max(1);
    if let Some(s) = view.as_slice() {
        for (i, c) in s.chunks(chunk).enumerate() {
            f(i * chunk, c)?;
        }
        return Ok(());
    }
    let mut buf = Vec::with_capacity(chunk.min(view.len()));
    let mut start = 0;
    for v in view.iter() {
        buf.push(*v);
        if buf.len() == chunk {
            f(start, &buf)?;
            start += chunk;
            buf.clear();
        }
    }
    if !buf.is_empty() {
        f(start, &buf)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_c_order_for_any_layout() {
        let a = ndarray::Array::from_shape_vec((3, 4), (0..12).collect::<Vec<i32>>()).unwrap();
        let mut f = ndarray::Array2::zeros(ndarray::ShapeBuilder::f((3, 4)));
        f.assign(&a);
        assert!(f.as_slice().is_none());
        let strided = a.slice(ndarray::s![.., ..;2]).to_owned();
        for (arr, expect) in [
            (a.view().into_dyn(), (0..12).collect::<Vec<_>>()),
            (f.view().into_dyn(), (0..12).collect()),
            (
                a.slice(ndarray::s![.., ..;2]).into_dyn(),
                strided.iter().copied().collect(),
            ),
        ] {
            let mut got = Vec::new();
            let mut starts = Vec::new();
            for_each_chunk(&arr, 5, |s, c| {
                starts.push(s);
                got.extend_from_slice(c);
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(got, expect);
            assert_eq!(starts[1], 5);
        }
    }
}
