//! Slice reads: random slices (steps, negatives, dropped axes, new axes, empty results) of random
//! arrays of every layout, several dtypes, both memory orders, with and without a predictive
//! transform, in row groups that cut the array's rows, equal ndarray's slicing of the whole
//! array; a dense slice reads only the row groups and pages it needs; bad slices are errors that
//! name the file and the problem; the CLI's `--slice`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arrstore::predict::{Prediction, Predictor};
use arrstore::slice::Selection;
use arrstore::{ArrayFile, DynArray, Element, Layout, WriteOptions};
use bytes::Bytes;
use ndarray::{s, ArrayD, IxDyn, ShapeBuilder, SliceInfo, SliceInfoElem};
use parquet::file::reader::{ChunkReader, Length};
use proptest::prelude::*;

use crate::common::{run_in, Rng};

/// An array of `shape` in `order` (C, or Fortran with `fortran`): smooth (so transforms pay),
/// with about `zeros` in 8 cells 0 (so a sparse layout is plausible), made by `cell`.
fn array<T: Element>(
    shape: &[usize],
    fortran: bool,
    rng: &mut Rng,
    zeros: u64,
    cell: impl Fn(u64) -> T,
) -> ArrayD<T> {
    let cells: usize = shape.iter().product();
    let data: Vec<T> = (0..cells as u64)
        .map(|i| {
            if rng.below(8) < zeros {
                cell(0)
            } else {
                cell(i / 3 + rng.below(4) + 1)
            }
        })
        .collect();
    let dim = IxDyn(shape);
    if fortran {
        ArrayD::from_shape_vec(dim.f(), data).unwrap()
    } else {
        ArrayD::from_shape_vec(dim, data).unwrap()
    }
}

/// A random slice of `shape` that ndarray accepts: per axis a range with a step (negative at
/// times), an index, and now and then a new axis.
fn random_slice(shape: &[usize], rng: &mut Rng) -> Vec<SliceInfoElem> {
    let mut out = Vec::new();
    for &len in shape {
        if rng.below(6) == 0 {
            out.push(SliceInfoElem::NewAxis);
        }
        let len = len as isize;
        match rng.below(4) {
            0 if len > 0 => {
                let i = rng.below(len as u64) as isize;
                out.push(SliceInfoElem::Index(if rng.below(2) == 0 { i } else { i - len }));
            }
            _ => {
                let a = rng.below(len as u64 + 1) as isize;
                let b = rng.below(len as u64 + 1) as isize;
                let (start, end) = (a.min(b), a.max(b));
                let step = (rng.below(3) as isize + 1) * if rng.below(3) == 0 { -1 } else { 1 };
                let start = if rng.below(3) == 0 && len > 0 {
                    start - len
                } else {
                    start
                };
                let end = match rng.below(3) {
                    0 => None,
                    _ => Some(end),
                };
                out.push(SliceInfoElem::Slice { start, end, step });
            }
        }
    }
    out
}

/// The bits of every cell of `a` in logical C order.
fn bits<T: Element>(a: &ArrayD<T>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Writes `a` with `opts` and reads `slices` of it three ways (typed, dynamic, narrowed and
/// widened), each against ndarray's slicing of `a`.
fn check_slices<T: Element>(a: &ArrayD<T>, opts: &WriteOptions, slices: &[Vec<SliceInfoElem>], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    arrstore::write_array(&path, a, opts).unwrap();
    let shape: Vec<u64> = a.shape().iter().map(|&l| l as u64).collect();
    for elems in slices {
        let info = SliceInfo::<Vec<SliceInfoElem>, IxDyn, IxDyn>::try_from(elems.clone()).unwrap();
        let want = a.slice(&info).to_owned();
        let got: ArrayD<T> = ArrayFile::open(&path).unwrap().read_slice(info).unwrap();
        assert_eq!(got.shape(), want.shape(), "{what} {elems:?}");
        assert_eq!(bits(&got), bits(&want), "{what} {elems:?}");
        let sel = Selection::from_ndarray(elems, &shape).unwrap();
        let dynamic = ArrayFile::open(&path).unwrap().read_selection(&sel).unwrap();
        assert_eq!(dynamic, DynArray::from(want.clone()), "{what} {elems:?}");
        let narrowed = ArrayFile::open(&path)
            .unwrap()
            .read_selection_narrowed(&sel)
            .unwrap();
        let widened = T::from_dyn_array(narrowed.widen().unwrap()).unwrap();
        assert_eq!(bits(&widened), bits(&want), "narrowed {what} {elems:?}");
        let info = SliceInfo::<Vec<SliceInfoElem>, IxDyn, IxDyn>::try_from(elems.clone()).unwrap();
        let typed = ArrayFile::open(&path).unwrap().read_slice_narrowed(info).unwrap();
        assert_eq!(typed, narrowed, "{what} {elems:?}");
    }
}

fn random_case(seed: u64) {
    let mut rng = Rng(seed | 1);
    let ndim = 1 + rng.below(4) as usize;
    let shape: Vec<usize> = (0..ndim)
        .map(|_| rng.below(if ndim > 2 { 7 } else { 40 }) as usize + usize::from(rng.below(9) != 0))
        .collect();
    let fortran = rng.below(3) == 0;
    let layout = [Layout::Dense, Layout::Dense, Layout::Sparse, Layout::Runs][rng.below(4) as usize];
    let rg = [5usize, 13, 64, 1 << 20][rng.below(4) as usize];
    let mut opts = WriteOptions::default()
        .with_layout(layout)
        .with_row_group_size(rg);
    let cells: usize = shape.iter().product();
    if layout == Layout::Dense && rng.below(2) == 0 && cells >= 2 {
        let contexts = (rng.below(2) == 0).then_some([1, 2, 3, 5, 8, 13, 21]);
        opts = opts.with_transform(Prediction {
            predictor: Predictor::Left,
            left: 1,
            up: None,
            colour: None,
            contexts,
        });
    }
    let slices: Vec<Vec<SliceInfoElem>> = (0..6).map(|_| random_slice(&shape, &mut rng)).collect();
    let zeros = if layout == Layout::Sparse { 6 } else { rng.below(3) };
    let what = format!("seed {seed}: shape {shape:?}, fortran {fortran}, {layout:?}, row groups of {rg}");
    match rng.below(5) {
        0 => check_slices(
            &array(&shape, fortran, &mut rng, zeros, |v| (v % 250) as u8),
            &opts,
            &slices,
            &what,
        ),
        1 => check_slices(
            &array(&shape, fortran, &mut rng, zeros, |v| {
                v as i64 * 1_000_003 - 5_000_000
            }),
            &opts,
            &slices,
            &what,
        ),
        2 => check_slices(
            &array(&shape, fortran, &mut rng, zeros, |v| v as f64 / 8.0 - 3.0),
            &opts,
            &slices,
            &what,
        ),
        3 => check_slices(
            &array(&shape, fortran, &mut rng, zeros, |v| (v as f32).sqrt()),
            &opts,
            &slices,
            &what,
        ),
        _ => check_slices(
            &array(&shape, fortran, &mut rng, zeros, |v| v % 3 == 1),
            &opts,
            &slices,
            &what,
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn random_slices_equal_slicing_the_whole_array(seed in any::<u64>()) {
        random_case(seed);
    }
}

/// Every byte the reader asks for, counted.
#[derive(Clone)]
struct Counting {
    bytes: Bytes,
    read: Arc<AtomicU64>,
}

impl Length for Counting {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }
}

impl ChunkReader for Counting {
    type T = <Bytes as ChunkReader>::T;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let r = self.bytes.get_read(start)?;
        self.read
            .fetch_add(self.bytes.len() as u64 - start, Ordering::Relaxed);
        Ok(r)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        self.read.fetch_add(length as u64, Ordering::Relaxed);
        self.bytes.get_bytes(start, length)
    }
}

/// The file `bytes` opened through a reader that counts what it reads, and the count (the
/// bytes of opening it included: callers take differences).
fn counted(bytes: &[u8]) -> (ArrayFile<Counting>, Arc<AtomicU64>) {
    let read = Arc::new(AtomicU64::new(0));
    let reader = Counting {
        bytes: Bytes::copy_from_slice(bytes),
        read: read.clone(),
    };
    (ArrayFile::new(reader).unwrap(), read)
}

/// A few rows of a dense array of 128 row groups read a few of them, not the file; with a
/// transform, whole row groups, still a few.
#[test]
fn a_dense_slice_reads_only_the_row_groups_it_needs() {
    for transform in [false, true] {
        // Values that do not compress, so that the file (2 MiB) is many checksum blocks of
        // 64 KiB: reads are checked, and so made, a block at a time.
        let mut rng = Rng(17);
        let a = ndarray::Array2::<u32>::from_shape_fn((8192, 64), |_| rng.next() as u32);
        let mut opts = WriteOptions::default()
            .with_layout(Layout::Dense)
            .with_row_group_size(4096)
            .with_portable(true);
        if transform {
            opts = opts.with_transform(Prediction {
                predictor: Predictor::Up,
                left: 1,
                up: Some(64),
                colour: None,
                contexts: None,
            });
        }
        let mut file = Vec::new();
        arrstore::write_array_to(&mut file, &a, &opts).unwrap();
        let (f, read) = counted(&file);
        assert_eq!(f.parquet_metadata().num_row_groups(), 128);
        assert_eq!(f.meta().value_column().transform.is_some(), transform);
        let opened = read.load(Ordering::Relaxed);
        let part: ndarray::Array2<u32> = f.read_slice(s![1000..1010, 5..60;3]).unwrap();
        assert_eq!(part, a.slice(s![1000..1010, 5..60;3]));
        let data = read.load(Ordering::Relaxed) - opened;
        assert!(
            data * 10 < file.len() as u64,
            "transform {transform}: read {data} bytes of a {} byte file for 10 of 8192 rows",
            file.len()
        );
    }
}

/// A window of a sparse array reads the row groups, and in them the pages, whose coordinates
/// meet it, not the file.
#[test]
fn a_sparse_slice_reads_only_the_row_groups_it_needs() {
    let mut rng = Rng(23);
    let a = ndarray::Array2::<f64>::from_shape_fn((8000, 3000), |_| {
        if rng.below(25) == 0 {
            (rng.next() >> 11) as f64
        } else {
            0.0
        }
    });
    // Many row groups of one page each, then one row group of several pages.
    for (rg, fraction) in [(8192, 10), (1 << 20, 4)] {
        let opts = WriteOptions::default()
            .with_layout(Layout::Sparse)
            .with_row_group_size(rg);
        let mut file = Vec::new();
        arrstore::write_array_to(&mut file, &a, &opts).unwrap();
        let (f, read) = counted(&file);
        let groups = f.parquet_metadata().num_row_groups();
        assert!(
            if rg == 8192 { groups > 50 } else { groups == 1 },
            "{groups} row groups"
        );
        let opened = read.load(Ordering::Relaxed);
        let part: ndarray::Array2<f64> = f.read_slice(s![4000..4100, 1000..1100]).unwrap();
        assert_eq!(part, a.slice(s![4000..4100, 1000..1100]));
        assert!(part.iter().any(|&v| v != 0.0));
        let data = read.load(Ordering::Relaxed) - opened;
        assert!(
            data * fraction < file.len() as u64,
            "row groups of {rg}: read {data} bytes of a {} byte file for 100 of 8000 rows",
            file.len()
        );
    }
}

/// A few rows of a runs array of many row groups read the row groups that hold their runs.
#[test]
fn a_runs_slice_reads_only_the_row_groups_it_needs() {
    let mut rng = Rng(29);
    let a = ndarray::Array2::<u16>::from_shape_fn((20_000, 600), |(i, j)| {
        ((i / 3) as u16).wrapping_mul(7) ^ ((j / 40) as u16) ^ if rng.below(50) == 0 { 1 } else { 0 }
    });
    let opts = WriteOptions::default()
        .with_layout(Layout::Runs)
        .with_row_group_size(4096);
    let mut file = Vec::new();
    arrstore::write_array_to(&mut file, &a, &opts).unwrap();
    let (f, read) = counted(&file);
    assert_eq!(f.meta().layout, arrstore::StoredLayout::Runs);
    assert!(f.parquet_metadata().num_row_groups() > 50);
    let opened = read.load(Ordering::Relaxed);
    let part: ndarray::Array2<u16> = f.read_slice(s![10_000..10_050;-1, 100..500;7]).unwrap();
    assert_eq!(part, a.slice(s![10_000..10_050;-1, 100..500;7]));
    let data = read.load(Ordering::Relaxed) - opened;
    assert!(
        data * 10 < file.len() as u64,
        "read {data} bytes of a {} byte file for 50 of 20,000 rows",
        file.len()
    );
}

#[test]
fn bad_slices_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.parquet");
    let a = ndarray::Array2::<i16>::from_shape_fn((6, 5), |(i, j)| (i * 5 + j) as i16);
    arrstore::write_array(&path, &a, &WriteOptions::default()).unwrap();
    let f = || ArrayFile::open(&path).unwrap();
    let name = path.display().to_string();
    for (text, problem) in [
        ("6", "index 6 is out of bounds for axis 0 with size 6"),
        ("0, -6", "index -6 is out of bounds for axis 1 with size 5"),
        ("::0", "slice step cannot be zero"),
        (
            "1, 2, 3",
            "too many indices for array: array is 2-dimensional, but 3 were indexed",
        ),
        ("1:2:3:4", "is not an index or a slice"),
        ("x", "'x', which is not an integer"),
        ("..., ...", "single ellipsis"),
    ] {
        let e = f().selection(text).unwrap_err().to_string();
        assert!(e.starts_with(&name) && e.contains(problem), "{text}: {e}");
    }
    let e = f()
        .read_slice::<i16, _, _, _>(s![7.., ..])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(&name) && e.contains("out of bounds"), "{e}");
    let e = f().read_slice::<i32, _, _, _>(s![.., 1]).unwrap_err().to_string();
    assert!(e.contains("int16"), "{e}");
    let e = f()
        .read_slice::<i16, _, _, _>(s![.., .., 1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("3") && e.contains("2"), "{e}");
    // A selection resolved for another shape is refused, not read out of bounds.
    let other = Selection::parse("9", &[10, 5]).unwrap();
    assert!(f().read_selection(&other).is_err());
}

#[test]
fn the_cli_reads_a_slice() {
    let dir = tempfile::tempdir().unwrap();
    let a = ndarray::Array3::<f32>::from_shape_fn((20, 6, 4), |(i, j, k)| (i * 24 + j * 4 + k) as f32 / 4.0);
    arrstore::npy::write_npy(
        dir.path().join("a.npy"),
        &DynArray::from(a.clone().into_dyn()),
        false,
    )
    .unwrap();
    let w = run_in(dir.path(), &["write", "--quiet", "a.npy", "a.parquet"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let r = run_in(
        dir.path(),
        &[
            "read",
            "--quiet",
            "a.parquet",
            "-o",
            "s.npy",
            "--slice",
            "-5:1:-2, ..., 3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = arrstore::npy::read_npy(dir.path().join("s.npy")).unwrap();
    // NumPy's a[-5:1:-2, ..., 3]: rows 15, 13, ..., 3.
    let want = a
        .slice(s![3..16;2, .., 3])
        .slice(s![..;-1, ..])
        .to_owned()
        .into_dyn();
    assert_eq!(got, DynArray::from(want));
    let info = run_in(dir.path(), &["info", "a.parquet"]);
    assert!(
        info.stdout
            .contains("cut into   1 row groups of 480 to 480 rows; value 1 pages of at most 480 rows"),
        "{}",
        info.stdout
    );
    let json = run_in(dir.path(), &["info", "--json", "a.parquet"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["row_groups"]["count"], 1, "{v}");
    assert_eq!(v["columns"][0]["pages"], 1, "{v}");
    for (slice, problem) in [
        ("20", "index 20 is out of bounds for axis 0 with size 20"),
        ("::0", "slice step cannot be zero"),
        ("1,2,3,4", "too many indices"),
        ("1:2:3:4", "is not an index or a slice"),
    ] {
        let r = run_in(
            dir.path(),
            &["read", "--quiet", "a.parquet", "-o", "bad.npy", "--slice", slice],
        );
        assert_ne!(r.code, 0, "{slice}");
        assert!(
            r.stderr.contains("a.parquet") && r.stderr.contains(problem),
            "{slice}: {}",
            r.stderr
        );
        assert!(!dir.path().join("bad.npy").exists());
    }
}
