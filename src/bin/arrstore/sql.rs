//! `arrstore sql QUERY --table NAME=FILE --store DIR`: runs the query over the arrays and prints
//! the result (table, CSV, JSON or Parquet), or stores it as a new array (`--into`).

use std::io::Write;

use anyhow::{bail, Context, Result};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrstore::sql::ArraySession;

use crate::args::{Format, SqlArgs};
use crate::fmt;

pub fn run(a: &SqlArgs) -> Result<()> {
    if a.format == Format::Parquet && a.output.is_none() {
        bail!("--format parquet writes a file: give it with -o FILE");
    }
    let mut session = ArraySession::new();
    for t in &a.tables {
        session.register_array(&t.name, &t.file)?;
    }
    for dir in &a.stores {
        session.register_store(dir)?;
    }
    let shape = a.shape.as_ref().map(|s| s.0.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(arrstore::contain::contain_panics_of_this_thread)
        .build()
        .context("starting the query runtime")?;
    if let Some(into) = &a.into {
        crate::refuse_existing(into, a.force)?;
        let opts = arrstore::WriteOptions::default().with_overwrite(a.force);
        let summary = runtime.block_on(session.write_query(&a.query, shape, into, &opts))?;
        let m = &summary.meta;
        writeln!(
            std::io::stdout(),
            "{}: {} {}, sparse COO, nnz {}; {} on disk",
            into.display(),
            m.dtype,
            fmt::shape(&m.shape),
            fmt::thousands(m.nnz),
            fmt::bytes(summary.file_bytes)
        )?;
        return Ok(());
    }
    let (schema, batches) = runtime.block_on(session.query_with_schema(&a.query))?;
    match &a.output {
        Some(path) => {
            crate::refuse_existing(path, a.force)?;
            arrstore::atomic::write_atomic(path, a.force, |w| {
                write_result(w, a.format, &schema, &batches)
                    .map_err(|e| arrstore::Error::Io(std::io::Error::other(crate::report(&e))))
            })?;
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            write_result(&mut out, a.format, &schema, &batches)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Writes the batches in `format`.
fn write_result<W: Write + Send>(
    w: &mut W,
    format: Format,
    schema: &SchemaRef,
    batches: &[RecordBatch],
) -> Result<()> {
    match format {
        Format::Table => {
            let table = arrow::util::pretty::pretty_format_batches_with_schema(schema.clone(), batches)?;
            writeln!(w, "{table}")?;
        }
        Format::Csv => {
            let mut csv = arrow::csv::Writer::new(w);
            for b in batches {
                csv.write(b)?;
            }
        }
        Format::Json => {
            let mut json = arrow::json::ArrayWriter::new(&mut *w);
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            json.write_batches(&refs)?;
            json.finish()?;
            writeln!(w)?;
        }
        Format::Parquet => {
            let mut pq = parquet::arrow::ArrowWriter::try_new(w, schema.clone(), None)?;
            for b in batches {
                pq.write(b)?;
            }
            pq.close()?;
        }
    }
    Ok(())
}
