//! Writing a sparse array: the entry order and each column's encoding measured on a sample
//! ([`plan_sparse`]), then the COO table in that order.

use std::io::Write;
use std::ops::Range;

use arrow::array::ArrayRef;

use crate::content::ContentHash;
use crate::coo::Coo;
use crate::dtype::{DType, Element};
use crate::dynarray::{Order, Scalar};
use crate::encode::{self, ColumnEncoding, EncodingChoice};
use crate::entry_order;
use crate::error::{Error, Result};
use crate::meta::{index_names, shape_u64, ArrayMeta, ColumnMeta, Estimates, Role, StoredLayout};
use crate::narrow::{narrow, Narrowing, Scan};
use crate::options::{WriteOptions, OTHER_ORDER_MIN_SAVING_PERCENT};
use crate::table::TableWriter;

use super::WriteSummary;

/// A sparse table's entry order and each column's encoding, as measured on a sample.
struct SparsePlan {
    /// The axes the entries are sorted by.
    sorted_by: Vec<usize>,
    /// Entry `i` of the file is entry `perm[i]` of the row-major COO (`None`: row-major).
    perm: Option<Vec<usize>>,
    /// One choice per column: the index columns by axis, then `value`.
    choices: Vec<EncodingChoice>,
}

/// The sample of one entry order, its columns measured with every candidate encoding.
struct OrderSample {
    /// The axes the entries are sorted by.
    sorted_by: Vec<usize>,
    /// The sample's index columns by axis, then `value`, with their stored types.
    columns: Vec<(ArrayRef, DType)>,
    /// Each column's candidates and their measured bytes.
    measured: Vec<Vec<(ColumnEncoding, u64)>>,
    /// The sum of each column's smallest candidate.
    bytes: u64,
}

/// Measures the sample of each candidate entry order (row-major, and each other axis as the
/// innermost) with every candidate encoding and keeps the smallest: which order makes the index
/// columns runs of small gaps depends on the data (a document-term matrix is smaller by terms,
/// uniform noise is the same either way). Only the kept order's columns then climb the zstd
/// level steps, while the whole table's permutation into that order is made.
fn plan_sparse<T: Element>(coo: &Coo<T>, n: &Narrowing, opts: &WriteOptions) -> Result<SparsePlan> {
    let ndim = coo.shape().len();
    let (compression, rg) = (opts.compression(), opts.row_group_size());
    // COO entries count as 8 bytes each: a coordinate and a value.
    let ranges = encode::sample_ranges(coo.nnz(), (opts.sample_bytes() / 8).max(1));
    // Measures the sample of one order: the entries at `positions` of the row-major COO.
    let measure = |sorted_by: Vec<usize>, positions: Vec<usize>| -> Result<OrderSample> {
        let mut columns: Vec<(ArrayRef, DType)> = coo
            .all_coords()
            .iter()
            .map(|c| (entry_order::gather_coords(c, &positions).into_arrow(), c.dtype()))
            .collect();
        columns.push((
            narrow(&entry_order::gather(coo.values(), &positions), n),
            n.stored,
        ));
        let measured = encode::measure_candidates(&columns, compression, rg)?;
        let bytes = measured
            .iter()
            .map(|m| m.iter().map(|(_, b)| *b).min().unwrap_or(0))
            .sum();
        Ok(OrderSample {
            sorted_by,
            columns,
            measured,
            bytes,
        })
    };
    let row_major = entry_order::row_major(ndim);
    // The row-major sample is measured while the samples of the other orders are gathered
    // (without sorting every entry) and measured.
    let (row_major_sample, other) = crate::par::both(
        || measure(row_major.clone(), ranges.iter().flat_map(|r| r.clone()).collect()),
        || {
            let mut other: Option<OrderSample> = None;
            for inner in (0..ndim.saturating_sub(1)).filter(|_| coo.nnz() > 1) {
                let to = entry_order::inner_last(ndim, inner);
                let positions =
                    entry_order::positions_at(coo.all_coords(), coo.shape(), &row_major, &to, &ranges);
                let sample = measure(to, positions)?;
                if other.as_ref().is_none_or(|o| sample.bytes < o.bytes) {
                    other = Some(sample);
                }
            }
            Ok::<_, Error>(other)
        },
    );
    // The other orders' error first, as when they were measured on this thread and returned early.
    let other = other?;
    let row_major_sample = row_major_sample?;
    let bar = row_major_sample.bytes * (100 - OTHER_ORDER_MIN_SAVING_PERCENT) / 100;
    let kept = match other {
        Some(o) if o.bytes <= bar && o.bytes < row_major_sample.bytes => o,
        _ => row_major_sample,
    };
    let OrderSample {
        sorted_by,
        columns,
        measured,
        ..
    } = kept;
    // Only the order kept sorts every entry.
    let (perm, choices) = crate::par::both(
        || entry_order::permutation(coo.all_coords(), coo.shape(), &row_major, &sorted_by),
        || encode::choose_levels(&columns, measured, compression, rg),
    );
    Ok(SparsePlan {
        sorted_by,
        perm,
        choices: choices?,
    })
}

pub(crate) fn write_sparse<W: Write + Send, T: Element>(
    writer: W,
    coo: &Coo<T>,
    order: Order,
    estimates: Option<Estimates>,
    opts: &WriteOptions,
) -> Result<WriteSummary> {
    crate::limits::check_shape(coo.shape())?;
    let n = Scan::of(coo.values()).narrowing();
    let plan = plan_sparse(coo, &n, opts)?;
    let ndim = coo.shape().len();
    let mut columns = Vec::new();
    for (axis, (name, choice)) in index_names(ndim).into_iter().zip(&plan.choices).enumerate() {
        let stored = coo.coords(axis).dtype();
        let meta = ColumnMeta {
            axis: Some(axis),
            encoding: Some(choice.best.name().into()),
            ..ColumnMeta::new(&name, Role::Index, stored, 0)
        };
        columns.push((meta, stored.arrow_type(), choice.best, choice.compression));
    }
    let choice = plan.choices.last().expect("a choice for the value column");
    let perm = plan.perm.as_deref();
    // Declared as an Arrow dictionary type on request (its key type fits the whole column, so
    // the column is narrowed whole first). Otherwise the Parquet writer builds the dictionary
    // pages from the values: an Arrow dictionary made only to be taken apart again would hash
    // every value twice.
    let declared = (choice.best == ColumnEncoding::Dictionary && opts.arrow_dictionary())
        .then(|| {
            let all = match perm {
                Some(p) => narrow(&entry_order::gather(coo.values(), p), &n),
                None => narrow(coo.values(), &n),
            };
            encode::to_dictionary(&all)
        })
        .flatten();
    columns.push((
        ColumnMeta {
            encoding: Some(choice.best.name().into()),
            ..ColumnMeta::new("value", Role::Value, n.stored, n.offset)
        },
        declared
            .as_ref()
            .map_or(n.stored.arrow_type(), |d| d.data_type().clone()),
        choice.best,
        choice.compression,
    ));
    // Each worker puts its row group's entries in the file's order (and narrows the values)
    // itself: no reordered copy of the whole table is made.
    let column = |c: usize, rows: Range<usize>| -> Result<ArrayRef> {
        let part = perm.map(|p| &p[rows.clone()]);
        Ok(match (coo.all_coords().get(c), &declared) {
            (Some(coords), _) => match part {
                Some(p) => entry_order::gather_coords(coords, p).into_arrow(),
                None => coords.slice_to_arrow(rows),
            },
            (None, Some(d)) => d.slice(rows.start, rows.len()),
            (None, None) => match part {
                Some(p) => narrow(&entry_order::gather(coo.values(), p), &n),
                None => narrow(&coo.values()[rows], &n),
            },
        })
    };
    let fill = coo.fill();
    let mut meta = ArrayMeta::new(
        T::DTYPE,
        coo.shape(),
        order,
        StoredLayout::Sparse,
        coo.nnz(),
        columns.iter().map(|c| c.0.clone()).collect(),
    );
    meta.fill = Some(Scalar::of(fill).to_string());
    meta.fill_bits = Some(format!("{:#018x}", fill.to_bits()));
    meta.sorted_by = Some(plan.sorted_by);
    meta.estimates = estimates;
    meta.content_hash = Some(ContentHash::entries(
        &shape_u64(coo.shape()),
        crate::content::hash_entries(coo)?,
    ));
    let mut table = TableWriter::new(writer, columns, coo.nnz(), opts)?;
    table.write_groups(coo.nnz(), column)?;
    table.finish(meta)
}
