//! `arrstore append DATASET PART.npy`: rows added along axis 0 to a dataset directory, the
//! first append creating it; a single-file array or a store is refused.

use anyhow::{bail, Result};
use arrstore::dataset::Dataset;
use arrstore::store::Store;
use arrstore::WriteOptions;

use crate::args::AppendArgs;
use crate::fmt;

pub fn run(a: &AppendArgs, quiet: bool) -> Result<()> {
    let path = &a.dataset;
    if path.is_file() {
        bail!(
            "{}: a single-file array; appends go to a dataset directory (`arrstore append DIR part.npy` creates one; \
             `arrstore read` the file to .npy and append it as the first part to grow it)",
            path.display()
        );
    }
    if Store::is_store(path) {
        bail!(
            "{}: a store of named arrays, not a dataset; appends go to a dataset directory",
            path.display()
        );
    }
    let part = arrstore::npy::read_npy(&a.part)?;
    let mut dataset = if Dataset::is_dataset(path) {
        Dataset::open(path)?
    } else if path.exists() {
        bail!(
            "{}: exists and is not a dataset (no dataset.json)",
            path.display()
        );
    } else {
        let trailing: Vec<usize> = part.shape().iter().skip(1).copied().collect();
        if part.shape().is_empty() {
            bail!("{}: a 0-d array has no rows to append", a.part.display());
        }
        Dataset::create(path, part.dtype(), &trailing)?
    };
    let opts = WriteOptions::default().with_effort(a.effort);
    let summary = dataset.append(&part, &opts)?;
    if !quiet {
        let shape: Vec<String> = dataset.shape().iter().map(|l| l.to_string()).collect();
        let n = dataset.parts().len();
        println!(
            "{}: {} rows appended as part {n} ({} on disk); the dataset is {} {} in {n} part{}",
            path.display(),
            part.shape()[0],
            fmt::bytes(summary.file_bytes),
            dataset.dtype(),
            shape.join("x"),
            if n == 1 { "" } else { "s" }
        );
    }
    Ok(())
}
