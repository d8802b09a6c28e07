//! What checking checksums and the content hash costs a full read, side by side in one run:
//! each case is written once, then read from two files that differ only in their
//! self-description: the file as written (format 1.3, every byte checked against its checksum,
//! the values against the content hash) and a copy whose `checksums` and `content_hash` are
//! blanked out with spaces and whose version reads `1.2` (the same bytes otherwise, read
//! without checks). Reads alternate between the two (each first every other time); the
//! medians are printed with their ratio, beside the median time of `ArrayFile::verify` on the
//! checked file (what registering it for SQL costs).
//!
//! Run: `cargo run --release --example checksum_cost [REPS]`

use std::path::Path;
use std::time::Instant;

use arrstore::{DynArray, Layout, WriteOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps: usize = std::env::args().nth(1).map_or(Ok(9), |r| r.parse())?;
    let dir = tempfile::tempdir()?;
    println!(
        "{:<22}{:>12}{:>14}{:>14}{:>8}{:>12}",
        "case", "file bytes", "checked ms", "unchecked ms", "ratio", "verify ms"
    );
    let probe = vec![0x5au8; 64 << 20];
    let t = Instant::now();
    let crc = crc32fast::hash(&probe);
    println!(
        "(CRC-32 alone: {:.1} GB/s, {crc:08x})",
        64.0 * 1.048576e6 / t.elapsed().as_secs_f64() / 1e9
    );
    for (name, array, layout) in cases() {
        let checked = dir.path().join(format!("{name}.parquet"));
        arrstore::write_dyn(&checked, &array, &WriteOptions::default().with_layout(layout))?;
        let unchecked = dir.path().join(format!("{name}-unchecked.parquet"));
        std::fs::write(&unchecked, without_checksums(&std::fs::read(&checked)?)?)?;
        let f = arrstore::ArrayFile::open(&unchecked)?;
        assert!(f.sizes().checksums.is_none() && f.meta().content_hash.is_none());
        let (mut with, mut without, mut verify) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..reps {
            // Which goes first alternates, so that neither always follows the other.
            if rep % 2 == 0 {
                with.push(time_read(&checked)?);
                without.push(time_read(&unchecked)?);
            } else {
                without.push(time_read(&unchecked)?);
                with.push(time_read(&checked)?);
            }
        }
        for _ in 0..reps {
            let t = Instant::now();
            arrstore::ArrayFile::open(&checked)?.verify()?;
            verify.push(t.elapsed().as_secs_f64());
        }
        let (a, b, v) = (median(&mut with), median(&mut without), median(&mut verify));
        println!(
            "{name:<22}{:>12}{:>14.2}{:>14.2}{:>8.3}{:>12.2}",
            std::fs::metadata(&checked)?.len(),
            a * 1e3,
            b * 1e3,
            a / b,
            v * 1e3
        );
    }
    Ok(())
}

/// The benchmark shapes: noise, counts, a sparse matrix, labels; 16 to 64 MiB in memory.
fn cases() -> Vec<(&'static str, DynArray, Layout)> {
    let mix = |i: usize| (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    let noise = ndarray::Array2::from_shape_fn((2048, 4096), |(i, j)| (mix(i * 4096 + j) as f64) * 1e-9);
    let counts = ndarray::Array2::from_shape_fn((2048, 2048), |(i, j)| (mix(i * 2048 + j) % 60_000) as i64);
    let sparse = ndarray::Array2::from_shape_fn((4096, 4096), |(i, j)| {
        let h = mix(i * 4096 + j);
        if h % 100 < 5 {
            (h % 1000) as f64 / 8.0
        } else {
            0.0
        }
    });
    let labels = ndarray::Array2::from_shape_fn((2048, 2048), |(i, j)| ((i / 64 + j / 96) % 7) as i64);
    vec![
        ("dense_f64_noise", DynArray::from(noise.into_dyn()), Layout::Dense),
        (
            "dense_i64_counts",
            DynArray::from(counts.into_dyn()),
            Layout::Dense,
        ),
        (
            "sparse_f64_5pct",
            DynArray::from(sparse.into_dyn()),
            Layout::Sparse,
        ),
        ("runs_i64_labels", DynArray::from(labels.into_dyn()), Layout::Runs),
    ]
}

/// The file with its `checksums` and `content_hash` entries replaced by spaces and its version
/// by `1.2`: the same lengths, so the Parquet footer stays valid.
fn without_checksums(file: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut out = file.to_vec();
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).rposition(|w| w == needle);
    for key in [&b",\"checksums\":{"[..], b",\"content_hash\":{"] {
        let start = find(&out, key).ok_or("no checksums or content hash")?;
        let end = start
            + out[start..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or("unterminated")?
            + 1;
        out[start..end].fill(b' ');
    }
    let v = find(&out, b"\"format_version\":\"1.3\"").ok_or("no version")?;
    out[v + 18..v + 21].copy_from_slice(b"1.2");
    Ok(out)
}

fn time_read(path: &Path) -> arrstore::Result<f64> {
    let t = Instant::now();
    let a = arrstore::read_dyn(path)?;
    let s = t.elapsed().as_secs_f64();
    drop(a);
    Ok(s)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
