//! The closed set of element types arrstore stores, their NumPy names, and the [`Element`] trait
//! that ties each Rust type to its [`DType`].

use std::fmt;
use std::str::FromStr;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::DataType;

/// An element type: the dtype of an array, or the type a column is stored as.
///
/// Names follow NumPy (`"bool"`, `"int8"` ... `"uint64"`, `"float32"`, `"float64"`).
///
/// ```
/// use arrstore::DType;
/// assert_eq!(DType::U16.name(), "uint16");
/// assert_eq!("float64".parse::<DType>().unwrap(), DType::F64);
/// assert_eq!(DType::I32.size(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    /// `bool`, one byte in memory.
    Bool,
    /// `int8`
    I8,
    /// `int16`
    I16,
    /// `int32`
    I32,
    /// `int64`
    I64,
    /// `uint8`
    U8,
    /// `uint16`
    U16,
    /// `uint32`
    U32,
    /// `uint64`
    U64,
    /// `float32`
    F32,
    /// `float64`
    F64,
}

impl DType {
    /// Every dtype, in declaration order.
    pub const ALL: [DType; 11] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
    ];

    /// The NumPy name of this dtype.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Bytes per element in memory (as NumPy's `itemsize`).
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// Bytes of `n` elements of this type in memory (NumPy's `nbytes`), saturating.
    ///
    /// ```
    /// assert_eq!(arrstore::DType::U16.nbytes(1000), 2000);
    /// ```
    pub fn nbytes(self, n: usize) -> u64 {
        u64::try_from(n)
            .unwrap_or(u64::MAX)
            .saturating_mul(self.size() as u64) // size() is at most 8
    }

    /// Bits per value of a column stored as this type in a plain Parquet page: booleans are
    /// bit-packed, narrower integers widened to INT32.
    pub fn plain_bits(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I64 | DType::U64 | DType::F64 => 64,
            _ => 32,
        }
    }

    /// True for the eight integer dtypes.
    pub fn is_integer(self) -> bool {
        !matches!(self, DType::Bool | DType::F32 | DType::F64)
    }

    /// True for the four signed integer dtypes.
    pub fn is_signed(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// True for `float32` and `float64`.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }

    /// The inclusive value range of an integer dtype, `None` for bool and floats.
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            DType::I8 => (i8::MIN.into(), i8::MAX.into()),
            DType::I16 => (i16::MIN.into(), i16::MAX.into()),
            DType::I32 => (i32::MIN.into(), i32::MAX.into()),
            DType::I64 => (i64::MIN.into(), i64::MAX.into()),
            DType::U8 => (0, u8::MAX.into()),
            DType::U16 => (0, u16::MAX.into()),
            DType::U32 => (0, u32::MAX.into()),
            DType::U64 => (0, u64::MAX.into()),
            DType::Bool | DType::F32 | DType::F64 => return None,
        })
    }

    /// The Arrow type a column of this dtype has.
    pub fn arrow_type(self) -> DataType {
        match self {
            DType::Bool => DataType::Boolean,
            DType::I8 => DataType::Int8,
            DType::I16 => DataType::Int16,
            DType::I32 => DataType::Int32,
            DType::I64 => DataType::Int64,
            DType::U8 => DataType::UInt8,
            DType::U16 => DataType::UInt16,
            DType::U32 => DataType::UInt32,
            DType::U64 => DataType::UInt64,
            DType::F32 => DataType::Float32,
            DType::F64 => DataType::Float64,
        }
    }

    /// The dtype of an Arrow type, looking through a dictionary to its values.
    pub fn from_arrow(data_type: &DataType) -> Option<DType> {
        Some(match data_type {
            DataType::Boolean => DType::Bool,
            DataType::Int8 => DType::I8,
            DataType::Int16 => DType::I16,
            DataType::Int32 => DType::I32,
            DataType::Int64 => DType::I64,
            DataType::UInt8 => DType::U8,
            DataType::UInt16 => DType::U16,
            DataType::UInt32 => DType::U32,
            DataType::UInt64 => DType::U64,
            DataType::Float32 => DType::F32,
            DataType::Float64 => DType::F64,
            DataType::Dictionary(_, values) => return DType::from_arrow(values),
            _ => return None,
        })
    }

    /// The smallest unsigned integer dtype that holds `0..=max`.
    pub fn unsigned_for(max: u128) -> Option<DType> {
        [DType::U8, DType::U16, DType::U32, DType::U64]
            .into_iter()
            .find(|d| d.int_range().is_some_and(|(_, hi)| max <= hi.unsigned_abs()))
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a dtype name that arrstore does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown dtype '{0}' (expected one of bool, int8..int64, uint8..uint64, float32, float64)")]
pub struct UnknownDType(pub String);

impl FromStr for DType {
    type Err = UnknownDType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DType::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownDType(s.to_string()))
    }
}

impl serde::Serialize for DType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for DType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust element type arrstore stores: `bool`, `i8`..`i64`, `u8`..`u64`, `f32`, `f64`.
///
/// Sealed: the set is closed, so that every stored file can be read back by every reader.
/// The methods are the exact conversions narrowing needs; none of them rounds.
pub trait Element: sealed::Sealed + Copy + Default + PartialEq + fmt::Debug + Send + Sync + 'static {
    /// The dtype of this Rust type.
    const DTYPE: DType;

    /// The value's bit pattern, zero-extended to 64 bits (`true` is 1). Two values are the same
    /// element exactly when their bits are equal: NaN payloads and -0.0 count.
    fn to_bits(self) -> u64;

    /// The value with this bit pattern (the low `8 * size` bits are used).
    fn from_bits(bits: u64) -> Self;

    /// The value as an exact integer: any integer, or a float that is a whole number in the
    /// `i64` range and not -0.0. `None` for bool and for other floats.
    fn to_int(self) -> Option<i128>;

    /// The element equal to the integer `v`, if there is one (for floats: if `v` is exactly
    /// representable).
    fn from_int(v: i128) -> Option<Self>;

    /// This value as `f32` when that keeps every bit (NaN payloads included): only `f32` itself
    /// and `f64` values that survive the round trip.
    fn to_f32(self) -> Option<f32>;

    /// The element equal to `v`, bit for bit (only `f32` and `f64` have one).
    fn from_f32(v: f32) -> Option<Self>;

    /// `self + other` as NumPy adds this dtype: integers wrap, floats follow IEEE 754, booleans
    /// are or-ed. Used to merge duplicate sparse entries, as SciPy does.
    fn sum(self, other: Self) -> Self;

    /// Wraps an array of this type in a [`DynArray`](crate::DynArray).
    fn into_dyn_array(a: ndarray::ArrayD<Self>) -> crate::DynArray;

    /// Unwraps a [`DynArray`](crate::DynArray) of this type, or gives it back.
    fn from_dyn_array(a: crate::DynArray) -> Result<ndarray::ArrayD<Self>, crate::DynArray>;

    /// The values as an Arrow array of [`DType::arrow_type`] (no nulls).
    fn to_arrow(values: Vec<Self>) -> ArrayRef;

    /// The values of an Arrow array of exactly this type, appended to `out`; `false` when the
    /// array has another type. Null slots are read as their (unspecified) stored values: callers
    /// check `null_count` first.
    fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> bool;
}

macro_rules! primitive_arrow {
    ($at:ty) => {
        fn to_arrow(values: Vec<Self>) -> ArrayRef {
            std::sync::Arc::new(arrow::array::PrimitiveArray::<$at>::from(values))
        }
        fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> bool {
            match array.as_primitive_opt::<$at>() {
                Some(a) => {
                    out.extend_from_slice(a.values());
                    true
                }
                None => false,
            }
        }
    };
}

macro_rules! int_element {
    ($t:ty, $d:ident, $v:ident, $at:ty) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            #[inline]
            fn to_bits(self) -> u64 {
                // Zero-extension of the two's complement pattern: `from_bits` undoes it.
                u64::from_le_bytes({
                    let mut b = [0u8; 8];
                    b[..std::mem::size_of::<$t>()].copy_from_slice(&self.to_le_bytes());
                    b
                })
            }
            #[inline]
            fn from_bits(bits: u64) -> Self {
                let b = bits.to_le_bytes();
                <$t>::from_le_bytes(b[..std::mem::size_of::<$t>()].try_into().unwrap())
            }
            fn to_int(self) -> Option<i128> {
                Some(i128::from(self))
            }
            fn from_int(v: i128) -> Option<Self> {
                <$t>::try_from(v).ok()
            }
            fn to_f32(self) -> Option<f32> {
                None
            }
            fn from_f32(_: f32) -> Option<Self> {
                None
            }
            fn sum(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            fn into_dyn_array(a: ndarray::ArrayD<Self>) -> crate::DynArray {
                crate::DynArray::$v(a)
            }
            fn from_dyn_array(a: crate::DynArray) -> Result<ndarray::ArrayD<Self>, crate::DynArray> {
                match a {
                    crate::DynArray::$v(a) => Ok(a),
                    other => Err(other),
                }
            }
            primitive_arrow!($at);
        }
    };
}

int_element!(i8, I8, I8, arrow::datatypes::Int8Type);
int_element!(i16, I16, I16, arrow::datatypes::Int16Type);
int_element!(i32, I32, I32, arrow::datatypes::Int32Type);
int_element!(i64, I64, I64, arrow::datatypes::Int64Type);
int_element!(u8, U8, U8, arrow::datatypes::UInt8Type);
int_element!(u16, U16, U16, arrow::datatypes::UInt16Type);
int_element!(u32, U32, U32, arrow::datatypes::UInt32Type);
int_element!(u64, U64, U64, arrow::datatypes::UInt64Type);

impl sealed::Sealed for bool {}
impl Element for bool {
    const DTYPE: DType = DType::Bool;
    #[inline]
    fn to_bits(self) -> u64 {
        u64::from(self)
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        bits & 1 == 1
    }
    fn to_int(self) -> Option<i128> {
        None
    }
    fn from_int(_: i128) -> Option<Self> {
        None
    }
    fn to_f32(self) -> Option<f32> {
        None
    }
    fn from_f32(_: f32) -> Option<Self> {
        None
    }
    fn sum(self, other: Self) -> Self {
        self | other
    }
    fn into_dyn_array(a: ndarray::ArrayD<Self>) -> crate::DynArray {
        crate::DynArray::Bool(a)
    }
    fn from_dyn_array(a: crate::DynArray) -> Result<ndarray::ArrayD<Self>, crate::DynArray> {
        match a {
            crate::DynArray::Bool(a) => Ok(a),
            other => Err(other),
        }
    }
    fn to_arrow(values: Vec<Self>) -> ArrayRef {
        std::sync::Arc::new(arrow::array::BooleanArray::from(values))
    }
    fn extend_from_arrow(array: &dyn Array, out: &mut Vec<Self>) -> bool {
        match array.as_boolean_opt() {
            Some(a) => {
                out.extend(a.values().iter());
                true
            }
            None => false,
        }
    }
}

/// 2^63 as a float: whole floats in `[-2^63, 2^63)` convert to `i64` exactly.
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// A float that is a whole number in the `i64` range and not -0.0, as that integer.
fn float_to_int(v: f64) -> Option<i128> {
    if v.is_finite() && v.trunc() == v && (-TWO_POW_63..TWO_POW_63).contains(&v) {
        if v == 0.0 && v.is_sign_negative() {
            return None;
        }
        // Exact: `v` is whole and inside the i64 range, checked above.
        Some(i128::from(v as i64))
    } else {
        None
    }
}

/// The `f64` equal to `v`, if `v` is exactly representable.
fn int_to_f64(v: i128) -> Option<f64> {
    // `as` rounds; the value is kept only when converting back gives `v` again. Whole f64 in
    // range convert back exactly, so the check is sound.
    let f = v as f64;
    (f.is_finite() && f.trunc() == f && (-TWO_POW_63..TWO_POW_63).contains(&f))
        .then_some(f)
        .filter(|f| *f as i64 as i128 == v)
}

/// Bitwise-exact `f64` -> `f32`: finite values by value (exact when the round trip holds),
/// infinities and NaNs by their bits (a NaN payload must fit in the 23 bits of an `f32`).
pub(crate) fn f64_to_f32_exact(v: f64) -> Option<f32> {
    let bits = v.to_bits();
    if v.is_nan() {
        let sign = (bits >> 63) as u32; // one bit
        let payload = bits & ((1u64 << 52) - 1);
        if payload & ((1u64 << 29) - 1) != 0 {
            return None;
        }
        let payload32 = u32::try_from(payload >> 29).ok()?;
        return Some(f32::from_bits((sign << 31) | (0xff << 23) | payload32));
    }
    // Finite and infinite values: `as` rounds to nearest, so equality after widening proves
    // the conversion exact (and keeps the sign of zero, compared by bits).
    let f = v as f32;
    (f32_to_f64_exact(f).to_bits() == bits).then_some(f)
}

/// Bitwise-exact `f32` -> `f64` (always possible); NaN payloads move to the top mantissa bits.
pub(crate) fn f32_to_f64_exact(v: f32) -> f64 {
    if v.is_nan() {
        let bits = u64::from(v.to_bits());
        let sign = bits >> 31;
        let payload = bits & ((1u64 << 23) - 1);
        return f64::from_bits((sign << 63) | (0x7ffu64 << 52) | (payload << 29));
    }
    f64::from(v)
}

impl sealed::Sealed for f32 {}
impl Element for f32 {
    const DTYPE: DType = DType::F32;
    #[inline]
    fn to_bits(self) -> u64 {
        u64::from(f32::to_bits(self))
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        f32::from_bits((bits & 0xffff_ffff) as u32) // masked to 32 bits
    }
    fn to_int(self) -> Option<i128> {
        float_to_int(f64::from(self))
    }
    fn from_int(v: i128) -> Option<Self> {
        let f = int_to_f64(v)?;
        // Exact when the f32 holds the same value.
        let g = f as f32;
        (f64::from(g) == f).then_some(g)
    }
    fn to_f32(self) -> Option<f32> {
        Some(self)
    }
    fn from_f32(v: f32) -> Option<Self> {
        Some(v)
    }
    fn sum(self, other: Self) -> Self {
        self + other
    }
    fn into_dyn_array(a: ndarray::ArrayD<Self>) -> crate::DynArray {
        crate::DynArray::F32(a)
    }
    fn from_dyn_array(a: crate::DynArray) -> Result<ndarray::ArrayD<Self>, crate::DynArray> {
        match a {
            crate::DynArray::F32(a) => Ok(a),
            other => Err(other),
        }
    }
    primitive_arrow!(arrow::datatypes::Float32Type);
}

impl sealed::Sealed for f64 {}
impl Element for f64 {
    const DTYPE: DType = DType::F64;
    #[inline]
    fn to_bits(self) -> u64 {
        f64::to_bits(self)
    }
    #[inline]
    fn from_bits(bits: u64) -> Self {
        f64::from_bits(bits)
    }
    fn to_int(self) -> Option<i128> {
        float_to_int(self)
    }
    fn from_int(v: i128) -> Option<Self> {
        int_to_f64(v)
    }
    fn to_f32(self) -> Option<f32> {
        f64_to_f32_exact(self)
    }
    fn from_f32(v: f32) -> Option<Self> {
        Some(f32_to_f64_exact(v))
    }
    fn sum(self, other: Self) -> Self {
        self + other
    }
    fn into_dyn_array(a: ndarray::ArrayD<Self>) -> crate::DynArray {
        crate::DynArray::F64(a)
    }
    fn from_dyn_array(a: crate::DynArray) -> Result<ndarray::ArrayD<Self>, crate::DynArray> {
        match a {
            crate::DynArray::F64(a) => Ok(a),
            other => Err(other),
        }
    }
    primitive_arrow!(arrow::datatypes::Float64Type);
}

/// Appends `values` to `buf` as little-endian bytes of their dtype's size.
pub(crate) fn put_le<T: Element>(buf: &mut Vec<u8>, values: &[T]) {
    fn put<T: Element, const N: usize>(buf: &mut Vec<u8>, values: &[T]) {
        buf.reserve(values.len() * N);
        for v in values {
            buf.extend_from_slice(&v.to_bits().to_le_bytes()[..N]);
        }
    }
    match T::DTYPE.size() {
        1 => put::<T, 1>(buf, values),
        2 => put::<T, 2>(buf, values),
        4 => put::<T, 4>(buf, values),
        _ => put::<T, 8>(buf, values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
            assert_eq!(DType::from_arrow(&d.arrow_type()), Some(d));
        }
        assert!("complex128".parse::<DType>().is_err());
    }

    #[test]
    fn bits_round_trip() {
        assert_eq!(i8::from_bits((-1i8).to_bits()), -1);
        assert_eq!((-1i8).to_bits(), 0xff);
        assert_eq!(u64::from_bits(u64::MAX.to_bits()), u64::MAX);
        let nan = f64::from_bits(0x7ff0_0000_0000_0001);
        assert_eq!(f64::from_bits(nan.to_bits()).to_bits(), 0x7ff0_0000_0000_0001);
    }

    #[test]
    fn float_int_exactness() {
        assert_eq!(3.0f64.to_int(), Some(3));
        assert_eq!((-0.0f64).to_int(), None);
        assert_eq!(0.5f64.to_int(), None);
        assert_eq!(f64::NAN.to_int(), None);
        assert_eq!((-TWO_POW_63).to_int(), Some(i128::from(i64::MIN)));
        assert_eq!(TWO_POW_63.to_int(), None);
        assert_eq!(f64::from_int((1 << 53) + 1), None);
        assert_eq!(f64::from_int(1 << 60), Some((1u64 << 60) as f64));
        assert_eq!(f32::from_int((1 << 24) + 1), None);
    }

    #[test]
    fn f32_exactness_is_bitwise() {
        assert_eq!(0.5f64.to_f32(), Some(0.5));
        assert_eq!(0.1f64.to_f32(), None);
        assert_eq!((-0.0f64).to_f32().map(f32::to_bits), Some((-0.0f32).to_bits()));
        let quiet = f64::from_bits(0x7ff8_0000_2000_0000); // payload in the top 23 bits
        let back = f32_to_f64_exact(quiet.to_f32().unwrap());
        assert_eq!(back.to_bits(), quiet.to_bits());
        let low_payload = f64::from_bits(0x7ff8_0000_0000_0001);
        assert_eq!(low_payload.to_f32(), None);
        let signaling = f32::from_bits(0x7f80_0001);
        assert_eq!(
            f32_to_f64_exact(signaling).to_f32().unwrap().to_bits(),
            0x7f80_0001
        );
        let quiet32 = f32::from_bits(0x7fc0_0001);
        assert_eq!(f32_to_f64_exact(quiet32).to_f32().unwrap().to_bits(), 0x7fc0_0001);
        let hardware = f64::from(std::hint::black_box(quiet32));
        assert_eq!(
            f32_to_f64_exact(quiet32).to_bits(),
            hardware.to_bits(),
            "as hardware widens"
        );
        let sub = f32::from_bits(1); // smallest subnormal
        assert_eq!(f32_to_f64_exact(sub).to_f32().unwrap().to_bits(), 1);
    }
}
