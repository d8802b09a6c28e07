//! Predictive transforms (format 2.0): every predictor over every integer dtype, with extremes
//! where residuals wrap, through every read path (full, narrowed, streamed `.npy` from several
//! row groups, verify, SQL); the writer's own choice on smooth and noisy arrays; portable
//! files; what `info` shows.

use arrstore::predict::{Prediction, Predictor};
use arrstore::sql::ArraySession;
use arrstore::{ArrayFile, DType, DynArray, Element, Layout, Order, WriteOptions};
use ndarray::{ArrayD, Dimension, IxDyn, ShapeBuilder};
use proptest::prelude::*;

use crate::common::{run_in, with_dtype, Rng};

/// A smooth ramp over `shape` plus noise of about `noise` (0: none), clamped to `T`'s range;
/// with `extremes`, about one cell in 16 is `T`'s minimum or maximum, where residuals wrap.
fn field<T: Element>(shape: &[usize], seed: u64, noise: u64, extremes: bool) -> ArrayD<T> {
    let (lo, hi) = T::DTYPE.int_range().expect("an integer dtype");
    let mut rng = Rng(seed | 1);
    let base = lo / 2 + hi / 4;
    ArrayD::from_shape_fn(IxDyn(shape), |ix| {
        let ramp: i128 = ix
            .slice()
            .iter()
            .enumerate()
            .map(|(k, &i)| (k as i128 + 2) * i as i128)
            .sum();
        let mut v = base + ramp;
        if noise > 0 {
            v += i128::from(rng.next() % (2 * noise + 1)) - i128::from(noise);
        }
        if extremes {
            match rng.next() % 16 {
                0 => v = lo,
                1 => v = hi,
                _ => {}
            }
        }
        T::from_int(v.clamp(lo, hi)).expect("in range")
    })
}

/// The bits of every cell in C order.
fn bits<T: Element>(a: &ArrayD<T>) -> Vec<u64> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Writes `a` as `path` with `opts` and checks every read path gives it back bit for bit;
/// returns the file's value column transform, if any.
fn check_every_read<T: Element>(
    a: &ArrayD<T>,
    path: &std::path::Path,
    opts: &WriteOptions,
) -> Option<arrstore::predict::Transform> {
    arrstore::write_array(path, a, &opts.clone().with_overwrite(true)).unwrap();
    let open = || ArrayFile::open(path).unwrap();
    let t = open().meta().value_column().transform;
    if t.is_some() {
        assert_eq!(open().meta().format_version, "2.0");
    }
    let back: ArrayD<T> = open().read().unwrap();
    assert_eq!(back.shape(), a.shape());
    assert_eq!(bits(&back), bits(a), "full read, {t:?}");
    let narrowed = open().read_narrowed().unwrap();
    assert_eq!(
        narrowed.array.dtype(),
        open().meta().value_column().narrowing().stored
    );
    let widened = T::from_dyn_array(narrowed.widen().unwrap()).unwrap();
    assert_eq!(bits(&widened), bits(a), "narrowed read, {t:?}");
    // Streamed .npy export: the same bytes as NumPy's file of the array.
    let mut streamed = Vec::new();
    let meta = open().meta().clone();
    if meta.layout == arrstore::StoredLayout::Dense && meta.order == Order::C {
        assert!(open().npy_is_streamed());
    }
    open().write_npy_to(&mut streamed).unwrap();
    let mut expected = Vec::new();
    arrstore::npy::write_npy_to(&mut expected, &T::into_dyn_array(a.clone())).unwrap();
    assert_eq!(streamed, expected, "streamed .npy, {t:?}");
    // Over bytes (no path: one sequential reader).
    let file = bytes::Bytes::from(std::fs::read(path).unwrap());
    let back: ArrayD<T> = ArrayFile::new(file).unwrap().read().unwrap();
    assert_eq!(bits(&back), bits(a), "read over bytes, {t:?}");
    open().verify().unwrap();
    t
}

const INTEGERS: [DType; 8] = [
    DType::I8,
    DType::U8,
    DType::I16,
    DType::U16,
    DType::I32,
    DType::U32,
    DType::I64,
    DType::U64,
];

/// Every predictor over every neighbourhood the shape offers, forced, on every integer
/// dtype, with extremes where residuals wrap, in row groups that cut rows: exact on every
/// read path.
#[test]
fn every_predictor_round_trips_every_integer_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    for (d, dtype) in INTEGERS.into_iter().enumerate() {
        for shape in [vec![37, 23], vec![9, 11, 3], vec![300]] {
            with_dtype!(dtype, T => {
                let a = field::<T>(&shape, 7 + d as u64, 40, true);
                let hoods = arrstore::predict::neighbourhoods(&shape);
                assert!(!hoods.is_empty());
                for (left, up) in hoods {
                    for predictor in [Predictor::Left, Predictor::Up, Predictor::Average, Predictor::Median, Predictor::Gradient] {
                        if up.is_none() && predictor != Predictor::Left {
                            continue;
                        }
                        let opts = WriteOptions::default()
                            .with_layout(Layout::Dense)
                            .with_row_group_size(100)
                            .with_transform(Prediction { predictor, left, up, colour: None, contexts: None });
                        let t = check_every_read(&a, &path, &opts).expect("a forced transform");
                        assert_eq!((t.predictor, t.left, t.up), (predictor, left, up));
                        let f = ArrayFile::open(&path).unwrap();
                        assert!(f.parquet_metadata().num_row_groups() > 1);
                    }
                }
            })
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random shapes, dtypes, noise, row-group sizes and memory orders, with the writer's own
    /// choice and with a forced predictor: exact on every read path.
    #[test]
    fn random_arrays_round_trip_with_transforms(
        dtype in 0..8usize,
        shape in prop::collection::vec(1..24usize, 1..4),
        seed in any::<u64>(),
        noise in prop_oneof![Just(0u64), 1..4u64, 100..1000u64],
        extremes in any::<bool>(),
        rows in prop_oneof![Just(1usize << 20), 1..500usize],
        predictor in 0..5usize,
        fortran in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.parquet");
        with_dtype!(INTEGERS[dtype], T => {
            let c = field::<T>(&shape, seed, noise, extremes);
            let a = if fortran {
                let mut f = ArrayD::from_elem(IxDyn(&shape).f(), T::default());
                f.assign(&c);
                f
            } else {
                c
            };
            let opts = WriteOptions::default().with_row_group_size(rows);
            check_every_read(&a, &path, &opts);
            if !a.is_standard_layout() {
                prop_assert_eq!(ArrayFile::open(&path).unwrap().meta().order, Order::F);
            }
            let hoods = arrstore::predict::neighbourhoods(&shape);
            if let Some(&(left, up)) = hoods.last() {
                let p = [Predictor::Left, Predictor::Up, Predictor::Average, Predictor::Median, Predictor::Gradient][predictor];
                let p = if up.is_none() { Predictor::Left } else { p };
                let forced = opts.with_layout(Layout::Dense).with_transform(Prediction { predictor: p, left, up, colour: None, contexts: None });
                prop_assert!(check_every_read(&a, &path, &forced).is_some());
            }
        });
    }
}

/// Smooth data takes a transform, and is smaller for it; noise does not, and a portable file
/// never does.
#[test]
fn the_writer_keeps_a_transform_only_where_it_pays() {
    let dir = tempfile::tempdir().unwrap();
    let smooth = field::<u16>(&[512, 384], 3, 6, false);
    let auto = dir.path().join("auto.parquet");
    let portable = dir.path().join("portable.parquet");
    let t = check_every_read(&smooth, &auto, &WriteOptions::default())
        .expect("a transform pays on a smooth field");
    assert_eq!(t.of_type, DType::U16);
    assert!(check_every_read(&smooth, &portable, &WriteOptions::default().with_portable(true)).is_none());
    let (a, p) = (
        std::fs::metadata(&auto).unwrap().len(),
        std::fs::metadata(&portable).unwrap().len(),
    );
    assert!(a * 10 < p * 9, "transformed {a} bytes, portable {p}");
    let meta = ArrayFile::open(&auto).unwrap().meta().clone();
    let candidates = &meta.value_column().transform_candidates;
    assert_eq!(candidates[0].name, "none");
    assert!(candidates.len() >= 3, "{candidates:?}");
    let kept = candidates
        .iter()
        .find(|c| c.name == t.to_string())
        .expect("the kept one is listed");
    assert!(kept.sample_bytes < candidates[0].sample_bytes);
    assert_eq!(ArrayFile::open(&portable).unwrap().meta().format_version, "1.4");

    // Noise: no neighbour predicts it.
    let mut rng = Rng(99);
    let noise = ArrayD::from_shape_fn(IxDyn(&[256, 256]), |_| rng.next() as u32);
    assert!(check_every_read(
        &noise,
        &dir.path().join("noise.parquet"),
        &WriteOptions::default()
    )
    .is_none());
}

/// Floats that narrow to integers (a 12-bit image held in float64) are predicted as those
/// integers; with a -0.0 or a NaN payload among them they stay floats, predicted through their
/// ordered bit patterns, every bit kept.
#[test]
fn whole_number_floats_are_predicted_as_integers_and_others_as_floats() {
    let dir = tempfile::tempdir().unwrap();
    let image = field::<u16>(&[200, 300], 5, 20, false).mapv(|v| f64::from(v % 4096));
    let path = dir.path().join("f.parquet");
    let t = check_every_read(&image, &path, &WriteOptions::default()).expect("a transform");
    assert_eq!(t.of_type, DType::U16);
    let mut with_minus_zero = image.clone();
    with_minus_zero[[7, 7]] = -0.0;
    let opts = WriteOptions::default().with_transform(Prediction {
        predictor: Predictor::Median,
        left: 1,
        up: Some(300),
        colour: None,
        contexts: None,
    });
    let t = check_every_read(&with_minus_zero, &path, &opts).expect("a forced transform");
    assert_eq!(t.of_type, DType::F32);
    let mut with_nan = image;
    with_nan[[0, 0]] = f64::from_bits(0x7ff8_0000_dead_beef);
    with_nan[[199, 299]] = f64::from_bits(0xfff0_0000_0000_0001);
    let t = check_every_read(&with_nan, &path, &opts.clone().with_layout(Layout::Dense))
        .expect("a forced transform");
    assert_eq!(t.of_type, DType::F64);
    // A smooth float32 field takes a transform of its own accord.
    let smooth = ndarray::Array2::from_shape_fn((256, 256), |(i, j)| {
        ((i as f32) * 0.02).sin() * 3.0 + ((j as f32) * 0.013).cos() + (i * j) as f32 * 1e-5
    })
    .into_dyn();
    let t = check_every_read(&smooth, &path, &WriteOptions::default()).expect("smooth floats pay");
    assert_eq!(t.of_type, DType::F32);
}

/// A forced transform whose distances do not fit the array is refused with a clear error.
#[test]
fn a_bad_forced_transform_is_an_error() {
    let a = field::<u8>(&[10, 10], 1, 3, false);
    let write = |p: Prediction| {
        let opts = WriteOptions::default().with_transform(p);
        arrstore::write_array_to(Vec::new(), &a, &opts)
            .unwrap_err()
            .to_string()
    };
    let e = write(Prediction {
        predictor: Predictor::Median,
        left: 1,
        up: None,
        colour: None,
        contexts: None,
    });
    assert!(
        e.contains("bad transform") && e.contains("needs a neighbour above"),
        "{e}"
    );
    let e = write(Prediction {
        predictor: Predictor::Up,
        left: 1,
        up: Some(1000),
        colour: None,
        contexts: None,
    });
    assert!(e.contains("a distance beyond the array's 100 cells"), "{e}");
}

/// SQL shows the logical values of a transformed array, with their coordinates, whatever the
/// row groups.
#[test]
fn sql_reads_the_logical_values_of_a_transformed_array() {
    let dir = tempfile::tempdir().unwrap();
    let a = field::<i32>(&[120, 90, 3], 11, 5, true);
    let path = dir.path().join("img.parquet");
    let opts = WriteOptions::default()
        .with_row_group_size(7_000)
        .with_transform(Prediction {
            predictor: Predictor::Median,
            left: 3,
            up: Some(270),
            colour: None,
            contexts: None,
        });
    assert!(check_every_read(&a, &path, &opts).is_some());
    let mut session = ArraySession::new();
    session.register_array("img", &path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let batches = rt
        .block_on(session.query(
            "SELECT count(*), sum(CAST(value AS DOUBLE)), min(value), max(value), \
             sum(CAST(dim_0 AS BIGINT) * 100000 + CAST(dim_1 AS BIGINT) * 10 + CAST(dim_2 AS BIGINT)) FROM img",
        ))
        .unwrap();
    let row = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    let sum: f64 = a.iter().map(|&v| f64::from(v)).sum();
    let (min, max) = (a.iter().min().unwrap(), a.iter().max().unwrap());
    let coords: i64 = a
        .indexed_iter()
        .map(|(ix, _)| (ix[0] * 100_000 + ix[1] * 10 + ix[2]) as i64)
        .sum();
    for want in [
        a.len().to_string(),
        format!("{sum}"),
        min.to_string(),
        max.to_string(),
        coords.to_string(),
    ] {
        assert!(row.contains(&want), "{want} not in\n{row}");
    }
    // One cell, by its coordinates.
    let batches = rt
        .block_on(session.query("SELECT value FROM img WHERE dim_0 = 57 AND dim_1 = 44 AND dim_2 = 2"))
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(text.contains(&format!("| {} ", a[[57, 44, 2]])), "{text}");
}

/// `write --portable` keeps plain values; `info` names the transform and what each candidate
/// measured.
#[test]
fn the_cli_writes_portable_files_and_info_shows_the_transform() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(21);
    let a = ndarray::Array2::from_shape_fn((256, 200), |(i, j)| {
        u8::try_from((i + j) / 2 + (rng.next() % 3) as usize).unwrap()
    });
    arrstore::npy::write_npy(dir.path().join("a.npy"), &DynArray::from(a.into_dyn()), false).unwrap();
    let w = run_in(dir.path(), &["write", "a.npy", "t.parquet"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert!(w.stdout.contains("predicted: "), "{}", w.stdout);
    let w = run_in(dir.path(), &["write", "--portable", "a.npy", "p.parquet"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert!(!w.stdout.contains("predicted"), "{}", w.stdout);
    let portable = ArrayFile::open(dir.path().join("p.parquet")).unwrap();
    assert!(portable.meta().value_column().transform.is_none());
    let info = run_in(dir.path(), &["info", "t.parquet"]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    assert!(
        info.stdout.contains("transform of 'value': ")
            && info.stdout.contains("the column stores residuals (format 2.0)"),
        "{}",
        info.stdout
    );
    assert!(info.stdout.contains("candidates measured"), "{}", info.stdout);
    assert!(info.stdout.contains("\n  none "), "{}", info.stdout);
    let json = run_in(dir.path(), &["info", "--json", "t.parquet"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(v["columns"][0]["transform"]["predictor"].is_string(), "{v}");
    assert_eq!(v["columns"][0]["transform_candidates"][0]["name"], "none", "{v}");
    assert!(v["columns"][0]["codecs"][0].is_string(), "{v}");
    let w = run_in(dir.path(), &["write", "--effort", "fast", "a.npy", "f.parquet"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    let f = ArrayFile::open(dir.path().join("f.parquet")).unwrap();
    assert_eq!(
        f.meta().value_column().transform_candidates.len(),
        2,
        "none and one predictor"
    );
    let w = run_in(dir.path(), &["write", "--effort", "hard", "a.npy", "g.parquet"]);
    assert_ne!(w.code, 0);
    assert!(w.stderr.contains("unknown effort 'hard'"), "{}", w.stderr);
    assert!(!dir.path().join("g.parquet").exists());
    let info = run_in(dir.path(), &["info", "p.parquet"]);
    assert!(info.stdout.contains("codec"), "{}", info.stdout);
    assert!(
        info.stdout
            .contains("transform of 'value': none (written portable"),
        "{}",
        info.stdout
    );
}

/// The example file of format 2.0 in `data/` reads to the array its recipe makes.
#[test]
fn the_format_2_example_reads_back() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/example-dense-predicted.parquet");
    let f = ArrayFile::open(&path).unwrap();
    assert_eq!(f.meta().format_version, "2.0");
    assert!(f.meta().value_column().transform.is_some());
    let a: ndarray::Array3<u8> = f.read().unwrap();
    assert_eq!(a.shape(), &[48, 64, 3]);
    ArrayFile::open(&path).unwrap().verify().unwrap();
}

/// Floats that are integers over a common scale (a normalised image `k / 255`, prices with two
/// decimals) are stored as those integers with the scale, checked on every value: one value
/// off the step anywhere, even outside the sample, keeps them floats.
#[test]
fn floats_on_a_common_scale_are_stored_as_integers() {
    use arrstore::scale::{Scale, ScaleOp};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.parquet");
    let pixels = field::<u8>(&[300, 400], 9, 30, false);
    let normalised = pixels.mapv(|k| f64::from(k) / 255.0);
    let written = |a: &ArrayD<f64>, opts: &WriteOptions| {
        check_every_read(a, &path, opts);
        ArrayFile::open(&path).unwrap().meta().clone()
    };
    let meta = written(&normalised, &WriteOptions::default());
    let v = meta.value_column();
    // 255, or a divisor of it when every pixel shares a factor (any scale kept reproduces
    // every value: the reads above are exact).
    let scale = v.scale.expect("a scale");
    assert!(scale.op == ScaleOp::Divide && 255.0 % scale.by == 0.0, "{v:?}");
    assert_eq!(v.narrowing().stored, DType::U8);
    assert_eq!(meta.format_version, "2.0");
    let portable = written(&normalised, &WriteOptions::default().with_portable(true));
    assert!(portable.value_column().scale.is_none());
    // float32 too.
    let f32s = pixels.mapv(|k| f32::from(k) / 255.0);
    check_every_read(&f32s, &path, &WriteOptions::default());
    let m = ArrayFile::open(&path).unwrap().meta().clone();
    assert_eq!(m.value_column().scale, Some(scale));
    // Prices in cents.
    let mut rng = Rng(5);
    let prices = ArrayD::from_shape_fn(IxDyn(&[50_000]), |_| (rng.next() % 1_000_000) as f64 / 100.0);
    let meta = written(&prices, &WriteOptions::default());
    assert_eq!(
        meta.value_column().scale,
        Some(Scale {
            op: ScaleOp::Divide,
            by: 100.0
        })
    );
    assert_eq!(meta.value_column().narrowing().stored, DType::U32);
    // One value off the step, where a small sample does not look: no scale, still exact.
    let mut off = normalised.clone();
    off[[299, 399]] = 0.123_456_7;
    let small_sample = WriteOptions::default().with_sample_bytes(8000);
    let meta = written(&off, &small_sample);
    assert!(meta.value_column().scale.is_none(), "{:?}", meta.value_column());
    let meta = written(&normalised, &small_sample);
    assert!(meta.value_column().scale.is_some());
    // -0.0 is not 0 / 255: no scale.
    let mut minus_zero = normalised.clone();
    minus_zero[[0, 0]] = -0.0;
    assert!(written(&minus_zero, &WriteOptions::default())
        .value_column()
        .scale
        .is_none());

    // SQL gives the same values.
    let meta = written(&normalised, &WriteOptions::default().with_portable(false));
    assert!(meta.value_column().scale.is_some());
    let mut session = ArraySession::new();
    session.register_array("img", &path).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (r, c) in [(123, 45), (0, 0), (299, 399), (17, 301)] {
        let batches = rt
            .block_on(session.query(&format!("SELECT value FROM img WHERE row = {r} AND col = {c}")))
            .unwrap();
        use arrow::array::AsArray;
        let got = batches[0]
            .column(0)
            .as_primitive::<arrow::datatypes::Float64Type>()
            .value(0);
        assert_eq!(got.to_bits(), normalised[[r, c]].to_bits(), "({r}, {c})");
    }
    let batches = rt
        .block_on(session.query("SELECT count(*) FROM img WHERE value = 0.2"))
        .unwrap();
    let text = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    let want = normalised.iter().filter(|&&v| v == 0.2).count();
    assert!(text.contains(&format!("| {want} ")), "{want}: {text}");
}

/// The stored column of a transformed file is exactly what FORMAT.md defines: the zig-zag
/// residuals of the predictor, restarting at each row group (computed here independently).
#[test]
fn the_stored_column_holds_zigzag_residuals_restarting_at_each_row_group() {
    use arrow::array::AsArray;
    let mut rng = Rng(3);
    let a = ndarray::Array2::from_shape_fn((20, 9), |(i, j)| {
        i16::try_from(i * 40 + j * 3).unwrap() - 300 + (rng.next() % 5) as i16
    });
    let opts = WriteOptions::default()
        .with_layout(Layout::Dense)
        .with_row_group_size(50)
        .with_transform(Prediction {
            predictor: Predictor::Median,
            left: 1,
            up: Some(9),
            colour: None,
            contexts: None,
        });
    let mut file = Vec::new();
    let s = arrstore::write_array_to(&mut file, &a, &opts).unwrap();
    let v = s.meta.value_column();
    let t = v.transform.unwrap();
    assert_eq!(t.of_type, v.narrowing().stored);
    // The narrowed values s, as ordered W-bit numbers u.
    let bits = 8 * t.of_type.size() as u32;
    let flip = if t.of_type.is_signed() {
        1i128 << (bits - 1)
    } else {
        0
    };
    let u: Vec<i128> = a.iter().map(|&x| i128::from(x) - v.offset + flip).collect();
    let modulus = 1i128 << bits;
    let mut want = Vec::new();
    for (i, &x) in u.iter().enumerate() {
        let p = i % 50; // the row group restarts every 50 rows
        let pred = if p < 1 {
            0
        } else if p < 10 {
            u[i - 1]
        } else {
            let (a, b, c) = (u[i - 1], u[i - 9], u[i - 10]);
            if c >= a.max(b) {
                a.min(b)
            } else if c <= a.min(b) {
                a.max(b)
            } else {
                a + b - c
            }
        };
        let mut d = (x - pred).rem_euclid(modulus);
        if d >= modulus / 2 {
            d -= modulus; // signed W-bit
        }
        want.push(if d >= 0 { 2 * d } else { -2 * d - 1 });
    }
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(file))
            .unwrap()
            .build()
            .unwrap();
    let mut got = Vec::new();
    for batch in reader {
        let col = arrow::compute::cast(batch.unwrap().column(0), &arrow::datatypes::DataType::Int64).unwrap();
        got.extend(
            col.as_primitive::<arrow::datatypes::Int64Type>()
                .values()
                .iter()
                .map(|&x| i128::from(x)),
        );
    }
    assert_eq!(got, want);
}

/// SQL over a transformed file checks every byte it reads.
#[test]
fn sql_over_a_transformed_file_checks_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noisy.parquet");
    let a = field::<u16>(&[400, 500], 17, 200, false);
    let t = check_every_read(&a, &path, &WriteOptions::default().with_layout(Layout::Dense));
    assert!(t.is_some());
    let data = ArrayFile::open(&path)
        .unwrap()
        .meta()
        .checksums
        .clone()
        .unwrap()
        .data_bytes;
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[usize::try_from(data / 2).unwrap()] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let mut session = ArraySession::new();
    let e = match session.register_array("t", &path) {
        Err(e) => e.to_string(),
        Ok(_) => {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(session.query("SELECT sum(CAST(value AS BIGINT)) FROM t"))
                .unwrap_err()
                .to_string()
        }
    };
    assert!(
        e.contains("noisy.parquet") && e.contains("checksum mismatch"),
        "{e}"
    );
}

/// RGB and RGBA images with the colour transform forced, in row groups the writer keeps to
/// whole pixels: exact on every read path; and an RGB photograph-like image chooses it.
#[test]
fn colour_transforms_round_trip_and_are_chosen() {
    use arrstore::predict::Colour;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rgb.parquet");
    let mut rng = Rng(8);
    for channels in [3usize, 4] {
        let a = ndarray::Array3::from_shape_fn((37, 41, channels), |(i, j, c)| {
            u8::try_from((i * 3 + j * 2 + c * 40 + (rng.next() % 9) as usize) % 256).unwrap()
        })
        .into_dyn();
        let left = channels as u64;
        for rows in [1 << 20, 1000, 7] {
            let opts = WriteOptions::default()
                .with_layout(Layout::Dense)
                .with_row_group_size(rows)
                .with_transform(Prediction {
                    predictor: Predictor::Median,
                    left,
                    up: Some(left * 41),
                    colour: Some(Colour::YcocgR),
                    contexts: None,
                });
            let t = check_every_read(&a, &path, &opts).expect("a transform");
            assert_eq!(t.colour, Some(Colour::YcocgR));
            let f = ArrayFile::open(&path).unwrap();
            let groups = f.parquet_metadata().row_groups();
            assert!(
                groups.iter().all(|g| g.num_rows() % channels as i64 == 0),
                "rows {rows}"
            );
        }
    }
    // A smooth picture: the writer measures the colour transform among its candidates.
    let photo = ndarray::Array3::from_shape_fn((256, 320, 3), |(i, j, c)| {
        let base = 60.0 + 80.0 * ((i as f64) * 0.03).sin() + 60.0 * ((j as f64) * 0.02).cos();
        let noise = (rng.next() % 7) as f64;
        (base * [1.0, 0.8, 0.6][c] + noise).clamp(0.0, 255.0) as u8
    })
    .into_dyn();
    check_every_read(&photo, &path, &WriteOptions::default()).expect("a transform");
    let meta = ArrayFile::open(&path).unwrap().meta().clone();
    let names: Vec<&str> = meta
        .value_column()
        .transform_candidates
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("colours as YCoCg-R")),
        "{names:?}"
    );
}

/// Residuals split by context: the writer measures the split on images and keeps it where it
/// pays; the counts in the metadata add up per row group, and every read path is exact, with
/// row groups of any size.
#[test]
fn residuals_split_by_context_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctx.parquet");
    let mut rng = Rng(12);
    // Flat areas, edges and texture: contexts of very different residuals.
    let a = ndarray::Array2::from_shape_fn((300, 257), |(i, j)| {
        let region = (i / 60 + j / 50) % 3;
        let v = match region {
            0 => 40,
            1 => 90 + (i + j) / 8,
            _ => 120 + (i * 3 + j) / 5 + (rng.next() % 9) as usize,
        };
        u8::try_from(v.min(255)).unwrap()
    })
    .into_dyn();
    for rows in [1 << 20, 10_000, 999] {
        let t = check_every_read(
            &a,
            &path,
            &WriteOptions::default()
                .with_layout(Layout::Dense)
                .with_row_group_size(rows),
        );
        let f = ArrayFile::open(&path).unwrap();
        let v = f.meta().value_column().clone();
        assert!(
            v.transform_candidates
                .iter()
                .any(|c| c.name.ends_with("8 contexts")),
            "{:?}",
            v.transform_candidates
        );
        if t.is_some_and(|t| t.contexts.is_some()) {
            let groups = f.parquet_metadata().row_groups();
            assert_eq!(v.context_counts.len(), groups.len());
            for (c, g) in v.context_counts.iter().zip(groups) {
                assert_eq!(c.iter().sum::<u64>(), g.num_rows() as u64);
            }
        }
    }
}

/// The codec of every chunk of column `name` of the file at `path`.
fn codecs_of(path: &std::path::Path, name: &str) -> Vec<parquet::basic::Compression> {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    let footer = parquet::file::reader::FileReader::metadata(&reader);
    footer
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().filter(|c| c.column_path().string() == name))
        .map(|c| c.compression())
        .collect()
}

/// Residual columns of a smooth float field and of a smooth image take brotli where it
/// measures smaller at the default effort; at `fast` they keep zstd and fewer candidates are
/// measured; at `best` the file is no larger. Every file reads back bit for bit.
#[test]
fn the_effort_sets_what_is_measured_and_the_codecs_of_residuals() {
    use arrstore::Effort;
    use parquet::basic::Compression;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(5);
    let smooth = ArrayD::from_shape_fn(IxDyn(&[384, 256]), |ix| {
        let (y, x) = (ix[0] as f32, ix[1] as f32);
        (y / 17.0).sin() * (x / 29.0).cos() + (rng.next() % 1000) as f32 * 1e-6
    });
    let image = ArrayD::from_shape_fn(IxDyn(&[512, 384]), |ix| {
        let (y, x) = (ix[0] as f64, ix[1] as f64);
        let v = 100.0 + 60.0 * (y / 9.0).sin() + 50.0 * (x / 13.0).cos() + (rng.next() % 7) as f64;
        v.clamp(0.0, 255.0) as u8
    });
    let run = |name: &str, effort: Effort| -> (u64, Vec<Compression>, usize) {
        let path = dir.path().join(format!("{name}-{effort:?}.parquet"));
        let opts = WriteOptions::default().with_effort(effort);
        let t = match name {
            "smooth" => check_every_read(&smooth, &path, &opts),
            _ => check_every_read(&image, &path, &opts),
        };
        assert!(t.is_some(), "{name} at {effort:?} is predicted");
        let meta = ArrayFile::open(&path).unwrap().meta().clone();
        let value = meta.value_column();
        (
            std::fs::metadata(&path).unwrap().len(),
            codecs_of(&path, &value.name),
            value.transform_candidates.len(),
        )
    };
    for name in ["smooth", "image"] {
        let (fast, fast_codecs, fast_candidates) = run(name, Effort::Fast);
        let (default, default_codecs, default_candidates) = run(name, Effort::Default);
        let (best, _, _) = run(name, Effort::Best);
        assert!(
            fast_codecs.iter().all(|c| matches!(c, Compression::ZSTD(_))),
            "{name}: {fast_codecs:?}"
        );
        assert!(
            fast_candidates < default_candidates,
            "{name}: {fast_candidates} {default_candidates}"
        );
        assert!(
            default <= fast && best * 100 <= default * 101,
            "{name}: fast {fast}, default {default}, best {best}"
        );
        if name == "smooth" {
            assert!(
                default_codecs.iter().all(|c| matches!(c, Compression::BROTLI(_))),
                "{name}: {default_codecs:?}"
            );
        }
    }
}
