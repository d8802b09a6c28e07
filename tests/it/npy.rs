//! `.npy` reading and writing against fixtures written by NumPy
//! (`tests/data/npy/make_fixtures.py`, whose docstring gives the recipe of the values).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use arrstore::npy::{read_npy, read_npy_from, write_npy, write_npy_to};
use arrstore::{DType, DynArray, Element, Error, Order};

/// The fixture folder.
fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/npy")
}

/// A fixture arrstore reads, with what it must hold.
struct Good {
    name: String,
    dtype: DType,
    shape: Vec<usize>,
    order: Order,
    /// Element bits in logical C order.
    bits: Vec<u64>,
}

/// A fixture arrstore refuses, with a substring of the message it must give.
struct Bad {
    name: &'static str,
    message: &'static str,
}

/// The bits of the integer `v` as an element of `dtype`.
fn int_bits(dtype: DType, v: i128) -> u64 {
    crate::common::with_dtype!(dtype, T => Element::to_bits(<T as Element>::from_int(v).unwrap()))
}

/// `values(dtype, n)` of make_fixtures.py, as element bits.
fn recipe(dtype: DType, n: usize) -> Vec<u64> {
    let mut bits: Vec<u64> = (0..n)
        .map(|k| match dtype {
            DType::Bool => u64::from(k % 3 == 0),
            _ => int_bits(dtype, i128::try_from(k).unwrap()),
        })
        .collect();
    if let Some((min, max)) = dtype.int_range() {
        bits[1] = int_bits(dtype, min);
        bits[n - 1] = int_bits(dtype, max);
    }
    // -0.0, NaN with payload 0x123, +inf, -inf, the largest finite value.
    let floats = match dtype {
        DType::F32 => Some(
            [
                -0.0,
                f32::from_bits(0x7fc0_0123),
                f32::INFINITY,
                f32::NEG_INFINITY,
                f32::MAX,
            ]
            .map(|v: f32| u64::from(v.to_bits())),
        ),
        DType::F64 => Some(
            [
                -0.0,
                f64::from_bits(0x7ff8_0000_0000_0123),
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
            ]
            .map(|v: f64| v.to_bits()),
        ),
        _ => None,
    };
    if let Some([neg_zero, nan, inf, neg_inf, max]) = floats {
        bits[1..6].copy_from_slice(&[neg_zero, nan, inf, neg_inf, 1]); // 1: the smallest subnormal
        if n > 6 {
            bits[n - 1] = max;
        }
    }
    bits
}

fn good(name: &str, dtype: DType, shape: &[usize], order: Order, bits: Vec<u64>) -> Good {
    Good {
        name: name.to_string(),
        dtype,
        shape: shape.to_vec(),
        order,
        bits,
    }
}

/// Every fixture that reads.
fn goods() -> Vec<Good> {
    let mut out = Vec::new();
    for d in DType::ALL {
        let name = d.name();
        out.push(good(
            &format!("{name}_le_c.npy"),
            d,
            &[2, 3],
            Order::C,
            recipe(d, 6),
        ));
        out.push(good(
            &format!("{name}_be_c.npy"),
            d,
            &[2, 3],
            Order::C,
            recipe(d, 6),
        ));
        out.push(good(
            &format!("{name}_f.npy"),
            d,
            &[3, 4],
            Order::F,
            recipe(d, 12),
        ));
    }
    let f64_f = recipe(DType::F64, 12);
    out.push(good("float64_be_f.npy", DType::F64, &[3, 4], Order::F, f64_f));
    let minus_1_5 = vec![(-1.5f64).to_bits()];
    out.push(good("scalar_0d_f64.npy", DType::F64, &[], Order::C, minus_1_5));
    out.push(good("empty_0x3_i16.npy", DType::I16, &[0, 3], Order::C, vec![]));
    let shape = [1, 2, 1, 3, 1, 2];
    out.push(good(
        "six_d_u16.npy",
        DType::U16,
        &shape,
        Order::C,
        recipe(DType::U16, 12),
    ));
    out.push(good(
        "v2_i32.npy",
        DType::I32,
        &[2, 3],
        Order::C,
        recipe(DType::I32, 6),
    ));
    out.push(good(
        "v3_f32_f.npy",
        DType::F32,
        &[3, 4],
        Order::F,
        recipe(DType::F32, 12),
    ));
    out
}

/// Every fixture that must be refused.
const BADS: &[Bad] = &[
    Bad {
        name: "bad_complex128.npy",
        message: "dtype '<c16' (complex) is not supported; arrstore stores bool, int8..int64",
    },
    Bad {
        name: "bad_float16.npy",
        message: "dtype '<f2' (float16) is not supported",
    },
    Bad {
        name: "bad_unicode.npy",
        message: "dtype '<U3' (Unicode string) is not supported",
    },
    Bad {
        name: "bad_object.npy",
        message: "dtype '|O' (Python object) is not supported",
    },
    Bad {
        name: "bad_structured.npy",
        message: "dtype [('a', '<i4'), ('b', '<f8')] (structured) is not supported",
    },
    Bad {
        name: "bad_truncated.npy",
        message: "data holds 43 bytes, shape [2, 3] of float64 needs 48",
    },
    Bad {
        name: "bad_magic.npy",
        message: "not an .npy file: it starts with b\"PK\\x03\\x04\\x14\\x00\"",
    },
];

/// The memory order of an array, and whether its memory is contiguous in that order.
fn layout(a: &DynArray) -> (Order, bool) {
    crate::common::with_dyn_array!(a, x => {
        let order = Order::of(x);
        let contiguous = match order {
            Order::C => x.is_standard_layout(),
            Order::F => x.t().is_standard_layout(),
        };
        (order, contiguous)
    })
}

/// The element bits of an array in logical C order.
fn bits(a: &DynArray) -> Vec<u64> {
    crate::common::with_dyn_array!(a, x => x.iter().map(|v| Element::to_bits(*v)).collect())
}

#[test]
fn every_supported_fixture_reads_with_its_dtype_shape_order_and_bits() {
    for g in goods() {
        let a = read_npy(dir().join(&g.name)).unwrap_or_else(|e| panic!("{}: {e}", g.name));
        assert_eq!(a.dtype(), g.dtype, "{}", g.name);
        assert_eq!(a.shape(), &g.shape[..], "{}", g.name);
        assert_eq!(layout(&a), (g.order, true), "{}", g.name);
        let hex = |b: &[u64]| b.iter().map(|x| format!("{x:#x}")).collect::<Vec<_>>();
        assert_eq!(hex(&bits(&a)), hex(&g.bits), "{}", g.name);
    }
}

#[test]
fn every_bad_fixture_is_refused_with_a_message_naming_the_problem_and_the_file() {
    for b in BADS {
        let path = dir().join(b.name);
        let e = read_npy(&path).expect_err(b.name);
        assert!(matches!(e.kind(), Error::UnsupportedNpy(_)), "{}: {e:?}", b.name);
        let m = e.to_string();
        assert!(m.contains(b.message), "{}: {m}", b.name);
        assert!(m.contains(b.name), "the error does not name the file: {m}");
        // The reader over bytes gives the same error, without the file name.
        let bytes = std::fs::read(&path).unwrap();
        let e = read_npy_from(bytes.as_slice()).expect_err(b.name);
        assert!(e.to_string().contains(b.message), "{}: {e}", b.name);
    }
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let e = read_npy(dir().join("no_such_file.npy")).unwrap_err();
    assert!(matches!(e.kind(), Error::Io(_)), "{e:?}");
    assert!(e.to_string().contains("no_such_file.npy"), "{e}");
}

#[test]
fn every_supported_fixture_round_trips_bit_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    for g in goods() {
        let a = read_npy(dir().join(&g.name)).unwrap();
        let out = tmp.path().join(&g.name);
        write_npy(&out, &a, false).unwrap();
        let back = read_npy(&out).unwrap();
        assert!(back.bit_eq(&a), "{}", g.name);
        assert_eq!(layout(&back), layout(&a), "{}", g.name);

        // Little-endian files from NumPy hold the very data bytes arrstore writes.
        let written = std::fs::read(&out).unwrap();
        assert_eq!(
            written.len() % 64,
            (a.len() * a.dtype().size()) % 64,
            "{}",
            g.name
        );
        if !g.name.contains("_be_") {
            let numpy = std::fs::read(dir().join(&g.name)).unwrap();
            let data = a.len() * a.dtype().size();
            assert_eq!(
                written[written.len() - data..],
                numpy[numpy.len() - data..],
                "{}",
                g.name
            );
        }
    }
}

#[test]
fn write_npy_refuses_to_clobber_unless_asked() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("a.npy");
    let a = read_npy(dir().join("int32_f.npy")).unwrap();
    let b = read_npy(dir().join("uint8_le_c.npy")).unwrap();
    write_npy(&out, &a, false).unwrap();
    let e = write_npy(&out, &b, false).unwrap_err();
    assert!(matches!(e.kind(), Error::OutputExists), "{e:?}");
    assert!(e.to_string().contains("a.npy"), "{e}");
    assert!(read_npy(&out).unwrap().bit_eq(&a));
    write_npy(&out, &b, true).unwrap();
    assert!(read_npy(&out).unwrap().bit_eq(&b));
}

#[test]
fn arrays_stream_back_to_back() {
    let arrays: Vec<DynArray> = goods()
        .iter()
        .map(|g| read_npy(dir().join(&g.name)).unwrap())
        .collect();
    let mut stream = Vec::new();
    for a in &arrays {
        write_npy_to(&mut stream, a).unwrap();
    }
    let mut r = stream.as_slice();
    for a in &arrays {
        assert!(read_npy_from(&mut r).unwrap().bit_eq(a));
    }
    assert!(r.is_empty());
}

#[test]
fn stored_arrays_export_the_same_npy_bytes_streamed_or_not() {
    let tmp = tempfile::tempdir().unwrap();
    let mut streamed = 0;
    for g in goods() {
        let a = read_npy(dir().join(&g.name)).unwrap();
        let mut expected = Vec::new();
        write_npy_to(&mut expected, &a).unwrap();
        for (i, layout) in [arrstore::Layout::Dense, arrstore::Layout::Sparse]
            .into_iter()
            .enumerate()
        {
            // Row groups of 7 rows: many of them, decoded a few at a time.
            let opts = arrstore::WriteOptions::default()
                .with_layout(layout)
                .with_row_group_size(7);
            let path = tmp.path().join(format!("{i}-{}.parquet", g.name));
            arrstore::write_dyn(&path, &a, &opts).unwrap();
            let file = arrstore::ArrayFile::open(&path).unwrap();
            let is_streamed = file.npy_is_streamed();
            assert_eq!(
                is_streamed,
                layout == arrstore::Layout::Dense && a.order() == Order::C,
                "{}",
                g.name
            );
            streamed += usize::from(is_streamed);
            let mut got = Vec::new();
            file.write_npy_to(&mut got).unwrap();
            assert!(got == expected, "{} {layout:?}: the .npy bytes differ", g.name);
            let out = tmp.path().join(format!("{i}-{}", g.name));
            arrstore::ArrayFile::open(&path)
                .unwrap()
                .write_npy(&out, false)
                .unwrap();
            assert!(read_npy(&out).unwrap().bit_eq(&a), "{}", g.name);
        }
    }
    assert!(streamed >= 5, "{streamed} streamed exports");
}

#[test]
fn every_fixture_file_has_a_test() {
    let tested: BTreeSet<String> = goods()
        .into_iter()
        .map(|g| g.name)
        .chain(BADS.iter().map(|b| b.name.to_string()))
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "make_fixtures.py")
        .collect();
    let untested: Vec<_> = present.difference(&tested).collect();
    let missing: Vec<_> = tested.difference(&present).collect();
    assert!(
        untested.is_empty(),
        "files in tests/data/npy without a test: {untested:?}"
    );
    assert!(
        missing.is_empty(),
        "fixtures the tests expect but the folder lacks (run make_fixtures.py): {missing:?}"
    );
}
