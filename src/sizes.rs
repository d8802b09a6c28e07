//! Size accounting: the original in-memory bytes, the narrowed and COO in-memory bytes, and the
//! on-disk bytes in total and per column, read from the Parquet footer (never inferred).

use parquet::file::metadata::ParquetMetaData;
use serde::Serialize;

use crate::dtype::DType;
use crate::dynarray::Order;
use crate::meta::{ArrayMeta, Estimates, Role, StoredLayout};

/// The sizes of one stored array.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SizeReport {
    /// `dense`, `sparse` or `runs`.
    pub layout: StoredLayout,
    /// The original dtype.
    pub dtype: DType,
    /// The original shape.
    pub shape: Vec<u64>,
    /// The original memory order.
    pub order: Order,
    /// Cells that differ from the fill value (0 unless another fill was given).
    pub nnz: u64,
    /// The fill value of a sparse array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill: Option<String>,
    /// The original array in memory: cells × itemsize (NumPy's `nbytes`).
    pub memory_bytes: u64,
    /// The stored form in memory, at the narrowed types: every cell (dense), the coordinates
    /// and values of the entries (sparse), or each run's row, length and value (runs).
    pub narrowed_bytes: u64,
    /// The number of runs of a runs array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<u64>,
    /// A COO of the nonzero cells in memory, with narrow coordinates and original-dtype values
    /// (what [`ArrayFile::read_coo`](crate::ArrayFile::read_coo) returns).
    pub coo_bytes: u64,
    /// The same COO with `int64` coordinates (as pydata `sparse.COO` holds it).
    pub coo_int64_bytes: u64,
    /// The whole file on disk.
    pub disk_bytes: u64,
    /// Each stored column.
    pub columns: Vec<ColumnSize>,
    /// The dense and sparse estimates, when the layout was chosen automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimates: Option<Estimates>,
    /// A sparse file's entry order: the names of the index columns it is sorted by, most
    /// significant first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorted_by: Option<Vec<String>>,
    /// The format version the file was written in.
    pub format_version: String,
    /// What checks the file's bytes on every read: `None` for a file written before format 1.3,
    /// which carries no checksums.
    pub checksums: Option<ChecksumSummary>,
    /// How the table is cut: its row groups and their rows.
    pub row_groups: RowGroups,
}

/// How a table is cut into row groups (each compressed on its own; slice reads and query
/// engines read only those they need).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowGroups {
    /// The number of row groups.
    pub count: u64,
    /// The rows of the smallest and the largest.
    pub min_rows: u64,
    /// See `min_rows`.
    pub max_rows: u64,
}

/// The checksums a file carries (format 1.3; see [`crate::integrity`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecksumSummary {
    /// `"crc32"`.
    pub algorithm: String,
    /// The number of block checksums over the data.
    pub blocks: u64,
    /// The bytes each block covers.
    pub block_bytes: u64,
    /// The bytes of data they cover; the rest of the file (footer and page indexes) has one
    /// checksum of its own.
    pub data_bytes: u64,
}

/// The sizes and encodings of one stored column, summed over row groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColumnSize {
    /// The column name.
    pub name: String,
    /// Index or value.
    pub role: Role,
    /// The stored (narrowed) element type.
    pub stored_type: DType,
    /// The offset added back on read.
    #[serde(skip_serializing_if = "is_zero")]
    pub offset: i128,
    /// The Parquet physical type (`INT32`, `INT64`, `BOOLEAN`, `FLOAT`, `DOUBLE`).
    pub physical_type: String,
    /// The Parquet encodings of its pages (from the footer).
    pub encodings: Vec<String>,
    /// Whether it has a dictionary page.
    pub dictionary_page: bool,
    /// Its data pages, over every row group, where the file has an offset index (pages are
    /// what a slice read or a query engine reads of a row group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pages: Option<u64>,
    /// The most rows in one of its data pages, where the file has an offset index.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_page_rows: Option<u64>,
    /// The codecs of its column chunks (from the footer: `ZSTD`, `BROTLI`, ...; the footer
    /// does not record a level).
    pub codecs: Vec<String>,
    /// Bytes on disk (after compression).
    pub compressed_bytes: u64,
    /// Bytes before compression (after encoding).
    pub uncompressed_bytes: u64,
    /// The encoding arrstore chose (as recorded in the metadata).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen_encoding: Option<String>,
    /// For floats stored as integers: how they are scaled back to the values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<crate::scale::Scale>,
    /// The predictive transform of the values, if any (the column stores residuals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<crate::predict::Transform>,
    /// The transforms the writer measured, with its sample's bytes under each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub transform_candidates: Vec<crate::meta::TransformCandidate>,
}

fn is_zero(v: &i128) -> bool {
    *v == 0
}

impl SizeReport {
    /// The report for a file whose metadata and footer are given, `disk_bytes` long.
    pub fn new(meta: &ArrayMeta, parquet: &ParquetMetaData, disk_bytes: u64) -> SizeReport {
        let cells = meta.cells().unwrap_or(u64::MAX);
        let itemsize = meta.dtype.size() as u64; // at most 8
        let coord_bytes: u64 = meta
            .shape
            .iter()
            .map(|&len| crate::coords::Coords::dtype_for(len).size() as u64) // at most 8
            .sum();
        let value_stored = meta.value_column().narrowing().stored.size() as u64; // at most 8
        let runs = (meta.layout == StoredLayout::Runs)
            .then(|| u64::try_from(parquet.file_metadata().num_rows()).unwrap_or(0));
        let narrowed_bytes = match meta.layout {
            StoredLayout::Dense => cells.saturating_mul(value_stored),
            StoredLayout::Sparse => meta.nnz.saturating_mul(coord_bytes + value_stored),
            StoredLayout::Runs => {
                // Each run: its row's coordinates, its length and its value.
                let lead = meta.shape.len().saturating_sub(1);
                let row_bytes: u64 = meta.shape[..lead]
                    .iter()
                    .map(|&len| crate::coords::Coords::dtype_for(len).size() as u64) // at most 8
                    .sum();
                let length_bytes = meta.length_column().map_or(8, |c| c.stored_type.size() as u64); // at most 8
                runs.unwrap_or(0)
                    .saturating_mul(row_bytes + length_bytes + value_stored)
            }
        };
        let ndim = meta.shape.len() as u64; // small
        let schema = parquet.file_metadata().schema_descr();
        let columns = meta
            .columns
            .iter()
            .map(|c| {
                let mut size = ColumnSize {
                    name: c.name.clone(),
                    role: c.role,
                    stored_type: c.stored_type,
                    offset: c.offset,
                    physical_type: String::new(),
                    encodings: Vec::new(),
                    dictionary_page: false,
                    pages: None,
                    max_page_rows: None,
                    codecs: Vec::new(),
                    compressed_bytes: 0,
                    uncompressed_bytes: 0,
                    chosen_encoding: c.encoding.clone(),
                    scale: c.scale,
                    transform: c.transform,
                    transform_candidates: c.transform_candidates.clone(),
                };
                let Some(i) = (0..schema.num_columns()).find(|&i| schema.column(i).name() == c.name) else {
                    return size;
                };
                size.physical_type = schema.column(i).physical_type().to_string();
                if let Some(index) = parquet.offset_index() {
                    let (mut pages, mut most) = (0u64, 0u64);
                    for (g, rg) in parquet.row_groups().iter().enumerate() {
                        let Some(locations) = index.get(g).and_then(|c| c.get(i)).map(|o| o.page_locations())
                        else {
                            continue;
                        };
                        let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
                        for (p, loc) in locations.iter().enumerate() {
                            let first = u64::try_from(loc.first_row_index).unwrap_or(0);
                            let next = locations
                                .get(p + 1)
                                .map_or(rows, |n| u64::try_from(n.first_row_index).unwrap_or(0));
                            most = most.max(next.saturating_sub(first));
                        }
                        pages += locations.len() as u64; // usize fits in u64
                    }
                    size.pages = Some(pages);
                    size.max_page_rows = Some(most);
                }
                for rg in parquet.row_groups() {
                    let col = rg.column(i);
                    size.compressed_bytes += u64::try_from(col.compressed_size()).unwrap_or(0);
                    size.uncompressed_bytes += u64::try_from(col.uncompressed_size()).unwrap_or(0);
                    size.dictionary_page |= col.dictionary_page_offset().is_some();
                    // The codec's name without a level (the footer records none).
                    let codec = format!("{:?}", col.compression());
                    let codec = codec.split('(').next().unwrap_or_default().to_string();
                    if !size.codecs.contains(&codec) {
                        size.codecs.push(codec);
                    }
                    for e in col.encodings() {
                        let name = e.to_string();
                        if !size.encodings.contains(&name) {
                            size.encodings.push(name);
                        }
                    }
                }
                size
            })
            .collect();
        let checksums = meta.checksums.as_ref().map(|c| ChecksumSummary {
            algorithm: c.algorithm.clone(),
            blocks: c.blocks.len() as u64 / 8, // usize fits in u64
            block_bytes: c.block_bytes,
            data_bytes: c.data_bytes,
        });
        let group_rows = parquet
            .row_groups()
            .iter()
            .map(|rg| u64::try_from(rg.num_rows()).unwrap_or(0));
        let row_groups = RowGroups {
            count: parquet.num_row_groups() as u64, // usize fits in u64
            min_rows: group_rows.clone().min().unwrap_or(0),
            max_rows: group_rows.max().unwrap_or(0),
        };
        SizeReport {
            row_groups,
            format_version: meta.format_version.clone(),
            checksums,
            layout: meta.layout,
            dtype: meta.dtype,
            shape: meta.shape.clone(),
            order: meta.order,
            nnz: meta.nnz,
            fill: meta.fill.clone(),
            memory_bytes: cells.saturating_mul(itemsize),
            narrowed_bytes,
            runs,
            coo_bytes: meta.nnz.saturating_mul(coord_bytes + itemsize),
            coo_int64_bytes: meta.nnz.saturating_mul(8 * ndim + itemsize),
            disk_bytes,
            columns,
            estimates: meta.estimates,
            sorted_by: (meta.layout == StoredLayout::Sparse).then(|| {
                let index = meta.index_columns();
                meta.sorted_by()
                    .iter()
                    .map(|&axis| index[axis].name.clone())
                    .collect()
            }),
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("SizeReport always serializes")
    }
}
