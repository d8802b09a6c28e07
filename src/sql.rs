//! SQL over stored arrays with Apache DataFusion: [`ArraySession`] registers arrstore files (one
//! by one or a whole store directory) as tables that show the arrays' logical values, runs
//! queries, and turns a result of coordinates and values back into an array.
//!
//! # How an array appears in SQL
//! - A **sparse** (COO) array is a table with its index columns (`row`, `col` for 2-D,
//!   `dim_0` .. `dim_{n-1}` otherwise; unsigned, at the width the file stores) and `value`.
//! - A **dense** array is a table with the same index columns plus `value`; the index columns
//!   are computed from the Parquet row number (DataFusion's built-in `file_row_index()`), never
//!   stored.
//! - `value` has the array's dtype and holds the **logical** values: a narrowed column is widened
//!   (`uint16` counts of an `int64` array read as `BIGINT`, whole-number floats stored as
//!   integers read as `DOUBLE`, `float32`-stored `float64` read as `DOUBLE`) and a
//!   dictionary-encoded column reads as plain values.
//!
//! Everything is built from stock DataFusion parts, so that the same plans can run on a cluster:
//! each file is a Parquet [`ListingTable`] whose declared schema has the logical types (the
//! Parquet scan casts the stored columns, and rewrites filters to the stored types, so row-group
//! statistics and the page index prune as usual); an offset, or the index columns of a dense
//! array, are added by a view (a projection over the scan). No custom `TableProvider`, UDF or
//! plan node is involved: views are inlined into the logical plan, `file_row_index()` is a
//! built-in function that the Parquet scan turns into its row-number virtual column, so a
//! cluster scheduler (DataFusion Ballista) receives ordinary Parquet scans, projections and
//! filters. (Whether Ballista 55 serializes the row-number virtual column of a dense scan is to
//! be checked when that runs; sparse arrays do not use it.)
//!
//! # Filter pushdown
//! Filters on the index columns of a sparse array and on `value` whenever the value column is
//! stored without an offset (identity, widened or dictionary-encoded) reach the Parquet scan as
//! pruning predicates. Not pushed down: filters on a value stored with an offset (they are
//! evaluated after the scan, exactly), and filters on the index columns of a dense array (those
//! are computed from the row number; the scan reads the whole value column).
//!
//! # Exactness
//! Offsets are added in 64-bit integers when the stored type's range plus the offset fits
//! (`BIGINT`, or `BIGINT UNSIGNED` for non-negative values), otherwise in `DECIMAL(38, 0)`, then
//! cast to the dtype: the result is exactly the stored value plus the offset. NaN payloads of
//! floats are not guaranteed in SQL results (NaN stays NaN).
//!
//! ```no_run
//! # async fn demo() -> arrstore::Result<()> {
//! let mut session = arrstore::sql::ArraySession::new();
//! session.register_array("stars", "stars.parquet")?;
//! let batches = session
//!     .query("SELECT row, count(*) AS n, sum(value) FROM stars GROUP BY row ORDER BY n DESC LIMIT 10")
//!     .await?;
//! let bright = session
//!     .query_coo("SELECT row, col, value FROM stars WHERE value > 0.95", None)
//!     .await?;
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, UInt64Type};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::ScalarValue;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use crate::coo::{Coo, Coords, DynCoo};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::meta::{ArrayMeta, StoredLayout};
use crate::narrow::{widen, Narrowing};
use crate::options::WriteOptions;
use crate::read::ArrayFile;
use crate::with_dtype;
use crate::write::{index_names, write_coo, WriteSummary};

/// The prefix of the hidden name under which the Parquet scan of an array is registered when a
/// view with the array's name stands in front of it.
pub const HIDDEN_PREFIX: &str = "__arrstore_";

/// One registered array.
#[derive(Debug, Clone)]
pub struct RegisteredArray {
    /// The table name in SQL.
    pub name: String,
    /// The arrstore file.
    pub path: PathBuf,
    /// The array's self-description.
    pub meta: ArrayMeta,
    /// The name of the Parquet scan behind the table (the table's own name when no view is
    /// needed, `__arrstore_<name>` otherwise).
    pub scan_name: String,
}

/// A DataFusion session over stored arrays: register arrays and stores, run SQL, get Arrow
/// record batches or an array back.
///
/// The query methods are `async` (DataFusion's execution is); call them inside a Tokio runtime.
pub struct ArraySession {
    ctx: SessionContext,
    arrays: BTreeMap<String, RegisteredArray>,
}

impl std::fmt::Debug for ArraySession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArraySession")
            .field("arrays", &self.arrays.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for ArraySession {
    fn default() -> Self {
        ArraySession::new()
    }
}

impl ArraySession {
    /// A session with arrstore's defaults: row-group and page-index pruning on; filters are
    /// evaluated after decoding (late materialization inside the Parquet decoder measured
    /// slower on arrstore's files: a value filter keeping 0.8% of 2,000,000 cells took 9.7 ms
    /// with it and 5.2 ms without).
    pub fn new() -> ArraySession {
        let config = SessionConfig::new()
            .set_bool("datafusion.execution.parquet.pushdown_filters", false)
            .set_bool("datafusion.execution.parquet.enable_page_index", true);
        ArraySession::with_context(SessionContext::new_with_config(config))
    }

    /// A session on a context the caller configured (a cluster context, other tables).
    pub fn with_context(ctx: SessionContext) -> ArraySession {
        ArraySession {
            ctx,
            arrays: BTreeMap::new(),
        }
    }

    /// The DataFusion context, to register other tables or functions or to change settings.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// The registered arrays, by table name.
    pub fn arrays(&self) -> &BTreeMap<String, RegisteredArray> {
        &self.arrays
    }

    /// Registers the arrstore file at `path` as the table `name` (used verbatim: a name with
    /// capitals or odd characters is written in double quotes in SQL).
    pub fn register_array(&mut self, name: &str, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let meta = ArrayFile::open(path)?.meta().clone();
        let abs = std::fs::canonicalize(path).map_err(|e| Error::from(e).in_file(path))?;
        self.register_meta(name, &abs, meta).map_err(|e| e.in_file(path))
    }

    /// Registers every array of the store at `dir` under its name in the store's index
    /// (`store.json`, the `.npz` keys). A directory without an index is taken as a plain folder of
    /// arrstore files: each `*.parquet` is registered under its file stem and other Parquet files
    /// are left out. Returns the names, sorted.
    pub fn register_store(&mut self, dir: impl AsRef<Path>) -> Result<Vec<String>> {
        let dir = dir.as_ref();
        let mut tables: Vec<(String, PathBuf)> = Vec::new();
        if crate::store::Store::is_store(dir) {
            let store = crate::store::Store::open(dir)?;
            for e in store.entries() {
                tables.push((e.name.clone(), store.dir().join(&e.file)));
            }
        } else {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| Error::from(e).in_file(dir))?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<_>>()
                .map_err(|e| Error::from(e).in_file(dir))?;
            files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"));
            for p in files {
                let Some(stem) = p.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                match ArrayFile::open(&p) {
                    Err(e) if matches!(e.kind(), Error::NotArrstore { .. }) => continue,
                    Err(e) => return Err(e),
                    Ok(_) => tables.push((stem.to_string(), p.clone())),
                }
            }
        }
        tables.sort();
        for (name, path) in &tables {
            self.register_array(name, path)?;
        }
        Ok(tables.into_iter().map(|(name, _)| name).collect())
    }

    fn register_meta(&mut self, name: &str, abs: &Path, meta: ArrayMeta) -> Result<()> {
        if self.arrays.contains_key(name) {
            return Err(Error::Sql(format!(
                "a table named '{name}' is already registered"
            )));
        }
        let (value_type, value_expr) = value_mapping(&meta)?;
        let index = meta.index_columns();
        let mut fields: Vec<Field> = index
            .iter()
            .map(|c| Field::new(&c.name, c.stored_type.arrow_type(), false))
            .collect();
        fields.push(Field::new(&meta.value_column().name, value_type, false));
        let schema = Arc::new(Schema::new(fields));

        let url_text = abs
            .to_str()
            .ok_or_else(|| Error::Sql(format!("{}: the path is not UTF-8", abs.display())))?;
        let url = ListingTableUrl::parse(url_text).map_err(sql_error)?;
        let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("");
        // The rows of a sparse file are sorted by their coordinates, but the table does not
        // declare that order: with it, DataFusion keeps the order through a sort-preserving
        // merge of the file's partitions, which measured slower on two cores than hashing
        // (GROUP BY row over 2,000,000 nonzeros: 20 ms declared, 14 ms not; bench/sql_vs_duckdb.py).
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(schema);
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config).map_err(sql_error)?);

        let needs_view = meta.layout == StoredLayout::Dense || value_expr.is_some();
        let scan_name = if needs_view {
            format!("{HIDDEN_PREFIX}{name}")
        } else {
            name.to_string()
        };
        self.ctx
            .register_table(scan_name.as_str(), Arc::clone(&table))
            .map_err(sql_error)?;
        if needs_view {
            let value = value_expr.unwrap_or_else(|| col_named("value"));
            let mut exprs: Vec<Expr> = match meta.layout {
                StoredLayout::Dense => dense_index_exprs(&meta.shape)?,
                StoredLayout::Sparse => index.iter().map(|c| col_named(&c.name)).collect(),
                StoredLayout::Runs => {
                    return Err(Error::Sql(format!("{name}: runs layout not yet queryable")))
                }
            };
            exprs.push(value.alias("value"));
            let plan = LogicalPlanBuilder::scan(scan_name.as_str(), provider_as_source(table), None)
                .and_then(|b| b.project(exprs))
                .and_then(|b| b.build())
                .map_err(sql_error)?;
            self.ctx
                .register_table(name, Arc::new(ViewTable::new(plan, None)))
                .map_err(sql_error)?;
        }
        self.arrays.insert(
            name.to_string(),
            RegisteredArray {
                name: name.to_string(),
                path: abs.to_path_buf(),
                meta,
                scan_name,
            },
        );
        Ok(())
    }

    /// Plans `query` (any SQL DataFusion accepts, including `EXPLAIN`); errors are
    /// DataFusion's messages.
    pub async fn sql(&self, query: &str) -> Result<DataFrame> {
        self.ctx.sql(query).await.map_err(sql_error)
    }

    /// Runs `query` and collects the result.
    pub async fn query(&self, query: &str) -> Result<Vec<RecordBatch>> {
        self.sql(query).await?.collect().await.map_err(sql_error)
    }

    /// Runs `query`; the result's schema (also when there are no rows) and its batches.
    pub async fn query_with_schema(
        &self,
        query: &str,
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let df = self.sql(query).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(sql_error)?;
        Ok((schema, batches))
    }

    /// The registered arrays a plan reads (through views and subqueries).
    pub fn arrays_read_by(&self, plan: &LogicalPlan) -> Vec<&RegisteredArray> {
        let mut scans = BTreeSet::new();
        let _ = plan.apply_with_subqueries(|node| {
            if let LogicalPlan::TableScan(s) = node {
                scans.insert(s.table_name.table().to_string());
            }
            Ok(TreeNodeRecursion::Continue)
        });
        self.arrays
            .values()
            .filter(|a| scans.contains(&a.scan_name))
            .collect()
    }

    /// Runs `query`, whose result has one column per axis (the coordinates, in axis order,
    /// non-negative integers) and then the values, and makes a COO array of it.
    ///
    /// The shape is `shape`, or else that of the one array the query reads; the dtype is the
    /// value column's type; the fill is the source array's when its dtype is the same, else 0.
    /// Errors on coordinates out of range, duplicate coordinates, nulls, or a value type arrstore
    /// does not store.
    pub async fn query_coo(&self, query: &str, shape: Option<Vec<u64>>) -> Result<DynCoo> {
        let (result, shape, fill_bits) = self.run_for_array(query, shape).await?;
        with_dtype!(result.dtype, T => {
            coo_from_result::<T>(&result, &shape, fill_bits).map(DynCoo::from)
        })
    }

    /// As [`ArraySession::query_coo`], and writes the array to `path` (sparse layout).
    pub async fn write_query(
        &self,
        query: &str,
        shape: Option<Vec<u64>>,
        path: impl AsRef<Path>,
        opts: &WriteOptions,
    ) -> Result<WriteSummary> {
        let (result, shape, fill_bits) = self.run_for_array(query, shape).await?;
        with_dtype!(result.dtype, T => {
            let coo = coo_from_result::<T>(&result, &shape, fill_bits)?;
            write_coo(path, &coo, opts)
        })
    }

    async fn run_for_array(
        &self,
        query: &str,
        shape: Option<Vec<u64>>,
    ) -> Result<(QueryResult, Vec<u64>, u64)> {
        let df = self.sql(query).await?;
        let sources: Vec<RegisteredArray> = self
            .arrays_read_by(df.logical_plan())
            .into_iter()
            .cloned()
            .collect();
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(sql_error)?;
        let result = QueryResult::new(schema, batches)?;
        let ndim = result.coords.len();
        let shape = match shape {
            Some(s) if s.len() == ndim => s,
            Some(s) => {
                return Err(bad_result(format!(
                    "the shape {s:?} has {} axes, the query returns {ndim} coordinate columns",
                    s.len()
                )))
            }
            None => match sources.as_slice() {
                [one] if one.meta.shape.len() == ndim => one.meta.shape.clone(),
                [one] => {
                    return Err(bad_result(format!(
                        "the query returns {ndim} coordinate columns, '{}' has {} axes; give the shape",
                        one.name,
                        one.meta.shape.len()
                    )))
                }
                _ => {
                    return Err(bad_result(format!(
                        "the query reads {} arrays, so the shape cannot be taken from one; give the shape",
                        sources.len()
                    )))
                }
            },
        };
        let fill_bits = match sources.as_slice() {
            [one] if one.meta.dtype == result.dtype => one.meta.fill_bits()?.unwrap_or(0),
            _ => 0,
        };
        Ok((result, shape, fill_bits))
    }
}

/// The Arrow type of the value column in the table schema, and the expression (over that
/// column) that gives the logical value when a plain cast is not enough (an offset).
fn value_mapping(meta: &ArrayMeta) -> Result<(DataType, Option<Expr>)> {
    let v = meta.value_column();
    let dtype = meta.dtype;
    if v.offset == 0 {
        return Ok((dtype.arrow_type(), None));
    }
    let Some((smin, smax)) = v.stored_type.int_range() else {
        return Err(Error::CorruptMetadata(format!(
            "an offset on a {} value column",
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
            (DataType::Int64, value + lit(o))
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
    Ok((table_type, Some(cast(sum, dtype.arrow_type()))))
}

/// The index columns of a dense array, from the Parquet row number (C order).
fn dense_index_exprs(shape: &[u64]) -> Result<Vec<Expr>> {
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
        let mut e = datafusion::functions::core::expr_fn::file_row_index();
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

/// A column reference by exact name (no identifier normalization).
fn col_named(name: &str) -> Expr {
    col(datafusion::common::Column::new_unqualified(name))
}

fn sql_error(e: DataFusionError) -> Error {
    Error::Sql(e.to_string())
}

fn bad_result(m: String) -> Error {
    Error::QueryResult(m)
}

/// A query result split into coordinate columns (as `u64`) and the value column.
struct QueryResult {
    coords: Vec<Vec<u64>>,
    values: Vec<ArrayRef>,
    dtype: DType,
}

impl QueryResult {
    fn new(schema: arrow::datatypes::SchemaRef, batches: Vec<RecordBatch>) -> Result<QueryResult> {
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
fn coo_from_result<T: Element>(r: &QueryResult, shape: &[u64], fill_bits: u64) -> Result<Coo<T>> {
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
