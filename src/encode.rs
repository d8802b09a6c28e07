//! Per-column Parquet encoding, chosen by measuring: each candidate encoding is written for a
//! sample of the column with the file's codec, and the smallest wins.
//!
//! Candidates by stored type (`bool` stays bit-packed or run-length; every integer type is
//! physically INT32 or INT64 in Parquet; floats are FLOAT or DOUBLE):
//!
//! | stored type | candidates |
//! |---|---|
//! | bool | plain, rle |
//! | integers | plain, dictionary, delta_binary_packed, byte_stream_split |
//! | floats | plain, dictionary, byte_stream_split |
//!
//! A dictionary is measured only where, before compression, its page and indices could take
//! fewer bits than the plain values ([`dictionary_may_pay`]).
//!
//! Sizes are never inferred from types: a narrowed INT16 column is still 4 bytes a value in a
//! plain page, and only the encoding and codec make it small.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{BrotliLevel, Compression, Encoding, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;

use crate::dtype::DType;
use crate::effort::Effort;
use crate::error::Result;

/// A Parquet encoding arrstore may choose for a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnEncoding {
    /// Values as they are (booleans bit-packed).
    Plain,
    /// A dictionary page of distinct values, then bit-packed/RLE indices.
    Dictionary,
    /// Run-length/bit-packed hybrid (booleans).
    Rle,
    /// Deltas between neighbours, bit-packed per miniblock (integers; ideal for sorted indices).
    DeltaBinaryPacked,
    /// Each byte of the value in its own stream, so the codec sees alike bytes together.
    ByteStreamSplit,
}

impl ColumnEncoding {
    /// The snake-case name (as in the metadata and `info`).
    pub fn name(self) -> &'static str {
        match self {
            ColumnEncoding::Plain => "plain",
            ColumnEncoding::Dictionary => "dictionary",
            ColumnEncoding::Rle => "rle",
            ColumnEncoding::DeltaBinaryPacked => "delta_binary_packed",
            ColumnEncoding::ByteStreamSplit => "byte_stream_split",
        }
    }

    /// The encodings worth trying for a column stored as `stored`.
    pub fn candidates(stored: DType) -> &'static [ColumnEncoding] {
        use ColumnEncoding::*;
        match stored {
            DType::Bool => &[Plain, Rle],
            DType::F32 | DType::F64 => &[Plain, Dictionary, ByteStreamSplit],
            _ => &[Plain, Dictionary, DeltaBinaryPacked, ByteStreamSplit],
        }
    }

    /// Sets this encoding and `compression` for column `name`.
    pub(crate) fn configure(
        self,
        b: WriterPropertiesBuilder,
        name: &str,
        compression: Compression,
    ) -> WriterPropertiesBuilder {
        let path = ColumnPath::from(name);
        let b = b.set_column_compression(path.clone(), compression);
        match self {
            ColumnEncoding::Dictionary => b
                .set_column_dictionary_enabled(path.clone(), true)
                .set_column_encoding(path, Encoding::PLAIN),
            other => {
                let e = match other {
                    ColumnEncoding::Plain => Encoding::PLAIN,
                    ColumnEncoding::Rle => Encoding::RLE,
                    ColumnEncoding::DeltaBinaryPacked => Encoding::DELTA_BINARY_PACKED,
                    ColumnEncoding::ByteStreamSplit => Encoding::BYTE_STREAM_SPLIT,
                    ColumnEncoding::Dictionary => unreachable!("handled above"),
                };
                b.set_column_dictionary_enabled(path.clone(), false)
                    .set_column_encoding(path, e)
            }
        }
    }
}

/// Largest dictionary page before a dictionary-encoded column falls back to plain pages.
pub const DICTIONARY_PAGE_SIZE_LIMIT: usize = 4 << 20;

/// Most rows in one data page of a dense file: pages are bounded by their bytes (Parquet's 1 MiB
/// default), not by a row count, so a page that compresses to almost nothing does not cost a
/// page header, an index entry and a codec frame every 20,000 rows (Parquet's default row limit).
pub const DATA_PAGE_ROW_COUNT_LIMIT: usize = 1 << 20;

/// Most rows in one data page of a sparse (COO) file. Query engines prune pages with the page
/// index, so a filter on the coordinates reads only the pages that hold them; a sorted index
/// column compresses so well that, bounded by bytes alone, a whole row group would be one page
/// and nothing could be pruned. The bound costs little in size and lets a filter on a few rows
/// read one page per column instead of the row group (`DESIGN.md`).
pub const SPARSE_DATA_PAGE_ROW_COUNT_LIMIT: usize = 1 << 17;

/// The writer properties every arrstore file shares; columns are configured on top.
pub(crate) fn base_properties(compression: Compression, row_group_size: usize) -> WriterPropertiesBuilder {
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(row_group_size.max(1)))
        .set_data_page_row_count_limit(DATA_PAGE_ROW_COUNT_LIMIT)
        .set_dictionary_page_size_limit(DICTIONARY_PAGE_SIZE_LIMIT)
        .set_created_by(format!("arrstore {}", env!("CARGO_PKG_VERSION")))
}

/// The fastest zstd level, measured beside a higher requested one. zstd levels are not monotone:
/// on bytes that are near-random but unevenly spread (the sign-and-exponent stream of
/// byte-stream-split floats), level 3 spends bits on short matches that coding the bytes alone
/// at level 1 does not (`DESIGN.md`). The fastest level is taken wherever it measures no
/// larger, since it also writes faster.
pub const FASTEST_ZSTD_LEVEL: i32 = 1;

/// A zstd level tried above a lower requested one, and the least saving for which it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelStep {
    /// The zstd level.
    pub level: i32,
    /// The least saving, in percent of the column's bytes at the level before, for which this
    /// level is taken.
    pub min_saving_percent: u64,
}

/// The zstd levels tried, in turn, above a lower requested level: each is slower to write than
/// the one before, all read as fast, and they are clearly smaller on some data (masks, label
/// images). A level is taken only where it measures its step's saving smaller than the level
/// before it, and the next is tried only after one was taken, so data that compresses no
/// better at level 9 never pays for level 15. Each step asks more the more it costs to write
/// (level 13 is where zstd's optimal parser starts on page-sized input); `DESIGN.md` gives the
/// times behind the thresholds.
pub const HIGHER_ZSTD_LEVELS: [LevelStep; 3] = [
    LevelStep {
        level: 9,
        min_saving_percent: 2,
    },
    LevelStep {
        level: 13,
        min_saving_percent: 4,
    },
    LevelStep {
        level: 15,
        min_saving_percent: 2,
    },
];

/// The measured on-disk bytes of one column under each candidate, and the smallest.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodingChoice {
    /// The smallest candidate.
    pub best: ColumnEncoding,
    /// The codec for the column: the requested one, or zstd at [`FASTEST_ZSTD_LEVEL`] or one
    /// of [`HIGHER_ZSTD_LEVELS`] where that measured smaller (then the last entry of `measured`
    /// is the best encoding at it).
    pub compression: Compression,
    /// Each candidate with the compressed bytes of its column chunks for the sample.
    pub measured: Vec<(ColumnEncoding, u64)>,
}

impl EncodingChoice {
    /// The measured bytes of the chosen encoding at the chosen codec: the least of its
    /// measurements, since a level is kept only where it measures smaller than the ones before,
    /// and a rival replaces the best only where it measures smaller at the level kept than the
    /// best there (and so than its own, larger, bytes at the requested level).
    pub fn best_bytes(&self) -> u64 {
        self.measured
            .iter()
            .filter(|(e, _)| *e == self.best)
            .map(|(_, b)| *b)
            .min()
            .unwrap_or(0)
    }
}

/// The compressed bytes of `column` written as a one-column Parquet file with `encoding`
/// (the column chunks only: footer excluded). Row groups are compressed apart, so a column of
/// several is measured a row group per worker (one per core) and their bytes summed: the same
/// figure as writing it whole, in a fraction of the time where nothing else is being measured.
pub fn measure(
    column: &ArrayRef,
    encoding: ColumnEncoding,
    compression: Compression,
    row_group_size: usize,
) -> Result<u64> {
    let rows = row_group_size.max(1);
    let groups = column.len().div_ceil(rows);
    if groups <= 1 {
        return measure_whole(column, encoding, compression, rows);
    }
    let bytes = crate::par::map_indices(groups, |g| {
        let start = g * rows;
        let piece = column.slice(start, rows.min(column.len() - start));
        measure_whole(&piece, encoding, compression, rows)
    })?;
    Ok(bytes.into_iter().sum())
}

/// [`measure`] on one thread.
fn measure_whole(
    column: &ArrayRef,
    encoding: ColumnEncoding,
    compression: Compression,
    row_group_size: usize,
) -> Result<u64> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "c",
        column.data_type().clone(),
        false,
    )]));
    let props = encoding
        .configure(base_properties(compression, row_group_size), "c", compression)
        .build();
    let mut w = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?;
    w.write(&RecordBatch::try_new(schema, vec![column.clone()])?)?;
    let meta = w.close()?;
    Ok(meta
        .row_groups()
        .iter()
        .map(|rg| u64::try_from(rg.column(0).compressed_size()).unwrap_or(0))
        .sum())
}

/// Measures every candidate for `stored` on `sample` (the dictionary only where it may pay:
/// [`dictionary_may_pay`]) and picks the smallest (ties go to the earlier, simpler candidate).
/// The candidates are measured in parallel. With zstd, the best candidate is then measured at
/// each of [`HIGHER_ZSTD_LEVELS`] above the requested level in turn, each kept while it saves
/// its step's share over the last, and last at [`FASTEST_ZSTD_LEVEL`], taken if it measures no
/// larger than the level kept.
/// When the level kept is not the requested one, the other candidates that measured within
/// [`RIVAL_MARGIN_PERCENT`] of the best are measured at it too, and the smallest is kept.
pub fn choose(
    sample: &ArrayRef,
    stored: DType,
    compression: Compression,
    row_group_size: usize,
) -> Result<EncodingChoice> {
    let mut choices = choose_columns(&[(sample.clone(), stored)], compression, row_group_size)?;
    Ok(choices.remove(0))
}

/// [`choose`] for each of `columns` (a sample and its stored type), on one worker per core:
/// first every candidate of every column ([`measure_candidates`]), then each column's zstd
/// level steps ([`choose_levels`]). At most one sample is being written per core, so measuring
/// many columns at once costs no more memory than measuring one.
pub fn choose_columns(
    columns: &[(ArrayRef, DType)],
    compression: Compression,
    row_group_size: usize,
) -> Result<Vec<EncodingChoice>> {
    let measured = measure_candidates(columns, compression, row_group_size)?;
    choose_levels(columns, measured, compression, row_group_size)
}

/// The compressed bytes of every candidate encoding of each of `columns` (a sample and its
/// stored type) at `compression`, all measured from one queue on one worker per core; a
/// dictionary is left out (not listed) where [`dictionary_may_pay`] rules it out.
pub fn measure_candidates(
    columns: &[(ArrayRef, DType)],
    compression: Compression,
    row_group_size: usize,
) -> Result<Vec<Vec<(ColumnEncoding, u64)>>> {
    let jobs: Vec<(usize, ColumnEncoding)> = columns
        .iter()
        .enumerate()
        .flat_map(|(c, (_, stored))| ColumnEncoding::candidates(*stored).iter().map(move |&e| (c, e)))
        .collect();
    let bytes = crate::par::map_indices(jobs.len(), |j| {
        let (c, e) = jobs[j];
        if e == ColumnEncoding::Dictionary && !dictionary_may_pay(&columns[c].0, row_group_size) {
            return Ok(None);
        }
        measure(&columns[c].0, e, compression, row_group_size).map(Some)
    })?;
    let mut measured = vec![Vec::new(); columns.len()];
    for ((c, e), b) in jobs.into_iter().zip(bytes) {
        if let Some(b) = b {
            measured[c].push((e, b));
        }
    }
    Ok(measured)
}

/// Whether dictionary encoding can make `column` smaller than plain pages, judged before
/// compression: in some row group of `row_group_size` rows, its `d` distinct values in a
/// dictionary page plus an index of `bits(d - 1)` bits a row take fewer bits than the plain
/// values. Where they take as many or more (distinct floats, wide-ranging integers), the
/// indices are as random as the values they replace and the dictionary page holds most values
/// again, so the codec does not turn the comparison round; the dictionary is then not measured,
/// which spares a sample's hashing of every value (the costliest candidate to measure). Values
/// are counted until the dictionary is known not to pay.
pub fn dictionary_may_pay(column: &ArrayRef, row_group_size: usize) -> bool {
    let data = column.to_data();
    let width = match column.data_type().primitive_width() {
        Some(w @ 1..=8) if !data.buffers().is_empty() => w,
        _ => return true,
    };
    // Plain pages widen values narrower than 4 bytes to INT32.
    let plain_bits = u128::try_from(width.max(4) * 8).unwrap_or(u128::MAX);
    let start = data.offset() * width;
    let bytes = &data.buffers()[0].as_slice()[start..start + column.len() * width];
    let rows = row_group_size.max(1);
    bytes.chunks(rows.saturating_mul(width)).any(|group| {
        let n = u128::try_from(group.len() / width).unwrap_or(u128::MAX);
        let mut seen: std::collections::HashSet<u64, BitsHasher> = Default::default();
        for value in group.chunks_exact(width) {
            let mut key = [0u8; 8];
            key[..width].copy_from_slice(value);
            if seen.insert(u64::from_le_bytes(key)) {
                let d = u128::try_from(seen.len()).unwrap_or(u128::MAX);
                let index_bits = u128::from(usize::BITS - (seen.len() - 1).leading_zeros());
                if d * plain_bits + n * index_bits >= n * plain_bits {
                    return false;
                }
            }
        }
        true
    })
}

/// Hashes a value's bits (written as one `u64`) with [`scramble`].
#[derive(Default, Clone, Copy)]
struct BitsHasher(u64);

impl std::hash::BuildHasher for BitsHasher {
    type Hasher = BitsHasher;
    fn build_hasher(&self) -> BitsHasher {
        BitsHasher(0)
    }
}

impl std::hash::Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        scramble(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = x;
    }
}

/// Each column's choice among its `measured` candidates (from [`measure_candidates`]), then its
/// zstd level steps (see [`choose`]), one column per worker.
pub fn choose_levels(
    columns: &[(ArrayRef, DType)],
    measured: Vec<Vec<(ColumnEncoding, u64)>>,
    compression: Compression,
    row_group_size: usize,
) -> Result<Vec<EncodingChoice>> {
    assert_eq!(
        columns.len(),
        measured.len(),
        "choose_levels: one list of measured candidates per column"
    );
    crate::par::map_indices(columns.len(), |c| {
        with_levels(&columns[c].0, measured[c].clone(), compression, row_group_size)
    })
}

/// The choice among the `measured` candidates of `sample`, then the zstd level steps (see
/// [`choose`]).
fn with_levels(
    sample: &ArrayRef,
    measured: Vec<(ColumnEncoding, u64)>,
    compression: Compression,
    row_group_size: usize,
) -> Result<EncodingChoice> {
    let best = measured
        .iter()
        .min_by_key(|(_, b)| *b)
        .map(|(e, _)| *e)
        .unwrap_or(ColumnEncoding::Plain);
    let mut choice = EncodingChoice {
        best,
        compression,
        measured,
    };
    if let Compression::ZSTD(requested) = compression {
        let at = |e: ColumnEncoding, level: i32| -> Result<u64> {
            measure(
                sample,
                e,
                Compression::ZSTD(ZstdLevel::try_new(level)?),
                row_group_size,
            )
        };
        let requested = requested.compression_level();
        let first = choice.best_bytes();
        let mut last = first;
        for (level, bytes) in climb(requested, last, |level| at(best, level))? {
            choice.measured.push((best, bytes));
            choice.compression = Compression::ZSTD(ZstdLevel::try_new(level)?);
            last = bytes;
        }
        if requested > FASTEST_ZSTD_LEVEL {
            let bytes = at(best, FASTEST_ZSTD_LEVEL)?;
            if bytes <= last {
                choice.measured.push((best, bytes));
                choice.compression = Compression::ZSTD(ZstdLevel::try_new(FASTEST_ZSTD_LEVEL)?);
                last = bytes;
            }
        }
        // Encodings that measured about as small at the requested level are measured again at
        // the level kept: a level changes encodings' sizes unequally.
        let kept = level_of(choice.compression);
        if kept != requested {
            let rivals: Vec<ColumnEncoding> = choice.measured[..]
                .iter()
                .filter(|(e, b)| *e != best && *b * 100 <= first * (100 + RIVAL_MARGIN_PERCENT))
                .map(|(e, _)| *e)
                .collect();
            for e in rivals {
                let bytes = at(e, kept)?;
                choice.measured.push((e, bytes));
                if bytes < last {
                    choice.best = e;
                    last = bytes;
                }
            }
        }
    }
    Ok(choice)
}

/// A codec tried on a residual column above the zstd level steps, and the least saving over
/// the codec kept before it for which it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecStep {
    /// The codec and its level.
    pub codec: StepCodec,
    /// The least saving, in percent of the column's bytes under the codec kept before, for
    /// which this codec is taken.
    pub min_saving_percent: u64,
}

/// A codec and level of a [`CodecStep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepCodec {
    /// zstd at this level.
    Zstd(i32),
    /// brotli at this quality.
    Brotli(u32),
}

impl StepCodec {
    /// The Parquet codec.
    pub fn compression(self) -> Result<Compression> {
        Ok(match self {
            StepCodec::Zstd(level) => Compression::ZSTD(ZstdLevel::try_new(level)?),
            StepCodec::Brotli(quality) => Compression::BROTLI(BrotliLevel::try_new(quality)?),
        })
    }
}

/// The codecs tried, in turn, on the residuals of a predictive transform (see
/// [`crate::predict`]), whose statistics change from context to context and across an image,
/// each taken where it saves its step's share over the codec kept before it:
///
/// - zstd level 16, from which zstd splits blocks where the data's statistics change (its
///   `btopt` strategies), so each context's stretch of a page gets its own entropy tables:
///   5% to 7% smaller than the level steps below on residuals stored by context;
/// - brotli quality 10, whose literals are coded with tables chosen by the two bytes before
///   them (context modelling that Parquet's other codecs lack) after an optimal parse: a
///   further 1% to 9% on natural images' residuals and 14% on a smooth float32 field's.
///
/// Both write several times slower than the levels below (brotli about 1.5 MB/s a core);
/// zstd level 16 reads as fast as they do, brotli about half as fast (`DESIGN.md` gives the
/// figures). Every Parquet reader decodes both codecs.
pub const RESIDUAL_CODEC_STEPS: [CodecStep; 2] = [
    CodecStep {
        codec: StepCodec::Zstd(16),
        min_saving_percent: 3,
    },
    CodecStep {
        codec: StepCodec::Brotli(10),
        min_saving_percent: 1,
    },
];

/// The steps of [`RESIDUAL_CODEC_STEPS`] and then brotli quality 11, tried at [`Effort::Best`]:
/// 1% to 2% smaller than quality 10 on smooth fields, and about 2.5 times slower to write.
pub const BEST_RESIDUAL_CODEC_STEPS: [CodecStep; 3] = [
    RESIDUAL_CODEC_STEPS[0],
    RESIDUAL_CODEC_STEPS[1],
    CodecStep {
        codec: StepCodec::Brotli(11),
        min_saving_percent: 1,
    },
];

/// The codec steps tried on residuals at `effort`.
pub fn residual_codec_steps(effort: Effort) -> &'static [CodecStep] {
    match effort {
        Effort::Fast => &[],
        Effort::Default => &RESIDUAL_CODEC_STEPS,
        Effort::Best => &BEST_RESIDUAL_CODEC_STEPS,
    }
}

/// Measures `choice`'s encoding of `sample` under each of [`residual_codec_steps`] at
/// `effort` in turn, when its codec is zstd (below the step's level, for a zstd step), and
/// takes a step where it saves its share over the codec kept before it. Writers try them on
/// residual columns.
pub fn try_residual_codecs(
    choice: &mut EncodingChoice,
    sample: &ArrayRef,
    row_group_size: usize,
    effort: Effort,
) -> Result<()> {
    let Compression::ZSTD(requested) = choice.compression else {
        return Ok(());
    };
    let steps: Vec<CodecStep> = residual_codec_steps(effort)
        .iter()
        .copied()
        .filter(|s| !matches!(s.codec, StepCodec::Zstd(l) if l <= requested.compression_level()))
        .collect();
    // Every step is measured whatever the one before gave, so all at once, one per core.
    let measured = crate::par::map_indices(steps.len(), |i| {
        let compression = steps[i].codec.compression()?;
        Ok((
            compression,
            measure(sample, choice.best, compression, row_group_size)?,
        ))
    })?;
    let mut last = choice.best_bytes();
    for (step, (compression, bytes)) in steps.iter().zip(measured) {
        if bytes * 100 <= last * (100 - step.min_saving_percent) {
            choice.measured.push((choice.best, bytes));
            choice.compression = compression;
            last = bytes;
        }
    }
    Ok(())
}

/// How close, in percent, another encoding's size at the requested zstd level must come to the
/// smallest for it to be measured again at the level kept (see [`choose`]).
pub const RIVAL_MARGIN_PERCENT: u64 = 5;

/// The zstd level of `compression` (0 for other codecs).
fn level_of(compression: Compression) -> i32 {
    match compression {
        Compression::ZSTD(l) => l.compression_level(),
        _ => 0,
    }
}

/// The [`HIGHER_ZSTD_LEVELS`] steps taken above the `requested` level, each with its measured
/// bytes: a step is taken while it saves its share over the last level kept (`start` bytes at
/// the requested level); `bytes_at` measures a level.
fn climb(
    requested: i32,
    start: u64,
    mut bytes_at: impl FnMut(i32) -> Result<u64>,
) -> Result<Vec<(i32, u64)>> {
    let mut taken = Vec::new();
    let mut last = start;
    for step in HIGHER_ZSTD_LEVELS.iter().filter(|s| s.level > requested) {
        let bytes = bytes_at(step.level)?;
        if bytes * 100 > last * (100 - step.min_saving_percent) {
            break;
        }
        taken.push((step.level, bytes));
        last = bytes;
    }
    Ok(taken)
}

/// At most `budget` positions of `0..len` as up to 16 runs, one in each sixteenth of the range
/// (all of `0..len` when it fits), so samples keep local structure such as runs and sorted
/// neighbours.
#[allow(clippy::single_range_in_vec_init)] // a list of one range, by design
pub fn sample_ranges(len: usize, budget: usize) -> Vec<Range<usize>> {
    const RUNS: usize = 16;
    if len <= budget {
        return vec![0..len];
    }
    // len > budget >= runs * run, so the stride is at least a run: the runs never overlap.
    let runs = RUNS.min(budget).max(1);
    let run = budget / runs;
    let stride = len / runs;
    // Each run starts at a fixed pseudo-random place in its stride, so data that repeats with
    // the stride's period is not sampled at one phase only.
    let slack = (stride - run) as u64 + 1; // stride >= run; usize fits in u64
    (0..runs)
        .map(|i| {
            // Below `slack`, which came from a usize.
            let at = i * stride + usize::try_from(scramble(i as u64) % slack).unwrap_or(0);
            at..at + run
        })
        .collect()
}

/// SplitMix64's output function: a fixed, well-mixed function of `x`.
fn scramble(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The rows `ranges` of `column`, concatenated.
#[cfg(test)]
pub fn take_ranges(column: &ArrayRef, ranges: &[Range<usize>]) -> Result<ArrayRef> {
    if let [r] = ranges {
        return Ok(column.slice(r.start, r.len()));
    }
    let parts: Vec<ArrayRef> = ranges.iter().map(|r| column.slice(r.start, r.len())).collect();
    let refs: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
    Ok(arrow::compute::concat(&refs)?)
}

/// `column` as an Arrow dictionary array with the narrowest key type that holds its distinct
/// values, or `None` when they exceed 2^32.
pub fn to_dictionary(column: &ArrayRef) -> Option<ArrayRef> {
    [DataType::UInt8, DataType::UInt16, DataType::UInt32]
        .into_iter()
        .find_map(|k| {
            let t = DataType::Dictionary(Box::new(k), Box::new(column.data_type().clone()));
            arrow::compute::cast(column, &t).ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float32Array, Float64Array, UInt16Array, UInt32Array};

    fn zstd() -> Compression {
        Compression::ZSTD(Default::default())
    }

    #[test]
    fn sorted_indices_choose_delta_and_few_values_choose_dictionary() {
        let sorted: ArrayRef = Arc::new(UInt32Array::from_iter_values(
            (0..100_000u32).map(|i| i * 7 + (i % 3)),
        ));
        let c = choose(&sorted, DType::U32, zstd(), 1 << 20).unwrap();
        assert_eq!(c.best, ColumnEncoding::DeltaBinaryPacked, "{c:?}");
        let few: ArrayRef =
            Arc::new(Float64Array::from_iter_values((0..100_000u64).map(|i| {
                [0.25, 1e-3, 7.5, 1e300][((i * 2_654_435_761) >> 7) as usize % 4]
            })));
        let c = choose(&few, DType::F64, zstd(), 1 << 20).unwrap();
        assert_eq!(c.best, ColumnEncoding::Dictionary, "{c:?}");
        // Three candidates, then one entry per other zstd level taken.
        assert!(c.measured.len() >= 3, "{c:?}");
        assert!(c.measured[3..].iter().all(|(e, _)| *e == c.best), "{c:?}");
        assert_eq!(c.measured.len() == 3, c.compression == zstd(), "{c:?}");
    }

    #[test]
    fn the_fastest_level_is_taken_where_it_measures_smaller() {
        // float32 noise: byte-stream-split leaves a skewed but match-free sign-and-exponent
        // stream, which level 1 codes smaller than level 3.
        let noise: ArrayRef = Arc::new(Float32Array::from_iter_values((1..=262_144u64).map(|k| {
            let z = scramble(k.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            let u = (z >> 11) as f64 / (1u64 << 53) as f64;
            -(1.0 - u).ln() as f32
        })));
        let level3 = Compression::ZSTD(ZstdLevel::try_new(3).unwrap());
        let c = choose(&noise, DType::F32, level3, 1 << 20).unwrap();
        assert_eq!(c.best, ColumnEncoding::ByteStreamSplit, "{c:?}");
        let fastest = Compression::ZSTD(ZstdLevel::try_new(FASTEST_ZSTD_LEVEL).unwrap());
        assert_eq!(c.compression, fastest, "{c:?}");
        let at_default = measure(&noise, c.best, level3, 1 << 20).unwrap();
        assert!(c.best_bytes() < at_default, "{c:?} against {at_default}");
        // Asked for level 1, nothing lower is tried (and 262,144 distinct floats do not
        // measure a dictionary).
        let c = choose(&noise, DType::F32, fastest, 1 << 20).unwrap();
        assert_eq!(c.measured.len(), 2, "{c:?}");
        assert!(!dictionary_may_pay(&noise, 1 << 20));
    }

    /// A level step is taken when it saves its share over the last level kept; the climb
    /// stops at the first step that does not.
    #[test]
    fn each_level_step_pays_its_share() {
        let climb_over = |sizes: &[(i32, u64)]| {
            climb(3, 1000, |l| Ok(sizes.iter().find(|(x, _)| *x == l).unwrap().1)).unwrap()
        };
        // Level 9 saves 3% (over 2%), level 13 another 3.1% (under 4%): level 9.
        assert_eq!(climb_over(&[(9, 970), (13, 940), (15, 900)]), vec![(9, 970)]);
        // Level 13 saves 4.1%, level 15 another 1.9% (under 2%): level 13.
        assert_eq!(
            climb_over(&[(9, 970), (13, 930), (15, 913)]),
            vec![(9, 970), (13, 930)]
        );
        // Every step pays: level 15.
        assert_eq!(
            climb_over(&[(9, 970), (13, 930), (15, 911)]),
            vec![(9, 970), (13, 930), (15, 911)]
        );
        // Level 9 saves 1%: no higher level is even measured.
        let mut asked = Vec::new();
        let none = climb(3, 1000, |l| {
            asked.push(l);
            Ok(if l == 9 { 990 } else { 1 })
        })
        .unwrap();
        assert_eq!((none, asked), (vec![], vec![9]));
        // Asked for level 13, only level 15 is a step.
        assert_eq!(climb(13, 1000, |_| Ok(900)).unwrap(), vec![(15, 900)]);
        assert!(climb(15, 1000, |_| Ok(1)).unwrap().is_empty());
    }

    /// On real columns the choice follows the climb (then level 1 where no larger).
    #[test]
    fn choices_follow_the_level_steps() {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        // A 5% mask, runs of labels with ragged edges, small skewed counts (level 1).
        let mask: ArrayRef = Arc::new(arrow::array::BooleanArray::from_iter(
            (0..1 << 20).map(|_| Some(next() % 20 == 0)),
        ));
        let labels: ArrayRef = Arc::new(arrow::array::UInt8Array::from_iter_values(
            (0..1u64 << 20)
                .map(|i| u8::try_from((i / 4096 / 37 + (i % 4096 + next() % 3) / 300) % 12).unwrap()),
        ));
        let counts: ArrayRef = Arc::new(UInt16Array::from_iter_values((0..1 << 20).map(|_| {
            let r = next() % 1000 + 1;
            u16::try_from(1000 / r).unwrap()
        })));
        let level = |l: i32| Compression::ZSTD(ZstdLevel::try_new(l).unwrap());
        let mut kept_levels = Vec::new();
        for (column, stored) in [(mask, DType::Bool), (labels, DType::U8), (counts, DType::U16)] {
            let c = choose(&column, stored, level(3), 1 << 20).unwrap();
            let at = |l: i32| measure(&column, c.best, level(l), 1 << 20);
            let three = at(3).unwrap();
            let (mut kept, last) = climb(3, three, at).unwrap().last().copied().unwrap_or((3, three));
            if at(FASTEST_ZSTD_LEVEL).unwrap() <= last {
                kept = FASTEST_ZSTD_LEVEL;
            }
            assert_eq!(c.compression, level(kept), "{stored}: {c:?}");
            kept_levels.push(kept);
        }
        assert_eq!(kept_levels, [13, 13, 1]);
    }

    #[test]
    fn samples_are_bounded_and_in_range() {
        assert_eq!(sample_ranges(10, 100), vec![0..10]);
        for (len, budget) in [(10, 1), (15, 4), (3, 2), (17, 16), (1_000_000, 7)] {
            let r = sample_ranges(len, budget);
            let cells: usize = r.iter().map(|r| r.len()).sum();
            assert!(cells <= budget && cells > 0, "{len} {budget}: {r:?}");
            assert!(
                r.windows(2).all(|w| w[0].end <= w[1].start),
                "{len} {budget}: {r:?}"
            );
            assert!(r.last().unwrap().end <= len);
        }
        let r = sample_ranges(1_000_000, 1600);
        assert_eq!(r.len(), 16);
        assert!(r.iter().all(|r| r.end <= 1_000_000 && r.len() == 100));
        // Each run lies in its own sixteenth, not always at its start: data that repeats every
        // sixteenth is sampled at several phases.
        let stride = 1_000_000 / 16;
        assert!(r
            .iter()
            .enumerate()
            .all(|(i, r)| r.start >= i * stride && r.end <= (i + 1) * stride));
        let phases: std::collections::HashSet<usize> = r.iter().map(|r| r.start % stride).collect();
        assert!(phases.len() > 8, "{r:?}");
        assert_eq!(r, sample_ranges(1_000_000, 1600), "the same every time");
        let col: ArrayRef = Arc::new(UInt16Array::from_iter_values(0..1000));
        assert_eq!(take_ranges(&col, &sample_ranges(1000, 160)).unwrap().len(), 160);
    }

    #[test]
    fn dictionary_keys_are_narrow() {
        let col: ArrayRef = Arc::new(UInt16Array::from_iter_values((0..1000).map(|i| i % 300)));
        let d = to_dictionary(&col).unwrap();
        assert_eq!(
            d.data_type(),
            &DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::UInt16))
        );
    }

    /// The dictionary is left unmeasured only where it measures larger than plain pages: over
    /// columns of every mix of distinct count, width, order and repetition, each one the bound
    /// rules out measures no smaller than plain, and the bound keeps the dictionary where it
    /// wins.
    #[test]
    fn dictionary_is_left_out_only_where_it_loses() {
        let n = 65_536u64;
        let (mut left_out, mut kept_winning) = (0, 0);
        for distinct in [16, 1_000, n / 16, n / 8, n / 4, n / 3, n / 2, n / 4 * 3, n] {
            for repeat in [1, 2, 8] {
                for sorted in [false, true] {
                    let key = |i: u64| {
                        let k = if sorted { i / repeat } else { scramble(i / repeat) };
                        k % distinct
                    };
                    let wide: ArrayRef = Arc::new(arrow::array::Int64Array::from_iter_values(
                        (0..n).map(|i| scramble(key(i) ^ 0x5555) as i64),
                    ));
                    let narrow: ArrayRef = Arc::new(UInt32Array::from_iter_values(
                        (0..n).map(|i| scramble(key(i)) as u32),
                    ));
                    let floats: ArrayRef = Arc::new(Float32Array::from_iter_values(
                        (0..n).map(|i| key(i) as f32 * 0.37),
                    ));
                    for (column, rg) in [(wide, 1 << 20), (narrow, 1 << 20), (floats, 20_000)] {
                        let at = |e| measure(&column, e, zstd(), rg).unwrap();
                        let (dict, plain) = (at(ColumnEncoding::Dictionary), at(ColumnEncoding::Plain));
                        let case = format!(
                            "{:?}, {distinct} distinct, repeat {repeat}, sorted {sorted}: \
                             dictionary {dict}, plain {plain}",
                            column.data_type()
                        );
                        if dictionary_may_pay(&column, rg) {
                            kept_winning += usize::from(dict < plain);
                        } else {
                            left_out += 1;
                            assert!(dict >= plain, "left out but smaller: {case}");
                        }
                    }
                }
            }
        }
        assert!(
            left_out >= 12 && kept_winning >= 40,
            "{left_out} left out, {kept_winning} kept winning"
        );
    }
}
