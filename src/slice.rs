//! Slices of an array: NumPy's basic slicing syntax (`"100:200, :, 5"`, `"..., ::-1"`) and
//! ndarray's `s![..]`, each resolved against a shape into one [`Selection`]: for every axis of
//! the array, the first index taken, the step and the count, and whether the axis is kept (an
//! integer index drops it); and where new axes of length 1 go.
//!
//! The two syntaxes differ only for negative steps: NumPy's `a[8:2:-2]` starts at 8 and goes
//! down to 3, ndarray's `s![2..8;-2]` takes `2..8` backwards (7, 5, 3). Each is resolved as
//! its own library defines it, so a slice read equals slicing the whole array in that library.

use ndarray::SliceInfoElem;

use crate::error::{Error, Result};

/// What a slice takes of one axis of the array: `len` indices from `start` by `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisSelection {
    /// The first index taken (any value when `len` is 0).
    pub start: u64,
    /// The step between indices taken (never 0; negative: downwards).
    pub step: i64,
    /// How many indices are taken.
    pub len: u64,
    /// Whether the axis is in the result (an integer index drops it).
    pub keep: bool,
}

impl AxisSelection {
    /// The `k`-th index taken (`k < len`).
    pub fn index(&self, k: u64) -> u64 {
        // In range: the resolution checked every index taken (i128 holds the products).
        let i = i128::from(self.start) + i128::from(k) * i128::from(self.step);
        u64::try_from(i).expect("a resolved selection stays in its axis")
    }

    /// The lowest and highest index taken, where any is.
    pub fn bounds(&self) -> Option<(u64, u64)> {
        (self.len > 0).then(|| {
            let last = self.index(self.len - 1);
            (self.start.min(last), self.start.max(last))
        })
    }

    /// The `k`s whose index lies in `from..to`, in increasing order (a range, since the
    /// index moves one way with `k`).
    pub fn taking(&self, from: u64, to: u64) -> std::ops::Range<u64> {
        if self.len == 0 || from >= to {
            return 0..0;
        }
        let (s, step) = (i128::from(self.start), i128::from(self.step));
        let (f, t) = (i128::from(from), i128::from(to) - 1);
        let ceil = |a: i128, b: i128| -(-a).div_euclid(b);
        // index(k) = s + k * step within f..=t.
        let (lo, hi) = if step > 0 {
            (ceil(f - s, step), (t - s).div_euclid(step))
        } else {
            (ceil(s - t, -step), (s - f).div_euclid(-step))
        };
        let (lo, hi) = (lo.max(0), hi.min(i128::from(self.len) - 1));
        if lo > hi {
            return 0..0;
        }
        // Both within 0..len.
        u64::try_from(lo).unwrap_or(0)..u64::try_from(hi + 1).unwrap_or(0)
    }

    /// Every index of an axis of `len`.
    pub fn all(len: u64) -> AxisSelection {
        AxisSelection {
            start: 0,
            step: 1,
            len,
            keep: true,
        }
    }
}

/// A slice resolved against an array's shape.
///
/// ```
/// use arrstore::slice::Selection;
/// let s = Selection::parse("1:9:3, -1, ..., ::-1", &[10, 4, 2, 5]).unwrap();
/// assert_eq!(s.shape(), vec![3, 2, 5]);
/// let axes = s.axes();
/// assert_eq!((axes[0].start, axes[0].step, axes[0].len), (1, 3, 3));
/// assert_eq!((axes[1].start, axes[1].keep), (3, false));
/// assert_eq!((axes[3].start, axes[3].step), (4, -1));
/// assert!(Selection::parse("0:2, 7", &[4, 5]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    axes: Vec<AxisSelection>,
    /// The result's axes in order: `Some(axis)` for a kept axis of the array, `None` for a new
    /// axis of length 1.
    out: Vec<Option<usize>>,
}

/// One item of a slice before it is resolved against an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Index(i128),
    /// NumPy's `start:stop:step` (each optional).
    Range(Option<i128>, Option<i128>, Option<i128>),
    /// ndarray's `start..end;step`.
    NdRange(i128, Option<i128>, i128),
    NewAxis,
    Ellipsis,
}

impl Selection {
    /// NumPy's basic slicing of an array of `shape`: comma-separated integers (negative from
    /// the end; each drops its axis), `start:stop:step` ranges (each part optional), at most
    /// one `...` (as many `:` as the other items leave), and `None` or `newaxis` (a new axis of
    /// length 1). Axes not named are taken whole. An error names the problem: syntax, an index
    /// out of bounds, a step of 0, more indices than axes.
    pub fn parse(text: &str, shape: &[u64]) -> Result<Selection> {
        let bad = |m: String| Error::BadSlice(format!("'{text}': {m}"));
        let trimmed = text.trim();
        let mut items = Vec::new();
        if !trimmed.is_empty() {
            for part in trimmed.split(',') {
                let part = part.trim();
                items.push(parse_item(part).map_err(|m| bad(format!("'{part}' {m}")))?);
            }
        }
        Selection::resolve(&items, shape).map_err(bad)
    }

    /// ndarray's slicing (the elements of `s![..]`) of an array of `shape`, as
    /// `ArrayBase::slice` defines it, with an error where it would panic.
    pub fn from_ndarray(elems: &[SliceInfoElem], shape: &[u64]) -> Result<Selection> {
        let items: Vec<Item> = elems
            .iter()
            .map(|e| match *e {
                SliceInfoElem::Index(i) => Item::Index(i as i128), // isize fits in i128
                SliceInfoElem::Slice { start, end, step } => {
                    Item::NdRange(start as i128, end.map(|e| e as i128), step as i128)
                }
                SliceInfoElem::NewAxis => Item::NewAxis,
            })
            .collect();
        Selection::resolve(&items, shape).map_err(|m| Error::BadSlice(format!("{elems:?}: {m}")))
    }

    /// Every cell of an array of `shape`.
    pub fn all(shape: &[u64]) -> Selection {
        Selection {
            axes: shape.iter().map(|&len| AxisSelection::all(len)).collect(),
            out: (0..shape.len()).map(Some).collect(),
        }
    }

    fn resolve(items: &[Item], shape: &[u64]) -> std::result::Result<Selection, String> {
        let ellipses = items.iter().filter(|i| **i == Item::Ellipsis).count();
        if ellipses > 1 {
            return Err("an index can only have a single ellipsis ('...')".into());
        }
        let naming = items
            .iter()
            .filter(|i| !matches!(i, Item::Ellipsis | Item::NewAxis))
            .count();
        if naming > shape.len() {
            return Err(format!(
                "too many indices for array: array is {}-dimensional, but {naming} were indexed",
                shape.len()
            ));
        }
        // The items with the ellipsis (or the end) expanded into whole axes.
        let mut expanded: Vec<Item> = Vec::with_capacity(shape.len() + items.len());
        let whole = Item::Range(None, None, None);
        for item in items {
            match item {
                Item::Ellipsis => expanded.extend(std::iter::repeat_n(whole, shape.len() - naming)),
                i => expanded.push(*i),
            }
        }
        if ellipses == 0 {
            expanded.extend(std::iter::repeat_n(whole, shape.len() - naming));
        }
        let (mut axes, mut out) = (Vec::with_capacity(shape.len()), Vec::new());
        for item in expanded {
            if item == Item::NewAxis {
                out.push(None);
                continue;
            }
            let axis = axes.len();
            let len = shape[axis];
            let n = i128::from(len);
            let sel = match item {
                Item::Index(i) => {
                    let at = if i < 0 { i + n } else { i };
                    if !(0..n).contains(&at) {
                        return Err(format!(
                            "index {i} is out of bounds for axis {axis} with size {len}"
                        ));
                    }
                    AxisSelection {
                        start: u64::try_from(at).expect("in 0..len"),
                        step: 1,
                        len: 1,
                        keep: false,
                    }
                }
                Item::Range(start, stop, step) => {
                    numpy_range(start, stop, step, n).map_err(|m| format!("axis {axis}: {m}"))?
                }
                Item::NdRange(start, end, step) => ndarray_range(start, end, step, n)
                    .map_err(|m| format!("axis {axis} of size {len}: {m}"))?,
                Item::NewAxis | Item::Ellipsis => unreachable!("handled above"),
            };
            if sel.keep {
                out.push(Some(axis));
            }
            axes.push(sel);
        }
        Ok(Selection { axes, out })
    }

    /// This selection with `first` taken of axis 0 instead (the same result axes): what a
    /// part of a [`crate::dataset::Dataset`] gives of a slice of the whole.
    pub fn with_first_axis(&self, first: AxisSelection) -> Selection {
        let mut s = self.clone();
        if let Some(a) = s.axes.first_mut() {
            *a = AxisSelection {
                keep: a.keep,
                ..first
            };
        }
        s
    }

    /// The result's axis that `axis` of the array becomes (`None` where it is dropped).
    pub fn out_axis_of(&self, axis: usize) -> Option<usize> {
        self.out.iter().position(|o| *o == Some(axis))
    }

    /// What is taken of each axis of the array.
    pub fn axes(&self) -> &[AxisSelection] {
        &self.axes
    }

    /// The result's shape.
    pub fn shape(&self) -> Vec<usize> {
        self.out
            .iter()
            .map(|o| match o {
                // Each count is at most its axis' length, and the array's cells fit in usize
                // where it is read.
                Some(axis) => usize::try_from(self.axes[*axis].len).unwrap_or(usize::MAX),
                None => 1,
            })
            .collect()
    }

    /// The cells of the result.
    pub fn cells(&self) -> u64 {
        self.axes.iter().map(|a| a.len).product()
    }

    /// Whether it takes every cell in order (the whole array, perhaps with new axes).
    pub fn is_all(&self, shape: &[u64]) -> bool {
        self.axes
            .iter()
            .zip(shape)
            .all(|(a, &len)| a.keep && a.start == 0 && a.step == 1 && a.len == len)
    }
}

/// One item of NumPy's syntax.
fn parse_item(part: &str) -> std::result::Result<Item, String> {
    match part {
        "..." | "Ellipsis" => return Ok(Item::Ellipsis),
        "None" | "newaxis" | "np.newaxis" => return Ok(Item::NewAxis),
        "" => return Err("is empty (use ':' for a whole axis)".into()),
        _ => {}
    }
    let number = |s: &str| -> std::result::Result<Option<i128>, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.replace('_', "")
            .parse::<i128>()
            .map(Some)
            .map_err(|_| format!("has '{s}', which is not an integer"))
    };
    let pieces: Vec<&str> = part.split(':').collect();
    match pieces.as_slice() {
        [one] => Ok(Item::Index(number(one)?.expect("not empty"))),
        [start, stop] => Ok(Item::Range(number(start)?, number(stop)?, None)),
        [start, stop, step] => Ok(Item::Range(number(start)?, number(stop)?, number(step)?)),
        _ => Err("is not an index or a slice (start:stop:step)".into()),
    }
}

/// NumPy's (Python's) `slice(start, stop, step).indices(n)`.
fn numpy_range(
    start: Option<i128>,
    stop: Option<i128>,
    step: Option<i128>,
    n: i128,
) -> std::result::Result<AxisSelection, String> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err("slice step cannot be zero".into());
    }
    let adjust = |v: i128| -> i128 {
        if v < 0 {
            let v = v + n;
            if v < 0 {
                if step < 0 {
                    -1
                } else {
                    0
                }
            } else {
                v
            }
        } else if v >= n {
            if step < 0 {
                n - 1
            } else {
                n
            }
        } else {
            v
        }
    };
    let start = start.map_or(if step < 0 { n - 1 } else { 0 }, adjust);
    let stop = stop.map_or(if step < 0 { -1 } else { n }, adjust);
    let len = if step < 0 {
        if stop < start {
            (start - stop - 1) / (-step) + 1
        } else {
            0
        }
    } else if start < stop {
        (stop - start - 1) / step + 1
    } else {
        0
    };
    selection(start, step, len)
}

/// ndarray's `Slice { start, end, step }` on an axis of `n`: `start..end` (negative from the
/// end), taken backwards where `step` is negative.
fn ndarray_range(
    start: i128,
    end: Option<i128>,
    step: i128,
    n: i128,
) -> std::result::Result<AxisSelection, String> {
    if step == 0 {
        return Err("slice step cannot be zero".into());
    }
    let abs = |v: i128| if v < 0 { v + n } else { v };
    let start = abs(start);
    let mut end = abs(end.unwrap_or(n));
    if end < start {
        end = start;
    }
    if !(0..=n).contains(&start) || !(0..=n).contains(&end) {
        return Err(format!("the range {start}..{end} is out of bounds"));
    }
    let len = (end - start + step.abs() - 1) / step.abs();
    if step > 0 {
        selection(start, step, len)
    } else {
        selection(end - 1, step, len)
    }
}

fn selection(start: i128, step: i128, len: i128) -> std::result::Result<AxisSelection, String> {
    let step = i64::try_from(step).map_err(|_| format!("step {step} is too large"))?;
    Ok(AxisSelection {
        // An empty selection's start is not used; others start in the axis.
        start: u64::try_from(start.max(0)).unwrap_or(0),
        step,
        len: u64::try_from(len).unwrap_or(0),
        keep: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(s: &AxisSelection) -> Vec<u64> {
        (0..s.len).map(|k| s.index(k)).collect()
    }

    /// Python's `list(range(n))[start:stop:step]`, written out for the cases below.
    #[test]
    fn numpy_ranges_follow_python() {
        let cases: &[(&str, u64, &[u64])] = &[
            (":", 5, &[0, 1, 2, 3, 4]),
            ("1:3", 5, &[1, 2]),
            ("::2", 5, &[0, 2, 4]),
            ("::-1", 5, &[4, 3, 2, 1, 0]),
            ("8:2:-2", 10, &[8, 6, 4]),
            ("-3:", 5, &[2, 3, 4]),
            (":-3", 5, &[0, 1]),
            ("-100:100", 3, &[0, 1, 2]),
            ("100:-100:-1", 3, &[2, 1, 0]),
            ("3:1", 5, &[]),
            ("1:3:-1", 5, &[]),
            (":", 0, &[]),
            ("::-1", 0, &[]),
            ("-1::-2", 6, &[5, 3, 1]),
        ];
        for (text, n, want) in cases {
            let s = Selection::parse(text, &[*n]).unwrap();
            assert_eq!(taken(&s.axes()[0]), *want, "{text} of {n}");
            assert_eq!(s.shape(), vec![want.len()]);
        }
    }

    #[test]
    fn taking_finds_the_ks_of_a_span() {
        for text in ["::1", "1::3", "::-1", "8::-3", "2:9:2", "9:0:-2"] {
            let s = Selection::parse(text, &[12]).unwrap().axes()[0];
            for from in 0..13 {
                for to in from..14 {
                    let want: Vec<u64> = (0..s.len).filter(|&k| (from..to).contains(&s.index(k))).collect();
                    let got: Vec<u64> = s.taking(from, to).collect();
                    assert_eq!(got, want, "{text} {from}..{to}");
                }
            }
        }
    }

    #[test]
    fn indices_drop_axes_and_ellipsis_fills() {
        let s = Selection::parse("..., 1", &[3, 4, 5]).unwrap();
        assert_eq!(s.shape(), vec![3, 4]);
        let s = Selection::parse("-1, ...", &[3, 4, 5]).unwrap();
        assert_eq!((s.axes()[0].start, s.shape()), (2, vec![4, 5]));
        let s = Selection::parse("None, 0, ..., None", &[3, 4]).unwrap();
        assert_eq!(s.shape(), vec![1, 4, 1]);
        let s = Selection::parse("", &[3, 4]).unwrap();
        assert!(s.is_all(&[3, 4]));
        let s = Selection::parse("...", &[]).unwrap();
        assert_eq!(s.shape(), Vec::<usize>::new());
    }

    #[test]
    fn bad_slices_say_what_is_wrong() {
        let err = |t: &str, shape: &[u64]| Selection::parse(t, shape).unwrap_err().to_string();
        assert!(err("5", &[5]).contains("index 5 is out of bounds for axis 0 with size 5"));
        assert!(err("-6", &[5]).contains("index -6 is out of bounds"));
        assert!(err("::0", &[5]).contains("step cannot be zero"));
        assert!(err("1,2,3", &[5, 5])
            .contains("too many indices for array: array is 2-dimensional, but 3 were indexed"));
        assert!(err("...,...", &[5]).contains("single ellipsis"));
        assert!(err("1:2:3:4", &[5]).contains("'1:2:3:4' is not an index or a slice"));
        assert!(err("a:2", &[5]).contains("'a', which is not an integer"));
        assert!(err("1,,2", &[5, 5, 5]).contains("is empty"));
    }

    #[test]
    fn ndarray_ranges_follow_ndarray() {
        use ndarray::{s, Array1};
        let a = Array1::from_iter(0..10u64);
        let (hi, lo) = (7isize, 3isize); // an empty range: its end before its start
        let cases = [
            s![2..8;-2],
            s![..;-1],
            s![-3..;1],
            s![1..;3],
            s![hi..lo;1],
            s![..;-4],
        ];
        for info in cases {
            let elems: &[SliceInfoElem] = info.as_ref();
            let sel = Selection::from_ndarray(elems, &[10]).unwrap();
            let want: Vec<u64> = a.slice(info).to_vec();
            assert_eq!(taken(&sel.axes()[0]), want, "{elems:?}");
        }
        assert!(Selection::from_ndarray(s![11..].as_ref(), &[10]).is_err());
        let zero = [SliceInfoElem::Slice {
            start: 0,
            end: None,
            step: 0,
        }];
        assert!(Selection::from_ndarray(&zero, &[10]).is_err());
        assert!(Selection::from_ndarray(s![3].as_ref(), &[3]).is_err());
        assert!(Selection::from_ndarray(s![1, 1].as_ref(), &[3]).is_err());
    }
}
