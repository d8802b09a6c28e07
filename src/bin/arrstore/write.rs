//! `arrstore write IN OUT`: a .npy becomes one file (read in chunks, never whole), a SciPy sparse .npz one COO file (never
//! densified), a NumPy .npz of several arrays a store; prints a one-line summary per array.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use arrstore::npz::Npz;
use arrstore::{WriteOptions, WriteSummary};

use crate::args::WriteArgs;
use crate::fmt;
use crate::progress::Progress;

pub fn run(a: &WriteArgs, quiet: bool) -> Result<()> {
    let mut opts = WriteOptions::default()
        .with_layout(a.layout)
        .with_compression(a.compression)
        .with_row_group_size(a.row_group_size)
        .with_arrow_dictionary(a.arrow_dictionary)
        .with_portable(a.portable)
        .with_effort(a.effort)
        .with_overwrite(a.force);
    if let Some(f) = &a.fill {
        opts = opts.with_fill(*f);
    }
    crate::refuse_existing(&a.output, a.force)?;
    let is_npz = a.input.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    let progress = Progress::spinner(quiet, format!("reading {}", a.input.display()));
    if !is_npz {
        progress.set_message(format!("writing {}", a.output.display()));
        let summary = arrstore::write_npy_file(&a.input, &a.output, &opts)?;
        drop(progress);
        return report(quiet, &a.output, &summary);
    }
    match arrstore::npz::read_npz(&a.input)? {
        Npz::Sparse(coo) => {
            progress.set_message(format!("writing {}", a.output.display()));
            let summary = arrstore::write_dyn_coo(&a.output, &coo, &opts)?;
            drop(progress);
            report(quiet, &a.output, &summary)
        }
        Npz::Arrays(arrays) => {
            drop(progress);
            let bar = Progress::bar(quiet, 1, format!("writing the store {}", a.output.display()));
            let refs: Vec<(&str, &arrstore::DynArray)> =
                arrays.iter().map(|(n, x)| (n.as_str(), x)).collect();
            let store = arrstore::store::write_store(&a.output, &refs, &opts)?;
            bar.inc();
            drop(bar);
            for (e, (_, sizes)) in store.entries().iter().zip(store.sizes()?) {
                if !quiet {
                    writeln!(
                        std::io::stdout(),
                        "{}: {} {} -> {}, {} in memory -> {} on disk",
                        store.dir().join(&e.file).display(),
                        sizes.dtype,
                        fmt::shape(&sizes.shape),
                        sizes.layout.name(),
                        fmt::bytes(sizes.memory_bytes),
                        fmt::bytes(sizes.disk_bytes),
                    )?;
                }
            }
            Ok(())
        }
    }
}

/// The one-line summary of a written array.
fn report(quiet: bool, output: &Path, summary: &WriteSummary) -> Result<()> {
    if quiet {
        return Ok(());
    }
    let m = &summary.meta;
    let v = m.value_column();
    let layout = match m.layout {
        arrstore::StoredLayout::Dense => "dense".to_string(),
        arrstore::StoredLayout::Sparse => format!("sparse COO, nnz {}", fmt::thousands(m.nnz)),
        arrstore::StoredLayout::Runs => format!("runs, {}", fmt::thousands(m.runs.unwrap_or(0))),
    };
    let memory = m.cells()?.saturating_mul(m.dtype.size() as u64); // itemsize is at most 8
    let disk = summary.file_bytes;
    let change = if disk <= memory {
        format!("{:.1}x smaller", fmt::ratio(memory, disk.max(1)))
    } else {
        format!("{:.2}x larger", fmt::ratio(disk, memory.max(1)))
    };
    let mut offset = if v.offset != 0 {
        format!(" + {}", v.offset)
    } else {
        String::new()
    };
    if let Some(t) = &v.transform {
        offset.push_str(&format!(", predicted: {}", t.predictor.name()));
    }
    writeln!(
        std::io::stdout(),
        "{}: {} {} -> {layout}, values as {}{offset}; {} in memory -> {} on disk ({change})",
        output.display(),
        m.dtype,
        fmt::shape(&m.shape),
        v.narrowing().stored,
        fmt::bytes(memory),
        fmt::bytes(disk),
    )?;
    Ok(())
}
