//! `arrstore demo`: the seed article's two examples, stored and read back, with the article's
//! figures beside arrstore's. The arrays are generated deterministically (a fixed-seed
//! SplitMix64 stands in for NumPy's generator: the star image has the same distribution, 10% of
//! cells uniform in [0.9, 1)).

use std::io::Write;
use std::path::Path;

use anyhow::{ensure, Result};
use arrstore::{ArrayFile, DynArray, SizeReport, WriteOptions};
use ndarray::Array2;

use crate::args::DemoArgs;
use crate::fmt::thousands;
use crate::progress::Progress;

/// SplitMix64: a tiny, well-known deterministic generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits, as NumPy's `random()`.
    fn next_f64(&mut self) -> f64 {
        // 53 bits fit a double's mantissa exactly.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// The article's star image: 1024x1024, 90% zeros, the rest uniform in [0.9, 1).
pub fn stars() -> Array2<f64> {
    let mut rng = SplitMix64(1);
    Array2::from_shape_simple_fn((1024, 1024), || {
        let v = rng.next_f64();
        if v < 0.9 {
            0.0
        } else {
            v
        }
    })
}

fn store(dir: &Path, name: &str, array: DynArray) -> Result<SizeReport> {
    let path = dir.join(format!("{name}.parquet"));
    arrstore::write_dyn(&path, &array, &WriteOptions::default().with_overwrite(true))?;
    let back = arrstore::read_dyn(&path)?;
    ensure!(
        back.bit_eq(&array),
        "{name}: the read-back differs from the original"
    );
    Ok(ArrayFile::open(&path)?.sizes())
}

fn line(out: &mut impl Write, who: &str, what: &str, bytes: u64, note: &str) -> std::io::Result<()> {
    writeln!(out, "  {who:<10}{what:<32}{:>12}   {note}", thousands(bytes))
}

pub fn run(a: &DemoArgs, quiet: bool) -> Result<()> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.as_path()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path()
        }
    };
    let progress = Progress::spinner(quiet, "storing the article's examples".into());
    let ones = store(
        dir,
        "ones_u64",
        Array2::<u64>::ones((1024, 1024)).into_dyn().into(),
    )?;
    let stars = store(dir, "stars_f64", stars().into_dyn().into())?;
    drop(progress);

    let mut out = std::io::stdout().lock();
    writeln!(out, "The article's examples, stored by arrstore (bytes)")?;
    writeln!(out)?;
    writeln!(out, "np.ones((1024, 1024), dtype=np.uint64)")?;
    line(&mut out, "article", "uint64 in memory", 8_388_608, "")?;
    line(&mut out, "article", "as uint16 in memory", 2_097_152, "")?;
    let r = &ones;
    line(
        &mut out,
        "arrstore",
        &format!("narrowed to {} in memory", r.columns[0].stored_type),
        r.narrowed_bytes,
        "",
    )?;
    let share = format!("{:.5} of memory", r.disk_bytes as f64 / r.memory_bytes as f64); // display only
    line(
        &mut out,
        "arrstore",
        &format!("on disk ({} layout)", r.layout.name()),
        r.disk_bytes,
        &share,
    )?;
    writeln!(out)?;
    writeln!(out, "arr = np.random.random((1024, 1024)); arr[arr < 0.9] = 0")?;
    let r = &stars;
    line(&mut out, "article", "dense in memory", 8_388_608, "")?;
    line(&mut out, "article", "sparse.COO in memory", 2_514_648, "")?;
    line(
        &mut out,
        "arrstore",
        "COO, int64 coordinates",
        r.coo_int64_bytes,
        "",
    )?;
    let nnz = format!("nnz {}", thousands(r.nnz));
    line(
        &mut out,
        "arrstore",
        &format!("COO, {} coordinates", r.columns[0].stored_type),
        r.coo_bytes,
        &nnz,
    )?;
    let share = format!("{:.3} of memory", r.disk_bytes as f64 / r.memory_bytes as f64); // display only
    line(
        &mut out,
        "arrstore",
        &format!("on disk ({} layout)", r.layout.name()),
        r.disk_bytes,
        &share,
    )?;
    if let Some(e) = r.estimates {
        line(&mut out, "arrstore", "estimated dense file", e.dense_bytes, "")?;
        line(&mut out, "arrstore", "estimated sparse file", e.sparse_bytes, "")?;
    }
    writeln!(out)?;
    writeln!(out, "Both read back bit for bit identical to the originals.")?;
    if let Some(d) = &a.dir {
        writeln!(out, "Files: {}", d.display())?;
    }
    Ok(())
}
