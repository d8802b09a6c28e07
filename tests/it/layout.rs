//! The physical Parquet file: columns, Arrow and Parquet types, encodings, dictionary pages,
//! compression, row groups and the arrstore key, read with parquet-rs itself, so "narrowed" and
//! "dictionary-encoded" are proved rather than assumed.

use arrow::array::{Array as _, AsArray, RecordBatch};
use arrow::datatypes::{DataType, SchemaRef, UInt64Type};
use arrstore::{
    write_array_to, write_coo_to, ArrayFile, ArrayMeta, Coo, DType, Element, Layout, Scalar, WriteOptions,
    WriteSummary,
};
use bytes::Bytes;
use ndarray::{Array, Array1, Array2, Array3, Dimension, ShapeBuilder};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, Encoding, Type as PhysicalType};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{FileReader, SerializedFileReader};

/// The file `opts` makes of `a`, and the writer's summary.
fn write<T: Element, D: Dimension>(a: &Array<T, D>, opts: &WriteOptions) -> (Bytes, WriteSummary) {
    let mut buf = Vec::new();
    let s = write_array_to(&mut buf, a, opts).unwrap();
    assert_eq!(s.file_bytes, buf.len() as u64);
    (Bytes::from(buf), s)
}

/// Dense and portable: the values as they are (less an offset), the layout of format 1.x;
/// the residuals of a transform and the integers of a scale (format 2.0) are checked in
/// `transform.rs`.
fn dense() -> WriteOptions {
    WriteOptions::default()
        .with_layout(Layout::Dense)
        .with_portable(true)
}

fn sparse() -> WriteOptions {
    WriteOptions::default().with_layout(Layout::Sparse)
}

/// The Parquet footer.
fn read_footer(file: &Bytes) -> ParquetMetaData {
    SerializedFileReader::new(file.clone())
        .unwrap()
        .metadata()
        .clone()
}

/// The Arrow schema embedded in the file.
fn arrow_schema(file: &Bytes) -> SchemaRef {
    ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .unwrap()
        .schema()
        .clone()
}

fn batches(file: &Bytes) -> Vec<RecordBatch> {
    ParquetRecordBatchReaderBuilder::try_new(file.clone())
        .unwrap()
        .build()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Every value of an integer column, as u64.
fn column_u64(file: &Bytes, name: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for b in batches(file) {
        let c = arrow::compute::cast(b.column_by_name(name).unwrap(), &DataType::UInt64).unwrap();
        out.extend_from_slice(c.as_primitive::<UInt64Type>().values());
    }
    out
}

/// The names of the file's columns, from the Parquet schema.
fn column_names(footer: &ParquetMetaData) -> Vec<String> {
    let s = footer.file_metadata().schema_descr();
    (0..s.num_columns())
        .map(|i| s.column(i).name().to_string())
        .collect()
}

/// Asserts each column chunk carries the encoding the arrstore metadata names, with a
/// dictionary page exactly when the metadata says `dictionary`, and is compressed by `codec`.
fn assert_physical_columns(file: &Bytes, meta: &ArrayMeta, codec: impl Fn(Compression) -> bool) {
    let footer = read_footer(file);
    assert_eq!(
        column_names(&footer),
        meta.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
    );
    for rg in footer.row_groups() {
        for (i, c) in meta.columns.iter().enumerate() {
            let chunk = rg.column(i);
            assert_eq!(chunk.column_descr().name(), c.name);
            assert!(
                codec(chunk.compression()),
                "{}: {:?}",
                c.name,
                chunk.compression()
            );
            let enc: Vec<Encoding> = chunk.encodings().collect();
            let name = c
                .encoding
                .as_deref()
                .expect("the writer records each column's encoding");
            let dictionary = chunk.dictionary_page_offset().is_some();
            let expected: &[Encoding] = match name {
                "plain" => &[Encoding::PLAIN],
                "dictionary" => &[Encoding::RLE_DICTIONARY, Encoding::PLAIN_DICTIONARY],
                "delta_binary_packed" => &[Encoding::DELTA_BINARY_PACKED],
                "byte_stream_split" => &[Encoding::BYTE_STREAM_SPLIT],
                "rle" => &[Encoding::RLE],
                other => panic!("{}: unknown encoding name '{other}'", c.name),
            };
            assert!(
                expected.iter().any(|e| enc.contains(e)),
                "{}: metadata says {name}, footer has {enc:?}",
                c.name
            );
            assert_eq!(
                dictionary,
                name == "dictionary",
                "{}: {name} with encodings {enc:?}",
                c.name
            );
        }
    }
}

fn zstd(c: Compression) -> bool {
    matches!(c, Compression::ZSTD(_))
}

/// The Parquet physical type of column `name`.
fn physical_type(footer: &ParquetMetaData, name: &str) -> PhysicalType {
    let s = footer.file_metadata().schema_descr();
    (0..s.num_columns())
        .map(|i| s.column(i))
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .physical_type()
}

/// A pseudo-random 64-bit hash of `k` (splitmix64).
fn mix(k: u64) -> u64 {
    let mut z = k.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counts 0..60000 in a 300×200 int64 array, in pseudo-random order.
fn counts() -> Array2<i64> {
    let mut a = Array2::from_shape_fn((300, 200), |(i, j)| (i * 200 + j) as i64);
    // A fixed shuffle, so no encoding wins by sortedness alone.
    let flat = a.as_slice_mut().unwrap();
    for i in (1..flat.len()).rev() {
        flat.swap(i, (mix(i as u64) % (i as u64 + 1)) as usize);
    }
    a
}

#[test]
fn dense_counts_are_one_uint16_value_column() {
    let a = counts();
    let (file, s) = write(&a, &dense());
    let footer = read_footer(&file);
    assert_eq!(column_names(&footer), ["value"]);
    assert_eq!(physical_type(&footer, "value"), PhysicalType::INT32);
    let schema = arrow_schema(&file);
    assert_eq!(schema.fields().len(), 1);
    assert_eq!(schema.field(0).name(), "value");
    assert_eq!(schema.field(0).data_type(), &DataType::UInt16);
    assert!(!schema.field(0).is_nullable());
    assert_eq!(footer.file_metadata().num_rows(), 60_000);
    assert_physical_columns(&file, &s.meta, zstd);

    // The arrstore key: one, JSON, with the documented fields.
    let kv = footer
        .file_metadata()
        .key_value_metadata()
        .expect("key-value metadata");
    let ours: Vec<_> = kv.iter().filter(|k| k.key == "arrstore").collect();
    assert_eq!(ours.len(), 1);
    assert!(
        !kv.iter().any(|k| k.key == "ARROW:schema"),
        "no dictionary column: the Parquet logical types carry the Arrow types"
    );
    let json: serde_json::Value = serde_json::from_str(ours[0].value.as_deref().unwrap()).unwrap();
    assert!(
        json["format_version"].as_str().unwrap().starts_with("1."),
        "{json}"
    );
    assert_eq!(json["dtype"], "int64");
    assert_eq!(json["shape"], serde_json::json!([300, 200]));
    assert_eq!(json["order"], "C");
    assert_eq!(json["layout"], "dense");
    assert_eq!(json["nnz"], 59_999, "every cell but the one zero");
    let columns = json["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 1);
    assert_eq!(columns[0]["name"], "value");
    assert_eq!(columns[0]["role"], "value");
    assert_eq!(columns[0]["stored_type"], "uint16");
    assert_eq!(
        columns[0]["encoding"].as_str(),
        s.meta.value_column().encoding.as_deref()
    );
    assert!(
        columns[0].get("offset").is_none(),
        "a zero offset is left out: {json}"
    );
    assert_eq!(ArrayMeta::from_json(&json.to_string()).unwrap(), s.meta);
}

#[test]
fn footer_encodings_match_the_metadata_for_many_kinds_of_data() {
    let sorted = Array1::from_iter(0..60_000i64);
    let few = Array1::from_shape_fn(50_000, |i| {
        [7i64, -3_000_000, 123_456_789_012][mix(i as u64) as usize % 3]
    });
    let noise = Array1::from_shape_fn(50_000, |i| f64::from_bits(mix(i as u64)));
    let floats = Array1::from_shape_fn(50_000, |i| (i as f64).sin());
    let bools = Array1::from_shape_fn(50_000, |i| i % 1000 < 500);
    let mut chosen = std::collections::BTreeSet::new();
    let mut run = |file: Bytes, s: WriteSummary| {
        assert_physical_columns(&file, &s.meta, zstd);
        chosen.insert(s.meta.value_column().encoding.clone().unwrap());
    };
    for opts in [dense(), sparse()] {
        let (f, s) = write(&sorted, &opts);
        run(f, s);
        let (f, s) = write(&few, &opts);
        run(f, s);
        let (f, s) = write(&noise, &opts);
        run(f, s);
        let (f, s) = write(&floats, &opts);
        run(f, s);
        let (f, s) = write(&bools, &opts);
        run(f, s);
        let (f, s) = write(&counts(), &opts);
        run(f, s);
    }
    assert!(
        chosen.len() >= 3,
        "the data should exercise several encodings, got {chosen:?}"
    );
}

/// 1000 × `cols` float64 with about 1% nonzeros at pseudo-random positions and 5 distinct
/// values, and those positions and values in row-major order.
fn sprinkled(cols: usize) -> (Array2<f64>, Vec<(u64, u64, f64)>) {
    const VALUES: [f64; 5] = [0.1, -2.5e-3, 1.0 / 3.0, 6.02e23, 1e-300];
    let mut a = Array2::zeros((1000, cols));
    let mut entries = Vec::new();
    for ((i, j), x) in a.indexed_iter_mut() {
        let h = mix((i * cols + j) as u64);
        if h.is_multiple_of(100) {
            *x = VALUES[(h >> 32) as usize % 5];
            entries.push((i as u64, j as u64, *x));
        }
    }
    (a, entries)
}

#[test]
fn sparse_2d_is_row_col_value_sorted_with_a_dictionary() {
    let (a, entries) = sprinkled(300);
    assert!(
        (2500..3500).contains(&entries.len()),
        "about 1%: {}",
        entries.len()
    );
    let (file, s) = write(&a, &sparse());
    let footer = read_footer(&file);
    assert_eq!(column_names(&footer), ["row", "col", "value"]);
    let schema = arrow_schema(&file);
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["row", "col", "value"]);
    assert_eq!(
        schema.field(0).data_type(),
        &DataType::UInt16,
        "1000 rows need 2 bytes"
    );
    assert_eq!(
        schema.field(1).data_type(),
        &DataType::UInt16,
        "300 columns need 2 bytes"
    );
    assert_eq!(physical_type(&footer, "row"), PhysicalType::INT32);
    assert_eq!(physical_type(&footer, "value"), PhysicalType::DOUBLE);
    // Dictionary pages on disk, plain values for Arrow readers: no embedded Arrow schema.
    assert_eq!(schema.field(2).data_type(), &DataType::Float64);
    assert!(!footer
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .iter()
        .any(|k| k.key == "ARROW:schema"));
    assert_eq!(s.meta.value_column().encoding.as_deref(), Some("dictionary"));
    // On request, the value column is declared an Arrow dictionary, over the same pages.
    let (declared, _) = write(&a, &sparse().with_arrow_dictionary(true));
    let DataType::Dictionary(key, value) = arrow_schema(&declared).field(2).data_type().clone() else {
        panic!(
            "value column is {}, expected a dictionary",
            arrow_schema(&declared).field(2)
        )
    };
    assert!(key.is_integer(), "{key}");
    assert_eq!(*value, DataType::Float64);
    let back: ndarray::Array2<f64> = arrstore::ArrayFile::new(declared).unwrap().read().unwrap();
    assert!(back.iter().zip(a.iter()).all(|(x, y)| x.to_bits() == y.to_bits()));
    for rg in footer.row_groups() {
        assert!(
            rg.column(2).dictionary_page_offset().is_some(),
            "a dictionary page"
        );
    }
    assert_physical_columns(&file, &s.meta, zstd);
    assert_eq!(footer.file_metadata().num_rows(), entries.len() as i64);
    assert_eq!(s.meta.nnz, entries.len() as u64);

    // Row-major order, exactly the entries.
    let (rows, cols) = (column_u64(&file, "row"), column_u64(&file, "col"));
    let pairs: Vec<(u64, u64)> = rows.iter().copied().zip(cols.iter().copied()).collect();
    assert!(
        pairs.windows(2).all(|w| w[0] < w[1]),
        "entries sorted row-major, no duplicates"
    );
    assert_eq!(pairs, entries.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>());
    let mut values = Vec::new();
    for b in batches(&file) {
        let v = arrow::compute::cast(b.column_by_name("value").unwrap(), &DataType::Float64).unwrap();
        values.extend(
            v.as_primitive::<arrow::datatypes::Float64Type>()
                .values()
                .iter()
                .map(|x| x.to_bits()),
        );
    }
    assert_eq!(values, entries.iter().map(|e| e.2.to_bits()).collect::<Vec<_>>());
}

/// A document-term COO: `docs` documents (axis `doc_axis`) of `terms` terms (the last axis),
/// term `t` in a document with probability about 10/(t+1), so the first terms are in almost
/// every document; in `slices` slices along axis 0 when there are three axes.
fn document_terms(slices: usize, docs: usize, terms: usize) -> Coo<u8> {
    let mut shape = vec![docs, terms];
    if slices > 1 {
        shape.insert(0, slices);
    }
    let mut coords = vec![Vec::new(); shape.len()];
    let mut values = Vec::new();
    for s in 0..slices {
        for d in 0..docs {
            for t in 0..terms {
                let h = mix(((s * docs + d) * terms + t) as u64);
                if h % 1000 < 10_000 / (t as u64 + 1) {
                    let at = [s as u64, d as u64, t as u64];
                    for (c, &x) in coords.iter_mut().zip(&at[3 - shape.len()..]) {
                        c.push(x);
                    }
                    values.push(1 + (h >> 40) as u8 % 3);
                }
            }
        }
    }
    Coo::new(shape, coords, values, 0)
}

#[test]
fn sparse_entries_take_the_order_that_measures_smaller() {
    // By term, each popular term's documents are a run of gaps of 1: smaller than by document.
    for (coo, sorted_by, names) in [
        (document_terms(1, 5000, 500), vec![1, 0], vec!["row", "col"]),
        (
            document_terms(2, 2500, 500),
            vec![0, 2, 1],
            vec!["dim_0", "dim_1", "dim_2"],
        ),
    ] {
        let mut buf = Vec::new();
        let s = write_coo_to(&mut buf, &coo, &WriteOptions::default()).unwrap();
        let file = Bytes::from(buf);
        assert_eq!(
            s.meta.sorted_by.as_deref(),
            Some(sorted_by.as_slice()),
            "{:?}",
            coo.shape()
        );
        // The rows of the file are strictly increasing in that order, and are the entries.
        let columns: Vec<Vec<u64>> = names.iter().map(|n| column_u64(&file, n)).collect();
        let keys: Vec<Vec<u64>> = (0..coo.nnz())
            .map(|e| sorted_by.iter().map(|&axis| columns[axis][e]).collect())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted by {sorted_by:?}");
        let mut stored: Vec<Vec<u64>> = (0..coo.nnz())
            .map(|e| (0..names.len()).map(|axis| columns[axis][e]).collect())
            .collect();
        stored.sort();
        let entries: Vec<Vec<u64>> = (0..coo.nnz())
            .map(|e| (0..names.len()).map(|axis| coo.coords(axis).get(e)).collect())
            .collect();
        assert_eq!(stored, entries);
        // Read back row-major, exactly.
        let back: Coo<u8> = ArrayFile::new(file.clone()).unwrap().read_coo().unwrap();
        assert_eq!(back, coo);
        let dense: ndarray::ArrayD<u8> = ArrayFile::new(file).unwrap().read().unwrap();
        assert_eq!(dense, coo.to_dense());
    }
    // Entries at uniform random positions measure alike in every order: row-major stays.
    let (a, _) = sprinkled(300);
    let (_, s) = write(&a, &sparse());
    assert_eq!(s.meta.sorted_by, Some(vec![0, 1]));
}

#[test]
fn index_columns_take_the_width_their_axis_needs() {
    let (a, _) = sprinkled(200);
    let (file, s) = write(&a, &sparse());
    let schema = arrow_schema(&file);
    assert_eq!(
        schema.field_with_name("row").unwrap().data_type(),
        &DataType::UInt16
    );
    assert_eq!(
        schema.field_with_name("col").unwrap().data_type(),
        &DataType::UInt8,
        "200 columns: 1 byte"
    );
    let cols: Vec<_> = s.meta.index_columns().iter().map(|c| c.stored_type).collect();
    assert_eq!(cols, [DType::U16, DType::U8]);

    for (len, arrow) in [(256, DataType::UInt8), (257, DataType::UInt16)] {
        let mut a = Array1::<u8>::zeros(len);
        a[len - 1] = 1;
        let (file, _) = write(&a, &sparse());
        assert_eq!(
            arrow_schema(&file).field_with_name("dim_0").unwrap().data_type(),
            &arrow,
            "axis {len}"
        );
        assert_eq!(column_u64(&file, "dim_0"), [len as u64 - 1]);
    }
}

#[test]
fn sparse_3d_has_dim_columns() {
    let a = Array3::from_shape_fn((4, 5, 6), |(i, j, k)| {
        if (i + j + k) % 7 == 0 {
            (i * j) as u32 + 1
        } else {
            0
        }
    });
    let (file, s) = write(&a, &sparse());
    assert_eq!(
        column_names(&read_footer(&file)),
        ["dim_0", "dim_1", "dim_2", "value"]
    );
    assert_physical_columns(&file, &s.meta, zstd);
    let axes: Vec<_> = s.meta.index_columns().iter().map(|c| c.axis).collect();
    assert_eq!(axes, [Some(0), Some(1), Some(2)]);

    // Long axes, from a COO (no dense array of 63 million cells needed).
    let coo = Coo::new(
        vec![3, 300, 70_000],
        vec![vec![0, 1, 2], vec![299, 0, 150], vec![69_999, 5, 0]],
        vec![1.5f32, -2.0, 3.25],
        0.0,
    );
    let mut buf = Vec::new();
    write_coo_to(&mut buf, &coo, &WriteOptions::default()).unwrap();
    let file = Bytes::from(buf);
    let schema = arrow_schema(&file);
    let types: Vec<_> = schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect();
    assert_eq!(types[0], ("dim_0".to_string(), DataType::UInt8));
    assert_eq!(types[1], ("dim_1".to_string(), DataType::UInt16));
    assert_eq!(types[2], ("dim_2".to_string(), DataType::UInt32));
    assert_eq!(DType::from_arrow(&types[3].1), Some(DType::F32));
    assert_eq!(column_u64(&file, "dim_2"), [69_999, 5, 0]);
}

/// The Arrow type of the dense value column and its Parquet physical type.
fn dense_types<T: Element>(values: Vec<T>) -> (DataType, PhysicalType, WriteSummary) {
    let (file, s) = write(&Array1::from(values), &dense());
    let footer = read_footer(&file);
    assert_physical_columns(&file, &s.meta, zstd);
    (
        arrow_schema(&file).field(0).data_type().clone(),
        physical_type(&footer, "value"),
        s,
    )
}

#[test]
fn stored_types_are_physical() {
    use DataType as A;
    use PhysicalType as P;
    let (a, p, _) = dense_types((0..4095).map(f64::from).collect());
    assert_eq!((a, p), (A::UInt16, P::INT32), "whole float64 as an integer");
    let (a, p, _) = dense_types(vec![-1.0f64, 100.0, 3.0]);
    assert_eq!((a, p), (A::Int8, P::INT32));
    let (a, p, _) = dense_types(vec![0.5f64, -0.0, f64::INFINITY, 1e30f32.into()]);
    assert_eq!((a, p), (A::Float32, P::FLOAT), "f32-exact float64");
    let (a, p, _) = dense_types(vec![0.1f64, 1.0]);
    assert_eq!((a, p), (A::Float64, P::DOUBLE));
    let (a, p, _) = dense_types(vec![true, false, true]);
    assert_eq!((a, p), (A::Boolean, P::BOOLEAN));
    let t12 = 1_000_000_000_000i64;
    let (a, p, s) = dense_types((t12..=t12 + 200).collect());
    assert_eq!((a, p), (A::UInt8, P::INT32));
    assert_eq!(s.meta.value_column().offset, i128::from(t12));
    let (a, p, _) = dense_types(vec![0u64, u64::MAX]);
    assert_eq!((a, p), (A::UInt64, P::INT64));
    let (a, p, _) = dense_types(vec![i64::MIN, 0]);
    assert_eq!((a, p), (A::Int64, P::INT64));
    let (a, p, _) = dense_types(vec![1.5f32, 2.0]);
    assert_eq!((a, p), (A::Float32, P::FLOAT));
}

#[test]
fn row_group_size_is_honoured() {
    let a = Array2::from_shape_fn((100, 100), |(i, j)| (i * 100 + j) as u32 * 3);
    let (file, _) = write(&a, &dense().with_row_group_size(1000));
    let footer = read_footer(&file);
    assert_eq!(footer.num_row_groups(), 10);
    assert!(footer.row_groups().iter().all(|rg| rg.num_rows() == 1000));
    let back: Array2<u32> = arrstore::read_array_from(file).unwrap();
    assert_eq!(back, a);

    // Fortran order is stored in C order all the same, in row groups.
    let mut f = Array2::<u32>::zeros((100, 100).f());
    f.assign(&a);
    let (file, _) = write(&f, &dense().with_row_group_size(1000));
    assert_eq!(read_footer(&file).num_row_groups(), 10);
    assert_eq!(
        column_u64(&file, "value"),
        a.iter().map(|&x| u64::from(x)).collect::<Vec<_>>()
    );

    let s = Array1::from_shape_fn(10_000, |i| if i % 2 == 0 { i as i16 } else { 0 });
    let (file, _) = write(&s, &sparse().with_row_group_size(1000));
    assert_eq!(read_footer(&file).num_row_groups(), 5, "5000 entries");

    let (file, _) = write(&a, &dense());
    assert_eq!(
        read_footer(&file).num_row_groups(),
        1,
        "the default holds 10,000 rows in one"
    );
    // A dense table that fits one row group of the default size, but holds enough bytes to be
    // worth two cores (4 MiB of uint32), is cut in two (a sparse table has a column chunk per
    // column already).
    let big = Array1::from_shape_fn(1 << 20, |i| (i % 1000) as u32 * 4099);
    let (file, _) = write(&big, &dense());
    let footer = read_footer(&file);
    assert_eq!(footer.num_row_groups(), 2);
    assert!(footer.row_groups().iter().all(|rg| rg.num_rows() == 1 << 19));
    let back: Array1<u32> = arrstore::read_array_from(file).unwrap();
    assert_eq!(back, big);
}

#[test]
fn compression_option_is_honoured() {
    let (a, _) = sprinkled(300);
    for codec in [
        Compression::SNAPPY,
        Compression::UNCOMPRESSED,
        Compression::LZ4_RAW,
    ] {
        for opts in [dense(), sparse(), WriteOptions::default()] {
            let (file, s) = write(&a, &opts.with_compression(codec));
            assert_physical_columns(&file, &s.meta, |c| c == codec);
            let back: Array2<f64> = arrstore::read_array_from(file).unwrap();
            assert_eq!(back, a);
        }
    }
    let (file, s) = write(&a, &WriteOptions::default());
    assert_physical_columns(&file, &s.meta, zstd);
}

#[test]
fn sizes_add_up() {
    let a = counts();
    let (file, _) = write(&a, &dense());
    let r = ArrayFile::new(file.clone()).unwrap().sizes();
    assert_eq!(r.disk_bytes, file.len() as u64);
    let compressed: u64 = r.columns.iter().map(|c| c.compressed_bytes).sum();
    assert!(
        0 < compressed && compressed < r.disk_bytes,
        "{compressed} of {}",
        r.disk_bytes
    );
    assert_eq!(r.memory_bytes, 60_000 * 8);
    assert_eq!(r.narrowed_bytes, 60_000 * 2);
    assert_eq!(r.nnz, 59_999);
    assert_eq!(
        r.coo_bytes,
        59_999 * (2 + 1 + 8),
        "300 rows need 2 bytes, 200 columns 1"
    );
    assert_eq!(r.columns.len(), 1);
    assert_eq!(
        (
            r.columns[0].name.as_str(),
            r.columns[0].stored_type,
            r.columns[0].physical_type.as_str()
        ),
        ("value", DType::U16, "INT32")
    );
    let footer = read_footer(&file);
    let chunk = footer.row_group(0).column(0);
    assert_eq!(r.columns[0].compressed_bytes, chunk.compressed_size() as u64);
    assert_eq!(r.columns[0].uncompressed_bytes, chunk.uncompressed_size() as u64);

    let (a, entries) = sprinkled(300);
    let nnz = entries.len() as u64;
    let (file, _) = write(&a, &sparse());
    let r = ArrayFile::new(file.clone()).unwrap().sizes();
    assert_eq!(r.disk_bytes, file.len() as u64);
    assert!(r.columns.iter().map(|c| c.compressed_bytes).sum::<u64>() < r.disk_bytes);
    assert_eq!(r.memory_bytes, 1000 * 300 * 8);
    assert_eq!(r.nnz, nnz);
    assert_eq!(r.coo_bytes, nnz * (2 + 2 + 8));
    assert_eq!(r.coo_int64_bytes, nnz * (8 + 8 + 8));
    assert_eq!(r.narrowed_bytes, nnz * (2 + 2 + 8), "the values do not narrow");
    let value = r.columns.iter().find(|c| c.name == "value").unwrap();
    assert!(value.dictionary_page);
    assert_eq!(value.chosen_encoding.as_deref(), Some("dictionary"));
    assert_eq!(value.physical_type, "DOUBLE");
    assert!(r.columns.iter().all(|c| c.compressed_bytes > 0));

    // A file on disk: the same numbers, and the file's length.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    std::fs::write(&path, &file).unwrap();
    let on_disk = ArrayFile::open(&path).unwrap().sizes();
    assert_eq!(on_disk.disk_bytes, std::fs::metadata(&path).unwrap().len());
    assert_eq!(on_disk, r);
}

#[test]
fn fill_is_recorded_in_the_key_value_metadata() {
    let mut a = Array1::from_elem(1000, f32::NAN);
    a[3] = 1.0;
    let (file, _) = write(&a, &sparse().with_fill(Scalar::Float(f64::NAN)));
    let kv = read_footer(&file)
        .file_metadata()
        .key_value_metadata()
        .unwrap()
        .clone();
    let json: serde_json::Value = serde_json::from_str(
        kv.iter()
            .find(|k| k.key == "arrstore")
            .unwrap()
            .value
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["layout"], "sparse");
    assert_eq!(json["fill_bits"], "0x000000007fc00000");
    assert_eq!(json["nnz"], 1);
    let roles: Vec<_> = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["role"].clone())
        .collect();
    assert_eq!(roles, [serde_json::json!("index"), serde_json::json!("value")]);
    assert_eq!(json["columns"][0]["axis"], 0);
    assert_eq!(batches(&file).iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    assert_eq!(batches(&file)[0].column(0).null_count(), 0);
}

/// Labels in bands whose edges shift by one cell every `shift` rows: few runs per row.
fn bands(rows: usize, cols: usize, shift: usize) -> Array2<i64> {
    Array2::from_shape_fn((rows, cols), |(i, j)| ((j + i / shift) / 40 % 5) as i64 * 1000)
}

/// Labels in bands whose edges wander pseudo-randomly by a cell or none from row to row, as a
/// smooth field cut into classes.
fn wandering_bands(rows: usize, cols: usize) -> Array2<i64> {
    let mut edges: Vec<i64> = (1..8).map(|k| k * cols as i64 / 8).collect();
    let mut a = Array2::zeros((rows, cols));
    for i in 0..rows {
        for (k, e) in edges.iter_mut().enumerate() {
            *e += (mix((i * 8 + k) as u64) % 3) as i64 - 1;
        }
        for j in 0..cols {
            a[[i, j]] = edges.iter().filter(|&&e| e <= j as i64).count() as i64 % 5;
        }
    }
    a
}

/// The runs of `a` (row, length, value), computed here from the array: every row cut where the
/// value changes.
fn runs_of(a: &Array2<i64>) -> (Vec<u64>, Vec<u64>, Vec<u64>) {
    let (mut rows, mut lengths, mut values) = (Vec::new(), Vec::new(), Vec::new());
    for (i, row) in a.outer_iter().enumerate() {
        let mut start = 0;
        for j in 1..=row.len() {
            if j == row.len() || row[j] != row[start] {
                rows.push(i as u64);
                lengths.push((j - start) as u64);
                values.push(row[start] as u64);
                start = j;
            }
        }
    }
    (rows, lengths, values)
}

#[test]
fn run_tables_larger_than_a_slab_are_found_as_they_are_written() {
    // More cells than one slab, rows of 4099 cells (slabs cut rows), many row groups.
    let cols = 4099;
    let rows = arrstore::options::RUNS_SLAB_CELLS / cols * 5 / 4;
    let a = wandering_bands(rows, cols);
    let (file, s) = write(
        &a,
        &WriteOptions::default()
            .with_layout(Layout::Runs)
            .with_row_group_size(7000),
    );
    let (want_rows, lengths, values) = runs_of(&a);
    assert_eq!(s.meta.runs, Some(want_rows.len() as u64));
    let footer = read_footer(&file);
    let groups: Vec<i64> = footer.row_groups().iter().map(|rg| rg.num_rows()).collect();
    let full = want_rows.len() / 7000;
    assert_eq!(groups.len(), full + usize::from(want_rows.len() % 7000 > 0));
    assert!(groups[..full].iter().all(|&n| n == 7000), "{groups:?}");
    assert_eq!(column_u64(&file, "row"), want_rows);
    assert_eq!(column_u64(&file, "length"), lengths);
    assert_eq!(column_u64(&file, "value"), values);
    let back: Array2<i64> = arrstore::read_array_from(file).unwrap();
    assert_eq!(back, a);
}

#[test]
fn data_repeating_with_the_sample_stride_is_not_sampled_at_one_phase() {
    // 16 tiles of 64 rows: 8 rows of zeros, then counts. Samples taken at the same
    // place in every tile would see only zeros (or only counts) and misjudge the whole.
    let a = Array2::from_shape_fn((16 * 64, 256), |(i, j)| {
        if i % 64 < 8 {
            0
        } else {
            (mix((i * 256 + j) as u64) % 60_000) as i64
        }
    });
    let (_, s) = write(&a, &WriteOptions::default().with_sample_bytes(16 * 256 * 8));
    let e = s.meta.estimates.unwrap();
    assert_eq!(s.meta.layout, arrstore::StoredLayout::Dense);
    assert!(
        e.dense_bytes * 2 > s.file_bytes && e.dense_bytes < s.file_bytes * 2,
        "estimate {} for a file of {}",
        e.dense_bytes,
        s.file_bytes
    );
}

#[test]
fn runs_2d_are_row_length_value_in_c_order() {
    let a = bands(30, 300, 3);
    let (file, s) = write(&a, &WriteOptions::default().with_layout(Layout::Runs));
    let footer = read_footer(&file);
    assert_eq!(column_names(&footer), ["row", "length", "value"]);
    assert_physical_columns(&file, &s.meta, zstd);
    let roles: Vec<_> = s
        .meta
        .columns
        .iter()
        .map(|c| (c.role, c.axis, c.stored_type))
        .collect();
    assert_eq!(
        roles,
        [
            (arrstore::meta::Role::Index, Some(0), DType::U8),
            (arrstore::meta::Role::Length, None, DType::U16),
            (arrstore::meta::Role::Value, None, DType::U16),
        ],
        "row fits uint8 (30 rows), length needs uint16 (300 > 255), values 0..4000 uint16"
    );
    let (rows, lengths, values) = runs_of(&a);
    assert_eq!(column_u64(&file, "row"), rows);
    assert_eq!(column_u64(&file, "length"), lengths);
    assert_eq!(column_u64(&file, "value"), values);
    assert_eq!(s.meta.runs, Some(rows.len() as u64));
    assert_eq!(footer.file_metadata().num_rows() as usize, rows.len());
    let sizes = ArrayFile::new(file).unwrap().sizes();
    assert_eq!(sizes.runs, Some(rows.len() as u64));
    assert_eq!(sizes.narrowed_bytes, rows.len() as u64 * (1 + 2 + 2));
}

#[test]
fn runs_of_other_ranks_and_auto_choice() {
    // 3-D: dim_0 and dim_1 index a row of the last axis; 1-D: no index column.
    let cube = Array3::from_shape_fn((2, 3, 50), |(i, j, k)| (k / 10 + i + j) as u8);
    let (file, s) = write(&cube, &WriteOptions::default().with_layout(Layout::Runs));
    assert_eq!(
        column_names(&read_footer(&file)),
        ["dim_0", "dim_1", "length", "value"]
    );
    assert_eq!(s.meta.runs, Some(2 * 3 * 5));
    assert_eq!(column_u64(&file, "dim_1")[..6], [0, 0, 0, 0, 0, 1]);
    let line = Array1::from_shape_fn(1000, |i| (i / 100) as f64 * 0.5);
    let runs = WriteOptions::default().with_layout(Layout::Runs);
    let (file, s) = write(&line, &runs.clone().with_portable(true));
    assert_eq!(column_names(&read_footer(&file)), ["length", "value"]);
    assert_eq!(column_u64(&file, "length"), [100; 10]);
    assert_eq!(
        s.meta.value_column().stored_type,
        DType::F32,
        "halves survive float32"
    );
    // Not portable: halves are integers over a scale (halved).
    let (file, s) = write(&line, &runs);
    assert_eq!(column_u64(&file, "value"), (0..10).collect::<Vec<u64>>());
    let v = s.meta.value_column();
    assert_eq!(v.stored_type, DType::U8);
    let scale = v.scale.expect("a scale");
    assert_eq!(scale.apply::<f64>(3), Some(1.5), "{scale:?}");

    // Auto: long runs are stored as runs; distinct neighbours never measure runs at all.
    let (_, s) = write(&wandering_bands(400, 600), &WriteOptions::default());
    let e = s.meta.estimates.unwrap();
    assert_eq!(s.meta.layout, arrstore::StoredLayout::Runs, "{e:?}");
    assert!(e.runs_bytes.unwrap() < e.dense_bytes.min(e.sparse_bytes), "{e:?}");
    let (_, s) = write(&counts(), &WriteOptions::default());
    assert_eq!(
        s.meta.estimates.unwrap().runs_bytes,
        None,
        "as many runs as cells"
    );
    assert_eq!(s.meta.layout, arrstore::StoredLayout::Dense);
}

/// Where every cell is an entry, a row-major COO is the dense column and its coordinates: auto
/// stores the array dense without measuring the COO, whose estimate is the dense estimate plus
/// the coordinates' raw widths (the widths a COO of the array takes), both at the requested
/// zstd level.
#[test]
fn arrays_without_a_fill_cell_are_dense_and_their_coo_is_not_measured() {
    fn check<T: Element, D: Dimension>(name: &str, a: &Array<T, D>, opts: WriteOptions) {
        let (_, s) = write(a, &opts);
        let e = s.meta.estimates.unwrap();
        assert_eq!(s.meta.layout, arrstore::StoredLayout::Dense, "{name}: {e:?}");
        assert_eq!(s.meta.nnz, a.len() as u64, "{name}");
        let (_, coo) = write(a, &sparse());
        let index_width: u64 = coo
            .meta
            .index_columns()
            .iter()
            .map(|c| c.stored_type.size() as u64)
            .sum();
        // The dense column's bytes at the requested level, at least those at the level kept.
        let value = e.sparse_bytes - index_width * a.len() as u64;
        assert!(
            value >= e.dense_bytes && value < e.dense_bytes * 11 / 10,
            "{name}: {e:?}"
        );
    }
    // Portable: a transform scales the dense estimate by what it saves, which a COO does not.
    let auto = || WriteOptions::default().with_portable(true);
    check("ones", &Array2::<u64>::ones((300, 70)), auto());
    check(
        "ramp",
        &Array2::from_shape_fn((200, 300), |(i, j)| (i * 300 + j + 1) as i64),
        auto(),
    );
    let noise = Array3::from_shape_fn((8, 40, 50), |(i, j, k)| {
        (mix((i * 2000 + j * 50 + k) as u64) >> 40) as f32 + 0.5
    });
    check("noise", &noise, auto());
    let mut counts = counts();
    counts.mapv_inplace(|v| v + 1);
    check("counts", &counts, auto());
    // With a fill no cell holds, every cell is an entry too.
    let nan = auto().with_fill(Scalar::Float(f64::NAN));
    check("noise, NaN fill", &noise, nan);
}
