//! The mutation-tested reader: valid files of every layout and several dtypes are truncated,
//! bit-flipped, overwritten and given lying self-descriptions, then opened, described, read
//! (dense, narrowed, COO, streamed), verified and queried with SQL, in process and through the
//! binary. Every mutant must read back the original bits or fail with an error: no other
//! values, no panic, no hang (the binary runs with a timeout and a capped address space). A lie
//! that describes a valid file of another array, in a file without valid checksums, cannot be
//! told from the truth and is counted apart ([`undetectable`]). Seeds are fixed;
//! `ARRSTORE_MUTANTS=N` multiplies the number of random mutants for a longer run (README.md).

use std::collections::BTreeMap;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray, RecordBatchReader};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrstore::sql::ArraySession;
use arrstore::{ArrayFile, Coo, DType, DynArray, Element, Layout, Scalar, StoredLayout, WriteOptions};
use bytes::Bytes;
use ndarray::{Array1, Array2, Array3, ShapeBuilder};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

/// Random mutants of each of the four byte-level classes, per file, in the CI run.
const RANDOM_PER_CLASS: usize = 18;

/// Mutants also run through the binary (four commands each), per class, in the CI run.
const CLI_PER_CLASS: usize = 9;

/// How long one mutant's commands may take before it counts as a hang.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Real failures found by this harness and not fixed yet: (class, command, file). Each entry
/// needs a comment saying what comes back; the test reports them but does not fail on them.
const KNOWN: &[(&str, &str, &str)] = &[];

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/// SplitMix64: a fixed seed gives the same mutants on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    /// A float in `[0, 1)` with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

// ---------------------------------------------------------------------------------------------
// The valid files.

/// A valid file and the answers every command gives on it.
struct Original {
    name: String,
    layout: StoredLayout,
    dtype: DType,
    bytes: Vec<u8>,
    json: String,
    answers: BTreeMap<Cmd, Vec<u8>>,
    /// The same table rewritten as a format 1.2 file under the true self-description: the
    /// baseline of the 1.2 lies (its footer and row groups differ, its values do not). `None`
    /// for a file of format 2.0 (a scale or transform), which format 1.2 cannot describe.
    rewritten: Option<Vec<u8>>,
    answers_1_2: BTreeMap<Cmd, Vec<u8>>,
}

impl Original {
    /// The file a mutant of `class` was made from, and the answers it gives.
    fn baseline(&self, class: Class) -> (&[u8], &BTreeMap<Cmd, Vec<u8>>) {
        match class {
            Class::Lie12 => (
                self.rewritten
                    .as_deref()
                    .expect("1.2 lies are made of 1.x files only"),
                &self.answers_1_2,
            ),
            _ => (&self.bytes, &self.answers),
        }
    }
}

/// An array to store, with the layout asked for and, where set, the rows per row group and
/// the fill value.
struct Spec {
    name: &'static str,
    array: DynArray,
    layout: Layout,
    rows: Option<usize>,
    fill: Option<Scalar>,
}

fn spec<T: Element>(name: &'static str, array: ndarray::ArrayD<T>, layout: Layout) -> Spec {
    Spec {
        name,
        array: DynArray::from(array),
        layout,
        rows: None,
        fill: None,
    }
}

impl Spec {
    fn rows(mut self, rows: usize) -> Spec {
        self.rows = Some(rows);
        self
    }

    fn fill(mut self, fill: Scalar) -> Spec {
        self.fill = Some(fill);
        self
    }
}

/// The valid arrays: every layout, C and Fortran order, 1 to 3 axes, eleven dtypes' worth of
/// narrowing cases, files of several row groups and of several 64 KiB checksum blocks.
fn arrays() -> Vec<Spec> {
    let mut rng = Rng(0x00A2_2570_2E00_0001);
    let mut random_f64 = Array2::from_shape_simple_fn((200, 160), || (rng.unit() - 0.5) * 1e6);
    random_f64[[3, 4]] = f64::from_bits(0x7ff8_0000_0000_0abc);
    random_f64[[5, 6]] = -0.0;
    let f32s = Array1::from_shape_simple_fn(30_000, || (rng.unit() as f32 - 0.5) * 1e3);
    let counts = Array2::from_shape_simple_fn((150, 170), || i64::try_from(rng.below(60_000)).unwrap());
    let image = Array2::from_shape_fn((96, 128), |(i, j)| u8::try_from((i + j) % 200).unwrap())
        .mapv(|v| v.wrapping_add(u8::try_from(rng.below(8)).unwrap()));
    let mask = Array2::from_shape_simple_fn((120, 130), || rng.below(10) == 0);
    let sparse_i32 = Array2::from_shape_simple_fn((240, 180), || match rng.below(20) {
        0 => i32::try_from(rng.below(2_000_000)).unwrap() - 1_000_000,
        _ => 0,
    });
    let big_sparse = Array2::from_shape_simple_fn((600, 500), || match rng.below(20) {
        0 => rng.unit() * 1e9,
        _ => 0.0,
    });
    let labels = Array2::from_shape_fn((60, 1000), |(i, j)| i64::try_from((i / 7 + j / 90) % 6).unwrap());
    let dense_3d = Array3::from_shape_fn((12, 10, 14), |(i, j, k)| (i * 140 + j * 14 + k) as f64 * 0.5);
    let nan_3d = Array3::from_shape_simple_fn((20, 15, 12), || match rng.below(20) {
        0 => rng.unit() - 0.5,
        _ => f64::NAN,
    });
    let fortran =
        Array2::from_shape_fn((50, 40), |(i, j)| i16::try_from(i * 40 + j).unwrap() - 1000).reversed_axes();
    let fortran_runs = Array2::from_shape_fn((30, 400).f(), |(i, j)| u16::try_from(i / 4 + j / 50).unwrap());
    let offset = Array2::from_shape_fn((64, 80), |(i, j)| {
        1_000_000_000_000 + i64::try_from(i * 80 + j).unwrap()
    });
    let runs_1d = Array1::from_shape_fn(5000, |i| i8::try_from(i / 300).unwrap() - 8);
    // Format 2.0: a smooth RGB image, a smooth float field, pixels normalised as k / 255.
    let rgb = Array3::from_shape_fn((40, 50, 3), |(i, j, c)| {
        u16::try_from(i * 30 + j * 20 + c * 7).unwrap()
    })
    .mapv(|v| v + u16::try_from(rng.below(4)).unwrap());
    let smooth = Array2::from_shape_fn((80, 90), |(i, j)| {
        ((i as f32) * 0.05).sin() + ((j as f32) * 0.03).cos()
    });
    let normalised = Array2::from_shape_fn((70, 60), |(i, j)| {
        f64::from(u8::try_from((i * 3 + j) % 256).unwrap()) / 255.0
    });
    vec![
        spec("f64-random-dense", random_f64.into_dyn(), Layout::Dense).rows(9000),
        spec("f32-1d-auto", f32s.into_dyn(), Layout::Auto),
        spec("i64-counts-auto", counts.into_dyn(), Layout::Auto).rows(8000),
        spec("u8-image-dense", image.into_dyn(), Layout::Dense),
        spec("bool-mask-auto", mask.clone().into_dyn(), Layout::Auto),
        spec("bool-mask-runs", mask.into_dyn(), Layout::Runs),
        spec("i32-sparse", sparse_i32.into_dyn(), Layout::Sparse),
        spec("f64-sparse-big", big_sparse.into_dyn(), Layout::Sparse).rows(4000),
        spec("i64-labels-runs", labels.into_dyn(), Layout::Runs).rows(200),
        spec("f64-3d-dense", dense_3d.into_dyn(), Layout::Dense),
        spec("f64-3d-sparse-nan", nan_3d.into_dyn(), Layout::Sparse).fill(Scalar::Float(f64::NAN)),
        spec("i16-fortran-dense", fortran.into_dyn(), Layout::Dense),
        spec("u16-fortran-runs", fortran_runs.into_dyn(), Layout::Runs),
        spec("i64-offset-dense", offset.into_dyn(), Layout::Dense),
        spec(
            "u64-ones-auto",
            Array2::<u64>::ones((64, 64)).into_dyn(),
            Layout::Auto,
        ),
        spec("i8-1d-runs", runs_1d.into_dyn(), Layout::Runs),
        spec("u16-rgb-predicted", rgb.into_dyn(), Layout::Dense).rows(5000),
        spec("f32-smooth-predicted", smooth.into_dyn(), Layout::Dense),
        spec("f64-normalised-scaled", normalised.into_dyn(), Layout::Auto),
    ]
}

/// The arrstore JSON of a file, read with the `parquet` crate.
fn json_of(file: &[u8]) -> String {
    let builder = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(file)).unwrap();
    let kv = builder.metadata().file_metadata().key_value_metadata().unwrap();
    kv.iter()
        .find(|k| k.key == "arrstore")
        .unwrap()
        .value
        .clone()
        .unwrap()
}

fn originals(dir: &Path) -> Vec<Original> {
    let mut out = Vec::new();
    for (
        i,
        Spec {
            name,
            array,
            layout,
            rows,
            fill,
        },
    ) in arrays().into_iter().enumerate()
    {
        let mut opts = WriteOptions::default().with_layout(layout);
        if let Some(rows) = rows {
            opts = opts.with_row_group_size(rows);
        }
        if let Some(fill) = fill {
            opts = opts.with_fill(fill);
        }
        let mut bytes = Vec::new();
        let summary = arrstore::write_dyn_to(&mut bytes, &array, &opts).unwrap();
        let json = json_of(&bytes);
        let rewritten = (!summary.meta.format_at_least(2, 0)).then(|| rewrite_as_1_2(&bytes, &json));
        let mut o = Original {
            name: name.to_string(),
            layout: summary.meta.layout,
            dtype: summary.meta.dtype,
            bytes,
            json,
            answers: BTreeMap::new(),
            rewritten,
            answers_1_2: BTreeMap::new(),
        };
        let versions = [
            Some((&o.bytes, &mut o.answers, "original")),
            o.rewritten
                .as_ref()
                .map(|r| (r, &mut o.answers_1_2, "rewritten-1.2")),
        ];
        for (file, answers, what) in versions.into_iter().flatten() {
            run_commands(
                file,
                &dir.join(format!("{what}-{i}.parquet")),
                |cmd, res| match res {
                    Res::Ok(answer) => drop(answers.insert(cmd, answer)),
                    other => panic!("{name} ({what}): {cmd} fails on the valid file: {other:?}"),
                },
            );
        }
        assert_eq!(
            o.answers[&Cmd::Read],
            dense_key(&array),
            "{name}: the read is not the array written"
        );
        for cmd in [
            Cmd::Read,
            Cmd::Narrowed,
            Cmd::Coo,
            Cmd::Streamed,
            Cmd::Verify,
            Cmd::Sql,
        ] {
            assert!(
                o.rewritten.is_none() || o.answers[&cmd] == o.answers_1_2[&cmd],
                "{name}: {cmd} differs on the file rewritten as format 1.2"
            );
        }
        out.push(o);
    }
    for layout in [StoredLayout::Dense, StoredLayout::Sparse, StoredLayout::Runs] {
        assert!(
            out.iter().any(|o| o.layout == layout),
            "no {} file",
            layout.name()
        );
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Mutants.

/// How a mutant was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// One bit flipped at a random byte.
    BitFlip,
    /// Cut to a random length.
    Truncate,
    /// 1..16 bytes at a random place overwritten with random bytes.
    Overwrite,
    /// 1..3 bits flipped in the last 2 KiB (the footer and the tail checksum).
    TailFlip,
    /// One field of the self-description changed in place, the checksums left as they were.
    Lie13,
    /// The same, with the tail checksum recomputed (a forgery: the checksums guard against
    /// corruption only).
    LieForged,
    /// The table rewritten as a format 1.2 file (no checksums) under a lying self-description.
    Lie12,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::BitFlip => "bit flip",
            Class::Truncate => "truncate",
            Class::Overwrite => "overwrite",
            Class::TailFlip => "tail flips",
            Class::Lie13 => "lie, 1.3 in place",
            Class::LieForged => "lie, 1.3 forged crc",
            Class::Lie12 => "lie, 1.2 rewrite",
        })
    }
}

/// The field a lying self-description changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lie {
    /// Nothing but the version (1.3 -> 1.2): a control, must read the original.
    Version,
    /// The shape's axes reversed.
    ShapeSwap,
    /// The first axis one longer (or shorter, from a last digit 9).
    AxisChange,
    /// Another dtype of the same name length (int64 -> int32, float64 -> float32, ...).
    Dtype,
    /// nnz one more.
    Nnz,
    /// The value column's offset one more.
    Offset,
    /// The value column's stored type another.
    StoredType,
    /// The fill value's lowest hex digit changed.
    FillBits,
    /// The sparse entry order reversed (or, rewritten, claimed where there was none).
    SortedBy,
    /// The number of runs one more.
    Runs,
    /// C order said to be Fortran, or the reverse.
    Order,
    /// The index columns of axes 0 and 1 swapped.
    IndexAxis,
    /// The value column renamed.
    ColumnName,
    /// The first axis a million times longer (rewritten files only: the text grows).
    HugeAxis,
    /// Another predictor of the value column's transform.
    Predictor,
    /// The transform's distance to the neighbour above one more.
    UpDistance,
    /// The scale's number changed in its last integer digit.
    ScaleBy,
}

const LIES: [Lie; 17] = [
    Lie::Version,
    Lie::ShapeSwap,
    Lie::AxisChange,
    Lie::Dtype,
    Lie::Nnz,
    Lie::Offset,
    Lie::StoredType,
    Lie::FillBits,
    Lie::SortedBy,
    Lie::Runs,
    Lie::Order,
    Lie::IndexAxis,
    Lie::ColumnName,
    Lie::HugeAxis,
    Lie::Predictor,
    Lie::UpDistance,
    Lie::ScaleBy,
];

/// Whether a file without (valid) checksums can tell this lie from the truth at all: the lying
/// description with the same table is a valid file of another array (the same cells under
/// another shape, dtype, offset, fill or memory order), so only a checksum, which a forger
/// recomputes and a 1.2 file does not have, could tell.
fn undetectable(lie: Lie, layout: StoredLayout) -> bool {
    match lie {
        Lie::Dtype | Lie::Offset | Lie::FillBits | Lie::Order => true,
        Lie::ShapeSwap => layout != StoredLayout::Runs,
        Lie::AxisChange | Lie::HugeAxis => layout == StoredLayout::Sparse,
        Lie::Nnz => layout != StoredLayout::Sparse,
        _ => false,
    }
}

/// Dtype names of the same length, for in-place lies.
const DTYPE_LIES: [(&str, &str); 11] = [
    ("\"int64\"", "\"int32\""),
    ("\"int32\"", "\"int16\""),
    ("\"int16\"", "\"int32\""),
    ("\"int8\"", "\"bool\""),
    ("\"bool\"", "\"int8\""),
    ("\"uint8\"", "\"int16\""),
    ("\"uint16\"", "\"uint32\""),
    ("\"uint32\"", "\"uint16\""),
    ("\"uint64\"", "\"uint32\""),
    ("\"float64\"", "\"float32\""),
    ("\"float32\"", "\"float64\""),
];

/// The dtype that a dtype name (with quotes) at the start of `s` lies as.
fn dtype_lie(s: &str) -> Option<(usize, &'static str)> {
    DTYPE_LIES
        .iter()
        .find(|(from, _)| s.starts_with(from))
        .map(|(from, to)| (from.len(), *to))
}

/// Changes the last digit of the number after `key` (up, or down from 9).
fn bump_number(json: &str, key: &str) -> Option<String> {
    let start = json.find(key)? + key.len();
    let len = json[start..].find(|c: char| !(c.is_ascii_digit() || c == '-'))?;
    let last = start + len - 1;
    let d = json.as_bytes()[last];
    if !d.is_ascii_digit() {
        return None;
    }
    let new = if d == b'9' { b'8' } else { d + 1 };
    let mut out = json.as_bytes().to_vec();
    out[last] = new;
    String::from_utf8(out).ok()
}

/// The self-description with one lie told, the same length as the truth (`in_place`) or not.
fn tell(json: &str, lie: Lie, in_place: bool) -> Option<String> {
    let replace_at =
        |at: usize, old: usize, new: &str| format!("{}{}{}", &json[..at], new, &json[at + old..]);
    match lie {
        Lie::Version => [("\"1.4\"", "\"1.3\""), ("\"2.0\"", "\"1.4\"")]
            .into_iter()
            .find(|(from, _)| json.contains(&format!("\"format_version\":{from}")))
            .map(|(from, to)| json.replacen(from, to, 1)),
        Lie::ShapeSwap => {
            let start = json.find("\"shape\":[")? + 9;
            let end = start + json[start..].find(']')?;
            let mut axes: Vec<&str> = json[start..end].split(',').collect();
            let before = axes.clone();
            axes.reverse();
            (axes != before).then(|| replace_at(start, end - start, &axes.join(",")))
        }
        Lie::AxisChange => bump_number(json, "\"shape\":["),
        Lie::HugeAxis if in_place => None,
        Lie::HugeAxis => {
            let at = json.find("\"shape\":[")? + 9;
            let len = json[at..].find(|c: char| !c.is_ascii_digit())?;
            Some(replace_at(at + len, 0, "000000"))
        }
        Lie::Dtype => {
            let at = json.find("\"dtype\":")? + 8;
            let (old, new) = dtype_lie(&json[at..])?;
            Some(replace_at(at, old, new))
        }
        Lie::Nnz => bump_number(json, "\"nnz\":"),
        Lie::Offset => bump_number(json, "\"offset\":"),
        Lie::StoredType => {
            let key = "\"role\":\"value\",\"stored_type\":";
            let at = json.find(key)? + key.len();
            let (old, new) = dtype_lie(&json[at..])?;
            Some(replace_at(at, old, new))
        }
        Lie::FillBits => {
            let at = json.find("\"fill_bits\":\"0x")? + 14 + 15;
            let new = if json.as_bytes()[at] == b'0' { "1" } else { "0" };
            Some(replace_at(at, 1, new))
        }
        Lie::SortedBy => match json.find("\"sorted_by\":[") {
            Some(start) => {
                let start = start + 13;
                let end = start + json[start..].find(']')?;
                let mut axes: Vec<&str> = json[start..end].split(',').collect();
                axes.reverse();
                Some(replace_at(start, end - start, &axes.join(",")))
            }
            None if !in_place && json.contains("\"layout\":\"sparse\"") => {
                let ndim = json[json.find("\"shape\":[")?..]
                    .split(']')
                    .next()?
                    .matches(',')
                    .count()
                    + 1;
                let axes: Vec<String> = (0..ndim).rev().map(|a| a.to_string()).collect();
                let at = json.find("\"nnz\":")?;
                Some(replace_at(at, 0, &format!("\"sorted_by\":[{}],", axes.join(","))))
            }
            None => None,
        },
        Lie::Runs => bump_number(json, "\"runs\":"),
        Lie::Order => {
            let at = json.find("\"order\":\"")? + 9;
            let new = if json.as_bytes()[at] == b'C' { "F" } else { "C" };
            Some(replace_at(at, 1, new))
        }
        Lie::IndexAxis => (json.contains("\"axis\":0") && json.contains("\"axis\":1")).then(|| {
            json.replace("\"axis\":0", "\"axis\":#")
                .replace("\"axis\":1", "\"axis\":0")
                .replace("\"axis\":#", "\"axis\":1")
        }),
        Lie::ColumnName => json
            .contains("\"name\":\"value\"")
            .then(|| json.replace("\"name\":\"value\"", "\"name\":\"valuf\"")),
        // Padded with spaces after the name, which JSON allows, to keep the length.
        Lie::Predictor => [
            ("\"median\"", "\"up\"    "),
            ("\"average\"", "\"left\"   "),
            ("\"left\"", "\"up\"  "),
        ]
        .into_iter()
        .find(|(from, _)| json.contains(&format!("\"predictor\":{from}")))
        .map(|(from, to)| {
            json.replacen(
                &format!("\"predictor\":{from}"),
                &format!("\"predictor\":{to}"),
                1,
            )
        }),
        Lie::UpDistance => bump_number(json, "\"up\":"),
        Lie::ScaleBy => bump_number(json, "\"by\":"),
    }
}

/// Replaces the self-description in the footer with `lie` (same length), and, when `forge`,
/// recomputes the tail checksum as FORMAT.md describes.
fn patch_in_place(file: &[u8], json: &str, lie: &str, forge: bool) -> Vec<u8> {
    assert_eq!(json.len(), lie.len());
    let at = find(file, json.as_bytes()).expect("the JSON is stored verbatim in the footer");
    let mut out = file.to_vec();
    out[at..at + lie.len()].copy_from_slice(lie.as_bytes());
    if forge {
        let meta: serde_json::Value = serde_json::from_str(json).unwrap();
        let data_bytes = usize::try_from(meta["checksums"]["data_bytes"].as_u64().unwrap()).unwrap();
        let key = br#""tail_crc":""#;
        let digits = data_bytes + find(&out[data_bytes..], key).unwrap() + key.len();
        let mut tail = out[data_bytes..].to_vec();
        tail[digits - data_bytes..digits - data_bytes + 8].copy_from_slice(b"00000000");
        let crc = format!("{:08x}", crc32fast::hash(&tail));
        out[digits..digits + 8].copy_from_slice(crc.as_bytes());
    }
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The table of `file` rewritten with the `parquet` crate as a format 1.2 file (no checksums,
/// no content hash) under the self-description `lie`.
fn rewrite_as_1_2(file: &[u8], lie: &str) -> Vec<u8> {
    let mut meta: serde_json::Value = serde_json::from_str(lie).unwrap();
    let obj = meta.as_object_mut().unwrap();
    obj.remove("checksums");
    obj.remove("content_hash");
    obj.insert("format_version".into(), "1.2".into());
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(file))
        .unwrap()
        .build()
        .unwrap();
    let schema = reader.schema();
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![KeyValue::new("arrstore".into(), meta.to_string())]))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(props)).unwrap();
    for batch in reader {
        writer.write(&batch.unwrap()).unwrap();
    }
    writer.close().unwrap();
    out
}

/// One mutant of one original.
struct Mutant {
    original: usize,
    class: Class,
    lie: Option<Lie>,
    what: String,
    bytes: Vec<u8>,
}

fn random_mutant(rng: &mut Rng, original: usize, file: &[u8], class: Class) -> Mutant {
    let mut bytes = file.to_vec();
    let what = match class {
        Class::BitFlip => {
            let (at, bit) = (rng.below(bytes.len()), rng.below(8));
            bytes[at] ^= 1 << bit;
            format!("bit {bit} of byte {at} flipped")
        }
        Class::Truncate => {
            let len = rng.below(bytes.len());
            bytes.truncate(len);
            format!("cut to {len} bytes")
        }
        Class::Overwrite => {
            let at = rng.below(bytes.len());
            let n = (1 + rng.below(16)).min(bytes.len() - at);
            bytes[at..at + n]
                .iter_mut()
                .for_each(|b| *b = rng.next().to_le_bytes()[0]);
            format!("{n} bytes at {at} overwritten")
        }
        Class::TailFlip => {
            let from = bytes.len().saturating_sub(2048);
            let mut places = Vec::new();
            for _ in 0..1 + rng.below(3) {
                let (at, bit) = (from + rng.below(bytes.len() - from), rng.below(8));
                bytes[at] ^= 1 << bit;
                places.push(format!("{at}.{bit}"));
            }
            format!("bits flipped at {}", places.join(", "))
        }
        _ => unreachable!("lies are made by lie_mutants"),
    };
    Mutant {
        original,
        class,
        lie: None,
        what,
        bytes,
    }
}

fn lie_mutants(original: usize, o: &Original) -> Vec<Mutant> {
    let mut out = Vec::new();
    for lie in LIES {
        let mk = |class, bytes| Mutant {
            original,
            class,
            lie: Some(lie),
            what: format!("{lie:?}"),
            bytes,
        };
        if let Some(told) = tell(&o.json, lie, true) {
            out.push(mk(Class::Lie13, patch_in_place(&o.bytes, &o.json, &told, false)));
            out.push(mk(
                Class::LieForged,
                patch_in_place(&o.bytes, &o.json, &told, true),
            ));
        }
        if let Some(told) = tell(&o.json, lie, false).filter(|_| o.rewritten.is_some()) {
            out.push(mk(Class::Lie12, rewrite_as_1_2(&o.bytes, &told)));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Commands and what they give.

/// A command run on a mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Cmd {
    Open,
    Info,
    Read,
    Narrowed,
    Coo,
    Streamed,
    Verify,
    Sql,
    CliInfo,
    CliRead,
    CliVerify,
    CliSql,
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cmd::Open => "open",
            Cmd::Info => "info",
            Cmd::Read => "read dense",
            Cmd::Narrowed => "read narrowed",
            Cmd::Coo => "read COO",
            Cmd::Streamed => "npy streamed",
            Cmd::Verify => "verify",
            Cmd::Sql => "SQL",
            Cmd::CliInfo => "cli info",
            Cmd::CliRead => "cli read",
            Cmd::CliVerify => "cli verify",
            Cmd::CliSql => "cli sql",
        })
    }
}

/// What one command gave: a comparable answer, an error, a panic, or nothing in time.
#[derive(Debug)]
enum Res {
    Ok(Vec<u8>),
    Err(String),
    /// The binary's exit 1 with a message that does not name the file.
    Vague(String),
    Panic(String),
    Hang,
}

/// A dense array as comparable bytes: dtype, shape, memory order, then each cell's bits in
/// logical (C) order.
fn dense_key(a: &DynArray) -> Vec<u8> {
    fn cells<T: Element>(a: &ndarray::ArrayD<T>, out: &mut Vec<u8>) {
        a.iter()
            .for_each(|v| out.extend_from_slice(&v.to_bits().to_le_bytes()));
    }
    let mut out = format!("{} {:?} {:?}|", a.dtype(), a.shape(), a.order()).into_bytes();
    crate::common::with_dyn_array!(a, x => cells(x, &mut out));
    out
}

/// A COO as comparable bytes: dtype, shape, fill bits, then the entries sorted by coordinates.
fn coo_key<T: Element>(c: &Coo<T>) -> Vec<u8> {
    let mut entries: Vec<(Vec<u64>, u64)> = (0..c.nnz())
        .map(|i| {
            let at = (0..c.shape().len()).map(|axis| c.coords(axis).get(i)).collect();
            (at, c.values()[i].to_bits())
        })
        .collect();
    entries.sort();
    let mut out = format!("{} {:?} {:x}|", T::DTYPE, c.shape(), c.fill().to_bits()).into_bytes();
    for (at, v) in entries {
        at.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Each cell of an Arrow column as bits (`None` for a null).
fn column_bits(a: &dyn Array) -> Result<Vec<Option<u64>>, String> {
    macro_rules! prim {
        ($t:ty, $f:expr) => {
            a.as_primitive::<$t>().iter().map(|v| v.map($f)).collect()
        };
    }
    Ok(match a.data_type() {
        DataType::Boolean => a.as_boolean().iter().map(|v| v.map(u64::from)).collect(),
        DataType::Int8 => prim!(Int8Type, |v| v as u64),
        DataType::Int16 => prim!(Int16Type, |v| v as u64),
        DataType::Int32 => prim!(Int32Type, |v| v as u64),
        DataType::Int64 => prim!(Int64Type, |v| v as u64),
        DataType::UInt8 => prim!(UInt8Type, u64::from),
        DataType::UInt16 => prim!(UInt16Type, u64::from),
        DataType::UInt32 => prim!(UInt32Type, u64::from),
        DataType::UInt64 => prim!(UInt64Type, |v| v),
        DataType::Float32 => prim!(Float32Type, |v| u64::from(v.to_bits())),
        DataType::Float64 => prim!(Float64Type, f64::to_bits),
        other => return Err(format!("a column of type {other}")),
    })
}

/// Every row of `SELECT * FROM t` over the file at `path`, sorted, as comparable bytes.
fn sql_rows(path: &Path) -> Result<Vec<u8>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut session = ArraySession::new();
        session.register_array("t", path).map_err(|e| e.to_string())?;
        let (schema, batches) = session
            .query_with_schema("SELECT * FROM t")
            .await
            .map_err(|e| e.to_string())?;
        let mut rows: Vec<Vec<Option<u64>>> = Vec::new();
        for b in &batches {
            let cols = b
                .columns()
                .iter()
                .map(|c| column_bits(c.as_ref()))
                .collect::<Result<Vec<_>, _>>()?;
            rows.extend((0..b.num_rows()).map(|r| cols.iter().map(|c| c[r]).collect()));
        }
        rows.sort();
        let mut out = format!("{schema:?}|").into_bytes();
        for cell in rows.iter().flatten() {
            out.extend_from_slice(&cell.map_or([0xff; 9], |v| {
                let mut b = [0; 9];
                b[1..].copy_from_slice(&v.to_le_bytes());
                b
            }));
        }
        Ok(out)
    })
}

/// Runs `f`, turning a panic into [`Res::Panic`].
fn attempt(f: impl FnOnce() -> Result<Vec<u8>, String>) -> Res {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Res::Ok(v),
        Ok(Err(e)) => Res::Err(e),
        Err(p) => Res::Panic(
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        ),
    }
}

/// The commands run in process on every mutant, in order.
const IN_PROCESS: [Cmd; 8] = [
    Cmd::Open,
    Cmd::Info,
    Cmd::Read,
    Cmd::Narrowed,
    Cmd::Coo,
    Cmd::Streamed,
    Cmd::Verify,
    Cmd::Sql,
];

/// Runs every in-process command on `file`, written to `path` for the commands that read a
/// path (the streamed `.npy` export and SQL), handing each result to `emit` as it comes.
/// Verify's answer is the dense read of the same file: a file that verifies must read as the
/// original.
fn run_commands(file: &[u8], path: &Path, mut emit: impl FnMut(Cmd, Res)) {
    std::fs::write(path, file).unwrap();
    let bytes = Bytes::copy_from_slice(file);
    let open = || ArrayFile::new(bytes.clone()).map_err(|e| e.to_string());
    for cmd in IN_PROCESS {
        let res = attempt(|| match cmd {
            Cmd::Open => open().map(|f| f.meta().to_json().into_bytes()),
            Cmd::Info => open().map(|f| f.sizes().to_json().into_bytes()),
            Cmd::Read => open()?
                .read_dyn()
                .map(|a| dense_key(&a))
                .map_err(|e| e.to_string()),
            Cmd::Narrowed => open()?
                .read_narrowed()
                .and_then(|n| n.widen())
                .map(|a| dense_key(&a))
                .map_err(|e| e.to_string()),
            Cmd::Coo => {
                let coo = open()?.read_dyn_coo().map_err(|e| e.to_string())?;
                Ok(crate::common::with_dyn_coo!(&coo, c => coo_key(c)))
            }
            Cmd::Streamed => {
                let mut npy = Vec::new();
                ArrayFile::open(path)
                    .and_then(|f| f.write_npy_to(&mut npy))
                    .map_err(|e| e.to_string())?;
                Ok(npy)
            }
            Cmd::Verify => {
                open()?.verify().map_err(|e| e.to_string())?;
                open()?
                    .read_dyn()
                    .map(|a| dense_key(&a))
                    .map_err(|e| format!("verified, then the read failed: {e}"))
            }
            Cmd::Sql => sql_rows(path),
            _ => unreachable!("{cmd} runs the binary"),
        });
        emit(cmd, res);
    }
}

// ---------------------------------------------------------------------------------------------
// The binary.

/// What a run of the binary gave: its exit code (`None`: killed by a signal, or hung).
struct CliRun {
    code: Option<i32>,
    hung: bool,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `arrstore args` in `cwd`, killing it after [`TIMEOUT`].
fn run_cli(cwd: &Path, args: &[&str]) -> CliRun {
    let dir = tempfile::tempdir_in(cwd).unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut command = Command::new(env!("CARGO_BIN_EXE_arrstore"));
    limit_memory(&mut command);
    let mut child = command
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let (code, hung) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (status.code(), false);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    CliRun {
        code,
        hung,
        stdout: std::fs::read(&out).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err).unwrap()).into_owned(),
    }
}

/// Caps the address space of a run of the binary, so that an allocation sized from a lying or
/// garbled file fails (the run dies and counts as a panic) rather than exhausting the machine:
/// 1 GiB, and 256 MiB per core for thread stacks and allocator arenas. The largest array here
/// is 2.4 MB.
#[cfg(target_os = "linux")]
fn limit_memory(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bytes = libc::rlim_t::try_from((1usize << 30) + cores * (256 << 20)).unwrap_or(libc::RLIM_INFINITY);
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: bytes,
    };
    // SAFETY: runs in the child between fork and exec; setrlimit is async-signal-safe and
    // touches no memory of the parent.
    unsafe {
        command.pre_exec(move || {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn limit_memory(_: &mut Command) {}

/// The query the binary runs: its answer must not depend on the order partial aggregates
/// arrive in (which varies with the cores), so the sum is taken only where it is exact: of
/// integers and booleans, all below 2^53 here. A float sum would differ in its last bits
/// from one run to the next on a machine of more than two cores.
fn cli_query(dtype: DType) -> String {
    let sum = match dtype.is_float() {
        true => "",
        false => ", sum(CAST(value AS DOUBLE)) AS s",
    };
    format!(
        "SELECT count(*) AS n, min(value) AS lo, max(value) AS hi, count(DISTINCT value) AS k{sum} FROM t"
    )
}

/// Runs the four CLI commands on `file` (of an array of `dtype`), stored as `dir/f.parquet`.
fn run_cli_commands(file: &[u8], dtype: DType, dir: &Path) -> Vec<(Cmd, Res)> {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("f.parquet"), file).unwrap();
    let judge = |run: CliRun, answer: Vec<u8>| -> Res {
        match run.code {
            Some(0) => Res::Ok(answer),
            Some(1) if run.stderr.contains("f.parquet") => Res::Err(run.stderr),
            Some(1) => Res::Vague(run.stderr),
            _ if run.hung => Res::Hang,
            code => Res::Panic(format!("exit {code:?}: {}", run.stderr)),
        }
    };
    let info = run_cli(dir, &["info", "f.parquet"]);
    let stdout = info.stdout.clone();
    let mut out = vec![(Cmd::CliInfo, judge(info, stdout))];
    let _ = std::fs::remove_file(dir.join("out.npy"));
    let read = run_cli(dir, &["read", "-q", "f.parquet", "-o", "out.npy"]);
    let npy = std::fs::read(dir.join("out.npy")).unwrap_or_default();
    out.push((Cmd::CliRead, judge(read, npy)));
    let verify = run_cli(dir, &["verify", "-q", "f.parquet"]);
    let verified = match ArrayFile::new(Bytes::copy_from_slice(file)).and_then(|f| f.read_dyn()) {
        Ok(a) => dense_key(&a),
        Err(e) => format!("verified, the read fails: {e}").into_bytes(),
    };
    out.push((Cmd::CliVerify, judge(verify, verified)));
    let sql = run_cli(
        dir,
        &[
            "sql",
            &cli_query(dtype),
            "--table",
            "t=f.parquet",
            "--format",
            "csv",
        ],
    );
    let stdout = sql.stdout.clone();
    out.push((Cmd::CliSql, judge(sql, stdout)));
    out
}

// ---------------------------------------------------------------------------------------------
// Outcomes and the table.

/// What a command did with a mutant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The original's answer.
    Same,
    /// An error (for the binary: exit 1 with a message naming the file).
    Error,
    /// Exit 1 from the binary with a message that does not name the file.
    Vague,
    /// Another answer, for a lie no reader can tell from the truth without checksums.
    Undetectable,
    /// Another answer, silently.
    Wrong,
    Panic,
    Hang,
}

const OUTCOMES: [Outcome; 7] = [
    Outcome::Same,
    Outcome::Error,
    Outcome::Vague,
    Outcome::Undetectable,
    Outcome::Wrong,
    Outcome::Panic,
    Outcome::Hang,
];

/// The outcome of `cmd` on mutant `m`, whose answer should be `want`; `read` is what the
/// dense read of the same mutant gave, which every other dense answer must agree with when a
/// lie is read as another array.
fn judge(m: &Mutant, o: &Original, cmd: Cmd, res: &Res, want: &[u8], read: Option<&[u8]>) -> Outcome {
    match res {
        Res::Ok(got) if got == want => Outcome::Same,
        Res::Ok(got) => {
            // The metadata commands report what the metadata says; a lie only they see is not
            // a wrong value. What the lie does to values is judged by the read commands.
            let reports = matches!(cmd, Cmd::Open | Cmd::Info | Cmd::CliInfo);
            let lie_without_checksums = matches!(m.class, Class::Lie12 | Class::LieForged);
            let consistent = match (as_dense(cmd, got), read) {
                (Some(dense), Some(read)) => dense == read,
                _ => true,
            };
            match m.lie {
                Some(lie)
                    if lie_without_checksums && consistent && (reports || undetectable(lie, o.layout)) =>
                {
                    Outcome::Undetectable
                }
                _ => Outcome::Wrong,
            }
        }
        Res::Err(_) => Outcome::Error,
        Res::Vague(_) => Outcome::Vague,
        Res::Panic(_) => Outcome::Panic,
        Res::Hang => Outcome::Hang,
    }
}

/// A command's answer as [`dense_key`], for the commands that give the whole array.
fn as_dense(cmd: Cmd, answer: &[u8]) -> Option<Vec<u8>> {
    match cmd {
        Cmd::Read | Cmd::Narrowed | Cmd::Verify | Cmd::CliVerify => Some(answer.to_vec()),
        Cmd::Streamed | Cmd::CliRead => Some(
            arrstore::npy::read_npy_from(answer)
                .map(|a| dense_key(&a))
                .unwrap_or_else(|e| format!("not an .npy file: {e}").into_bytes()),
        ),
        _ => None,
    }
}

/// Counts per (class, command) and per outcome, and the failures in detail.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<(Class, Cmd), [u64; 7]>,
    failures: Vec<String>,
    known: Vec<String>,
    undetectable: BTreeMap<String, u64>,
}

impl Tally {
    fn add(&mut self, m: &Mutant, o: &Original, cmd: Cmd, outcome: Outcome, res: &Res) {
        let slot = OUTCOMES.iter().position(|x| *x == outcome).unwrap();
        self.counts.entry((m.class, cmd)).or_default()[slot] += 1;
        let detail = || {
            let said = match res {
                Res::Ok(_) => "other values, no error".to_string(),
                Res::Err(e) | Res::Vague(e) | Res::Panic(e) => e.chars().take(300).collect(),
                Res::Hang => format!("still running after {TIMEOUT:?}"),
            };
            format!(
                "{outcome:?}: {} / {} / {cmd}: {}: {said}",
                o.name, m.class, m.what
            )
        };
        match outcome {
            Outcome::Vague | Outcome::Wrong | Outcome::Panic | Outcome::Hang => {
                let class = m.class.to_string();
                let cmd_name = cmd.to_string();
                let known = KNOWN
                    .iter()
                    .any(|(c, k, f)| *c == class && *k == cmd_name && *f == o.name);
                if known {
                    &mut self.known
                } else {
                    &mut self.failures
                }
                .push(detail());
            }
            Outcome::Undetectable => {
                *self
                    .undetectable
                    .entry(format!("{} {}", m.class, m.what))
                    .or_default() += 1
            }
            _ => {}
        }
    }

    fn print(&self, mutants: &BTreeMap<Class, usize>, cli: &BTreeMap<Class, usize>) {
        eprintln!("\nmutants per class, in process: {mutants:?}");
        eprintln!("of them also through the binary: {cli:?}");
        eprintln!(
            "{:<20} {:<14} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5}",
            "class", "command", "same", "error", "vague", "undet.", "WRONG", "panic", "hang"
        );
        for ((class, cmd), c) in &self.counts {
            eprintln!(
                "{:<20} {:<14} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5}",
                class.to_string(),
                cmd.to_string(),
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                c[6]
            );
        }
        let mut per_cmd: BTreeMap<Cmd, [u64; 7]> = BTreeMap::new();
        for ((_, cmd), c) in &self.counts {
            let t = per_cmd.entry(*cmd).or_default();
            t.iter_mut().zip(c).for_each(|(t, c)| *t += c);
        }
        eprintln!("{:-<80}", "");
        for (cmd, c) in per_cmd {
            eprintln!(
                "{:<20} {:<14} {:>6} {:>6} {:>6} {:>7} {:>6} {:>6} {:>5}",
                "all",
                cmd.to_string(),
                c[0],
                c[1],
                c[2],
                c[3],
                c[4],
                c[5],
                c[6]
            );
        }
        if !self.undetectable.is_empty() {
            eprintln!(
                "undetectable without checksums (command results per lie): {:?}",
                self.undetectable
            );
        }
        for k in &self.known {
            eprintln!("known: {k}");
        }
        for f in &self.failures {
            eprintln!("FAILURE {f}");
        }
    }
}

/// A mutant's number and what each command gave.
type Ran = (usize, Vec<(Cmd, Res)>);

/// Runs `job` on its own thread; results arrive per command, and a command still running after
/// [`TIMEOUT`] counts as a hang (its thread is left behind).
fn with_timeout(
    cmds: &[Cmd],
    job: impl FnOnce(mpsc::Sender<(Cmd, Res)>) + Send + 'static,
) -> Vec<(Cmd, Res)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || job(tx));
    let deadline = Instant::now() + TIMEOUT;
    let mut out = Vec::new();
    while out.len() < cmds.len() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(r) => out.push(r),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                out.push((cmds[out.len()], Res::Hang));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    out
}

fn multiplier() -> usize {
    std::env::var("ARRSTORE_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// Every mutant of every file, through every command: no wrong values, panics or hangs.
#[test]
fn mutants_read_back_the_original_or_fail() {
    let started = Instant::now();
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let originals = Arc::new(originals(dir));
    let k = multiplier();

    let mut rng = Rng(0x5EED_0FA2_2570);
    let mut mutants = Vec::new();
    for (i, o) in originals.iter().enumerate() {
        for class in [Class::BitFlip, Class::Truncate, Class::Overwrite, Class::TailFlip] {
            for _ in 0..RANDOM_PER_CLASS * k {
                mutants.push(random_mutant(&mut rng, i, &o.bytes, class));
            }
        }
        mutants.extend(lie_mutants(i, o));
    }
    let mutants = Arc::new(mutants);
    let mut per_class = BTreeMap::new();
    mutants
        .iter()
        .for_each(|m| *per_class.entry(m.class).or_default() += 1);

    // In process: as many workers as cores, each running one mutant at a time under a timeout.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results: Vec<Vec<Ran>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (next, mutants) = (next.clone(), mutants.clone());
                s.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if i >= mutants.len() {
                            break mine;
                        }
                        let path = dir.join(format!("m{i}.parquet"));
                        let (mutants, p) = (mutants.clone(), path.clone());
                        let res = with_timeout(&IN_PROCESS, move |tx| {
                            run_commands(&mutants[i].bytes, &p, |cmd, r| drop(tx.send((cmd, r))));
                        });
                        let _ = std::fs::remove_file(&path);
                        mine.push((i, res));
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let in_process = started.elapsed();

    let mut tally = Tally::default();
    for (i, res) in results.into_iter().flatten() {
        let m = &mutants[i];
        let o = &originals[m.original];
        let read = res.iter().find_map(|(cmd, r)| match (cmd, r) {
            (Cmd::Read, Res::Ok(a)) => Some(a.clone()),
            _ => None,
        });
        for (cmd, r) in res {
            let outcome = judge(m, o, cmd, &r, &o.baseline(m.class).1[&cmd], read.as_deref());
            tally.add(m, o, cmd, outcome, &r);
        }
    }

    // Through the binary: the first mutants of each class, spread over the files.
    let mut cli_baselines: BTreeMap<(usize, bool), BTreeMap<Cmd, Vec<u8>>> = BTreeMap::new();
    let mut chosen: Vec<usize> = Vec::new();
    for class in per_class.keys() {
        let of_class: Vec<usize> = (0..mutants.len())
            .filter(|&i| mutants[i].class == *class)
            .collect();
        let step = (of_class.len() / (CLI_PER_CLASS * k)).max(1);
        chosen.extend(of_class.iter().step_by(step).take(CLI_PER_CLASS * k));
    }
    let mut cli_mutants: BTreeMap<Class, usize> = BTreeMap::new();
    for &i in &chosen {
        let m = &mutants[i];
        let o = &originals[m.original];
        let is_1_2 = m.class == Class::Lie12;
        let want = cli_baselines.entry((m.original, is_1_2)).or_insert_with(|| {
            let at = dir.join(format!("cli-original-{}-{is_1_2}", m.original));
            let got = run_cli_commands(o.baseline(m.class).0, o.dtype, &at);
            got.into_iter()
                .map(|(cmd, r)| match r {
                    Res::Ok(v) => (cmd, v),
                    other => panic!("{}: {cmd} fails on the valid file: {other:?}", o.name),
                })
                .collect()
        });
        let read = match attempt(|| {
            let a = ArrayFile::new(Bytes::copy_from_slice(&m.bytes)).and_then(|f| f.read_dyn());
            a.map(|a| dense_key(&a)).map_err(|e| e.to_string())
        }) {
            Res::Ok(a) => Some(a),
            _ => None,
        };
        for (cmd, r) in run_cli_commands(&m.bytes, o.dtype, &dir.join(format!("cli-{i}"))) {
            let outcome = judge(m, o, cmd, &r, &want[&cmd], read.as_deref());
            tally.add(m, o, cmd, outcome, &r);
        }
        *cli_mutants.entry(m.class).or_default() += 1;
    }

    tally.print(&per_class, &cli_mutants);
    eprintln!(
        "{} mutants in process ({:.1} s), {} through the binary; {:.1} s in all",
        mutants.len(),
        in_process.as_secs_f64(),
        chosen.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        tally.failures.is_empty(),
        "{} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
}
