//! The order a sparse file's entries are stored in: a sort key over the axes, and the stable
//! permutations that move entries from one such order to another.
//!
//! An order is written as the axes the entries are sorted by, most significant first: `[0, 1]`
//! is row-major, `[1, 0]` column-major. In memory a [`Coo`](crate::Coo) is always row-major; a
//! file may store its entries in another order when that measures smaller (a column-major
//! document-term matrix keeps each term's documents together, so the inner index column is a run
//! of small gaps), and the reader sorts them back.

use std::ops::Range;

use crate::coords::{with_coords, Coords};
use crate::error::{Error, Result};

/// `0..ndim`: row-major (C) order.
pub fn row_major(ndim: usize) -> Vec<usize> {
    (0..ndim).collect()
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
    match first_unordered(coords, sorted_by) {
        None => Ok(()),
        Some(e) => Err(Error::UnsortedCoordinates {
            entry: e as u64, // usize fits in u64
            sorted_by: sorted_by.to_vec(),
        }),
    }
}

/// Entries whose sort keys are built at once by [`first_unordered`].
const KEY_BLOCK: usize = 1024;

/// The first entry that is not strictly after the one before it in the order `sorted_by`.
///
/// When the axes' widths add up to at most 64 bits, each entry's coordinates are packed into one
/// `u64` key (most significant axis in the high bits), a block of entries at a time with one
/// loop per axis, and the keys compared; otherwise the coordinates are compared one by one.
#[allow(clippy::useless_conversion)] // u64::from is the identity for the U64 arm
fn first_unordered(coords: &[Coords], sorted_by: &[usize]) -> Option<usize> {
    let n = coords.first().map_or(0, Coords::len);
    let bits: Vec<u32> = sorted_by
        .iter()
        .map(|&a| u32::try_from(coords[a].dtype().size() * 8).unwrap_or(u32::MAX))
        .collect();
    if bits
        .iter()
        .try_fold(0u32, |t, &b| t.checked_add(b))
        .is_none_or(|t| t > 64)
    {
        return (1..n).find(|&e| {
            sorted_by
                .iter()
                .map(|&axis| coords[axis].get(e - 1).cmp(&coords[axis].get(e)))
                .find(|o| o.is_ne())
                != Some(std::cmp::Ordering::Less)
        });
    }
    let mut keys = [0u64; KEY_BLOCK];
    let mut last: Option<u64> = None;
    for start in (0..n).step_by(KEY_BLOCK) {
        let end = (start + KEY_BLOCK).min(n);
        let keys = &mut keys[..end - start];
        keys.fill(0);
        for (&axis, &b) in sorted_by.iter().zip(&bits) {
            with_coords!(&coords[axis], v => {
                for (k, &c) in keys.iter_mut().zip(&v[start..end]) {
                    // A shift by 64 happens only for a lone 64-bit axis, whose key is still 0.
                    *k = k.checked_shl(b).unwrap_or(0) | u64::from(c);
                }
            });
        }
        if let Some(prev) = last {
            if keys[0] <= prev {
                return Some(start);
            }
        }
        if let Some(i) = keys.windows(2).position(|w| w[1] <= w[0]) {
            return Some(start + i + 1);
        }
        last = keys.last().copied();
    }
    None
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

/// The positions, in the `from` order, of the entries at `ranges` of positions in the `to`
/// order: `ranges` mapped through [`permutation`], without sorting every entry. Only the
/// entries whose leading `to` coordinate the ranges reach are sorted, so measuring a sample of
/// another order costs a pass over the entries and a sort of about the sample.
///
/// # Panics
/// When a coordinate is not below its axis length in `shape`, or `ranges` are not increasing
/// ranges of entries (caller bugs).
pub fn positions_at(
    coords: &[Coords],
    shape: &[usize],
    from: &[usize],
    to: &[usize],
    ranges: &[Range<usize>],
) -> Vec<usize> {
    let n = coords.first().map_or(0, Coords::len);
    assert!(
        ranges.windows(2).all(|w| w[0].end <= w[1].start) && ranges.last().is_none_or(|r| r.end <= n),
        "positions_at: ranges {ranges:?} are not increasing ranges of {n} entries"
    );
    let key = sort_key(from, to);
    let Some(&lead) = key.first() else {
        return ranges.iter().flat_map(|r| r.clone()).collect();
    };
    let len = shape[lead];
    if !countable(len, n) {
        // Too long an axis to count by: sort every entry.
        let perm = permutation(coords, shape, from, to).expect("a non-empty key reorders");
        return ranges
            .iter()
            .flat_map(|r| perm[r.clone()].iter().copied())
            .collect();
    }
    // start[v]: the position, in the `to` order, of the first entry whose leading coordinate is v.
    let lead_coords = &coords[lead];
    let start = with_coords!(lead_coords, c => block_starts(len, c.iter().map(|&x| as_index(x))));
    // The block of position p: the last v with start[v] <= p (empty blocks share a start).
    let block = |p: usize| start.partition_point(|&s| s <= p) - 1;
    let mut wanted = vec![false; len];
    for r in ranges.iter().filter(|r| !r.is_empty()) {
        wanted[block(r.start)..=block(r.end - 1)].fill(true);
    }
    let mut subset: Vec<usize> = with_coords!(lead_coords, c => {
        (0..n).filter(|&e| wanted[as_index(c[e])]).collect()
    });
    let mut scratch = vec![0usize; subset.len()];
    for &axis in key.iter().rev() {
        sort_by_axis(&mut subset, &mut scratch, &coords[axis], shape[axis]);
    }
    // Position p, in block v, is entry `below + p - start[v]` of the subset, where `below`
    // counts the subset's entries in the blocks before v.
    let (mut v, mut below) = (0, 0);
    let mut out = Vec::with_capacity(ranges.iter().map(|r| r.len()).sum());
    for p in ranges.iter().flat_map(|r| r.clone()) {
        while start[v + 1] <= p {
            if wanted[v] {
                below += start[v + 1] - start[v];
            }
            v += 1;
        }
        out.push(subset[below + p - start[v]]);
    }
    out
}

/// Whether entries are sorted by an axis of length `len` by counting (one slot per coordinate)
/// rather than by comparing: when the axis is not much longer than the `entries`.
fn countable(len: usize, entries: usize) -> bool {
    len <= entries.saturating_mul(4).max(1 << 16)
}

/// A coordinate as an index: coordinates are below their axis length, which fits in usize.
fn as_index<T: Into<u64>>(x: T) -> usize {
    x.into() as usize // below an axis length, fits
}

/// For coordinates on an axis of length `len`, where each value's run starts once they are
/// stably sorted: `start[v]` entries have a coordinate below `v` (`len + 1` slots).
fn block_starts(len: usize, coords: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut start = vec![0usize; len + 1];
    for v in coords {
        start[v + 1] += 1;
    }
    for i in 1..start.len() {
        start[i] += start[i - 1];
    }
    start
}

/// Stable sort of `order` by each entry's coordinate in `c`: a counting sort when the axis is
/// [`countable`], a merge sort otherwise. `scratch` is as long as `order`.
fn sort_by_axis(order: &mut Vec<usize>, scratch: &mut Vec<usize>, c: &Coords, len: usize) {
    with_coords!(c, c => {
        let at = |e: usize| as_index(c[e]);
        if !countable(len, order.len()) {
            order.sort_by_key(|&e| at(e));
            return;
        }
        let mut start = block_starts(len, order.iter().map(|&e| at(e)));
        for &e in order.iter() {
            let slot = &mut start[at(e)];
            scratch[*slot] = e;
            *slot += 1;
        }
        std::mem::swap(order, scratch);
    })
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

    #[test]
    fn inner_last_puts_the_axis_last() {
        assert_eq!(inner_last(3, 0), vec![1, 2, 0]);
        assert_eq!(inner_last(2, 1), row_major(2));
    }

    #[test]
    fn positions_of_a_column_major_sample() {
        // Entries (0,1), (0,2), (1,0), (1,2) in row-major order; by column: (1,0), (0,1), (0,2), (1,2).
        let c = crate::Coo::new(
            vec![2, 3],
            vec![vec![0, 0, 1, 1], vec![1, 2, 0, 2]],
            vec![1u8; 4],
            0,
        );
        assert_eq!(
            positions_at(c.all_coords(), c.shape(), &[0, 1], &[1, 0], &[0..1, 2..4]),
            vec![2, 1, 3]
        );
    }

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
    fn positions_at_agree_with_the_permutation() {
        // A 3-D array with uneven blocks; every order, ranges of every kind (empty, within one
        // block, across blocks, at both ends), through both the counting and the merge paths.
        let shape = [5usize, 7, 3];
        let cells: Vec<[u64; 3]> = (0..105u64)
            .filter(|f| (f * 37 + f / 9) % 4 != 0)
            .map(|f| [f / 21, (f / 3) % 7, f % 3])
            .collect();
        let cols: Vec<Vec<u64>> = (0..3).map(|a| cells.iter().map(|x| x[a]).collect()).collect();
        let refs: Vec<&[u64]> = cols.iter().map(|c| c.as_slice()).collect();
        let c = coords(&refs, &shape);
        let n = cells.len();
        let range_sets: Vec<Vec<Range<usize>>> = vec![
            vec![],
            vec![0..n],
            vec![0..1, 5..5, 9..30, 31..32, n - 3..n],
            vec![2..3, 40..47],
        ];
        for inner in 0..3 {
            let to = inner_last(3, inner);
            let perm = permutation(&c, &shape, &[0, 1, 2], &to).unwrap_or_else(|| (0..n).collect());
            for ranges in &range_sets {
                let want: Vec<usize> = ranges.iter().flat_map(|r| perm[r.clone()].to_vec()).collect();
                assert_eq!(
                    positions_at(&c, &shape, &[0, 1, 2], &to, ranges),
                    want,
                    "{to:?} {ranges:?}"
                );
            }
        }
        // A leading axis too long to count by sorts every entry: same answer.
        let long = [1usize << 20, 7, 3];
        let to = inner_last(3, 1); // sorted by axes 0 then 2: axis 0 leads
        assert_eq!(sort_key(&[0, 1, 2], &to)[0], 0);
        let perm = permutation(&c, &long, &[0, 1, 2], &to).unwrap();
        assert_eq!(
            positions_at(&c, &long, &[0, 1, 2], &to, &[3..5, 5..9]),
            perm[3..9].to_vec()
        );
    }

    #[test]
    #[should_panic(expected = "are not increasing ranges")]
    fn positions_at_wants_increasing_ranges() {
        let c = coords(&[&[0, 1, 1], &[2, 0, 1]], &[3, 3]);
        positions_at(&c, &[3, 3], &[0, 1], &[1, 0], &[2..3, 0..1]);
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

    /// The packed-key check finds the same first unordered entry as comparing coordinates one
    /// by one, for keys of up to 64 bits (packed) and wider (compared), at block edges too.
    #[test]
    fn packed_keys_find_the_first_unordered_entry() {
        let slow = |c: &[Coords], by: &[usize]| {
            let n = c[0].len();
            (1..n).find(|&e| {
                by.iter()
                    .map(|&a| c[a].get(e - 1).cmp(&c[a].get(e)))
                    .find(|o| o.is_ne())
                    != Some(std::cmp::Ordering::Less)
            })
        };
        // 16 + 32 bits packed; three 32-bit axes (96 bits) compared; a lone 64-bit axis packed.
        let shapes: [&[usize]; 3] = [&[300, 70_000], &[70_000, 70_000, 70_000], &[1 << 40]];
        for shape in shapes {
            let ndim = shape.len();
            // Strictly increasing row-major entries: flat index 0, 7, 14, ... as coordinates.
            let n = 3 * KEY_BLOCK + 5;
            let sorted: Vec<Vec<u64>> = (0..ndim)
                .map(|a| {
                    (0..n as u64)
                        .map(|e| {
                            let inner: u64 = shape[a + 1..].iter().map(|&l| l as u64).product();
                            (e * 7 / inner) % shape[a] as u64
                        })
                        .collect()
                })
                .collect();
            for broken in [
                None,
                Some(1),
                Some(KEY_BLOCK - 1),
                Some(KEY_BLOCK),
                Some(2 * KEY_BLOCK + 1),
                Some(n - 1),
            ] {
                for duplicate in [false, true] {
                    let mut cols = sorted.clone();
                    if let Some(e) = broken {
                        for col in cols.iter_mut() {
                            // The entry before it again, or one that sorts before it.
                            col[e] = if duplicate {
                                col[e - 1]
                            } else {
                                col[e - 1].saturating_sub(1)
                            };
                        }
                        if !duplicate && cols.iter().all(|c| c[e] == c[e - 1]) {
                            cols[ndim - 1][e] = 0; // the first entry's cell is (0, ..): still before
                        }
                    }
                    let refs: Vec<&[u64]> = cols.iter().map(|c| c.as_slice()).collect();
                    let c = coords(&refs, shape);
                    let by = row_major(ndim);
                    assert_eq!(first_unordered(&c, &by), slow(&c, &by), "{shape:?} {broken:?}");
                    assert_eq!(
                        first_unordered(&c, &by),
                        broken,
                        "{shape:?} {broken:?} {duplicate}"
                    );
                }
            }
        }
    }
}
