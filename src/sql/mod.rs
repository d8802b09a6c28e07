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

use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::config::TableParquetOptions;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::{provider_as_source, ViewTable};
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::{DataFrame, SessionConfig, SessionContext};

use datafusion::execution::object_store::ObjectStoreUrl;

use crate::contain::contain_async;
use crate::coo::DynCoo;
use crate::error::{Error, Result, ResultExt};
use crate::meta::{ArrayMeta, StoredLayout};
use crate::options::WriteOptions;
use crate::read::ArrayFile;
use crate::with_dtype;
use crate::write::{write_coo, WriteSummary};

mod checked_store;
mod decoded;
mod result;
mod views;

use checked_store::CheckedStore;
use result::{bad_result, coo_from_result, QueryResult};
use views::{col_named, decoded_dense_view, dense_view, runs_view, value_mapping, ROW_NUMBER};

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
    /// slower on arrstore's sparse files, see `DESIGN.md`; the scans of dense and runs arrays
    /// turn it on for themselves, see the module docs); and a file is read in parallel by
    /// splitting its scan between the partitions (by row groups), never by a round-robin
    /// repartition of one scan's batches.
    ///
    /// The last is needed by dense and runs arrays: their row numbers (`file_row_index()`)
    /// are computed only inside the Parquet scan, and DataFusion 55 can leave a projection that
    /// computes with them above a round-robin repartition, where the query fails ("file_row_index()
    /// is source dependent and cannot be evaluated directly"). Splitting the scans instead
    /// measured as fast on sparse arrays.
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
        if meta.value_column().transform.is_some() {
            // A transformed column is decoded by arrstore's own scan.
            let scan_name = format!("{HIDDEN_PREFIX}{name}");
            let table: Arc<dyn TableProvider> = Arc::new(decoded::table(abs, &meta, ROW_NUMBER)?);
            self.ctx
                .register_table(scan_name.as_str(), Arc::clone(&table))
                .map_err(sql_error)?;
            let scan = LogicalPlanBuilder::scan(scan_name.as_str(), provider_as_source(table), None)
                .map_err(sql_error)?;
            let plan = decoded_dense_view(scan, &meta.shape)?;
            return self.register_view(name, abs, meta, scan_name, Some(plan));
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
        // (GROUP BY row over 2,000,000 nonzeros: 20 ms declared, 14 ms not; benches/peers/sql_vs_duckdb.py).
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
            return self.register_view(name, abs, meta, scan_name, Some(plan));
        }
        self.register_view(name, abs, meta, scan_name, None)
    }

    /// Registers `plan`, where there is one, as the view `name` in front of the scan
    /// `scan_name` of the array at `abs`, and records the array.
    fn register_view(
        &mut self,
        name: &str,
        abs: &Path,
        meta: ArrayMeta,
        scan_name: String,
        plan: Option<LogicalPlan>,
    ) -> Result<()> {
        if let Some(plan) = plan {
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

fn sql_error(e: DataFusionError) -> Error {
    Error::Sql(Box::new(e))
}
