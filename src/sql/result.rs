//! Query results back into arrays: the coordinate columns and the value column of a result
//! checked (no NULLs, negatives, duplicates or coordinates out of range) and made a COO.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int64Type, UInt64Type};
use arrow::record_batch::RecordBatch;

use crate::coo::Coo;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::narrow::{widen, Narrowing};

pub(super) fn bad_result(m: String) -> Error {
    Error::QueryResult(m)
}

/// A query result split into coordinate columns (as `u64`) and the value column.
pub(super) struct QueryResult {
    /// The coordinates of each axis, by entry.
    pub(super) coords: Vec<Vec<u64>>,
    /// The value column, by batch.
    values: Vec<ArrayRef>,
    /// The value column's dtype.
    pub(super) dtype: DType,
}

impl QueryResult {
    pub(super) fn new(schema: arrow::datatypes::SchemaRef, batches: Vec<RecordBatch>) -> Result<QueryResult> {
        let ncols = schema.fields().len();
        if ncols < 2 {
            return Err(bad_result(format!(
                "the query returns {ncols} column(s); an array needs one coordinate column per axis, then the value"
            )));
        }
        let value_field = schema.field(ncols - 1);
        let dtype = match value_field.data_type() {
            DataType::Dictionary(_, v) => DType::from_arrow(v),
            t => DType::from_arrow(t),
        }
        .ok_or_else(|| {
            bad_result(format!(
                "the value column '{}' has type {}; arrstore stores bool, integers and floats",
                value_field.name(),
                value_field.data_type()
            ))
        })?;
        let mut coords: Vec<Vec<u64>> = vec![Vec::new(); ncols - 1];
        let mut values = Vec::with_capacity(batches.len());
        for batch in &batches {
            for (axis, out) in coords.iter_mut().enumerate() {
                let name = schema.field(axis).name();
                extend_coords(batch.column(axis), name, out)?;
            }
            let v = batch.column(ncols - 1);
            if v.null_count() > 0 {
                return Err(bad_result(format!(
                    "the value column '{}' holds NULLs",
                    value_field.name()
                )));
            }
            values.push(Arc::clone(v));
        }
        Ok(QueryResult {
            coords,
            values,
            dtype,
        })
    }
}

/// Appends the coordinates of one result column, refusing NULLs, negatives and non-integers.
fn extend_coords(c: &ArrayRef, name: &str, out: &mut Vec<u64>) -> Result<()> {
    if c.null_count() > 0 {
        return Err(bad_result(format!("the coordinate column '{name}' holds NULLs")));
    }
    let t = c.data_type();
    if t.is_unsigned_integer() {
        let u = arrow::compute::cast(c, &DataType::UInt64)?;
        out.extend_from_slice(u.as_primitive::<UInt64Type>().values());
    } else if t.is_signed_integer() {
        let s = arrow::compute::cast(c, &DataType::Int64)?;
        for &x in s.as_primitive::<Int64Type>().values() {
            let x = u64::try_from(x).map_err(|_| {
                bad_result(format!(
                    "the coordinate column '{name}' holds the negative value {x}"
                ))
            })?;
            out.push(x);
        }
    } else {
        return Err(bad_result(format!(
            "the coordinate column '{name}' has type {t}; coordinates are integers"
        )));
    }
    Ok(())
}

/// The COO of a result: entries sorted, duplicates and coordinates out of range refused.
pub(super) fn coo_from_result<T: Element>(r: &QueryResult, shape: &[u64], fill_bits: u64) -> Result<Coo<T>> {
    let mut values: Vec<T> = Vec::new();
    let identity = Narrowing::identity(T::DTYPE);
    for v in &r.values {
        widen(v.as_ref(), &identity, &mut values)?;
    }
    let n = values.len();
    for (axis, (c, &len)) in r.coords.iter().zip(shape).enumerate() {
        if let Some((entry, &index)) = c.iter().enumerate().find(|(_, &x)| x >= len) {
            return Err(Error::CoordinateOutOfRange {
                entry: u64::try_from(entry).unwrap_or(u64::MAX),
                axis,
                index,
                len,
            });
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let key = |i: usize| r.coords.iter().map(move |c| c[i]);
    order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)));
    for w in order.windows(2) {
        if key(w[0]).eq(key(w[1])) {
            let at: Vec<u64> = key(w[0]).collect();
            return Err(bad_result(format!(
                "the coordinates {at:?} occur more than once in the result; an array has one value per cell (aggregate them, e.g. GROUP BY)"
            )));
        }
    }
    let coords: Vec<Vec<u64>> = r
        .coords
        .iter()
        .map(|c| order.iter().map(|&i| c[i]).collect())
        .collect();
    let values: Vec<T> = order.iter().map(|&i| values[i]).collect();
    let shape_usize = shape
        .iter()
        .map(|&d| usize::try_from(d))
        .collect::<Result<Vec<usize>, _>>()
        .map_err(|_| Error::BadShape {
            shape: shape.to_vec(),
            problem: "an axis does not fit in usize".into(),
        })?;
    Coo::try_new(shape_usize, coords, values, T::from_bits(fill_bits))
}
