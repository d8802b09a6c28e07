//! Helpers the test modules share: running the `arrstore` binary, listing folders, forging
//! Parquet tables under a hand-written self-description.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
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
