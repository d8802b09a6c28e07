//! The scan of a dense array whose values carry a predictive transform: a plain Parquet scan
//! would show residuals, so arrstore's own decoder reads the row groups (each decodes alone)
//! and gives the logical values with each cell's row number.
//!
//! The table has two columns: `value`, of the array's dtype, and the row number in the file
//! under the name the dense view computes the index columns from. Row groups are dealt to
//! partitions in contiguous runs, one partition per core; filters are evaluated above the
//! scan (a transformed column's pages cannot be pruned by their residuals' statistics).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;

use crate::dtype::Element;
use crate::error::{Error, Result, ResultExt};
use crate::meta::ArrayMeta;
use crate::read::ArrayFile;
use crate::with_dtype;

use super::sql_error;

/// The table of the transformed dense array at `path` (whose metadata is `meta`), with the row
/// number column `row_number`.
pub(super) fn table(path: &Path, meta: &ArrayMeta, row_number: &str) -> Result<StreamingTable> {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("value", meta.dtype.arrow_type(), false),
        Field::new(row_number, DataType::Int64, false),
    ]));
    let groups = ArrayFile::open(path)?.parquet_metadata().num_row_groups();
    let parts = crate::par::threads().min(groups).max(1);
    let partitions: Vec<Arc<dyn PartitionStream>> = (0..parts)
        .map(|p| {
            Arc::new(RowGroups {
                path: path.to_path_buf(),
                schema: schema.clone(),
                groups: groups * p / parts..groups * (p + 1) / parts,
            }) as Arc<dyn PartitionStream>
        })
        .collect();
    StreamingTable::try_new(schema, partitions).map_err(sql_error)
}

/// One partition of the scan: a run of row groups.
#[derive(Debug)]
struct RowGroups {
    path: PathBuf,
    schema: SchemaRef,
    groups: std::ops::Range<usize>,
}

impl RowGroups {
    /// The batches of row group `i`: values and row numbers.
    fn decode(&self, i: usize) -> Result<Vec<RecordBatch>> {
        let file = ArrayFile::open(&self.path)?;
        let go = || -> Result<Vec<RecordBatch>> {
            let meta = file.meta().clone();
            let first: u64 = file.parquet_metadata().row_groups()[..i]
                .iter()
                .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0))
                .sum();
            let mut row = i64::try_from(first)
                .map_err(|_| Error::CorruptData(format!("row group {i} starts at row {first}")))?;
            let mut batches = Vec::new();
            with_dtype!(meta.dtype, T => {
                file.for_each_in_row_group::<T>(i, &mut |values: &[T]| {
                    let n = i64::try_from(values.len()).unwrap_or(i64::MAX);
                    let value: ArrayRef = T::to_arrow(values.to_vec());
                    let rows: ArrayRef = Arc::new(Int64Array::from_iter_values(row..row + n));
                    row += n;
                    batches.push(RecordBatch::try_new(self.schema.clone(), vec![value, rows])?);
                    Ok(())
                })
            })?;
            Ok(batches)
        };
        go().in_file(self.path.as_path())
    }
}

impl PartitionStream for RowGroups {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let this = RowGroups {
            path: self.path.clone(),
            schema: self.schema.clone(),
            groups: self.groups.clone(),
        };
        let batches = self.groups.clone().flat_map(move |i| match this.decode(i) {
            Ok(b) => b.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => vec![Err(DataFusionError::External(Box::new(e)))],
        });
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(batches),
        ))
    }
}
