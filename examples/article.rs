//! The seed article's two examples, stored by arrstore, with its figures beside ours.
//!
//! Run: `cargo run --release --example article [OUT_DIR]` (default `target/article`). The arrays
//! are generated deterministically (a fixed-seed SplitMix64 stands in for NumPy's generator: the
//! star image has the same distribution, 10% of cells uniform in [0.9, 1)), written, read back
//! and checked bit for bit.

use std::path::PathBuf;

use arrstore::{ArrayFile, DynArray, WriteOptions};
use ndarray::Array2;

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

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn line(who: &str, what: &str, bytes: u64, note: &str) {
    println!("  {who:<10}{what:<32}{:>12}   {note}", thousands(bytes));
}

fn store(dir: &std::path::Path, name: &str, array: DynArray) -> arrstore::Result<arrstore::SizeReport> {
    let path = dir.join(format!("{name}.parquet"));
    arrstore::write_dyn(&path, &array, &WriteOptions::default().with_overwrite(true))?;
    let back = arrstore::read_dyn(&path)?;
    assert!(
        back.bit_eq(&array),
        "{name}: the read-back differs from the original"
    );
    Ok(ArrayFile::open(&path)?.sizes())
}

fn main() -> arrstore::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/article"));
    std::fs::create_dir_all(&dir)?;

    println!(
        "The article's examples, stored by arrstore (bytes; files in {})",
        dir.display()
    );
    println!();

    let ones = Array2::<u64>::ones((1024, 1024));
    let r = store(&dir, "ones_u64", ones.into_dyn().into())?;
    println!("np.ones((1024, 1024), dtype=np.uint64)");
    line("article", "uint64 in memory", 8_388_608, "");
    line("article", "as uint16 in memory", 2_097_152, "");
    let stored = r.columns[0].stored_type;
    line(
        "arrstore",
        &format!("narrowed to {stored} in memory"),
        r.narrowed_bytes,
        "",
    );
    let share = format!("{:.5} of memory", r.disk_bytes as f64 / r.memory_bytes as f64); // display only
    line(
        "arrstore",
        &format!("on disk ({} layout)", r.layout.name()),
        r.disk_bytes,
        &share,
    );
    println!();

    let mut rng = SplitMix64(1);
    let stars = Array2::from_shape_simple_fn((1024, 1024), || {
        let v = rng.next_f64();
        if v < 0.9 {
            0.0
        } else {
            v
        }
    });
    let r = store(&dir, "stars_f64", stars.into_dyn().into())?;
    println!("arr = np.random.random((1024, 1024)); arr[arr < 0.9] = 0");
    line("article", "dense in memory", 8_388_608, "");
    line("article", "sparse.COO in memory", 2_514_648, "");
    line("arrstore", "COO, int64 coordinates", r.coo_int64_bytes, "");
    let coords = r.columns[0].stored_type;
    let nnz = format!("nnz {}", thousands(r.nnz));
    line(
        "arrstore",
        &format!("COO, {coords} coordinates"),
        r.coo_bytes,
        &nnz,
    );
    let share = format!("{:.3} of memory", r.disk_bytes as f64 / r.memory_bytes as f64); // display only
    line(
        "arrstore",
        &format!("on disk ({} layout)", r.layout.name()),
        r.disk_bytes,
        &share,
    );
    if let Some(e) = r.estimates {
        line("arrstore", "estimated dense file", e.dense_bytes, "");
        line("arrstore", "estimated sparse file", e.sparse_bytes, "");
    }
    println!();
    println!("Both read back bit for bit identical to the originals.");
    Ok(())
}
