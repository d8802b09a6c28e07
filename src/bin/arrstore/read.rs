//! `arrstore read IN.parquet -o OUT.npy`: the exact original array (or its narrowed form).

use anyhow::{bail, Result};

use crate::args::ReadArgs;

pub fn run(a: &ReadArgs) -> Result<()> {
    if !a.force && a.output.exists() {
        bail!(
            "{}: output already exists (pass --force to replace it)",
            a.output.display()
        );
    }
    let file = arrstore::ArrayFile::open(&a.input)?;
    let array = if a.narrowed {
        let n = file.read_narrowed()?;
        if n.offset != 0 {
            bail!(
                "{}: the values are stored less an offset of {}, so the narrowed array is not the original values; read without --narrowed",
                a.input.display(),
                n.offset
            );
        }
        n.array
    } else {
        file.read_dyn()?
    };
    arrstore::npy::write_npy(&a.output, &array, a.force)?;
    Ok(())
}
