//! The command line, as clap types: every flag documented here becomes `--help`, and every
//! flag's value is parsed into its type here, so a bad value is refused before any work and
//! `--help` lists the values of each enumerated flag.

use std::ffi::OsStr;
use std::path::PathBuf;

use arrstore::{Effort, Layout, Scalar};
use clap::builder::{PossibleValue, TypedValueParser};
use clap::error::ErrorKind;
use clap::{Arg, Args, Parser, Subcommand};
use parquet::basic::Compression;

/// Lossless, narrowed storage of n-dimensional numeric arrays in plain Parquet.
#[derive(Debug, Parser)]
#[command(name = "arrstore", version, propagate_version = true)]
pub struct Cli {
    /// Print nothing but errors (no summary, no progress).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store an array: a .npy file, a SciPy sparse .npz (kept sparse), or a NumPy .npz of
    /// several arrays (stored as a directory, one file per array).
    #[command(after_help = "Examples:
  arrstore write counts.npy counts.parquet
  arrstore write stars.npy stars.parquet --layout sparse --fill nan
  arrstore write matrix.npz matrix.parquet      # scipy.sparse.save_npz file: stays COO
  arrstore write arrays.npz arrays/             # np.savez file: a store")]
    Write(WriteArgs),
    /// Read a stored array back exactly: to .npy, or to .npz (a sparse array as SciPy's COO,
    /// a store as NumPy's archive).
    #[command(after_help = "Examples:
  arrstore read counts.parquet -o counts.npy
  arrstore read matrix.parquet -o matrix.npz    # scipy.sparse.load_npz loads it
  arrstore read arrays/ -o arrays.npz")]
    Read(ReadArgs),
    /// Add rows along axis 0 to a dataset (a directory of parts, created by the first append),
    /// without rewriting what is stored: the part is narrowed and encoded on its own data, and
    /// the append is atomic.
    #[command(after_help = "Examples:
  arrstore append grown/ part1.npy      # creates grown/ (a dataset) from the first part
  arrstore append grown/ part2.npy
  arrstore read grown/ -o all.npy --slice \"1000:1100\"")]
    Append(AppendArgs),
    /// Show how an array (or every array of a store) is stored: layout, types, encodings,
    /// sizes in memory and on disk.
    #[command(after_help = "Examples:
  arrstore info counts.parquet
  arrstore info counts.parquet --json
  arrstore info arrays/")]
    Info(InfoArgs),
    /// Check files, stores or folders of arrstore files whole: every checksum, every value
    /// decoded, every invariant of the layout; stop at the first problem (exit 1).
    #[command(after_help = "Examples:
  arrstore verify counts.parquet
  arrstore verify arrays/ more.parquet")]
    Verify(VerifyArgs),
    /// Store the article's examples (uint64 ones, a 90%-zero star image) and print arrstore's
    /// sizes beside the article's figures.
    #[command(after_help = "Example:\n  arrstore demo\n  arrstore demo /tmp/demo")]
    Demo(DemoArgs),
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  arrstore completions bash > /etc/bash_completion.d/arrstore")]
    Completions(CompletionsArgs),
    /// Run SQL over stored arrays (DataFusion); print the result or store it as a new array.
    #[command(after_help = SQL_HELP)]
    Sql(SqlArgs),
}

/// `arrstore write`.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// The input: .npy (bool, int8..int64, uint8..uint64, float32, float64; any order), or .npz.
    pub input: PathBuf,
    /// The Parquet file to write (a directory for a NumPy .npz of several arrays).
    pub output: PathBuf,
    /// auto (the smallest of dense, sparse and runs), dense, sparse (COO), or runs (run-length
    /// along the last axis).
    #[arg(long, default_value = "auto", value_parser = LAYOUT)]
    pub layout: Layout,
    /// The value of cells a sparse layout leaves out: a number, nan, inf, true/false, or 0x
    /// and 16 hex digits for the bits of a float64 (default 0).
    #[arg(long, value_parser = FILL)]
    pub fill: Option<Scalar>,
    /// The Parquet codec: zstd (level 3), zstd(LEVEL) with LEVEL 1..22, brotli(LEVEL) with
    /// LEVEL 0..11, snappy, lz4_raw, uncompressed.
    #[arg(long, default_value = "zstd(3)", value_parser = COMPRESSION)]
    pub compression: Compression,
    /// Rows per Parquet row group.
    #[arg(long, default_value_t = arrstore::options::DEFAULT_ROW_GROUP_SIZE)]
    pub row_group_size: usize,
    /// Declare dictionary-encoded value columns as Arrow dictionary types, so that pyarrow
    /// and other Arrow readers load them as dictionary arrays (Rust readers decode them slower).
    #[arg(long)]
    pub arrow_dictionary: bool,
    /// Store values that plain Parquet readers (pyarrow, DuckDB) read directly: no predictive
    /// transform (a dense file's column then holds the values, less an offset at most).
    #[arg(long)]
    pub portable: bool,
    /// How much is measured to make the file small: fast (one predictor per neighbourhood,
    /// no slower codecs), default (zstd level 16 or brotli where residuals measure smaller),
    /// best (brotli quality 11 too). Reads take about as long whatever the effort (brotli
    /// decodes at about half zstd's speed).
    #[arg(long, default_value = "default", value_parser = EFFORT)]
    pub effort: Effort,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// `arrstore append`.
#[derive(Debug, Args)]
pub struct AppendArgs {
    /// The dataset directory (created by the first append; a single-file array is refused).
    pub dataset: PathBuf,
    /// The rows to add: a .npy of the dataset's dtype whose shape after axis 0 is the
    /// dataset's.
    pub part: PathBuf,
    /// How much is measured to make the part small (as `write --effort`).
    #[arg(long, default_value = "default", value_parser = EFFORT)]
    pub effort: Effort,
}

/// `arrstore read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// The arrstore Parquet file, or a store directory.
    pub input: PathBuf,
    /// The .npy or .npz file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write the stored, narrowed dtype instead of the original (smaller; refused when the
    /// values are stored with an offset, since they would not be the original values).
    #[arg(long)]
    pub narrowed: bool,
    /// Read only these cells, in NumPy's basic slicing syntax: "100:200, :, 5", "..., ::-1",
    /// "-1" (start:stop:step with negatives, integers that drop an axis, ..., None). Only the
    /// row groups (and, in dense and sparse files, the pages) that hold them are read.
    #[arg(long, allow_hyphen_values = true)]
    pub slice: Option<String>,
    /// Deflate the entries of an .npz output (as np.savez_compressed).
    #[arg(long)]
    pub compress: bool,
    /// The most memory a dense output may take, in bytes (suffixes K, M, G, T); default: the
    /// memory available now. A dense C-order array written to .npy is streamed and needs none.
    #[arg(long, value_parser = BYTES)]
    pub max_memory: Option<u64>,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// `arrstore info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// The arrstore Parquet file, or a store directory.
    pub input: PathBuf,
    /// Print a JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `arrstore verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// arrstore Parquet files, store directories, or folders of arrstore files (other
    /// Parquet files in a folder are skipped). Temporaries that killed writers left in these
    /// folders are removed.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
}

const SQL_HELP: &str = "\
Arrays appear as tables: index columns (row, col for 2-D; dim_0.. otherwise) and value, with the
array's logical values. Dense and runs arrays get the same index columns, computed, not stored
(a runs array shows one row per cell, like a dense one).

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
    #[arg(long = "table", value_name = "NAME=FILE", value_parser = TABLE)]
    pub tables: Vec<Table>,
    /// Register every array of a store by its name (store.json; a folder without an index:
    /// every arrstore *.parquet file by its file stem). Repeatable.
    #[arg(long = "store", value_name = "DIR")]
    pub stores: Vec<PathBuf>,
    /// Output format: table, csv, json (an array of objects) or parquet (needs -o).
    #[arg(long, default_value = "table", value_parser = FORMAT)]
    pub format: Format,
    /// Write the result to this file instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Store the result as an arrstore array (sparse): the columns are the coordinates, one
    /// per axis, then the value.
    #[arg(long, value_name = "OUT.parquet", conflicts_with_all = ["output", "format"])]
    pub into: Option<PathBuf>,
    /// The shape of the --into array, e.g. 1000x1000 (default: the shape of the one array the
    /// query reads).
    #[arg(long, requires = "into", value_parser = SHAPE)]
    pub shape: Option<Shape>,
    /// Replace the output if it exists.
    #[arg(short, long)]
    pub force: bool,
}

/// `arrstore demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to write the example files (default: a temporary directory, removed afterwards).
    pub dir: Option<PathBuf>,
}

/// `arrstore completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: clap_complete::Shell,
}

/// A table of `arrstore sql`: `--table NAME=FILE`.
#[derive(Debug, Clone)]
pub struct Table {
    /// The table's name in the query.
    pub name: String,
    /// The arrstore file.
    pub file: PathBuf,
}

/// The output format of `arrstore sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A text table.
    Table,
    /// CSV with a header.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A Parquet file.
    Parquet,
}

/// The shape of `arrstore sql --into`: `1000x1000` (or `1000,1000`).
#[derive(Debug, Clone)]
pub struct Shape(pub Vec<u64>);

/// A flag's value parser: `parse` turns the text into the flag's type, with a message that
/// names the flag and the value; `names` are the values `--help` and completions list (none for
/// a flag whose values are not a list).
#[derive(Clone)]
pub struct Values<T> {
    names: &'static [&'static str],
    parse: fn(&str) -> Result<T, String>,
}

impl<T: Clone + Send + Sync + 'static> TypedValueParser for Values<T> {
    type Value = T;

    fn parse_ref(&self, _: &clap::Command, _: Option<&Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let text = value
            .to_str()
            .ok_or_else(|| clap::Error::raw(ErrorKind::InvalidUtf8, format!("{value:?} is not UTF-8\n")))?;
        (self.parse)(text).map_err(|m| clap::Error::raw(ErrorKind::ValueValidation, format!("{m}\n")))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        if self.names.is_empty() {
            return None;
        }
        Some(Box::new(self.names.iter().map(|n| PossibleValue::new(*n))))
    }
}

/// `--layout`: [`Layout`]'s own names (`coo` is also taken, for `sparse`).
const LAYOUT: Values<Layout> = Values {
    names: &["auto", "dense", "sparse", "runs"],
    parse: |s| s.parse(),
};

/// `--effort`: [`Effort`]'s names.
const EFFORT: Values<Effort> = Values {
    names: &["fast", "default", "best"],
    parse: |s| s.parse(),
};

/// `--compression`: a Parquet codec; `zstd` without a level is arrstore's default level.
const COMPRESSION: Values<Compression> = Values {
    names: &[
        "zstd",
        "zstd(LEVEL)",
        "brotli(LEVEL)",
        "snappy",
        "lz4_raw",
        "uncompressed",
    ],
    parse: |s| {
        let codec = match s.to_ascii_lowercase().as_str() {
            "zstd" => format!("zstd({})", arrstore::options::DEFAULT_ZSTD_LEVEL),
            _ => s.to_string(),
        };
        codec.parse().map_err(|e| format!("--compression '{s}': {e}"))
    },
};

/// `--fill`: a number, `nan`, `inf`, `true`/`false`, or `0x` and the bits of a float64.
const FILL: Values<Scalar> = Values {
    names: &[],
    parse: |s| s.parse().map_err(|e| format!("--fill '{s}': {e}")),
};

/// `--format` of `arrstore sql`.
const FORMAT: Values<Format> = Values {
    names: &["table", "csv", "json", "parquet"],
    parse: |s| match s {
        "table" => Ok(Format::Table),
        "csv" => Ok(Format::Csv),
        "json" => Ok(Format::Json),
        "parquet" => Ok(Format::Parquet),
        other => Err(format!(
            "--format '{other}': expected table, csv, json or parquet"
        )),
    },
};

/// `--table NAME=FILE`.
const TABLE: Values<Table> = Values {
    names: &[],
    parse: |t| {
        let (name, file) = t
            .split_once('=')
            .ok_or_else(|| format!("--table '{t}': expected NAME=FILE"))?;
        if name.is_empty() {
            return Err(format!("--table '{t}': the name is empty"));
        }
        Ok(Table {
            name: name.to_string(),
            file: file.into(),
        })
    },
};

/// `--shape 1000x1000` (or `1000,1000`).
const SHAPE: Values<Shape> = Values {
    names: &[],
    parse: |s| {
        s.split(['x', ','])
            .map(|d| {
                d.trim()
                    .parse::<u64>()
                    .map_err(|e| format!("--shape '{s}': '{d}' is not an axis length: {e}"))
            })
            .collect::<Result<_, _>>()
            .map(Shape)
    },
};

/// `--max-memory`.
const BYTES: Values<u64> = Values {
    names: &[],
    parse: parse_bytes,
};

/// `4096`, `64K`, `1.5G` (binary multiples) as bytes.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                'B' => 1,
                _ => return Err(format!("'{s}': unknown size suffix '{c}' (K, M, G, T)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("'{s}' is not a size"))?;
    if !(v >= 0.0 && v.is_finite()) {
        return Err(format!("'{s}' is not a size"));
    }
    // A user-typed size: rounding to whole bytes is intended.
    Ok((v * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64K"), Ok(65536));
        assert_eq!(parse_bytes("1.5g"), Ok(3 << 29));
        assert!(parse_bytes("12Q").is_err());
        assert!(parse_bytes("-1").is_err());
    }
}
