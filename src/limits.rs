//! The limits on an array's shape that every writer and reader holds to, in one place: at most
//! [`MAX_NDIM`] axes (NumPy's limit), and a number of cells that 64 bits (and this machine's
//! `usize`) can count.
//!
//! Writers call [`check_writable_shape`] before any output is created, and the reader calls the
//! same function when it opens a file ([`crate::ArrayMeta`]'s checks), so a file that arrstore
//! writes is one that it can open, and a file claiming more axes is refused at once, before
//! any work in proportion to its axes.
//!
//! ```
//! use arrstore::limits::{check_writable_shape, MAX_NDIM};
//! assert!(check_writable_shape(&[2, 3]).is_ok());
//! assert!(check_writable_shape(&vec![1; MAX_NDIM + 1]).is_err());
//! assert!(check_writable_shape(&[1 << 40, 1 << 40]).is_err());
//! ```

use crate::error::{Error, Result};

/// The most axes an array may have: NumPy's limit (`NPY_MAXDIMS` before NumPy 2.0; `.npy`
/// files with more are refused by NumPy), and arrstore's.
pub const MAX_NDIM: usize = 64;

/// Checks that an array of `shape` can be written and read back: at most [`MAX_NDIM`] axes,
/// a number of cells (the axis lengths multiplied in order) that does not overflow `u64`, and
/// cells and axis lengths that fit this machine's `usize`. These are exactly the conditions
/// under which the reader refuses a file at open; the error carries the numbers.
pub fn check_writable_shape(shape: &[u64]) -> Result<()> {
    if shape.len() > MAX_NDIM {
        return Err(Error::TooManyAxes {
            ndim: shape.len(),
            max: MAX_NDIM,
        });
    }
    let bad = |problem: String| Error::BadShape {
        shape: shape.to_vec(),
        problem,
    };
    // The same fold as the reader's count, so that an overflow part-way (before a later
    // zero-length axis) is refused here as it is there.
    let cells = shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad("the number of cells overflows 64 bits".into()))?;
    if usize::try_from(cells).is_err() {
        return Err(bad(format!("{cells} cells do not fit in memory on this machine")));
    }
    if let Some(&d) = shape.iter().find(|&&d| usize::try_from(d).is_err()) {
        return Err(bad(format!(
            "the axis length {d} does not fit in usize on this machine"
        )));
    }
    Ok(())
}

/// [`check_writable_shape`] for a shape in memory.
pub(crate) fn check_shape(shape: &[usize]) -> Result<()> {
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect(); // usize fits in u64
    check_writable_shape(&shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_and_cell_counts_are_bounded() {
        assert!(check_writable_shape(&[]).is_ok());
        assert!(check_writable_shape(&vec![1; MAX_NDIM]).is_ok());
        assert!(check_writable_shape(&[u64::MAX]).is_ok() || usize::BITS < 64);
        assert!(check_writable_shape(&[0, u64::MAX, u64::MAX]).is_ok());
        let e = check_writable_shape(&vec![1; 1_000_000]).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooManyAxes {
                    ndim: 1_000_000,
                    max: 64
                }
            ),
            "{e}"
        );
        assert_eq!(e.to_string(), "1000000 axes, more than the 64 an array may have");
        let e = check_writable_shape(&[1 << 40, 1 << 40]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "shape [1099511627776, 1099511627776]: the number of cells overflows 64 bits"
        );
        // Refused as the reader refuses it: the overflow comes before the zero.
        assert!(check_writable_shape(&[1 << 40, 1 << 40, 0]).is_err());
        assert!(check_shape(&[3, 4]).is_ok());
    }
}
