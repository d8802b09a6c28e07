//! `.npz` archives and stores through the library and the binary: NumPy archives of every dtype
//! (stored and deflated), SciPy sparse archives (COO written by arrstore, CSR/CSC built by hand,
//! duplicates summed as SciPy sums them), bad archives as clear errors, stores (create, open,
//! add, names, sizes, read, atomic replacement, an index that points outside), and the CLI.

use std::io::{Cursor, Write as _};
use std::path::{Path, PathBuf};

use arrstore::npy::{read_npy_from, write_npy_to};
use arrstore::npz::{
    read_npz, read_npz_from, write_npz, write_npz_to, write_sparse_npz, write_sparse_npz_to, Npz,
};
use arrstore::store::{write_store, Store, STORE_INDEX};
use arrstore::{
    ArrayFile, Coo, DType, DynArray, DynCoo, Element, Error, Order, Scalar, StoredLayout, WriteOptions,
};
use ndarray::{ArrayD, IxDyn, ShapeBuilder};
use serde_json::Value;

use crate::common::{run_in, Run};

// ---------------------------------------------------------------------------------------------
// Sample data

/// A deterministic stream of 64-bit patterns.
fn bits_stream(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// Any bits of `T`; floats start with -0.0, a NaN with a payload, and infinity.
fn sample<T: Element>(shape: &[usize], seed: u64) -> ArrayD<T> {
    let mut next = bits_stream(seed);
    let mut a = ArrayD::from_shape_simple_fn(IxDyn(shape), || T::from_bits(next()));
    let special: &[u64] = match T::DTYPE {
        DType::F64 => &[
            0x8000_0000_0000_0000,
            0x7FF4_0000_0000_0001,
            0x7FF0_0000_0000_0000,
        ],
        DType::F32 => &[0x8000_0000, 0x7FA0_0001, 0x7F80_0000],
        _ => &[],
    };
    for (v, &b) in a.iter_mut().zip(special) {
        *v = T::from_bits(b);
    }
    a
}

/// One array of every dtype with this shape, Fortran-ordered when `fortran`.
fn every_dtype(shape: &[usize], seed: u64, fortran: bool) -> Vec<DynArray> {
    fn one<T: Element>(shape: &[usize], seed: u64, fortran: bool) -> DynArray {
        let a = sample::<T>(shape, seed);
        if fortran {
            let mut f = ArrayD::from_elem(IxDyn(shape).f(), T::default());
            f.assign(&a);
            DynArray::from(f)
        } else {
            DynArray::from(a)
        }
    }
    vec![
        one::<bool>(shape, seed, fortran),
        one::<i8>(shape, seed + 1, fortran),
        one::<i16>(shape, seed + 2, fortran),
        one::<i32>(shape, seed + 3, fortran),
        one::<i64>(shape, seed + 4, fortran),
        one::<u8>(shape, seed + 5, fortran),
        one::<u16>(shape, seed + 6, fortran),
        one::<u32>(shape, seed + 7, fortran),
        one::<u64>(shape, seed + 8, fortran),
        one::<f32>(shape, seed + 9, fortran),
        one::<f64>(shape, seed + 10, fortran),
    ]
}

/// `nnz` distinct cells of `shape` in scrambled order, with any bits of `T` as values.
fn scattered_coo<T: Element>(shape: &[usize], nnz: usize, seed: u64) -> Coo<T> {
    let cells: usize = shape.iter().product();
    assert!(nnz <= cells);
    let mut next = bits_stream(seed);
    let mut flat: Vec<usize> = (0..cells).collect();
    for i in (1..cells).rev() {
        flat.swap(i, (next() % (i as u64 + 1)) as usize); // < i + 1
    }
    flat.truncate(nnz);
    let mut coords = vec![Vec::with_capacity(nnz); shape.len()];
    for &f in &flat {
        let mut rem = f;
        for axis in (0..shape.len()).rev() {
            coords[axis].push((rem % shape[axis]) as u64);
            rem /= shape[axis];
        }
    }
    let values: Vec<T> = (0..nnz).map(|_| T::from_bits(next())).collect();
    Coo::try_from_unsorted(shape.to_vec(), coords, values, T::default()).expect("distinct, in range")
}

fn every_dtype_coo(shape: &[usize], nnz: usize, seed: u64) -> Vec<DynCoo> {
    vec![
        scattered_coo::<bool>(shape, nnz, seed).into(),
        scattered_coo::<i8>(shape, nnz, seed + 1).into(),
        scattered_coo::<i16>(shape, nnz, seed + 2).into(),
        scattered_coo::<i32>(shape, nnz, seed + 3).into(),
        scattered_coo::<i64>(shape, nnz, seed + 4).into(),
        scattered_coo::<u8>(shape, nnz, seed + 5).into(),
        scattered_coo::<u16>(shape, nnz, seed + 6).into(),
        scattered_coo::<u32>(shape, nnz, seed + 7).into(),
        scattered_coo::<u64>(shape, nnz, seed + 8).into(),
        scattered_coo::<f32>(shape, nnz, seed + 9).into(),
        scattered_coo::<f64>(shape, nnz, seed + 10).into(),
    ]
}

fn dyn1<T: Element>(v: &[T]) -> DynArray {
    DynArray::from(ndarray::Array1::from(v.to_vec()).into_dyn())
}

fn arrays_of(npz: Npz) -> Vec<(String, DynArray)> {
    match npz {
        Npz::Arrays(a) => a,
        Npz::Sparse(c) => panic!("expected NumPy arrays, got a sparse array {:?}", c.shape()),
    }
}

fn sparse_of(npz: Npz) -> DynCoo {
    match npz {
        Npz::Sparse(c) => c,
        Npz::Arrays(a) => panic!("expected a sparse array, got {} NumPy arrays", a.len()),
    }
}

/// Bitwise equality of two COOs (PartialEq on floats would call NaN != NaN).
fn coo_bit_eq(a: &DynCoo, b: &DynCoo) -> bool {
    fn go<T: Element>(a: &Coo<T>, b: &DynCoo) -> bool {
        if dtype_of(b) != T::DTYPE {
            return false;
        }
        let b: Coo<T> = coo_as(b);
        a.shape() == b.shape()
            && a.nnz() == b.nnz()
            && a.fill().to_bits() == b.fill().to_bits()
            && (0..a.shape().len()).all(|k| (0..a.nnz()).all(|e| a.coords(k).get(e) == b.coords(k).get(e)))
            && a.values()
                .iter()
                .zip(b.values())
                .all(|(x, y)| x.to_bits() == y.to_bits())
    }
    crate::common::with_dyn_coo!(a, c => go(c, b))
}

fn dtype_of(c: &DynCoo) -> DType {
    fn d<T: Element>(_: &Coo<T>) -> DType {
        T::DTYPE
    }
    crate::common::with_dyn_coo!(c, x => d(x))
}

/// The COO inside `c`, as `Coo<T>` (rebuilt from its parts, so no trait is needed on DynCoo).
fn coo_as<T: Element>(c: &DynCoo) -> Coo<T> {
    fn rebuild<S: Element, T: Element>(c: &Coo<S>) -> Coo<T> {
        let coords = (0..c.shape().len())
            .map(|k| (0..c.nnz()).map(|e| c.coords(k).get(e)).collect())
            .collect();
        let values = c.values().iter().map(|v| T::from_bits(v.to_bits())).collect();
        Coo::new(
            c.shape().to_vec(),
            coords,
            values,
            T::from_bits(c.fill().to_bits()),
        )
    }
    assert_eq!(dtype_of(c), T::DTYPE);
    crate::common::with_dyn_coo!(c, x => rebuild::<_, T>(x))
}

// ---------------------------------------------------------------------------------------------
// Hand-built archives

/// An `.npy` entry holding `a`.
fn npy(a: &DynArray) -> Vec<u8> {
    let mut out = Vec::new();
    write_npy_to(&mut out, a).unwrap();
    out
}

/// A 0-d byte string `.npy` (`|S<n>`), as SciPy stores `format`.
fn npy_bytes(s: &[u8]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '|S{}', 'fortran_order': False, 'shape': (), }}",
        s.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(s);
    out
}

/// A zip of the named entries.
fn zip_of(entries: &[(&str, Vec<u8>)], compress: bool) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let method = if compress {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        zip.start_file(*name, opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A SciPy-layout sparse archive: `format` and the other entries.
fn scipy_zip(format: &[u8], entries: &[(&str, DynArray)]) -> Vec<u8> {
    let mut all = vec![("format.npy", npy_bytes(format))];
    let named: Vec<(String, Vec<u8>)> = entries
        .iter()
        .map(|(n, a)| (format!("{n}.npy"), npy(a)))
        .collect();
    all.extend(named.iter().map(|(n, b)| (n.as_str(), b.clone())));
    zip_of(&all, false)
}

fn read_bytes(bytes: Vec<u8>) -> arrstore::Result<Npz> {
    read_npz_from(Cursor::new(bytes))
}

fn read_err(bytes: Vec<u8>) -> String {
    match read_bytes(bytes) {
        Ok(n) => panic!("expected an error, read {n:?}"),
        Err(e) => e.to_string(),
    }
}

/// The entries of a zip: (name, compression method).
fn zip_entries(bytes: &[u8]) -> Vec<(String, zip::CompressionMethod)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let e = z.by_index(i).unwrap();
            (e.name().unwrap().into_owned(), e.compression())
        })
        .collect()
}

/// One entry of a zip, read as `.npy`.
fn zip_npy(bytes: &[u8], name: &str) -> DynArray {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let e = z.by_name(name).unwrap();
    read_npy_from(e).unwrap()
}

// ---------------------------------------------------------------------------------------------
// NumPy archives

#[test]
fn numpy_archives_round_trip_every_dtype_stored_and_deflated() {
    let shapes: [(&[usize], bool); 6] = [
        (&[], false),
        (&[0], false),
        (&[3, 0], false),
        (&[5], false),
        (&[4, 3], false),
        (&[2, 3, 4], true),
    ];
    for (s, (shape, fortran)) in shapes.into_iter().enumerate() {
        let arrays = every_dtype(shape, 100 * s as u64, fortran); // a small index
        let names: Vec<String> = arrays
            .iter()
            .map(|a| format!("{} {shape:?}", a.dtype()))
            .collect();
        let refs: Vec<(&str, &DynArray)> = names.iter().map(String::as_str).zip(&arrays).collect();
        for compress in [false, true] {
            let mut buf = Cursor::new(Vec::new());
            write_npz_to(&mut buf, &refs, compress).unwrap();
            let bytes = buf.into_inner();
            let method = if compress {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let entries = zip_entries(&bytes);
            assert_eq!(
                entries.iter().map(|e| e.0.clone()).collect::<Vec<_>>(),
                names.iter().map(|n| format!("{n}.npy")).collect::<Vec<_>>()
            );
            assert!(entries.iter().all(|e| e.1 == method), "{entries:?}");
            let back = arrays_of(read_bytes(bytes).unwrap());
            assert_eq!(back.len(), arrays.len());
            for ((name, b), (n, a)) in back.iter().zip(names.iter().zip(&arrays)) {
                assert_eq!(name, n);
                assert!(b.bit_eq(a), "{n}: {b:?} != {a:?}");
                if a.shape().iter().filter(|&&d| d > 1).count() > 1 {
                    assert_eq!(b.order(), a.order(), "{n}: memory order");
                }
            }
        }
    }
}

#[test]
fn numpy_archive_files_are_atomic_and_not_clobbered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npz");
    let a = dyn1(&[1u32, 2, 3]);
    let b = dyn1(&[f64::NAN, -0.0]);
    write_npz(&path, &[("a", &a), ("b", &b)], true, false).unwrap();
    let before = std::fs::read(&path).unwrap();
    let e = write_npz(&path, &[("c", &a)], false, false).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e}");
    assert!(e.to_string().contains("a.npz"), "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let back = arrays_of(read_npz(&path).unwrap());
    assert_eq!(back.len(), 2);
    assert!(back[1].1.bit_eq(&b));
    write_npz(&path, &[("c", &a)], false, true).unwrap();
    let back = arrays_of(read_npz(&path).unwrap());
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].0, "c");
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["a.npz"], "no temporary files left");
}

#[test]
fn numpy_archive_keys_with_slashes_and_entries_without_npy_suffix() {
    let a = dyn1(&[7i16]);
    let bytes = zip_of(&[("dir/x.npy", npy(&a)), ("noext", npy(&a))], true);
    let back = arrays_of(read_bytes(bytes).unwrap());
    assert_eq!(
        back.iter().map(|b| b.0.as_str()).collect::<Vec<_>>(),
        ["dir/x", "noext"]
    );
}

// ---------------------------------------------------------------------------------------------
// SciPy sparse archives

#[test]
fn sparse_archives_round_trip_every_dtype() {
    let shapes: [&[usize]; 4] = [&[7, 9], &[4, 5, 6], &[11], &[6, 1]];
    for (s, shape) in shapes.into_iter().enumerate() {
        for nnz in [0usize, 1, 6] {
            for coo in every_dtype_coo(shape, nnz, 1000 * s as u64 + nnz as u64) {
                for compress in [false, true] {
                    let mut buf = Cursor::new(Vec::new());
                    write_sparse_npz_to(&mut buf, &coo, compress).unwrap();
                    let bytes = buf.into_inner();
                    let mut names: Vec<String> = zip_entries(&bytes).into_iter().map(|e| e.0).collect();
                    names.sort();
                    let expected: &[&str] = if shape.len() == 2 {
                        &["col.npy", "data.npy", "format.npy", "row.npy", "shape.npy"]
                    } else {
                        &[
                            "_is_array.npy",
                            "coords.npy",
                            "data.npy",
                            "format.npy",
                            "shape.npy",
                        ]
                    };
                    assert_eq!(names, expected);
                    let back = sparse_of(read_bytes(bytes).unwrap());
                    assert!(
                        coo_bit_eq(&back, &coo),
                        "{shape:?} nnz {nnz}: {back:?} != {coo:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn sparse_archive_index_types_follow_scipy() {
    let c: DynCoo = Coo::new(vec![3, 4], vec![vec![0, 2], vec![1, 3]], vec![1.5f64, -0.0], 0.0).into();
    let mut buf = Cursor::new(Vec::new());
    write_sparse_npz_to(&mut buf, &c, false).unwrap();
    let bytes = buf.into_inner();
    assert_eq!(zip_npy(&bytes, "row.npy").dtype(), DType::I32);
    assert_eq!(zip_npy(&bytes, "col.npy").dtype(), DType::I32);
    assert!(zip_npy(&bytes, "shape.npy").bit_eq(&dyn1(&[3i64, 4])));
    assert!(zip_npy(&bytes, "data.npy").bit_eq(&dyn1(&[1.5f64, -0.0])));

    let wide: DynCoo = Coo::new(
        vec![3_000_000_000, 2],
        vec![vec![2_999_999_999], vec![1]],
        vec![7u8],
        0,
    )
    .into();
    let mut buf = Cursor::new(Vec::new());
    write_sparse_npz_to(&mut buf, &wide, true).unwrap();
    let bytes = buf.into_inner();
    assert!(zip_npy(&bytes, "row.npy").bit_eq(&dyn1(&[2_999_999_999i64])));
    assert_eq!(zip_npy(&bytes, "col.npy").dtype(), DType::I64);
    assert!(coo_bit_eq(&sparse_of(read_bytes(bytes).unwrap()), &wide));
    assert_eq!(arrstore::npz::scipy_index_dtype(&[3_000_000_000, 2]), DType::I64);
    assert_eq!(arrstore::npz::scipy_index_dtype(&[7, 9]), DType::I32);
}

#[test]
fn sparse_archive_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npz");
    let c: DynCoo = scattered_coo::<i64>(&[20, 30], 40, 5).into();
    write_sparse_npz(&path, &c, true, false).unwrap();
    assert!(coo_bit_eq(&sparse_of(read_npz(&path).unwrap()), &c));
    let e = write_sparse_npz(&path, &c, true, false).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e}");
    write_sparse_npz(&path, &c, false, true).unwrap();
    assert!(zip_entries(&std::fs::read(&path).unwrap())
        .iter()
        .all(|e| e.1 == zip::CompressionMethod::Stored));
}

#[test]
fn unsorted_coo_is_sorted_and_duplicates_summed_like_scipy() {
    // Integers wrap.
    let c = Coo::try_from_unsorted(
        vec![2, 3],
        vec![vec![1, 0, 1, 0, 1], vec![2, 1, 2, 0, 2]],
        vec![100i8, 5, 100, -3, 1],
        0,
    )
    .unwrap();
    assert_eq!(c.values(), &[-3, 5, -55]); // 100 + 100 + 1 wraps to -55
    assert_eq!(
        (0..3)
            .map(|e| (c.coords(0).get(e), c.coords(1).get(e)))
            .collect::<Vec<_>>(),
        [(0, 0), (0, 1), (1, 2)]
    );
    let c = Coo::try_from_unsorted(vec![4], vec![vec![3, 3]], vec![250u8, 10], 0).unwrap();
    assert_eq!(c.values(), &[4]);
    let c = Coo::try_from_unsorted(vec![4], vec![vec![2, 2]], vec![u64::MAX, 2], 0).unwrap();
    assert_eq!(c.values(), &[1]);
    // Booleans are or-ed; an entry summing to false stays (as SciPy keeps explicit zeros).
    let c = Coo::try_from_unsorted(
        vec![3],
        vec![vec![0, 2, 0, 2, 1]],
        vec![true, false, false, false, true],
        false,
    )
    .unwrap();
    assert_eq!(c.values(), &[true, true, false]);
    assert_eq!(c.nnz(), 3);
    // Floats are added in the order the entries come, as SciPy's toarray() adds them.
    let c = Coo::try_from_unsorted(
        vec![2],
        vec![vec![1, 0, 1, 1]],
        vec![1e16f64, 0.5, 1.0, -1e16],
        0.0,
    )
    .unwrap();
    assert_eq!(c.values(), &[0.5, 0.0]); // (1e16 + 1) - 1e16 == 0 in float64
                                         // n-d.
    let c = Coo::try_from_unsorted(
        vec![2, 2, 2],
        vec![vec![1, 0, 1], vec![1, 1, 1], vec![0, 1, 0]],
        vec![1.5f32, 2.0, 0.25],
        0.0,
    )
    .unwrap();
    assert_eq!(c.values(), &[2.0, 1.75]);
    // Already sorted input is taken as is.
    let c = Coo::try_from_unsorted(vec![5], vec![vec![1, 3]], vec![-0.0f64, f64::NAN], 0.0).unwrap();
    assert_eq!(c.values()[0].to_bits(), (-0.0f64).to_bits());
}

#[test]
fn unsorted_coo_errors_are_results() {
    let e = Coo::try_from_unsorted(vec![2, 2], vec![vec![0, 1], vec![0]], vec![1u8, 2], 0).unwrap_err();
    assert!(
        e.to_string().contains("axis 1 has 1 coordinates for 2 values"),
        "{e}"
    );
    let e = Coo::try_from_unsorted(vec![2, 2], vec![vec![1, 0]], vec![1u8, 2], 0).unwrap_err();
    assert!(e.to_string().contains("1 coordinate vectors for 2 axes"), "{e}");
    let e = Coo::try_from_unsorted(vec![2, 2], vec![vec![1, 5], vec![0, 0]], vec![1u8, 2], 0).unwrap_err();
    assert!(
        matches!(
            e,
            Error::CoordinateOutOfRange {
                index: 5,
                axis: 0,
                len: 2,
                ..
            }
        ),
        "{e}"
    );
    let e = Coo::try_from_unsorted(vec![2], vec![vec![3, 1, 3]], vec![1u8, 2, 3], 0).unwrap_err();
    assert!(matches!(e, Error::CoordinateOutOfRange { index: 3, .. }), "{e}");
}

/// The 3x4 matrix [[20, 0, 0, 10], [0, 0, 0, 0], [0, 40, 30, 50]] as a COO.
fn three_by_four() -> DynCoo {
    Coo::new(
        vec![3, 4],
        vec![vec![0, 0, 2, 2, 2], vec![0, 3, 1, 2, 3]],
        vec![20i64, 10, 40, 30, 50],
        0,
    )
    .into()
}

#[test]
fn csr_archives_built_by_hand() {
    // Row 0 lists columns 3, 0; row 2 lists 2, 1, 3: unsorted within rows, as SciPy allows.
    let bytes = scipy_zip(
        b"csr",
        &[
            ("indices", dyn1(&[3i32, 0, 2, 1, 3])),
            ("indptr", dyn1(&[0i64, 2, 2, 5])),
            ("shape", dyn1(&[3i64, 4])),
            ("data", dyn1(&[10i64, 20, 30, 40, 50])),
        ],
    );
    assert!(coo_bit_eq(
        &sparse_of(read_bytes(bytes).unwrap()),
        &three_by_four()
    ));
    // Unsigned index types, _is_array, and a duplicate column in a row (summed).
    let bytes = scipy_zip(
        b"csr",
        &[
            ("indices", dyn1(&[3u16, 0, 2, 1, 3, 2])),
            ("indptr", dyn1(&[0u8, 2, 2, 6])),
            ("shape", dyn1(&[3i32, 4])),
            ("data", dyn1(&[10i64, 20, 10, 40, 50, 20])),
            ("_is_array", DynArray::from(ndarray::arr0(true).into_dyn())),
        ],
    );
    assert!(coo_bit_eq(
        &sparse_of(read_bytes(bytes).unwrap()),
        &three_by_four()
    ));
}

#[test]
fn csc_archives_built_by_hand() {
    // Column 3 lists rows 2, 0 (unsorted).
    let bytes = scipy_zip(
        b"csc",
        &[
            ("indices", dyn1(&[0i32, 2, 2, 2, 0])),
            ("indptr", dyn1(&[0i32, 1, 2, 3, 5])),
            ("shape", dyn1(&[3i64, 4])),
            ("data", dyn1(&[20i64, 40, 30, 50, 10])),
        ],
    );
    assert!(coo_bit_eq(
        &sparse_of(read_bytes(bytes).unwrap()),
        &three_by_four()
    ));
    // An empty csc matrix.
    let bytes = scipy_zip(
        b"csc",
        &[
            ("indices", dyn1::<i32>(&[])),
            ("indptr", dyn1(&[0i32, 0, 0])),
            ("shape", dyn1(&[5i64, 2])),
            ("data", dyn1::<f32>(&[])),
        ],
    );
    let c = sparse_of(read_bytes(bytes).unwrap());
    assert_eq!(
        (c.shape(), c.nnz(), dtype_of(&c)),
        (&[5usize, 2][..], 0, DType::F32)
    );
}

#[test]
fn coo_archives_built_by_hand() {
    // 2-D row/col in any order, with a duplicate (25 + 25 at (2, 3)); n-d coords as (ndim, nnz).
    let bytes = scipy_zip(
        b"coo",
        &[
            ("row", dyn1(&[2i64, 0, 2, 0, 2, 2])),
            ("col", dyn1(&[3i64, 3, 1, 0, 2, 3])),
            ("shape", dyn1(&[3i64, 4])),
            ("data", dyn1(&[25i64, 10, 40, 20, 30, 25])),
        ],
    );
    assert!(coo_bit_eq(
        &sparse_of(read_bytes(bytes).unwrap()),
        &three_by_four()
    ));
    let coords = ndarray::arr2(&[[1i64, 0], [2, 0], [0, 3]]).into_dyn();
    let bytes = scipy_zip(
        b"coo",
        &[
            ("coords", DynArray::from(coords)),
            ("shape", dyn1(&[2i64, 3, 4])),
            ("data", dyn1(&[1.5f64, 2.5])),
        ],
    );
    let c = sparse_of(read_bytes(bytes).unwrap());
    let want: DynCoo = Coo::new(
        vec![2, 3, 4],
        vec![vec![0, 1], vec![0, 2], vec![3, 0]],
        vec![2.5f64, 1.5],
        0.0,
    )
    .into();
    assert!(coo_bit_eq(&c, &want), "{c:?}");
    // Fortran-ordered coords mean the same logical (ndim, nnz) array.
    let mut f = ArrayD::from_elem(IxDyn(&[3, 2]).f(), 0i64);
    f.assign(&ndarray::arr2(&[[1i64, 0], [2, 0], [0, 3]]).into_dyn());
    let bytes = scipy_zip(
        b"coo",
        &[
            ("coords", DynArray::from(f)),
            ("shape", dyn1(&[2i64, 3, 4])),
            ("data", dyn1(&[1.5f64, 2.5])),
        ],
    );
    assert!(coo_bit_eq(&sparse_of(read_bytes(bytes).unwrap()), &want));
}

// ---------------------------------------------------------------------------------------------
// Bad archives

#[test]
fn bad_archives_are_errors_with_clear_messages() {
    let shape = || ("shape", dyn1(&[3i64, 3]));
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "not a zip",
            b"hello, world".to_vec(),
            &["not a readable .npz (zip) archive"],
        ),
        ("empty file", Vec::new(), &["not a readable .npz (zip) archive"]),
        (
            "truncated zip",
            {
                let mut b = zip_of(&[("a.npy", npy(&dyn1(&[1u8; 100])))], false);
                b.truncate(b.len() / 2);
                b
            },
            &["not a readable .npz (zip) archive"],
        ),
        (
            "unknown format dia",
            scipy_zip(
                b"dia",
                &[
                    shape(),
                    ("data", dyn1(&[1.0f64, 2.0])),
                    ("offsets", dyn1(&[0i32])),
                ],
            ),
            &["SciPy sparse format 'dia' is not supported", ".tocoo()"],
        ),
        (
            "indptr too short",
            scipy_zip(
                b"csr",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("indices", dyn1(&[0i32, 1])),
                    ("indptr", dyn1(&[0i32, 2])),
                ],
            ),
            &["'indptr' has 2 entries", "need 4 ending at 2"],
        ),
        (
            "indptr ends beyond the data",
            scipy_zip(
                b"csr",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("indices", dyn1(&[0i32, 1])),
                    ("indptr", dyn1(&[0i32, 1, 2, 3])),
                ],
            ),
            &["'indptr'", "ending at Some(3)"],
        ),
        (
            "indptr decreases",
            scipy_zip(
                b"csc",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("indices", dyn1(&[0i32, 1])),
                    ("indptr", dyn1(&[0i32, 2, 1, 2])),
                ],
            ),
            &["'indptr' decreases at position 1"],
        ),
        (
            "negative index",
            scipy_zip(
                b"csr",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("indices", dyn1(&[0i32, -1])),
                    ("indptr", dyn1(&[0i32, 1, 2, 2])),
                ],
            ),
            &["'indices' holds -1, not a non-negative integer"],
        ),
        (
            "negative row",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8])),
                    ("row", dyn1(&[-2i64])),
                    ("col", dyn1(&[0i64])),
                ],
            ),
            &["'row' holds -2"],
        ),
        (
            "negative shape",
            scipy_zip(
                b"coo",
                &[
                    ("shape", dyn1(&[-3i64, 3])),
                    ("data", dyn1(&[1u8])),
                    ("row", dyn1(&[0i64])),
                    ("col", dyn1(&[0i64])),
                ],
            ),
            &["'shape' holds -3"],
        ),
        (
            "float indices",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8])),
                    ("row", dyn1(&[0.0f64])),
                    ("col", dyn1(&[0i64])),
                ],
            ),
            &["'row' is float64, not an integer array"],
        ),
        (
            "coords of the wrong shape",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    (
                        "coords",
                        DynArray::from(ndarray::arr2(&[[0i64, 1], [1, 2], [2, 0]]).into_dyn()),
                    ),
                ],
            ),
            &["'coords' has shape [3, 2], expected [2, 2]"],
        ),
        (
            "coords of the wrong length",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("coords", DynArray::from(ndarray::arr2(&[[0i64], [1]]).into_dyn())),
                ],
            ),
            &["'coords' has shape [2, 1], expected [2, 2]"],
        ),
        (
            "row and col of other lengths than data",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8, 2])),
                    ("row", dyn1(&[0i64])),
                    ("col", dyn1(&[0i64, 1])),
                ],
            ),
            &["coordinate arrays of lengths [1, 2]"],
        ),
        (
            "coordinate out of range",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", dyn1(&[1u8])),
                    ("row", dyn1(&[3i64])),
                    ("col", dyn1(&[0i64])),
                ],
            ),
            &["coordinate 3 on axis 0 is out of range for length 3"],
        ),
        (
            "csr index out of range",
            scipy_zip(
                b"csr",
                &[
                    shape(),
                    ("data", dyn1(&[1u8])),
                    ("indices", dyn1(&[7i32])),
                    ("indptr", dyn1(&[0i32, 1, 1, 1])),
                ],
            ),
            &["coordinate 7 on axis 1 is out of range for length 3"],
        ),
        (
            "a 3-d csr",
            scipy_zip(
                b"csr",
                &[
                    ("shape", dyn1(&[2i64, 2, 2])),
                    ("data", dyn1(&[1u8])),
                    ("indices", dyn1(&[0i32])),
                    ("indptr", dyn1(&[0i32, 1, 1])),
                ],
            ),
            &["a csr matrix has 2 axes"],
        ),
        (
            "missing indptr",
            scipy_zip(
                b"csr",
                &[shape(), ("data", dyn1(&[1u8])), ("indices", dyn1(&[0i32]))],
            ),
            &["the sparse archive has no 'indptr.npy'"],
        ),
        (
            "missing col",
            scipy_zip(b"coo", &[shape(), ("data", dyn1(&[1u8])), ("row", dyn1(&[0i32]))]),
            &["the sparse archive has no 'col.npy'"],
        ),
        (
            "2-d data",
            scipy_zip(
                b"coo",
                &[
                    shape(),
                    ("data", DynArray::from(ndarray::arr2(&[[1u8]]).into_dyn())),
                    ("row", dyn1(&[0i32])),
                    ("col", dyn1(&[0i32])),
                ],
            ),
            &["'data' has shape [1, 1], expected 1-d"],
        ),
        (
            "format is not a byte string",
            zip_of(
                &[
                    ("format.npy", npy(&dyn1(&[1u8, 2]))),
                    ("shape.npy", npy(&dyn1(&[3i64, 3]))),
                    ("data.npy", npy(&dyn1(&[1u8]))),
                ],
                false,
            ),
            &["entry 'format.npy'"],
        ),
        (
            "an entry that is not .npy",
            zip_of(
                &[
                    ("a.npy", npy(&dyn1(&[1u8]))),
                    ("notes.npy", b"just text".to_vec()),
                ],
                true,
            ),
            &["entry 'notes.npy'"],
        ),
        (
            "an entry of a dtype arrstore does not store",
            zip_of(
                &[(
                    "c.npy",
                    std::fs::read(
                        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/npy/bad_complex128.npy"),
                    )
                    .unwrap(),
                )],
                false,
            ),
            &["entry 'c.npy'"],
        ),
    ];
    for (what, bytes, needles) in cases {
        let result = std::panic::catch_unwind(|| read_err(bytes));
        let message = result.unwrap_or_else(|_| panic!("{what}: panicked instead of returning an error"));
        for n in needles {
            assert!(message.contains(n), "{what}: {message:?} lacks {n:?}");
        }
    }
}

#[test]
fn read_npz_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.npz");
    std::fs::write(&path, b"not a zip").unwrap();
    let e = read_npz(&path).unwrap_err();
    assert!(e.to_string().starts_with(&path.display().to_string()), "{e}");
    let e = read_npz(dir.path().join("missing.npz")).unwrap_err();
    assert!(matches!(e.kind(), Error::Io(_)), "{e}");
    assert!(e.to_string().contains("missing.npz"), "{e}");
}

#[test]
fn real_dia_and_bsr_archives_name_their_format() {
    let dia = scipy_zip(
        b"dia",
        &[
            ("shape", dyn1(&[3i64, 3])),
            (
                "data",
                DynArray::from(ndarray::arr2(&[[1.0f64, 2.0, 3.0]]).into_dyn()),
            ),
            ("offsets", dyn1(&[0i32])),
        ],
    );
    let m = read_err(dia);
    assert!(m.contains("'dia' is not supported"), "{m}");
    let bsr = scipy_zip(
        b"bsr",
        &[
            ("shape", dyn1(&[2i64, 2])),
            (
                "data",
                DynArray::from(ndarray::Array3::<f64>::ones((1, 2, 2)).into_dyn()),
            ),
            ("indices", dyn1(&[0i32])),
            ("indptr", dyn1(&[0i32, 1])),
        ],
    );
    let m = read_err(bsr);
    assert!(m.contains("'bsr' is not supported"), "{m}");
}

// ---------------------------------------------------------------------------------------------
// Stores

#[test]
fn store_create_add_open_list_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    let opts = WriteOptions::default();
    let mut store = Store::create(&root).unwrap();
    assert!(Store::is_store(&root));
    assert!(store.names().is_empty());
    let arrays = every_dtype(&[6, 5], 77, false);
    let names: Vec<String> = arrays.iter().map(|a| format!("x {}", a.dtype())).collect();
    for (n, a) in names.iter().zip(&arrays) {
        let summary = store.add(n, a, &opts).unwrap();
        assert_eq!(summary.meta.dtype, a.dtype());
    }
    let coo: DynCoo = scattered_coo::<f32>(&[100, 100], 30, 3).into();
    store.add_coo("sparse one", &coo, &opts).unwrap();

    let store = Store::open(&root).unwrap();
    assert_eq!(store.dir(), root);
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.push("sparse one");
    assert_eq!(store.names(), expected);
    assert_eq!(store.entries().len(), expected.len());
    for (n, a) in names.iter().zip(&arrays) {
        assert!(store.read_dyn(n).unwrap().bit_eq(a), "{n}");
        let p = store.path_of(n).unwrap();
        assert_eq!(p.parent(), Some(root.as_path()));
        assert_eq!(
            p.file_name().unwrap().to_str().unwrap(),
            format!("{}.parquet", n.replace(' ', "_"))
        );
        // Every file opens on its own.
        assert!(ArrayFile::open(&p).unwrap().read_dyn().unwrap().bit_eq(a));
    }
    let sparse = store.file("sparse one").unwrap();
    assert_eq!(sparse.meta().layout, StoredLayout::Sparse);
    assert!(coo_bit_eq(&sparse.read_dyn_coo().unwrap(), &coo));

    let sizes = store.sizes().unwrap();
    assert_eq!(sizes.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), expected);
    for ((_, r), a) in sizes.iter().zip(&arrays) {
        assert_eq!(r.dtype, a.dtype());
        assert_eq!(r.shape, [6, 5]);
        assert_eq!(r.memory_bytes, a.memory_bytes());
        assert!(r.disk_bytes > 0);
    }
    let (_, r) = sizes.last().unwrap();
    assert_eq!(
        (r.layout, r.nnz, r.memory_bytes),
        (StoredLayout::Sparse, 30, 100 * 100 * 4)
    );

    let e = store.path_of("nope").unwrap_err();
    assert!(e.to_string().contains("the store has no array 'nope'"), "{e}");
    assert!(store.read_dyn("nope").is_err());
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join(STORE_INDEX)).unwrap()).unwrap();
    assert_eq!(index["format_version"], "1.0");
    assert_eq!(index["arrays"][0]["name"], names[0].as_str());
}

#[test]
fn store_add_replaces_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path().join("s")).unwrap();
    let a = dyn1(&[1i64, 2, 3]);
    let b = dyn1(&[true, false]);
    store.add("a", &a, &WriteOptions::default()).unwrap();
    let e = store.add("a", &b, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e}");
    assert!(store.read_dyn("a").unwrap().bit_eq(&a));
    store
        .add("a", &b, &WriteOptions::default().with_overwrite(true))
        .unwrap();
    let store = Store::open(dir.path().join("s")).unwrap();
    assert_eq!(store.names(), ["a"]);
    assert!(store.read_dyn("a").unwrap().bit_eq(&b));
    assert_eq!(
        std::fs::read_dir(store.dir()).unwrap().count(),
        2,
        "a.parquet and store.json"
    );
}

#[test]
fn store_create_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other"), b"keep").unwrap();
    let e = Store::create(dir.path()).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e}");
    assert!(!dir.path().join(STORE_INDEX).exists());
    // An empty directory is fine.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    Store::create(&empty).unwrap();
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn write_store_is_atomic_and_never_clobbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s");
    let arrays = every_dtype(&[3, 4], 9, true);
    let names: Vec<String> = (0..arrays.len()).map(|i| format!("arr_{i}")).collect();
    let refs: Vec<(&str, &DynArray)> = names.iter().map(String::as_str).zip(&arrays).collect();
    let store = write_store(&out, &refs, &WriteOptions::default()).unwrap();
    assert_eq!(store.dir(), out);
    assert_eq!(store.names().len(), arrays.len());
    let before = snapshot(&out);

    let other = dyn1(&[9u8]);
    let e = write_store(&out, &[("z", &other)], &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e}");
    assert_eq!(
        snapshot(&out),
        before,
        "a refused write leaves the store as it was"
    );

    // A write that fails half way (a fill no int array holds) leaves the old store whole.
    let bad_opts = WriteOptions::default()
        .with_overwrite(true)
        .with_fill("nan".parse::<Scalar>().unwrap());
    let float = dyn1(&[1.0f64, f64::NAN]);
    let int = dyn1(&[1i32, 2]);
    let e = write_store(&out, &[("f", &float), ("i", &int)], &bad_opts).unwrap_err();
    assert!(matches!(e.kind(), Error::BadFill { .. }), "{e}");
    assert_eq!(
        snapshot(&out),
        before,
        "a failed write leaves the store as it was"
    );
    assert_eq!(listing(dir.path()), ["s"], "no temporary directories left");

    let store = write_store(
        &out,
        &[("z", &other)],
        &WriteOptions::default().with_overwrite(true),
    )
    .unwrap();
    assert_eq!(store.names(), ["z"]);
    assert_eq!(listing(&out), ["store.json", "z.parquet"]);
    assert_eq!(listing(dir.path()), ["s"], "no temporary directories left");
    let reopened = Store::open(&out).unwrap();
    assert!(reopened.read_dyn("z").unwrap().bit_eq(&other));

    // Arrays keep their memory order.
    let again = write_store(dir.path().join("t"), &refs, &WriteOptions::default()).unwrap();
    for (n, a) in &refs {
        let b = again.read_dyn(n).unwrap();
        assert!(b.bit_eq(a), "{n}");
        assert_eq!(b.order(), Order::F, "{n}");
    }
}

#[test]
fn store_index_pointing_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(dir.path().join("outside.parquet"), b"").unwrap();
    for file in [
        "../outside.parquet",
        "/etc/passwd",
        "sub/x.parquet",
        "..",
        ".hidden.parquet",
        "",
        "a\\b",
    ] {
        let index = serde_json::json!({"format_version": "1.0", "arrays": [{"name": "a", "file": file}]});
        std::fs::write(root.join(STORE_INDEX), index.to_string()).unwrap();
        let e = Store::open(&root).unwrap_err();
        assert!(e.to_string().contains("leaves the store"), "{file:?}: {e}");
        assert!(e.to_string().contains(STORE_INDEX), "{file:?}: {e}");
    }
}

#[test]
fn store_index_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(
        root.join(STORE_INDEX),
        r#"{"format_version": "2.0", "arrays": []}"#,
    )
    .unwrap();
    let e = Store::open(root).unwrap_err();
    assert!(matches!(e.kind(), Error::UnsupportedVersion { .. }), "{e}");
    std::fs::write(root.join(STORE_INDEX), "not json").unwrap();
    let e = Store::open(root).unwrap_err();
    assert!(matches!(e.kind(), Error::CorruptMetadata(_)), "{e}");
    std::fs::write(
        root.join(STORE_INDEX),
        r#"{"format_version": "1.3", "arrays": []}"#,
    )
    .unwrap();
    assert!(
        Store::open(root).unwrap().names().is_empty(),
        "a newer minor version opens"
    );
    let e = Store::open(root.join("missing")).unwrap_err();
    assert!(matches!(e.kind(), Error::Io(_)), "{e}");
    assert!(!Store::is_store(root.join("missing")));
    // An entry whose file is missing: listed, but reading it is an error naming the file.
    std::fs::write(
        root.join(STORE_INDEX),
        r#"{"format_version": "1.0", "arrays": [{"name": "gone", "file": "gone.parquet"}]}"#,
    )
    .unwrap();
    let store = Store::open(root).unwrap();
    assert_eq!(store.names(), ["gone"]);
    let e = store.read_dyn("gone").unwrap_err();
    assert!(e.to_string().contains("gone.parquet"), "{e}");
    assert!(store.sizes().is_err());
}

// ---------------------------------------------------------------------------------------------
// The binary

/// Runs `arrstore` with `args` in the current directory.
fn arrstore<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    run_in(Path::new("."), args)
}

fn ok<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let r = arrstore(args);
    assert_eq!(r.code, 0, "{r:?}");
    r
}

fn fails<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let r = arrstore(args);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.starts_with("error: "), "{r:?}");
    r
}

#[test]
fn cli_numpy_archive_to_store_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("a.npz");
    let mut arrays = every_dtype(&[5, 4], 31, false);
    arrays.push(DynArray::from(ndarray::arr0(2.5f64).into_dyn()));
    let names: Vec<String> = arrays
        .iter()
        .enumerate()
        .map(|(i, a)| format!("k{i}/{}", a.dtype()))
        .collect();
    let refs: Vec<(&str, &DynArray)> = names.iter().map(String::as_str).zip(&arrays).collect();
    write_npz(&src, &refs, true, false).unwrap();
    let store = dir.path().join("store");
    let r = ok(&["write".as_ref(), src.as_os_str(), store.as_os_str()]);
    assert_eq!(
        r.stdout.lines().count(),
        arrays.len(),
        "one line per array: {}",
        r.stdout
    );
    assert!(Store::is_store(&store));
    assert_eq!(Store::open(&store).unwrap().names(), names);

    let info = ok(&["info".as_ref(), store.as_os_str()]);
    assert!(
        info.stdout.contains(&format!("({} arrays)", arrays.len())),
        "{}",
        info.stdout
    );
    for n in &names {
        assert!(info.stdout.contains(n.as_str()), "{n}: {}", info.stdout);
    }
    let json: Value =
        serde_json::from_str(&ok(&["info".as_ref(), store.as_os_str(), "--json".as_ref()]).stdout).unwrap();
    let listed: Vec<&str> = json["arrays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(listed, names);
    assert_eq!(json["arrays"][3]["dtype"], "int32");
    assert_eq!(json["arrays"][3]["memory_bytes"], 80);

    let back = dir.path().join("b.npz");
    ok(&[
        "read".as_ref(),
        store.as_os_str(),
        "-o".as_ref(),
        back.as_os_str(),
    ]);
    let got = arrays_of(read_npz(&back).unwrap());
    assert_eq!(got.len(), arrays.len());
    for ((n, b), (m, a)) in got.iter().zip(&refs) {
        assert_eq!(n, m);
        assert!(b.bit_eq(a), "{n}");
    }
    assert!(zip_entries(&std::fs::read(&back).unwrap())
        .iter()
        .all(|e| e.1 == zip::CompressionMethod::Stored));
    let deflated = dir.path().join("c.npz");
    ok(&[
        "read".as_ref(),
        store.as_os_str(),
        "-o".as_ref(),
        deflated.as_os_str(),
        "--compress".as_ref(),
    ]);
    assert!(zip_entries(&std::fs::read(&deflated).unwrap())
        .iter()
        .all(|e| e.1 == zip::CompressionMethod::Deflated));

    // No clobbering, in either direction.
    let r = fails(&["write".as_ref(), src.as_os_str(), store.as_os_str()]);
    assert!(r.stderr.contains("--force"), "{r:?}");
    let r = fails(&[
        "read".as_ref(),
        store.as_os_str(),
        "-o".as_ref(),
        back.as_os_str(),
    ]);
    assert!(r.stderr.contains("--force"), "{r:?}");
    // A store does not fit in one .npy.
    let npy_out = dir.path().join("x.npy");
    let r = fails(&[
        "read".as_ref(),
        store.as_os_str(),
        "-o".as_ref(),
        npy_out.as_os_str(),
    ]);
    assert!(r.stderr.contains(".npz"), "{r:?}");
    assert!(!npy_out.exists());
    // --max-memory applies to the store's total.
    let r = fails(&[
        "read".as_ref(),
        store.as_os_str(),
        "-o".as_ref(),
        dir.path().join("d.npz").as_os_str(),
        "--max-memory".as_ref(),
        "100".as_ref(),
    ]);
    assert!(r.stderr.contains("--max-memory"), "{r:?}");
    assert!(!dir.path().join("d.npz").exists());
}

#[test]
fn cli_sparse_archive_round_trip_and_max_memory() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("m.npz");
    let coo: DynCoo = scattered_coo::<u16>(&[40, 50], 60, 12).into();
    write_sparse_npz(&src, &coo, false, false).unwrap();
    let pq = dir.path().join("m.parquet");
    let r = ok(&["write".as_ref(), src.as_os_str(), pq.as_os_str()]);
    assert!(r.stdout.contains("sparse COO, nnz 60"), "{}", r.stdout);
    let f = ArrayFile::open(&pq).unwrap();
    assert_eq!(
        (f.meta().layout, f.meta().nnz, f.meta().dtype),
        (StoredLayout::Sparse, 60, DType::U16)
    );

    let back = dir.path().join("back.npz");
    ok(&["read".as_ref(), pq.as_os_str(), "-o".as_ref(), back.as_os_str()]);
    assert!(coo_bit_eq(&sparse_of(read_npz(&back).unwrap()), &coo));

    // Dense output: 40 * 50 * 2 = 4,000 bytes.
    let dense = dir.path().join("d.npy");
    let r = fails(&[
        "read".as_ref(),
        pq.as_os_str(),
        "-o".as_ref(),
        dense.as_os_str(),
        "--max-memory".as_ref(),
        "1K".as_ref(),
    ]);
    assert!(
        r.stderr.contains("needs") && r.stderr.contains("--max-memory"),
        "{r:?}"
    );
    assert!(!dense.exists());
    ok(&[
        "read".as_ref(),
        pq.as_os_str(),
        "-o".as_ref(),
        dense.as_os_str(),
        "--max-memory".as_ref(),
        "4000".as_ref(),
    ]);
    let d = arrstore::npy::read_npy(&dense).unwrap();
    assert!(d.bit_eq(&coo.to_dense()));
    // The sparse output is never densified, so the limit does not apply to it.
    let back2 = dir.path().join("back2.npz");
    ok(&[
        "read".as_ref(),
        pq.as_os_str(),
        "-o".as_ref(),
        back2.as_os_str(),
        "--max-memory".as_ref(),
        "1".as_ref(),
    ]);
    assert!(coo_bit_eq(&sparse_of(read_npz(&back2).unwrap()), &coo));
    // A dense file read to .npz: one array keyed by the file's stem.
    let dense_pq = dir.path().join("weights.parquet");
    ok(&[
        "write".as_ref(),
        dense.as_os_str(),
        dense_pq.as_os_str(),
        "--layout".as_ref(),
        "dense".as_ref(),
    ]);
    let one = dir.path().join("one.npz");
    ok(&[
        "read".as_ref(),
        dense_pq.as_os_str(),
        "-o".as_ref(),
        one.as_os_str(),
    ]);
    let got = arrays_of(read_npz(&one).unwrap());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "weights");
    assert!(got[0].1.bit_eq(&d));
}

#[test]
fn cli_bad_archive_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("bad.npz");
    std::fs::write(&src, b"PK\x03\x04 not really").unwrap();
    let out = dir.path().join("bad.parquet");
    let r = fails(&["write".as_ref(), src.as_os_str(), out.as_os_str()]);
    assert!(r.stderr.contains("bad.npz") && r.stderr.contains("zip"), "{r:?}");
    assert!(!out.exists());
}

#[test]
fn cli_completions() {
    let r = ok(&["completions", "bash"]);
    assert!(!r.stdout.is_empty());
    assert!(r.stdout.contains("arrstore"), "{}", r.stdout);
    for shell in ["zsh", "fish"] {
        assert!(ok(&["completions", shell]).stdout.contains("arrstore"), "{shell}");
    }
    let r = arrstore(&["completions", "no-such-shell"]);
    assert_eq!(r.code, 2, "a usage error: {r:?}");
}

#[test]
fn cli_demo_prints_the_articles_figures() {
    let dir = tempfile::tempdir().unwrap();
    let r = ok(&["demo".as_ref(), dir.path().join("demo").as_os_str()]);
    for needle in ["8,388,608", "2,514,648", "bit for bit"] {
        assert!(r.stdout.contains(needle), "{needle}: {}", r.stdout);
    }
    assert!(
        std::fs::read_dir(dir.path().join("demo")).unwrap().count() > 0,
        "files kept in DIR"
    );
}
