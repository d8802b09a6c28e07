//! Throughput of arrstore's hot paths, in bytes of the in-memory array per second: the
//! narrowing scan (int64 counts, and whole-number float64 that narrow to integers), dense encode and decode, the COO build from a dense array, and COO encode and
//! decode, each at two sizes. Run with `cargo bench --bench hot_paths`.

use std::hint::black_box;

use arrstore::narrow::Scan;
use arrstore::{read_array_from, write_array_to, write_coo_to, ArrayFile, Coo, Layout, WriteOptions};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::Array2;

/// Square sides of the benchmarked arrays (f64: 2 MiB and 8 MiB; i64 the same).
const SIDES: [usize; 2] = [512, 1024];

/// A deterministic pseudo-random stream (SplitMix64), so runs compare like with like.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform float in [0, 1).
    fn unit(&mut self) -> f64 {
        // The top 53 bits of a u64 are exactly representable in an f64.
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Counts in 0..=60000 held in int64 (narrowed to uint16 on disk).
fn counts(side: usize) -> Array2<i64> {
    let mut r = Rng(2);
    Array2::from_shape_simple_fn((side, side), || {
        i64::try_from(r.next() % 60_001).expect("below 60001")
    })
}

/// Uniform floats with 90% zeros (the sparse "star image").
fn stars(side: usize) -> Array2<f64> {
    let mut r = Rng(1);
    Array2::from_shape_simple_fn((side, side), || {
        let v = r.unit();
        if v < 0.9 {
            0.0
        } else {
            v
        }
    })
}

fn bytes_of<T>(a: &Array2<T>) -> u64 {
    u64::try_from(std::mem::size_of_val(a.as_slice().expect("standard layout"))).expect("fits")
}

fn narrowing_scan(c: &mut Criterion) {
    let mut g = c.benchmark_group("narrowing_scan");
    for side in SIDES {
        let ints = counts(side);
        // Whole numbers held in float64: the scan must look at every value.
        let floats = counts(side).mapv(|v| v as f64); // below 2^53: exact
        g.throughput(Throughput::Bytes(bytes_of(&ints)));
        g.bench_with_input(BenchmarkId::new("i64", side * side), &ints, |b, a| {
            b.iter(|| black_box(Scan::of(a.as_slice().expect("standard layout")).narrowing()))
        });
        g.bench_with_input(BenchmarkId::new("f64", side * side), &floats, |b, a| {
            b.iter(|| black_box(Scan::of(a.as_slice().expect("standard layout")).narrowing()))
        });
    }
    g.finish();
}

fn dense(c: &mut Criterion) {
    let mut g = c.benchmark_group("dense");
    g.sample_size(10);
    let opts = WriteOptions::default().with_layout(Layout::Dense);
    for side in SIDES {
        let a = counts(side);
        g.throughput(Throughput::Bytes(bytes_of(&a)));
        g.bench_with_input(BenchmarkId::new("encode_i64", side * side), &a, |b, a| {
            b.iter(|| {
                let mut out = Vec::new();
                write_array_to(&mut out, a, &opts).expect("writes");
                black_box(out)
            })
        });
        let mut file = Vec::new();
        write_array_to(&mut file, &a, &opts).expect("writes");
        let file = Bytes::from(file);
        g.bench_with_input(BenchmarkId::new("decode_i64", side * side), &file, |b, f| {
            b.iter(|| {
                let back: Array2<i64> = read_array_from(f.clone()).expect("reads");
                black_box(back)
            })
        });
    }
    g.finish();
}

fn coo(c: &mut Criterion) {
    let mut g = c.benchmark_group("coo");
    g.sample_size(10);
    let opts = WriteOptions::default();
    for side in SIDES {
        let a = stars(side);
        g.throughput(Throughput::Bytes(bytes_of(&a)));
        g.bench_with_input(
            BenchmarkId::new("build_from_dense_f64", side * side),
            &a,
            |b, a| b.iter(|| black_box(Coo::from_dense(a, 0.0))),
        );
        let coo = Coo::from_dense(&a, 0.0);
        g.bench_with_input(BenchmarkId::new("encode_f64", side * side), &coo, |b, coo| {
            b.iter(|| {
                let mut out = Vec::new();
                write_coo_to(&mut out, coo, &opts).expect("writes");
                black_box(out)
            })
        });
        let mut file = Vec::new();
        write_coo_to(&mut file, &coo, &opts).expect("writes");
        let file = Bytes::from(file);
        g.bench_with_input(BenchmarkId::new("decode_f64", side * side), &file, |b, f| {
            b.iter(|| {
                let file = ArrayFile::new(f.clone()).expect("opens");
                black_box(file.read_coo::<f64>().expect("reads"))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, narrowing_scan, dense, coo);
criterion_main!(benches);
