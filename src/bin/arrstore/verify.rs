//! `arrstore verify PATH...`: checks files, stores, datasets and folders of arrstore files whole, prints
//! what it checked, and stops at the first problem (exit 1, its place named).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use arrstore::{ArrayFile, Error};

use crate::args::VerifyArgs;

pub fn run(a: &VerifyArgs) -> Result<()> {
    let mut out = std::io::stdout().lock();
    let mut files = 0usize;
    for input in &a.inputs {
        if arrstore::dataset::Dataset::is_dataset(input) {
            // A dataset's listed parts, each checked against the index (dtype, rows, trailing
            // shape) and then whole; files it does not list are not part of it.
            let d = arrstore::dataset::Dataset::open(input)?;
            for (i, p) in d.parts().iter().enumerate() {
                let report = d.part(i)?.verify()?;
                writeln!(out, "{}: ok: {report}", d.dir().join(&p.file).display())?;
                files += 1;
            }
            continue;
        }
        let listed = files_of(input)?;
        let mut folders: Vec<&Path> = listed.iter().filter_map(|f| f.parent()).collect();
        folders.push(input);
        folders.dedup();
        for dir in folders.into_iter().filter(|d| d.is_dir()) {
            let removed = arrstore::atomic::remove_stale_temporaries(dir)?;
            if removed > 0 {
                writeln!(
                    out,
                    "{}: removed {removed} temporaries of killed writers",
                    dir.display()
                )?;
            }
        }
        for file in listed {
            match ArrayFile::open(&file) {
                Err(e) if matches!(e.kind(), Error::NotArrstore { .. }) && input.is_dir() => {
                    writeln!(out, "{}: skipped: not an arrstore file", file.display())?;
                }
                Err(e) => return Err(e.into()),
                Ok(f) => {
                    let report = f.verify()?;
                    writeln!(out, "{}: ok: {report}", file.display())?;
                    files += 1;
                }
            }
        }
    }
    writeln!(out, "verified {files} files: every check passed")?;
    Ok(())
}

/// The files to check for `input`: itself; a store's files in the order of its index (the
/// index is checked as it is opened); or a folder's `*.parquet` files, sorted.
fn files_of(input: &Path) -> Result<Vec<PathBuf>> {
    if arrstore::store::Store::is_store(input) {
        let store = arrstore::store::Store::open(input)?;
        return Ok(store
            .entries()
            .iter()
            .map(|e| store.dir().join(&e.file))
            .collect());
    }
    if input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(input)
            .and_then(|d| d.map(|e| e.map(|e| e.path())).collect())
            .with_context(|| format!("{}: cannot list the folder", input.display()))?;
        files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "parquet"));
        files.sort();
        return Ok(files);
    }
    Ok(vec![input.to_path_buf()])
}
