//! `arrstore write IN.npy OUT.parquet`: read the .npy, store it, print a one-line summary.

use std::io::Write;

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
        let disk = summary.file_bytes;
        let change = if disk <= memory {
            format!("{:.1}x smaller", fmt::ratio(memory, disk.max(1)))
        } else {
            format!("{:.2}x larger", fmt::ratio(disk, memory.max(1)))
        };
        let offset = if v.offset != 0 {
            format!(" + {}", v.offset)
        } else {
            String::new()
        };
        writeln!(
            std::io::stdout(),
            "{}: {} {} -> {layout}, values as {}{offset}; {} in memory -> {} on disk ({change})",
            a.output.display(),
            m.dtype,
            fmt::shape(&m.shape),
            v.stored_type,
            fmt::bytes(memory),
            fmt::bytes(disk),
        )?;
    }
    Ok(())
}
