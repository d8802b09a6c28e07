//! `arrstore read IN -o OUT`: the exact original array as .npy, a sparse array as SciPy's COO
//! .npz (never densified), a store as NumPy's .npz; dense outputs are checked against the
//! memory they may use first.

use std::path::Path;

use anyhow::{bail, Result};
use arrstore::store::Store;
use arrstore::{ArrayFile, ArrayMeta, StoredLayout};

use crate::args::ReadArgs;
use crate::fmt;
use crate::progress::Progress;

pub fn run(a: &ReadArgs, quiet: bool) -> Result<()> {
    crate::refuse_existing(&a.output, a.force)?;
    let to_npz = a
        .output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npz"));
    let limit = a.max_memory.or_else(available_memory);
    if Store::is_store(&a.input) {
        if a.slice.is_some() {
            bail!(
                "{}: --slice reads one array, and this is a store of several; read one of its files",
                a.input.display()
            );
        }
        return read_store(a, quiet, to_npz, limit);
    }
    if arrstore::dataset::Dataset::is_dataset(&a.input) {
        return read_dataset(a, to_npz, limit);
    }
    let file = ArrayFile::open(&a.input)?;
    let progress = Progress::spinner(quiet, format!("reading {}", a.input.display()));
    if let Some(text) = &a.slice {
        let sel = file.selection(text)?;
        let bytes = sel.cells().saturating_mul(if a.narrowed {
            file.meta().value_column().stored_type.size() as u64 // usize fits in u64
        } else {
            file.meta().dtype.size() as u64 // usize fits in u64
        });
        refuse_over(&a.input, &format!("the slice {text}"), bytes, limit)?;
        let array = if a.narrowed {
            let n = file.read_selection_narrowed(&sel)?;
            refuse_offset(&a.input, n.offset)?;
            n.array
        } else {
            file.read_selection(&sel)?
        };
        progress.set_message(format!("writing {}", a.output.display()));
        return write_array(a, &array, to_npz);
    }
    if to_npz && file.meta().layout == StoredLayout::Sparse && !a.narrowed {
        let coo = file.read_dyn_coo()?;
        arrstore::npz::write_sparse_npz(&a.output, &coo, a.compress, a.force)?;
        return Ok(());
    }
    if !to_npz && !a.narrowed && file.npy_is_streamed() {
        // Streamed: memory does not grow with the array.
        file.write_npy(&a.output, a.force)?;
        return Ok(());
    }
    check_memory(&a.input, file.meta(), a.narrowed, limit)?;
    let array = if a.narrowed {
        let n = file.read_narrowed()?;
        refuse_offset(&a.input, n.offset)?;
        n.array
    } else {
        file.read_dyn()?
    };
    progress.set_message(format!("writing {}", a.output.display()));
    write_array(a, &array, to_npz)
}

/// A dataset (or the slice asked for) read whole into memory and written as the output.
fn read_dataset(a: &ReadArgs, to_npz: bool, limit: Option<u64>) -> Result<()> {
    let d = arrstore::dataset::Dataset::open(&a.input)?;
    if a.narrowed {
        bail!(
            "{}: a dataset's parts may be stored in different types; --narrowed reads one file (a part)",
            a.input.display()
        );
    }
    let sel = match &a.slice {
        Some(text) => d.selection(text)?,
        None => arrstore::slice::Selection::all(&d.shape()),
    };
    let bytes = sel.cells().saturating_mul(d.dtype().size() as u64); // usize fits in u64
    refuse_over(&a.input, "the array", bytes, limit)?;
    let array = d.read_selection(&sel)?;
    write_array(a, &array, to_npz)
}

/// An output of `bytes` in memory, over the `limit` that may be used: refused, saying `what`
/// needs it.
fn refuse_over(input: &Path, what: &str, bytes: u64, limit: Option<u64>) -> Result<()> {
    if let Some(limit) = limit.filter(|&l| bytes > l) {
        bail!(
            "{}: {what} needs {} in memory, more than the {} that may be used (--max-memory)",
            input.display(),
            fmt::bytes(bytes),
            fmt::bytes(limit)
        );
    }
    Ok(())
}

/// A narrowed read of values stored less an offset is not the original values: refused.
fn refuse_offset(input: &Path, offset: i128) -> Result<()> {
    if offset != 0 {
        bail!(
            "{}: the values are stored less an offset of {offset}, so the narrowed array is not the original values; read without --narrowed",
            input.display(),
        );
    }
    Ok(())
}

/// Writes `array` as the output: .npy, or an .npz of one array named after the input.
fn write_array(a: &ReadArgs, array: &arrstore::DynArray, to_npz: bool) -> Result<()> {
    if to_npz {
        let key = a
            .input
            .file_stem()
            .map_or("arr_0".into(), |s| s.to_string_lossy().into_owned());
        arrstore::npz::write_npz(&a.output, &[(key.as_str(), array)], a.compress, a.force)?;
    } else {
        arrstore::npy::write_npy(&a.output, array, a.force)?;
    }
    Ok(())
}

fn read_store(a: &ReadArgs, quiet: bool, to_npz: bool, limit: Option<u64>) -> Result<()> {
    let store = Store::open(&a.input)?;
    if !to_npz {
        bail!(
            "{}: a store holds {} arrays; read it into an .npz (-o FILE.npz)",
            a.input.display(),
            store.entries().len()
        );
    }
    let mut total = 0u64;
    for name in store.names() {
        let f = store.file(name)?;
        total = total.saturating_add(dense_bytes(f.meta(), a.narrowed)?);
    }
    if let Some(limit) = limit.filter(|&l| total > l) {
        bail!(
            "{}: the store's arrays need {} in memory, more than the {} that may be used (--max-memory)",
            a.input.display(),
            fmt::bytes(total),
            fmt::bytes(limit)
        );
    }
    let bar = Progress::bar(
        quiet,
        store.entries().len() as u64,
        format!("reading {}", a.input.display()),
    ); // a count
    let mut arrays = Vec::new();
    for name in store.names() {
        let f = store.file(name)?;
        arrays.push((
            name.to_string(),
            if a.narrowed {
                f.read_narrowed()?.array
            } else {
                f.read_dyn()?
            },
        ));
        bar.inc();
    }
    let refs: Vec<(&str, &arrstore::DynArray)> = arrays.iter().map(|(n, x)| (n.as_str(), x)).collect();
    arrstore::npz::write_npz(&a.output, &refs, a.compress, a.force)?;
    Ok(())
}

/// Bytes of the dense array a read produces.
fn dense_bytes(meta: &ArrayMeta, narrowed: bool) -> Result<u64> {
    let itemsize = if narrowed {
        meta.value_column().narrowing().stored.size()
    } else {
        meta.dtype.size()
    };
    Ok(meta.cells()?.saturating_mul(itemsize as u64)) // itemsize is at most 8
}

fn check_memory(input: &Path, meta: &ArrayMeta, narrowed: bool, limit: Option<u64>) -> Result<()> {
    let need = dense_bytes(meta, narrowed)?;
    if let Some(limit) = limit.filter(|&l| need > l) {
        bail!(
            "{}: the dense array needs {} ({} cells of {}), more than the {} that may be used (--max-memory); \
             a sparse array can be read to .npz without densifying",
            input.display(),
            fmt::bytes(need),
            fmt::thousands(meta.cells()?),
            meta.dtype,
            fmt::bytes(limit)
        );
    }
    Ok(())
}

/// The memory available to new allocations (Linux `MemAvailable`), if known.
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}
