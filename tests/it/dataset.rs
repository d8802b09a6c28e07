//! Datasets (dataset format 1.0): arrays grown along axis 0 in parts, each narrowed on its own
//! data; whole reads and random slices equal the concatenation; mismatched appends and
//! appends to a single file are refused; a part whose append was killed before the index was
//! replaced is not part of the array; the CLI's `append`, `read` and `info`.

use arrstore::dataset::{ArrayWriter, Dataset};
use arrstore::slice::Selection;
use arrstore::{DType, DynArray, WriteOptions};
use ndarray::{concatenate, s, Array3, ArrayD, Axis, IxDyn, SliceInfo, SliceInfoElem};

use crate::common::{run_in, Rng};

/// Three parts of different ranges (stored as uint8, uint16 and int64 less an offset).
fn parts() -> Vec<Array3<i64>> {
    let mut rng = Rng(41);
    vec![
        Array3::from_shape_fn((5, 4, 3), |(i, j, k)| (i * 12 + j * 3 + k) as i64),
        Array3::from_shape_fn((7, 4, 3), |_| (rng.next() % 60_000) as i64),
        Array3::from_shape_fn((4, 4, 3), |(i, _, _)| (1i64 << 40) + i as i64),
    ]
}

#[test]
fn appended_parts_read_back_as_one_array_and_slice_alike() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grown");
    let mut w = ArrayWriter::new(&path, DType::I64, &[4, 3], WriteOptions::default()).unwrap();
    for p in parts() {
        w.write_chunk(&p).unwrap();
    }
    let d = w.finish().unwrap();
    assert_eq!(d.shape(), vec![16, 4, 3]);
    let views: Vec<_> = parts().into_iter().collect();
    let whole = concatenate(Axis(0), &views.iter().map(|a| a.view()).collect::<Vec<_>>())
        .unwrap()
        .into_dyn();
    let d = Dataset::open(&path).unwrap();
    assert_eq!(d.read_dyn().unwrap(), DynArray::from(whole.clone()));
    // Each part is narrowed on its own.
    let stored: Vec<DType> = (0..3)
        .map(|i| d.part(i).unwrap().meta().value_column().stored_type)
        .collect();
    assert_eq!(stored[0], DType::U8);
    assert_eq!(stored[1], DType::U16);
    // Random slices, NumPy's syntax and ndarray's, across the parts' boundaries.
    let mut rng = Rng(7);
    for _ in 0..200 {
        let a = rng.below(17) as isize;
        let b = rng.below(17) as isize;
        let step = (rng.below(3) as isize + 1) * if rng.below(2) == 0 { -1 } else { 1 };
        let first = if rng.below(5) == 0 {
            SliceInfoElem::Index(rng.below(16) as isize)
        } else {
            SliceInfoElem::Slice {
                start: a.min(b),
                end: Some(a.max(b)),
                step,
            }
        };
        let elems = vec![
            first,
            SliceInfoElem::Slice {
                start: 1,
                end: None,
                step: 2,
            },
            SliceInfoElem::Index(-1),
        ];
        let info = SliceInfo::<Vec<SliceInfoElem>, IxDyn, IxDyn>::try_from(elems.clone()).unwrap();
        let want: ArrayD<i64> = whole.slice(&info).to_owned();
        let sel = Selection::from_ndarray(&elems, &d.shape()).unwrap();
        assert_eq!(d.read_selection(&sel).unwrap(), DynArray::from(want), "{elems:?}");
    }
    let sel = d.selection("-3:2:-4, None, ..., 0").unwrap();
    let got = d.read_selection(&sel).unwrap();
    let want = whole
        .slice(s![5..14;4, .., 0])
        .slice(s![..;-1, ..])
        .to_owned()
        .insert_axis(Axis(1));
    assert_eq!(got, DynArray::from(want.into_dyn()));
}

#[test]
fn mismatched_appends_and_single_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d");
    let mut d = Dataset::create(&path, DType::F32, &[3]).unwrap();
    let ok = DynArray::from(ndarray::Array2::<f32>::zeros((2, 3)).into_dyn());
    d.append(&ok, &WriteOptions::default()).unwrap();
    for (bad, what) in [
        (
            DynArray::from(ndarray::Array2::<f64>::zeros((2, 3)).into_dyn()),
            "float64",
        ),
        (
            DynArray::from(ndarray::Array2::<f32>::zeros((2, 4)).into_dyn()),
            "[2, 4]",
        ),
        (DynArray::from(ndarray::Array1::<f32>::zeros(3).into_dyn()), "[3]"),
    ] {
        let e = d.append(&bad, &WriteOptions::default()).unwrap_err().to_string();
        assert!(
            e.starts_with(&path.display().to_string())
                && e.contains(what)
                && e.contains("cannot be appended"),
            "{e}"
        );
    }
    assert_eq!(Dataset::open(&path).unwrap().shape(), vec![2, 3]);
    assert!(
        Dataset::create(&path, DType::F32, &[3]).is_err(),
        "an existing dataset is not replaced"
    );

    // The CLI: a single-file array is refused, a dataset grows, read and info see it whole.
    arrstore::npy::write_npy(dir.path().join("p.npy"), &ok, false).unwrap();
    arrstore::write_dyn(dir.path().join("one.parquet"), &ok, &WriteOptions::default()).unwrap();
    let r = run_in(dir.path(), &["append", "one.parquet", "p.npy"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("one.parquet: a single-file array"),
        "{}",
        r.stderr
    );
    let r = run_in(dir.path(), &["append", "--effort", "fast", "d", "p.npy"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("float32 4x3 in 2 parts"), "{}", r.stdout);
    let r = run_in(dir.path(), &["read", "d", "-o", "back.npy", "--slice", "1:3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        arrstore::npy::read_npy(dir.path().join("back.npy"))
            .unwrap()
            .shape(),
        &[2, 3]
    );
    let info = run_in(dir.path(), &["info", "d"]);
    assert!(
        info.stdout.contains("float32 4x3 in 2 parts along axis 0"),
        "{}",
        info.stdout
    );
    let v = run_in(dir.path(), &["verify", "d"]);
    assert!(v.code == 0 && v.stdout.contains("verified 2 files"), "{v:?}");
    let bad = DynArray::from(ndarray::Array2::<i32>::zeros((2, 3)).into_dyn());
    arrstore::npy::write_npy(dir.path().join("bad.npy"), &bad, false).unwrap();
    let r = run_in(dir.path(), &["append", "d", "bad.npy"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("int32") && r.stderr.contains("cannot be appended"),
        "{}",
        r.stderr
    );
}

/// A part written but not listed (its append killed before the index was replaced) is not
/// part of the array, and the next append takes another name.
#[test]
fn an_unlisted_part_is_not_part_of_the_array() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d");
    let mut d = Dataset::create(&path, DType::U16, &[2]).unwrap();
    let a = DynArray::from(ndarray::arr2(&[[1u16, 2], [3, 4]]).into_dyn());
    d.append(&a, &WriteOptions::default()).unwrap();
    // What a killed append leaves: its part, complete, and the index as it was.
    std::fs::copy(path.join("part-000000.parquet"), path.join("part-000001.parquet")).unwrap();
    let mut d = Dataset::open(&path).unwrap();
    assert_eq!(d.shape(), vec![2, 2]);
    d.append(&a, &WriteOptions::default()).unwrap();
    assert_eq!(d.parts()[1].file, "part-000002.parquet");
    assert_eq!(Dataset::open(&path).unwrap().read_dyn().unwrap().shape(), &[4, 2]);
}

/// A part that is not what the index says (another dtype, rows or trailing shape) is an
/// error naming it, not a wrong array.
#[test]
fn a_part_unlike_the_index_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d");
    let mut d = Dataset::create(&path, DType::U16, &[2]).unwrap();
    let a = DynArray::from(ndarray::arr2(&[[1u16, 2], [3, 4]]).into_dyn());
    d.append(&a, &WriteOptions::default()).unwrap();
    let other = DynArray::from(ndarray::arr2(&[[1u16, 2, 3]]).into_dyn());
    arrstore::write_dyn(
        path.join("part-000000.parquet"),
        &other,
        &WriteOptions::default().with_overwrite(true),
    )
    .unwrap();
    let e = Dataset::open(&path).unwrap().read_dyn().unwrap_err().to_string();
    assert!(
        e.contains("part-000000.parquet") && e.contains("[1, 3]") && e.contains("[2, 2]"),
        "{e}"
    );
    let r = run_in(dir.path(), &["verify", "d"]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains("part-000000.parquet") && r.stderr.contains("[1, 3]"),
        "{}",
        r.stderr
    );
    std::fs::write(path.join("dataset.json"), "{\"format_version\": \"1.0\", \"dtype\": \"uint16\", \"trailing_shape\": [2], \"parts\": [{\"file\": \"../x\", \"rows\": 1}]}").unwrap();
    let e = Dataset::open(&path).unwrap_err().to_string();
    assert!(e.contains("not a file name in the dataset"), "{e}");
}

/// The example dataset of FORMAT.md in `data/` reads to the array its recipe makes, each part
/// narrowed on its own.
#[test]
fn the_example_dataset_reads_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example-dataset");
    let d = Dataset::open(&path).unwrap();
    assert_eq!((d.dtype(), d.shape()), (DType::I64, vec![6, 3]));
    let first = d.part(0).unwrap().meta().value_column().clone();
    let second = d.part(1).unwrap().meta().value_column().clone();
    assert_eq!((first.stored_type, first.offset), (DType::U8, 0));
    assert_eq!((second.stored_type, second.offset), (DType::U8, 1i128 << 40));
    let want = ndarray::Array2::<i64>::from_shape_fn((6, 3), |(i, j)| {
        if i < 4 {
            (i * 3 + j) as i64
        } else {
            (1i64 << 40) + ((i - 4) * 3 + j) as i64
        }
    });
    assert_eq!(d.read_dyn().unwrap(), DynArray::from(want.into_dyn()));
}
