//! Arrays and scalars whose dtype is known only at run time: [`DynArray`] and [`Scalar`].

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayD;

use crate::dtype::{DType, Element};

/// Runs `$body` with `$a` bound to the `ArrayD<T>` inside a [`DynArray`] (and `$T` to its type,
/// when given), for code that is the same for every dtype.
macro_rules! with_dyn_array {
    ($e:expr, $a:ident => $body:expr) => {
        match $e {
            $crate::DynArray::Bool($a) => $body,
            $crate::DynArray::I8($a) => $body,
            $crate::DynArray::I16($a) => $body,
            $crate::DynArray::I32($a) => $body,
            $crate::DynArray::I64($a) => $body,
            $crate::DynArray::U8($a) => $body,
            $crate::DynArray::U16($a) => $body,
            $crate::DynArray::U32($a) => $body,
            $crate::DynArray::U64($a) => $body,
            $crate::DynArray::F32($a) => $body,
            $crate::DynArray::F64($a) => $body,
        }
    };
}
pub(crate) use with_dyn_array;

/// Runs `$body` with the type alias `$T` set to the Rust type of a [`DType`].
macro_rules! with_dtype {
    ($d:expr, $T:ident => $body:expr) => {
        match $d {
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// An n-dimensional array of any supported dtype, as returned by a read that does not know the
/// dtype in advance.
///
/// ```
/// use arrstore::{DType, DynArray};
/// let a = DynArray::from(ndarray::arr2(&[[1u16, 2], [3, 4]]).into_dyn());
/// assert_eq!(a.dtype(), DType::U16);
/// assert_eq!(a.shape(), &[2, 2]);
/// assert_eq!(a.memory_bytes(), 8);
/// let back: ndarray::ArrayD<u16> = a.into_typed().unwrap();
/// assert_eq!(back[[1, 0]], 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum DynArray {
    Bool(ArrayD<bool>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

impl DynArray {
    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        fn d<T: Element>(_: &ArrayD<T>) -> DType {
            T::DTYPE
        }
        with_dyn_array!(self, a => d(a))
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        with_dyn_array!(self, a => a.shape())
    }

    /// The memory order of the elements.
    pub fn order(&self) -> Order {
        with_dyn_array!(self, a => Order::of(a))
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        with_dyn_array!(self, a => a.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the elements take in memory (NumPy's `nbytes`).
    pub fn memory_bytes(&self) -> u64 {
        self.dtype().nbytes(self.len())
    }

    /// The array of type `T`, or this array back when its dtype is another.
    pub fn into_typed<T: Element>(self) -> Result<ArrayD<T>, DynArray> {
        T::from_dyn_array(self)
    }

    /// True when both arrays have the same dtype, shape and element bits (NaN payloads and -0.0
    /// count; memory layout does not).
    pub fn bit_eq(&self, other: &DynArray) -> bool {
        fn eq<T: Element>(a: &ArrayD<T>, b: &DynArray) -> bool {
            match T::from_dyn_array(b.clone()) {
                Ok(b) => {
                    a.shape() == b.shape() && a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits())
                }
                Err(_) => false,
            }
        }
        with_dyn_array!(self, a => eq(a, other))
    }
}

impl<T: Element> From<ArrayD<T>> for DynArray {
    fn from(a: ArrayD<T>) -> Self {
        T::into_dyn_array(a)
    }
}

/// The memory order of an array's elements: C (row-major, last axis fastest) or Fortran
/// (column-major, first axis fastest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Order {
    /// Row-major: the last index varies fastest (NumPy's default).
    #[default]
    C,
    /// Column-major: the first index varies fastest.
    F,
}

impl Order {
    /// The order an array's memory has: `F` when it is Fortran-contiguous and not
    /// C-contiguous (a 1-d or 0-d array is C), `C` otherwise (views that are neither are copied
    /// in C order).
    pub fn of<S: ndarray::Data, D: ndarray::Dimension>(a: &ndarray::ArrayBase<S, D>) -> Order {
        if a.ndim() > 1 && !a.is_standard_layout() && a.t().is_standard_layout() {
            Order::F
        } else {
            Order::C
        }
    }
}

/// One value of any supported dtype: a fill value, or a scalar typed by a user.
///
/// Parsing accepts integers, floats (`nan`, `inf`, `-0.0`, `0x7ff8000000000001` as raw bits of
/// a float64 NaN with payload are all accepted) and `true`/`false`; [`Scalar::to_element`]
/// converts exactly or not at all.
///
/// ```
/// use arrstore::Scalar;
/// let s: Scalar = "nan".parse().unwrap();
/// assert!(s.to_element::<f64>().unwrap().is_nan());
/// assert_eq!("7".parse::<Scalar>().unwrap().to_element::<u8>(), Some(7));
/// assert_eq!("0.5".parse::<Scalar>().unwrap().to_element::<i32>(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scalar {
    /// A boolean.
    Bool(bool),
    /// An integer (any width, signed or not).
    Int(i128),
    /// A float64 value (its bits are kept: NaN payloads and -0.0 survive).
    Float(f64),
}

impl Scalar {
    /// The scalar of an element.
    pub fn of<T: Element>(v: T) -> Scalar {
        match T::DTYPE {
            DType::Bool => Scalar::Bool(v.to_bits() == 1),
            DType::F32 => {
                Scalar::Float(f64::from_f32(<f32 as Element>::from_bits(v.to_bits())).unwrap_or(0.0))
            }
            DType::F64 => Scalar::Float(f64::from_bits(v.to_bits())),
            _ => Scalar::Int(v.to_int().unwrap_or(0)),
        }
    }

    /// The element of type `T` equal to this scalar, bit for bit, or `None` when `T` cannot
    /// hold it exactly.
    pub fn to_element<T: Element>(self) -> Option<T> {
        match (self, T::DTYPE) {
            (Scalar::Bool(b), DType::Bool) => Some(T::from_bits(u64::from(b))),
            (Scalar::Bool(_), _) | (_, DType::Bool) => None,
            (Scalar::Int(i), _) => T::from_int(i),
            (Scalar::Float(f), DType::F64) => Some(T::from_bits(f.to_bits())),
            (Scalar::Float(f), DType::F32) => f.to_f32().and_then(T::from_f32),
            (Scalar::Float(f), _) => f.to_int().and_then(T::from_int),
        }
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) if x.is_nan() && x.to_bits() != f64::NAN.to_bits() => {
                write!(f, "{:#018x}", x.to_bits())
            }
            Scalar::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// The error of parsing a [`Scalar`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a number, `true` or `false`")]
pub struct BadScalar(pub String);

impl FromStr for Scalar {
    type Err = BadScalar;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t.to_ascii_lowercase().as_str() {
            "true" => return Ok(Scalar::Bool(true)),
            "false" => return Ok(Scalar::Bool(false)),
            _ => {}
        }
        if let Ok(i) = t.parse::<i128>() {
            return Ok(Scalar::Int(i));
        }
        if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            return u64::from_str_radix(hex, 16)
                .map(|b| Scalar::Float(f64::from_bits(b)))
                .map_err(|_| BadScalar(s.to_string()));
        }
        t.parse::<f64>()
            .map(Scalar::Float)
            .map_err(|_| BadScalar(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_parse_and_convert() {
        assert_eq!(
            "-0.0"
                .parse::<Scalar>()
                .unwrap()
                .to_element::<f64>()
                .unwrap()
                .to_bits(),
            (-0.0f64).to_bits()
        );
        assert_eq!("-0.0".parse::<Scalar>().unwrap().to_element::<i64>(), None);
        assert_eq!("300".parse::<Scalar>().unwrap().to_element::<u8>(), None);
        assert_eq!("true".parse::<Scalar>().unwrap().to_element::<bool>(), Some(true));
        assert_eq!("1".parse::<Scalar>().unwrap().to_element::<bool>(), None);
        let p = "0x7ff0000000000001".parse::<Scalar>().unwrap();
        assert_eq!(p.to_element::<f64>().unwrap().to_bits(), 0x7ff0_0000_0000_0001);
        assert_eq!(p.to_string(), "0x7ff0000000000001");
        assert!("abc".parse::<Scalar>().is_err());
        assert_eq!("2.0".parse::<Scalar>().unwrap().to_element::<i8>(), Some(2));
    }
}
