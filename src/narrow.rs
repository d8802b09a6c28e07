//! Lossless narrowing: find the smallest stored type that holds every value exactly
//! ([`Scan`] → [`Narrowing`]), convert values to it ([`narrow`]) and back ([`widen`]).
//!
//! The rules, decided on the data alone:
//! - integers go to the smallest signed or unsigned type that holds `[min, max]`, or, when that
//!   is narrower, to the smallest unsigned type that holds `max - min` with `min` as an offset
//!   (frame of reference);
//! - floats that are all whole numbers (not -0.0, NaN or ±inf) in the `i64` range are narrowed as
//!   those integers, when that is narrower than the float;
//! - `float64` values that all survive a round trip through `float32` bit for bit (NaN payloads
//!   included) are stored as `float32`;
//! - `bool` stays `bool`; nothing is narrowed to a type of the same width.
//!
//! Arithmetic happens only here, in `i128`, at the storage boundary: no value is ever computed
//! in a narrowed type.
//!
//! ```
//! use arrstore::narrow::{Narrowing, Scan};
//! use arrstore::DType;
//! let values = [1_000_000_000_000i64, 1_000_000_000_200];
//! let n = Scan::of(&values).narrowing();
//! assert_eq!(n, Narrowing { stored: DType::U8, offset: 1_000_000_000_000, scale: None });
//! let stored = arrstore::narrow::narrow(&values, &n);
//! let mut back = Vec::<i64>::new();
//! arrstore::narrow::widen(stored.as_ref(), &n, &mut back).unwrap();
//! assert_eq!(back, values);
//! ```

use arrow::array::{Array, ArrayRef};

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::with_dtype;

/// How a column's values are stored: as `stored`, after subtracting `offset` (integers only),
/// and, for floats stored as integers `k` that are not whole numbers, with a `scale`.
///
/// The logical value is `original_dtype(stored_value + offset)`, computed exactly, or with a
/// scale, `k op by` in the float dtype's arithmetic with `k = stored_value + offset` (see
/// [`crate::scale`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Narrowing {
    /// The type the values are stored as.
    pub stored: DType,
    /// Subtracted from each value before storing (0 for none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: i128,
    /// How the integers are scaled back to float values (format 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<crate::scale::Scale>,
}

fn is_zero(v: &i128) -> bool {
    *v == 0
}

impl Narrowing {
    /// Values stored as they are.
    pub fn identity(dtype: DType) -> Narrowing {
        Narrowing {
            stored: dtype,
            offset: 0,
            scale: None,
        }
    }

    /// True when the stored values are the original ones.
    pub fn is_identity(&self, original: DType) -> bool {
        self.stored == original && self.offset == 0 && self.scale.is_none()
    }

    /// Checks that values of `original` can be stored this way (used on metadata read from a
    /// file): identity, any integer stored type for integer or float originals, `float32` for
    /// `float64`.
    pub fn check(&self, original: DType) -> Result<()> {
        if let Some(scale) = self.scale {
            scale.check(original)?;
            if !self.stored.is_integer() {
                return Err(Error::CorruptMetadata(format!(
                    "a scaled column stores integers, not {}",
                    self.stored
                )));
            }
            return Ok(());
        }
        let ok = self.is_identity(original)
            || (self.stored.is_integer() && (original.is_integer() || original.is_float()))
            || (self.stored == DType::F32 && original == DType::F64 && self.offset == 0);
        if ok {
            Ok(())
        } else {
            Err(Error::CorruptMetadata(format!(
                "{original} values cannot be stored as {} with offset {}",
                self.stored, self.offset
            )))
        }
    }
}

/// What one pass over some values found; [`Scan::narrowing`] decides from it.
///
/// Scans of parts merge, so a large array can be scanned chunk by chunk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scan {
    dtype: DType,
    count: u64,
    /// Every value so far is an exact integer.
    all_int: bool,
    /// `[min, max]` of those integers (empty when `min > max`).
    min: i128,
    max: i128,
    /// Every value so far survives `f32` bit for bit.
    all_f32: bool,
}

impl Scan {
    /// The scan of no values of `dtype`.
    pub fn new(dtype: DType) -> Scan {
        Scan {
            dtype,
            count: 0,
            all_int: dtype != DType::Bool,
            min: i128::MAX,
            max: i128::MIN,
            all_f32: dtype.is_float(),
        }
    }

    /// The scan of `values`.
    pub fn of<T: Element>(values: &[T]) -> Scan {
        let mut s = Scan::new(T::DTYPE);
        s.push(values);
        s
    }

    /// Adds `values` (of this scan's dtype) to the scan.
    ///
    /// # Panics
    /// When `T` is not this scan's dtype (a caller bug).
    pub fn push<T: Element>(&mut self, values: &[T]) {
        assert_eq!(T::DTYPE, self.dtype, "Scan::push: values of another dtype");
        self.count += values.len() as u64; // usize fits in u64 on every supported target
        if T::DTYPE.is_integer() {
            // Integers: native min/max, converted once.
            let mut it = values.iter().copied();
            if let Some(first) = it.next() {
                let first = first.to_int().unwrap_or(0);
                let (lo, hi) = it.fold((first, first), |(lo, hi), v| {
                    let v = v.to_int().unwrap_or(0);
                    (lo.min(v), hi.max(v))
                });
                self.min = self.min.min(lo);
                self.max = self.max.max(hi);
            }
            return;
        }
        for &v in values {
            if !self.all_int && !self.all_f32 {
                return;
            }
            if self.all_int {
                match v.to_int() {
                    Some(i) => {
                        self.min = self.min.min(i);
                        self.max = self.max.max(i);
                    }
                    None => self.all_int = false,
                }
            }
            if self.all_f32 && !f32_storable(v) {
                self.all_f32 = false;
            }
        }
    }

    /// Combines the scans of two parts of the same values.
    pub fn merge(&mut self, other: &Scan) {
        assert_eq!(self.dtype, other.dtype, "Scan::merge: scans of different dtypes");
        self.count += other.count;
        self.all_int &= other.all_int;
        self.all_f32 &= other.all_f32;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// How many values were scanned.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// `[min, max]` when every value is an exact integer and there is at least one.
    pub fn int_range(&self) -> Option<(i128, i128)> {
        (self.all_int && self.min <= self.max).then_some((self.min, self.max))
    }

    /// The narrowest lossless way to store the scanned values.
    pub fn narrowing(&self) -> Narrowing {
        let mut best = Narrowing::identity(self.dtype);
        if self.all_int {
            let (lo, hi) = self.int_range().unwrap_or((0, 0));
            if let Some(c) = int_narrowing(lo, hi).filter(|c| c.stored.size() < best.stored.size()) {
                best = c;
            }
        }
        if self.all_f32 && self.dtype == DType::F64 && DType::F32.size() < best.stored.size() {
            best = Narrowing::identity(DType::F32);
        }
        best
    }
}

/// The narrowest way to store integers in `[lo, hi]`: the smallest signed or unsigned type
/// that holds them, or, when narrower, the smallest unsigned type that holds `hi - lo` with
/// `lo` as an offset; `None` when no 64-bit type holds them.
pub fn int_narrowing(lo: i128, hi: i128) -> Option<Narrowing> {
    let direct = smallest_int_holding(lo, hi);
    let by_offset = u128::try_from(hi - lo).ok().and_then(DType::unsigned_for);
    let offset = |o: DType| Narrowing {
        stored: o,
        offset: lo,
        scale: None,
    };
    match (direct, by_offset) {
        (Some(d), Some(o)) if o.size() < d.size() => Some(offset(o)),
        (Some(d), _) => Some(Narrowing::identity(d)),
        (None, Some(o)) => Some(offset(o)),
        (None, None) => None,
    }
}

/// True when `v` may be stored as `float32`: exactly, and not as a signaling NaN (the ordinary
/// `float32` -> `float64` conversion of other readers would quiet it).
fn f32_storable<T: Element>(v: T) -> bool {
    v.to_f32()
        .is_some_and(|f| !(f.is_nan() && f.to_bits() & (1 << 22) == 0))
}

/// The smallest integer dtype holding `[lo, hi]`, unsigned preferred at equal width.
fn smallest_int_holding(lo: i128, hi: i128) -> Option<DType> {
    use DType::*;
    [U8, I8, U16, I16, U32, I32, U64, I64]
        .into_iter()
        .find(|d| d.int_range().is_some_and(|(a, b)| a <= lo && hi <= b))
}

/// `values` converted to their stored type as an Arrow array.
///
/// # Panics
/// When `narrowing` does not hold the values (it must come from a [`Scan`] of them).
pub fn narrow<T: Element>(values: &[T], narrowing: &Narrowing) -> ArrayRef {
    let mut all = Some(values);
    narrow_chunks(values.len(), narrowing, |push| {
        all.take().into_iter().for_each(push);
        Ok::<(), std::convert::Infallible>(())
    })
    .unwrap_or_else(|never| match never {})
}

/// The values that `feed` passes, chunk by chunk, to the function it is given (`len` of them in
/// all), converted to their stored type as one Arrow array: no chunk is kept at the original
/// width. `feed`'s error is passed on.
///
/// # Panics
/// When `narrowing` does not hold the values (it must come from a [`Scan`] of them).
pub(crate) fn narrow_chunks<T: Element, E>(
    len: usize,
    narrowing: &Narrowing,
    feed: impl FnOnce(&mut dyn FnMut(&[T])) -> std::result::Result<(), E>,
) -> std::result::Result<ArrayRef, E> {
    with_dtype!(narrowing.stored, S => {
        let mut out: Vec<S> = Vec::with_capacity(len);
        feed(&mut |chunk| narrow_onto(chunk, narrowing, &mut out))?;
        Ok(S::to_arrow(out))
    })
}

fn narrow_onto<T: Element, S: Element>(values: &[T], narrowing: &Narrowing, out: &mut Vec<S>) {
    const MSG: &str = "narrow: the narrowing does not hold the values";
    let offset = narrowing.offset;
    if let Some(scale) = narrowing.scale {
        out.extend(
            values
                .iter()
                .map(|v| S::from_int(scale.integer_of(*v).expect(MSG) - offset).expect(MSG)),
        );
    } else if S::DTYPE == T::DTYPE && offset == 0 {
        out.extend(values.iter().map(|v| S::from_bits(v.to_bits())));
    } else if S::DTYPE.is_integer() {
        out.extend(
            values
                .iter()
                .map(|v| S::from_int(v.to_int().expect(MSG) - offset).expect(MSG)),
        );
    } else if S::DTYPE == DType::F32 {
        out.extend(
            values
                .iter()
                .map(|v| S::from_f32(v.to_f32().expect(MSG)).expect(MSG)),
        );
    } else {
        panic!("{MSG}: {} as {}", T::DTYPE, S::DTYPE)
    }
}

/// Appends the logical values of a stored Arrow array (plain or dictionary) to `out`.
///
/// Errors when the array's type is not `narrowing.stored`, has nulls, or holds a value that does
/// not map to a `T` (all signs of a corrupt file).
pub fn widen<T: Element>(stored: &dyn Array, narrowing: &Narrowing, out: &mut Vec<T>) -> Result<()> {
    narrowing.check(T::DTYPE)?;
    if stored.null_count() > 0 {
        return Err(Error::CorruptData(format!(
            "column holds {} nulls; arrstore columns have none",
            stored.null_count()
        )));
    }
    let plain;
    let stored = match stored.data_type() {
        arrow::datatypes::DataType::Dictionary(_, v) => {
            plain = arrow::compute::cast(stored, v)?;
            plain.as_ref()
        }
        _ => stored,
    };
    with_dtype!(narrowing.stored, S => {
        let mut raw = Vec::<S>::with_capacity(stored.len());
        if !S::extend_from_arrow(stored, &mut raw) {
            return Err(Error::CorruptData(format!(
                "column has Arrow type {}, the metadata says {}",
                stored.data_type(),
                narrowing.stored
            )));
        }
        widen_from::<S, T>(&raw, narrowing, out)
    })
}

fn widen_from<S: Element, T: Element>(raw: &[S], narrowing: &Narrowing, out: &mut Vec<T>) -> Result<()> {
    out.reserve(raw.len());
    let offset = narrowing.offset;
    if let Some(scale) = narrowing.scale {
        for &v in raw {
            let k = v.to_int().unwrap_or(0) + offset;
            out.push(scale.apply::<T>(k).ok_or_else(|| {
                Error::CorruptData(format!(
                    "stored value {v:?} with offset {offset} is beyond the integers a {} holds exactly",
                    T::DTYPE
                ))
            })?);
        }
        return Ok(());
    }
    if S::DTYPE == T::DTYPE && offset == 0 {
        out.extend(raw.iter().map(|v| T::from_bits(v.to_bits())));
        return Ok(());
    }
    let bad = |v: S| {
        Error::CorruptData(format!(
            "stored value {v:?} with offset {offset} is not a {} value",
            T::DTYPE
        ))
    };
    if S::DTYPE.is_integer() {
        for &v in raw {
            let i = v.to_int().unwrap_or(0) + offset;
            out.push(T::from_int(i).ok_or_else(|| bad(v))?);
        }
    } else {
        for &v in raw {
            let f = v.to_f32().ok_or_else(|| bad(v))?;
            out.push(T::from_f32(f).ok_or_else(|| bad(v))?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(stored: DType, offset: i128) -> Narrowing {
        Narrowing {
            stored,
            offset,
            scale: None,
        }
    }

    #[test]
    fn integer_rules() {
        assert_eq!(Scan::of(&[0i64, 60000]).narrowing(), n(DType::U16, 0));
        assert_eq!(Scan::of(&[-1i64, 127]).narrowing(), n(DType::I8, 0));
        assert_eq!(Scan::of(&[-1i64, 128]).narrowing(), n(DType::U8, -1));
        assert_eq!(Scan::of(&[1u64; 4]).narrowing(), n(DType::U8, 0));
        assert_eq!(
            Scan::of(&[u64::MAX, u64::MAX - 255]).narrowing(),
            n(DType::U8, i128::from(u64::MAX) - 255)
        );
        assert_eq!(Scan::of(&[0u64, u64::MAX]).narrowing(), n(DType::U64, 0));
        assert_eq!(Scan::of(&[i64::MIN, i64::MAX]).narrowing(), n(DType::I64, 0));
        assert_eq!(
            Scan::of(&[0i8, 1]).narrowing(),
            n(DType::I8, 0),
            "same width stays"
        );
        assert_eq!(Scan::of::<i32>(&[]).narrowing(), n(DType::U8, 0));
    }

    #[test]
    fn float_rules() {
        assert_eq!(Scan::of(&[0.0f64, 4095.0]).narrowing(), n(DType::U16, 0));
        assert_eq!(Scan::of(&[-0.0f64, 1.0]).narrowing(), n(DType::F32, 0));
        assert_eq!(Scan::of(&[0.1f64, 1.0]).narrowing(), n(DType::F64, 0));
        assert_eq!(
            Scan::of(&[0.5f64, f64::NAN, f64::INFINITY]).narrowing(),
            n(DType::F32, 0)
        );
        assert_eq!(
            Scan::of(&[1e18f64, 1e18 + 256.0]).narrowing(),
            n(DType::U16, 1_000_000_000_000_000_000)
        );
        assert_eq!(Scan::of(&[0.5f32, 1.0]).narrowing(), n(DType::F32, 0));
        assert_eq!(Scan::of(&[3.0f32, 1.0]).narrowing(), n(DType::U8, 0));
        assert_eq!(Scan::of(&[true, false]).narrowing(), n(DType::Bool, 0));
    }

    #[test]
    fn signaling_nans_stay_float64() {
        let signaling = f64::from_bits(0x7ff0_0000_2000_0000);
        assert_eq!(Scan::of(&[0.5f64, signaling]).narrowing(), n(DType::F64, 0));
        let quiet = f64::from_bits(0x7ff8_0000_2000_0000);
        assert_eq!(Scan::of(&[0.5f64, quiet]).narrowing(), n(DType::F32, 0));
    }

    #[test]
    fn merge_equals_one_scan() {
        let a = [5i32, -3, 100];
        let mut s = Scan::of(&a[..1]);
        s.merge(&Scan::of(&a[1..]));
        assert_eq!(s, Scan::of(&a));
    }

    fn round_trip<T: Element>(values: &[T]) {
        let nw = Scan::of(values).narrowing();
        let stored = narrow(values, &nw);
        assert_eq!(DType::from_arrow(stored.data_type()), Some(nw.stored));
        let mut back = Vec::new();
        widen(stored.as_ref(), &nw, &mut back).unwrap();
        let bits = |v: &[T]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(values));
    }

    #[test]
    fn round_trips_are_bit_exact() {
        round_trip(&[i64::MIN, 0, i64::MAX]);
        round_trip(&[u64::MAX, u64::MAX - 3]);
        round_trip(&[-5i16, 300]);
        round_trip(&[f64::from_bits(0x7ff0_0000_0000_0001), -0.0, 1.0]);
        round_trip(&[
            f64::from_bits(0x7ff8_0000_2000_0000),
            -0.0,
            f64::NEG_INFINITY,
            1e-310,
        ]);
        round_trip(&[f32::from_bits(0x7f80_0001), -0.0f32, f32::from_bits(1)]);
        round_trip(&[-9.0f64, 1e15]);
        round_trip(&[true, false, true]);
    }

    #[test]
    fn widen_rejects_out_of_range_values() {
        let stored = narrow(&[200u8, 255], &Narrowing::identity(DType::U8));
        let mut out = Vec::<i8>::new();
        let e = widen(stored.as_ref(), &n(DType::U8, 0), &mut out).unwrap_err();
        assert!(e.to_string().contains("not a int8 value"), "{e}");
        let e = widen(stored.as_ref(), &n(DType::U16, 0), &mut out).unwrap_err();
        assert!(e.to_string().contains("metadata says uint16"), "{e}");
        let e = widen(stored.as_ref(), &n(DType::F32, 0), &mut Vec::<i64>::new()).unwrap_err();
        assert!(e.to_string().contains("cannot be stored"), "{e}");
    }
}
