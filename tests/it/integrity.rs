//! Checksums (format 1.3): every bit of a file is covered, files of earlier versions still read,
//! and `info` says which kind a file is.

use std::path::{Path, PathBuf};

use arrstore::{ArrayFile, DynArray, Layout, WriteOptions};

use crate::common::{run_in, with_footer_text};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// The `.npy` bytes of what `file` reads as, or the error's message.
fn npy_of(file: bytes::Bytes) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    ArrayFile::new(file)
        .and_then(|f| f.write_npy_to(&mut out))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

/// Small files of every layout, with values of several dtypes.
fn small_files() -> Vec<(&'static str, Vec<u8>)> {
    let dense = ndarray::Array2::<f64>::from_shape_fn((12, 9), |(i, j)| (i * 9 + j) as f64 / 3.0);
    let mut sparse = ndarray::Array2::<i32>::zeros((40, 30));
    for k in 0..25 {
        sparse[[k * 7 % 40, k * 11 % 30]] = i32::try_from(k).unwrap() * 1000 - 7;
    }
    let runs = ndarray::Array2::<u16>::from_shape_fn((10, 50), |(i, j)| u16::try_from(i + j / 10).unwrap());
    let arrays = [
        ("dense", DynArray::from(dense.into_dyn()), Layout::Dense),
        ("sparse", DynArray::from(sparse.into_dyn()), Layout::Sparse),
        ("runs", DynArray::from(runs.into_dyn()), Layout::Runs),
    ];
    arrays
        .into_iter()
        .map(|(name, a, layout)| {
            let mut buf = Vec::new();
            arrstore::write_dyn_to(&mut buf, &a, &WriteOptions::default().with_layout(layout)).unwrap();
            (name, buf)
        })
        .collect()
}

/// A flipped bit anywhere in a file, data or footer, never reads back as other values: the
/// read fails or gives the original bits. Every byte of each file is tried, one bit each.
#[test]
fn no_single_bit_flip_reads_as_other_values() {
    for (name, file) in small_files() {
        let want = npy_of(bytes::Bytes::from(file.clone())).unwrap();
        let (mut failed, mut same) = (0, 0);
        for at in 0..file.len() {
            let mut m = file.clone();
            m[at] ^= 1 << (at % 8);
            match npy_of(bytes::Bytes::from(m)) {
                Err(_) => failed += 1,
                Ok(got) => {
                    assert_eq!(got, want, "{name}: byte {at} flipped reads as other values");
                    same += 1;
                }
            }
        }
        assert_eq!(failed + same, file.len());
        // Only a few bytes (unused Thrift bits such as a flag's spare bits) may leave the file
        // readable; the rest fail.
        assert!(
            failed > file.len() * 9 / 10,
            "{name}: {failed} of {} mutants failed",
            file.len()
        );
    }
}

/// Files of formats 1.2 (no checksums) and 1.3 read as they did, to the same values as the
/// same arrays written now (format 1.4).
#[test]
fn files_of_earlier_formats_still_read() {
    for (folder, version) in [("format-1.2", "1.2"), ("format-1.3", "1.3")] {
        let old_dir = data().join(folder);
        let mut names: Vec<String> = std::fs::read_dir(&old_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".parquet"))
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        for name in names {
            let old = ArrayFile::open(old_dir.join(&name)).unwrap();
            let new = ArrayFile::open(data().join(&name)).unwrap();
            assert_eq!(old.meta().format_version, version, "{name}");
            assert_eq!(old.sizes().checksums.is_none(), version == "1.2", "{name}");
            assert_eq!(new.meta().format_version, "1.4", "{name}");
            let sums = new.sizes().checksums.unwrap();
            assert_eq!(
                (sums.algorithm.as_str(), sums.block_bytes),
                ("crc32", 65536),
                "{name}"
            );
            let (mut a, mut b) = (Vec::new(), Vec::new());
            old.write_npy_to(&mut a).unwrap();
            new.write_npy_to(&mut b).unwrap();
            assert_eq!(a, b, "{folder}/{name}");
        }
    }
}

#[test]
fn info_says_whether_a_file_carries_checksums() {
    let cwd = data();
    let new = run_in(&cwd, &["info", "example-sparse-2d.parquet"]);
    assert_eq!(new.code, 0, "{}", new.stderr);
    assert!(
        new.stdout.contains(
            "checksums  CRC-32 of 1 blocks of 64.0 KiB and of the footer (format 1.4), checked on every read"
        ),
        "{}",
        new.stdout
    );
    let old = run_in(&cwd, &["info", "format-1.2/example-sparse-2d.parquet"]);
    assert_eq!(old.code, 0, "{}", old.stderr);
    assert!(
        old.stdout
            .contains("checksums  none: written before format 1.3 (format 1.2); its bytes cannot be checked"),
        "{}",
        old.stdout
    );
    let json = run_in(&cwd, &["info", "--json", "example-sparse-2d.parquet"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["format_version"], "1.4");
    assert_eq!(v["checksums"]["algorithm"], "crc32");
    assert_eq!(v["checksums"]["blocks"], 1);
}

#[test]
fn verify_checks_files_stores_and_folders_and_stops_at_the_first_problem() {
    let ok = run_in(&data(), &["verify", ".", "format-1.2"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(
        ok.stdout.contains(
            "./example-sparse-2d.parquet: ok: sparse float64 [64, 64], 1552 bytes: footer and 1 block \
             checksums match; 411 entries, coordinates in range, sorted and unique, values in range in 1 row group"
        ),
        "{}",
        ok.stdout
    );
    assert!(ok.stdout.contains("no checksums (format 1.2)"), "{}", ok.stdout);
    assert!(
        ok.stdout.ends_with("verified 9 files: every check passed\n"),
        "{}",
        ok.stdout
    );

    // A store: every file of its index, and a bad file in it stops the run.
    let tmp = tempfile::tempdir().unwrap();
    let a = DynArray::from(ndarray::Array1::from_shape_fn(20_000, |i| i as f64 * 0.37).into_dyn());
    let b = DynArray::from(ndarray::arr2(&[[0u8, 0, 3], [0, 0, 0]]).into_dyn());
    let store = tmp.path().join("s");
    // Portable: a scale and a transform would store `a` in a few bytes, its footer the most.
    let portable = WriteOptions::default().with_portable(true);
    arrstore::store::write_store(&store, &[("a", &a), ("b", &b)], &portable).unwrap();
    let good = run_in(tmp.path(), &["verify", "s"]);
    assert_eq!(good.code, 0, "{}", good.stderr);
    assert!(
        good.stdout.ends_with("verified 2 files: every check passed\n"),
        "{}",
        good.stdout
    );
    let file = store.join("a.parquet");
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    std::fs::write(&file, bytes).unwrap();
    let bad = run_in(tmp.path(), &["verify", "s"]);
    assert_eq!(bad.code, 1, "{}", bad.stdout);
    assert!(
        bad.stderr
            .starts_with("error: s/a.parquet: checksum mismatch in bytes 0..")
            && bad.stderr.contains("row group 0, column 'value'"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stdout.contains("verified"), "{}", bad.stdout);
}

/// Every bad file of `tests/data/bad` fails `verify`, with the message `read` gives, but for
/// the one whose only fault is being too large to densify (its COO reads, and verifies).
#[test]
fn verify_refuses_every_bad_file() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let verified = ArrayFile::open(&path).and_then(ArrayFile::verify);
        if name == "sparse_too_big_to_densify.parquet" {
            assert_eq!(verified.unwrap().rows, 3);
            continue;
        }
        let e = verified.expect_err(&name);
        assert!(e.to_string().contains(&name), "{e}");
        if name != "foreign_table.parquet" {
            let read = arrstore::read_dyn(&path).expect_err(&name);
            let coo = ArrayFile::open(&path)
                .and_then(ArrayFile::read_dyn_coo)
                .map(|_| ());
            assert!(
                e.to_string() == read.to_string() || coo.is_err_and(|c| c.to_string() == e.to_string()),
                "{name}: verify says {e}, read says {read}"
            );
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// SQL answers over no file that `read` refuses: registration checks the file whole.
#[test]
fn sql_refuses_what_read_refuses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad");
    for name in [
        "sparse_duplicate.parquet",
        "sparse_unsorted.parquet",
        "sparse_coordinate_out_of_range.parquet",
        "runs_length_overruns_row.parquet",
        "runs_length_zero.parquet",
        "runs_cover_too_few_cells.parquet",
        "dense_value_out_of_dtype.parquet",
        "checksum_value_bit_flipped.parquet",
    ] {
        let path = dir.join(name);
        let mut session = arrstore::sql::ArraySession::new();
        let e = session.register_array("t", &path).expect_err(name);
        let verified = ArrayFile::open(&path)
            .and_then(ArrayFile::verify)
            .expect_err(name);
        assert_eq!(e.to_string(), verified.to_string(), "{name}");
        assert!(session.arrays().is_empty(), "{name}");
    }
}

/// A file corrupted after it was registered fails the query that reads the bad bytes: the
/// scans read through the file's checksums.
#[test]
fn sql_scans_check_every_byte_they_read() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("noise.parquet");
    let noise = ndarray::Array1::from_shape_fn(50_000, |i| {
        let k = u32::try_from(i).unwrap().wrapping_mul(2_654_435_761) % 1_000_003;
        f64::from(k) / 7.0
    });
    // Portable: a transform would find the multiplicative pattern and store a few bytes.
    let opts = WriteOptions::default()
        .with_layout(Layout::Dense)
        .with_portable(true);
    arrstore::write_array(&path, &noise, &opts).unwrap();
    let rt = runtime();
    let mut session = arrstore::sql::ArraySession::new();
    session.register_array("t", &path).unwrap();
    let sum = |s: &arrstore::sql::ArraySession| {
        rt.block_on(s.query("SELECT count(*) AS n, sum(value) AS s FROM t"))
    };
    let good = sum(&session).unwrap();
    assert_eq!(good[0].num_rows(), 1);

    let mut bytes = std::fs::read(&path).unwrap();
    bytes[70_000] ^= 0x08;
    std::fs::write(&path, &bytes).unwrap();
    let e = sum(&session).unwrap_err().to_string();
    assert!(
        e.contains("noise.parquet: checksum mismatch in bytes 65536..")
            && e.contains("(row group 0, column 'value'"),
        "{e}"
    );
    // The same file registered afresh is refused.
    let e = arrstore::sql::ArraySession::new()
        .register_array("t", &path)
        .unwrap_err();
    assert!(
        e.to_string().contains("checksum mismatch in bytes 65536.."),
        "{e}"
    );
}

/// Values that decode other than the writer's fail on the content hash, though every checksum
/// matches: every full read path of every layout.
#[test]
fn the_content_hash_catches_what_checksums_cannot() {
    for (name, file) in small_files() {
        let meta = ArrayFile::new(bytes::Bytes::from(file.clone()))
            .unwrap()
            .meta()
            .clone();
        let hash = meta.content_hash.clone().unwrap();
        assert_eq!(
            hash.of,
            if name == "sparse" { "entries" } else { "cells" },
            "{name}"
        );
        let mut other = hash.value.clone().into_bytes();
        other[15] = if other[15] == b'0' { b'1' } else { b'0' };
        let bad = with_footer_text(&file, &hash.value, std::str::from_utf8(&other).unwrap());
        let open = || ArrayFile::new(bytes::Bytes::from(bad.clone())).unwrap();
        let expect = |what: &str, r: arrstore::Result<()>| {
            let e = r.expect_err(what).to_string();
            assert!(e.starts_with("content hash mismatch: the "), "{name} {what}: {e}");
        };
        expect("read_dyn", open().read_dyn().map(drop));
        expect("read_dyn_coo", open().read_dyn_coo().map(drop));
        expect("write_npy_to", open().write_npy_to(std::io::sink()));
        expect("verify", open().verify().map(drop));
        // Through a path: the dense file's .npy export is streamed from the file.
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("bad.parquet");
        std::fs::write(&path, &bad).unwrap();
        let e = ArrayFile::open(&path)
            .unwrap()
            .write_npy(tmp.path().join("out.npy"), false)
            .unwrap_err();
        assert!(e.to_string().contains("content hash mismatch"), "{name}: {e}");
        assert!(!tmp.path().join("out.npy").exists());
        // The narrowed read of cells compares the hash of the values they widen to; a sparse
        // file's narrowed entries are its stored values, which the hash does not cover.
        if name == "sparse" {
            assert!(open().read_narrowed().is_ok(), "{name}");
        } else {
            expect("read_narrowed", open().read_narrowed().map(drop));
        }
    }
}
