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
