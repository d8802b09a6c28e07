//! Exact affine narrowing of floats: a float column whose values are all `k / by` (or
//! `k * by`) for integers `k` (pixels normalised as `k / 255`, prices with two decimals as
//! `k / 100`, readings on a fixed step) is stored as the integers `k`, narrowed like any
//! integers, with the scale recorded.
//!
//! # Spec card (format 1.4)
//! A value column may carry `"scale": {"op": "divide", "by": 255.0}` (or `"multiply"`), for a
//! `float32` or `float64` dtype only. `by` is a finite, non-zero number (for `float32`, one that
//! `float32` holds exactly). The logical value of a stored integer `s` is
//! `float(k) op float(by)` with `k = s + offset`, computed in the dtype's IEEE 754 arithmetic
//! (round to nearest even), where `float(k)` is `k` converted exactly: writers keep `|k|` at
//! most `2^53` (`float64`) or `2^24` (`float32`) and readers refuse a larger one. Writers use a
//! scale only where this expression gives back **every** value of the array bit for bit (so
//! never for -0.0, NaN or infinities), checked on the whole array, not a sample.
//!
//! The writer finds candidate scales on its sample ([`candidates`]): from two estimates of the
//! step between values (their approximate greatest common divisor, and the smallest gap
//! between distinct values), the multiples of the step's reciprocal that are close to integers
//! (`divide`) and the step's fractions with their shortest decimal forms (`multiply`); and
//! powers of ten. It tries the one that reproduces the sample with the smallest integers on
//! every value, then the next.

use crate::dtype::{DType, Element};

/// How the integers are scaled back to the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleOp {
    /// `value = k / by`.
    Divide,
    /// `value = k * by`.
    Multiply,
}

/// The scale of a column of floats stored as integers (see the [module](self) docs).
///
/// ```
/// use arrstore::scale::{Scale, ScaleOp};
/// let s = Scale { op: ScaleOp::Divide, by: 255.0 };
/// assert_eq!(s.apply_f64(51), Some(0.2));
/// assert_eq!(s.integer_of(0.2f64), Some(51));
/// assert_eq!(s.integer_of(-0.0f64), None); // 0 / 255 is +0.0
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scale {
    /// Divide or multiply.
    pub op: ScaleOp,
    /// The divisor or factor.
    pub by: f64,
}

// `by` is finite (checked when read, made so when written): equality is reflexive.
impl Eq for Scale {}

/// The largest `|k|` a `float64` holds exactly, with every integer below it.
const F64_EXACT: i128 = 1 << 53;
/// The same for `float32`.
const F32_EXACT: i128 = 1 << 24;

impl Scale {
    /// Checks a scale read from a file, for values of `dtype`.
    pub fn check(&self, dtype: DType) -> crate::Result<()> {
        let bad = |m: &str| {
            Err(crate::Error::CorruptMetadata(format!(
                "scale {} {}: {m}",
                self.op_name(),
                self.by
            )))
        };
        if !dtype.is_float() {
            return bad(&format!("a scale applies to float values, not {dtype}"));
        }
        if !self.by.is_finite() || self.by == 0.0 {
            return bad("the scale must be finite and not 0");
        }
        if dtype == DType::F32 && f64::from(self.by as f32) != self.by {
            // `as` rounds; the comparison tells whether it had to.
            return bad("a float32 scale must be a float32 number");
        }
        Ok(())
    }

    /// `"divide"` or `"multiply"`.
    pub fn op_name(&self) -> &'static str {
        match self.op {
            ScaleOp::Divide => "divide",
            ScaleOp::Multiply => "multiply",
        }
    }

    /// `float64(k) op by`, or `None` when `|k|` exceeds `2^53`.
    pub fn apply_f64(&self, k: i128) -> Option<f64> {
        if k.abs() > F64_EXACT {
            return None;
        }
        let x = k as f64; // exact below 2^53
        Some(match self.op {
            ScaleOp::Divide => x / self.by,
            ScaleOp::Multiply => x * self.by,
        })
    }

    /// `float32(k) op float32(by)`, or `None` when `|k|` exceeds `2^24`.
    pub fn apply_f32(&self, k: i128) -> Option<f32> {
        if k.abs() > F32_EXACT {
            return None;
        }
        let (x, by) = (k as f32, self.by as f32); // exact: |k| <= 2^24, `by` checked
        Some(match self.op {
            ScaleOp::Divide => x / by,
            ScaleOp::Multiply => x * by,
        })
    }

    /// The value of `k` as a `T` (a float dtype), or `None` when `k` is out of range or `T` is
    /// not a float.
    pub fn apply<T: Element>(&self, k: i128) -> Option<T> {
        match T::DTYPE {
            DType::F64 => self.apply_f64(k).map(|v| T::from_bits(v.to_bits())),
            DType::F32 => self.apply_f32(k).map(|v| T::from_bits(u64::from(v.to_bits()))),
            _ => None,
        }
    }

    /// The integer `k` whose scaled value is `v` bit for bit, if there is one.
    pub fn integer_of<T: Element>(&self, v: T) -> Option<i128> {
        let x = match T::DTYPE {
            DType::F64 => f64::from_bits(v.to_bits()),
            DType::F32 => f64::from(f32::from_bits(u32::try_from(v.to_bits()).ok()?)),
            _ => return None,
        };
        let k = match self.op {
            ScaleOp::Divide => x * self.by,
            ScaleOp::Multiply => x / self.by,
        }
        .round();
        if !k.is_finite() || k.abs() > F64_EXACT as f64 {
            return None;
        }
        let k = k as i128; // a whole number below 2^53
        let back = self.apply::<T>(k)?;
        (back.to_bits() == v.to_bits()).then_some(k)
    }
}

/// The scales that may hold `sample` (float values of `T`), best first: each reproduces every
/// sampled value, and they are ordered by the largest `|k|` they need (the narrowest integers
/// first). Empty for other dtypes, or when no candidate holds.
pub fn candidates<T: Element>(sample: &[T]) -> Vec<Scale> {
    if !T::DTYPE.is_float() || sample.is_empty() {
        return Vec::new();
    }
    // A large sample is first tried in a few thousand values spread over it: the scales that
    // hold the sample hold them, and floats on no step (the common case) end here.
    const PROBE: usize = 4096;
    if sample.len() > 2 * PROBE {
        let stride = sample.len() / PROBE;
        let probe: Vec<T> = sample.iter().step_by(stride).copied().collect();
        if candidates(&probe).is_empty() {
            return Vec::new();
        }
    }
    let values: Vec<f64> = sample.iter().filter_map(|v| as_f64(*v)).collect();
    if values.len() != sample.len() || values.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let mut tried: Vec<Scale> = Vec::new();
    let mut push = |op: ScaleOp, by: f64| {
        let s = Scale { op, by };
        if by.is_finite() && by != 0.0 && s.check(T::DTYPE).is_ok() && !tried.contains(&s) {
            tried.push(s);
        }
    };
    // Two estimates of the step between values: their approximate common divisor, and the
    // smallest gap between distinct values (robust where rounding noise defeats the former).
    let near = if T::DTYPE == DType::F32 { 1e-4 } else { 1e-6 };
    for g in [approximate_gcd(&values, T::DTYPE), smallest_gap(&values)]
        .into_iter()
        .flatten()
    {
        // The sample's integers may share a factor the array's do not: the divisor may be a
        // multiple of 1 / g, the step a fraction of g. (Float32 values carry more rounding, so
        // a divisor may come less close to an integer.)
        for j in 1..=16u32 {
            let d = f64::from(j) / g;
            let r = d.round();
            if r >= 1.0 && (d - r).abs() <= r * near {
                push(ScaleOp::Divide, r);
            }
            let step = g / f64::from(j);
            push(ScaleOp::Multiply, step);
            if let Some(short) = shortest_decimal(step, T::DTYPE) {
                push(ScaleOp::Multiply, short);
            }
        }
    }
    for d in 1..=9 {
        push(ScaleOp::Divide, 10f64.powi(d));
    }
    let mut holding: Vec<(i128, Scale)> = tried
        .into_iter()
        .filter_map(|s| {
            let mut widest = 0i128;
            for v in sample {
                widest = widest.max(s.integer_of(*v)?.abs());
            }
            Some((widest, s))
        })
        .collect();
    holding.sort_by_key(|(w, _)| *w);
    holding.into_iter().map(|(_, s)| s).collect()
}

/// A float value as `f64` (exact for `float32`), `None` for other dtypes.
fn as_f64<T: Element>(v: T) -> Option<f64> {
    match T::DTYPE {
        DType::F64 => Some(f64::from_bits(v.to_bits())),
        DType::F32 => Some(f64::from(f32::from_bits(u32::try_from(v.to_bits()).ok()?))),
        _ => None,
    }
}

/// The approximate greatest common divisor of the non-zero `|values|` (Euclid's algorithm with
/// a tolerance fitting `dtype`'s precision), or `None` when there is no non-zero value or the
/// divisor found is implausibly small (the values share no step).
fn approximate_gcd(values: &[f64], dtype: DType) -> Option<f64> {
    let tol = if dtype == DType::F32 { 1e-5 } else { 1e-9 };
    let mut nonzero = values.iter().map(|v| v.abs()).filter(|&v| v > 0.0);
    let first = nonzero.next()?;
    let max = values.iter().fold(0f64, |m, v| m.max(v.abs()));
    let mut g = first;
    for v in nonzero {
        let (mut a, mut b) = (g.max(v), g.min(v));
        // Stop where the remainder is lost in the values' rounding.
        while b > max * tol {
            let r = a % b;
            let r = r.min(b - r);
            a = b;
            b = r;
        }
        g = a;
        if g <= max * tol * 16.0 {
            return None;
        }
    }
    Some(g)
}

/// The smallest positive difference between two of `values`, or `None` when they are all
/// equal.
fn smallest_gap(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|&d| d > 0.0)
        .min_by(f64::total_cmp)
}

/// The shortest decimal (up to 12 significant digits) within the tolerance of `g`, parsed
/// back as a float of `dtype`'s precision, when it differs from `g`.
fn shortest_decimal(g: f64, dtype: DType) -> Option<f64> {
    let tol = if dtype == DType::F32 { 1e-5 } else { 1e-9 };
    (1..=12).find_map(|digits| {
        let text = format!("{:.*e}", digits - 1, g);
        let v: f64 = text.parse().ok()?;
        let v = if dtype == DType::F32 {
            f64::from(v as f32)
        } else {
            v
        };
        ((v - g).abs() <= g * tol && v != g).then_some(v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_pixels_are_k_over_255() {
        let sample: Vec<f64> = (0..=255).map(|k| f64::from(k) / 255.0).collect();
        let c = candidates(&sample);
        assert_eq!(
            c[0],
            Scale {
                op: ScaleOp::Divide,
                by: 255.0
            },
            "{c:?}"
        );
        // A sample of a few levels (an image's gcd of pixel values may be more than 1).
        let few: Vec<f64> = [0, 6, 12, 30, 96]
            .iter()
            .map(|&k: &i32| f64::from(k) / 255.0)
            .collect();
        let c = candidates(&few);
        assert!(
            c.contains(&Scale {
                op: ScaleOp::Divide,
                by: 255.0
            }),
            "{c:?}"
        );
        let f32s: Vec<f32> = (0..=255).map(|k| k as f32 / 255.0).collect();
        assert_eq!(
            candidates(&f32s)[0],
            Scale {
                op: ScaleOp::Divide,
                by: 255.0
            }
        );
        // Levels that share a factor 3, in float32 (rounding defeats the common divisor).
        let f32s: Vec<f32> = (21..=85).map(|k| (k * 3) as f32 / 255.0).collect();
        let c = candidates(&f32s);
        assert!(
            c.contains(&Scale {
                op: ScaleOp::Divide,
                by: 85.0
            }),
            "{c:?}"
        );
        assert!(
            c.contains(&Scale {
                op: ScaleOp::Divide,
                by: 255.0
            }),
            "{c:?}"
        );
    }

    #[test]
    fn prices_and_steps() {
        let prices: Vec<f64> = [1999, 2, 100_050, 31_415, 7]
            .iter()
            .map(|&c: &i32| f64::from(c) / 100.0)
            .collect();
        let c = candidates(&prices);
        assert_eq!(
            c[0],
            Scale {
                op: ScaleOp::Divide,
                by: 100.0
            },
            "{c:?}"
        );
        // Readings on a step of 0.05, computed as k * 0.05.
        let readings: Vec<f64> = (0..500).map(|k| f64::from(k * 7 % 301) * 0.05).collect();
        let c = candidates(&readings);
        assert!(!c.is_empty());
        for v in &readings {
            assert!(c[0].integer_of(*v).is_some(), "{:?} {v}", c[0]);
        }
    }

    #[test]
    fn noise_minus_zero_nan_and_infinities_have_no_scale() {
        let mut x = 12345u64;
        let noise: Vec<f64> = (0..1000)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                (x >> 11) as f64 / (1u64 << 53) as f64
            })
            .collect();
        assert!(candidates(&noise).is_empty());
        let s = Scale {
            op: ScaleOp::Divide,
            by: 255.0,
        };
        assert_eq!(s.integer_of(-0.0f64), None);
        assert_eq!(s.integer_of(f64::NAN), None);
        assert_eq!(s.integer_of(f64::INFINITY), None);
        assert!(candidates(&[0.5f64, -0.0]).is_empty());
        assert_eq!(s.integer_of(1.0f64 / 3.0), Some(85)); // 85 / 255 is 1 / 3
        assert_eq!(s.integer_of(0.123_456f64), None);
        // Too large for exact integers.
        assert_eq!(s.apply_f64(1 << 54), None);
        assert_eq!(s.apply_f32(1 << 25), None);
    }

    /// The metadata's JSON gives every scale back bit for bit (serde_json parses floats
    /// exactly with its `float_roundtrip` feature).
    #[test]
    fn scales_survive_json_exactly() {
        let mut x = 99u64;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let by = if i % 2 == 0 {
                f64::from_bits(x >> 2) // any finite positive double
            } else {
                f64::from(f32::from_bits(u32::try_from(x >> 34).unwrap()))
            };
            if !by.is_finite() || by == 0.0 {
                continue;
            }
            let s = Scale {
                op: ScaleOp::Multiply,
                by,
            };
            let back: Scale = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
            assert_eq!(back.by.to_bits(), by.to_bits(), "{by:e}");
        }
    }

    #[test]
    fn bad_scales_are_refused() {
        let s = |by: f64| Scale {
            op: ScaleOp::Divide,
            by,
        };
        assert!(s(0.0).check(DType::F64).is_err());
        assert!(s(f64::NAN).check(DType::F64).is_err());
        assert!(s(0.1).check(DType::F32).is_err());
        assert!(s(255.0).check(DType::I32).is_err());
        s(0.1).check(DType::F64).unwrap();
        s(255.0).check(DType::F32).unwrap();
    }
}
