//! Bad arrstore files, one test each, as parquet-rs's `tests/arrow_reader/bad_data.rs`.
//!
//! The files live in `tests/data/bad/` and are made by [`regenerate_bad_files`] (see the README
//! there): valid files written by arrstore, cut or garbled, and tables forged with the `parquet`
//! crate under hand-written metadata. Every file must give a clear, typed error that names the
//! file, and no read method may panic on any of them. A guard test fails when a file in the
//! folder has no test.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int8Array, StringArray, UInt16Array, UInt8Array};
use arrstore::{ArrayFile, DynArray, Error, Layout, WriteOptions};
use parquet::basic::{Compression, Encoding};
use serde_json::{json, Value};

use crate::common::{forge, forge_with, with_footer_text};

/// The folder of bad files.
fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

/// Where reading a bad file must fail.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stage {
    /// `ArrayFile::open` refuses it (footer, metadata, schema and row-count checks).
    Open,
    /// It opens, and reading the data fails.
    Read,
}

/// The error a bad file gives, checked in every way it can be reached: `ArrayFile::open` (or
/// `read_dyn` on the opened file), `arrstore::read_dyn(path)`, and `ArrayFile::new` over the
/// bytes (which has no file name to give).
fn error_of(name: &str, stage: Stage) -> Error {
    let path = dir().join(name);
    let opened = ArrayFile::open(&path);
    let e = match (stage, opened) {
        (Stage::Open, Err(e)) => e,
        (Stage::Open, Ok(f)) => panic!("{name}: opened, expected an error; metadata {:?}", f.meta()),
        (Stage::Read, Err(e)) => panic!("{name}: expected to open and fail on read, failed to open: {e}"),
        (Stage::Read, Ok(f)) => match f.read_dyn() {
            Err(e) => e,
            Ok(a) => panic!("{name}: read without error: {a:?}"),
        },
    };
    assert!(
        matches!(e, Error::File { .. }),
        "{name}: the error is not marked with the file: {e:?}"
    );
    assert!(
        e.to_string().contains(name),
        "{name}: the message does not name the file: {e}"
    );
    let again = arrstore::read_dyn(&path).expect_err(name);
    assert_eq!(again.to_string(), e.to_string(), "{name}: read_dyn(path)");

    let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let unnamed = ArrayFile::new(bytes)
        .and_then(ArrayFile::read_dyn)
        .expect_err(name);
    assert!(
        !matches!(unnamed, Error::File { .. }),
        "{name}: ArrayFile::new has no path to give: {unnamed:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("{}: {unnamed}", path.display()),
        "{name}: the error over bytes differs from the one over the file"
    );
    e
}

/// One test per bad file: `test_name: "file" at Stage => pattern of err.kind(), "substring";`.
/// Also defines `TESTED`, the files that have a test, for the guard test.
macro_rules! bad_files {
    ($($(#[$attr:meta])* $test:ident: $file:literal at $stage:ident => $kind:pat, $msg:literal;)*) => {
        /// Every file with a test below.
        const TESTED: &[&str] = &[$($file),*];
        $(
            $(#[$attr])*
            #[test]
            fn $test() {
                let e = error_of($file, Stage::$stage);
                assert!(matches!(e.kind(), $kind), "{}: wrong error variant: {e:?}", $file);
                let m = e.to_string();
                assert!(m.contains($msg), "{}: the message lacks {:?}: {m}", $file, $msg);
            }
        )*
    };
}

bad_files! {
    empty_file: "empty.parquet" at Open =>
        Error::Parquet(_), "Parquet file too small. Size is 0 but need 8";
    text_file: "text.parquet" at Open =>
        Error::Parquet(_), "Invalid Parquet file. Corrupt footer";
    truncated_footer: "truncated_footer.parquet" at Open =>
        Error::Parquet(_), "Invalid Parquet file. Corrupt footer";
    garbage_footer: "garbage_footer.parquet" at Open =>
        Error::Parquet(_), "Unexpected struct field type 15";
    checksum_footer_json_changed: "checksum_footer_json_changed.parquet" at Open =>
        Error::ChecksumMismatch { .. }, "checksum mismatch in the footer and page indexes (bytes ";
    checksum_value_bit_flipped: "checksum_value_bit_flipped.parquet" at Read =>
        Error::ChecksumMismatch { .. },
        "checksum mismatch in bytes 65536..131072 (row group 0, column 'value', data page 0): CRC-32 8c21a34a, recorded 227de81c: the file is corrupt";
    checksums_missing_in_1_3: "checksums_missing_in_1_3.parquet" at Open =>
        Error::CorruptMetadata(_), "a format 1.3 file carries checksums, this one has none";
    checksums_list_too_short: "checksums_list_too_short.parquet" at Open =>
        Error::CorruptMetadata(_), "checksums: 0 hex digits of block CRCs; 100 data bytes in blocks of 65536 need 1 CRCs";
    footer_length_too_long: "footer_length_too_long.parquet" at Open =>
        Error::Parquet(_), "Parquet file too small. Size is 640 but need 648";
    foreign_table: "foreign_table.parquet" at Open =>
        Error::NotArrstore { key: "arrstore" }, "not an arrstore file: the Parquet metadata has no 'arrstore' key";
    metadata_not_json: "metadata_not_json.parquet" at Open =>
        Error::CorruptMetadata(_), "corrupt arrstore metadata: key must be a string";
    format_version_3: "format_version_3.parquet" at Open =>
        Error::UnsupportedVersion { .. }, "format version 3.0 is newer than this reader supports (2.0)";
    transform_predictor_lies: "transform_predictor_lies.parquet" at Read =>
        Error::ContentMismatch { .. }, "content hash mismatch: the cells read hash to ";
    transform_distance_lies: "transform_distance_lies.parquet" at Read =>
        Error::ContentMismatch { .. }, "content hash mismatch: the cells read hash to ";
    transform_type_lies: "transform_type_lies.parquet" at Read =>
        Error::CorruptData(_), "with offset 0 is not a uint8 value";
    transform_residuals_wider: "transform_residuals_wider.parquet" at Open =>
        Error::CorruptMetadata(_), "its residuals are unsigned and no wider than uint8, the column is uint16";
    transform_in_format_1: "transform_in_format_1.parquet" at Open =>
        Error::CorruptMetadata(_), "a format 1.4 file has a transform; transforms need format 2.0";
    scale_lies: "scale_lies.parquet" at Read =>
        Error::ContentMismatch { .. }, "content hash mismatch: the cells read hash to ";
    scale_in_format_1: "scale_in_format_1.parquet" at Open =>
        Error::CorruptMetadata(_), "column 'value' of a format 1.4 file has a scale; only a value column of format 2.0 may";
    scale_on_integers: "scale_on_integers.parquet" at Open =>
        Error::CorruptMetadata(_), "scale divide 255: a scale applies to float values, not uint8";
    transform_context_counts_lie: "transform_context_counts_lie.parquet" at Read =>
        Error::CorruptData(_), "has more cells of a context than its count";
    transform_context_counts_missing: "transform_context_counts_missing.parquet" at Read =>
        Error::CorruptMetadata(_), "context counts for 0 row groups, the file has 1";
    transform_on_runs: "transform_on_runs.parquet" at Open =>
        Error::CorruptMetadata(_), "column 'value' of a runs array has a transform; only a dense array's values may";
    format_version_not_a_number: "format_version_not_a_number.parquet" at Open =>
        Error::CorruptMetadata(_), "format_version 'one' is not major.minor";
    dtype_complex128: "dtype_complex128.parquet" at Open =>
        Error::CorruptMetadata(_), "unknown dtype 'complex128'";
    missing_shape: "missing_shape.parquet" at Open =>
        Error::CorruptMetadata(_), "missing field `shape`";
    missing_columns: "missing_columns.parquet" at Open =>
        Error::CorruptMetadata(_), "missing field `columns`";
    column_not_in_file: "column_not_in_file.parquet" at Open =>
        Error::CorruptData(_), "the metadata lists column 'value', the file has none";
    dense_shape_rows_mismatch: "dense_shape_rows_mismatch.parquet" at Open =>
        Error::CorruptData(_), "the table has 50 rows; a dense array of shape [10, 10] with nnz 50 needs 100";
    dense_stored_type_mismatch: "dense_stored_type_mismatch.parquet" at Open =>
        Error::CorruptData(_), "column 'value' has type Int32, the metadata says uint8";
    dense_value_out_of_dtype: "dense_value_out_of_dtype.parquet" at Read =>
        Error::CorruptData(_), "stored value 300 with offset 0 is not a int8 value";
    dense_offset_out_of_dtype: "dense_offset_out_of_dtype.parquet" at Read =>
        Error::CorruptData(_), "stored value 200 with offset 100 is not a int8 value";
    dense_value_nulls: "dense_value_nulls.parquet" at Read =>
        Error::CorruptData(_), "column holds 1 nulls";
    sparse_coordinate_out_of_range: "sparse_coordinate_out_of_range.parquet" at Read =>
        Error::CoordinateOutOfRange { entry: 2, axis: 1, index: 7, len: 5 },
        "coordinate 7 on axis 1 is out of range for length 5 (entry 2)";
    sparse_unsorted: "sparse_unsorted.parquet" at Read =>
        Error::UnsortedCoordinates { entry: 2, .. },
        "coordinates are not sorted in row-major order without duplicates (at entry 2)";
    sparse_duplicate: "sparse_duplicate.parquet" at Read =>
        Error::UnsortedCoordinates { entry: 1, .. },
        "coordinates are not sorted in row-major order without duplicates (at entry 1)";
    sparse_not_in_sorted_by_order: "sparse_not_in_sorted_by_order.parquet" at Read =>
        Error::UnsortedCoordinates { entry: 1, .. },
        "coordinates are not sorted in axis [1, 0] order without duplicates (at entry 1)";
    sparse_sorted_by_not_an_order: "sparse_sorted_by_not_an_order.parquet" at Open =>
        Error::CorruptMetadata(_), "sorted_by [0, 0] is not an order of the 2 axes";
    sparse_nnz_mismatch: "sparse_nnz_mismatch.parquet" at Open =>
        Error::CorruptData(_), "the table has 3 rows; a sparse array of shape [4, 5] with nnz 5 needs 5";
    sparse_nnz_exceeds_cells: "sparse_nnz_exceeds_cells.parquet" at Open =>
        Error::CorruptMetadata(_), "nnz 30 exceeds the 20 cells";
    sparse_value_nulls: "sparse_value_nulls.parquet" at Read =>
        Error::CorruptData(_), "column holds 1 nulls";
    sparse_bad_fill_bits: "sparse_bad_fill_bits.parquet" at Read =>
        Error::CorruptMetadata(_), "fill_bits 0xffffffffffffffff do not fit a float32";
    sparse_index_nulls: "sparse_index_nulls.parquet" at Read =>
        Error::CorruptData(_), "null";
    sparse_negative_coordinate: "sparse_negative_coordinate.parquet" at Open =>
        Error::CorruptMetadata(_), "index column 'row' is stored as int8";
    sparse_too_big_to_densify: "sparse_too_big_to_densify.parquet" at Read =>
        Error::BadShape { .. }, "shape [2147483648, 2147483648]";
    runs_length_overruns_row: "runs_length_overruns_row.parquet" at Read =>
        Error::CorruptData(_), "run 2 has length 5; its row has 4 cells from its start (cell 0 of 4)";
    runs_row_out_of_order: "runs_row_out_of_order.parquet" at Read =>
        Error::CorruptData(_), "run 1 has coordinate 1 on axis 0; the runs before it end in the row at 0";
    runs_length_zero: "runs_length_zero.parquet" at Read =>
        Error::CorruptData(_), "run 1 has length 0";
    runs_cover_too_few_cells: "runs_cover_too_few_cells.parquet" at Read =>
        Error::CorruptData(_), "3 runs cover 11 cells; the shape has 12";
    runs_count_mismatch: "runs_count_mismatch.parquet" at Open =>
        Error::CorruptData(_), "the table has 3 rows; a runs array of shape [3, 4] with 4 runs needs 4";
    runs_count_out_of_range: "runs_count_out_of_range.parquet" at Open =>
        Error::CorruptMetadata(_), "13 runs; an array of shape [3, 4] has 3 to 12";
    runs_without_count: "runs_without_count.parquet" at Open =>
        Error::CorruptMetadata(_), "a runs array needs its number of runs";
    runs_without_length_column: "runs_without_length_column.parquet" at Open =>
        Error::CorruptMetadata(_), "0 length columns, expected 1";
    runs_signed_length: "runs_signed_length.parquet" at Open =>
        Error::CorruptMetadata(_), "length column 'length' is stored as int8";
    decoder_panics_on_long_vlq: "decoder_panics_on_long_vlq.parquet" at Read =>
        Error::CorruptData(_), "the Parquet decoder failed on the file's data: ";
}

#[test]
fn every_bad_file_has_a_test() {
    let tested: BTreeSet<&str> = TESTED.iter().copied().collect();
    assert_eq!(tested.len(), TESTED.len(), "a file is listed twice");
    let present: BTreeSet<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".parquet"))
        .collect();
    let present: BTreeSet<&str> = present.iter().map(String::as_str).collect();
    let untested: Vec<_> = present.difference(&tested).collect();
    let missing: Vec<_> = tested.difference(&present).collect();
    assert!(
        untested.is_empty(),
        "files in tests/data/bad without a test: {untested:?}"
    );
    assert!(
        missing.is_empty(),
        "files the tests expect but tests/data/bad lacks (run regenerate_bad_files): {missing:?}"
    );
    let others: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".parquet") && n != "README.md")
        .collect();
    assert!(
        others.is_empty(),
        "unexpected files in tests/data/bad: {others:?}"
    );
}

#[test]
fn no_read_method_panics_on_a_bad_file() {
    for name in TESTED {
        let path = dir().join(name);
        let open = || ArrayFile::open(&path);
        let run = |what: &str, f: &dyn Fn() -> bool| {
            let r = catch_unwind(AssertUnwindSafe(f));
            assert!(r.is_ok(), "{name}: {what} panicked");
        };
        run("read_dyn", &|| open().and_then(ArrayFile::read_dyn).is_ok());
        run("read_narrowed", &|| {
            open().and_then(ArrayFile::read_narrowed).is_ok()
        });
        run("read_narrowed + widen", &|| {
            open()
                .and_then(ArrayFile::read_narrowed)
                .and_then(|n| n.widen())
                .is_ok()
        });
        run("read_array::<f64, IxDyn>", &|| {
            arrstore::read_array::<f64, ndarray::IxDyn>(&path).is_ok()
        });
        run("read_dyn_coo", &|| {
            open().and_then(ArrayFile::read_dyn_coo).is_ok()
        });
        run("read_coo::<i8>", &|| arrstore::read_coo::<i8>(&path).is_ok());
        run("write_npy_to", &|| {
            open().and_then(|f| f.write_npy_to(Vec::new())).is_ok()
        });
        run("verify", &|| open().and_then(ArrayFile::verify).is_ok());
        run("sizes", &|| open().map(|f| f.sizes().to_json()).is_ok());
        run("meta", &|| open().map(|f| f.meta().to_json()).is_ok());
        let bytes = bytes::Bytes::from(std::fs::read(&path).unwrap());
        run("ArrayFile::new + read_dyn_coo", &|| {
            ArrayFile::new(bytes.clone())
                .and_then(ArrayFile::read_dyn_coo)
                .is_ok()
        });
    }
}

/// The files that open without error must fail on every read, not only on `read_dyn`.
#[test]
fn files_that_open_fail_on_every_read() {
    let readable = [
        "dense_value_out_of_dtype.parquet",
        "dense_offset_out_of_dtype.parquet",
        "dense_value_nulls.parquet",
        "sparse_coordinate_out_of_range.parquet",
        "sparse_unsorted.parquet",
        "sparse_duplicate.parquet",
        "sparse_value_nulls.parquet",
        "sparse_bad_fill_bits.parquet",
        "sparse_not_in_sorted_by_order.parquet",
    ];
    for name in readable {
        let path = dir().join(name);
        let open = || ArrayFile::open(&path).unwrap();
        let e = open().read_dyn_coo().expect_err(name);
        assert!(e.to_string().contains(name), "{e}");
        // Streamed (dense) or not, the .npy export fails naming the file.
        let e = open().write_npy_to(Vec::new()).expect_err(name);
        assert!(e.to_string().contains(name), "{e}");
        // A narrowed read may hand back the stored values as they are; widening them must fail.
        match open().read_narrowed() {
            Err(e) => assert!(e.to_string().contains(name), "{e}"),
            Ok(n) => {
                let e = n.widen().expect_err(name);
                assert!(matches!(e, Error::CorruptData(_)), "{name}: {e:?}");
            }
        }
        // The size report comes from the footer alone: it works on a file whose data is bad.
        assert!(open().sizes().disk_bytes > 0, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Making the files.

/// A valid arrstore file of `a`, and its metadata as JSON as a writer of format 1.2 (without
/// checksums or content hash) would have written it, for the forged tables (whose bytes no checksum covers).
fn valid(a: &DynArray, layout: Layout) -> (Vec<u8>, Value) {
    let buf = written(a, layout);
    let file = ArrayFile::new(bytes::Bytes::from(buf.clone())).unwrap();
    let mut meta: Value = serde_json::from_str(&file.meta().to_json()).unwrap();
    meta.as_object_mut().unwrap().remove("checksums");
    meta.as_object_mut().unwrap().remove("content_hash");
    meta["format_version"] = json!("1.2");
    (buf, meta)
}

/// A file of `a` as the library writes it, uncompressed.
fn written(a: &DynArray, layout: Layout) -> Vec<u8> {
    let mut buf = Vec::new();
    // Portable: the values as they are (no scale or transform), as format 1.x stores them.
    let opts = WriteOptions::default()
        .with_layout(layout)
        .with_portable(true)
        .with_compression(Compression::UNCOMPRESSED);
    arrstore::write_dyn_to(&mut buf, a, &opts).unwrap();
    buf
}

/// The position of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{:?} not found", String::from_utf8_lossy(needle)))
}

fn arc<A: arrow::array::Array + 'static>(a: A) -> ArrayRef {
    Arc::new(a)
}

/// The metadata of a valid sparse int64 array of shape [4, 5] with 3 entries (coordinates
/// `uint8`, values `uint8`), as the library writes it.
fn sparse_meta() -> Value {
    let mut a = ndarray::Array2::<i64>::zeros((4, 5));
    a[[0, 1]] = 1;
    a[[1, 2]] = 2;
    a[[3, 4]] = 3;
    let (_, meta) = valid(&DynArray::from(a.into_dyn()), Layout::Sparse);
    assert_eq!(meta["columns"][0]["stored_type"], "uint8", "{meta}");
    assert_eq!(meta["columns"][2]["stored_type"], "uint8", "{meta}");
    meta
}

/// A sparse table of that array's columns.
fn sparse_table(rows: &[Option<u8>], cols: &[Option<u8>], values: &[Option<u8>], meta: &Value) -> Vec<u8> {
    forge(
        vec![
            ("row", arc(UInt8Array::from(rows.to_vec()))),
            ("col", arc(UInt8Array::from(cols.to_vec()))),
            ("value", arc(UInt8Array::from(values.to_vec()))),
        ],
        Some(meta.to_string()),
    )
}

/// The metadata of a valid runs int64 array of shape [3, 4] (`row`, `length` and `value` all
/// `uint8`) with 6 runs, as the library writes it.
fn runs_meta() -> Value {
    let a = ndarray::arr2(&[[1i64, 1, 2, 2], [2, 2, 2, 3], [3, 3, 3, 1]]);
    let (_, meta) = valid(&DynArray::from(a.into_dyn()), Layout::Runs);
    assert_eq!(meta["layout"], "runs", "{meta}");
    assert_eq!(meta["runs"], 6, "{meta}");
    for c in 0..3 {
        assert_eq!(meta["columns"][c]["stored_type"], "uint8", "{meta}");
    }
    meta
}

/// A run table of `rows`, `lengths` and `values` under `meta`.
fn runs_table(rows: &[u8], lengths: &[u8], values: &[u8], meta: &Value) -> Vec<u8> {
    forge(
        vec![
            ("row", arc(UInt8Array::from(rows.to_vec()))),
            ("length", arc(UInt8Array::from(lengths.to_vec()))),
            ("value", arc(UInt8Array::from(values.to_vec()))),
        ],
        Some(meta.to_string()),
    )
}

/// A dense metadata object.
fn dense_meta(dtype: &str, shape: &[u64], stored: &str, offset: i64) -> Value {
    let cells: u64 = shape.iter().product();
    let mut column = json!({"name": "value", "role": "value", "stored_type": stored});
    if offset != 0 {
        column["offset"] = json!(offset);
    }
    json!({
        "format_version": "1.1", "dtype": dtype, "shape": shape, "order": "C", "layout": "dense",
        "nnz": cells, "columns": [column], "writer": "arrstore tests/it/bad_data.rs"
    })
}

/// Every bad file, by name.
fn bad_files() -> Vec<(&'static str, Vec<u8>)> {
    let small = DynArray::from(ndarray::arr2(&[[1u8, 2, 3], [4, 5, 6]]).into_dyn());
    let (good, good_meta) = valid(&small, Layout::Dense);
    assert_eq!(good_meta["layout"], "dense");
    let n = good.len();
    let footer_len = usize::try_from(u32::from_le_bytes(good[n - 8..n - 4].try_into().unwrap())).unwrap();

    let mut garbage_footer = good.clone();
    garbage_footer[n - 8 - footer_len..n - 8].fill(0xff);
    let mut footer_too_long = good.clone();
    let too_long = u32::try_from(n).unwrap(); // longer than the file less its 8 footer bytes
    footer_too_long[n - 8..n - 4].copy_from_slice(&too_long.to_le_bytes());

    // A dense shape [2, 3] that reads as [3, 2]: the footer still parses and the cell count
    // still matches; only the footer's checksum tells.
    let mut shape_swapped = good.clone();
    let at = find(&shape_swapped, br#""shape":[2,3]"#);
    shape_swapped[at..at + 13].copy_from_slice(br#""shape":[3,2]"#);
    // One bit of a float64 value in the second 64 KiB block of the only data page.
    let noise = ndarray::Array1::from_shape_fn(20_000, |i| {
        let k = u32::try_from(i).unwrap().wrapping_mul(2_654_435_761) % 1_000_003;
        f64::from(k) / 7.0
    });
    let mut flipped_value = written(&DynArray::from(noise.into_dyn()), Layout::Dense);
    let page = {
        use parquet::file::reader::FileReader;
        let r = parquet::file::serialized_reader::SerializedFileReader::new(bytes::Bytes::from(
            flipped_value.clone(),
        ))
        .unwrap();
        usize::try_from(r.metadata().row_group(0).column(0).data_page_offset()).unwrap()
    };
    flipped_value[page + 100_000] ^= 0x04;

    let with_meta = |meta: &Value| {
        forge(
            vec![("value", arc(UInt8Array::from(vec![1u8, 2, 3, 4, 5, 6])))],
            Some(meta.to_string()),
        )
    };
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut m = good_meta.clone();
        f(&mut m);
        with_meta(&m)
    };

    // Format 2.0: a smooth 32x40 image stored with the median predictor (uint8 and uint16).
    let smooth = |i: usize, j: usize| 3 * i + 2 * j + (i * j) % 7;
    let image8 = ndarray::Array2::from_shape_fn((32, 40), |(i, j)| u8::try_from(smooth(i, j)).unwrap());
    let image16 =
        ndarray::Array2::from_shape_fn((32, 40), |(i, j)| u16::try_from(smooth(i, j) * 40).unwrap());
    let median = arrstore::predict::Prediction {
        predictor: arrstore::predict::Predictor::Median,
        left: 1,
        up: Some(40),
        colour: None,
        contexts: None,
    };
    let predicted_opts = WriteOptions::default()
        .with_layout(Layout::Dense)
        .with_compression(Compression::UNCOMPRESSED)
        .with_transform(median);
    let (mut predicted, mut predicted16, mut scaled) = (Vec::new(), Vec::new(), Vec::new());
    // Residuals split by context: its counts, and the same text with two counts swapped.
    let mut split = Vec::new();
    let split_summary = arrstore::write_array_to(
        &mut split,
        &image8,
        &WriteOptions::default()
            .with_layout(Layout::Dense)
            .with_compression(Compression::UNCOMPRESSED)
            .with_transform(arrstore::predict::Prediction {
                contexts: Some([1, 2, 3, 5, 8, 13, 21]),
                ..median
            }),
    )
    .unwrap();
    let counts = split_summary.meta.value_column().context_counts[0];
    let split_counts = format!(
        ",\"context_counts\":[{}]",
        serde_json::to_string(&counts).unwrap()
    );
    let mut swapped = counts;
    let k = (0..7)
        .find(|&k| {
            counts[k].to_string().len() == counts[k + 1].to_string().len() && counts[k] != counts[k + 1]
        })
        .unwrap();
    swapped.swap(k, k + 1);
    let lying_counts = format!(
        ",\"context_counts\":[{}]",
        serde_json::to_string(&swapped).unwrap()
    );
    let dense = WriteOptions::default()
        .with_layout(Layout::Dense)
        .with_compression(Compression::UNCOMPRESSED);
    arrstore::write_array_to(&mut scaled, &image8.mapv(|k| f64::from(k) / 255.0), &dense).unwrap();
    arrstore::write_array_to(&mut predicted, &image8, &predicted_opts).unwrap();
    arrstore::write_array_to(&mut predicted16, &image16, &predicted_opts).unwrap();

    let sparse = sparse_meta();
    let (s, some) = (&sparse, |v: &[u8]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>());
    let mut sparse_nnz_5 = sparse.clone();
    sparse_nnz_5["nnz"] = json!(5);
    let mut by_col = sparse.clone();
    by_col["sorted_by"] = json!([1, 0]);
    let mut by_nothing = sparse.clone();
    by_nothing["sorted_by"] = json!([0, 0]);
    let mut sparse_nnz_30 = sparse.clone();
    sparse_nnz_30["nnz"] = json!(30);
    let mut f32_sparse = sparse.clone();
    f32_sparse["dtype"] = json!("float32");
    f32_sparse["fill_bits"] = json!("0xffffffffffffffff");
    let mut signed_rows = sparse.clone();
    signed_rows["columns"][0]["stored_type"] = json!("int8");
    let mut huge = sparse.clone();
    huge["dtype"] = json!("float64");
    huge["shape"] = json!([1u64 << 31, 1u64 << 31]);
    huge["columns"][0]["stored_type"] = json!("uint32");
    huge["columns"][1]["stored_type"] = json!("uint32");
    huge["columns"][2]["stored_type"] = json!("float64");
    let runs = runs_meta();
    let runs_with = |edit: &dyn Fn(&mut Value)| {
        let mut m = runs.clone();
        edit(&mut m);
        m
    };
    let (runs_3, runs_4) = (
        runs_with(&|m| m["runs"] = json!(3)),
        runs_with(&|m| m["runs"] = json!(4)),
    );

    vec![
        ("empty.parquet", Vec::new()),
        (
            "text.parquet",
            b"shape,dtype\n3x3,float64\nthis is a CSV file, not Parquet\n".to_vec(),
        ),
        ("truncated_footer.parquet", good[..n - 20].to_vec()),
        ("garbage_footer.parquet", garbage_footer),
        ("checksum_footer_json_changed.parquet", shape_swapped),
        ("checksum_value_bit_flipped.parquet", flipped_value),
        (
            "checksums_missing_in_1_3.parquet",
            edit(&|m| m["format_version"] = json!("1.3")),
        ),
        (
            "checksums_list_too_short.parquet",
            edit(&|m| {
                m["format_version"] = json!("1.3");
                m["checksums"] = json!({"algorithm": "crc32", "block_bytes": 65536,
                    "data_bytes": 100, "blocks": "", "tail_crc": "00000000"});
            }),
        ),
        ("footer_length_too_long.parquet", footer_too_long),
        (
            "foreign_table.parquet",
            forge(
                vec![
                    ("id", arc(Int32Array::from(vec![1, 2, 3]))),
                    ("name", arc(StringArray::from(vec!["a", "b", "c"]))),
                ],
                None,
            ),
        ),
        (
            "metadata_not_json.parquet",
            forge(
                vec![("value", arc(UInt8Array::from(vec![1u8, 2, 3, 4, 5, 6])))],
                Some("{format_version: 1.0, dtype: uint8}".into()),
            ),
        ),
        (
            "format_version_3.parquet",
            edit(&|m| m["format_version"] = json!("3.0")),
        ),
        (
            "transform_predictor_lies.parquet",
            with_footer_text(&predicted, r#""predictor":"median""#, r#""predictor":"up"    "#),
        ),
        (
            "transform_distance_lies.parquet",
            with_footer_text(&predicted, r#""up":40}"#, r#""up":39}"#),
        ),
        (
            "transform_type_lies.parquet",
            with_footer_text(&predicted, r#""of_type":"uint8""#, r#""of_type":"int16""#),
        ),
        (
            "transform_residuals_wider.parquet",
            with_footer_text(&predicted16, r#""of_type":"uint16""#, r#""of_type":"uint8" "#),
        ),
        (
            "transform_in_format_1.parquet",
            with_footer_text(
                &predicted,
                r#""format_version":"2.0""#,
                r#""format_version":"1.4""#,
            ),
        ),
        (
            "scale_lies.parquet",
            with_footer_text(&scaled, r#""by":255.0"#, r#""by":254.0"#),
        ),
        (
            "scale_in_format_1.parquet",
            with_footer_text(&scaled, r#""format_version":"2.0""#, r#""format_version":"1.4""#),
        ),
        (
            "scale_on_integers.parquet",
            with_footer_text(&scaled, r#""dtype":"float64""#, r#""dtype":"uint8"  "#),
        ),
        (
            "transform_context_counts_lie.parquet",
            with_footer_text(&split, &split_counts, &lying_counts),
        ),
        (
            "transform_context_counts_missing.parquet",
            with_footer_text(&split, &split_counts, &" ".repeat(split_counts.len())),
        ),
        (
            "transform_on_runs.parquet",
            runs_table(
                &[0, 0, 1],
                &[2, 1, 3],
                &[7, 8, 9],
                &runs_with(&|m| {
                    m["columns"][2]["transform"] =
                        json!({"predictor": "left", "of_type": "uint8", "left": 1});
                }),
            ),
        ),
        (
            "format_version_not_a_number.parquet",
            edit(&|m| m["format_version"] = json!("one")),
        ),
        (
            "dtype_complex128.parquet",
            edit(&|m| m["dtype"] = json!("complex128")),
        ),
        (
            "missing_shape.parquet",
            edit(&|m| {
                m.as_object_mut().unwrap().remove("shape");
            }),
        ),
        (
            "missing_columns.parquet",
            edit(&|m| {
                m.as_object_mut().unwrap().remove("columns");
            }),
        ),
        (
            "column_not_in_file.parquet",
            forge(
                vec![("v", arc(UInt8Array::from(vec![1u8, 2, 3, 4, 5, 6])))],
                Some(good_meta.to_string()),
            ),
        ),
        (
            "dense_shape_rows_mismatch.parquet",
            forge(
                vec![("value", arc(Float64Array::from(vec![0.5; 50])))],
                Some({
                    let mut m = dense_meta("float64", &[10, 10], "float64", 0);
                    m["nnz"] = json!(50);
                    m.to_string()
                }),
            ),
        ),
        (
            "dense_stored_type_mismatch.parquet",
            forge(
                vec![("value", arc(Int32Array::from(vec![1, 2, 3, 4, 5, 6])))],
                Some(good_meta.to_string()),
            ),
        ),
        (
            "dense_value_out_of_dtype.parquet",
            forge(
                vec![("value", arc(UInt16Array::from(vec![1u16, 300, 3])))],
                Some(dense_meta("int8", &[3], "uint16", 0).to_string()),
            ),
        ),
        (
            "dense_offset_out_of_dtype.parquet",
            forge(
                vec![("value", arc(UInt8Array::from(vec![0u8, 27, 200])))],
                Some(dense_meta("int8", &[3], "uint8", 100).to_string()),
            ),
        ),
        (
            "dense_value_nulls.parquet",
            forge(
                vec![("value", arc(UInt8Array::from(vec![Some(1u8), None, Some(3)])))],
                Some(dense_meta("uint16", &[3], "uint8", 0).to_string()),
            ),
        ),
        (
            "sparse_coordinate_out_of_range.parquet",
            sparse_table(&some(&[0, 1, 3]), &some(&[1, 2, 7]), &some(&[1, 2, 3]), s),
        ),
        (
            "sparse_not_in_sorted_by_order.parquet",
            sparse_table(&some(&[0, 1, 3]), &some(&[2, 1, 4]), &some(&[1, 2, 3]), &by_col),
        ),
        (
            "sparse_sorted_by_not_an_order.parquet",
            sparse_table(
                &some(&[0, 1, 3]),
                &some(&[1, 2, 4]),
                &some(&[1, 2, 3]),
                &by_nothing,
            ),
        ),
        (
            "sparse_unsorted.parquet",
            sparse_table(&some(&[0, 3, 1]), &some(&[1, 4, 2]), &some(&[1, 2, 3]), s),
        ),
        (
            "sparse_duplicate.parquet",
            sparse_table(&some(&[0, 0, 3]), &some(&[1, 1, 4]), &some(&[1, 2, 3]), s),
        ),
        (
            "sparse_nnz_mismatch.parquet",
            sparse_table(
                &some(&[0, 1, 3]),
                &some(&[1, 2, 4]),
                &some(&[1, 2, 3]),
                &sparse_nnz_5,
            ),
        ),
        (
            "sparse_nnz_exceeds_cells.parquet",
            sparse_table(
                &some(&[0, 1, 3]),
                &some(&[1, 2, 4]),
                &some(&[1, 2, 3]),
                &sparse_nnz_30,
            ),
        ),
        (
            "sparse_value_nulls.parquet",
            sparse_table(&some(&[0, 1, 3]), &some(&[1, 2, 4]), &[Some(1), None, Some(3)], s),
        ),
        (
            "sparse_index_nulls.parquet",
            sparse_table(&some(&[0, 1, 3]), &[Some(1), Some(2), None], &some(&[1, 2, 3]), s),
        ),
        (
            "sparse_bad_fill_bits.parquet",
            forge(
                vec![
                    ("row", arc(UInt8Array::from(vec![0u8, 1, 3]))),
                    ("col", arc(UInt8Array::from(vec![1u8, 2, 4]))),
                    ("value", arc(UInt8Array::from(vec![1u8, 2, 3]))),
                ],
                Some(f32_sparse.to_string()),
            ),
        ),
        (
            "sparse_negative_coordinate.parquet",
            forge(
                vec![
                    ("row", arc(Int8Array::from(vec![-1i8, 1, 3]))),
                    ("col", arc(UInt8Array::from(vec![1u8, 2, 4]))),
                    ("value", arc(UInt8Array::from(vec![1u8, 2, 3]))),
                ],
                Some(signed_rows.to_string()),
            ),
        ),
        (
            "runs_length_overruns_row.parquet",
            runs_table(&[0, 0, 1, 2], &[2, 2, 5, 3], &[1, 2, 2, 3], &runs_4),
        ),
        (
            "runs_row_out_of_order.parquet",
            runs_table(&[0, 1, 1], &[2, 4, 4], &[1, 2, 3], &runs_3),
        ),
        (
            "runs_length_zero.parquet",
            runs_table(&[0, 1, 1, 2], &[4, 0, 4, 4], &[1, 2, 2, 3], &runs_4),
        ),
        (
            "runs_cover_too_few_cells.parquet",
            runs_table(&[0, 1, 2], &[4, 4, 3], &[1, 2, 3], &runs_3),
        ),
        (
            "runs_count_mismatch.parquet",
            runs_table(&[0, 1, 2], &[4, 4, 4], &[1, 2, 3], &runs_4),
        ),
        (
            "runs_count_out_of_range.parquet",
            runs_table(
                &[0, 1, 2],
                &[4, 4, 4],
                &[1, 2, 3],
                &runs_with(&|m| m["runs"] = json!(13)),
            ),
        ),
        (
            "runs_without_count.parquet",
            runs_table(
                &[0, 1, 2],
                &[4, 4, 4],
                &[1, 2, 3],
                &runs_with(&|m| {
                    m.as_object_mut().unwrap().remove("runs");
                }),
            ),
        ),
        (
            "runs_without_length_column.parquet",
            runs_table(
                &[0, 1, 2],
                &[4, 4, 4],
                &[1, 2, 3],
                &runs_with(&|m| {
                    m["runs"] = json!(3);
                    m["columns"].as_array_mut().unwrap().remove(1);
                }),
            ),
        ),
        (
            "runs_signed_length.parquet",
            forge(
                vec![
                    ("row", arc(UInt8Array::from(vec![0u8, 1, 2]))),
                    ("length", arc(Int8Array::from(vec![4i8, 4, 4]))),
                    ("value", arc(UInt8Array::from(vec![1u8, 2, 3]))),
                ],
                Some(
                    runs_with(&|m| {
                        m["runs"] = json!(3);
                        m["columns"][1]["stored_type"] = json!("int8");
                    })
                    .to_string(),
                ),
            ),
        ),
        ("decoder_panics_on_long_vlq.parquet", long_vlq()),
        (
            "sparse_too_big_to_densify.parquet",
            forge(
                vec![
                    (
                        "row",
                        arc(arrow::array::UInt32Array::from(vec![0u32, 1, 1 << 30])),
                    ),
                    ("col", arc(arrow::array::UInt32Array::from(vec![1u32, 2, 4]))),
                    ("value", arc(Float64Array::from(vec![0.1, 0.2, 0.3]))),
                ],
                Some(huge.to_string()),
            ),
        ),
    ]
}

/// A dense `int32` file of format 1.2 (no checksums) whose `value` column is delta-encoded, with
/// the first integer of the page's delta header (the block size, 128) overwritten by twelve
/// `0xff` bytes: a variable-length integer longer than ten bytes, on which the parquet crate's
/// decoder panics (an assertion; in a build with overflow checks, the shift before it).
fn long_vlq() -> Vec<u8> {
    let values: Vec<i32> = (0..100).map(|i: i32| (i * i * 7919) % 100_003).collect();
    let mut file = forge_with(
        vec![("value", arc(Int32Array::from(values)))],
        Some(dense_meta("int32", &[100], "int32", 0).to_string()),
        |p| {
            p.set_dictionary_enabled(false)
                .set_encoding(Encoding::DELTA_BINARY_PACKED)
        },
    );
    // Block size 128, 4 miniblocks, 100 values, as variable-length integers.
    let header = [0x80, 0x01, 0x04, 0x64];
    let at = find(&file, &header);
    assert_eq!(
        file.windows(header.len()).filter(|w| *w == header).count(),
        1,
        "the delta header is not unique"
    );
    file[at..at + 12].fill(0xff);
    file
}

/// Rewrites `tests/data/bad/`: `cargo test --test it -- --ignored --exact bad_data::regenerate_bad_files`.
#[test]
#[ignore = "rewrites tests/data/bad; run by hand"]
fn regenerate_bad_files() {
    std::fs::create_dir_all(dir()).unwrap();
    for entry in std::fs::read_dir(dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "parquet") {
            std::fs::remove_file(p).unwrap();
        }
    }
    for (name, bytes) in bad_files() {
        std::fs::write(dir().join(name), bytes).unwrap();
    }
}

/// The committed files are the ones [`regenerate_bad_files`] makes (the recipe is the record).
#[test]
fn the_committed_files_are_the_regenerated_ones() {
    for (name, bytes) in bad_files() {
        let on_disk = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            on_disk == bytes,
            "{name} differs from what regenerate_bad_files makes; rerun it"
        );
    }
}

/// The command line reports a panic of the Parquet decoder as an error naming the file, on
/// every command that decodes the data, and prints no panic message.
#[test]
fn the_cli_reports_a_decoder_panic_as_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let file = dir().join("decoder_panics_on_long_vlq.parquet");
    let file = file.to_str().unwrap();
    let table = format!("t={file}");
    let commands: [&[&str]; 3] = [
        &["read", file, "-o", "out.npy"],
        &["verify", file],
        &["sql", "SELECT sum(value) FROM t", "--table", &table],
    ];
    for args in commands {
        let r = crate::common::run_in(tmp.path(), args);
        assert_eq!(r.code, 1, "{args:?}: {r:?}");
        assert!(
            r.stderr.starts_with(&format!(
                "error: {file}: corrupt data: the Parquet decoder failed on the file's data: "
            )),
            "{args:?}: {r:?}"
        );
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
        assert_eq!(
            crate::common::listing(tmp.path()),
            Vec::<String>::new(),
            "{args:?}"
        );
    }
}
