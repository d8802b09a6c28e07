//! An array larger than memory written in parts: `--parts` chunks of `--part-gib` GiB of
//! float64 rows (20 x 1 GiB by default), each made deterministically from its index, written
//! with `ArrayWriter::write_chunk` and dropped; the process's peak resident memory (VmHWM) is
//! printed after each append, so a flat peak shows that memory does not grow with the array.
//! Then every part is read back from the dataset, one at a time, and compared bit for bit with
//! the chunk made again from its index (never holding two parts, nor the array, at once).
//!
//! Run: `cargo run --release --example append_bench [-- --parts 20 --part-gib 1 --dir DIR]`
//! (needs about a tenth of the array's size free on disk in DIR: the field compresses well).

use std::time::Instant;

use arrstore::dataset::{ArrayWriter, Dataset};
use arrstore::{DType, Effort, WriteOptions};
use ndarray::Array2;

/// Columns of every row.
const COLS: usize = 4096;

/// Chunk `k` of `rows` rows: a smooth field in steps of 1/16 with noise, different in every
/// chunk.
fn chunk(k: usize, rows: usize) -> Array2<f64> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ (k as u64).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    Array2::from_shape_fn((rows, COLS), |(i, j)| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let r = (k * rows + i) as f64;
        ((r / 700.0).sin() * (j as f64 / 300.0).cos() * 1000.0).round() / 16.0 + (x >> 61) as f64
    })
}

/// The process's peak resident memory so far, in MiB (Linux; 0 elsewhere).
fn peak_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .map_or(0, |kib| kib / 1024)
}

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_string())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let parts: usize = arg("--parts", "20").parse()?;
    let part_gib: f64 = arg("--part-gib", "1").parse()?;
    let base = std::path::PathBuf::from(arg("--dir", "."));
    let rows = ((part_gib * (1u64 << 30) as f64) / (COLS * 8) as f64) as usize;
    let dir = tempfile::tempdir_in(&base)?;
    let path = dir.path().join("grown");
    let opts = WriteOptions::default().with_effort(Effort::Fast);
    let mut w = ArrayWriter::new(&path, DType::F64, &[COLS], opts)?;
    let (start, mut disk) = (Instant::now(), 0u64);
    println!(
        "{:>5}{:>14}{:>12}{:>16}{:>14}",
        "part", "rows", "write s", "on disk", "peak MiB"
    );
    for k in 0..parts {
        let c = chunk(k, rows);
        let t = Instant::now();
        w.write_chunk(&c)?;
        drop(c);
        let file = path.join(format!("part-{k:06}.parquet"));
        let bytes = std::fs::metadata(&file)?.len();
        disk += bytes;
        println!(
            "{k:>5}{rows:>14}{:>12.2}{bytes:>16}{:>14}",
            t.elapsed().as_secs_f64(),
            peak_mib()
        );
    }
    let d = w.finish()?;
    let gib = (d.shape().iter().product::<u64>() * 8) as f64 / (1u64 << 30) as f64;
    println!(
        "wrote {gib:.1} GiB in {parts} parts in {:.1} s ({disk} bytes on disk); peak {} MiB",
        start.elapsed().as_secs_f64(),
        peak_mib()
    );
    let t = Instant::now();
    let d = Dataset::open(&path)?;
    for k in 0..d.parts().len() {
        let back: Array2<f64> = d.part(k)?.read()?;
        let want = chunk(k, rows);
        let same = back
            .iter()
            .zip(want.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(
            same && back.dim() == want.dim(),
            "part {k} differs from its chunk"
        );
    }
    println!(
        "read back and compared every part bit for bit in {:.1} s; peak {} MiB",
        t.elapsed().as_secs_f64(),
        peak_mib()
    );
    Ok(())
}
