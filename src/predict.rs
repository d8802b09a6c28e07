//! Predictive transforms of dense numeric columns: the column stores each cell less a
//! prediction from its neighbours, so that smooth images and fields, whose cells are close to
//! their neighbours, store small residuals that Parquet's encodings and zstd code in few bits.
//!
//! # Spec card (format 2.0)
//! A dense file's value column may carry a `transform`:
//! `{"predictor": "median", "of_type": "uint8", "left": 3, "up": 2304}`.
//! - `of_type` is a numeric type of width `W` bits: the values the transform works on are the
//!   narrowed values `s` of the column (`s + offset` is the logical value) as `of_type`.
//!   Each is mapped to `u`, a `W`-bit unsigned number that keeps their order: `s` itself for an
//!   unsigned `of_type`, `s` with its sign bit flipped for a signed one; for a float, its bit
//!   pattern with the sign bit flipped when it is clear and every bit flipped when it is set
//!   (every pattern, NaN payloads and -0.0 included, maps to its own `u`).
//! - `left` (at least 1) and `up` (greater than `left`; absent for `left`-only predictors) are
//!   distances, in cells of the C-order column, of the neighbours a cell is predicted from:
//!   `a` at `i - left`, `b` at `i - up` and `c` at `i - up - left`. For an image of shape
//!   `(h, w)`, `left = 1` and `up = w`; for `(h, w, 3)` with channels apart, `left = 3` and
//!   `up = 3w`.
//! - The prediction restarts at the first row of each Parquet row group: a cell `p` rows into
//!   its row group is predicted as `0` when `p < left`, as `a` when `left <= p < up + left` (or
//!   when there is no `up`), and otherwise by the predictor:
//!   `left`: `a`; `up`: `b`; `average`: `floor((a + b) / 2)`; `median` (LOCO-I, JPEG-LS's):
//!   `min(a, b)` if `c >= max(a, b)`, `max(a, b)` if `c <= min(a, b)`, else `a + b - c`;
//!   `gradient`: `a + b - c` modulo `2^W`.
//!   So every row group decodes alone.
//! - With `contexts` (7 activity thresholds), the residuals of each row group are stored
//!   grouped by the context of their cell (the number of thresholds at most the activity of
//!   its decoded neighbours), with each row group's counts in the column's `context_counts`;
//!   with `colour` (`"ycocg_r"`), each pixel of `left` channels is colour-transformed first and
//!   the arithmetic is `2W` bits wide. FORMAT.md gives the details.
//! - The stored value is the residual `r = (u - prediction) mod 2^W`, read as a signed `W`-bit
//!   number `d` and zig-zag mapped to `(2d) xor (d >> (W - 1))` (0, -1, 1, -2 .. become 0, 1, 2,
//!   3 ..). The column's `stored_type` is unsigned and no wider than `of_type`; a reader refuses
//!   a stored value of `2^W` or more.
//!
//! The writer measures each candidate (none, and the predictors over each neighbourhood the
//! shape offers) on a sample of whole rows and keeps the smallest (the crate-private `choose`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float32Array, Float64Array, Int64Array, UInt64Array};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Int64Type, UInt64Type};
use parquet::basic::Compression;

use crate::cells::{Cells, SCAN_CHUNK};
use crate::dtype::{DType, Element};
use crate::effort::Effort;
use crate::encode;
use crate::error::{Error, Result};
use crate::narrow::{narrow, Narrowing};

/// How a cell is predicted from its neighbours (see the [module](self) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predictor {
    /// The left neighbour `a`.
    Left,
    /// The neighbour above, `b`.
    Up,
    /// `floor((a + b) / 2)`.
    Average,
    /// LOCO-I's median edge detector over `a`, `b` and `c` (JPEG-LS).
    Median,
    /// The plane through the three neighbours, `a + b - c` (modulo `2^W`): smooth fields.
    Gradient,
}

impl Predictor {
    /// The snake-case name, as in the metadata.
    pub fn name(self) -> &'static str {
        match self {
            Predictor::Left => "left",
            Predictor::Up => "up",
            Predictor::Average => "average",
            Predictor::Median => "median",
            Predictor::Gradient => "gradient",
        }
    }

    /// The prediction of the cell `p` of `hist` from its neighbours `a` (`left` back), `b`
    /// (`up` back) and `c` (`up + left` back), all of which are in `hist`.
    #[inline(always)]
    fn of_neighbours(self, hist: &[u64], p: usize, left: usize, up: usize) -> u64 {
        let (a, b) = (hist[p - left], hist[p - up]);
        match self {
            Predictor::Left => a,
            Predictor::Up => b,
            Predictor::Average => (a >> 1) + (b >> 1) + (a & b & 1),
            // Modulo 2^W: the callers keep W bits of what they add or subtract it from.
            Predictor::Gradient => a.wrapping_add(b).wrapping_sub(hist[p - up - left]),
            Predictor::Median => {
                let c = hist[p - up - left];
                let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                if c >= hi {
                    lo
                } else if c <= lo {
                    hi
                } else {
                    hi - (c - lo)
                }
            }
        }
    }

    /// Whether the predictor uses the neighbour above.
    pub fn needs_up(self) -> bool {
        self != Predictor::Left
    }
}

/// A prediction asked for by a writer ([`crate::WriteOptions::with_transform`]): the
/// predictor and its neighbours' distances; the type it works in is the column's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prediction {
    /// How each cell is predicted.
    pub predictor: Predictor,
    /// The distance, in cells (C order), of the left neighbour.
    pub left: u64,
    /// The distance, in cells, of the neighbour above.
    pub up: Option<u64>,
    /// A colour transform of each pixel's `left` channels first.
    pub colour: Option<Colour>,
    /// Activity thresholds that split the residuals into contexts (see
    /// [`Transform::contexts`]).
    pub contexts: Option<[u64; CONTEXTS - 1]>,
}

/// A reversible colour transform of the channels of each pixel, before prediction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// YCoCg-R (lossless, by lifting) of the first three channels `R, G, B` of each group of
    /// `left` cells; a fourth channel passes as it is.
    YcocgR,
}

/// A predictive transform of a dense value column, as recorded in its metadata.
///
/// ```
/// use arrstore::predict::{Predictor, Transform};
/// let t = Transform { predictor: Predictor::Median, of_type: arrstore::DType::U8, left: 3, up: Some(300), colour: None, contexts: None };
/// assert_eq!(t.to_string(), "median (left 3, up 300) over uint8");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transform {
    /// How each cell is predicted.
    pub predictor: Predictor,
    /// The narrowed type the prediction works in.
    pub of_type: DType,
    /// The distance, in cells, of the left neighbour.
    pub left: u64,
    /// The distance, in cells, of the neighbour above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<u64>,
    /// A colour transform of each pixel's `left` channels before prediction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<Colour>,
    /// The activity thresholds that split the residuals into [`CONTEXTS`] contexts, each stored
    /// apart within its row group (see the [module](self) docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contexts: Option<[u64; CONTEXTS - 1]>,
}

/// The number of contexts residuals are split into (see [`Transform::contexts`]).
pub const CONTEXTS: usize = 8;

impl std::fmt::Display for Transform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (left {}", self.predictor.name(), self.left)?;
        if let Some(up) = self.up {
            write!(f, ", up {up}")?;
        }
        write!(f, ") over {}", self.of_type)?;
        if self.colour.is_some() {
            write!(f, ", colours as YCoCg-R")?;
        }
        if self.contexts.is_some() {
            write!(f, ", {CONTEXTS} contexts")?;
        }
        Ok(())
    }
}

impl Transform {
    /// The width of the values, `W`, in bits.
    fn value_bits(&self) -> u32 {
        u32::try_from(self.of_type.size() * 8).unwrap_or(64)
    }

    /// The width of the arithmetic, in bits: `W`, or `2W` after a colour transform (whose
    /// chroma differences take `W + 1` bits).
    fn bits(&self) -> u32 {
        match self.colour {
            Some(_) => 2 * self.value_bits(),
            None => self.value_bits(),
        }
    }

    /// Checks the transform as read from a file whose value column is stored as `stored`.
    pub fn check(&self, stored: DType) -> Result<()> {
        match self.problem(stored) {
            Some(m) => Err(Error::CorruptMetadata(format!("transform {self}: {m}"))),
            None => Ok(()),
        }
    }

    /// What is wrong with the transform over a column stored as `stored`, if anything.
    fn problem(&self, stored: DType) -> Option<String> {
        if self.of_type == DType::Bool {
            return Some("it works on numbers, not bool".into());
        }
        if !matches!(stored, DType::U8 | DType::U16 | DType::U32 | DType::U64)
            || stored.size() > self.residual_type().size()
        {
            return Some(format!(
                "its residuals are unsigned and no wider than {}, the column is {stored}",
                self.residual_type()
            ));
        }
        if self.colour.is_some() && !(self.of_type.is_integer() && self.of_type.size() <= 4) {
            return Some(format!("a colour transform of {} values", self.of_type));
        }
        if self.contexts.is_some_and(|t| t.windows(2).any(|w| w[0] > w[1])) {
            return Some("its context thresholds do not ascend".into());
        }
        if self.colour.is_some() && !(3..=4).contains(&self.left) {
            return Some(format!("a colour transform of pixels of {} channels", self.left));
        }
        if self.left == 0 {
            return Some("the left neighbour's distance is 0".into());
        }
        match self.up {
            Some(up) if up <= self.left => Some(format!(
                "the neighbour above ({up} cells back) must be farther than the left one"
            )),
            None if self.predictor.needs_up() => Some("the predictor needs a neighbour above".into()),
            _ => None,
        }
    }

    /// The mask of `W` bits.
    fn mask(&self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// The prediction of the cell `p` rows into its row group, whose earlier values are
    /// `hist[..p]` (ordered `W`-bit values).
    #[inline]
    fn predict(&self, hist: &[u64], p: usize, left: usize, up: usize) -> u64 {
        if p < left {
            return 0;
        }
        let a = hist[p - left];
        if up == 0 || p < up + left {
            return a;
        }
        self.predictor.of_neighbours(hist, p, left, up)
    }

    /// The distances as `usize` (`up` 0 when absent), or an error for a file whose distances do
    /// not fit this machine.
    fn distances(&self) -> Result<(usize, usize)> {
        let too_far = |d: u64| Error::CorruptMetadata(format!("transform {self}: a distance of {d} cells"));
        let left = usize::try_from(self.left).map_err(|_| too_far(self.left))?;
        let up = usize::try_from(self.up.unwrap_or(0)).map_err(|_| too_far(self.up.unwrap_or(0)))?;
        Ok((left, up))
    }

    /// The zig-zag residuals of `values` (ordered `W`-bit values of one row group).
    fn residuals(&self, values: &[u64]) -> Vec<u64> {
        let (left, up) = self.distances().expect("a writer's distances fit in usize");
        let (mask, bits) = (self.mask(), self.bits());
        values
            .iter()
            .enumerate()
            .map(|(p, &u)| zigzag(u.wrapping_sub(self.predict(values, p, left, up)) & mask, bits))
            .collect()
    }

    /// The bits of the zig-zag residuals of `values` (one row group's), summed: the cheap
    /// estimate candidates are ranked by, without holding the residuals.
    fn residual_bits(&self, values: &[u64]) -> u64 {
        let (left, up) = self.distances().expect("a writer's distances fit in usize");
        let (mask, bits) = (self.mask(), self.bits());
        values
            .iter()
            .enumerate()
            .map(|(p, &u)| {
                let z = zigzag(u.wrapping_sub(self.predict(values, p, left, up)) & mask, bits);
                u64::from(64 - z.leading_zeros())
            })
            .sum()
    }

    /// The activity around the cell `p` rows into its row group, whose earlier values are
    /// `hist[..p]`: `|a - c| + |b - c| + |a - b|` where the three neighbours are in the row
    /// group; for a transform without `up`, `|a - a'|` with `a'` at `2 left` where both are;
    /// otherwise 0 (saturating at `2^64 - 1`).
    #[inline]
    fn activity(hist: &[u64], p: usize, left: usize, up: usize) -> u64 {
        if up > 0 && p >= up + left {
            let (a, b, c) = (hist[p - left], hist[p - up], hist[p - up - left]);
            a.abs_diff(c)
                .saturating_add(b.abs_diff(c))
                .saturating_add(a.abs_diff(b))
        } else if up == 0 && p >= 2 * left {
            hist[p - left].abs_diff(hist[p - 2 * left])
        } else {
            0
        }
    }

    /// The context of an activity: the number of `thresholds` at most `activity`.
    #[inline]
    fn context(thresholds: &[u64; CONTEXTS - 1], activity: u64) -> usize {
        // The thresholds ascend (`Transform::check`), so this is the count of those at most
        // `activity`, taken without a branch on each.
        thresholds.iter().map(|&t| usize::from(t <= activity)).sum()
    }

    /// The residuals of `values` (ordered values of one row group, colour-transformed where
    /// asked) in the order they are stored: grouped by context where the transform splits them
    /// (each context's in cell order), with the number of each context's.
    fn stored_residuals(&self, values: &[u64]) -> (Vec<u64>, Option<[u64; CONTEXTS]>) {
        let residuals = self.residuals(values);
        let Some(thresholds) = &self.contexts else {
            return (residuals, None);
        };
        let (left, up) = self.distances().expect("a writer's distances fit in usize");
        let contexts: Vec<u8> = (0..values.len())
            // Below CONTEXTS: fits a byte.
            .map(|p| Self::context(thresholds, Self::activity(values, p, left, up)) as u8)
            .collect();
        let mut counts = [0u64; CONTEXTS];
        for &c in &contexts {
            counts[usize::from(c)] += 1;
        }
        let mut grouped = Vec::with_capacity(residuals.len());
        for k in 0..CONTEXTS {
            grouped.extend(
                residuals
                    .iter()
                    .zip(&contexts)
                    .filter(|(_, &c)| usize::from(c) == k)
                    .map(|(&r, _)| r),
            );
        }
        (grouped, Some(counts))
    }

    /// The transformed column of a row group whose narrowed values are `narrowed` (an array of
    /// `of_type`): the residuals as the unsigned type of the arithmetic's width, in the order
    /// they are stored, and where they are split by context, each context's count.
    pub(crate) fn encode(&self, narrowed: &dyn Array) -> Result<(ArrayRef, Option<[u64; CONTEXTS]>)> {
        let mut ordered = to_ordered(narrowed, self.of_type)?;
        if self.colour.is_some() {
            self.colour_forward(&mut ordered)?;
        }
        let (residuals, counts) = self.stored_residuals(&ordered);
        let zz = UInt64Array::from(residuals);
        Ok((
            arrow::compute::cast(&zz, &self.residual_type().arrow_type())?,
            counts,
        ))
    }

    /// The stored type of the residuals: the unsigned type of the arithmetic's width.
    pub fn residual_type(&self) -> DType {
        match self.bits() {
            8 => DType::U8,
            16 => DType::U16,
            32 => DType::U32,
            _ => DType::U64,
        }
    }

    /// YCoCg-R of each group of `left` ordered `W`-bit values (`R, G, B` and, of four, a
    /// channel that passes): `Co = R - B`, `t = B + (Co >> 1)`, `Cg = G - t`,
    /// `Y = t + (Cg >> 1)`, stored as `Y`, `Co + 2^W`, `Cg + 2^W` (`>>` an arithmetic shift).
    fn colour_forward(&self, values: &mut [u64]) -> Result<()> {
        let (n, off) = (self.pixel()?, 1i64 << self.value_bits());
        if !values.len().is_multiple_of(n) {
            return Err(Error::CorruptData(format!(
                "{} values do not make whole pixels of {n} channels",
                values.len()
            )));
        }
        for px in values.chunks_exact_mut(n) {
            // W is at most 32: every value fits in i64, and so do the sums.
            let (r, g, b) = (px[0] as i64, px[1] as i64, px[2] as i64);
            let co = r - b;
            let t = b + (co >> 1);
            let cg = g - t;
            let y = t + (cg >> 1);
            // Each in [0, 2^(W+1)): non-negative.
            (px[0], px[1], px[2]) = (y as u64, (co + off) as u64, (cg + off) as u64);
        }
        Ok(())
    }

    /// The inverse of [`Transform::colour_forward`] for one pixel, or an error where the
    /// values it gives lie outside `W` bits (a corrupt file).
    fn colour_inverse(&self, px: &mut [u64]) -> Result<()> {
        let bits = self.value_bits();
        let off = 1i64 << bits;
        // Below 2^64 and at most 2W <= 64 bits: as i128, exact.
        let (y, co, cg) = (
            i128::from(px[0]),
            i128::from(px[1]) - i128::from(off),
            i128::from(px[2]) - i128::from(off),
        );
        let t = y - (cg >> 1);
        let g = cg + t;
        let b = t - (co >> 1);
        let r = b + co;
        let range = 0..(1i128 << bits);
        if ![r, g, b].iter().all(|v| range.contains(v)) {
            return Err(Error::CorruptData(format!(
                "the colour transform of {} gives ({r}, {g}, {b}), outside {bits} bits",
                self
            )));
        }
        // In [0, 2^W): non-negative and below 2^32.
        (px[0], px[1], px[2]) = (r as u64, g as u64, b as u64);
        Ok(())
    }

    /// The channels of a pixel under a colour transform: `left`, checked.
    fn pixel(&self) -> Result<usize> {
        usize::try_from(self.left)
            .ok()
            .filter(|n| (3..=4).contains(n))
            .ok_or_else(|| {
                Error::CorruptMetadata(format!("transform {self}: pixels of {} channels", self.left))
            })
    }
}

/// `r` (a `W`-bit value) read as signed and zig-zag mapped.
#[inline]
fn zigzag(r: u64, bits: u32) -> u64 {
    let shift = 64 - bits;
    let d = ((r << shift) as i64) >> shift; // sign-extended: a bit pattern, by design
    ((d << 1) ^ (d >> 63)) as u64 & (u64::MAX >> shift) // a bit pattern, by design
}

/// The inverse of [`zigzag`] (a `W`-bit value back).
#[inline]
fn unzigzag(z: u64, bits: u32) -> u64 {
    let d = (z >> 1) ^ (z & 1).wrapping_neg();
    d & (u64::MAX >> (64 - bits))
}

/// The values of an array of `of` (an integer or float type of `W` bits) as ordered `W`-bit
/// values in `u64`: unsigned integers as they are, signed ones with the sign bit flipped,
/// floats' bit patterns with the sign bit flipped when it is clear and every bit flipped when
/// it is set (so that larger floats map to larger numbers, and every bit pattern, NaN payloads
/// and -0.0 included, to its own).
fn to_ordered(values: &dyn Array, of: DType) -> Result<Vec<u64>> {
    let bits = u32::try_from(of.size() * 8).unwrap_or(64);
    let sign = 1u64 << (bits - 1);
    let mask = u64::MAX >> (64 - bits);
    let float = |b: u64| if b & sign == 0 { b | sign } else { !b & mask };
    Ok(match of {
        DType::F32 => values
            .as_primitive_opt::<Float32Type>()
            .ok_or_else(|| not_of(values, of))?
            .values()
            .iter()
            .map(|v| float(u64::from(v.to_bits())))
            .collect(),
        DType::F64 => values
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| not_of(values, of))?
            .values()
            .iter()
            .map(|v| float(v.to_bits()))
            .collect(),
        _ if of.is_signed() => {
            let wide = arrow::compute::cast(values, &DataType::Int64)?;
            let wide = wide.as_primitive::<Int64Type>();
            wide.values().iter().map(|&v| (v as u64 ^ sign) & mask).collect() // bit pattern
        }
        _ => {
            let wide = arrow::compute::cast(values, &DataType::UInt64)?;
            wide.as_primitive::<UInt64Type>().values().to_vec()
        }
    })
}

/// The error for an array that is not of the type a transform works in.
fn not_of(values: &dyn Array, of: DType) -> Error {
    Error::CorruptData(format!(
        "a transform over {of} was given a column of {}",
        values.data_type()
    ))
}

/// Ordered `W`-bit values back as an array of `of` (the inverse of [`to_ordered`]).
fn from_ordered(values: Vec<u64>, of: DType) -> Result<ArrayRef> {
    let bits = u32::try_from(of.size() * 8).unwrap_or(64);
    let sign = 1u64 << (bits - 1);
    let mask = u64::MAX >> (64 - bits);
    let float = |u: u64| if u & sign != 0 { u ^ sign } else { !u & mask };
    let shift = 64 - bits;
    Ok(match of {
        DType::F32 => Arc::new(Float32Array::from_iter_values(
            // Below 2^32: the mask keeps 32 bits.
            values
                .into_iter()
                .map(|u| f32::from_bits(u32::try_from(float(u)).unwrap_or(0))),
        )),
        DType::F64 => Arc::new(Float64Array::from_iter_values(
            values.into_iter().map(|u| f64::from_bits(float(u))),
        )),
        _ if of.is_signed() => {
            // Sign-extend the W-bit pattern: a bit pattern, by design.
            let wide = Int64Array::from_iter_values(
                values
                    .into_iter()
                    .map(|v| (((v ^ sign) << shift) as i64) >> shift),
            );
            arrow::compute::cast(&wide, &of.arrow_type())?
        }
        _ => arrow::compute::cast(&UInt64Array::from(values), &of.arrow_type())?,
    })
}

/// A row group as a decoder sees it: its first row, its rows and, where the residuals are
/// split by context, each context's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Group {
    /// The row group's first row in the column.
    pub start: u64,
    /// Its rows.
    pub rows: u64,
    /// Its residuals per context, where the transform splits them.
    pub counts: Option<[u64; CONTEXTS]>,
}

/// Undoes a transform batch by batch, restarting at each row group.
#[derive(Debug)]
pub(crate) struct Decoder {
    t: Transform,
    left: usize,
    up: usize,
    /// The farthest a prediction or a context looks back.
    keep: usize,
    /// The decoded ordered values of the current row group: all of them, or (once there are
    /// more than `keep`) at least the last `keep`, so that `hist.len()` is the cell's place in
    /// its row group wherever the restart rule depends on it.
    hist: Vec<u64>,
    /// The row groups still to come, and the one being decoded.
    groups: std::collections::VecDeque<Group>,
    current: Option<Group>,
    /// The column's row next.
    row: u64,
    /// Under a colour transform: the decoded values of a pixel not yet whole.
    pending: Vec<u64>,
    /// Where residuals are split by context: the current row group's, until it is whole.
    buffered: Vec<u64>,
}

impl Decoder {
    /// A decoder of `t` for a column whose first row is `first_row`, of the row groups
    /// `groups` (those before `first_row` are skipped).
    pub(crate) fn new(t: Transform, first_row: u64, groups: Vec<Group>) -> Result<Decoder> {
        let (left, up) = t.distances()?;
        if t.contexts.is_some() {
            if let Some(g) = groups
                .iter()
                .find(|g| g.counts.is_none_or(|c| c.iter().sum::<u64>() != g.rows))
            {
                return Err(Error::CorruptData(format!(
                    "the row group at row {} of {} rows has context counts {:?}",
                    g.start, g.rows, g.counts
                )));
            }
        }
        Ok(Decoder {
            t,
            left,
            up,
            keep: (up + left).max(2 * left),
            hist: Vec::new(),
            groups: groups.into_iter().filter(|g| g.start >= first_row).collect(),
            current: None,
            row: first_row,
            pending: Vec::new(),
            buffered: Vec::new(),
        })
    }

    /// The values (an array of the transform's `of_type`) of the next batch of residuals; under a
    /// colour transform, of the whole pixels decoded so far (a pixel cut by the batch's end is
    /// given with the next); where residuals are split by context, of the row groups completed
    /// by the batch.
    pub(crate) fn decode(&mut self, residuals: &dyn Array) -> Result<ArrayRef> {
        if residuals.null_count() > 0 {
            return Err(Error::CorruptData(format!(
                "column holds {} nulls; arrstore columns have none",
                residuals.null_count()
            )));
        }
        let wide = arrow::compute::cast(residuals, &DataType::UInt64)?;
        let zs = wide.as_primitive::<UInt64Type>().values();
        let (mask, bits) = (self.t.mask(), self.t.bits());
        if let Some(at) = zs.iter().position(|&z| z > mask) {
            return Err(Error::CorruptData(format!(
                "residual {} at row {} exceeds the {bits}-bit range of transform {}",
                zs[at],
                self.row + at as u64, // usize fits in u64
                self.t
            )));
        }
        // The decoded values, in the arithmetic's domain, after the pixel left whole last time.
        let mut out = std::mem::take(&mut self.pending);
        out.reserve(zs.len());
        let mut rest = &zs[..];
        while !rest.is_empty() {
            if self.groups.front().is_some_and(|g| g.start == self.row) {
                if !out.len().is_multiple_of(self.pixel_cells()) || !self.buffered.is_empty() {
                    return Err(Error::CorruptData(format!(
                        "a row group starts at row {} inside a pixel of the colour transform {}, or \
                         before the one before it ends",
                        self.row, self.t
                    )));
                }
                self.current = self.groups.pop_front();
                self.hist.clear();
            }
            // The residuals up to the next row group's first row.
            let until = self.groups.front().map_or(u64::MAX, |g| g.start);
            let n = usize::try_from(until.saturating_sub(self.row))
                .unwrap_or(usize::MAX)
                .min(rest.len())
                .max(1);
            let (now, later) = rest.split_at(n.min(rest.len()));
            rest = later;
            self.row += now.len() as u64; // usize fits in u64
            match self.current.and_then(|g| g.counts.map(|c| (g.rows, c))) {
                Some((rows, counts)) => {
                    self.buffered.extend_from_slice(now);
                    if self.buffered.len() as u64 >= rows {
                        // usize fits in u64
                        let group = std::mem::take(&mut self.buffered);
                        self.decode_group(&group, counts, &mut out)?;
                    }
                }
                None => {
                    let mut next = now.iter().copied();
                    self.decode_cells(now.len(), |_, _| next.next(), &mut out)?;
                }
            }
        }
        if self.t.colour.is_some() {
            let whole = out.len() / self.left * self.left;
            self.pending = out.split_off(whole);
            for px in out.chunks_exact_mut(self.left) {
                self.t.colour_inverse(px)?;
            }
        }
        from_ordered(out, self.t.of_type)
    }

    /// The cells of a pixel under a colour transform (1 without one).
    fn pixel_cells(&self) -> usize {
        if self.t.colour.is_some() {
            self.left
        } else {
            1
        }
    }

    /// Decodes `cells` cells of the current row group onto `out` (in the arithmetic's domain),
    /// each from the residual `residual` gives for it (called in cell order, after the cells
    /// before are decoded); `None` from it is a corrupt file.
    #[inline]
    fn decode_cells(
        &mut self,
        cells: usize,
        residual: impl FnMut(&[u64], usize) -> Option<u64>,
        out: &mut Vec<u64>,
    ) -> Result<()> {
        // One loop per predictor, so that no cell asks which predictor it is.
        match self.t.predictor {
            Predictor::Left => self.decode_cells_by(cells, residual, out, |h, p, l, u| {
                Predictor::Left.of_neighbours(h, p, l, u)
            }),
            Predictor::Up => self.decode_cells_by(cells, residual, out, |h, p, l, u| {
                Predictor::Up.of_neighbours(h, p, l, u)
            }),
            Predictor::Average => self.decode_cells_by(cells, residual, out, |h, p, l, u| {
                Predictor::Average.of_neighbours(h, p, l, u)
            }),
            Predictor::Median => self.decode_cells_by(cells, residual, out, |h, p, l, u| {
                Predictor::Median.of_neighbours(h, p, l, u)
            }),
            Predictor::Gradient => self.decode_cells_by(cells, residual, out, |h, p, l, u| {
                Predictor::Gradient.of_neighbours(h, p, l, u)
            }),
        }
    }

    /// [`Decoder::decode_cells`] with the transform's predictor as `of_neighbours` (where the
    /// whole neighbourhood is in the row group).
    #[inline(always)]
    fn decode_cells_by(
        &mut self,
        cells: usize,
        mut residual: impl FnMut(&[u64], usize) -> Option<u64>,
        out: &mut Vec<u64>,
        of_neighbours: impl Fn(&[u64], usize, usize, usize) -> u64,
    ) -> Result<()> {
        let (mask, bits) = (self.t.mask(), self.t.bits());
        let (left, up, keep) = (self.left, self.up, self.keep);
        let full = if up > 0 { up + left } else { left };
        let mut hist = std::mem::take(&mut self.hist);
        for _ in 0..cells {
            let p = hist.len();
            let Some(z) = residual(&hist, p) else {
                self.hist = hist;
                return Err(Error::CorruptData(format!(
                    "the row group before row {} has more cells of a context than its count",
                    self.row
                )));
            };
            let prediction = if p >= full && up > 0 {
                // The whole neighbourhood is in the row group.
                of_neighbours(&hist, p, left, up)
            } else {
                self.t.predict(&hist, p, left, up)
            };
            let u = unzigzag(z, bits).wrapping_add(prediction) & mask;
            hist.push(u);
            out.push(u);
            if hist.len() >= 2 * keep.max(SCAN_CHUNK) {
                hist.drain(..hist.len() - keep);
            }
        }
        self.hist = hist;
        Ok(())
    }

    /// Decodes the residuals `group` of a whole row group, stored by context with `counts` of
    /// each, in cell order onto `out`.
    fn decode_group(&mut self, group: &[u64], counts: [u64; CONTEXTS], out: &mut Vec<u64>) -> Result<()> {
        let thresholds = self.t.contexts.unwrap_or_default();
        // Each context's next residual and end, in `group` (the counts add up to its length).
        let (mut next, mut end) = ([0usize; CONTEXTS], [0usize; CONTEXTS]);
        let mut at = 0usize;
        for k in 0..CONTEXTS {
            next[k] = at;
            at = at.saturating_add(usize::try_from(counts[k]).unwrap_or(usize::MAX));
            end[k] = at;
        }
        let (left, up) = (self.left, self.up);
        self.decode_cells(
            group.len(),
            |hist, p| {
                let k = Transform::context(&thresholds, Transform::activity(hist, p, left, up));
                if next[k] == end[k] {
                    return None;
                }
                next[k] += 1;
                group.get(next[k] - 1).copied()
            },
            out,
        )
    }
}

/// The least saving, in percent of the untransformed sample's bytes, for which a transform is
/// taken: a plain Parquet reader sees an untransformed column's values directly.
pub const TRANSFORM_MIN_SAVING_PERCENT: u64 = 2;

/// The least saving, in percent of the values' own bits, that a predictor's residuals must show
/// in the cheap estimate (the bits of their zig-zag magnitudes) to be measured: random data
/// shows a few percent either way, and measuring costs more than the estimate.
const PROXY_MIN_SAVING_PERCENT: u64 = 10;

/// The predictors measured for each neighbourhood, after a cheap estimate keeps the most
/// promising ones (see [`choose`]), at [`Effort::Fast`] and above.
fn measured_predictors(effort: Effort) -> usize {
    match effort {
        Effort::Fast => 1,
        Effort::Default | Effort::Best => 2,
    }
}

/// What [`choose`] measured and kept.
#[derive(Debug, Clone)]
pub(crate) struct TransformChoice {
    /// The transform kept (`None`: the values as they are).
    pub transform: Option<Transform>,
    /// Each candidate measured (`"none"` first) with the sample's bytes under its best
    /// encoding.
    pub measured: Vec<(String, u64)>,
    /// The kept candidate's sample column and its smallest measurement, to choose its
    /// encoding and scale the dense estimate.
    pub sample: ArrayRef,
    /// The bytes of the sample untransformed and under the kept candidate.
    pub none_bytes: u64,
    /// See `none_bytes`.
    pub kept_bytes: u64,
    /// The kept candidate's measured encodings (for [`encode::choose_levels`]).
    pub kept_encodings: Vec<(encode::ColumnEncoding, u64)>,
    /// The stored type of the narrowed values, untransformed.
    pub narrowed: DType,
}

impl TransformChoice {
    /// The stored type of the kept candidate's column.
    pub fn sample_type(&self) -> DType {
        self.transform.map_or(self.narrowed, |t| t.residual_type())
    }
}

/// The neighbourhoods `(left, up)` worth predicting from for an array of `shape` (C order):
/// cells along the last axis (`up` the last axis' length, where there are rows of more than
/// one cell); and, for a last axis of 2 to 4 (channels) under two more axes, pixels along the
/// second-to-last axis with channels apart.
pub fn neighbourhoods(shape: &[usize]) -> Vec<(u64, Option<u64>)> {
    let n = shape.len();
    let cells: usize = shape.iter().product();
    let mut out = Vec::new();
    if cells < 2 || n == 0 {
        return out;
    }
    let last = shape[n - 1] as u64; // usize fits in u64
    let rows = n >= 2 && last > 1 && cells / shape[n - 1] > 1;
    out.push((1, rows.then_some(last)));
    if n >= 3 && (2..=4).contains(&last) && shape[n - 2] > 1 {
        let up = last * shape[n - 2] as u64; // at most the cells
        out.push((
            last,
            (cells / shape[n - 1] / shape[n - 2] > 1 || shape[n - 3] > 1).then_some(up),
        ));
    }
    out
}

/// Chooses the transform of a dense column of `view`'s cells narrowed by `n`, by measuring:
/// on up to 16 blocks of whole rows spread over the array (about `budget` cells in all, each
/// block predicted as a row group of its own), the column untransformed and the
/// [`measured_predictors`] of each neighbourhood whose residuals a cheap estimate
/// (the bits of their zig-zag magnitudes) finds smallest, where the estimate is
/// [`PROXY_MIN_SAVING_PERCENT`] below the values' own (their distances from the middle of
/// their range), each under every encoding at
/// `compression`. The smallest is kept where it saves [`TRANSFORM_MIN_SAVING_PERCENT`].
/// `None` where nothing was measured: a bool column, fewer than 2 cells, or no predictor
/// estimated smaller than the values. `forced` measures that prediction alone and keeps it.
pub(crate) fn choose<T: Element>(
    view: &dyn Cells<T>,
    n: &Narrowing,
    budget: usize,
    compression: Compression,
    row_group_size: usize,
    forced: Option<Prediction>,
    effort: Effort,
) -> Result<Option<TransformChoice>> {
    // Each neighbourhood, with and without a colour transform where its cells are pixels of 3
    // or 4 channels of integers of at most 32 bits.
    let hoods: Vec<(u64, Option<u64>, Option<Colour>)> = match forced {
        Some(f) => vec![(f.left, f.up, f.colour)],
        None => {
            let colour_ok = n.stored.is_integer() && n.stored.size() <= 4;
            neighbourhoods(view.shape())
                .into_iter()
                .flat_map(|(left, up)| {
                    let colour =
                        (colour_ok && (3..=4).contains(&left)).then_some((left, up, Some(Colour::YcocgR)));
                    std::iter::once((left, up, None)).chain(colour)
                })
                .collect()
        }
    };
    if n.stored == DType::Bool || hoods.is_empty() {
        return Ok(None);
    }
    if let Some(f) = forced {
        let t = Transform {
            predictor: f.predictor,
            of_type: n.stored,
            left: f.left,
            up: f.up,
            colour: f.colour,
            contexts: f.contexts,
        };
        let cells = view.cells() as u64; // usize fits in u64
        if let Some(m) = t.problem(t.residual_type()) {
            return Err(Error::BadTransform(format!("transform {t}: {m}")));
        }
        if f.up.unwrap_or(f.left) > cells.max(1) {
            return Err(Error::BadTransform(format!(
                "{t}: a distance beyond the array's {cells} cells"
            )));
        }
        if f.colour.is_some() && !cells.is_multiple_of(f.left) {
            return Err(Error::BadTransform(format!(
                "{t}: the array's {cells} cells are not whole pixels"
            )));
        }
    }
    let row = hoods
        .iter()
        .filter_map(|&(l, u, _)| u.map(|u| u + l))
        .max()
        .unwrap_or(1);
    let row = usize::try_from(row).unwrap_or(usize::MAX);
    let blocks = sample_blocks(view.cells(), row, budget);
    let mut cells: Vec<T> = Vec::new();
    let mut starts = Vec::new();
    for b in &blocks {
        starts.push(cells.len());
        view.each_chunk_in(b.clone(), SCAN_CHUNK, &mut |_, c| {
            cells.extend_from_slice(c);
            Ok(())
        })?;
    }
    let narrowed = narrow(&cells, n);
    drop(cells);
    let probe = Transform {
        predictor: Predictor::Left,
        of_type: n.stored,
        left: 1,
        up: None,
        colour: None,
        contexts: None,
    };
    let ordered = to_ordered(narrowed.as_ref(), n.stored)?;
    // The same values colour-transformed, where a neighbourhood asks for it (the blocks are
    // whole rows, so whole pixels).
    let coloured: Option<Vec<u64>> = match hoods.iter().find(|h| h.2.is_some()) {
        Some(&(left, up, colour)) => {
            let t = Transform {
                left,
                up,
                colour,
                ..probe
            };
            let mut c = ordered.clone();
            t.colour_forward(&mut c)?;
            Some(c)
        }
        None => None,
    };
    // Each candidate's residuals, block by block (each block restarts as a row group does).
    let residuals_of = |t: &Transform| -> Vec<u64> {
        let input = match (&t.colour, &coloured) {
            (Some(_), Some(c)) => c,
            _ => &ordered,
        };
        let mut out = Vec::with_capacity(input.len());
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).copied().unwrap_or(input.len());
            out.extend(t.stored_residuals(&input[s..e]).0);
        }
        out
    };
    let predictors: Vec<Predictor> = match forced {
        Some(f) => vec![f.predictor],
        None => vec![
            Predictor::Left,
            Predictor::Up,
            Predictor::Average,
            Predictor::Median,
            Predictor::Gradient,
        ],
    };
    // The predictors of each neighbourhood ranked by the bits of their residuals' zig-zag
    // magnitudes (one candidate's residuals held at a time); the best are measured, where they
    // take fewer bits than the values' distances from the middle of their range.
    let (lo, hi) = ordered
        .iter()
        .fold((u64::MAX, 0), |(lo, hi), &u| (lo.min(u), hi.max(u)));
    let mid = lo / 2 + hi / 2;
    let bits = probe.bits();
    let mask = probe.mask();
    let none_cost: u64 = ordered
        .iter()
        .map(|&u| u64::from(64 - zigzag(u.wrapping_sub(mid) & mask, bits).leading_zeros()))
        .sum();
    let mut candidates: Vec<Transform> = Vec::new();
    let mut best_cost = u64::MAX;
    let mut best_proxy = None;
    for (left, up, colour) in hoods {
        let mut scored: Vec<(Transform, u64)> = predictors
            .iter()
            .filter(|p| up.is_some() || !p.needs_up())
            .map(|&predictor| {
                let t = Transform {
                    predictor,
                    of_type: n.stored,
                    left,
                    up,
                    colour,
                    contexts: forced.and_then(|f| f.contexts),
                };
                let input = match (&t.colour, &coloured) {
                    (Some(_), Some(c)) => c,
                    _ => &ordered,
                };
                let cost = starts
                    .iter()
                    .enumerate()
                    .map(|(i, &s)| {
                        let e = starts.get(i + 1).copied().unwrap_or(input.len());
                        t.residual_bits(&input[s..e])
                    })
                    .sum();
                (t, cost)
            })
            .collect();
        scored.sort_by_key(|c| c.1);
        if let Some(&(t, cost)) = scored.first().filter(|c| c.1 < best_cost) {
            (best_cost, best_proxy) = (cost, Some(t));
        }
        candidates.extend(
            scored
                .into_iter()
                .filter(|c| forced.is_some() || c.1 < none_cost / 100 * (100 - PROXY_MIN_SAVING_PERCENT))
                .take(measured_predictors(effort))
                .map(|c| c.0),
        );
    }
    if candidates.is_empty() {
        // No predictor's residuals are smaller than the values themselves: nothing to measure.
        return Ok(None);
    }
    // The most promising candidate again, its residuals split by the activity around each
    // cell into contexts of about equal size (thresholds at the sample's activity quantiles).
    if let Some(t) = best_proxy.filter(|_| forced.is_none() && effort > Effort::Fast) {
        let input = match (&t.colour, &coloured) {
            (Some(_), Some(c)) => c,
            _ => &ordered,
        };
        let (left, up) = t.distances()?;
        let mut activity: Vec<u64> = Vec::with_capacity(input.len());
        for (i, &s) in starts.iter().enumerate() {
            let e = starts.get(i + 1).copied().unwrap_or(input.len());
            activity.extend((0..e - s).map(|p| Transform::activity(&input[s..e], p, left, up)));
        }
        activity.sort_unstable();
        let mut thresholds = [0u64; CONTEXTS - 1];
        for (k, th) in thresholds.iter_mut().enumerate() {
            *th = activity
                .get(activity.len() * (k + 1) / CONTEXTS)
                .copied()
                .unwrap_or(0);
        }
        candidates.push(Transform {
            contexts: Some(thresholds),
            ..t
        });
    }
    let mut columns: Vec<(ArrayRef, DType)> = vec![(narrowed, n.stored)];
    for t in &candidates {
        let zz = UInt64Array::from(residuals_of(t));
        let stored = t.residual_type();
        columns.push((arrow::compute::cast(&zz, &stored.arrow_type())?, stored));
    }
    let measured = encode::measure_candidates(&columns, compression, row_group_size)?;
    let best = |m: &[(encode::ColumnEncoding, u64)]| m.iter().map(|(_, b)| *b).min().unwrap_or(u64::MAX);
    let none_bytes = best(&measured[0]);
    let mut names = vec![("none".to_string(), none_bytes)];
    let mut kept = 0;
    for (i, t) in candidates.iter().enumerate() {
        let bytes = best(&measured[i + 1]);
        names.push((t.to_string(), bytes));
        if bytes < best(&measured[kept]) {
            kept = i + 1;
        }
    }
    let kept_bytes = best(&measured[kept]);
    if forced.is_some() {
        kept = 1;
    } else if kept > 0 && kept_bytes * 100 > none_bytes * (100 - TRANSFORM_MIN_SAVING_PERCENT) {
        kept = 0;
    }
    let mut measured = measured;
    let mut columns = columns;
    Ok(Some(TransformChoice {
        transform: (kept > 0).then(|| candidates[kept - 1]),
        measured: names,
        sample: columns.swap_remove(kept).0,
        none_bytes,
        kept_bytes: best(&measured[kept]),
        kept_encodings: measured.swap_remove(kept),
        narrowed: n.stored,
    }))
}

/// Up to 16 blocks of whole rows (`row` cells each; the blocks start at multiples of `row`)
/// spread evenly over `cells` cells, about `budget` cells in all, each at least two rows
/// (where the array has them), so that predictions from the row above are measured.
#[allow(clippy::single_range_in_vec_init)] // a list of one range, by design
fn sample_blocks(cells: usize, row: usize, budget: usize) -> Vec<std::ops::Range<usize>> {
    const BLOCKS: usize = 16;
    let row = row.max(1);
    let block = (budget / BLOCKS / row * row).max(2 * row);
    if block.saturating_mul(BLOCKS) >= cells || budget >= cells {
        let whole = budget.max(block).min(cells);
        if whole == cells {
            return vec![0..cells];
        }
    }
    let count = (budget / block).clamp(1, BLOCKS);
    let stride = cells / count;
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    for i in 0..count {
        let start = (i * stride) / row * row;
        let start = start.max(out.last().map_or(0, |r| r.end));
        let end = (start + block).min(cells);
        if start < end {
            out.push(start..end);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift) from `seed`.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    fn t(predictor: Predictor, of_type: DType, left: u64, up: Option<u64>) -> Transform {
        Transform {
            predictor,
            of_type,
            left,
            up,
            colour: None,
            contexts: None,
        }
    }

    /// `narrowed` encoded in row groups of `sizes` rows: the stored column and its groups.
    fn encode_groups(tr: &Transform, narrowed: &ArrayRef, sizes: &[usize]) -> (ArrayRef, Vec<Group>) {
        let (mut parts, mut groups, mut at) = (Vec::new(), Vec::new(), 0);
        for &rows in sizes {
            let (stored, counts) = tr.encode(narrowed.slice(at, rows).as_ref()).unwrap();
            parts.push(stored);
            groups.push(Group {
                start: at as u64,
                rows: rows as u64,
                counts,
            });
            at += rows;
        }
        let refs: Vec<&dyn Array> = parts.iter().map(|p| p.as_ref()).collect();
        (arrow::compute::concat(&refs).unwrap(), groups)
    }

    #[test]
    fn zigzag_is_a_bijection_on_w_bits() {
        for bits in [8u32, 16] {
            let n = 1u64 << bits;
            let mut seen = vec![false; usize::try_from(n).unwrap()];
            for r in 0..n {
                let z = zigzag(r, bits);
                assert!(z < n);
                assert_eq!(unzigzag(z, bits), r);
                seen[usize::try_from(z).unwrap()] = true;
            }
            assert!(seen.iter().all(|&s| s));
        }
        assert_eq!(zigzag(0, 8), 0);
        assert_eq!(zigzag(255, 8), 1); // -1
        assert_eq!(zigzag(1, 8), 2);
        assert_eq!(zigzag(128, 8), 255); // -128
        for r in [0, 1, u64::MAX, u64::MAX / 2, 1 << 63, 12345] {
            assert_eq!(unzigzag(zigzag(r, 64), 64), r);
        }
        assert_eq!(zigzag(u64::MAX, 64), 1);
    }

    #[test]
    fn the_median_predictor_is_loco_i() {
        let m = t(Predictor::Median, DType::U8, 1, Some(2));
        // hist: c, b, a at distances 3, 2, 1 from p = 3.
        let at = |c: u64, b: u64, a: u64| m.predict(&[c, b, a], 3, 1, 2);
        assert_eq!(at(10, 5, 7), 5); // c >= max: min
        assert_eq!(at(1, 5, 7), 7); // c <= min: max
        assert_eq!(at(6, 5, 7), 6); // a + b - c
        assert_eq!(at(u64::MAX - 1, u64::MAX, u64::MAX - 2), u64::MAX - 1);
        let avg = t(Predictor::Average, DType::U64, 1, Some(2));
        assert_eq!(avg.predict(&[0, u64::MAX, u64::MAX], 3, 1, 2), u64::MAX);
        assert_eq!(avg.predict(&[0, 3, 4], 3, 1, 2), 3);
    }

    #[test]
    fn round_trips_in_every_width_with_restarts() {
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15u64);
        for of in [
            DType::I8,
            DType::U8,
            DType::I16,
            DType::U16,
            DType::I32,
            DType::U32,
            DType::I64,
            DType::U64,
        ] {
            for (predictor, left, up) in [
                (Predictor::Left, 1, None),
                (Predictor::Up, 1, Some(7)),
                (Predictor::Average, 3, Some(12)),
                (Predictor::Median, 1, Some(5)),
                (Predictor::Median, 3, Some(4)),
                (Predictor::Gradient, 1, Some(6)),
                (Predictor::Gradient, 3, Some(9)),
            ] {
                for contexts in [None, Some([0, 1, 2, 5, 9, 30, 1000])] {
                    let tr = Transform {
                        contexts,
                        ..t(predictor, of, left, up)
                    };
                    let values: Vec<i64> = (0..500)
                        .map(|i| {
                            let (lo, hi) = of.int_range().unwrap();
                            let v = match next() % 4 {
                                0 => lo,
                                1 => hi,
                                _ => i128::from(next() as i64),
                            };
                            let v = v.clamp(lo, hi) + i128::from(i % 3) - 1;
                            let v = v.clamp(lo, hi);
                            i64::try_from(v).unwrap_or(v as i64) // u64 above i64: bit pattern
                        })
                        .collect();
                    let wide: ArrayRef = if of.is_signed() {
                        Arc::new(Int64Array::from(values.clone()))
                    } else {
                        Arc::new(UInt64Array::from_iter_values(values.iter().map(|&v| v as u64)))
                    };
                    let narrowed = arrow::compute::cast(&wide, &of.arrow_type()).unwrap();
                    // Two row groups: 0..300 and 300..500.
                    let (stored, groups) = encode_groups(&tr, &narrowed, &[300, 200]);
                    assert_eq!(stored.data_type(), &tr.residual_type().arrow_type());
                    // Decoded in uneven batches that straddle the restart.
                    let mut dec = Decoder::new(tr, 0, groups.clone()).unwrap();
                    let mut parts = Vec::new();
                    for (s, l) in [(0, 1), (1, 250), (251, 100), (351, 149)] {
                        parts.push(dec.decode(&stored.slice(s, l)).unwrap());
                    }
                    let refs: Vec<&dyn Array> = parts.iter().map(|p| p.as_ref()).collect();
                    let back = arrow::compute::concat(&refs).unwrap();
                    assert_eq!(&back, &narrowed, "{tr}");
                    // A decoder that starts at the second row group.
                    let mut dec = Decoder::new(tr, 300, groups).unwrap();
                    assert_eq!(
                        &dec.decode(&stored.slice(300, 200)).unwrap(),
                        &narrowed.slice(300, 200)
                    );
                }
            }
        }
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            -1e-310,
        ];
        let mut next = xorshift(77);
        let f64s: Vec<f64> = (0..400)
            .map(|i| {
                let x = next();
                match i % 5 {
                    0 => f64::from_bits(x),
                    1 => specials[(x % 8) as usize],
                    _ => (i as f64 * 0.01).sin() + (x % 3) as f64 * 1e-9,
                }
            })
            .collect();
        let f32s: Vec<f32> = f64s
            .iter()
            .map(|&v| v as f32)
            .chain([f32::from_bits(0x7f80_0001), -0.0])
            .collect();
        let arrays: [(ArrayRef, DType); 2] = [
            (Arc::new(Float64Array::from(f64s)), DType::F64),
            (Arc::new(Float32Array::from(f32s)), DType::F32),
        ];
        for (values, of) in arrays {
            for (predictor, left, up) in [
                (Predictor::Left, 1, None),
                (Predictor::Median, 1, Some(20)),
                (Predictor::Average, 2, Some(9)),
            ] {
                let tr = t(predictor, of, left, up);
                tr.check(tr.residual_type()).unwrap();
                let (stored, groups) = encode_groups(&tr, &values, &[values.len()]);
                let back = Decoder::new(tr, 0, groups).unwrap().decode(&stored).unwrap();
                let bits = |a: &ArrayRef| -> Vec<u64> {
                    match of {
                        DType::F64 => a
                            .as_primitive::<Float64Type>()
                            .values()
                            .iter()
                            .map(|v| v.to_bits())
                            .collect(),
                        _ => a
                            .as_primitive::<Float32Type>()
                            .values()
                            .iter()
                            .map(|v| u64::from(v.to_bits()))
                            .collect(),
                    }
                };
                assert_eq!(bits(&back), bits(&values), "{tr}");
            }
        }
        // The order is kept: -1 < -0 < 0 < 1.
        let o = to_ordered(&Float64Array::from(vec![-1.0, -0.0, 0.0, 1.0]), DType::F64).unwrap();
        assert!(o.windows(2).all(|w| w[0] < w[1]), "{o:?}");
    }

    #[test]
    fn colour_transforms_round_trip_every_pixel() {
        let mut next = xorshift(5u64);
        for (of, channels) in [
            (DType::U8, 3u64),
            (DType::U8, 4),
            (DType::I16, 3),
            (DType::U32, 4),
            (DType::I32, 3),
        ] {
            let tr = Transform {
                colour: Some(Colour::YcocgR),
                ..t(Predictor::Median, of, channels, Some(channels * 7))
            };
            tr.check(tr.residual_type()).unwrap();
            assert_eq!(tr.residual_type().size(), 2 * of.size());
            let (lo, hi) = of.int_range().unwrap();
            let n = usize::try_from(channels).unwrap() * 7 * 9;
            let values: Vec<i64> = (0..n)
                .map(|_| match next() % 4 {
                    0 => lo,
                    1 => hi,
                    _ => lo + i128::from(next() % 1000),
                })
                .map(|v| i64::try_from(v.clamp(lo, hi)).unwrap())
                .collect();
            let narrowed = arrow::compute::cast(&Int64Array::from(values), &of.arrow_type()).unwrap();
            let (stored, groups) = encode_groups(&tr, &narrowed, &[n]);
            // Batches that cut pixels.
            let mut dec = Decoder::new(tr, 0, groups).unwrap();
            let mut parts = Vec::new();
            let mut at = 0;
            for len in [1, 2, 5, n - 8] {
                parts.push(dec.decode(&stored.slice(at, len)).unwrap());
                at += len;
            }
            let refs: Vec<&dyn Array> = parts.iter().map(|p| p.as_ref()).collect();
            assert_eq!(&arrow::compute::concat(&refs).unwrap(), &narrowed, "{tr}");
            // A row group that starts inside a pixel is refused.
            let cut = vec![
                Group {
                    start: 0,
                    rows: 2,
                    counts: None,
                },
                Group {
                    start: 2,
                    rows: n as u64 - 2,
                    counts: None,
                },
            ];
            let mut dec = Decoder::new(tr, 0, cut).unwrap();
            let e = dec.decode(&stored.slice(0, 8)).unwrap_err().to_string();
            assert!(e.contains("a row group starts at row 2 inside a pixel"), "{e}");
        }
        // Checked: pixels of 3 or 4 channels, integers of at most 32 bits.
        let bad = |tr: Transform| tr.check(tr.residual_type()).unwrap_err().to_string();
        let c = Some(Colour::YcocgR);
        assert!(bad(Transform {
            colour: c,
            ..t(Predictor::Left, DType::U8, 2, None)
        })
        .contains("2 channels"));
        assert!(bad(Transform {
            colour: c,
            ..t(Predictor::Left, DType::U64, 3, None)
        })
        .contains("colour transform of uint64"));
        assert!(bad(Transform {
            colour: c,
            ..t(Predictor::Left, DType::F32, 3, None)
        })
        .contains("colour transform of float32"));
    }

    #[test]
    fn a_residual_beyond_w_bits_is_an_error() {
        let tr = t(Predictor::Left, DType::U8, 1, None);
        let stored = arrow::array::UInt16Array::from(vec![1u16, 2, 256]);
        let whole = vec![Group {
            start: 0,
            rows: 3,
            counts: None,
        }];
        let e = Decoder::new(tr, 0, whole).unwrap().decode(&stored).unwrap_err();
        assert!(
            e.to_string()
                .contains("residual 256 at row 2 exceeds the 8-bit range"),
            "{e}"
        );
    }

    #[test]
    fn bad_transforms_are_refused() {
        let cases = [
            (
                t(Predictor::Left, DType::Bool, 1, None),
                DType::U8,
                "works on numbers",
            ),
            (
                t(Predictor::Left, DType::U8, 1, None),
                DType::U16,
                "no wider than uint8",
            ),
            (t(Predictor::Left, DType::I16, 1, None), DType::I16, "unsigned"),
            (t(Predictor::Left, DType::U8, 0, None), DType::U8, "distance is 0"),
            (t(Predictor::Median, DType::U8, 3, Some(3)), DType::U8, "farther"),
            (
                t(Predictor::Up, DType::U8, 1, None),
                DType::U8,
                "needs a neighbour above",
            ),
        ];
        for (tr, stored, msg) in cases {
            let e = tr.check(stored).unwrap_err().to_string();
            assert!(e.contains(msg), "{tr}: {e}");
        }
        t(Predictor::Median, DType::I64, 3, Some(9))
            .check(DType::U8)
            .unwrap();
    }

    #[test]
    fn neighbourhoods_follow_the_shape() {
        assert_eq!(neighbourhoods(&[5]), vec![(1, None)]);
        assert_eq!(neighbourhoods(&[1]), vec![]);
        assert_eq!(neighbourhoods(&[4, 6]), vec![(1, Some(6))]);
        assert_eq!(neighbourhoods(&[4, 1]), vec![(1, None)]);
        assert_eq!(neighbourhoods(&[1, 6]), vec![(1, None)]);
        assert_eq!(neighbourhoods(&[8, 6, 3]), vec![(1, Some(3)), (3, Some(18))]);
        assert_eq!(neighbourhoods(&[8, 6, 5]), vec![(1, Some(5))]);
    }

    #[test]
    fn sample_blocks_are_whole_rows_in_range() {
        assert_eq!(sample_blocks(100, 10, 1000), vec![0..100]);
        let b = sample_blocks(1_000_000, 1000, 100_000);
        assert_eq!(b.len(), 16);
        assert!(b
            .iter()
            .all(|r| r.start % 1000 == 0 && r.len() % 1000 == 0 && r.end <= 1_000_000));
        assert!(b.windows(2).all(|w| w[0].end <= w[1].start));
        // Rows longer than the budget: still two rows a block.
        let b = sample_blocks(10_000_000, 1_000_000, 100_000);
        assert_eq!(b, vec![0..2_000_000]);
    }
}
