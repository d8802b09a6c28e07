//! The views that show stored arrays in SQL, built from stock DataFusion parts.
//!
//! Everything is built from stock DataFusion parts, so that the same plans can run on a cluster:
//! each file is a Parquet `ListingTable` whose declared schema has the logical types (the
//! Parquet scan casts the stored columns, and rewrites filters to the stored types, so row-group
//! statistics and the page index prune as usual); an offset, the index columns of a dense
//! array, or the cells of a runs array are added by a view (projections over the scan; for runs
//! also a window and `Unnest`s of literal lists). No custom `TableProvider`, UDF or plan node is
//! involved: views are inlined into the logical plan, `file_row_index()` is a built-in function
//! that the Parquet scan turns into its row-number virtual column, so a cluster scheduler
//! (DataFusion Ballista) receives ordinary Parquet scans, projections, filters, windows and
//! unnests. The one exception is a dense array whose values carry a predictive transform
//! (format 2.0): no column arithmetic undoes it, so arrstore's own scan decodes it
//! (`decoded.rs`) and the view only adds the index columns.
//!
//! Row numbers: the Parquet scan computes `file_row_index()` only when the projection that asks
//! for it ends up inside the scan, and DataFusion 55 can leave that projection above a filter or
//! a round-robin repartition, where the query fails ("file_row_index() is source dependent and
//! cannot be evaluated directly"). So the scans of dense and runs arrays evaluate filters on
//! their stored columns inside the Parquet decoder, and [`ArraySession::new`](super::ArraySession::new) splits a file's
//! scan between the partitions instead of repartitioning one scan round-robin; a context given
//! to [`ArraySession::with_context`](super::ArraySession::with_context) should turn off
//! `datafusion.optimizer.enable_round_robin_repartition`.
//!
//! # Filter pushdown
//! Filters on the index columns of a sparse array and on `value` whenever the value column is
//! stored without an offset (identity, widened or dictionary-encoded) reach the Parquet scan as
//! pruning predicates. So do filters on the leading index columns of a runs array (every axis
//! but the last: `row` of a 2-D array), which DataFusion moves below the window because it is
//! partitioned by them. Not pushed down: filters on a value stored with an offset (they are
//! evaluated after the scan, exactly); filters on the index columns of a dense array (those are
//! computed from the row number; the scan reads the whole value column); and on a runs array,
//! filters on the last axis' index (computed from the runs' lengths; every run of the leading
//! coordinates kept is read) and on `value` when the query reads the last axis' coordinate (a
//! run's place in its row depends on the runs before it, so the runs are filtered after the
//! window, before they are cut into cells). A query that does not read that coordinate, such
//! as `SELECT row, count(*) FROM t WHERE value = 6 GROUP BY row`, needs no window, and its value
//! filter reaches the scan.
//!
//! # Exactness
//! Offsets are added in 64-bit integers when the stored type's range plus the offset fits
//! (`BIGINT`, or `BIGINT UNSIGNED` for non-negative values), otherwise in `DECIMAL(38, 0)`, then
//! cast to the dtype: the result is exactly the stored value plus the offset. A scale (floats
//! stored as integers `k`, format 2.0) divides or multiplies the cast integer by the recorded
//! float in the dtype's arithmetic, which is the format's own definition of the value. NaN payloads of
//! floats are not guaranteed in SQL results (NaN stays NaN).
//!

use arrow::datatypes::DataType;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlan, LogicalPlanBuilder};

use crate::coords::Coords;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::meta::{index_names, ArrayMeta};
use crate::scale::ScaleOp;

use super::sql_error;

/// The Arrow type of the value column in the table schema, and the expression (over that
/// column) that gives the logical value when a plain cast is not enough (an offset).
pub(super) fn value_mapping(meta: &ArrayMeta) -> Result<(DataType, Option<Expr>)> {
    let v = meta.value_column();
    let dtype = meta.dtype;
    if v.offset == 0 && v.scale.is_none() {
        return Ok((dtype.arrow_type(), None));
    }
    let Some((smin, smax)) = v.stored_type.int_range() else {
        return Err(Error::CorruptMetadata(format!(
            "an offset or scale on a {} value column",
            v.stored_type
        )));
    };
    let off = v.offset;
    // Both the stored values and the sums must lie in [lo, hi].
    let fits = |lo: i128, hi: i128| {
        smin >= lo
            && smax <= hi
            && smin.checked_add(off).is_some_and(|a| a >= lo)
            && smax.checked_add(off).is_some_and(|b| b <= hi)
    };
    let value = col_named(&v.name);
    let (table_type, sum) =
        if let (Ok(o), true) = (i64::try_from(off), fits(i64::MIN.into(), i64::MAX.into())) {
            (DataType::Int64, if o == 0 { value } else { value + lit(o) })
        } else if let (Ok(o), true) = (u64::try_from(off), fits(0, u64::MAX.into())) {
            (DataType::UInt64, value + lit(o))
        } else {
            const LIMIT: i128 = 10i128.pow(38);
            if off <= -LIMIT || off >= LIMIT {
                return Err(Error::CorruptMetadata(format!(
                    "the offset {off} has more than 38 digits"
                )));
            }
            let d = DataType::Decimal128(38, 0);
            (d, value + lit(ScalarValue::Decimal128(Some(off), 38, 0)))
        };
    let logical = cast(sum, dtype.arrow_type());
    let Some(scale) = v.scale else {
        return Ok((table_type, Some(logical)));
    };
    // The integers are exact in the float type (at most 2^53 or 2^24, as the writer keeps
    // them), and the float operation is IEEE 754's, as the format defines it.
    let by = match dtype {
        DType::F32 => lit(ScalarValue::Float32(Some(scale.by as f32))), // a float32 value, checked
        _ => lit(ScalarValue::Float64(Some(scale.by))),
    };
    let scaled = match scale.op {
        ScaleOp::Divide => logical / by,
        ScaleOp::Multiply => logical * by,
    };
    Ok((table_type, Some(scaled)))
}

/// The name under which a view's scan passes each row's number in the file.
pub(super) const ROW_NUMBER: &str = "__arrstore_row_number";

/// The name of the `SubqueryAlias` over the projection that adds [`ROW_NUMBER`].
const ROW_NUMBER_ALIAS: &str = "__arrstore_rows";

/// The scan's `columns` and each row's number in the file (`file_row_index()`) as
/// [`ROW_NUMBER`], in a projection of its own under a `SubqueryAlias`.
///
/// The Parquet scan computes `file_row_index()` only when the projection that calls it ends up
/// inside the scan. DataFusion 55 puts it there when that projection holds nothing but columns
/// and the call; when the optimizer merges computations of the row number (`/`, `%`, casts)
/// into it, the projection can stay above the round-robin repartition of a scan of one file
/// group and fails at run time ("file_row_index() is source dependent and cannot be evaluated
/// directly"). Projections are not merged across the `SubqueryAlias`.
pub(super) fn with_row_numbers(scan: LogicalPlanBuilder, columns: &[&str]) -> Result<LogicalPlanBuilder> {
    let mut exprs: Vec<Expr> = columns.iter().map(|c| col_named(c)).collect();
    exprs.push(datafusion::functions::core::expr_fn::file_row_index().alias(ROW_NUMBER));
    scan.project(exprs)
        .and_then(|b| b.alias(ROW_NUMBER_ALIAS))
        .map_err(sql_error)
}

/// The cells of a dense array over the scan of its value column: the index columns, computed
/// from each row's number in the file, and `value` (the logical value, computed by the
/// expression `value` from the stored one).
pub(super) fn dense_view(scan: LogicalPlanBuilder, shape: &[u64], value: Expr) -> Result<LogicalPlan> {
    let mut exprs = dense_index_exprs(shape, col_named(ROW_NUMBER))?;
    exprs.push(value.alias("value"));
    with_row_numbers(scan, &["value"])?
        .project(exprs)
        .and_then(|b| b.build())
        .map_err(sql_error)
}

/// The cells of a dense array over arrstore's own scan of a transformed value column, which
/// passes each row's number as [`ROW_NUMBER`] beside the logical `value`.
pub(super) fn decoded_dense_view(scan: LogicalPlanBuilder, shape: &[u64]) -> Result<LogicalPlan> {
    let mut exprs = dense_index_exprs(shape, col_named(ROW_NUMBER))?;
    exprs.push(col_named("value"));
    scan.project(exprs).and_then(|b| b.build()).map_err(sql_error)
}

/// The index columns of a dense array, from the Parquet row number `row_number` (C order).
fn dense_index_exprs(shape: &[u64], row_number: Expr) -> Result<Vec<Expr>> {
    let names = index_names(shape.len());
    let mut exprs = Vec::with_capacity(shape.len());
    for (axis, (&len, name)) in shape.iter().zip(&names).enumerate() {
        let stride: u64 = shape[axis + 1..].iter().product::<u64>().max(1);
        let as_i64 = |x: u64| {
            i64::try_from(x).map_err(|_| Error::BadShape {
                shape: shape.to_vec(),
                problem: "more cells than SQL row numbers hold (2^63)".into(),
            })
        };
        let mut e = row_number.clone();
        if stride > 1 {
            e = e / lit(as_i64(stride)?);
        }
        if axis > 0 {
            e = e % lit(as_i64(len.max(1))?);
        }
        exprs.push(cast(e, Coords::dtype_for(len).arrow_type()).alias(name));
    }
    Ok(exprs)
}

/// The most parts one step of [`runs_view`] cuts a piece of a run into.
const RUN_SPLIT: u64 = 16;

/// Internal column names of the runs view (its output leaves them out).
const RUN_END: &str = "__arrstore_end";
const RUN_START: &str = "__arrstore_start";
const RUN_LEN: &str = "__arrstore_len";
const RUN_PART: &str = "__arrstore_part";

/// The cells of a runs array, one row per cell, over the scan of its run table: the index
/// columns, typed as a dense array's, and `value` (the logical value, computed by the
/// expression `value` from the stored one).
///
/// 1. [`with_row_numbers`]: each run's row number in the file.
/// 2. A window, `sum(length) OVER (PARTITION BY <leading index columns> ORDER BY <row number>
///    ROWS UNBOUNDED PRECEDING)`, gives each run's end in its row; its first cell is at
///    `end - length`.
/// 3. Steps of a projection and an `Unnest` cut the runs into cells: with `m` the least number
///    such that `16^m` reaches the last axis' length, step `j` (1 to `m`) cuts every piece
///    `[start, start + len)` into its blocks of `16^(m - j)` cells (the last one shorter), so a
///    piece of a step has at most 16 blocks and after step `m` every piece is one cell, at
///    `start`. The unnested list, a literal `[0, 1, .., blocks - 1]`, is picked by a `CASE` on
///    the number of blocks. Runs keep their length until the step whose blocks are shorter, so
///    the steps before the last handle about as many rows as there are runs. (One
///    `unnest(range(start, start + len))` would do, but `range` is in DataFusion's
///    `nested_expressions` feature, which this crate does not build.)
/// 4. A projection names the coordinates and casts them to a dense array's index types.
pub(super) fn runs_view(scan: LogicalPlanBuilder, meta: &ArrayMeta, value: Expr) -> Result<LogicalPlan> {
    use datafusion::logical_expr::expr::WindowFunction;
    use datafusion::logical_expr::{case, ExprFunctionExt, WindowFrame};

    let shape = &meta.shape;
    let names = index_names(shape.len());
    let Some((last_name, lead_names)) = names.split_last() else {
        // A 0-d array: one run of one cell.
        return scan
            .project([value.alias("value")])
            .and_then(|b| b.build())
            .map_err(sql_error);
    };
    let row_cells = shape.last().copied().unwrap_or(1);
    if i64::try_from(row_cells).is_err() {
        return Err(Error::BadShape {
            shape: shape.clone(),
            problem: "a last axis longer than SQL integers hold (2^63)".into(),
        });
    }
    let length = meta.runs_length_column()?;
    let lead: Vec<Expr> = lead_names.iter().map(|n| col_named(n)).collect();
    let keep = |more: Vec<Expr>| -> Vec<Expr> {
        lead.iter()
            .cloned()
            .chain([col_named("value")])
            .chain(more)
            .collect()
    };

    // 1. The runs with their row numbers.
    let mut columns: Vec<&str> = lead_names.iter().map(String::as_str).collect();
    columns.extend([length.name.as_str(), "value"]);
    let runs = with_row_numbers(scan, &columns)?;
    // 2. The end of each run in its row.
    let run_len = cast(col_named(&length.name), DataType::Int64);
    let end = Expr::from(WindowFunction::new(
        datafusion::functions_aggregate::sum::sum_udaf(),
        vec![run_len.clone()],
    ))
    .partition_by(lead.clone())
    .order_by(vec![col_named(ROW_NUMBER).sort(true, false)])
    .window_frame(WindowFrame::new(Some(true)))
    .build()
    .map_err(sql_error)?
    .alias(RUN_END);
    let mut after_window = lead.clone();
    after_window.extend([
        value.alias("value"),
        (col_named(RUN_END) - run_len.clone()).alias(RUN_START),
        run_len.alias(RUN_LEN),
    ]);
    let mut b = runs
        .window([end])
        .and_then(|b| b.project(after_window))
        .map_err(sql_error)?;
    // 3. Cut the runs into blocks of RUN_SPLIT^(m-1), .., RUN_SPLIT, 1 cells (the blocks of each
    //    step aligned to the piece's start), so that every step but the last handles few rows.
    let int = |n: u64| lit(n as i64); // n < row_cells <= i64::MAX
    let mut blocks: Vec<u64> = std::iter::successors(Some(1u64), |&b| b.checked_mul(RUN_SPLIT))
        .take_while(|&b| b < row_cells)
        .collect();
    blocks.reverse();
    // The longest a piece can be.
    let mut longest = row_cells;
    for block in blocks {
        // A piece of l cells has (l - 1) / block + 1 blocks, at most `most`.
        let most = longest.div_ceil(block).min(RUN_SPLIT);
        let parts = |n: u64| -> Expr {
            let items: Vec<ScalarValue> = (0..n).map(|i| ScalarValue::Int64(Some(i as i64))).collect(); // i < RUN_SPLIT
            lit(ScalarValue::List(ScalarValue::new_list_nullable(
                &items,
                &DataType::Int64,
            )))
        };
        let (s, l, q) = (col_named(RUN_START), col_named(RUN_LEN), col_named(RUN_PART));
        let count = if block == 1 {
            l.clone()
        } else {
            (l.clone() - int(1)) / int(block) + int(1)
        };
        let mut pick = case(count);
        for n in 1..most {
            pick = pick.when(int(n), parts(n));
        }
        let pick = pick.otherwise(parts(most)).map_err(sql_error)?;
        // Block q starts q blocks after the piece and holds the rest of it when shorter.
        let (start, len) = if block == 1 {
            (s + q, int(1))
        } else {
            let offset = q * int(block);
            let rest = l - offset.clone();
            (
                s + offset,
                datafusion::functions::core::expr_fn::least(vec![int(block), rest]),
            )
        };
        b = b
            .project(keep(vec![
                col_named(RUN_START),
                col_named(RUN_LEN),
                pick.alias(RUN_PART),
            ]))
            .and_then(|b| b.unnest_column(RUN_PART))
            .and_then(|b| b.project(keep(vec![start.alias(RUN_START), len.alias(RUN_LEN)])))
            .map_err(sql_error)?;
        longest = longest.min(block);
    }
    // 4. The coordinates, typed as a dense array's.
    let typed = |e: Expr, stored: &DataType, len: u64, name: &str| {
        let t = Coords::dtype_for(len).arrow_type();
        if *stored == t { e } else { cast(e, t) }.alias(name)
    };
    let index = meta.index_columns();
    let mut exprs: Vec<Expr> = lead_names
        .iter()
        .zip(shape.iter())
        .zip(&index)
        .map(|((n, &len), c)| typed(col_named(n), &c.stored_type.arrow_type(), len, n))
        .collect();
    exprs.push(typed(
        col_named(RUN_START),
        &DataType::Int64,
        row_cells,
        last_name,
    ));
    exprs.push(col_named("value"));
    b.project(exprs).and_then(|b| b.build()).map_err(sql_error)
}

/// A column reference by exact name (no identifier normalization).
pub(super) fn col_named(name: &str) -> Expr {
    col(datafusion::common::Column::new_unqualified(name))
}
