//! Slice reads against full reads, side by side in one run: a dense float64 array (2 GiB by
//! default) and a sparse float64 array (50M entries by default), both made deterministically,
//! written once each; then the full read and two slices of each (1% of the rows, and a
//! 100x100 window) are read through a reader that counts the bytes it is asked for, best of
//! `REPS` runs. For each slice: its time as a fraction of the full read's, the bytes read, and
//! the compressed bytes of the pages that hold its rows (from the offset index), whose ratio
//! the issue bounds at 3.
//!
//! The dense array is also written as `.npy` beside it (`--npy DIR`), for the zarr comparison
//! of `benches/slices/zarr_slices.py`.
//!
//! Run: `cargo run --release --example slice_bench [-- --dense-gib 2 --sparse-entries 50000000 --reps 3 --npy DIR]`

use std::fs::File;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use arrstore::{ArrayFile, Coo, Effort, Layout, WriteOptions};
use bytes::Bytes;
use ndarray::{s, Array2};
use parquet::file::reader::{ChunkReader, Length};

/// A file whose reads are counted.
#[derive(Clone)]
struct Counting {
    file: Arc<File>,
    read: Arc<AtomicU64>,
}

impl Length for Counting {
    fn len(&self) -> u64 {
        self.file.len()
    }
}

impl ChunkReader for Counting {
    type T = <File as ChunkReader>::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        self.read.fetch_add(self.file.len() - start, Ordering::Relaxed);
        self.file.get_read(start)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.read.fetch_add(length as u64, Ordering::Relaxed);
        self.file.get_bytes(start, length)
    }
}

/// Opens `path` counting its reads: the file and the counter (the bytes of opening it
/// included; callers take differences).
fn open(path: &std::path::Path) -> (ArrayFile<Counting>, Arc<AtomicU64>) {
    let read = Arc::new(AtomicU64::new(0));
    let reader = Counting {
        file: Arc::new(File::open(path).expect("the file was written")),
        read: read.clone(),
    };
    (ArrayFile::new(reader).expect("an arrstore file"), read)
}

/// The compressed bytes of every page, of every column, that holds a row of `rows` (sorted,
/// disjoint ranges of table rows).
fn page_bytes(f: &ArrayFile<Counting>, rows: &[Range<u64>]) -> u64 {
    let meta = f.parquet_metadata();
    let index = meta.offset_index().expect("arrstore files have an offset index");
    let mut total = 0u64;
    let mut group_start = 0u64;
    for (g, rg) in meta.row_groups().iter().enumerate() {
        let n = rg.num_rows() as u64;
        let group = group_start..group_start + n;
        group_start += n;
        for column in &index[g] {
            let pages = column.page_locations();
            for (p, loc) in pages.iter().enumerate() {
                let first = group.start + loc.first_row_index as u64;
                let end = pages
                    .get(p + 1)
                    .map_or(group.end, |x| group.start + x.first_row_index as u64);
                if rows.iter().any(|r| r.start < end && first < r.end) {
                    total += loc.compressed_page_size as u64;
                }
            }
        }
    }
    total
}

/// The table rows (as sorted ranges) of the entries of the sparse file at `path` whose row
/// is in `rs` and column in `cs`, read from its index columns as stored.
fn entries_in(
    path: &std::path::Path,
    rs: &Range<usize>,
    cs: &Range<usize>,
) -> Result<Vec<Range<u64>>, Box<dyn std::error::Error>> {
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, UInt64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?;
    let mask = parquet::arrow::ProjectionMask::columns(builder.parquet_schema(), ["row", "col"]);
    let reader = builder.with_projection(mask).build()?;
    let (mut out, mut at): (Vec<Range<u64>>, u64) = (Vec::new(), 0);
    for batch in reader {
        let batch = batch?;
        let r = arrow::compute::cast(batch.column_by_name("row").expect("row"), &DataType::UInt64)?;
        let c = arrow::compute::cast(batch.column_by_name("col").expect("col"), &DataType::UInt64)?;
        for (&r, &c) in r
            .as_primitive::<UInt64Type>()
            .values()
            .iter()
            .zip(c.as_primitive::<UInt64Type>().values())
        {
            if rs.contains(&(r as usize)) && cs.contains(&(c as usize)) {
                match out.last_mut() {
                    Some(last) if last.end == at => last.end += 1,
                    _ => out.push(at..at + 1),
                }
            }
            at += 1;
        }
    }
    Ok(out)
}

/// The best of `reps` runs of `f`: seconds and bytes read.
fn best(reps: usize, mut f: impl FnMut() -> u64) -> (f64, u64) {
    let mut out = (f64::MAX, 0);
    for _ in 0..reps {
        let t = Instant::now();
        let bytes = f();
        out = (out.0.min(t.elapsed().as_secs_f64()), bytes);
    }
    out
}

fn arg(name: &str, default: f64) -> f64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let reps = arg("--reps", 3.0) as usize;
    let gib = arg("--dense-gib", 2.0);
    let entries = arg("--sparse-entries", 50e6) as u64;
    let args: Vec<String> = std::env::args().collect();
    let npy_dir = args
        .iter()
        .position(|a| a == "--npy")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let dir = tempfile::tempdir_in(".")?;

    // Dense: a smooth field with noise, float64, square.
    let side = ((gib * (1u64 << 30) as f64 / 8.0).sqrt() as usize) / 64 * 64;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let dense = Array2::<f64>::from_shape_fn((side, side), |(i, j)| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((i as f64 / 300.0).sin() * (j as f64 / 500.0).cos() * 1000.0).round() / 8.0 + (x >> 60) as f64 / 16.0
    });
    let dense_path = dir.path().join("dense.parquet");
    let t = Instant::now();
    arrstore::write_array(
        &dense_path,
        &dense,
        &WriteOptions::default()
            .with_layout(Layout::Dense)
            .with_effort(Effort::Fast),
    )?;
    let write_s = t.elapsed().as_secs_f64();
    if let Some(d) = &npy_dir {
        arrstore::npy::write_npy(
            std::path::Path::new(d).join("dense.npy"),
            &arrstore::DynArray::from(dense.clone().into_dyn()),
            true,
        )?;
    }
    let file_bytes = std::fs::metadata(&dense_path)?.len();
    let (f, _) = open(&dense_path);
    let transform = f
        .meta()
        .value_column()
        .transform
        .map_or("none".to_string(), |t| t.to_string());
    println!(
        "dense {side}x{side} float64 ({:.2} GiB), file {file_bytes} bytes, written in {write_s:.1} s, transform {transform}, {} row groups",
        (side * side * 8) as f64 / (1u64 << 30) as f64,
        f.parquet_metadata().num_row_groups()
    );
    let rows_1pct = side / 100;
    let mid = side / 2;
    let window = 100usize.min(side);
    println!(
        "{:<28}{:>10}{:>10}{:>16}{:>16}{:>10}",
        "read", "seconds", "/ full", "bytes read", "pages' bytes", "ratio"
    );
    let (full_s, full_bytes) = best(reps, || {
        let (f, read) = open(&dense_path);
        let before = read.load(Ordering::Relaxed);
        let a: Array2<f64> = f.read().expect("reads");
        assert_eq!(a.dim(), dense.dim());
        read.load(Ordering::Relaxed) - before
    });
    println!(
        "{:<28}{full_s:>10.3}{:>10}{full_bytes:>16}{:>16}{:>10}",
        "dense, full", "1", file_bytes, "-"
    );
    // Opened by path, a dense file's row groups are decoded on every core (bytes not counted).
    let (parallel_s, _) = best(reps, || {
        let a: Array2<f64> = ArrayFile::open(&dense_path)
            .and_then(|f| f.read())
            .expect("reads");
        assert_eq!(a.dim(), dense.dim());
        0
    });
    println!(
        "{:<28}{parallel_s:>10.3}{:>10.3}",
        "dense, full (by path)",
        parallel_s / full_s
    );
    let cases: [(&str, Range<usize>, Range<usize>); 2] = [
        ("dense, 1% of rows", mid..mid + rows_1pct, 0..side),
        ("dense, 100x100 window", mid..mid + window, mid..mid + window),
    ];
    for (name, rows, cols) in cases {
        let (secs, bytes) = best(reps, || {
            let (f, read) = open(&dense_path);
            let before = read.load(Ordering::Relaxed);
            let part: Array2<f64> = f.read_slice(s![rows.clone(), cols.clone()]).expect("reads");
            assert_eq!(part, dense.slice(s![rows.clone(), cols.clone()]));
            read.load(Ordering::Relaxed) - before
        });
        let (f, _) = open(&dense_path);
        let spans: Vec<Range<u64>> = rows
            .clone()
            .map(|r| (r * side + cols.start) as u64..(r * side + cols.end) as u64)
            .collect();
        let pages = if f.meta().value_column().transform.is_some() {
            // A transformed column decodes whole row groups: their pages are what it needs.
            let mut whole = Vec::new();
            let mut at = 0u64;
            for rg in f.parquet_metadata().row_groups() {
                let n = rg.num_rows() as u64;
                if spans.iter().any(|r| r.start < at + n && at < r.end) {
                    whole.push(at..at + n);
                }
                at += n;
            }
            page_bytes(&f, &whole)
        } else {
            page_bytes(&f, &spans)
        };
        println!(
            "{name:<28}{secs:>10.4}{:>10.4}{bytes:>16}{pages:>16}{:>10.2}",
            secs / full_s,
            bytes as f64 / pages.max(1) as f64
        );
    }
    drop(dense);

    // Sparse: `entries` entries over a square, rows in order, columns spread by a hash.
    let n = ((entries as f64).sqrt() * 20.0) as u64;
    let per_row = entries / n;
    let mut rows = Vec::with_capacity(entries as usize);
    let mut colv = Vec::with_capacity(entries as usize);
    let mut vals = Vec::with_capacity(entries as usize);
    for r in 0..n {
        let mut cs: Vec<u64> = (0..per_row)
            .map(|k| {
                (r.wrapping_mul(0x9e37_79b9)
                    .wrapping_add(k.wrapping_mul(0x85eb_ca6b)))
                    % n
            })
            .collect();
        cs.sort_unstable();
        cs.dedup();
        for c in cs {
            rows.push(r);
            colv.push(c);
            vals.push(((r ^ c) % 1000) as f64 * 0.25);
        }
    }
    let nnz = vals.len();
    let coo = Coo::new(vec![n as usize, n as usize], vec![rows, colv], vals, 0.0);
    let sparse_path = dir.path().join("sparse.parquet");
    let t = Instant::now();
    arrstore::write_coo(&sparse_path, &coo, &WriteOptions::default())?;
    let write_s = t.elapsed().as_secs_f64();
    let file_bytes = std::fs::metadata(&sparse_path)?.len();
    let (f, _) = open(&sparse_path);
    let order = f.meta().sorted_by();
    println!(
        "\nsparse {n}x{n} float64, {nnz} entries, file {file_bytes} bytes, written in {write_s:.1} s, {} row groups, entries sorted by axes {order:?}",
        f.parquet_metadata().num_row_groups()
    );
    let (full_s, full_bytes) = best(reps, || {
        let (f, read) = open(&sparse_path);
        let before = read.load(Ordering::Relaxed);
        let c: Coo<f64> = f.read_coo().expect("reads");
        assert_eq!(c.nnz(), nnz);
        read.load(Ordering::Relaxed) - before
    });
    println!(
        "{:<28}{full_s:>10.3}{:>10}{full_bytes:>16}{:>16}{:>10}",
        "sparse, full (COO)", "1", file_bytes, "-"
    );
    let (n, mid) = (n as usize, n as usize / 2);
    let cases: [(&str, Range<usize>, Range<usize>); 2] = [
        ("sparse, 1% of rows", mid..mid + n / 100, 0..n),
        ("sparse, 100x100 window", mid..mid + 100, mid..mid + 100),
    ];
    for (name, rs, cs) in cases {
        let (secs, bytes) = best(reps, || {
            let (f, read) = open(&sparse_path);
            let before = read.load(Ordering::Relaxed);
            let part: Array2<f64> = f.read_slice(s![rs.clone(), cs.clone()]).expect("reads");
            assert_eq!(part.dim(), (rs.len(), cs.len()));
            read.load(Ordering::Relaxed) - before
        });
        // The table rows of the entries in the slice, in the file's entry order.
        let spans = entries_in(&sparse_path, &rs, &cs)?;
        let (f, _) = open(&sparse_path);
        let pages = page_bytes(&f, &spans);
        println!(
            "{name:<28}{secs:>10.4}{:>10.4}{bytes:>16}{pages:>16}{:>10.2}",
            secs / full_s,
            bytes as f64 / pages.max(1) as f64
        );
    }
    Ok(())
}
