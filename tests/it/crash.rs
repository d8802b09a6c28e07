//! `arrstore` killed with SIGKILL part-way through a write: the output is absent or complete
//! (never partial), a replaced output or store is the old one or the new one (never missing),
//! and the next write to the same directory removes the temporaries the killed one left.
//!
//! Each case starts the binary on an input large enough to take a while, waits until its
//! temporary (`.arrstore-<pid>-...`) appears, kills it after one of several delays, and checks
//! the directory. Nothing here asserts on time: a process that finishes before the kill is a
//! complete write, and is checked as one.

#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arrstore::store::Store;
use arrstore::{ArrayFile, DynArray};
use ndarray::{Array1, ArrayD, IxDyn};

use crate::common::listing;

/// How long after the temporary appears each kill comes.
const DELAYS_MS: [u64; 3] = [0, 30, 150];

/// The arrstore temporaries in `dir`.
fn temporaries(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with(".arrstore-"))
        .collect()
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_arrstore"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the arrstore binary starts")
}

/// Runs `arrstore` to completion and asserts it succeeded.
fn run_ok(dir: &Path, args: &[&str]) {
    let r = crate::common::run_in(dir, args);
    assert_eq!(r.code, 0, "{args:?}: {r:?}");
}

/// How a killed run ended.
#[derive(Debug, PartialEq)]
enum End {
    /// Killed while its temporary was there: the temporaries it left.
    Killed(Vec<String>),
    /// It finished before the kill.
    Finished,
}

/// Starts `arrstore args` in `dir`, waits for its temporary to appear in `dir`, kills it with
/// SIGKILL `delay_ms` later, and reaps it.
fn kill_mid_write(dir: &Path, args: &[&str], delay_ms: u64) -> End {
    let mut child = spawn(dir, args);
    let mine = format!(".arrstore-{}-", child.id());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{args:?} failed on its own: {status}");
            return End::Finished;
        }
        if temporaries(dir).iter().any(|n| n.starts_with(&mine)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(delay_ms));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    if status.signal() != Some(9) {
        assert!(status.success(), "{args:?} failed on its own: {status}");
        return End::Finished;
    }
    let left = temporaries(dir);
    for t in &left {
        assert!(
            t.starts_with(&mine),
            "a temporary not named with the writer's pid: {t}"
        );
    }
    End::Killed(left)
}

/// A C-order float64 `.npy` of `n` varied values (no narrowing, little compression: the write
/// takes a while).
fn big_npy(path: &Path, n: usize) -> DynArray {
    let a = Array1::from_shape_fn(n, |i| (i as f64).sqrt() * 1.000_001 + (i % 7) as f64).into_dyn();
    let a = DynArray::from(a);
    arrstore::npy::write_npy(path, &a, false).unwrap();
    a
}

fn small() -> DynArray {
    DynArray::from(ndarray::arr2(&[[1i32, -2, 3], [4, 5, -6]]).into_dyn())
}

/// Checks that the arrstore file `out` holds one of `expected` (by shape, and in full for the
/// small ones).
fn assert_holds_one_of(out: &Path, expected: &[&DynArray]) {
    let f = ArrayFile::open(out).unwrap_or_else(|e| panic!("{} is not a complete file: {e}", out.display()));
    let shape: Vec<usize> = f
        .meta()
        .shape
        .iter()
        .map(|&d| usize::try_from(d).unwrap())
        .collect();
    let a = expected
        .iter()
        .find(|a| a.shape() == shape.as_slice())
        .unwrap_or_else(|| panic!("{}: unexpected shape {shape:?}", out.display()));
    if a.len() < 1000 {
        assert!(f.read_dyn().unwrap().bit_eq(a));
    }
}

#[test]
fn a_killed_write_leaves_no_output_and_the_next_write_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let big = big_npy(&input.join("big.npy"), 4 << 20);
    arrstore::npy::write_npy(input.join("small.npy"), &small(), false).unwrap();
    let big_path = input.join("big.npy");
    let big_in = big_path.to_str().unwrap();
    let out = d.join("out.parquet");
    for delay in DELAYS_MS {
        match kill_mid_write(d, &["write", big_in, "out.parquet"], delay) {
            End::Killed(left) => {
                // Killed before the rename: no output, the temporary left.
                if !out.exists() {
                    assert_eq!(left.len(), 1, "{left:?}");
                } else {
                    assert_holds_one_of(&out, &[&big]);
                    std::fs::remove_file(&out).unwrap();
                }
            }
            End::Finished => {
                assert_holds_one_of(&out, &[&big]);
                std::fs::remove_file(&out).unwrap();
            }
        }
        // The next write to the directory removes what the killed one left.
        let small_in = input.join("small.npy");
        run_ok(d, &["write", small_in.to_str().unwrap(), "out.parquet"]);
        assert_eq!(listing(d), ["in", "out.parquet"]);
        assert_holds_one_of(&out, &[&small()]);
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn a_killed_forced_write_leaves_the_old_output_intact() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let big = big_npy(&input.join("big.npy"), 4 << 20);
    let small_in: PathBuf = input.join("small.npy");
    arrstore::npy::write_npy(&small_in, &small(), false).unwrap();
    let big_path = input.join("big.npy");
    let out = d.join("out.parquet");
    for delay in DELAYS_MS {
        run_ok(
            d,
            &["write", small_in.to_str().unwrap(), "out.parquet", "--force"],
        );
        kill_mid_write(
            d,
            &["write", big_path.to_str().unwrap(), "out.parquet", "--force"],
            delay,
        );
        // Never missing, never partial: the old array, or the new one when the kill came late.
        assert_holds_one_of(&out, &[&small(), &big]);
        run_ok(
            d,
            &["write", small_in.to_str().unwrap(), "out.parquet", "--force"],
        );
        assert_eq!(listing(d), ["in", "out.parquet"]);
        assert_holds_one_of(&out, &[&small()]);
    }
}

/// The names and arrays of a store, read whole.
fn store_contents(dir: &Path) -> Vec<(String, DynArray)> {
    let s = Store::open(dir).unwrap_or_else(|e| panic!("{} is not a complete store: {e}", dir.display()));
    s.names()
        .into_iter()
        .map(|n| (n.to_string(), s.read_dyn(n).unwrap()))
        .collect()
}

#[test]
fn a_killed_store_replace_leaves_the_old_or_the_new_store_never_none() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // The new store: several arrays, so that building it takes a while.
    let arrays: Vec<(String, DynArray)> = (0..6)
        .map(|k| {
            let a = ArrayD::from_shape_fn(IxDyn(&[256, 1024]), |i| {
                ((i[0] * 1024 + i[1] + k) as f64).sqrt() * 0.999_999
            });
            (format!("a{k}"), DynArray::from(a))
        })
        .collect();
    let refs: Vec<(&str, &DynArray)> = arrays.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let big_npz = input.join("big.npz");
    arrstore::npz::write_npz(&big_npz, &refs, false, false).unwrap();
    let old: Vec<(String, DynArray)> = vec![("x".into(), small()), ("y".into(), small())];
    let old_refs: Vec<(&str, &DynArray)> = old.iter().map(|(n, a)| (n.as_str(), a)).collect();
    let old_npz = input.join("old.npz");
    arrstore::npz::write_npz(&old_npz, &old_refs, false, false).unwrap();
    let store = d.join("store");
    for delay in DELAYS_MS.iter().copied().chain([400, 800]) {
        run_ok(d, &["write", old_npz.to_str().unwrap(), "store", "--force"]);
        kill_mid_write(
            d,
            &["write", big_npz.to_str().unwrap(), "store", "--force"],
            delay,
        );
        let got = store_contents(&store);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        if names == ["x", "y"] {
            assert!(got.iter().zip(&old).all(|((_, a), (_, b))| a.bit_eq(b)));
        } else {
            assert_eq!(names, ["a0", "a1", "a2", "a3", "a4", "a5"]);
            assert!(got.iter().zip(&arrays).all(|((_, a), (_, b))| a.bit_eq(b)));
        }
        run_ok(d, &["write", old_npz.to_str().unwrap(), "store", "--force"]);
        assert_eq!(listing(d), ["in", "store"]);
        let got = store_contents(&store);
        assert_eq!(got.len(), 2);
        assert!(got.iter().zip(&old).all(|((n, a), (m, b))| n == m && a.bit_eq(b)));
    }
}

#[test]
fn a_killed_read_leaves_no_output_and_the_next_read_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let input = tmp.path().join("in");
    std::fs::create_dir(&input).unwrap();
    // Whole numbers below 1000: a small file that reads back into 64 MiB of float64.
    let a = Array1::from_shape_fn(8 << 20, |i| ((i * 7) % 1000) as f64).into_dyn();
    let file = input.join("a.parquet");
    arrstore::write_dyn(&file, &DynArray::from(a), &arrstore::WriteOptions::default()).unwrap();
    let small_file = input.join("small.parquet");
    arrstore::write_dyn(&small_file, &small(), &arrstore::WriteOptions::default()).unwrap();
    for delay in DELAYS_MS {
        let end = kill_mid_write(d, &["read", file.to_str().unwrap(), "-o", "out.npy"], delay);
        if let (End::Killed(left), false) = (&end, d.join("out.npy").exists()) {
            assert_eq!(left.len(), 1, "{left:?}");
        } else {
            let back = arrstore::npy::read_npy(d.join("out.npy")).unwrap();
            assert_eq!(back.shape(), &[8 << 20]);
            std::fs::remove_file(d.join("out.npy")).unwrap();
        }
        run_ok(d, &["read", small_file.to_str().unwrap(), "-o", "out.npy"]);
        assert_eq!(listing(d), ["in", "out.npy"]);
        assert!(arrstore::npy::read_npy(d.join("out.npy"))
            .unwrap()
            .bit_eq(&small()));
        std::fs::remove_file(d.join("out.npy")).unwrap();
    }
}

/// A killed append leaves the dataset as it was or with the part appended, never broken; the
/// next append works and the dataset reads whole.
#[test]
fn a_killed_append_leaves_the_dataset_as_it_was_or_appended() {
    for delay in DELAYS_MS {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let first = DynArray::from(Array1::from_shape_fn(10, |i| i as f64 / 4.0).into_dyn());
        arrstore::npy::write_npy(d.join("first.npy"), &first, false).unwrap();
        let big = big_npy(&d.join("big.npy"), 3_000_000);
        run_ok(d, &["append", "--quiet", "grown", "first.npy"]);
        let grown = d.join("grown");
        let big_path = d.join("big.npy");
        let args = [
            "append",
            "--quiet",
            grown.to_str().unwrap(),
            big_path.to_str().unwrap(),
        ];
        let end = kill_mid_write(&grown, &args, delay);
        let ds = arrstore::dataset::Dataset::open(&grown).unwrap();
        match end {
            End::Killed(_) if ds.shape() == vec![10] => {
                assert!(ds.read_dyn().unwrap().bit_eq(&first), "delay {delay}");
            }
            _ => assert_eq!(ds.shape(), vec![3_000_010], "delay {delay}"),
        }
        run_ok(d, &["append", "--quiet", "grown", "first.npy"]);
        let ds = arrstore::dataset::Dataset::open(&grown).unwrap();
        let rows = ds.shape()[0];
        assert!(rows == 20 || rows == 3_000_020, "delay {delay}: {rows}");
        assert_eq!(ds.read_dyn().unwrap().len(), usize::try_from(rows).unwrap());
        drop(big);
    }
}
