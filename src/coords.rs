//! One axis' coordinates of a sparse array ([`Coords`]), at the narrowest unsigned width the
//! axis length needs: the building block of [`Coo`](crate::Coo), the entry orders and the
//! sparse and runs tables.

use crate::dtype::{DType, Element};

/// One axis' coordinates, at the narrowest width the axis length needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Coords {
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
}

/// Runs `$body` with `$v` bound to the coordinate vector of whichever width `$c` holds.
macro_rules! with_coords {
    ($c:expr, $v:ident => $body:expr) => {
        match $c {
            $crate::coords::Coords::U8($v) => $body,
            $crate::coords::Coords::U16($v) => $body,
            $crate::coords::Coords::U32($v) => $body,
            $crate::coords::Coords::U64($v) => $body,
        }
    };
}
pub(crate) use with_coords;

impl Coords {
    /// Empty coordinates for an axis of length `len`.
    pub fn for_axis(len: u64, capacity: usize) -> Coords {
        match Coords::dtype_for(len) {
            DType::U8 => Coords::U8(Vec::with_capacity(capacity)),
            DType::U16 => Coords::U16(Vec::with_capacity(capacity)),
            DType::U32 => Coords::U32(Vec::with_capacity(capacity)),
            _ => Coords::U64(Vec::with_capacity(capacity)),
        }
    }

    /// The coordinates `c` of an axis of length `len`, at the axis' width; the caller has
    /// checked that each is below `len`.
    ///
    /// # Panics
    /// When a coordinate does not fit the axis' width (a caller bug).
    pub(crate) fn from_in_range(len: u64, c: &[u64]) -> Coords {
        fn narrow<U: TryFrom<u64>>(c: &[u64]) -> Vec<U> {
            c.iter()
                .map(|&x| U::try_from(x).unwrap_or_else(|_| panic!("coordinate {x} wider than its axis")))
                .collect()
        }
        match Coords::dtype_for(len) {
            DType::U8 => Coords::U8(narrow(c)),
            DType::U16 => Coords::U16(narrow(c)),
            DType::U32 => Coords::U32(narrow(c)),
            _ => Coords::U64(c.to_vec()),
        }
    }

    /// The stored type of coordinates on an axis of length `len`.
    pub fn dtype_for(len: u64) -> DType {
        DType::unsigned_for(u128::from(len.saturating_sub(1))).unwrap_or(DType::U64)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            Coords::U8(_) => DType::U8,
            Coords::U16(_) => DType::U16,
            Coords::U32(_) => DType::U32,
            Coords::U64(_) => DType::U64,
        }
    }

    /// The number of coordinates.
    pub fn len(&self) -> usize {
        with_coords!(self, v => v.len())
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Coordinate `i`.
    #[allow(clippy::useless_conversion)] // u64::from is the identity for the U64 arm
    pub fn get(&self, i: usize) -> u64 {
        with_coords!(self, v => u64::from(v[i]))
    }

    /// Appends a coordinate.
    ///
    /// # Panics
    /// When `c` does not fit the width (a caller bug: widths come from the axis length).
    pub fn push(&mut self, c: u64) {
        const MSG: &str = "Coords::push: coordinate wider than its axis";
        match self {
            Coords::U8(v) => v.push(u8::try_from(c).expect(MSG)),
            Coords::U16(v) => v.push(u16::try_from(c).expect(MSG)),
            Coords::U32(v) => v.push(u32::try_from(c).expect(MSG)),
            Coords::U64(v) => v.push(c),
        }
    }

    /// Adds `n` to the last coordinate.
    ///
    /// # Panics
    /// When there is none or the sum does not fit the width (caller bugs).
    #[allow(clippy::useless_conversion)] // the identity for the U64 arm
    pub(crate) fn add_to_last(&mut self, n: u64) {
        const MSG: &str = "Coords::add_to_last: no coordinate, or the sum is wider than its axis";
        with_coords!(self, v => {
            let last = v.last_mut().expect(MSG);
            *last = u64::from(*last).checked_add(n).and_then(|s| s.try_into().ok()).expect(MSG);
        })
    }

    /// Appends the coordinates of `other` from position `skip` on.
    ///
    /// # Panics
    /// When `other` has another width (a caller bug: both come from one axis).
    pub(crate) fn extend_from(&mut self, other: &Coords, skip: usize) {
        match (self, other) {
            (Coords::U8(a), Coords::U8(b)) => a.extend_from_slice(b.get(skip..).unwrap_or(&[])),
            (Coords::U16(a), Coords::U16(b)) => a.extend_from_slice(b.get(skip..).unwrap_or(&[])),
            (Coords::U32(a), Coords::U32(b)) => a.extend_from_slice(b.get(skip..).unwrap_or(&[])),
            (Coords::U64(a), Coords::U64(b)) => a.extend_from_slice(b.get(skip..).unwrap_or(&[])),
            _ => panic!("Coords::extend_from: coordinates of another width"),
        }
    }

    /// Takes out the first `n` coordinates (all of them when there are fewer).
    pub(crate) fn split_front(&mut self, n: usize) -> Coords {
        // The front is copied out at its length; `v` keeps its buffer for what comes next.
        fn front<U: Copy>(v: &mut Vec<U>, n: usize) -> Vec<U> {
            let n = n.min(v.len());
            let front = v[..n].to_vec();
            v.drain(..n);
            front
        }
        match self {
            Coords::U8(v) => Coords::U8(front(v, n)),
            Coords::U16(v) => Coords::U16(front(v, n)),
            Coords::U32(v) => Coords::U32(front(v, n)),
            Coords::U64(v) => Coords::U64(front(v, n)),
        }
    }

    /// Bytes in memory.
    pub fn memory_bytes(&self) -> u64 {
        self.dtype().nbytes(self.len())
    }

    /// As an Arrow array (UInt8..UInt64).
    pub fn to_arrow(&self) -> arrow::array::ArrayRef {
        self.clone().into_arrow()
    }

    /// The coordinates of the entries `rows` as an Arrow array (UInt8..UInt64).
    pub(crate) fn slice_to_arrow(&self, rows: std::ops::Range<usize>) -> arrow::array::ArrayRef {
        with_coords!(self, v => Element::to_arrow(v[rows].to_vec()))
    }

    /// As an Arrow array (UInt8..UInt64), without a copy.
    pub fn into_arrow(self) -> arrow::array::ArrayRef {
        with_coords!(self, v => Element::to_arrow(v))
    }
}
