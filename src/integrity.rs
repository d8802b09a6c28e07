//! Checksums over every byte of a file: what the writer records, and the reader that checks
//! each byte it hands to the Parquet decoder.
//!
//! # Spec card (format 1.3)
//! The Parquet crate writes no page CRCs, so arrstore records its own, in the self-description
//! under `checksums`:
//! ```json
//! "checksums": {"algorithm": "crc32", "block_bytes": 65536, "data_bytes": 1234567,
//!               "blocks": "1f2e3d4c…", "tail_crc": "89abcdef"}
//! ```
//! - The file's first `data_bytes` bytes (the magic and every column chunk) are cut into blocks of
//!   `block_bytes` (the last one shorter); `blocks` holds each block's CRC-32 (the ISO-HDLC CRC of
//!   zip, gzip and Parquet page headers) as 8 lowercase hex digits, in file order.
//! - The rest of the file, the *tail* (the page indexes, the footer with this very JSON, the
//!   footer length and the closing magic), has one CRC-32, `tail_crc`, computed with its own 8 hex
//!   digits written as `00000000`: a reader finds the one occurrence of `"tail_crc":"` in the
//!   tail, sets the 8 digits after it to `0`, and compares the CRC of the result.
//!
//! So a flipped bit anywhere, in a data page, a page header, the statistics, the page index or
//! the self-description, fails a checksum before a value is decoded from it. The checksums guard
//! against corruption, not forgery: anyone can write a file with matching CRCs.
//!
//! [`Checked`] wraps any Parquet [`ChunkReader`]: every range it returns is cut from blocks whose
//! CRCs it has checked (the tail was checked when the file was opened). A mismatch is an
//! [`Error::ChecksumMismatch`] naming the bytes, the row group, the column and the pages.
//!
//! ```
//! use arrstore::{write_array_to, ArrayFile, WriteOptions};
//! let a = ndarray::Array2::<f64>::from_shape_fn((300, 300), |(i, j)| ((i * j) as f64).sqrt());
//! let mut file = Vec::new();
//! write_array_to(&mut file, &a, &WriteOptions::default())?;
//! // A flipped bit in the middle of the data is found, with its place named.
//! let middle = file.len() / 2;
//! file[middle] ^= 0x10;
//! let err = ArrayFile::new(bytes::Bytes::from(file))?.read_dyn().unwrap_err();
//! assert!(err.to_string().contains("checksum"), "{err}");
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::io::{Read, Write};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use parquet::errors::ParquetError;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::reader::{ChunkReader, Length};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The checksum algorithm arrstore writes: CRC-32 (ISO-HDLC).
pub const ALGORITHM: &str = "crc32";

/// The bytes of data covered by one CRC-32: small enough that a slice read checks little more
/// than it reads, large enough that the list costs 0.006% of the file.
pub const BLOCK_BYTES: u64 = 1 << 16;

/// The JSON text that precedes the tail's CRC in the footer.
const TAIL_KEY: &[u8] = br#""tail_crc":""#;

/// The checksums of a file, as recorded in its self-description (format 1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksums {
    /// `"crc32"`.
    pub algorithm: String,
    /// The bytes each block CRC covers.
    pub block_bytes: u64,
    /// The bytes covered by blocks, from the start of the file; the rest is the tail.
    pub data_bytes: u64,
    /// Each block's CRC-32, 8 hex digits each, in file order.
    pub blocks: String,
    /// The CRC-32 of the tail, 8 hex digits (computed with these digits as `00000000`).
    pub tail_crc: String,
}

impl Checksums {
    /// The block CRCs, checked against the number of blocks `data_bytes` needs.
    fn block_crcs(&self) -> Result<Vec<u32>> {
        let bad = |m: String| Err(Error::CorruptMetadata(format!("checksums: {m}")));
        if self.algorithm != ALGORITHM {
            return bad(format!(
                "unknown algorithm '{}' (this reader knows '{ALGORITHM}')",
                self.algorithm
            ));
        }
        if self.block_bytes == 0 || self.block_bytes > 1 << 30 {
            return bad(format!("block_bytes {} is not in 1..=2^30", self.block_bytes));
        }
        let blocks = self.data_bytes.div_ceil(self.block_bytes);
        let digits = self.blocks.len() as u64; // usize fits in u64
        if digits != blocks.saturating_mul(8) {
            return bad(format!(
                "{digits} hex digits of block CRCs; {} data bytes in blocks of {} need {blocks} CRCs",
                self.data_bytes, self.block_bytes
            ));
        }
        self.blocks
            .as_bytes()
            .chunks(8)
            .map(|d| parse_crc(d).ok_or(()))
            .collect::<std::result::Result<_, _>>()
            .or_else(|()| bad("the block CRCs are not hex digits".into()))
    }
}

/// The CRC written as 8 lowercase hex digits (the only form: the tail's CRC digits are left
/// out of its own CRC, so a second spelling of the same number, `A` for `a`, would go unseen).
fn parse_crc(digits: &[u8]) -> Option<u32> {
    let lowercase_hex = |b: &u8| b.is_ascii_digit() || (b'a'..=b'f').contains(b);
    (digits.len() == 8 && digits.iter().all(lowercase_hex)).then_some(())?;
    u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()
}

/// A writer that passes bytes on to `inner`, computing the CRC of each block, until
/// [`ChecksumWriter::close_data`]; after it, it holds the tail until [`ChecksumWriter::seal`]
/// writes it with its CRC in place.
#[derive(Debug)]
pub(crate) struct ChecksumWriter<W: Write> {
    inner: W,
    position: u64,
    block: crc32fast::Hasher,
    block_fill: u64,
    crcs: Vec<u32>,
    tail: Option<Vec<u8>>,
}

impl<W: Write> ChecksumWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        ChecksumWriter {
            inner,
            position: 0,
            block: crc32fast::Hasher::new(),
            block_fill: 0,
            crcs: Vec::new(),
            tail: None,
        }
    }

    /// Ends the data region at the bytes received so far; returns its checksums (with a zero
    /// tail CRC, filled in by [`seal`](ChecksumWriter::seal)). The bytes that follow are held.
    pub(crate) fn close_data(&mut self) -> Checksums {
        if self.block_fill > 0 {
            let block = std::mem::take(&mut self.block);
            self.crcs.push(block.finalize());
            self.block_fill = 0;
        }
        self.tail = Some(Vec::new());
        let mut blocks = String::with_capacity(self.crcs.len() * 8);
        for c in &self.crcs {
            blocks.push_str(&format!("{c:08x}"));
        }
        Checksums {
            algorithm: ALGORITHM.to_string(),
            block_bytes: BLOCK_BYTES,
            data_bytes: self.position,
            blocks,
            tail_crc: "00000000".to_string(),
        }
    }

    /// Puts the tail's CRC into the held tail, writes it and returns the CRC.
    pub(crate) fn seal(&mut self) -> Result<u32> {
        let mut tail = self
            .tail
            .take()
            .ok_or_else(|| Error::Io(std::io::Error::other("the data region was never closed")))?;
        let at = find_tail_crc(&tail)?;
        let crc = crc32fast::hash(&tail);
        tail[at..at + 8].copy_from_slice(format!("{crc:08x}").as_bytes());
        self.inner.write_all(&tail)?;
        self.inner.flush()?;
        Ok(crc)
    }

    fn feed(&mut self, mut buf: &[u8]) {
        while !buf.is_empty() {
            // At most BLOCK_BYTES - block_fill, which is below 2^16: fits in usize.
            let room = usize::try_from(BLOCK_BYTES - self.block_fill).unwrap_or(usize::MAX);
            let (now, rest) = buf.split_at(room.min(buf.len()));
            self.block.update(now);
            self.block_fill += now.len() as u64; // usize fits in u64
            if self.block_fill == BLOCK_BYTES {
                let block = std::mem::take(&mut self.block);
                self.crcs.push(block.finalize());
                self.block_fill = 0;
            }
            buf = rest;
        }
    }
}

impl<W: Write> Write for ChecksumWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(tail) = &mut self.tail {
            tail.extend_from_slice(buf);
            return Ok(buf.len());
        }
        let n = self.inner.write(buf)?;
        self.feed(&buf[..n]);
        self.position += n as u64; // usize fits in u64
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The position of the 8 hex digits of the tail CRC in `tail`: after the one occurrence of
/// `"tail_crc":"`.
fn find_tail_crc(tail: &[u8]) -> Result<usize> {
    let mut found = tail
        .windows(TAIL_KEY.len())
        .enumerate()
        .filter(|(_, w)| *w == TAIL_KEY)
        .map(|(i, _)| i + TAIL_KEY.len());
    match (found.next(), found.next()) {
        (Some(at), None) if at + 8 <= tail.len() => Ok(at),
        (None, _) => Err(Error::CorruptMetadata(
            "checksums: the footer holds no tail_crc".into(),
        )),
        _ => Err(Error::CorruptMetadata(
            "checksums: the footer holds tail_crc more than once".into(),
        )),
    }
}

/// What checks a file's bytes: its block CRCs, its checked tail, and where each byte belongs
/// (for messages). Shared by every [`Checked`] reader of the file.
#[derive(Debug)]
pub struct Verifier {
    block_bytes: u64,
    data_bytes: u64,
    crcs: Vec<u32>,
    tail: Bytes,
    places: Places,
    /// The first mismatch found, kept because the Parquet decoder turns errors into text.
    failure: Mutex<Option<Error>>,
}

impl Verifier {
    /// Checks the tail of the file `reader` against `checksums` (read from its footer, which
    /// `metadata` was parsed from) and returns what checks the rest.
    pub fn new<R: ChunkReader>(
        reader: &R,
        checksums: &Checksums,
        metadata: &ParquetMetaData,
    ) -> Result<Verifier> {
        let crcs = checksums.block_crcs()?;
        let len = reader.len();
        if checksums.data_bytes >= len {
            return Err(Error::CorruptData(format!(
                "the checksums cover {} data bytes; the file has {len} bytes (truncated?)",
                checksums.data_bytes
            )));
        }
        let recorded = parse_crc(checksums.tail_crc.as_bytes()).ok_or_else(|| {
            Error::CorruptMetadata(format!(
                "checksums: tail_crc '{}' is not 8 hex digits",
                checksums.tail_crc
            ))
        })?;
        let tail_len = usize::try_from(len - checksums.data_bytes)
            .map_err(|_| Error::CorruptData(format!("a footer of {} bytes", len - checksums.data_bytes)))?;
        let tail = reader.get_bytes(checksums.data_bytes, tail_len)?;
        let mut zeroed = tail.to_vec();
        let at = find_tail_crc(&zeroed)?;
        zeroed[at..at + 8].copy_from_slice(b"00000000");
        let found = crc32fast::hash(&zeroed);
        if found != recorded {
            return Err(Error::ChecksumMismatch {
                place: format!(
                    "the footer and page indexes (bytes {}..{len})",
                    checksums.data_bytes
                ),
                recorded,
                found,
            });
        }
        Ok(Verifier {
            block_bytes: checksums.block_bytes,
            data_bytes: checksums.data_bytes,
            crcs,
            tail,
            places: Places::new(metadata),
            failure: Mutex::new(None),
        })
    }

    /// The bytes `range` of the file, read through `read` (which gives any range of the file)
    /// and checked: the blocks they lie in are read whole and their CRCs compared.
    pub fn checked_bytes(
        &self,
        range: Range<u64>,
        read: impl FnOnce(Range<u64>) -> Result<Bytes>,
    ) -> Result<Bytes> {
        let fetch = self.fetch_for(&range)?;
        let fetched = fetch.map(read).transpose().map_err(|e| self.record(e))?;
        self.assemble(range, fetched)
    }

    /// The length of the file the checksums describe.
    pub fn file_len(&self) -> u64 {
        self.data_bytes + self.tail.len() as u64 // usize fits in u64
    }

    /// The bytes of the file to read for [`assemble`](Verifier::assemble) to return `range`
    /// checked: the whole blocks it touches (`None` when it lies in the tail, which the
    /// verifier holds). For readers that fetch asynchronously.
    pub fn fetch_for(&self, range: &Range<u64>) -> Result<Option<Range<u64>>> {
        let len = self.file_len();
        if range.start > range.end || range.end > len {
            return Err(self.record(Error::CorruptData(format!(
                "a read of bytes {}..{} in a file of {len} bytes",
                range.start, range.end
            ))));
        }
        if range.is_empty() || range.start >= self.data_bytes {
            return Ok(None);
        }
        let end = range.end.min(self.data_bytes);
        let first = range.start / self.block_bytes;
        let last = (end - 1) / self.block_bytes;
        Ok(Some(
            first * self.block_bytes..((last + 1) * self.block_bytes).min(self.data_bytes),
        ))
    }

    /// The bytes `range` of the file, checked, from `fetched`: the bytes of the range
    /// [`fetch_for`](Verifier::fetch_for) gave (`None` when it gave none).
    pub fn assemble(&self, range: Range<u64>, fetched: Option<Bytes>) -> Result<Bytes> {
        let Some(covered) = self.fetch_for(&range)? else {
            if range.is_empty() {
                return Ok(Bytes::new());
            }
            // Within the tail, whose length is a usize.
            let (s, e) = (range.start - self.data_bytes, range.end - self.data_bytes);
            return Ok(self
                .tail
                .slice(usize::try_from(s).unwrap_or(0)..usize::try_from(e).unwrap_or(0)));
        };
        let bytes = fetched.unwrap_or_default();
        if bytes.len() as u64 != covered.end - covered.start {
            return Err(self.record(Error::CorruptData(format!(
                "bytes {}..{} could not be read whole (truncated file?)",
                covered.start, covered.end
            ))));
        }
        // Block sizes are at most 2^30 (checked), so they and offsets within `bytes` are usize.
        let block = usize::try_from(self.block_bytes).unwrap_or(usize::MAX);
        let first = covered.start / self.block_bytes;
        for (k, chunk) in bytes.chunks(block).enumerate() {
            let index = first + k as u64; // usize fits in u64
            let recorded = usize::try_from(index)
                .ok()
                .and_then(|i| self.crcs.get(i))
                .copied();
            let found = crc32fast::hash(chunk);
            if recorded != Some(found) {
                let start = index * self.block_bytes;
                let end = start + chunk.len() as u64; // usize fits in u64
                return Err(self.record(Error::ChecksumMismatch {
                    place: self.places.describe(start..end),
                    recorded: recorded.unwrap_or(0),
                    found,
                }));
            }
        }
        let from = usize::try_from(range.start - covered.start).unwrap_or(0);
        let to = usize::try_from(range.end.min(self.data_bytes) - covered.start).unwrap_or(0);
        if range.end <= self.data_bytes {
            return Ok(bytes.slice(from..to));
        }
        // Straddles the data and the tail.
        let mut all = bytes[from..to].to_vec();
        let tail_part = usize::try_from(range.end - self.data_bytes).unwrap_or(0);
        all.extend_from_slice(&self.tail[..tail_part]);
        Ok(Bytes::from(all))
    }

    /// Keeps the first failure for [`failure`](Verifier::failure) and returns `e`.
    fn record(&self, e: Error) -> Error {
        if let Ok(mut slot) = self.failure.lock() {
            slot.get_or_insert_with(|| e.clone_message());
        }
        e
    }

    /// The first checksum mismatch found by any reader of this file, if any: the Parquet
    /// decoder passes errors on as text, so a read that failed asks here for the typed error.
    pub fn failure(&self) -> Option<Error> {
        self.failure
            .lock()
            .ok()
            .and_then(|f| f.as_ref().map(Error::clone_message))
    }

    /// The number of block CRCs.
    pub fn blocks(&self) -> usize {
        self.crcs.len()
    }

    /// The bytes covered by block CRCs.
    pub fn data_bytes(&self) -> u64 {
        self.data_bytes
    }

    /// Checks every block of the file read through `read` (used by `verify`).
    pub fn check_all(&self, read: impl Fn(Range<u64>) -> Result<Bytes>) -> Result<()> {
        let step = self.block_bytes * 64;
        let mut at = 0;
        while at < self.data_bytes {
            let end = (at + step).min(self.data_bytes);
            self.checked_bytes(at..end, &read)?;
            at = end;
        }
        Ok(())
    }
}

/// Where each byte of the data region belongs: column chunks and their pages, for messages.
#[derive(Debug, Default)]
struct Places {
    chunks: Vec<ChunkPlace>,
}

#[derive(Debug)]
struct ChunkPlace {
    bytes: Range<u64>,
    row_group: usize,
    column: String,
    /// The data pages' byte ranges, when the footer has an offset index.
    pages: Vec<Range<u64>>,
}

impl Places {
    fn new(metadata: &ParquetMetaData) -> Places {
        let mut chunks = Vec::new();
        for (g, rg) in metadata.row_groups().iter().enumerate() {
            for (c, chunk) in rg.columns().iter().enumerate() {
                let (start, len) = chunk.byte_range();
                let pages = metadata
                    .offset_index()
                    .and_then(|o| o.get(g))
                    .and_then(|o| o.get(c))
                    .map(|o| {
                        o.page_locations()
                            .iter()
                            .map(|p| {
                                let s = u64::try_from(p.offset).unwrap_or(0);
                                s..s + u64::try_from(p.compressed_page_size).unwrap_or(0)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                chunks.push(ChunkPlace {
                    bytes: start..start.saturating_add(len),
                    row_group: g,
                    column: chunk.column_descr().name().to_string(),
                    pages,
                });
            }
        }
        Places { chunks }
    }

    /// "bytes 65536..131072 (row group 0, column 'value', data pages 2-3)".
    fn describe(&self, range: Range<u64>) -> String {
        let overlaps = |r: &Range<u64>| r.start < range.end && range.start < r.end;
        let mut parts = Vec::new();
        for c in self.chunks.iter().filter(|c| overlaps(&c.bytes)) {
            let pages: Vec<usize> = c
                .pages
                .iter()
                .enumerate()
                .filter(|(_, p)| overlaps(p))
                .map(|(i, _)| i)
                .collect();
            let dictionary = c
                .pages
                .first()
                .is_some_and(|p| p.start > c.bytes.start && range.start < p.start);
            let mut what = Vec::new();
            if dictionary {
                what.push("the dictionary page".to_string());
            }
            match (pages.first(), pages.last()) {
                (Some(a), Some(b)) if a == b => what.push(format!("data page {a}")),
                (Some(a), Some(b)) => what.push(format!("data pages {a}-{b}")),
                _ => {}
            }
            let what = if what.is_empty() {
                String::new()
            } else {
                format!(", {}", what.join(" and "))
            };
            parts.push(format!("row group {}, column '{}'{what}", c.row_group, c.column));
        }
        if range.start < 4 {
            parts.insert(0, "the leading magic".into());
        }
        let place = if parts.is_empty() {
            "outside every column chunk".to_string()
        } else {
            parts.join("; ")
        };
        format!("bytes {}..{} ({place})", range.start, range.end)
    }
}

/// A [`ChunkReader`] whose every byte is checked against the file's checksums (a file without
/// checksums is read as it is). Clones share the reader and its [`Verifier`].
#[derive(Debug)]
pub struct Checked<R> {
    inner: Arc<R>,
    verifier: Option<Arc<Verifier>>,
    /// The spans of whole blocks read and checked last (at most [`RECENT_SPANS`], the latest
    /// first), so that the pages of a row group's columns, which share blocks, are read and
    /// checked once: a slice read fetches a few pages, not every block again for each.
    recent: Arc<std::sync::Mutex<Vec<CheckedSpan>>>,
}

/// A span of whole blocks of a file and its bytes, checked.
type CheckedSpan = (Range<u64>, Bytes);

/// How many checked spans a [`Checked`] reader keeps.
const RECENT_SPANS: usize = 8;

/// The longest span a [`Checked`] reader keeps: 4 blocks of the default size.
const RECENT_SPAN_BYTES: u64 = 4 * BLOCK_BYTES;

impl<R> Clone for Checked<R> {
    fn clone(&self) -> Self {
        Checked {
            inner: Arc::clone(&self.inner),
            verifier: self.verifier.clone(),
            recent: Arc::clone(&self.recent),
        }
    }
}

impl<R: ChunkReader> Checked<R> {
    /// `inner`, checked by `verifier` (`None`: a file without checksums, read as it is).
    pub fn new(inner: R, verifier: Option<Arc<Verifier>>) -> Self {
        Checked {
            inner: Arc::new(inner),
            verifier,
            recent: Arc::default(),
        }
    }

    /// The verifier, when the file has checksums.
    pub fn verifier(&self) -> Option<&Arc<Verifier>> {
        self.verifier.as_ref()
    }

    /// The unchecked reader underneath.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// `e`, or the checksum mismatch that caused it when one was found (the Parquet decoder
    /// reports a reader's errors as text).
    pub fn explain(&self, e: Error) -> Error {
        match self.verifier.as_ref().and_then(|v| v.failure()) {
            Some(mismatch) => mismatch,
            None => e,
        }
    }

    fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let len = usize::try_from(range.end - range.start)
            .map_err(|_| Error::CorruptData(format!("a read of {} bytes", range.end - range.start)))?;
        Ok(self.inner.get_bytes(range.start, len)?)
    }

    fn checked(&self, range: Range<u64>) -> parquet::errors::Result<Bytes> {
        let out = match &self.verifier {
            Some(v) => self.checked_by(v, range),
            None => self.read_range(range),
        };
        out.map_err(|e| ParquetError::External(Box::new(e)))
    }

    /// `range`, from a span of whole blocks read and checked before where one holds it, else
    /// read and checked by `v` (and kept, when short).
    fn checked_by(&self, v: &Verifier, range: Range<u64>) -> Result<Bytes> {
        let Some(span) = v.fetch_for(&range)? else {
            return v.assemble(range, None);
        };
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        // A range running on into the tail is assembled by the verifier, never from here.
        if let Some(i) = recent
            .iter()
            .position(|(r, _)| r.start <= range.start && range.end <= r.end)
        {
            // Checked when it was kept.
            let (r, bytes) = recent.remove(i);
            let out = bytes.slice(slice_of(&r, &range));
            recent.insert(0, (r, bytes));
            return Ok(out);
        }
        drop(recent);
        let fetched = self.read_range(span.clone())?;
        // Checked here: `assemble` compares every block of the span with its checksum.
        let out = v.assemble(range, Some(fetched.clone()))?;
        if span.end - span.start <= RECENT_SPAN_BYTES {
            let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent.insert(0, (span, fetched));
            recent.truncate(RECENT_SPANS);
        }
        Ok(out)
    }
}

impl<R: ChunkReader> Length for Checked<R> {
    /// The length the checksums describe when there are any (a file that has grown or shrunk
    /// since fails its checks), else the reader's.
    fn len(&self) -> u64 {
        match &self.verifier {
            Some(v) => v.file_len(),
            None => self.inner.len(),
        }
    }
}

impl<R: ChunkReader> ChunkReader for Checked<R> {
    type T = CheckedRead<R>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(CheckedRead {
            reader: self.clone(),
            position: start,
            buffer: Bytes::new(),
        })
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let end = start.saturating_add(length as u64); // usize fits in u64
        self.checked(start..end)
    }
}

/// The positions in the bytes of span `outer` of the bytes of span `inner` within it.
fn slice_of(outer: &Range<u64>, inner: &Range<u64>) -> Range<usize> {
    // Both are spans of one file held in memory, so their offsets fit in usize.
    let at = |x: u64| usize::try_from(x - outer.start).unwrap_or(usize::MAX);
    at(inner.start)..at(inner.end)
}

/// A [`Read`] over a [`Checked`] reader from some position on, a checked block at a time.
#[derive(Debug)]
pub struct CheckedRead<R> {
    reader: Checked<R>,
    position: u64,
    buffer: Bytes,
}

impl<R: ChunkReader> Read for CheckedRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.buffer.is_empty() {
            let len = self.reader.len();
            if self.position >= len {
                return Ok(0);
            }
            // Up to the end of the position's block (or the file).
            let block = self
                .reader
                .verifier
                .as_ref()
                .map_or(BLOCK_BYTES, |v| v.block_bytes);
            let end = ((self.position / block + 1) * block).min(len);
            self.buffer = self
                .reader
                .checked(self.position..end)
                .map_err(std::io::Error::other)?;
            if self.buffer.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.buffer.len());
        buf[..n].copy_from_slice(&self.buffer[..n]);
        self.buffer = self.buffer.slice(n..);
        self.position += n as u64; // usize fits in u64
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_data_and_the_tail_crc_is_patched_in() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut out = Vec::new();
        let mut w = ChecksumWriter::new(&mut out);
        w.write_all(&data).unwrap();
        let sums = w.close_data();
        assert_eq!(sums.data_bytes, 200_000);
        assert_eq!(sums.blocks.len(), 4 * 8);
        let tail = br#"footer {"tail_crc":"00000000"} end"#;
        w.write_all(tail).unwrap();
        w.seal().unwrap();
        assert_eq!(out.len(), data.len() + tail.len());
        assert_eq!(
            &sums.blocks[..8],
            format!("{:08x}", crc32fast::hash(&data[..65536]))
        );
        let written = &out[data.len()..];
        let at = find_tail_crc(written).unwrap();
        let crc = u32::from_str_radix(std::str::from_utf8(&written[at..at + 8]).unwrap(), 16).unwrap();
        assert_eq!(crc, crc32fast::hash(tail));
    }

    #[test]
    fn crcs_are_eight_lowercase_hex_digits() {
        assert_eq!(parse_crc(b"0123abcd"), Some(0x0123_abcd));
        for bad in [
            &b"0123ABCD"[..],
            b"0123abc",
            b"0123abcde",
            b"+123abcd",
            b"0123abcg",
        ] {
            assert_eq!(parse_crc(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_tail_crc_must_appear_once() {
        assert!(find_tail_crc(b"nothing here").is_err());
        let twice = br#""tail_crc":"00000000" "tail_crc":"00000000""#;
        assert!(find_tail_crc(twice)
            .unwrap_err()
            .to_string()
            .contains("more than once"));
    }

    #[test]
    fn recorded_block_lists_are_checked_against_the_data_length() {
        let sums = Checksums {
            algorithm: ALGORITHM.into(),
            block_bytes: 4,
            data_bytes: 9,
            blocks: "00000000".repeat(2),
            tail_crc: "00000000".into(),
        };
        let err = sums.block_crcs().unwrap_err().to_string();
        assert!(
            err.contains("16 hex digits") && err.contains("need 3 CRCs"),
            "{err}"
        );
        let other = Checksums {
            algorithm: "md5".into(),
            ..sums
        };
        assert!(other
            .block_crcs()
            .unwrap_err()
            .to_string()
            .contains("unknown algorithm 'md5'"));
    }
}
