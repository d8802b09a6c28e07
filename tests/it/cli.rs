//! The `arrstore` binary, run for real in temporary directories: round trips of every dtype and
//! of the NumPy fixtures, the options of `write`, `info` as a table and as JSON, error messages,
//! exit codes, and a closed stdout.

use std::ffi::OsStr;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use arrstore::npy::{read_npy, write_npy};
use arrstore::{ArrayFile, DType, DynArray, Element, Order, StoredLayout};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use serde_json::Value;

use crate::common::{listing, run_in, Run};

/// Runs `arrstore` and asserts it succeeded silently on stderr.
fn ok<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Run {
    let r = run_in(cwd, args);
    let shown: Vec<_> = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    assert_eq!(r.code, 0, "arrstore {shown:?} failed: {r:?}");
    assert!(r.stderr.is_empty(), "arrstore {shown:?} wrote to stderr: {r:?}");
    r
}

/// Runs `arrstore` and asserts it failed with exit code 1 and an `error: ` line.
fn fails<S: AsRef<OsStr>>(cwd: &Path, args: &[S]) -> Run {
    let r = run_in(cwd, args);
    assert_eq!(r.code, 1, "expected exit code 1: {r:?}");
    assert!(r.stderr.starts_with("error: "), "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    r
}

fn npy_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/npy")
}

fn foreign_parquet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad/foreign_table.parquet")
}

/// `n` values of `T`: 0, 1, 2, ... with the edge cases of the type at the front and back
/// (integer min and max; -0.0, a NaN with a payload, +inf and the largest finite float).
fn values<T: Element>(n: usize) -> Vec<T> {
    let mut v: Vec<T> = (0..n)
        .map(|k| match T::DTYPE {
            DType::Bool => T::from_bits(u64::from(k % 3 == 0)),
            _ => T::from_int(i128::try_from(k).unwrap()).unwrap(),
        })
        .collect();
    if let (Some((min, max)), true) = (T::DTYPE.int_range(), n >= 2) {
        v[1] = T::from_int(min).unwrap();
        v[n - 1] = T::from_int(max).unwrap();
    }
    let special: &[u64] = match T::DTYPE {
        DType::F32 => &[0x8000_0000, 0x7fc0_0123, 0x7f80_0000, 0x7f7f_ffff],
        DType::F64 => &[
            0x8000_0000_0000_0000,
            0x7ff8_0000_0000_0123,
            0x7ff0_0000_0000_0000,
            0x7fef_ffff_ffff_ffff,
        ],
        _ => &[],
    };
    for (slot, &bits) in v.iter_mut().skip(1).zip(special) {
        *slot = T::from_bits(bits);
    }
    v
}

/// Arrays of `T` that exercise the layouts: C and Fortran order, 0-d, empty, sparse-looking.
fn arrays_of<T: Element>() -> Vec<(String, DynArray)> {
    let name = T::DTYPE.name();
    let c = ArrayD::from_shape_vec(IxDyn(&[3, 4]), values::<T>(12)).unwrap();
    let f = ArrayD::from_shape_vec(IxDyn(&[3, 4]).f(), values::<T>(12)).unwrap();
    let scalar = ArrayD::from_elem(IxDyn(&[]), values::<T>(3)[1]);
    let empty = ArrayD::<T>::from_shape_vec(IxDyn(&[0, 3]), vec![]).unwrap();
    let mut sparse = ArrayD::<T>::from_elem(IxDyn(&[6, 7, 2]), T::default());
    for (i, v) in values::<T>(4).into_iter().enumerate() {
        sparse[[i, 2 * i, i % 2]] = v;
    }
    vec![
        (format!("{name}_c"), DynArray::from(c)),
        (format!("{name}_f"), DynArray::from(f)),
        (format!("{name}_0d"), DynArray::from(scalar)),
        (format!("{name}_empty"), DynArray::from(empty)),
        (format!("{name}_sparse"), DynArray::from(sparse)),
    ]
}

fn all_arrays() -> Vec<(String, DynArray)> {
    DType::ALL
        .into_iter()
        .flat_map(|d| crate::common::with_dtype!(d, T => arrays_of::<T>()))
        .collect()
}

/// Asserts that the .npy files `a` and `b` hold the same array bit for bit, in the same order,
/// and (for arrstore-written files of the same order) the same data bytes.
fn assert_same_npy(a: &Path, b: &Path, what: &str) {
    let x = read_npy(a).unwrap();
    let y = read_npy(b).unwrap();
    assert!(x.bit_eq(&y), "{what}: {x:?} != {y:?}");
    assert_eq!(x.order(), y.order(), "{what}: memory order");
    let data = x.len() * x.dtype().size();
    let (bx, by) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(bx[bx.len() - data..], by[by.len() - data..], "{what}: data bytes");
}

#[test]
fn every_dtype_and_shape_round_trips_bit_exactly_in_every_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (name, a) in all_arrays() {
        let input = dir.join(format!("{name}.npy"));
        write_npy(&input, &a, false).unwrap();
        for layout in ["auto", "dense", "sparse", "runs"] {
            let pq = dir.join(format!("{name}.{layout}.parquet"));
            let back = dir.join(format!("{name}.{layout}.npy"));
            ok(
                dir,
                &[
                    OsStr::new("write"),
                    input.as_os_str(),
                    pq.as_os_str(),
                    "--layout".as_ref(),
                    layout.as_ref(),
                ],
            );
            let meta = ArrayFile::open(&pq).unwrap().meta().clone();
            assert_eq!(meta.dtype, a.dtype(), "{name} {layout}");
            match layout {
                "dense" => assert_eq!(meta.layout, StoredLayout::Dense, "{name}"),
                "sparse" => assert_eq!(meta.layout, StoredLayout::Sparse, "{name}"),
                "runs" => assert_eq!(meta.layout, StoredLayout::Runs, "{name}"),
                _ => {}
            }
            ok(
                dir,
                &[
                    OsStr::new("read"),
                    pq.as_os_str(),
                    "-o".as_ref(),
                    back.as_os_str(),
                ],
            );
            let what = format!("{name} {layout}");
            assert_same_npy(&input, &back, &what);
            // Both files are written by arrstore's .npy writer: the headers agree too.
            assert!(
                std::fs::read(&input).unwrap() == std::fs::read(&back).unwrap(),
                "{what}"
            );
        }
    }
}

#[test]
fn every_supported_numpy_fixture_round_trips_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut seen = 0;
    for name in listing(&npy_fixtures()) {
        if !name.ends_with(".npy") || name.starts_with("bad_") {
            continue;
        }
        seen += 1;
        let input = npy_fixtures().join(&name);
        for layout in ["auto", "sparse"] {
            let pq = dir.join(format!("{name}.{layout}.parquet"));
            let back = dir.join(format!("{name}.{layout}.npy"));
            ok(
                dir,
                &[
                    OsStr::new("write"),
                    input.as_os_str(),
                    pq.as_os_str(),
                    "--layout".as_ref(),
                    layout.as_ref(),
                ],
            );
            ok(
                dir,
                &[
                    OsStr::new("read"),
                    pq.as_os_str(),
                    "-o".as_ref(),
                    back.as_os_str(),
                ],
            );
            let (x, y) = (read_npy(&input).unwrap(), read_npy(&back).unwrap());
            assert!(x.bit_eq(&y), "{name} {layout}");
            assert_eq!(x.order(), y.order(), "{name} {layout}");
            // NumPy's little-endian data bytes are the ones arrstore writes.
            if !name.contains("_be_") {
                assert_same_npy(&input, &back, &name);
            }
        }
    }
    assert!(seen >= 39, "only {seen} fixtures found");
}

/// A small int64 .npy in `dir`: mostly zeros, so `auto` can choose sparse.
fn counts_npy(dir: &Path, name: &str) -> PathBuf {
    let mut a = ndarray::Array2::<i64>::zeros((40, 50));
    for i in 0..40 {
        a[[i, (i * 7) % 50]] = i64::try_from(i).unwrap() + 1;
    }
    let p = dir.join(name);
    write_npy(&p, &DynArray::from(a.into_dyn()), false).unwrap();
    p
}

#[test]
fn write_prints_one_summary_line_naming_the_output_dtype_and_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let input = counts_npy(dir, "counts.npy");
    let r = ok(
        dir,
        &["write", "counts.npy", "dense.parquet", "--layout", "dense"],
    );
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    assert!(
        r.stdout
            .starts_with("dense.parquet: int64 40x50 -> dense, values as uint8"),
        "{r:?}"
    );
    assert!(r.stdout.ends_with('\n'), "{r:?}");

    let r = ok(
        dir,
        &["write", "counts.npy", "sparse.parquet", "--layout", "sparse"],
    );
    assert_eq!(r.stdout.lines().count(), 1, "{r:?}");
    assert!(
        r.stdout
            .starts_with("sparse.parquet: int64 40x50 -> sparse COO, nnz 40"),
        "{r:?}"
    );

    let r = ok(dir, &["write", "counts.npy", "runs.parquet", "--layout", "runs"]);
    // The number of runs, with thousands separators.
    let runs = ArrayFile::open(dir.join("runs.parquet"))
        .unwrap()
        .meta()
        .runs
        .unwrap();
    let digits = runs.to_string();
    let runs: String = digits
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            (i > 0 && (digits.len() - i).is_multiple_of(3))
                .then_some(',')
                .into_iter()
                .chain([c])
        })
        .collect();
    assert!(
        r.stdout.starts_with(&format!(
            "runs.parquet: int64 40x50 -> runs, {runs}, values as uint8"
        )),
        "{r:?}"
    );
    let r = ok(dir, &["info", "runs.parquet"]);
    assert!(
        r.stdout
            .contains(&format!("layout     runs ({runs} runs along the last axis)")),
        "{r:?}"
    );

    let r = ok(dir, &["write", "counts.npy", "quiet.parquet", "--quiet"]);
    assert_eq!(r.stdout, "", "--quiet prints nothing");
    let r = ok(
        dir,
        &["write", "counts.npy", "q.parquet", "-q", "--layout", "coo"],
    );
    assert_eq!(r.stdout, "");
    assert_eq!(
        ArrayFile::open(dir.join("q.parquet")).unwrap().meta().layout,
        StoredLayout::Sparse
    );

    for (file, layout) in [
        ("dense.parquet", StoredLayout::Dense),
        ("sparse.parquet", StoredLayout::Sparse),
        ("runs.parquet", StoredLayout::Runs),
    ] {
        let f = ArrayFile::open(dir.join(file)).unwrap();
        assert_eq!(f.meta().layout, layout, "{file}");
        let a = f.read_dyn().unwrap();
        assert!(a.bit_eq(&read_npy(&input).unwrap()), "{file}");
    }
}

#[test]
fn auto_layout_follows_its_estimates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    let full = ndarray::Array2::<f64>::from_shape_fn((40, 50), |(i, j)| (i * 50 + j) as f64 * 0.37);
    write_npy(dir.join("full.npy"), &DynArray::from(full.into_dyn()), false).unwrap();
    let mut few = ndarray::Array2::<i64>::zeros((300, 300));
    for k in 0..5 {
        few[[k * 37, k * 53]] = 1_000_000_007 * i64::try_from(k + 1).unwrap();
    }
    write_npy(dir.join("few.npy"), &DynArray::from(few.into_dyn()), false).unwrap();
    for input in ["counts.npy", "full.npy", "few.npy"] {
        let out = format!("{input}.parquet");
        let r = ok(dir, &["write", input, &out, "--layout", "auto"]);
        let meta = ArrayFile::open(dir.join(&out)).unwrap().meta().clone();
        let e = meta
            .estimates
            .unwrap_or_else(|| panic!("{input}: auto records its estimates"));
        let other = e.dense_bytes.min(e.sparse_bytes);
        let expected = match e.runs_bytes {
            Some(r) if r <= other / 100 * (100 - arrstore::options::RUNS_MIN_SAVING_PERCENT) && r < other => {
                StoredLayout::Runs
            }
            _ if e.sparse_bytes < e.dense_bytes => StoredLayout::Sparse,
            _ => StoredLayout::Dense,
        };
        assert_eq!(meta.layout, expected, "{input}: {e:?}");
        let shown = match expected {
            StoredLayout::Dense => "-> dense,",
            StoredLayout::Sparse => "-> sparse COO,",
            StoredLayout::Runs => "-> runs,",
        };
        assert!(r.stdout.contains(shown), "{input}: {r:?}");
    }
    // A full array of distinct floats is dense; five entries among 90,000 cells are sparse.
    let layout = |f: &str| ArrayFile::open(dir.join(f)).unwrap().meta().layout;
    assert_eq!(layout("full.npy.parquet"), StoredLayout::Dense);
    assert_eq!(layout("few.npy.parquet"), StoredLayout::Sparse);
}

#[test]
fn fill_nan_leaves_out_the_nan_cells_and_keeps_other_nans_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut a = ndarray::Array2::<f64>::from_elem((20, 30), f64::NAN);
    a[[0, 0]] = 1.5;
    a[[3, 4]] = -0.0;
    a[[7, 9]] = f64::from_bits(0x7ff8_0000_0000_0123); // a NaN with a payload is not the fill
    a[[19, 29]] = 0.0;
    let a = DynArray::from(a.into_dyn());
    write_npy(dir.join("nan.npy"), &a, false).unwrap();
    let r = ok(
        dir,
        &[
            "write",
            "nan.npy",
            "nan.parquet",
            "--layout",
            "sparse",
            "--fill",
            "nan",
        ],
    );
    assert!(r.stdout.contains("sparse COO, nnz 4"), "{r:?}");
    let meta = ArrayFile::open(dir.join("nan.parquet")).unwrap().meta().clone();
    assert_eq!(meta.nnz, 4);
    assert_eq!(meta.fill_bits.as_deref(), Some("0x7ff8000000000000"));
    ok(dir, &["read", "nan.parquet", "-o", "back.npy"]);
    assert!(read_npy(dir.join("back.npy")).unwrap().bit_eq(&a));
    assert_same_npy(&dir.join("nan.npy"), &dir.join("back.npy"), "fill nan");
}

#[test]
fn compression_option_sets_the_parquet_codec() {
    use parquet::basic::Compression;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    for (arg, file) in [
        ("snappy", "snappy.parquet"),
        ("zstd(9)", "zstd9.parquet"),
        ("uncompressed", "plain.parquet"),
        ("lz4_raw", "lz4.parquet"),
    ] {
        ok(
            dir,
            &[
                "write",
                "counts.npy",
                file,
                "--compression",
                arg,
                "--layout",
                "dense",
            ],
        );
        let f = ArrayFile::open(dir.join(file)).unwrap();
        let codec = f.parquet_metadata().row_group(0).column(0).compression();
        let expected = match arg {
            "snappy" => matches!(codec, Compression::SNAPPY),
            "zstd(9)" => matches!(codec, Compression::ZSTD(_)),
            "uncompressed" => matches!(codec, Compression::UNCOMPRESSED),
            _ => matches!(codec, Compression::LZ4_RAW),
        };
        assert!(expected, "{arg}: {codec:?}");
        assert!(
            f.read_dyn()
                .unwrap()
                .bit_eq(&read_npy(dir.join("counts.npy")).unwrap()),
            "{arg}"
        );
    }
}

#[test]
fn bad_compression_layout_and_fill_values_are_errors_that_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    let cases: [(&[&str], &str); 5] = [
        (&["--compression", "gzipp"], "--compression 'gzipp'"),
        (&["--compression", "zstd(99)"], "--compression 'zstd(99)'"),
        (
            &["--layout", "diagonal"],
            "unknown layout 'diagonal' (expected auto, dense, sparse or runs)",
        ),
        (&["--fill", "lots"], "--fill 'lots'"),
        (
            &["--fill", "0.5"],
            "fill value 0.5 is not exactly representable as int64",
        ),
    ];
    for (extra, message) in cases {
        let mut args = vec!["write", "counts.npy", "out.parquet"];
        args.extend_from_slice(extra);
        let r = run_in(dir, &args);
        assert!(r.code == 1 || r.code == 2, "{extra:?}: {r:?}");
        assert!(r.stderr.contains(message), "{extra:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{extra:?}: {r:?}");
        // No output and no stray temporary file, even when the failure came mid-write.
        assert_eq!(listing(dir), ["counts.npy"], "{extra:?}");
    }
}

#[test]
fn info_prints_a_table_with_layout_dtype_and_disk_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    ok(dir, &["write", "counts.npy", "s.parquet", "--layout", "sparse"]);
    ok(dir, &["write", "counts.npy", "d.parquet", "--layout", "dense"]);
    for (file, layout_line) in [
        (
            "s.parquet",
            "layout     sparse (COO, sorted by row, col), fill 0, nnz 40 of 2,000 cells (2.00%)",
        ),
        ("d.parquet", "layout     dense, nnz 40 of 2,000 cells (2.00%)"),
    ] {
        let r = ok(dir, &["info", file]);
        let disk = std::fs::metadata(dir.join(file)).unwrap().len();
        assert!(r.stdout.contains(&format!("file       {file}\n")), "{r:?}");
        assert!(r.stdout.contains("array      int64 40x50 (C order)\n"), "{r:?}");
        assert!(r.stdout.contains(layout_line), "{file}: {}", r.stdout);
        let on_disk = r
            .stdout
            .lines()
            .find(|l| l.starts_with("on disk"))
            .unwrap_or_else(|| panic!("no 'on disk' row: {}", r.stdout));
        let shown: String = on_disk.split_whitespace().nth(2).unwrap().replace(',', "");
        assert_eq!(shown, disk.to_string(), "{on_disk}");
        let memory = r
            .stdout
            .lines()
            .find(|l| l.starts_with("in memory (original)"))
            .unwrap();
        assert!(memory.contains("16,000"), "{memory}");
        assert!(r.stdout.contains("\nvalue   value  uint8"), "{}", r.stdout);
    }
}

#[test]
fn info_json_has_the_sizes_and_they_are_right() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    let f32s =
        ndarray::Array3::<f32>::from_shape_fn((4, 5, 6), |(i, j, k)| (i * 30 + j * 6 + k) as f32 / 8.0);
    write_npy(dir.join("f32.npy"), &DynArray::from(f32s.into_dyn()), false).unwrap();
    let cases = [
        ("counts.npy", "sparse", "int64", vec![40u64, 50], 8u64, 40u64),
        ("counts.npy", "dense", "int64", vec![40, 50], 8, 40),
        ("f32.npy", "dense", "float32", vec![4, 5, 6], 4, 119),
    ];
    for (input, layout, dtype, shape, itemsize, nnz) in cases {
        let out = format!("{input}.{layout}.parquet");
        ok(dir, &["write", input, &out, "--layout", layout]);
        let r = ok(dir, &["info", "--json", &out]);
        let j: Value = serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
        let cells: u64 = shape.iter().product();
        assert_eq!(j["layout"], layout, "{j}");
        assert_eq!(j["dtype"], dtype, "{j}");
        assert_eq!(j["shape"], serde_json::json!(shape), "{j}");
        assert_eq!(j["nnz"], nnz, "{j}");
        assert_eq!(j["memory_bytes"], cells * itemsize, "{j}");
        let disk = std::fs::metadata(dir.join(&out)).unwrap().len();
        assert_eq!(j["disk_bytes"], disk, "{j}");
        let narrowed = j["narrowed_bytes"].as_u64().unwrap();
        assert!(narrowed > 0 && narrowed <= cells * itemsize * 3, "{j}");
        let columns = j["columns"].as_array().unwrap();
        let names: Vec<&str> = columns.iter().map(|c| c["name"].as_str().unwrap()).collect();
        let expected: &[&str] = match (layout, shape.len()) {
            ("dense", _) => &["value"],
            (_, 2) => &["row", "col", "value"],
            _ => &["dim_0", "dim_1", "dim_2", "value"],
        };
        assert_eq!(names, expected, "{j}");
        let mut compressed = 0;
        for c in columns {
            for key in [
                "stored_type",
                "encodings",
                "compressed_bytes",
                "uncompressed_bytes",
            ] {
                assert!(!c[key].is_null(), "{key} missing in {c}");
            }
            assert!(!c["encodings"].as_array().unwrap().is_empty(), "{c}");
            let bytes = c["compressed_bytes"].as_u64().unwrap();
            assert!(bytes > 0 && c["uncompressed_bytes"].as_u64().unwrap() > 0, "{c}");
            compressed += bytes;
        }
        assert!(compressed < disk, "the columns are part of the file: {j}");
        if layout == "dense" {
            // Every cell at the stored width.
            let stored = columns[0]["stored_type"]
                .as_str()
                .unwrap()
                .parse::<DType>()
                .unwrap();
            assert_eq!(narrowed, cells * stored.size() as u64, "{j}");
        }
    }
}

#[test]
fn an_existing_output_is_replaced_only_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    write_npy(
        dir.join("other.npy"),
        &DynArray::from(ndarray::arr1(&[1.5f32, 2.5]).into_dyn()),
        false,
    )
    .unwrap();
    ok(dir, &["write", "counts.npy", "out.parquet"]);
    let before = std::fs::read(dir.join("out.parquet")).unwrap();
    let r = fails(dir, &["write", "other.npy", "out.parquet"]);
    assert!(r.stderr.contains("out.parquet: output already exists"), "{r:?}");
    assert!(
        std::fs::read(dir.join("out.parquet")).unwrap() == before,
        "the output was changed"
    );
    ok(dir, &["write", "other.npy", "out.parquet", "--force", "-q"]);
    assert_eq!(
        ArrayFile::open(dir.join("out.parquet")).unwrap().meta().dtype,
        DType::F32
    );

    // The same for `read -o`.
    ok(dir, &["read", "out.parquet", "-o", "back.npy"]);
    ok(dir, &["write", "counts.npy", "counts.parquet", "-q"]);
    let before = std::fs::read(dir.join("back.npy")).unwrap();
    let r = fails(dir, &["read", "counts.parquet", "-o", "back.npy"]);
    assert!(r.stderr.contains("back.npy: output already exists"), "{r:?}");
    assert!(std::fs::read(dir.join("back.npy")).unwrap() == before);
    ok(dir, &["read", "counts.parquet", "-o", "back.npy", "-f"]);
    assert_same_npy(&dir.join("counts.npy"), &dir.join("back.npy"), "read --force");
    assert!(
        !listing(dir).iter().any(|n| n.starts_with(".arrstore-")),
        "{:?}",
        listing(dir)
    );
}

#[test]
fn an_unsupported_npy_is_refused_naming_the_file_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let bad = npy_fixtures().join("bad_complex128.npy");
    let r = fails(
        dir,
        &[OsStr::new("write"), bad.as_os_str(), "out.parquet".as_ref()],
    );
    assert!(
        r.stderr.starts_with(&format!("error: {}", bad.display())),
        "{r:?}"
    );
    assert!(r.stderr.contains("bad_complex128.npy"), "{r:?}");
    assert!(r.stderr.contains("not supported"), "{r:?}");
    assert!(listing(dir).is_empty(), "{:?}", listing(dir));
}

#[test]
fn a_missing_input_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for args in [
        &["write", "nowhere.npy", "out.parquet"][..],
        &["read", "nowhere.parquet", "-o", "out.npy"],
        &["info", "nowhere.parquet"],
        &["info", "--json", "nowhere.parquet"],
    ] {
        let r = fails(dir, args);
        let file = args.iter().find(|a| a.starts_with("nowhere")).unwrap();
        assert!(r.stderr.starts_with(&format!("error: {file}: ")), "{r:?}");
        assert!(r.stderr.contains("No such file or directory"), "{r:?}");
        assert!(listing(dir).is_empty(), "{args:?}: {:?}", listing(dir));
    }
}

#[test]
fn a_foreign_parquet_file_is_refused_by_read_and_info() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let foreign = foreign_parquet();
    for args in [
        vec![
            OsStr::new("read"),
            foreign.as_os_str(),
            "-o".as_ref(),
            "out.npy".as_ref(),
        ],
        vec![OsStr::new("info"), foreign.as_os_str()],
        vec![OsStr::new("info"), "--json".as_ref(), foreign.as_os_str()],
    ] {
        let r = fails(dir, &args);
        assert!(r.stderr.contains("foreign_table.parquet"), "{r:?}");
        assert!(
            r.stderr
                .contains("not an arrstore file: the Parquet metadata has no 'arrstore' key"),
            "{r:?}"
        );
        assert!(listing(dir).is_empty());
    }
}

#[test]
fn an_error_message_is_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = foreign_parquet();
    let r = fails(tmp.path(), &[OsStr::new("info"), foreign.as_os_str()]);
    assert_eq!(
        r.stderr.matches("not an arrstore file").count(),
        1,
        "{}",
        r.stderr
    );
    let r = fails(tmp.path(), &["info", "nowhere.parquet"]);
    assert_eq!(r.stderr.matches("No such file").count(), 1, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
}

#[test]
fn read_narrowed_gives_the_stored_type_and_refuses_an_offset() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let near = ndarray::arr1(&[1_000_000i64, 1_000_001, 1_000_200]);
    write_npy(dir.join("near.npy"), &DynArray::from(near.into_dyn()), false).unwrap();
    let r = ok(dir, &["write", "near.npy", "near.parquet", "--layout", "dense"]);
    assert!(r.stdout.contains("values as uint8 + 1000000"), "{r:?}");
    let r = fails(
        dir,
        &["read", "near.parquet", "-o", "near_back.npy", "--narrowed"],
    );
    assert!(r.stderr.contains("near.parquet"), "{r:?}");
    assert!(r.stderr.contains("stored less an offset of 1000000"), "{r:?}");
    assert!(r.stderr.contains("read without --narrowed"), "{r:?}");
    assert!(!dir.join("near_back.npy").exists());

    counts_npy(dir, "counts.npy");
    ok(dir, &["write", "counts.npy", "counts.parquet", "-q"]);
    ok(dir, &["read", "counts.parquet", "-o", "narrow.npy", "--narrowed"]);
    let n = read_npy(dir.join("narrow.npy")).unwrap();
    assert_eq!(n.dtype(), DType::U8);
    let original = read_npy(dir.join("counts.npy")).unwrap();
    let widened: ArrayD<i64> =
        crate::common::with_dyn_array!(&n, a => a.mapv(|v| i64::try_from(v.to_int().unwrap()).unwrap()));
    assert!(DynArray::from(widened).bit_eq(&original));
    assert_eq!(
        listing(dir),
        [
            "counts.npy",
            "counts.parquet",
            "narrow.npy",
            "near.npy",
            "near.parquet"
        ]
    );
}

#[test]
fn exit_codes_are_0_1_and_2_and_every_help_has_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for args in [
        &["write", "only_input.npy"][..],
        &["read", "x.parquet"],
        &["info"],
        &["frobnicate"],
        &[],
    ] {
        let r = run_in(dir, args);
        assert_eq!(r.code, 2, "{args:?}: {r:?}");
        assert!(r.stderr.contains("Usage"), "{args:?}: {r:?}");
    }
    let r = run_in(dir, &["write", "a.npy", "b.parquet", "--no-such-flag"]);
    assert_eq!(r.code, 2, "{r:?}");
    for sub in ["write", "read", "info"] {
        let r = ok(dir, &[sub, "--help"]);
        assert!(r.stdout.contains("Example"), "{sub}: {}", r.stdout);
        assert!(
            r.stdout.contains(&format!("arrstore {sub} ")),
            "{sub}: {}",
            r.stdout
        );
    }
    let r = ok(dir, &["--version"]);
    assert!(r.stdout.starts_with("arrstore "), "{r:?}");
    assert_eq!(fails(dir, &["info", "missing.parquet"]).code, 1);
    counts_npy(dir, "c.npy");
    assert_eq!(ok(dir, &["write", "c.npy", "c.parquet"]).code, 0);
}

/// Runs `arrstore args` with stdout a pipe whose reader is closed at once; returns the exit code
/// and stderr.
fn with_closed_stdout(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_arrstore"))
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_closed_stdout_is_not_an_error_for_info() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    ok(dir, &["write", "counts.npy", "counts.parquet", "-q"]);
    for args in [
        &["info", "--json", "counts.parquet"][..],
        &["info", "counts.parquet"],
    ] {
        let (code, stderr) = with_closed_stdout(dir, args);
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, 0, "{args:?}: {stderr}");
    }
}

#[test]
fn a_closed_stdout_is_not_an_error_for_write() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    let (code, stderr) = with_closed_stdout(dir, &["write", "counts.npy", "counts.parquet"]);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
}

#[cfg(unix)]
#[test]
fn outputs_get_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    counts_npy(dir, "counts.npy");
    std::fs::write(dir.join("plain.txt"), b"made by File::create").unwrap();
    let usual = std::fs::metadata(dir.join("plain.txt"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    ok(dir, &["write", "counts.npy", "counts.parquet", "-q"]);
    ok(dir, &["read", "counts.parquet", "-o", "back.npy"]);
    for f in ["counts.parquet", "back.npy"] {
        let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, usual, "{f}: {mode:o}, a plain new file gets {usual:o}");
    }
}

#[test]
fn order_is_kept_through_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let f = ArrayD::from_shape_vec(
        IxDyn(&[2, 3, 4]).f(),
        (0..24).map(|k| k * 1000).collect::<Vec<u32>>(),
    )
    .unwrap();
    let f = DynArray::from(f);
    assert_eq!(f.order(), Order::F);
    write_npy(dir.join("f.npy"), &f, false).unwrap();
    for layout in ["dense", "sparse"] {
        let pq = format!("f.{layout}.parquet");
        let back = format!("f.{layout}.npy");
        ok(dir, &["write", "f.npy", &pq, "--layout", layout, "-q"]);
        assert_eq!(ArrayFile::open(dir.join(&pq)).unwrap().meta().order, Order::F);
        ok(dir, &["read", &pq, "-o", &back]);
        assert_eq!(read_npy(dir.join(&back)).unwrap().order(), Order::F);
        assert_same_npy(&dir.join("f.npy"), &dir.join(&back), layout);
    }
}
