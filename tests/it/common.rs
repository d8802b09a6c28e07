//! Helpers the test modules share: running the `arrstore` binary, listing folders, forging
//! Parquet tables under a hand-written self-description, dispatching on a dtype.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use arrstore::ArrayFile;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};

/// What a run of the binary gave.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `arrstore` with `args` in `cwd`.
pub fn run_in<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_arrstore"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the arrstore binary runs");
    Run {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The names of the entries in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes a table of `columns` (nullable when they hold nulls) as Parquet, uncompressed, with
/// `meta` under the `arrstore` key when given.
pub fn forge(columns: Vec<(&str, ArrayRef)>, meta: Option<String>) -> Vec<u8> {
    forge_with(columns, meta, |p| p)
}

/// [`forge`] with writer properties changed by `tune` (an encoding, say).
pub fn forge_with(
    columns: Vec<(&str, ArrayRef)>,
    meta: Option<String>,
    tune: impl FnOnce(WriterPropertiesBuilder) -> WriterPropertiesBuilder,
) -> Vec<u8> {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a)| Field::new(*n, a.data_type().clone(), a.null_count() > 0))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_created_by("arrstore tests/it/bad_data.rs".into())
        .set_key_value_metadata(meta.map(|m| vec![KeyValue::new("arrstore".into(), m)]));
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema, Some(tune(props).build())).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

/// Runs `$body` with `$x` bound to what the per-dtype enum `$enum` (`DynArray`, `DynCoo`) holds,
/// whatever its dtype: the tests' own dispatch, the library's being private.
macro_rules! with_variant {
    ($enum:ident, $e:expr, $x:ident => $body:expr) => {
        match $e {
            arrstore::$enum::Bool($x) => $body,
            arrstore::$enum::I8($x) => $body,
            arrstore::$enum::I16($x) => $body,
            arrstore::$enum::I32($x) => $body,
            arrstore::$enum::I64($x) => $body,
            arrstore::$enum::U8($x) => $body,
            arrstore::$enum::U16($x) => $body,
            arrstore::$enum::U32($x) => $body,
            arrstore::$enum::U64($x) => $body,
            arrstore::$enum::F32($x) => $body,
            arrstore::$enum::F64($x) => $body,
        }
    };
}
pub(crate) use with_variant;

/// [`with_variant`] over a `DynArray`.
macro_rules! with_dyn_array {
    ($e:expr, $a:ident => $body:expr) => {
        crate::common::with_variant!(DynArray, $e, $a => $body)
    };
}
pub(crate) use with_dyn_array;

/// [`with_variant`] over a `DynCoo`.
macro_rules! with_dyn_coo {
    ($e:expr, $c:ident => $body:expr) => {
        crate::common::with_variant!(DynCoo, $e, $c => $body)
    };
}
pub(crate) use with_dyn_coo;

/// Runs `$body` with the type alias `$T` set to the Rust type of a `DType`.
macro_rules! with_dtype {
    ($d:expr, $T:ident => $body:expr) => {
        match $d {
            arrstore::DType::Bool => {
                type $T = bool;
                $body
            }
            arrstore::DType::I8 => {
                type $T = i8;
                $body
            }
            arrstore::DType::I16 => {
                type $T = i16;
                $body
            }
            arrstore::DType::I32 => {
                type $T = i32;
                $body
            }
            arrstore::DType::I64 => {
                type $T = i64;
                $body
            }
            arrstore::DType::U8 => {
                type $T = u8;
                $body
            }
            arrstore::DType::U16 => {
                type $T = u16;
                $body
            }
            arrstore::DType::U32 => {
                type $T = u32;
                $body
            }
            arrstore::DType::U64 => {
                type $T = u64;
                $body
            }
            arrstore::DType::F32 => {
                type $T = f32;
                $body
            }
            arrstore::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// `file` with `from` in its footer replaced by `to` (the same length) and the tail checksum
/// recomputed, as a writer with a bug (or a forger) would leave it: every checksum matches.
pub fn with_footer_text(file: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let data_bytes = ArrayFile::new(bytes::Bytes::from(file.to_vec()))
        .unwrap()
        .meta()
        .checksums
        .as_ref()
        .unwrap()
        .data_bytes;
    let start = usize::try_from(data_bytes).unwrap();
    let mut out = file.to_vec();
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    let at = start + find(&out[start..], from.as_bytes()).expect("the text is in the footer");
    out[at..at + from.len()].copy_from_slice(to.as_bytes());
    let key = br#""tail_crc":""#;
    let digits = start + find(&out[start..], key).unwrap() + key.len();
    out[digits..digits + 8].copy_from_slice(b"00000000");
    let crc = crc32fast::hash(&out[start..]);
    out[digits..digits + 8].copy_from_slice(format!("{crc:08x}").as_bytes());
    out
}

/// A deterministic pseudo-random sequence (xorshift; seed it odd, never 0).
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 for `n` 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
