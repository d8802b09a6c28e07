//! Inputs that must be refused up front, with the numbers in the message and no output left
//! behind: more than 64 axes (written, in an `.npy` header, in a file's self-description), a
//! sparse shape whose cells overflow 64 bits, and a corrupt `.npz` member (bad CRC-32).

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, UInt8Array};
use arrstore::limits::MAX_NDIM;
use arrstore::npz::Npz;
use arrstore::{ArrayFile, ArrayMeta, Coo, DynArray, DynCoo, Error, WriteOptions};
use ndarray::{ArrayD, IxDyn};
use serde_json::json;

use crate::common::{forge, listing, run_in};

/// Runs `arrstore` in `dir`, asserts it failed with an `error: ` line, and returns the line.
fn fails(dir: &Path, args: &[&str]) -> String {
    let r = run_in(dir, args);
    assert_eq!(r.code, 1, "{args:?}: {r:?}");
    assert!(r.stderr.starts_with("error: "), "{args:?}: {r:?}");
    r.stderr
}

/// An `.npy` file of uint8 zeros of `shape` (the header written by hand, as NumPy would).
fn npy_bytes(shape: &[usize]) -> Vec<u8> {
    let axes: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let comma = if shape.len() == 1 { "," } else { "" };
    let mut header = format!(
        "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}{comma}), }}",
        axes.join(", ")
    )
    .into_bytes();
    while (6 + 2 + 4 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut out = b"\x93NUMPY\x02\x00".to_vec();
    out.extend_from_slice(&u32::try_from(header.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&header);
    out.resize(out.len() + shape.iter().product::<usize>(), 0);
    out
}

/// A dense one-cell uint8 arrstore table whose self-description claims `shape` (a shape of
/// one cell: the table's row count agrees).
fn dense_file_claiming(shape: &[u64]) -> Vec<u8> {
    let meta = json!({
        "format_version": "1.2", "dtype": "uint8", "shape": shape, "order": "C", "layout": "dense",
        "nnz": 1, "columns": [{"name": "value", "role": "value", "stored_type": "uint8"}],
    });
    let value: ArrayRef = Arc::new(UInt8Array::from(vec![7u8]));
    forge(vec![("value", value)], Some(meta.to_string()))
}

#[test]
fn more_than_64_axes_are_refused_by_every_writer_with_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a = DynArray::from(ArrayD::<u8>::zeros(IxDyn(&[1; MAX_NDIM + 1])));
    let out = d.join("a.parquet");
    let e = arrstore::write_dyn(&out, &a, &WriteOptions::default()).unwrap_err();
    assert!(
        matches!(e.kind(), Error::TooManyAxes { ndim: 65, max: 64 }),
        "{e}"
    );
    assert!(
        e.to_string().contains("a.parquet") && e.to_string().contains("65 axes"),
        "{e}"
    );
    let e = arrstore::write_dyn_to(Vec::new(), &a, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e, Error::TooManyAxes { .. }), "{e}");
    let c = Coo::new(vec![1; MAX_NDIM + 1], vec![vec![0]; MAX_NDIM + 1], vec![1u8], 0);
    let e = arrstore::write_coo(&out, &c, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::TooManyAxes { .. }), "{e}");
    let e = arrstore::store::write_store(d.join("s"), &[("a", &a)], &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::TooManyAxes { .. }), "{e}");
    assert!(listing(d).is_empty(), "{:?}", listing(d));

    // 64 axes are fine, and read back.
    let a64 = DynArray::from(ArrayD::<u8>::zeros(IxDyn(&[1; MAX_NDIM])));
    arrstore::write_dyn(&out, &a64, &WriteOptions::default()).unwrap();
    assert_eq!(arrstore::read_dyn(&out).unwrap().shape().len(), 64);
}

#[test]
fn an_npy_header_of_65_axes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("deep.npy"), npy_bytes(&[1; 65])).unwrap();
    std::fs::write(d.join("ok.npy"), npy_bytes(&[1; 64])).unwrap();
    let e = arrstore::npy::read_npy(d.join("deep.npy")).unwrap_err();
    assert!(e.to_string().contains("deep.npy"), "{e}");
    assert!(e.to_string().contains("65 axes, more than the 64"), "{e}");
    assert_eq!(
        arrstore::npy::read_npy(d.join("ok.npy")).unwrap().shape().len(),
        64
    );
    let m = fails(d, &["write", "deep.npy", "deep.parquet"]);
    assert!(m.contains("deep.npy") && m.contains("65 axes"), "{m}");
    assert_eq!(listing(d), ["deep.npy", "ok.npy"]);
}

#[test]
fn a_file_claiming_65_or_a_million_axes_is_refused_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // The control: the same table under 64 axes opens and reads.
    std::fs::write(d.join("ok.parquet"), dense_file_claiming(&[1; 64])).unwrap();
    let a = ArrayFile::open(d.join("ok.parquet")).unwrap().read_dyn().unwrap();
    assert_eq!(a.shape(), &[1; 64][..]);
    for (name, ndim) in [("deep.parquet", 65), ("million.parquet", 1_000_000)] {
        std::fs::write(d.join(name), dense_file_claiming(&vec![1; ndim])).unwrap();
        let e = ArrayFile::open(d.join(name)).unwrap_err();
        assert!(
            matches!(e.kind(), Error::TooManyAxes { ndim: n, max: 64 } if *n == ndim),
            "{e}"
        );
        assert!(e.to_string().contains(name), "{e}");
        let table = format!("t={name}");
        for args in [
            vec!["info", name],
            vec!["read", name, "-o", "out.npy"],
            vec!["sql", "SELECT count(*) FROM t", "--table", table.as_str()],
        ] {
            let m = fails(d, &args);
            assert!(
                m.contains(&format!("{ndim} axes, more than the 64")),
                "{args:?}: {m}"
            );
        }
        assert!(!d.join("out.npy").exists());
    }
    // The same check, on the self-description alone.
    let json = json!({
        "format_version": "1.2", "dtype": "uint8", "shape": vec![1; 65], "layout": "dense",
        "nnz": 1, "columns": [{"name": "value", "role": "value", "stored_type": "uint8"}],
    });
    let e = ArrayMeta::from_json(&json.to_string()).unwrap_err();
    assert!(matches!(e, Error::TooManyAxes { ndim: 65, max: 64 }), "{e}");
}

#[test]
fn a_sparse_shape_of_more_cells_than_64_bits_is_refused_at_write() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let side = 1usize << 40;
    let c = Coo::new(vec![side, side], vec![vec![1], vec![2]], vec![5i32], 0);
    let e = arrstore::write_coo(d.join("lib.parquet"), &c, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e.kind(), Error::BadShape { .. }), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("lib.parquet") && m.contains("[1099511627776, 1099511627776]"),
        "{m}"
    );
    assert!(m.contains("overflows 64 bits"), "{m}");
    assert!(listing(d).is_empty(), "{:?}", listing(d));

    // As SciPy writes it: `arrstore write` refuses it, with no output and no temporary.
    let coo = DynCoo::from(c);
    arrstore::npz::write_sparse_npz(d.join("huge.npz"), &coo, false, false).unwrap();
    assert!(matches!(
        arrstore::npz::read_npz(d.join("huge.npz")).unwrap(),
        Npz::Sparse(_)
    ));
    let m = fails(d, &["write", "huge.npz", "huge.parquet"]);
    assert!(m.contains("huge.parquet") && m.contains("1099511627776"), "{m}");
    assert!(m.contains("overflows 64 bits"), "{m}");
    assert_eq!(listing(d), ["huge.npz"]);

    // Just inside the limit, it is written and read back.
    let c = Coo::new(
        vec![1 << 32, (1 << 32) - 1],
        vec![vec![1], vec![2]],
        vec![5i32],
        0,
    );
    arrstore::write_coo(d.join("edge.parquet"), &c, &WriteOptions::default()).unwrap();
    assert_eq!(arrstore::read_coo::<i32>(d.join("edge.parquet")).unwrap(), c);
}

#[test]
fn an_npz_member_with_a_bad_crc_is_refused_naming_the_file_and_member() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let a = DynArray::from(ndarray::Array1::from_elem(256, 0x5au8).into_dyn());
    let b = DynArray::from(ndarray::arr1(&[1.5f64, 2.5]).into_dyn());
    arrstore::npz::write_npz(d.join("x.npz"), &[("a", &a), ("b", &b)], false, false).unwrap();
    let mut zip = std::fs::read(d.join("x.npz")).unwrap();
    let at = zip
        .windows(256)
        .position(|w| w.iter().all(|&x| x == 0x5a))
        .unwrap()
        + 100;
    zip[at] = 0x5b;
    std::fs::write(d.join("x.npz"), &zip).unwrap();
    let e = arrstore::npz::read_npz(d.join("x.npz")).unwrap_err();
    let Error::BadCrc {
        member,
        recorded,
        found,
    } = e.kind()
    else {
        panic!("{e}")
    };
    assert_eq!(member, "a.npy");
    assert_ne!(recorded, found);
    let m = e.to_string();
    assert!(m.contains("x.npz") && m.contains("'a.npy'"), "{m}");
    assert!(
        m.contains(&format!("{recorded:#010x}")) && m.contains(&format!("{found:#010x}")),
        "{m}"
    );
    let m = fails(d, &["write", "x.npz", "out"]);
    assert!(m.contains("x.npz") && m.contains("bad CRC-32"), "{m}");
    assert_eq!(listing(d), ["x.npz"]);
}
