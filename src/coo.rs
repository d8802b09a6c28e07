//! The in-memory COO (coordinate) sparse array: one narrow coordinate vector per axis, the
//! values, and the fill value of every cell not listed.
//!
//! Entries are kept sorted in row-major order without duplicates; each axis' coordinates use the
//! narrowest unsigned type that holds `len - 1` (a 1024-wide axis takes 2 bytes per entry).
//!
//! ```
//! use arrstore::Coo;
//! let dense = ndarray::arr2(&[[0.0, 1.5], [0.0, 0.0], [2.5, 0.0]]);
//! let coo = Coo::from_dense(&dense, 0.0);
//! assert_eq!(coo.nnz(), 2);
//! assert_eq!(coo.coords(0).get(1), 2);
//! assert_eq!(coo.memory_bytes(), 2 * (1 + 1 + 8));
//! assert_eq!(coo.to_dense(), dense.into_dyn());
//! ```

use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

use crate::coords::with_coords;
pub use crate::coords::Coords;
use crate::dtype::Element;
use crate::error::{Error, Result};

/// A sparse array in coordinate form.
///
/// Construct it with [`Coo::from_dense`], [`Coo::try_new`] (checked) or [`Coo::new`] (panics
/// on a contract violation); read it from a file with
/// [`ArrayFile::read_coo`](crate::ArrayFile::read_coo).
#[derive(Debug, Clone, PartialEq)]
pub struct Coo<T> {
    shape: Vec<usize>,
    coords: Vec<Coords>,
    values: Vec<T>,
    fill: T,
}

impl<T: Element> Coo<T> {
    /// The COO of `dense`: every cell whose bits differ from `fill` (so with fill 0.0, a -0.0
    /// cell is stored), in row-major order, whatever the memory layout of `dense`.
    pub fn from_dense<S: Data<Elem = T>, D: Dimension>(dense: &ArrayBase<S, D>, fill: T) -> Coo<T> {
        let view = dense.view().into_dyn();
        Coo::from_cells(&view, fill).expect("an array in memory is walked without errors")
    }

    /// The COO of the cells `cells` walks, keeping only the nonzeros in memory.
    pub(crate) fn from_cells(cells: &dyn crate::cells::Cells<T>, fill: T) -> crate::Result<Coo<T>> {
        let shape = cells.shape().to_vec();
        let fill_bits = fill.to_bits();
        let mut flat = Vec::new();
        let mut values = Vec::new();
        cells.each_chunk(1 << 16, &mut |start, chunk| {
            for (i, v) in chunk.iter().enumerate() {
                if v.to_bits() != fill_bits {
                    flat.push(start + i);
                    values.push(*v);
                }
            }
            Ok(())
        })?;
        let mut coords: Vec<Coords> = shape
            .iter()
            .map(|&len| Coords::for_axis(len as u64, flat.len())) // usize fits in u64
            .collect();
        let mut idx = vec![0usize; shape.len()];
        for f in flat {
            let mut rem = f;
            for axis in (0..shape.len()).rev() {
                idx[axis] = rem % shape[axis];
                rem /= shape[axis];
            }
            for (c, &i) in coords.iter_mut().zip(&idx) {
                c.push(i as u64); // usize fits in u64
            }
        }
        Ok(Coo {
            shape,
            coords,
            values,
            fill,
        })
    }

    /// A COO from coordinates (one vector per axis, each as long as `values`), checked: every
    /// coordinate in range, entries strictly increasing in row-major order.
    pub fn try_new(shape: Vec<usize>, coords: Vec<Vec<u64>>, values: Vec<T>, fill: T) -> Result<Coo<T>> {
        Coo::checked(shape, coords, values, fill, true)
    }

    /// [`Coo::try_new`], checking the entry order only when `check_order` (its caller may have).
    fn checked(
        shape: Vec<usize>,
        coords: Vec<Vec<u64>>,
        values: Vec<T>,
        fill: T,
        check_order: bool,
    ) -> Result<Coo<T>> {
        if coords.len() != shape.len() {
            return Err(Error::BadShape {
                shape: shape.iter().map(|&d| d as u64).collect(), // usize fits in u64
                problem: format!("{} coordinate vectors for {} axes", coords.len(), shape.len()),
            });
        }
        let mut narrow = Vec::with_capacity(shape.len());
        for (axis, (c, &len)) in coords.iter().zip(&shape).enumerate() {
            if c.len() != values.len() {
                return Err(Error::BadShape {
                    shape: shape.iter().map(|&d| d as u64).collect(), // usize fits in u64
                    problem: format!(
                        "axis {axis} has {} coordinates for {} values",
                        c.len(),
                        values.len()
                    ),
                });
            }
            let len = len as u64; // usize fits in u64
            if let Some(entry) = c.iter().position(|&x| x >= len) {
                return Err(Error::CoordinateOutOfRange {
                    entry: entry as u64, // usize fits in u64
                    axis,
                    index: c[entry],
                    len,
                });
            }
            narrow.push(Coords::from_in_range(len, c));
        }
        let coo = Coo {
            shape,
            coords: narrow,
            values,
            fill,
        };
        if check_order {
            coo.check_sorted()?;
        }
        Ok(coo)
    }

    /// A COO from entries in any order (as SciPy's `coo_array` allows): checked like
    /// [`Coo::try_new`], then sorted into row-major order; entries with the same coordinates are
    /// summed as SciPy sums them (integers wrap, booleans are or-ed).
    ///
    /// ```
    /// use arrstore::Coo;
    /// let c = Coo::try_from_unsorted(vec![2, 2], vec![vec![1, 0, 1], vec![0, 1, 0]], vec![5, 7, 1], 0).unwrap();
    /// assert_eq!(c.values(), &[7, 6]);
    /// assert_eq!(c.coords(0).get(1), 1);
    /// ```
    pub fn try_from_unsorted(
        shape: Vec<usize>,
        coords: Vec<Vec<u64>>,
        values: Vec<T>,
        fill: T,
    ) -> Result<Coo<T>> {
        let n = values.len();
        // Lengths and ranges are checked by `checked`; check lengths first so indexing is safe.
        if coords.iter().any(|c| c.len() != n) {
            return Coo::try_new(shape, coords, values, fill);
        }
        let sorted_unique = (1..n).all(|e| {
            let mut it = coords.iter().map(|c| c[e - 1].cmp(&c[e]));
            it.find(|o| o.is_ne()) == Some(std::cmp::Ordering::Less)
        });
        if sorted_unique {
            return Coo::checked(shape, coords, values, fill, false);
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            coords
                .iter()
                .map(|c| c[a].cmp(&c[b]))
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let mut out_coords: Vec<Vec<u64>> = vec![Vec::with_capacity(n); coords.len()];
        let mut out_values: Vec<T> = Vec::with_capacity(n);
        let mut last: Option<usize> = None;
        for &e in &order {
            let same = last.is_some_and(|l| coords.iter().all(|c| c[l] == c[e]));
            if same {
                let v = out_values.last_mut().expect("a previous entry exists");
                *v = v.sum(values[e]);
            } else {
                for (o, c) in out_coords.iter_mut().zip(&coords) {
                    o.push(c[e]);
                }
                out_values.push(values[e]);
            }
            last = Some(e);
        }
        drop((coords, values, order));
        Coo::try_new(shape, out_coords, out_values, fill)
    }

    /// A COO from coordinates already at their axes' widths (each as [`Coords::for_axis`] makes
    /// for its length) and below their axis lengths, in any order: kept as they are when
    /// strictly increasing in row-major order, otherwise sorted and summed as
    /// [`Coo::try_from_unsorted`] does. Errors on a count or length mismatch.
    ///
    /// # Panics
    /// When an axis' coordinates are not at the width of its length (a caller bug).
    #[allow(clippy::useless_conversion)] // u64::from is the identity for the U64 arm
    pub(crate) fn try_from_coords(
        shape: Vec<usize>,
        coords: Vec<Coords>,
        values: Vec<T>,
        fill: T,
    ) -> Result<Coo<T>> {
        let wide = |coords: &[Coords]| -> Vec<Vec<u64>> {
            coords
                .iter()
                .map(|c| with_coords!(c, v => v.iter().map(|&x| u64::from(x)).collect()))
                .collect()
        };
        if coords.len() != shape.len() || coords.iter().any(|c| c.len() != values.len()) {
            // `try_new` names the mismatch.
            return Coo::try_new(shape, wide(&coords), values, fill);
        }
        for (axis, (c, &len)) in coords.iter().zip(&shape).enumerate() {
            let want = Coords::dtype_for(len as u64); // usize fits in u64
            assert_eq!(
                c.dtype(),
                want,
                "Coo::try_from_coords: axis {axis} of length {len}"
            );
        }
        let coo = Coo {
            shape,
            coords,
            values,
            fill,
        };
        if coo.check_sorted().is_ok() {
            return Ok(coo);
        }
        let coords = wide(&coo.coords);
        Coo::try_from_unsorted(coo.shape, coords, coo.values, coo.fill)
    }

    /// As [`Coo::try_new`].
    ///
    /// # Panics
    /// When the coordinates are out of range, unsorted, duplicated or of the wrong count.
    pub fn new(shape: Vec<usize>, coords: Vec<Vec<u64>>, values: Vec<T>, fill: T) -> Coo<T> {
        Coo::try_new(shape, coords, values, fill).unwrap_or_else(|e| panic!("Coo::new: {e}"))
    }

    /// Assembles a COO from parts already checked by the caller (the file reader).
    pub(crate) fn from_parts(shape: Vec<usize>, coords: Vec<Coords>, values: Vec<T>, fill: T) -> Coo<T> {
        Coo {
            shape,
            coords,
            values,
            fill,
        }
    }

    pub(crate) fn check_sorted(&self) -> Result<()> {
        crate::entry_order::check_sorted_by(&self.coords, &crate::entry_order::row_major(self.shape.len()))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of stored entries.
    pub fn nnz(&self) -> usize {
        self.values.len()
    }

    /// The coordinates along `axis`.
    pub fn coords(&self, axis: usize) -> &Coords {
        &self.coords[axis]
    }

    /// The coordinates of every axis.
    pub fn all_coords(&self) -> &[Coords] {
        &self.coords
    }

    /// The stored values, in entry order.
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// The value of cells not stored.
    pub fn fill(&self) -> T {
        self.fill
    }

    /// Bytes the coordinates and values take in memory.
    pub fn memory_bytes(&self) -> u64 {
        self.coords.iter().map(Coords::memory_bytes).sum::<u64>() + T::DTYPE.nbytes(self.values.len())
    }

    /// The dense array (allocates every cell).
    ///
    /// # Panics
    /// When the dense array cannot be allocated; [`Coo::try_to_dense`] returns an error instead.
    pub fn to_dense(&self) -> ArrayD<T> {
        self.try_to_dense()
            .unwrap_or_else(|e| panic!("Coo::to_dense: {e}"))
    }

    /// The dense array, or an error when its cells cannot be allocated.
    pub fn try_to_dense(&self) -> Result<ArrayD<T>> {
        let too_big = |problem: String| Error::BadShape {
            shape: self.shape.iter().map(|&d| d as u64).collect(), // usize fits in u64
            problem,
        };
        let cells = self
            .shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|c| {
                c.checked_mul(std::mem::size_of::<T>())
                    .is_some_and(|b| isize::try_from(b).is_ok())
            })
            .ok_or_else(|| too_big("the dense array is larger than this machine can address".into()))?;
        let mut flat = Vec::new();
        flat.try_reserve_exact(cells)
            .map_err(|e| too_big(format!("cannot allocate the dense array: {e}")))?;
        flat.resize(cells, self.fill);
        for (e, v) in self.values.iter().enumerate() {
            let mut f = 0usize;
            for (c, &len) in self.coords.iter().zip(&self.shape) {
                // In range: checked on construction, so the index fits in usize.
                f = f * len + c.get(e) as usize;
            }
            flat[f] = *v;
        }
        Ok(ArrayD::from_shape_vec(IxDyn(&self.shape), flat).expect("cells match the shape"))
    }
}

/// A [`Coo`] of any dtype.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum DynCoo {
    Bool(Coo<bool>),
    I8(Coo<i8>),
    I16(Coo<i16>),
    I32(Coo<i32>),
    I64(Coo<i64>),
    U8(Coo<u8>),
    U16(Coo<u16>),
    U32(Coo<u32>),
    U64(Coo<u64>),
    F32(Coo<f32>),
    F64(Coo<f64>),
}

/// Runs `$body` with `$c` bound to the [`Coo`] inside a [`DynCoo`].
macro_rules! with_dyn_coo {
    ($e:expr, $c:ident => $body:expr) => {
        match $e {
            $crate::DynCoo::Bool($c) => $body,
            $crate::DynCoo::I8($c) => $body,
            $crate::DynCoo::I16($c) => $body,
            $crate::DynCoo::I32($c) => $body,
            $crate::DynCoo::I64($c) => $body,
            $crate::DynCoo::U8($c) => $body,
            $crate::DynCoo::U16($c) => $body,
            $crate::DynCoo::U32($c) => $body,
            $crate::DynCoo::U64($c) => $body,
            $crate::DynCoo::F32($c) => $body,
            $crate::DynCoo::F64($c) => $body,
        }
    };
}
pub(crate) use with_dyn_coo;

impl DynCoo {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_dyn_coo!(self, c => c.shape())
    }

    /// The number of stored entries.
    pub fn nnz(&self) -> usize {
        with_dyn_coo!(self, c => c.nnz())
    }

    /// Bytes the coordinates and values take in memory.
    pub fn memory_bytes(&self) -> u64 {
        with_dyn_coo!(self, c => c.memory_bytes())
    }

    /// The dense array.
    pub fn to_dense(&self) -> crate::DynArray {
        with_dyn_coo!(self, c => c.to_dense().into())
    }
}

macro_rules! dyn_coo_from {
    ($($t:ty => $v:ident),*) => {$(
        impl From<Coo<$t>> for DynCoo {
            fn from(c: Coo<$t>) -> Self {
                DynCoo::$v(c)
            }
        }
    )*};
}
dyn_coo_from!(bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16,
    u32 => U32, u64 => U64, f32 => F32, f64 => F64);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::DType;

    #[test]
    fn from_dense_is_row_major_whatever_the_layout() {
        let a = ndarray::arr2(&[[1i32, 0, 2], [0, 3, 0]]);
        let mut f = ndarray::Array2::zeros(ndarray::ShapeBuilder::f((2, 3)));
        f.assign(&a); // same values, Fortran layout
        assert!(!f.is_standard_layout());
        let c = Coo::from_dense(&f, 0);
        assert_eq!(c.values(), &[1, 2, 3]);
        assert_eq!(
            c,
            Coo::new(vec![2, 3], vec![vec![0, 0, 1], vec![0, 2, 1]], vec![1, 2, 3], 0)
        );
    }

    #[test]
    fn checks_range_and_order() {
        let e = Coo::try_new(vec![2, 2], vec![vec![0, 2], vec![0, 0]], vec![1u8, 2], 0).unwrap_err();
        assert!(
            e.to_string()
                .contains("coordinate 2 on axis 0 is out of range for length 2"),
            "{e}"
        );
        let e = Coo::try_new(vec![2, 2], vec![vec![1, 0], vec![0, 0]], vec![1u8, 2], 0).unwrap_err();
        assert!(matches!(e, Error::UnsortedCoordinates { entry: 1, .. }), "{e}");
        let e = Coo::try_new(vec![2, 2], vec![vec![1, 1], vec![0, 0]], vec![1u8, 2], 0).unwrap_err();
        assert!(
            matches!(e, Error::UnsortedCoordinates { entry: 1, .. }),
            "duplicates: {e}"
        );
    }

    #[test]
    fn unsorted_input_is_checked_before_it_is_read() {
        // A coordinate vector shorter than the values is an error, not an index out of bounds.
        let e = Coo::try_from_unsorted(vec![2, 2], vec![vec![1], vec![0, 1]], vec![1u8, 2], 0).unwrap_err();
        assert!(
            e.to_string().contains("axis 0 has 1 coordinates for 2 values"),
            "{e}"
        );
        // Sorted input skips the second order check; out-of-range coordinates still fail.
        let e =
            Coo::try_from_unsorted(vec![2, 2], vec![vec![0, 1], vec![0, 2]], vec![1u8, 2], 0).unwrap_err();
        assert!(
            matches!(
                e,
                Error::CoordinateOutOfRange {
                    entry: 1,
                    axis: 1,
                    ..
                }
            ),
            "{e}"
        );
        let c = Coo::try_from_unsorted(vec![2, 2], vec![vec![1, 0, 1], vec![1, 1, 1]], vec![1u8, 2, 3], 0)
            .unwrap();
        assert_eq!(
            c,
            Coo::new(vec![2, 2], vec![vec![0, 1], vec![1, 1]], vec![2, 4], 0)
        );
    }

    #[test]
    #[should_panic(expected = "Coo::new: coordinates are not sorted")]
    fn new_panics_on_contract_violation() {
        Coo::new(vec![3], vec![vec![2, 1]], vec![1u8, 2], 0);
    }

    #[test]
    fn widths_follow_axis_lengths() {
        assert_eq!(Coords::dtype_for(0), DType::U8);
        assert_eq!(Coords::dtype_for(256), DType::U8);
        assert_eq!(Coords::dtype_for(257), DType::U16);
        assert_eq!(Coords::dtype_for(200_000), DType::U32);
        assert_eq!(Coords::dtype_for(u64::MAX), DType::U64);
    }

    #[test]
    fn coordinates_at_their_widths_are_kept_or_sorted_and_summed() {
        let at = |len: u64, c: &[u64]| Coords::from_in_range(len, c);
        let sorted = Coo::try_from_coords(
            vec![3, 300],
            vec![at(3, &[0, 1, 2]), at(300, &[299, 0, 5])],
            vec![1i16, 2, 3],
            0,
        )
        .unwrap();
        assert_eq!(sorted.coords(1), &Coords::U16(vec![299, 0, 5]));
        let summed = Coo::try_from_coords(
            vec![3, 300],
            vec![at(3, &[2, 0, 2]), at(300, &[5, 9, 5])],
            vec![1i16, 2, i16::MAX],
            0,
        )
        .unwrap();
        assert_eq!(summed.coords(0), &Coords::U8(vec![0, 2]));
        assert_eq!(summed.values(), &[2, i16::MIN]); // wraps as NumPy adds
        let e =
            Coo::try_from_coords(vec![3, 300], vec![at(3, &[0]), at(300, &[])], vec![1i16], 0).unwrap_err();
        assert!(
            e.to_string().contains("axis 1 has 0 coordinates for 1 values"),
            "{e}"
        );
    }

    #[test]
    #[should_panic(expected = "Coo::try_from_coords: axis 1 of length 300")]
    fn coordinates_at_another_width_are_a_caller_bug() {
        let _ = Coo::try_from_coords(
            vec![3, 300],
            vec![Coords::U8(vec![0]), Coords::U8(vec![0])],
            vec![1u8],
            0,
        );
    }
}
