//! `arrstore write IN.npy OUT.parquet`: read the .npy, store it, print a one-line summary.

use anyhow::{Context, Result};

use crate::args::WriteArgs;
use crate::fmt;

pub fn run(a: &WriteArgs) -> Result<()> {
    let layout: arrstore::Layout = a.layout.parse().map_err(anyhow::Error::msg)?;
    let compression: parquet::basic::Compression = a
        .compression
        .parse()
        .with_context(|| format!("--compression '{}'", a.compression))?;
    let mut opts = arrstore::WriteOptions::default()
        .with_layout(layout)
        .with_compression(compression)
        .with_row_group_size(a.row_group_size)
        .with_overwrite(a.force);
    if let Some(f) = &a.fill {
        opts = opts.with_fill(f.parse().with_context(|| format!("--fill '{f}'"))?);
    }
    if !a.force && a.output.exists() {
        anyhow::bail!(
            "{}: output already exists (pass --force to replace it)",
            a.output.display()
        );
    }
    let array = arrstore::npy::read_npy(&a.input)?;
    let summary = arrstore::write_dyn(&a.output, &array, &opts)?;
    if !a.quiet {
        let m = &summary.meta;
        let v = m.value_column();
        let layout = match m.layout {
            arrstore::StoredLayout::Dense => "dense".to_string(),
            arrstore::StoredLayout::Sparse => format!("sparse COO, nnz {}", fmt::thousands(m.nnz)),
        };
        let memory = array.memory_bytes();
        println!(
            "{}: {} {} -> {layout}, values as {}{}; {} in memory -> {} on disk ({:.1}x smaller)",
            a.output.display(),
            m.dtype,
            fmt::shape(&m.shape),
            v.stored_type,
            if v.offset != 0 {
                format!(" + {}", v.offset)
            } else {
                String::new()
            },
            fmt::bytes(memory),
            fmt::bytes(summary.file_bytes),
            1.0 / fmt::ratio(summary.file_bytes, memory).max(f64::MIN_POSITIVE),
        );
    }
    Ok(())
}
