//! SQL over stored arrays: real DataFusion sessions over files the library wrote, every answer
//! compared with values computed directly from the ndarray; logical values of narrowed columns;
//! the index columns of dense arrays; runs arrays read as the dense arrays of the same data;
//! pushdown shown by EXPLAIN; errors; results back into arrays; stores; and the `arrstore sql`
//! command.

use std::collections::BTreeMap;
use std::path::Path;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{ArrowPrimitiveType, DataType, Float64Type, Int64Type, UInt64Type};
use arrstore::sql::ArraySession;
use arrstore::{
    read_coo, write_array, ArrayFile, DType, DynArray, DynCoo, Element, Layout, Scalar, StoredLayout,
    WriteOptions,
};
use ndarray::{Array2, Array3, ArrayD, Axis};

/// A tiny deterministic generator (so the data needs no extra crate and is the same each run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform in [0, 1), a multiple of 1/1024 (so sums of a few thousand are exact).
    fn unit(&mut self) -> f64 {
        (self.next() % 1024) as f64 / 1024.0
    }
}

/// A `rows x cols` float64 "star image": about `density` of the cells non-zero, values in
/// (0, 1] that are multiples of 1/1024.
fn stars(rows: usize, cols: usize, density: f64, seed: u64) -> Array2<f64> {
    let mut g = Lcg(seed);
    Array2::from_shape_fn((rows, cols), |_| {
        if g.unit() < density {
            1.0 - g.unit()
        } else {
            0.0
        }
    })
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn query(s: &ArraySession, q: &str) -> Vec<RecordBatch> {
    rt().block_on(s.query(q)).unwrap_or_else(|e| panic!("{q}: {e}"))
}

fn query_err(s: &ArraySession, q: &str) -> String {
    match rt().block_on(s.query(q)) {
        Ok(_) => panic!("{q}: expected an error"),
        Err(e) => e.to_string(),
    }
}

/// Column `i` of every batch as `T` (cast from any numeric type).
fn values<T: ArrowPrimitiveType>(batches: &[RecordBatch], i: usize) -> Vec<T::Native> {
    let mut out = Vec::new();
    for b in batches {
        let c = arrow::compute::cast(b.column(i), &T::DATA_TYPE).unwrap();
        out.extend(c.as_primitive::<T>().values().iter().copied());
    }
    out
}

/// Column `i` of every batch as f64.
fn f64s(batches: &[RecordBatch], i: usize) -> Vec<f64> {
    values::<Float64Type>(batches, i)
}

/// Column `i` of every batch as i64.
fn i64s(batches: &[RecordBatch], i: usize) -> Vec<i64> {
    values::<Int64Type>(batches, i)
}

/// The single value of a one-row, one-column result, as text (exact for every type).
fn scalar(s: &ArraySession, q: &str) -> String {
    let b = query(s, q);
    let rows: usize = b.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1, "{q}");
    let b = b.iter().find(|b| b.num_rows() == 1).unwrap();
    arrow::util::display::array_value_to_string(b.column(0), 0).unwrap()
}

fn sparse() -> WriteOptions {
    WriteOptions::default().with_layout(Layout::Sparse)
}

fn dense() -> WriteOptions {
    WriteOptions::default().with_layout(Layout::Dense)
}

#[test]
fn sparse_aggregates_equal_the_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stars(300, 200, 0.05, 1);
    let path = tmp.path().join("stars.parquet");
    // Small row groups, so that pruning has something to prune.
    write_array(&path, &a, &sparse().with_row_group_size(500)).unwrap();
    let mut s = ArraySession::new();
    s.register_array("stars", &path).unwrap();

    let b = query(
        &s,
        "SELECT row, count(*) AS n, sum(value) AS total, max(value) AS top FROM stars GROUP BY row ORDER BY row",
    );
    let rows = i64s(&b, 0);
    let mut expected = BTreeMap::new();
    for (i, r) in a.axis_iter(Axis(0)).enumerate() {
        let nz: Vec<f64> = r.iter().copied().filter(|&v| v != 0.0).collect();
        if !nz.is_empty() {
            let top = nz.iter().copied().fold(f64::MIN, f64::max);
            expected.insert(i as i64, (nz.len() as i64, nz.iter().sum::<f64>(), top));
        }
    }
    assert_eq!(rows, expected.keys().copied().collect::<Vec<_>>());
    let (n, total, top) = (i64s(&b, 1), f64s(&b, 2), f64s(&b, 3));
    for (k, (row, (en, etotal, etop))) in expected.iter().enumerate() {
        assert_eq!((n[k], total[k], top[k]), (*en, *etotal, *etop), "row {row}");
    }

    // Column sums, the cells above a threshold, the densest rows.
    let b = query(&s, "SELECT col, sum(value) FROM stars GROUP BY col ORDER BY col");
    let col_sums: Vec<f64> = a
        .sum_axis(Axis(0))
        .iter()
        .copied()
        .filter(|&v| v != 0.0)
        .collect();
    assert_eq!(f64s(&b, 1), col_sums);
    let above = a.iter().filter(|&&v| v > 0.95).count();
    assert!(above > 0);
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM stars WHERE value > 0.95"),
        above.to_string()
    );
    let b = query(
        &s,
        "SELECT row, count(*) AS n FROM stars GROUP BY row ORDER BY n DESC, row LIMIT 3",
    );
    let mut by_count: Vec<(i64, i64)> = expected.iter().map(|(r, (n, _, _))| (-n, *r)).collect();
    by_count.sort();
    assert_eq!(i64s(&b, 0), by_count[..3].iter().map(|x| x.1).collect::<Vec<_>>());
    assert_eq!(
        i64s(&b, 1),
        by_count[..3].iter().map(|x| -x.0).collect::<Vec<_>>()
    );
    // Index columns keep their stored, unsigned type; the value is the dtype.
    let b = query(&s, "SELECT row, col, value FROM stars LIMIT 1");
    assert_eq!(b[0].schema().field(0).data_type(), &DataType::UInt16);
    assert_eq!(b[0].schema().field(2).data_type(), &DataType::Float64);
}

/// Writes `a`, registers it as `t` and returns `(sum, min, max, count)` of `value` as text.
fn stats_of(a: &ArrayD<impl Element>, opts: &WriteOptions, tmp: &Path) -> (String, String, String, DType) {
    let path = tmp.join(format!("a{}.parquet", rand_name()));
    write_array(&path, a, opts).unwrap();
    let mut s = ArraySession::new();
    s.register_array("t", &path).unwrap();
    let stored = ArrayFile::open(&path).unwrap().meta().value_column().stored_type;
    (
        scalar(
            &s,
            "SELECT CAST(sum(CAST(value AS DECIMAL(38, 0))) AS VARCHAR) FROM t",
        ),
        scalar(&s, "SELECT min(value) FROM t"),
        scalar(&s, "SELECT max(value) FROM t"),
        stored,
    )
}

fn rand_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

#[test]
fn narrowed_values_read_as_logical_values() {
    let tmp = tempfile::tempdir().unwrap();
    // int64 near 10^12: stored as uint8 plus an offset (added in BIGINT).
    let big = ArrayD::from_shape_fn(vec![20, 10], |d| {
        1_000_000_000_000i64 + ((d[0] * 7 + d[1] * 3) % 200) as i64
    });
    let sum: i128 = big.iter().map(|&v| i128::from(v)).sum();
    for opts in [dense(), sparse()] {
        let (s, min, max, stored) = stats_of(&big, &opts, tmp.path());
        assert_eq!(stored, DType::U8);
        assert_eq!(s, sum.to_string());
        assert_eq!(min, big.iter().min().unwrap().to_string());
        assert_eq!(max, big.iter().max().unwrap().to_string());
    }
    // uint64 above 2^63: an offset beyond BIGINT (added in BIGINT UNSIGNED).
    let huge = ArrayD::from_shape_fn(vec![30], |d| u64::MAX - 1000 + (d[0] as u64 % 17));
    let (s, min, max, stored) = stats_of(&huge, &dense(), tmp.path());
    assert!(stored.size() < 8, "{stored}");
    assert_eq!(s, huge.iter().map(|&v| i128::from(v)).sum::<i128>().to_string());
    assert_eq!(min, huge.iter().min().unwrap().to_string());
    assert_eq!(max, huge.iter().max().unwrap().to_string());
    // int64 spanning the whole range: stored as uint64 less i64::MIN (added in DECIMAL).
    let wide = ArrayD::from_shape_vec(vec![4], vec![i64::MIN, -1, 0, i64::MAX]).unwrap();
    let (_, min, max, _) = stats_of(&wide, &dense(), tmp.path());
    assert_eq!((min, max), (i64::MIN.to_string(), i64::MAX.to_string()));
    // Whole-number float64 stored as integers, and float64 that survive float32.
    let whole = ArrayD::from_shape_fn(vec![50], |d| (d[0] as f64) * 3.0 - 20.0);
    let (_, min, max, stored) = stats_of(&whole, &dense(), tmp.path());
    assert!(stored.is_integer(), "{stored}");
    assert_eq!((min, max), ("-20.0".to_string(), "127.0".to_string()));
    let halves = ArrayD::from_shape_fn(vec![40, 40], |d| {
        if (d[0] + d[1]) % 9 == 0 {
            0.25 + d[0] as f64 / 1024.0
        } else {
            0.0
        }
    });
    let (_, min, max, stored) = stats_of(&halves, &sparse(), tmp.path());
    assert_eq!(stored, DType::F32);
    assert_eq!(min, "0.25");
    assert_eq!(max, (0.25 + 39.0 / 1024.0).to_string());
}

#[test]
fn dictionary_encoded_values_read_as_plain_values() {
    let tmp = tempfile::tempdir().unwrap();
    // 16 distinct irregular float64 values: the writer picks a dictionary.
    let levels: Vec<f64> = (0..16)
        .map(|i| (i as f64 + 0.1).sqrt() * std::f64::consts::PI)
        .collect();
    let mut g = Lcg(17);
    let a = Array2::from_shape_fn((400, 300), |_| {
        if g.next().is_multiple_of(5) {
            levels[(g.next() % 16) as usize]
        } else {
            0.0
        }
    });
    // Dictionary pages either way; the second file also declares an Arrow dictionary type.
    for declared in [false, true] {
        let path = tmp.path().join(format!("d-{declared}.parquet"));
        write_array(&path, &a, &sparse().with_arrow_dictionary(declared)).unwrap();
        let enc = ArrayFile::open(&path)
            .unwrap()
            .meta()
            .value_column()
            .encoding
            .clone();
        assert_eq!(enc.as_deref(), Some("dictionary"));
        let mut s = ArraySession::new();
        s.register_array("d", &path).unwrap();
        let b = query(&s, "SELECT value, count(*) FROM d GROUP BY value ORDER BY value");
        assert_eq!(b[0].schema().field(0).data_type(), &DataType::Float64);
        let mut expected: BTreeMap<u64, i64> = BTreeMap::new();
        for &v in a.iter().filter(|&&v| v != 0.0) {
            *expected.entry(v.to_bits()).or_default() += 1;
        }
        let got: BTreeMap<u64, i64> = f64s(&b, 0).iter().map(|v| v.to_bits()).zip(i64s(&b, 1)).collect();
        assert_eq!(got, expected);
        // The filter on the dictionary-encoded value still reaches the scan.
        let plan = plan_text(&s, "SELECT count(*) FROM d WHERE value > 5.0");
        assert!(
            plan.contains("pruning_predicate=") && plan.contains("value_max@"),
            "{plan}"
        );
        let threshold = levels[10];
        assert_eq!(
            scalar(
                &s,
                &format!("SELECT count(*) FROM d WHERE value >= {threshold:?}")
            ),
            a.iter().filter(|&&v| v >= threshold).count().to_string()
        );
    }
}

#[test]
fn dense_arrays_have_computed_index_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Array2::from_shape_fn((37, 23), |(i, j)| ((i * 131 + j * 71) % 1000) as i32 - 300);
    let path = tmp.path().join("dense.parquet");
    write_array(&path, &a, &dense().with_row_group_size(100)).unwrap();
    let mut s = ArraySession::new();
    s.register_array("dense", &path).unwrap();
    // Split the file between both partitions, so row numbers come from several scans.
    query(&s, "SET datafusion.optimizer.repartition_file_min_size = 1");
    for r in [0usize, 3, 36] {
        assert_eq!(
            scalar(&s, &format!("SELECT sum(value) FROM dense WHERE row = {r}")),
            a.row(r).iter().map(|&v| i64::from(v)).sum::<i64>().to_string(),
            "row {r}"
        );
    }
    assert_eq!(
        scalar(&s, "SELECT sum(value) FROM dense WHERE col = 22"),
        a.column(22)
            .iter()
            .map(|&v| i64::from(v))
            .sum::<i64>()
            .to_string()
    );
    let b = query(&s, "SELECT row, col, value FROM dense ORDER BY row, col");
    let cells: Vec<(i64, i64, i64)> = a
        .indexed_iter()
        .map(|((i, j), &v)| (i as i64, j as i64, i64::from(v)))
        .collect();
    let got: Vec<(i64, i64, i64)> = i64s(&b, 0)
        .into_iter()
        .zip(i64s(&b, 1))
        .zip(i64s(&b, 2))
        .map(|((i, j), v)| (i, j, v))
        .collect();
    assert_eq!(got, cells);
    // A filter on the value and a per-row aggregate over a dense table.
    let b = query(
        &s,
        "SELECT row, sum(value) FROM dense WHERE value > 100 GROUP BY row ORDER BY row",
    );
    let expected: Vec<(i64, i64)> = a
        .axis_iter(Axis(0))
        .enumerate()
        .filter_map(|(i, r)| {
            let over: Vec<i64> = r.iter().filter(|&&v| v > 100).map(|&v| i64::from(v)).collect();
            (!over.is_empty()).then(|| (i as i64, over.iter().sum()))
        })
        .collect();
    assert_eq!(
        i64s(&b, 0).into_iter().zip(i64s(&b, 1)).collect::<Vec<_>>(),
        expected
    );

    // 3-D: dim_0, dim_1, dim_2.
    let c = Array3::from_shape_fn((4, 5, 6), |(i, j, k)| (i * 100 + j * 10 + k) as u16);
    let path = tmp.path().join("cube.parquet");
    write_array(&path, &c, &dense()).unwrap();
    s.register_array("cube", &path).unwrap();
    let b = query(
        &s,
        "SELECT dim_0, dim_1, dim_2, value FROM cube WHERE dim_1 = 2 AND dim_2 = 5 ORDER BY dim_0",
    );
    assert_eq!(i64s(&b, 0), vec![0, 1, 2, 3]);
    assert_eq!(i64s(&b, 3), vec![25, 125, 225, 325]);
}

/// The physical plan of `q`, as text.
fn plan_text(s: &ArraySession, q: &str) -> String {
    let b = query(s, &format!("EXPLAIN {q}"));
    let mut out = String::new();
    for batch in &b {
        let kind = batch.column(0).as_string::<i32>();
        let plan = batch.column(1).as_string::<i32>();
        for i in 0..batch.num_rows() {
            out.push_str(&format!("{}:\n{}\n", kind.value(i), plan.value(i)));
        }
    }
    out
}

#[test]
fn filters_reach_the_parquet_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stars(2000, 100, 0.05, 7);
    let path = tmp.path().join("stars.parquet");
    write_array(&path, &a, &sparse().with_row_group_size(1000)).unwrap();
    let groups = ArrayFile::open(&path)
        .unwrap()
        .parquet_metadata()
        .num_row_groups();
    assert!(groups >= 8, "{groups} row groups");
    let mut s = ArraySession::new();
    s.register_array("stars", &path).unwrap();

    let q = "SELECT count(*), sum(value) FROM stars WHERE row BETWEEN 100 AND 120 AND value > 0.5";
    let plan = plan_text(&s, q);
    let scan = plan
        .lines()
        .find(|l| l.contains("DataSourceExec"))
        .unwrap_or_else(|| panic!("no scan in\n{plan}"));
    assert!(scan.contains("predicate="), "{scan}");
    assert!(scan.contains("pruning_predicate="), "{scan}");
    assert!(scan.contains("row_max@") && scan.contains("row_min@"), "{scan}");
    assert!(scan.contains("value_max@"), "{scan}");

    // And it prunes: most row groups are skipped on their statistics.
    let b = query(&s, &format!("EXPLAIN ANALYZE {q}"));
    let text = b[0].column(1).as_string::<i32>().value(0).to_string();
    // "row_groups_pruned_statistics=11 total → 1 matched"
    let (total, matched) = pruning_metric(&text, "row_groups_pruned_statistics");
    assert_eq!(total, groups);
    assert!(matched <= 2, "{matched} of {total} row groups read:\n{text}");
    // The answer is still right.
    let (n, sum) = a
        .indexed_iter()
        .filter(|((i, _), &v)| (100..=120).contains(i) && v > 0.5)
        .fold((0i64, 0.0), |(n, s), (_, &v)| (n + 1, s + v));
    let b = query(&s, q);
    assert_eq!((i64s(&b, 0)[0], f64s(&b, 1)[0]), (n, sum));
}

/// `name=T total → M matched` from an `EXPLAIN ANALYZE` text: (T, M).
fn pruning_metric(text: &str, name: &str) -> (usize, usize) {
    let metric = text
        .split(&format!("{name}="))
        .nth(1)
        .unwrap_or_else(|| panic!("no {name} in\n{text}"));
    let numbers: Vec<usize> = metric
        .split(',')
        .next()
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    // "T total → M matched", maybe followed by "-> F fully matched".
    let [total, matched, ..] = numbers[..] else {
        panic!("{metric}")
    };
    (total, matched)
}

#[test]
fn pages_are_pruned_within_a_row_group() {
    // 600,000 entries in two row groups of 300,000: statistics prune one, and the page index
    // (at most 131,072 rows a page) lets a filter on a few coordinates of the leading axis skip
    // all but one page of the other. The writer picks the entry order by measuring; the filter
    // follows it.
    let tmp = tempfile::tempdir().unwrap();
    let (rows, cols) = (30_000usize, 400usize);
    let a = Array2::from_shape_fn((rows, cols), |(i, j)| {
        if (i * 7 + j * 13) % 20 == 0 {
            ((i + j) % 97) as f64 + 0.5
        } else {
            0.0
        }
    });
    let path = tmp.path().join("big.parquet");
    write_array(&path, &a, &sparse().with_row_group_size(300_000)).unwrap();
    let lead = ArrayFile::open(&path).unwrap().meta().sorted_by()[0];
    let (name, range) = [("row", 20_000..=20_010), ("col", 300..=301)][lead].clone();
    let md = parquet::file::metadata::ParquetMetaDataReader::new()
        .with_page_index_policy(parquet::file::metadata::PageIndexPolicy::Required)
        .parse_and_finish(&std::fs::File::open(&path).unwrap())
        .unwrap();
    assert_eq!(md.num_row_groups(), 2);
    let pages = md.offset_index().expect("a page index")[1][lead]
        .page_locations()
        .len();
    assert!(
        pages >= 2,
        "{pages} pages of the {name} column in the second row group"
    );

    let mut s = ArraySession::new();
    s.register_array("big", &path).unwrap();
    let q = format!(
        "SELECT count(*), sum(value) FROM big WHERE {name} BETWEEN {} AND {}",
        range.start(),
        range.end()
    );
    let text = query(&s, &format!("EXPLAIN ANALYZE {q}"))[0]
        .column(1)
        .as_string::<i32>()
        .value(0)
        .to_string();
    assert_eq!(
        pruning_metric(&text, "row_groups_pruned_statistics"),
        (2, 1),
        "{text}"
    );
    let (total, matched) = pruning_metric(&text, "page_index_pages_pruned");
    assert_eq!(total, pages, "the pages of the second row group:\n{text}");
    assert_eq!(matched, 1, "one page read of {total}:\n{text}");
    let (n, sum) = a
        .indexed_iter()
        .filter(|((i, j), &v)| range.contains([i, j][lead]) && v != 0.0)
        .fold((0i64, 0.0), |(n, s), (_, &v)| (n + 1, s + v));
    let b = query(&s, &q);
    assert_eq!((i64s(&b, 0)[0], f64s(&b, 1)[0]), (n, sum));
}

#[test]
fn bad_queries_give_datafusion_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("stars.parquet");
    write_array(&path, &stars(10, 10, 0.3, 3), &sparse()).unwrap();
    let mut s = ArraySession::new();
    s.register_array("stars", &path).unwrap();
    let e = query_err(&s, "SELEC row FROM stars");
    assert!(e.starts_with("SQL: ") && e.contains("SELEC"), "{e}");
    let e = query_err(&s, "SELECT * FROM nope");
    assert!(e.contains("table 'datafusion.public.nope' not found"), "{e}");
    let e = query_err(&s, "SELECT brightness FROM stars");
    assert!(e.contains("brightness"), "{e}");
    let e = query_err(&s, "SELECT row FROM stars WHERE");
    assert!(e.starts_with("SQL: "), "{e}");
    // Registering a file that is not an array, or twice.
    let e = s.register_array("stars", &path).unwrap_err().to_string();
    assert!(e.contains("already registered"), "{e}");
    let e = s
        .register_array("x", tmp.path().join("missing.parquet"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.parquet"), "{e}");
}

fn coo_f64(c: DynCoo) -> arrstore::Coo<f64> {
    match c {
        DynCoo::F64(c) => c,
        other => panic!("expected float64, got {:?}", other.shape()),
    }
}

#[test]
fn results_become_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stars(60, 40, 0.2, 11);
    let path = tmp.path().join("stars.parquet");
    write_array(&path, &a, &sparse()).unwrap();
    let mut s = ArraySession::new();
    s.register_array("stars", &path).unwrap();
    let r = rt();

    // A filter: the shape comes from the source, unordered output is sorted.
    let c = coo_f64(
        r.block_on(s.query_coo(
            "SELECT row, col, value FROM stars WHERE value > 0.9 ORDER BY value",
            None,
        ))
        .unwrap(),
    );
    let expected = a.mapv(|v| if v > 0.9 { v } else { 0.0 }).into_dyn();
    assert_eq!(c.shape(), &[60, 40]);
    assert_eq!(c.to_dense(), expected);

    // Written to a file and read back; a transposition with the shape given.
    let out = tmp.path().join("t.parquet");
    r.block_on(s.write_query(
        "SELECT col, row, value * 2 FROM stars",
        Some(vec![40, 60]),
        &out,
        &WriteOptions::default(),
    ))
    .unwrap();
    let back = read_coo::<f64>(&out).unwrap().to_dense();
    assert_eq!(back, a.t().mapv(|v| v * 2.0).into_dyn());

    // A per-row aggregate into a 1-D array.
    let c = r
        .block_on(s.query_coo("SELECT row, count(*) FROM stars GROUP BY row", Some(vec![60])))
        .unwrap();
    let DynCoo::I64(c) = c else {
        panic!("count(*) is int64")
    };
    let counts = a.map_axis(Axis(1), |r| r.iter().filter(|&&v| v != 0.0).count() as i64);
    assert_eq!(c.to_dense(), counts.into_dyn());

    // Refused: duplicates, out of range, negative, wrong shape, no shape to take.
    let err = |q: &str, shape: Option<Vec<u64>>| r.block_on(s.query_coo(q, shape)).unwrap_err().to_string();
    let e = err("SELECT row, 0, value FROM stars", None);
    assert!(e.contains("occur more than once"), "{e}");
    let e = err("SELECT row + 1, col, value FROM stars", None);
    assert!(e.contains("out of range for length 60"), "{e}");
    let e = err("SELECT CAST(row AS BIGINT) - 100, col, value FROM stars", None);
    assert!(e.contains("negative"), "{e}");
    let e = err("SELECT row, col, value FROM stars", Some(vec![60]));
    assert!(e.contains("2 coordinate columns"), "{e}");
    let e = err("SELECT 1, 2.5", None);
    assert!(e.contains("give the shape"), "{e}");
    let e = err("SELECT row, 'x' FROM stars", Some(vec![60]));
    assert!(e.contains("Utf8"), "{e}");
}

#[test]
fn fill_and_dtype_come_from_the_source() {
    let tmp = tempfile::tempdir().unwrap();
    let a = Array2::from_shape_fn((8, 9), |(i, j)| {
        if (i + j) % 4 == 0 {
            (i * j) as f64
        } else {
            f64::NAN
        }
    });
    let path = tmp.path().join("nan.parquet");
    write_array(&path, &a, &sparse().with_fill(Scalar::Float(f64::NAN))).unwrap();
    let mut s = ArraySession::new();
    s.register_array("n", &path).unwrap();
    let c = coo_f64(
        rt().block_on(s.query_coo("SELECT row, col, value FROM n WHERE value >= 10", None))
            .unwrap(),
    );
    assert!(c.fill().is_nan());
    let expected = a.mapv(|v| if v >= 10.0 { v } else { f64::NAN });
    let got = c.to_dense();
    assert!(got
        .iter()
        .zip(expected.iter())
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn stores_register_every_array() {
    let tmp = tempfile::tempdir().unwrap();
    let a = stars(30, 30, 0.2, 5);
    let w = Array2::from_shape_fn((30, 30), |(i, j)| ((i + 2 * j) % 7) as i64);
    write_array(tmp.path().join("stars.parquet"), &a, &sparse()).unwrap();
    write_array(tmp.path().join("weights.parquet"), &w, &dense()).unwrap();
    // A Parquet file arrstore did not write is left out; other files too.
    let plain = tmp.path().join("plain.parquet");
    let batch = RecordBatch::try_from_iter([(
        "x",
        std::sync::Arc::new(arrow::array::Int32Array::from(vec![1, 2])) as arrow::array::ArrayRef,
    )])
    .unwrap();
    let mut pw =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&plain).unwrap(), batch.schema(), None)
            .unwrap();
    pw.write(&batch).unwrap();
    pw.close().unwrap();
    std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
    std::fs::write(tmp.path().join("notes.json"), "{}").unwrap();

    let mut s = ArraySession::new();
    assert_eq!(s.register_store(tmp.path()).unwrap(), vec!["stars", "weights"]);
    // A join of a sparse and a dense array: sum over stored cells of value * weight.
    let expected: f64 = a.iter().zip(w.iter()).map(|(&v, &k)| v * k as f64).sum();
    let b = query(
        &s,
        "SELECT sum(s.value * w.value) FROM stars s JOIN weights w ON s.row = w.row AND s.col = w.col",
    );
    assert!((f64s(&b, 0)[0] - expected).abs() < 1e-9 * expected.abs().max(1.0));
    let e = s.register_store(tmp.path().join("nope")).unwrap_err().to_string();
    assert!(e.contains("nope"), "{e}");
}

#[test]
fn stores_register_arrays_by_their_index_names() {
    // A store's names come from its index (the .npz keys), not from its file names: `a/b`
    // is stored in `a_b.parquet` and `a_b` in `a_b~1.parquet`.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let mut store = arrstore::store::Store::create(&dir).unwrap();
    let x = Array2::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as i32);
    let y = Array2::from_shape_fn((3, 3), |(i, j)| if i == j { 2.5f64 } else { 0.0 });
    store
        .add("a/b", &DynArray::from(x.clone().into_dyn()), &dense())
        .unwrap();
    store
        .add("a_b", &DynArray::from(y.clone().into_dyn()), &sparse())
        .unwrap();
    store
        .add(
            "Big Counts",
            &DynArray::from(x.mapv(i64::from).into_dyn()),
            &dense(),
        )
        .unwrap();
    // A file the index does not list is not a table of the store.
    write_array(dir.join("stray.parquet"), &y, &sparse()).unwrap();

    let mut s = ArraySession::new();
    assert_eq!(s.register_store(&dir).unwrap(), vec!["Big Counts", "a/b", "a_b"]);
    let b = query(&s, r#"SELECT sum(value) FROM "a/b""#);
    assert_eq!(i64s(&b, 0), [x.iter().map(|&v| i64::from(v)).sum::<i64>()]);
    let b = query(&s, r#"SELECT count(*), sum(value) FROM "a_b""#);
    assert_eq!(i64s(&b, 0), [3]);
    assert_eq!(f64s(&b, 1), [7.5]);
    let b = query(&s, r#"SELECT max(value) FROM "Big Counts""#);
    assert_eq!(i64s(&b, 0), [19]);
    let e = query_err(&s, "SELECT count(*) FROM stray");
    assert!(e.contains("stray"), "{e}");

    // A store whose index is damaged is an error naming the index, not a plain folder.
    std::fs::write(dir.join("store.json"), "{").unwrap();
    let e = ArraySession::new().register_store(&dir).unwrap_err().to_string();
    assert!(e.contains("store.json"), "{e}");
}

/// Runs the binary in `cwd`; (exit code, stdout, stderr).
fn cli(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let r = crate::common::run_in(cwd, args);
    (r.code, r.stdout, r.stderr)
}

#[test]
fn the_sql_command() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let a = stars(50, 40, 0.1, 9);
    write_array(dir.join("stars.parquet"), &a, &sparse()).unwrap();

    // The default table output.
    let (code, out, err) = cli(
        dir,
        &[
            "sql",
            "SELECT count(*) AS n FROM stars",
            "--table",
            "stars=stars.parquet",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let nnz = a.iter().filter(|&&v| v != 0.0).count();
    assert!(
        out.contains("| n ") && out.contains(&format!("| {nnz} ")),
        "{out}"
    );

    // CSV from a store, per-row sums equal to the array's.
    let (code, out, err) = cli(
        dir,
        &[
            "sql",
            "SELECT row, sum(value) AS s FROM stars GROUP BY row ORDER BY row",
            "--store",
            ".",
            "--format",
            "csv",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("row,s"));
    for line in lines {
        let (r, v) = line.split_once(',').unwrap();
        let r: usize = r.parse().unwrap();
        assert_eq!(v.parse::<f64>().unwrap(), a.row(r).sum(), "row {r}");
    }

    // JSON and Parquet to files.
    let (code, _, err) = cli(
        dir,
        &[
            "sql",
            "SELECT max(value) AS m FROM stars",
            "--store",
            ".",
            "--format",
            "json",
            "-o",
            "m.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m.json")).unwrap()).unwrap();
    let max = a.iter().copied().fold(0.0, f64::max);
    assert_eq!(j[0]["m"].as_f64(), Some(max));
    let (code, _, err) = cli(
        dir,
        &[
            "sql",
            "SELECT row, col FROM stars",
            "--store",
            ".",
            "--format",
            "parquet",
            "-o",
            "rc.parquet",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let f = std::fs::File::open(dir.join("rc.parquet")).unwrap();
    let rows: usize = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .unwrap()
        .build()
        .unwrap()
        .map(|b| b.unwrap().num_rows())
        .sum();
    assert_eq!(rows, nnz);

    // --into: a new array, read back; the output is not replaced without --force.
    let into = [
        "sql",
        "SELECT row, col, value FROM stars WHERE value > 0.9",
        "--store",
        ".",
        "--into",
        "bright.parquet",
    ];
    let (code, out, err) = cli(dir, &into);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("bright.parquet: float64 50x40, sparse COO"), "{out}");
    let back = read_coo::<f64>(dir.join("bright.parquet")).unwrap().to_dense();
    assert_eq!(back, a.mapv(|v| if v > 0.9 { v } else { 0.0 }).into_dyn());
    let (code, _, err) = cli(dir, &into);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");

    // Errors: DataFusion's message, exit 1, no panic.
    let (code, _, err) = cli(dir, &["sql", "SELECT * FROM nope", "--store", "."]);
    assert_eq!(code, 1);
    assert!(err.starts_with("error: SQL: ") && err.contains("nope"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let (code, _, err) = cli(
        dir,
        &["sql", "SELECT nope FROM stars", "--table", "stars=stars.parquet"],
    );
    assert_eq!(code, 1);
    assert!(err.contains("nope"), "{err}");
    let (code, _, err) = cli(dir, &["sql", "SELECT 1", "--table", "stars"]);
    assert_eq!(code, 1);
    assert!(err.contains("NAME=FILE"), "{err}");
    let (code, _, err) = cli(dir, &["sql", "SELECT 1", "--format", "xml"]);
    assert_eq!(code, 1);
    assert!(err.contains("--format 'xml'"), "{err}");

    // --help shows an example.
    let (code, out, _) = cli(dir, &["sql", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("GROUP BY row") && out.contains("--into"), "{out}");
}

/// uint64 values above 2^63 (stored narrowed with an offset) come back exactly, as uint64.
#[test]
fn unsigned_values_above_bigint_print_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let a = ndarray::Array1::from_shape_fn(5, |i| u64::MAX - i as u64);
    let path = tmp.path().join("u.parquet");
    write_array(&path, &a, &dense()).unwrap();
    let mut s = ArraySession::new();
    s.register_array("u", &path).unwrap();
    let b = query(&s, "SELECT value FROM u ORDER BY dim_0");
    assert_eq!(b[0].schema().field(0).data_type(), &DataType::UInt64);
    let got: Vec<u64> = b
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<UInt64Type>().values().to_vec())
        .collect();
    assert_eq!(got, a.to_vec());
}

#[test]
fn widened_values_are_pruned_and_offset_values_are_exact() {
    let tmp = tempfile::tempdir().unwrap();
    // float64 stored as float32: the scan casts, and prunes with the cast statistics.
    let a = Array2::from_shape_fn(
        (200, 50),
        |(i, j)| if (i + j) % 3 == 0 { i as f64 + 0.5 } else { 0.0 },
    );
    let path = tmp.path().join("f.parquet");
    write_array(&path, &a, &sparse().with_row_group_size(500)).unwrap();
    assert_eq!(
        ArrayFile::open(&path).unwrap().meta().value_column().stored_type,
        DType::F32
    );
    let mut s = ArraySession::new();
    s.register_array("f", &path).unwrap();
    let q = "SELECT count(*) FROM f WHERE value > 150.0";
    let plan = plan_text(&s, q);
    assert!(
        plan.contains("pruning_predicate=") && plan.contains("value_max@"),
        "{plan}"
    );
    assert_eq!(
        scalar(&s, q),
        a.iter().filter(|&&v| v > 150.0).count().to_string()
    );
    // int64 stored with an offset: the filter is applied after the scan, exactly.
    let b = ArrayD::from_shape_fn(vec![300], |d| 5_000_000_000i64 + (d[0] as i64 * 7) % 250);
    let path = tmp.path().join("o.parquet");
    write_array(&path, &b, &dense()).unwrap();
    assert_ne!(ArrayFile::open(&path).unwrap().meta().value_column().offset, 0);
    s.register_array("o", &path).unwrap();
    assert_eq!(
        scalar(&s, "SELECT count(*) FROM o WHERE value >= 5000000200"),
        b.iter().filter(|&&v| v >= 5_000_000_200).count().to_string()
    );
}

// Runs layout: a runs file reads in SQL as the dense file of the same array does.

fn runs() -> WriteOptions {
    WriteOptions::default().with_layout(Layout::Runs)
}

/// Writes `a` as a dense file and, with `runs_opts`, as a runs file; registers them as `d` and
/// `r` in a session of four partitions (whatever the machine's cores). Returns the session and
/// the runs file.
fn dense_and_runs<T: Element>(
    a: &ArrayD<T>,
    runs_opts: &WriteOptions,
    tmp: &Path,
) -> (ArraySession, std::path::PathBuf) {
    let n = rand_name();
    let (dp, rp) = (
        tmp.join(format!("d{n}.parquet")),
        tmp.join(format!("r{n}.parquet")),
    );
    write_array(&dp, a, &dense()).unwrap();
    write_array(&rp, a, runs_opts).unwrap();
    assert_eq!(ArrayFile::open(&dp).unwrap().meta().layout, StoredLayout::Dense);
    assert_eq!(ArrayFile::open(&rp).unwrap().meta().layout, StoredLayout::Runs);
    let mut s = ArraySession::new();
    s.register_array("d", &dp).unwrap();
    s.register_array("r", &rp).unwrap();
    query(&s, "SET datafusion.execution.target_partitions = 4");
    (s, rp)
}

/// The result of `q` as one batch (also when it has no rows).
fn one_batch(s: &ArraySession, q: &str) -> RecordBatch {
    let (schema, batches) = rt()
        .block_on(s.query_with_schema(q))
        .unwrap_or_else(|e| panic!("{q}: {e}"));
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// The cells of a column as text; floats as their bits (every NaN as `NaN`, so -0.0 and 0.0
/// differ).
fn cell_texts(c: &dyn arrow::array::Array) -> Vec<String> {
    let float = |bits: u64, nan: bool| {
        if nan {
            "NaN".to_string()
        } else {
            format!("{bits:#x}")
        }
    };
    (0..c.len())
        .map(|i| match c.data_type() {
            DataType::Float64 => {
                let v = c.as_primitive::<Float64Type>().value(i);
                float(v.to_bits(), v.is_nan())
            }
            DataType::Float32 => {
                let v = c.as_primitive::<arrow::datatypes::Float32Type>().value(i);
                float(u64::from(v.to_bits()), v.is_nan())
            }
            _ => arrow::util::display::array_value_to_string(c, i).unwrap(),
        })
        .collect()
}

/// Runs `q` on the dense table (`{t}` read as `d`) and on the runs table (`r`), asserts that
/// both give the same column names, types and rows, and returns the result.
fn same_on_both(s: &ArraySession, q: &str) -> RecordBatch {
    let d = one_batch(s, &q.replace("{t}", "d"));
    let r = one_batch(s, &q.replace("{t}", "r"));
    let fields = |b: &RecordBatch| -> Vec<(String, DataType)> {
        b.schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect()
    };
    assert_eq!(fields(&r), fields(&d), "{q}");
    for (i, (x, y)) in r.columns().iter().zip(d.columns()).enumerate() {
        assert_eq!(cell_texts(x.as_ref()), cell_texts(y.as_ref()), "{q}: column {i}");
    }
    d
}

/// The same queries on the dense and the runs table of `a` (registered by `dense_and_runs`):
/// every cell in C order, value counts, filters on the first and the last axis and on the value
/// (`value_filter`), per-index aggregates; and `query_coo` on either gives `a` back. Run with
/// each file's scan split between the partitions (the session's default), then with one scan
/// a file.
fn check_runs_like_dense<T: Element>(s: &ArraySession, a: &ArrayD<T>, value_filter: &str) {
    check_queries(s, a, value_filter);
    query(
        s,
        "SET datafusion.optimizer.repartition_file_min_size = 1000000000",
    );
    check_queries(s, a, value_filter);
    query(s, "SET datafusion.optimizer.repartition_file_min_size = 1");
}

fn check_queries<T: Element>(s: &ArraySession, a: &ArrayD<T>, value_filter: &str) {
    let ndim = a.ndim();
    let shape = a.shape();
    let names = arrstore::meta::index_names(ndim);
    let idx = names.join(", ");
    let all = if ndim == 0 {
        same_on_both(s, "SELECT value FROM {t}")
    } else {
        same_on_both(s, &format!("SELECT {idx}, value FROM {{t}} ORDER BY {idx}"))
    };
    assert_eq!(all.num_rows(), a.len());
    for axis in 0..ndim {
        let want: Vec<i64> = ndarray::indices(a.raw_dim())
            .into_iter()
            .map(|ix| ix[axis] as i64)
            .collect();
        assert_eq!(i64s(std::slice::from_ref(&all), axis), want, "axis {axis}");
    }
    let counts = same_on_both(
        s,
        "SELECT value, count(*) AS n FROM {t} GROUP BY value ORDER BY value",
    );
    // Distinct values as SQL groups them: by bits, -0.0 with 0.0.
    let negative_zero = match T::DTYPE {
        DType::F64 => Some(1u64 << 63),
        DType::F32 => Some(1u64 << 31),
        _ => None,
    };
    let mut distinct: Vec<u64> = a
        .iter()
        .map(|v| v.to_bits())
        .map(|b| if Some(b) == negative_zero { 0 } else { b })
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(counts.num_rows(), distinct.len());
    assert_eq!(
        i64s(std::slice::from_ref(&counts), 1).iter().sum::<i64>(),
        a.len() as i64
    );
    if ndim == 0 {
        return;
    }

    let (first, last) = (&names[0], &names[ndim - 1]);
    let (mid, lo) = (shape[0] / 2, shape[ndim - 1] / 3);
    let hi = lo + 5;
    let b = same_on_both(
        s,
        &format!("SELECT {idx}, value FROM {{t}} WHERE {first} = {mid} ORDER BY {idx}"),
    );
    // Cells that share one coordinate on the first axis (none when an axis is empty).
    let per_first = a.len().checked_div(shape[0]).unwrap_or(0);
    assert_eq!(b.num_rows(), if mid < shape[0] { per_first } else { 0 });
    let b = same_on_both(
        s,
        &format!("SELECT {idx}, value FROM {{t}} WHERE {last} BETWEEN {lo} AND {hi} ORDER BY {idx}"),
    );
    let per_last = a.len().checked_div(shape[ndim - 1]).unwrap_or(0);
    let in_range = (lo..=hi).filter(|&k| k < shape[ndim - 1]).count();
    assert_eq!(b.num_rows(), per_last * in_range);
    same_on_both(
        s,
        &format!("SELECT {idx}, value FROM {{t}} WHERE {first} >= {mid} AND {last} < {lo} ORDER BY {idx}"),
    );
    same_on_both(
        s,
        &format!(
            "SELECT {first}, count(*) AS n, min(value) AS lo, max(value) AS hi FROM {{t}} GROUP BY {first} ORDER BY {first}"
        ),
    );
    same_on_both(
        s,
        &format!(
            "SELECT {last}, count(*) AS n, min(value) AS lo, max(value) AS hi FROM {{t}} GROUP BY {last} ORDER BY {last}"
        ),
    );
    same_on_both(
        s,
        &format!("SELECT {idx}, value FROM {{t}} WHERE {value_filter} ORDER BY {idx}"),
    );
    // A filter that repeats a computation on the first axis, and one on the value.
    let before = mid + 2;
    same_on_both(
        s,
        &format!(
            "SELECT {idx}, value FROM {{t}} WHERE {first} + 1 > 1 AND {first} + 1 < {before} ORDER BY {idx}"
        ),
    );
    // Aggregates of a coordinate alone, and the value filter without coordinates.
    same_on_both(
        s,
        &format!("SELECT count(*) AS n, sum({last}) AS s, max({first}) AS m FROM {{t}}"),
    );
    same_on_both(
        s,
        &format!("SELECT count(*) AS n, min(value) AS lo FROM {{t}} WHERE {value_filter}"),
    );

    // A join of the two tables on every coordinate pairs each cell once.
    let on: Vec<String> = names.iter().map(|n| format!("d.{n} = r.{n}")).collect();
    assert_eq!(
        scalar(
            s,
            &format!("SELECT count(*) FROM d JOIN r ON {}", on.join(" AND "))
        ),
        a.len().to_string()
    );

    let want = DynArray::from(a.clone());
    for t in ["d", "r"] {
        let c = rt()
            .block_on(s.query_coo(&format!("SELECT {idx}, value FROM {t}"), None))
            .unwrap_or_else(|e| panic!("{t}: {e}"));
        assert_eq!(c.shape(), shape, "{t}");
        assert!(c.to_dense().bit_eq(&want), "{t}");
    }
}

#[test]
fn runs_arrays_read_like_dense_arrays() {
    let tmp = tempfile::tempdir().unwrap();
    // 2-D labels near 10^12 (stored narrowed with an offset), blocks and single-cell specks.
    let labels = ArrayD::from_shape_fn(vec![48, 70], |d| {
        let (i, j) = (d[0], d[1]);
        let speck = if (i * j) % 37 == 5 { 100 } else { 0 };
        1_000_000_000_000i64 + ((i / 16) * 5 + j / 15) as i64 + speck
    });
    let (s, _) = dense_and_runs(&labels, &runs(), tmp.path());
    check_runs_like_dense(&s, &labels, "value BETWEEN 1000000000003 AND 1000000000007");

    // 2-D floats: runs of 0.0, -0.0, NaN, infinity and others.
    let levels = [0.0, -0.0, f64::NAN, 2.5, -1.25, f64::INFINITY];
    let floats = ArrayD::from_shape_fn(vec![30, 41], |d| {
        let (i, j) = (d[0], d[1]);
        if (i + 3 * j) % 29 == 0 {
            0.1 * j as f64
        } else {
            levels[(i / 3 + j / 7) % levels.len()]
        }
    });
    let (s, _) = dense_and_runs(&floats, &runs(), tmp.path());
    check_runs_like_dense(&s, &floats, "value BETWEEN -2.0 AND 0.5");

    // 1-D uint64 above 2^63 (an offset beyond BIGINT): 1,000 cells in runs of 37.
    let big = ArrayD::from_shape_fn(vec![1000], |d| u64::MAX - (d[0] as u64 / 37) % 5);
    let (s, _) = dense_and_runs(&big, &runs(), tmp.path());
    check_runs_like_dense(&s, &big, "value > 18446744073709551612");

    // 3-D int32 and a 2-D bool mask.
    let cube = ArrayD::from_shape_fn(vec![4, 6, 33], |d| {
        let (i, j, k) = (d[0], d[1], d[2]);
        if k < 11 + j {
            ((i + j) % 3) as i32 * 1000 - 7
        } else {
            (k / 5) as i32
        }
    });
    let (s, _) = dense_and_runs(&cube, &runs(), tmp.path());
    check_runs_like_dense(&s, &cube, "value BETWEEN -10 AND 3");
    let mask = ArrayD::from_shape_fn(vec![20, 300], |d| (d[1] / (d[0] + 3)) % 2 == 0);
    let (s, _) = dense_and_runs(&mask, &runs(), tmp.path());
    check_runs_like_dense(&s, &mask, "value");
}

/// A cell of row `r` at `k` whose runs have many lengths: the whole row, alternating cells, and
/// runs of 1, 2, 3, .. cells.
fn run_pattern(r: usize, k: usize) -> i32 {
    match r % 3 {
        0 => 7,
        1 => (k % 2) as i32,
        _ => {
            // The run that cell k is in when runs have lengths 1, 2, 3, ...
            let mut run = 0;
            while (run + 1) * (run + 2) / 2 <= k {
                run += 1;
            }
            (run % 4) as i32 - 2
        }
    }
}

#[test]
fn runs_of_every_length_and_edge_shapes() {
    // Last axes around the lengths where the view cuts runs in more steps (16, 256, 4096), one
    // cell per row, no cells, and 0-d.
    let tmp = tempfile::tempdir().unwrap();
    let shapes: [&[usize]; 11] = [
        &[3, 16],
        &[3, 17],
        &[3, 256],
        &[3, 257],
        &[4097],
        &[7, 1],
        &[2, 3, 1],
        &[0, 5],
        &[4, 0],
        &[0],
        &[],
    ];
    for shape in shapes {
        let a = ArrayD::from_shape_fn(shape.to_vec(), |d| {
            let n = shape.len();
            let k = if n == 0 { 0 } else { d[n - 1] };
            let r = (0..n.saturating_sub(1)).fold(0, |acc, axis| acc * shape[axis] + d[axis]);
            if n == 0 {
                42
            } else {
                run_pattern(r, k)
            }
        });
        let (s, _) = dense_and_runs(&a, &runs(), tmp.path());
        check_runs_like_dense(&s, &a, "value > 0");
    }
}

/// The number of runs of each row of `a` (cells that share every coordinate but the last),
/// runs being cells with equal bits.
fn runs_per_row<T: Element>(a: &ArrayD<T>) -> Vec<usize> {
    let last = a.ndim() - 1;
    a.lanes(Axis(last))
        .into_iter()
        .map(|row| {
            let v: Vec<u64> = row.iter().map(|x| x.to_bits()).collect();
            usize::from(!v.is_empty()) + v.windows(2).filter(|w| w[0] != w[1]).count()
        })
        .collect()
}

#[test]
fn runs_files_with_many_row_groups() {
    let tmp = tempfile::tempdir().unwrap();
    let mut g = Lcg(23);
    // 1-D: one row of 20,000 cells in some 900 runs, 100 runs a row group: the window adds the
    // lengths of runs from every row group, read by different partitions.
    let mut cells = Vec::new();
    while cells.len() < 20_000 {
        let (len, v) = (1 + g.next() as usize % 40, (g.next() % 7) as i16 - 3);
        cells.extend(std::iter::repeat_n(v, len));
    }
    cells.truncate(20_000);
    let strip = ArrayD::from_shape_vec(vec![20_000], cells).unwrap();
    let (s, path) = dense_and_runs(&strip, &runs().with_row_group_size(100), tmp.path());
    let file = ArrayFile::open(&path).unwrap();
    assert_eq!(file.meta().runs, Some(runs_per_row(&strip)[0] as u64));
    assert!(file.parquet_metadata().num_row_groups() >= 8);
    check_runs_like_dense(&s, &strip, "value BETWEEN -1 AND 1");

    // 2-D: rows of 30 to 900 runs, 64 runs a row group, so that rows continue from one row group
    // into the next.
    let widths: Vec<usize> = (0..80).map(|_| 1 + g.next() as usize % 30).collect();
    let image = Array2::from_shape_fn((80, 900), |(i, j)| ((j / widths[i] + i) % 5) as u8 * 3);
    let image = image.into_dyn();
    let (s, path) = dense_and_runs(&image, &runs().with_row_group_size(64), tmp.path());
    let file = ArrayFile::open(&path).unwrap();
    let md = file.parquet_metadata();
    let groups = md.num_row_groups();
    assert!(groups >= 10, "{groups} row groups");
    // Runs before each row's end, and the runs before each row group's end.
    let row_ends: Vec<usize> = runs_per_row(&image)
        .iter()
        .scan(0, |acc, &n| {
            *acc += n;
            Some(*acc)
        })
        .collect();
    let group_ends: Vec<usize> = (0..groups)
        .scan(0, |acc, g| {
            *acc += md.row_group(g).num_rows() as usize;
            Some(*acc)
        })
        .collect();
    assert_eq!(group_ends.last(), row_ends.last());
    let crossing = group_ends.iter().filter(|e| !row_ends.contains(e)).count();
    assert!(
        crossing >= groups / 2,
        "{crossing} of {groups} row groups end inside a row"
    );
    check_runs_like_dense(&s, &image, "value = 6");
    for r in [0, 17, 79] {
        same_on_both(
            &s,
            &format!("SELECT col, value FROM {{t}} WHERE row = {r} ORDER BY col"),
        );
    }

    // A filter on the row reaches the scan and prunes row groups; one on the column does not
    // (it is computed from the runs' lengths), and neither does one on the value when the
    // query reads the column (a run's place in its row depends on the runs before it).
    let q = "SELECT count(*), sum(value) FROM r WHERE row BETWEEN 40 AND 41";
    let scan = |q: &str| -> String {
        let plan = plan_text(&s, q);
        plan.lines()
            .find(|l| l.contains("DataSourceExec"))
            .unwrap_or_else(|| panic!("no scan in\n{plan}"))
            .to_string()
    };
    let line = scan(q);
    assert!(
        line.contains("pruning_predicate=") && line.contains("row_min@") && line.contains("row_max@"),
        "{line}"
    );
    let text = query(&s, &format!("EXPLAIN ANALYZE {q}"))[0]
        .column(1)
        .as_string::<i32>()
        .value(0)
        .to_string();
    let (total, matched) = pruning_metric(&text, "row_groups_pruned_statistics");
    assert_eq!(total, groups);
    assert!(matched <= 3, "{matched} of {total} row groups read:\n{text}");
    let b = query(&s, q);
    let rows = image.slice(ndarray::s![40..=41, ..]);
    assert_eq!(i64s(&b, 0)[0], rows.len() as i64);
    assert_eq!(i64s(&b, 1)[0], rows.iter().map(|&v| i64::from(v)).sum::<i64>());
    for q in [
        "SELECT count(*) FROM r WHERE col = 7",
        "SELECT sum(col) FROM r WHERE value = 6",
    ] {
        let line = scan(q);
        assert!(!line.contains("predicate="), "{q}: {line}");
    }
    let sixes = image.iter().filter(|&&v| v == 6).count();
    let col_sum: usize = image
        .indexed_iter()
        .filter(|(_, &v)| v == 6)
        .map(|(ix, _)| ix[1])
        .sum();
    assert_eq!(
        scalar(&s, "SELECT sum(col) FROM r WHERE value = 6"),
        col_sum.to_string()
    );
    // Without the column, the runs' places are not needed: the value filter reaches the scan.
    let q = "SELECT count(*) FROM r WHERE value = 6";
    let line = scan(q);
    assert!(
        line.contains("pruning_predicate=") && line.contains("value_max@"),
        "{line}"
    );
    assert_eq!(scalar(&s, q), sixes.to_string());
}
