//! SQL over stored arrays with Apache DataFusion: [`ArraySession`] registers arrstore files (one
//! by one or a whole store directory) as tables that show the arrays' logical values, runs
//! queries, and turns a result of coordinates and values back into an array.
//!
//! # How an array appears in SQL
//! - A **sparse** (COO) array is a table with its index columns (`row`, `col` for 2-D,
//!   `dim_0` .. `dim_{n-1}` otherwise; unsigned, at the width the file stores) and `value`.
//! - A **dense** array is a table with the same index columns plus `value`; the index columns
//!   are computed from the Parquet row number (DataFusion's built-in `file_row_index()`), never
//!   stored, at the width each axis needs.
//! - A **runs** array is a table exactly like the dense array of the same data: every index
//!   column (of the same types) and `value`, one row per cell; its `length` column is not
//!   shown. The view numbers the runs (`file_row_index()`), finds where each run ends in its
//!   row with a window (`sum(length) OVER (PARTITION BY <leading index columns> ORDER BY <row
//!   number> ROWS UNBOUNDED PRECEDING)`), and cuts the runs into cells with a few steps of
//!   `Unnest` (one step per factor of 16 in the last axis' length: 3 steps for rows of up to
//!   4,096 cells), whose last gives each cell its coordinate on the last axis.
//! - `value` has the array's dtype and holds the **logical** values: a narrowed column is widened
//!   (`uint16` counts of an `int64` array read as `BIGINT`, whole-number floats stored as
//!   integers read as `DOUBLE`, `float32`-stored `float64` read as `DOUBLE`) and a
//!   dictionary-encoded column reads as plain values.
//!
//! Everything is built from stock DataFusion parts, so that the same plans can run on a cluster:
//! each file is a Parquet [`ListingTable`] whose declared schema has the logical types (the
//! Parquet scan casts the stored columns, and rewrites filters to the stored types, so row-group
//! statistics and the page index prune as usual); an offset, the index columns of a dense
//! array, or the cells of a runs array are added by a view (projections over the scan; for runs
//! also a window and `Unnest`s of literal lists). No custom `TableProvider`, UDF or plan node is
//! involved: views are inlined into the logical plan, `file_row_index()` is a built-in function
//! that the Parquet scan turns into its row-number virtual column, so a cluster scheduler
//! (DataFusion Ballista) receives ordinary Parquet scans, projections, filters, windows and
//! unnests. (Whether Ballista 55 serializes the row-number virtual column of a dense or runs
//! scan is to be checked when that runs; sparse arrays do not use it.)
//!
//! Row numbers: the Parquet scan computes `file_row_index()` only when the projection that asks
//! for it ends up inside the scan, and DataFusion 55 can leave that projection above a filter or
//! a round-robin repartition, where the query fails ("file_row_index() is source dependent and
//! cannot be evaluated directly"). So the scans of dense and runs arrays evaluate filters on
//! their stored columns inside the Parquet decoder, and [`ArraySession::new`] splits a file's
//! scan between the partitions instead of repartitioning one scan round-robin; a context given
//! to [`ArraySession::with_context`] should turn off
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
use datafusion::config::TableParquetOptions;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{cast, col, lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use datafusion::execution::object_store::ObjectStoreUrl;

use crate::contain::contain_async;
use crate::coo::{Coo, Coords, DynCoo};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result, ResultExt};
use crate::meta::index_names;
use crate::meta::{ArrayMeta, StoredLayout};
use crate::narrow::{widen, Narrowing};
use crate::options::WriteOptions;
use crate::read::ArrayFile;
use crate::with_dtype;
use crate::write::{write_coo, WriteSummary};

mod checked_store;
use checked_store::CheckedStore;

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
    /// The store local files are scanned through, checking registered files' checksums.
    checked: Arc<CheckedStore>,
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
    /// slower on arrstore's sparse files: a value filter keeping 0.8% of 2,000,000 cells took
    /// 9.7 ms with it and 5.2 ms without; the scans of dense and runs arrays turn it on for
    /// themselves, see the module docs); and a file is read in parallel by splitting its scan
    /// between the partitions (by row groups), never by a round-robin repartition of one scan's
    /// batches.
    ///
    /// The last is needed by dense and runs arrays: their row numbers (`file_row_index()`)
    /// are computed only inside the Parquet scan, and DataFusion 55 can leave a projection that
    /// computes with them above a round-robin repartition, where the query fails ("file_row_index()
    /// is source dependent and cannot be evaluated directly"). Splitting the scans instead
    /// measured as fast on sparse arrays (GROUP BY row over 2,000,000 nonzeros: 17 ms either
    /// way).
    pub fn new() -> ArraySession {
        let config = SessionConfig::new()
            .set_bool("datafusion.execution.parquet.pushdown_filters", false)
            .set_bool("datafusion.execution.parquet.enable_page_index", true)
            .set_bool("datafusion.optimizer.enable_round_robin_repartition", false)
            .set_usize("datafusion.optimizer.repartition_file_min_size", 1);
        ArraySession::with_context(SessionContext::new_with_config(config))
    }

    /// A session on a context the caller configured (a cluster context, other tables). For
    /// dense and runs arrays, the context should turn off round-robin repartitioning
    /// (`datafusion.optimizer.enable_round_robin_repartition = false`, and a small
    /// `datafusion.optimizer.repartition_file_min_size` to keep reading files in parallel; see
    /// [`ArraySession::new`]).
    ///
    /// The context's store for local files (`file://`) is wrapped in one that checks every byte
    /// a scan reads of a registered arrstore file against the file's checksums (see
    /// [`crate::integrity`]).
    pub fn with_context(ctx: SessionContext) -> ArraySession {
        let local = ObjectStoreUrl::local_filesystem();
        let env = ctx.runtime_env();
        let inner = env
            .object_store(&local)
            .unwrap_or_else(|_| Arc::new(object_store::local::LocalFileSystem::new()));
        let checked = Arc::new(CheckedStore::new(inner));
        env.register_object_store(local.as_ref(), Arc::clone(&checked) as _);
        ArraySession {
            ctx,
            arrays: BTreeMap::new(),
            checked,
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
    ///
    /// SQL answers only over files that read back: the file is checked whole first
    /// ([`ArrayFile::verify`]: checksums, every value, the layout's invariants, so a sparse
    /// file with a duplicated entry or a runs file whose lengths overflow a row is refused as
    /// `read` refuses it), which costs one decoding of the file; and every byte a query reads
    /// later is checked against the file's checksums again.
    pub fn register_array(&mut self, name: &str, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = ArrayFile::open(path)?;
        let meta = file.meta().clone();
        let verifier = file.verifier();
        file.verify()?;
        let abs = std::fs::canonicalize(path).in_file(path)?;
        if let Some(v) = verifier {
            let location = object_store::path::Path::from_absolute_path(&abs)
                .map_err(|e| Error::SqlTable(format!("{}: {e}", abs.display())).in_file(path))?;
            self.checked.watch(location, v);
        }
        self.register_meta(name, &abs, meta).in_file(path)
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
                .in_file(dir)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<std::io::Result<_>>()
                .in_file(dir)?;
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
            return Err(Error::SqlTable(format!(
                "a table named '{name}' is already registered"
            )));
        }
        let (value_type, value_expr) = value_mapping(&meta)?;
        let index = meta.index_columns();
        let mut fields: Vec<Field> = index
            .iter()
            .map(|c| Field::new(&c.name, c.stored_type.arrow_type(), false))
            .collect();
        if meta.layout == StoredLayout::Runs {
            let length = meta.runs_length_column()?;
            fields.push(Field::new(&length.name, length.stored_type.arrow_type(), false));
        }
        fields.push(Field::new(&meta.value_column().name, value_type, false));
        let schema = Arc::new(Schema::new(fields));

        let url_text = abs
            .to_str()
            .ok_or_else(|| Error::SqlTable(format!("{}: the path is not UTF-8", abs.display())))?;
        let url = ListingTableUrl::parse(url_text).map_err(sql_error)?;
        let format = match meta.layout {
            StoredLayout::Sparse => ParquetFormat::default(),
            // The row numbers of dense and runs arrays are computed in the scan (see
            // `with_row_numbers`), which DataFusion 55 does only when no filter stands between the
            // scan and the projection that asks for them: filters on the stored columns are
            // evaluated inside the Parquet decoder instead (no slower on these tables: a value
            // filter over 4,000,000 dense cells took 8.4 ms either way).
            _ => {
                let mut parquet = TableParquetOptions::default();
                parquet.global = self.ctx.copied_config().options().execution.parquet.clone();
                parquet.global.pushdown_filters = true;
                ParquetFormat::default().with_options(parquet)
            }
        };
        let options = ListingOptions::new(Arc::new(format)).with_file_extension("");
        // The rows of a sparse file are sorted by their coordinates, but the table does not
        // declare that order: with it, DataFusion keeps the order through a sort-preserving
        // merge of the file's partitions, which measured slower on two cores than hashing
        // (GROUP BY row over 2,000,000 nonzeros: 20 ms declared, 14 ms not; bench/sql_vs_duckdb.py).
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(schema);
        let table: Arc<dyn TableProvider> = Arc::new(ListingTable::try_new(config).map_err(sql_error)?);

        let needs_view = meta.layout != StoredLayout::Sparse || value_expr.is_some();
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
            let scan = LogicalPlanBuilder::scan(scan_name.as_str(), provider_as_source(table), None)
                .map_err(sql_error)?;
            let plan = match meta.layout {
                StoredLayout::Dense => dense_view(scan, &meta.shape, value)?,
                StoredLayout::Runs => runs_view(scan, &meta, value)?,
                StoredLayout::Sparse => {
                    let mut exprs: Vec<Expr> = index.iter().map(|c| col_named(&c.name)).collect();
                    exprs.push(value.alias("value"));
                    scan.project(exprs).and_then(|b| b.build()).map_err(sql_error)?
                }
            };
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
        let df = self.sql(query).await?;
        contain_async(async { df.collect().await.map_err(sql_error) }).await
    }

    /// Runs `query`; the result's schema (also when there are no rows) and its batches.
    pub async fn query_with_schema(
        &self,
        query: &str,
    ) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>)> {
        let df = self.sql(query).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = contain_async(async { df.collect().await.map_err(sql_error) }).await?;
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
        let batches = contain_async(async { df.collect().await.map_err(sql_error) }).await?;
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

/// The name under which a view's scan passes each row's number in the file.
const ROW_NUMBER: &str = "__arrstore_row_number";

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
fn with_row_numbers(scan: LogicalPlanBuilder, columns: &[&str]) -> Result<LogicalPlanBuilder> {
    let mut exprs: Vec<Expr> = columns.iter().map(|c| col_named(c)).collect();
    exprs.push(datafusion::functions::core::expr_fn::file_row_index().alias(ROW_NUMBER));
    scan.project(exprs)
        .and_then(|b| b.alias(ROW_NUMBER_ALIAS))
        .map_err(sql_error)
}

/// The cells of a dense array over the scan of its value column: the index columns, computed
/// from each row's number in the file, and `value` (the logical value, computed by the
/// expression `value` from the stored one).
fn dense_view(scan: LogicalPlanBuilder, shape: &[u64], value: Expr) -> Result<LogicalPlan> {
    let mut exprs = dense_index_exprs(shape, col_named(ROW_NUMBER))?;
    exprs.push(value.alias("value"));
    with_row_numbers(scan, &["value"])?
        .project(exprs)
        .and_then(|b| b.build())
        .map_err(sql_error)
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
fn runs_view(scan: LogicalPlanBuilder, meta: &ArrayMeta, value: Expr) -> Result<LogicalPlan> {
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
fn col_named(name: &str) -> Expr {
    col(datafusion::common::Column::new_unqualified(name))
}

fn sql_error(e: DataFusionError) -> Error {
    Error::Sql(Box::new(e))
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
