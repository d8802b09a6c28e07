//! The order a sparse file's entries are stored in: a sort key over the axes, and the stable
//! permutations that move entries from one such order to another.
//!
//! An order is written as the axes the entries are sorted by, most significant first: `[0, 1]`
//! is row-major, `[1, 0]` column-major. In memory a [`Coo`](crate::Coo) is always row-major; a
//! file may store its entries in another order when that measures smaller (a column-major
//! document-term matrix keeps each term's documents together, so the inner index column is a run
//! of small gaps), and the reader sorts them back.
//!
//! ```
//! use arrstore::entry_order::{inner_last, is_row_major};
//! assert_eq!(inner_last(3, 0), vec![1, 2, 0]);
//! assert!(is_row_major(&inner_last(2, 1)));
//! ```

use crate::coo::Coords;
use crate::error::{Error, Result};

/// `0..ndim`: row-major (C) order.
pub fn row_major(ndim: usize) -> Vec<usize> {
    (0..ndim).collect()
}

/// True when `sorted_by` is row-major.
pub fn is_row_major(sorted_by: &[usize]) -> bool {
    sorted_by.iter().enumerate().all(|(i, &a)| i == a)
}

/// The order with `inner` as the fastest-varying axis and the other axes in row-major order.
///
/// # Panics
/// When `inner >= ndim` (a caller bug).
pub fn inner_last(ndim: usize, inner: usize) -> Vec<usize> {
    assert!(inner < ndim, "inner_last: axis {inner} of {ndim}");
    (0..ndim).filter(|&a| a != inner).chain([inner]).collect()
}

/// True when `sorted_by` lists each of `0..ndim` once.
pub fn is_permutation(sorted_by: &[usize], ndim: usize) -> bool {
    let mut seen = vec![false; ndim];
    sorted_by.len() == ndim
        && sorted_by
            .iter()
            .all(|&a| a < ndim && !std::mem::replace(&mut seen[a], true))
}

/// Checks that the entries are strictly increasing in the order `sorted_by` (sorted, no two
/// entries at one cell).
pub fn check_sorted_by(coords: &[Coords], sorted_by: &[usize]) -> Result<()> {
    let n = coords.first().map_or(0, Coords::len);
    for e in 1..n {
        let mut ordered = false;
        for &axis in sorted_by {
            let (a, b) = (coords[axis].get(e - 1), coords[axis].get(e));
            if a != b {
                ordered = a < b;
                break;
            }
        }
        if !ordered {
            return Err(Error::UnsortedCoordinates {
                entry: e as u64, // usize fits in u64
                sorted_by: sorted_by.to_vec(),
            });
        }
    }
    Ok(())
}

/// The permutation that reorders entries sorted by `from` into the order `to`: entry `i` of the
/// result is entry `perm[i]` of the input. `None` when the orders are the same.
///
/// A stable sort by a key keeps the input's order among ties, so it sorts only by the shortest
/// prefix of `to` after which the input's order of the remaining axes already agrees with
/// `to`'s (one pass for row-major to column-major and back), each axis a stable counting sort.
///
/// # Panics
/// When a coordinate is not below its axis length in `shape` (a caller bug: check first).
pub fn permutation(coords: &[Coords], shape: &[usize], from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    let key = sort_key(from, to);
    if key.is_empty() {
        return None;
    }
    let n = coords.first().map_or(0, Coords::len);
    let mut order: Vec<usize> = (0..n).collect();
    let mut scratch = vec![0usize; n];
    for &axis in key.iter().rev() {
        sort_by_axis(&mut order, &mut scratch, &coords[axis], shape[axis]);
    }
    Some(order)
}

/// The shortest prefix of `to` whose stable sort turns the order `from` into `to`.
fn sort_key<'a>(from: &[usize], to: &'a [usize]) -> &'a [usize] {
    (0..=to.len())
        .map(|j| &to[..j])
        .find(|key| {
            let rest =
                |o: &[usize]| -> Vec<usize> { o.iter().copied().filter(|a| !key.contains(a)).collect() };
            rest(from) == rest(to)
        })
        .unwrap_or(to)
}

/// Stable sort of `order` by each entry's coordinate in `c`: a counting sort when the axis is
/// not much longer than the entries, a merge sort otherwise.
fn sort_by_axis(order: &mut Vec<usize>, scratch: &mut Vec<usize>, c: &Coords, len: usize) {
    let n = order.len();
    if len > n.saturating_mul(4).max(1 << 16) {
        order.sort_by_key(|&e| c.get(e));
        return;
    }
    let mut start = vec![0usize; len + 1];
    for &e in order.iter() {
        // In range: coordinates are below the axis length, which fits in usize.
        start[c.get(e) as usize + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    for &e in order.iter() {
        let slot = &mut start[c.get(e) as usize];
        scratch[*slot] = e;
        *slot += 1;
    }
    std::mem::swap(order, scratch);
}

/// `c` reordered by `perm`.
pub fn gather_coords(c: &Coords, perm: &[usize]) -> Coords {
    match c {
        Coords::U8(v) => Coords::U8(gather(v, perm)),
        Coords::U16(v) => Coords::U16(gather(v, perm)),
        Coords::U32(v) => Coords::U32(gather(v, perm)),
        Coords::U64(v) => Coords::U64(gather(v, perm)),
    }
}

/// `v` reordered by `perm`.
pub fn gather<T: Copy>(v: &[T], perm: &[usize]) -> Vec<T> {
    perm.iter().map(|&i| v[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coords(cols: &[&[u64]], shape: &[usize]) -> Vec<Coords> {
        cols.iter()
            .zip(shape)
            .map(|(c, &len)| {
                let mut out = Coords::for_axis(len as u64, c.len());
                c.iter().for_each(|&x| out.push(x));
                out
            })
            .collect()
    }

    #[test]
    fn sort_keys_are_the_shortest_prefix() {
        assert_eq!(sort_key(&[0, 1], &[0, 1]), &[] as &[usize]);
        assert_eq!(sort_key(&[0, 1], &[1, 0]), &[1]);
        assert_eq!(sort_key(&[1, 0], &[0, 1]), &[0]);
        assert_eq!(sort_key(&[0, 1, 2], &[1, 2, 0]), &[1, 2]);
        assert_eq!(sort_key(&[1, 2, 0], &[0, 1, 2]), &[0]);
        assert_eq!(sort_key(&[0, 2, 1], &[0, 1, 2]), &[0, 1]);
        assert_eq!(sort_key(&[2, 1, 0], &[0, 1, 2]), &[0, 1]);
    }

    #[test]
    fn permutations_round_trip_between_orders() {
        // A 3x4 array with entries in row-major order; both sort paths (counting and merge).
        let shape = [3usize, 4];
        let c = coords(&[&[0, 0, 1, 2, 2, 2], &[1, 3, 0, 0, 1, 3]], &shape);
        check_sorted_by(&c, &[0, 1]).unwrap();
        let perm = permutation(&c, &shape, &[0, 1], &[1, 0]).unwrap();
        let cm: Vec<Coords> = c.iter().map(|x| gather_coords(x, &perm)).collect();
        check_sorted_by(&cm, &[1, 0]).unwrap();
        assert!(check_sorted_by(&cm, &[0, 1]).is_err());
        assert_eq!(cm[1], coords(&[&[0, 0, 1, 1, 3, 3]], &[4])[0]);
        assert_eq!(cm[0], coords(&[&[1, 2, 0, 2, 0, 2]], &[3])[0]);
        let back = permutation(&cm, &shape, &[1, 0], &[0, 1]).unwrap();
        let rm: Vec<Coords> = cm.iter().map(|x| gather_coords(x, &back)).collect();
        assert_eq!(rm, c);
        assert!(permutation(&c, &shape, &[0, 1], &[0, 1]).is_none());
        // A long axis sorts by merging: same answer.
        let wide = [3usize, 1 << 20];
        let mut order: Vec<usize> = (0..6).collect();
        let mut scratch = vec![0; 6];
        sort_by_axis(&mut order, &mut scratch, &c[1], wide[1]);
        assert_eq!(order, perm);
    }

    #[test]
    fn three_axes_every_inner_axis() {
        let shape = [2usize, 3, 2];
        let cells: Vec<[u64; 3]> = (0..12u64)
            .filter(|f| f % 5 != 1)
            .map(|f| [f / 6, (f / 2) % 3, f % 2])
            .collect();
        let cols: Vec<Vec<u64>> = (0..3).map(|a| cells.iter().map(|x| x[a]).collect()).collect();
        let refs: Vec<&[u64]> = cols.iter().map(|c| c.as_slice()).collect();
        let c = coords(&refs, &shape);
        for inner in 0..3 {
            let to = inner_last(3, inner);
            let perm = permutation(&c, &shape, &[0, 1, 2], &to).unwrap_or_else(|| (0..cells.len()).collect());
            let moved: Vec<Coords> = c.iter().map(|x| gather_coords(x, &perm)).collect();
            check_sorted_by(&moved, &to).unwrap();
            let back =
                permutation(&moved, &shape, &to, &[0, 1, 2]).unwrap_or_else(|| (0..cells.len()).collect());
            let again: Vec<Coords> = moved.iter().map(|x| gather_coords(x, &back)).collect();
            assert_eq!(again, c, "inner {inner}");
        }
    }

    #[test]
    fn duplicates_and_disorder_are_errors() {
        let shape = [3usize, 3];
        let c = coords(&[&[0, 1, 1], &[2, 0, 0]], &shape);
        let e = check_sorted_by(&c, &[0, 1]).unwrap_err();
        assert!(matches!(e, Error::UnsortedCoordinates { entry: 2, .. }), "{e}");
        assert!(is_permutation(&[1, 0], 2));
        assert!(!is_permutation(&[1, 1], 2));
        assert!(!is_permutation(&[0, 2], 2));
        assert!(!is_permutation(&[0], 2));
    }
}
