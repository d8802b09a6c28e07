//! The command line, as clap types: every flag documented here becomes `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Lossless, narrowed storage of n-dimensional numeric arrays in plain Parquet.
#[derive(Debug, Parser)]
#[command(name = "arrstore", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a .npy array as an arrstore Parquet file (narrowed, dense or COO, exact).
    #[command(
        after_help = "Example:\n  arrstore write counts.npy counts.parquet\n  arrstore write stars.npy stars.parquet --layout sparse --fill nan"
    )]
    Write(WriteArgs),
    /// Read an arrstore Parquet file back into a .npy array (exactly the original).
    #[command(after_help = "Example:\n  arrstore read counts.parquet -o counts.npy")]
    Read(ReadArgs),
    /// Show how an array is stored: layout, types, encodings and sizes.
    #[command(
        after_help = "Example:\n  arrstore info counts.parquet\n  arrstore info counts.parquet --json"
    )]
    Info(InfoArgs),
    /// Run SQL over stored arrays (DataFusion); print the result or store it as a new array.
    #[command(after_help = SQL_HELP)]
    Sql(SqlArgs),
}

/// `arrstore write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The input array (.npy: bool, int8..int64, uint8..uint64, float32, float64; any order).
    pub input: PathBuf,
    /// The Parquet file to write.
    pub output: PathBuf,
    /// auto (the smaller of dense and sparse), dense, or sparse (COO).
    #[arg(long, default_value = "auto")]
    pub layout: String,
    /// The value of cells a sparse layout leaves out: a number, nan, inf, true/false, or 0x
    /// and 16 hex digits for the bits of a float64 (default 0).
    #[arg(long)]
    pub fill: Option<String>,
    /// The Parquet codec: zstd, zstd(LEVEL), snappy, lz4_raw, uncompressed.
    #[arg(long, default_value = "zstd(3)")]
    pub compression: String,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = arrstore::options::DEFAULT_ROW_GROUP_SIZE)]
    pub row_group_size: usize,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
    /// Print nothing on success.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `arrstore read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The arrstore Parquet file.
    pub input: PathBuf,
    /// The .npy file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write the stored, narrowed dtype instead of the original (smaller; refused when the
    /// values are stored with an offset, since they would not be the original values).
    #[arg(long)]
    pub narrowed: bool,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// `arrstore info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The arrstore Parquet file.
    pub input: PathBuf,
    /// Print a JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

const SQL_HELP: &str = "\
Arrays appear as tables: index columns (row, col for 2-D; dim_0.. otherwise) and value, with the
array's logical values. Dense arrays get the same index columns, computed, not stored.

Examples:
  arrstore sql \"SELECT row, count(*) AS n, sum(value) FROM stars GROUP BY row ORDER BY n DESC LIMIT 10\" --table stars=stars.parquet
  arrstore sql \"SELECT * FROM counts WHERE value > 100\" --store arrays/ --format csv -o big.csv
  arrstore sql \"SELECT row, col, value FROM stars WHERE value > 0.95\" --table stars=stars.parquet --into bright.parquet";

/// `arrstore sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query (DataFusion SQL; `EXPLAIN ...` shows the plan).
    pub query: String,
    /// Register an arrstore file as a table: NAME=FILE (repeatable).
    #[arg(long = "table", value_name = "NAME=FILE")]
    pub tables: Vec<String>,
    /// Register every arrstore *.parquet file of a store directory, by file stem (repeatable).
    #[arg(long = "store", value_name = "DIR")]
    pub stores: Vec<PathBuf>,
    /// Output format: table, csv, json (an array of objects) or parquet (needs -o).
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Write the result to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Store the result as an arrstore array (sparse): the columns are the coordinates, one
    /// per axis, then the value.
    #[arg(long, value_name = "OUT.parquet", conflicts_with_all = ["output", "format"])]
    pub into: Option<PathBuf>,
    /// The shape of the --into array, e.g. 1000x1000 (default: the shape of the one array the
    /// query reads).
    #[arg(long, requires = "into")]
    pub shape: Option<String>,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
}
