//! NumPy `.npy` files: reading them into a [`DynArray`] and writing a [`DynArray`] as one.
//!
//! # The format
//!
//! An `.npy` file ([NumPy's specification](https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html))
//! holds one array:
//!
//! | bytes | content |
//! |-------|---------|
//! | 6 | the magic string `\x93NUMPY` |
//! | 2 | the format version, major then minor byte: 1.0, 2.0 or 3.0 |
//! | 2 (1.0) or 4 (2.0, 3.0) | `n`, the header length, little-endian |
//! | `n` | the header: a Python dict literal such as `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }`, padded with spaces and ended by `\n`; Latin-1 in 1.0 and 2.0, UTF-8 in 3.0 |
//! | the rest | the elements, packed, in C order (last index fastest) or, when `fortran_order` is `True`, in Fortran order (first index fastest) |
//!
//! # Reading ([`read_npy`], [`read_npy_from`])
//!
//! - Versions 1.0, 2.0 and 3.0. The header dict may list its keys in any order, with any
//!   spacing, quotes and trailing commas; it must have exactly the keys `descr`,
//!   `fortran_order` and `shape`.
//! - `descr` is a byte order, `<` (little-endian), `>` (big-endian, swapped to native on
//!   reading), `|` or `=` (native), followed by one of `b1` or `?` (bool), `i1` `i2` `i4` `i8`,
//!   `u1` `u2` `u4` `u8`, `f4` `f8`.
//! - A Fortran-order file gives an array with Fortran memory layout, a C-order file a
//!   standard-layout array. 0-d arrays (shape `()`) and zero-length axes are read.
//! - Everything else is an [`Error::UnsupportedNpy`] whose message names the problem: other
//!   dtypes (complex, float16, strings, Python objects, structured, datetimes), a bad magic or
//!   version, a malformed header, a bool byte other than 0 or 1, data shorter than the shape
//!   needs, a shape whose element count overflows, a shape of more than 64 axes
//!   ([`crate::limits::MAX_NDIM`], NumPy's limit too). No input makes the reader panic, and it
//!   allocates no more than the data it actually reads, whatever the header claims.
//! - Bytes after the data are not read, so a stream may hold several arrays one after another.
//!
//! # Writing ([`write_npy`], [`write_npy_to`])
//!
//! - Version 1.0, or 2.0 when the header would be longer than 65535 bytes.
//! - A little-endian `descr`: `|b1`, `|i1`, `<i2`, `<i4`, `<i8`, `|u1`, `<u2`, `<u4`, `<u8`,
//!   `<f4`, `<f8`.
//! - The header is padded with spaces and ends in `\n`, so that the data starts at a multiple
//!   of 64 bytes.
//! - `fortran_order: True` with the data in Fortran order when [`Order::of`] the array is
//!   [`Order::F`]; C order otherwise (a view that is neither is written in logical C order).
//!
//! # Example
//!
//! ```
//! use arrstore::npy::{read_npy_from, write_npy_to};
//! use arrstore::{DType, DynArray, Order};
//! use ndarray::{ArrayD, IxDyn, ShapeBuilder};
//!
//! let a = ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), vec![1.5f32, -0.0, 3.0, 4.0, 5.0, 6.0])
//!     .unwrap();
//! let mut bytes = Vec::new();
//! write_npy_to(&mut bytes, &DynArray::from(a.clone()))?;
//! assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
//!
//! let back = read_npy_from(bytes.as_slice())?;
//! assert_eq!(back.dtype(), DType::F32);
//! assert!(back.bit_eq(&DynArray::from(a)));
//! let back: ArrayD<f32> = back.into_typed().unwrap();
//! assert_eq!(Order::of(&back), Order::F);
//!
//! let err = read_npy_from(&b"\x93NUMPY\x01\x00"[..]).unwrap_err();
//! assert!(err.to_string().contains("ends"), "{err}");
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use crate::dtype::{put_le, DType, Element};
use crate::dynarray::{DynArray, Order};
use crate::error::{Error, Result, ResultExt};

mod header;

pub(crate) use header::read_npy_bytes_from;
use header::{header_bytes, header_bytes_for, read_header, shape_text, Header};
#[cfg(test)]
use header::{parse_descr, parse_header, ALIGN, MAGIC};

/// Bytes converted per read or write call.
const CHUNK: usize = 64 * 1024;

/// The end of every "unsupported dtype" message.
const SUPPORTED: &str = "arrstore stores bool, int8..int64, uint8..uint64, float32, float64";

/// Reads one `.npy` array from `reader`.
///
/// Reads exactly the header and the data (nothing after them). Errors are
/// [`Error::UnsupportedNpy`] for content arrstore cannot read and [`Error::Io`] for I/O failures.
///
/// ```
/// use arrstore::npy::read_npy_from;
/// let header = b"{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }\n";
/// let mut file = b"\x93NUMPY\x01\x00".to_vec();
/// file.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
/// file.extend_from_slice(header);
/// file.extend_from_slice(&[0x01, 0x02, 0xff, 0xff]);
/// let a: ndarray::ArrayD<u16> = read_npy_from(file.as_slice())?.into_typed().unwrap();
/// assert_eq!(a.as_slice(), Some(&[0x0102, 0xffff][..]));
/// # Ok::<(), arrstore::Error>(())
/// ```
pub fn read_npy_from<R: Read>(mut reader: R) -> Result<DynArray> {
    let header = read_header(&mut reader)?;
    crate::with_dtype!(header.dtype, T => {
        let data = read_elements::<T, R>(&mut reader, &header)?;
        build_array(data, &header)
    })
}

/// Reads the `.npy` file at `path`; errors name the file.
pub fn read_npy(path: impl AsRef<Path>) -> Result<DynArray> {
    let path = path.as_ref();
    File::open(path)
        .map_err(Error::from)
        .and_then(|f| read_npy_from(BufReader::new(f)))
        .in_file(path)
}

/// A C-order `.npy` file opened for reading in chunks: the header is parsed, the data is read
/// only when [`NpyStream::for_each_chunk`] walks it, one chunk at a time, so memory does not
/// grow with the file.
#[derive(Debug)]
pub struct NpyStream {
    file: File,
    header: Header,
    /// Where the data starts.
    data_offset: u64,
}

impl NpyStream {
    /// Opens the `.npy` at `path`: `Ok(None)` for a Fortran-order file (its C order is not a
    /// forward walk of the file; read it whole with [`read_npy`]). Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Option<NpyStream>> {
        let path = path.as_ref();
        let go = || -> Result<Option<NpyStream>> {
            let mut reader = BufReader::new(File::open(path)?);
            let header = read_header(&mut reader)?;
            if header.fortran {
                return Ok(None);
            }
            let data_offset = std::io::Seek::stream_position(&mut reader)?;
            let file = reader.into_inner();
            let needed = element_count(&header.shape)?
                .checked_mul(header.dtype.size())
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| bad("the data is larger than this machine can address"))?;
            let have = file.metadata()?.len().saturating_sub(data_offset);
            if have < needed {
                return Err(bad(format!(
                    "data holds {have} bytes, shape {} of {} needs {needed}",
                    shape_text(&header.shape),
                    header.dtype
                )));
            }
            Ok(Some(NpyStream {
                file,
                header,
                data_offset,
            }))
        };
        go().in_file(path)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.header.dtype
    }

    /// The shape.
    pub fn shape(&self) -> &[usize] {
        &self.header.shape
    }

    /// Calls `f(start, chunk)` on consecutive chunks of at most `chunk` elements, in C order,
    /// `start` being the flat index of the chunk's first element. `T` must be the file's dtype.
    pub fn for_each_chunk<T: Element>(
        &self,
        chunk: usize,
        f: &mut dyn FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        self.for_each_chunk_in(0..element_count(&self.header.shape)?, chunk, f)
    }

    /// [`NpyStream::for_each_chunk`] over the elements `range` only (flat C-order indices).
    /// The file is read at positions, never through a shared cursor, so several threads may
    /// each walk a range of one stream at once.
    pub fn for_each_chunk_in<T: Element>(
        &self,
        range: std::ops::Range<usize>,
        chunk: usize,
        f: &mut dyn FnMut(usize, &[T]) -> Result<()>,
    ) -> Result<()> {
        if T::DTYPE != self.header.dtype {
            return Err(Error::WrongDtype {
                expected: T::DTYPE,
                found: self.header.dtype,
            });
        }
        let count = element_count(&self.header.shape)?;
        if range.start > range.end || range.end > count {
            return Err(bad(format!(
                "elements {range:?} asked of a file of {count} elements"
            )));
        }
        let size = T::DTYPE.size();
        let chunk = chunk.clamp(1, range.len().max(1));
        let mut bytes = vec![0u8; chunk * size];
        let mut values: Vec<T> = Vec::with_capacity(chunk);
        let mut start = range.start;
        while start < range.end {
            let n = (range.end - start).min(chunk);
            let buf = bytes.get_mut(..n * size).unwrap_or_default();
            // In range: `start * size` is below the data length, checked at `open`.
            let at = self.data_offset + (start * size) as u64;
            if read_full_at(&self.file, buf, at)? < buf.len() {
                return Err(bad("the file ended while it was being read"));
            }
            values.clear();
            decode_into(buf, self.header.big_endian, start, &mut values)?;
            f(start, &values)?;
            start += n;
        }
        Ok(())
    }
}

/// Reads into `buf` from `file` at `offset` until `buf` is full or the file ends; the number of
/// bytes read. The file's cursor is not used.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    // `filled` is at most the buffer's length.
    fill(buf, |rest, filled| {
        positional_read(file, rest, offset + filled as u64)
    })
}

#[cfg(unix)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn positional_read(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Decodes the elements of `bytes` (each as many bytes as a `T`) onto `out`; `first` is the
/// index of the first one (for error messages).
fn decode_into<T: Element>(bytes: &[u8], big_endian: bool, first: usize, out: &mut Vec<T>) -> Result<()> {
    // The element size is a constant of each `T`, so this loop compiles to plain loads.
    let size = std::mem::size_of::<T>();
    debug_assert_eq!(size, T::DTYPE.size());
    if T::DTYPE == DType::Bool {
        if let Some(i) = bytes.iter().position(|&b| b > 1) {
            return Err(bad(format!(
                "bool element {} is the byte {:#04x} (a bool is 0 or 1)",
                first + i,
                bytes[i]
            )));
        }
    }
    out.reserve(bytes.len() / size);
    for b in bytes.chunks_exact(size) {
        let mut le = [0u8; 8];
        le[..size].copy_from_slice(b);
        if big_endian {
            le[..size].reverse();
        }
        out.push(T::from_bits(u64::from_le_bytes(le)));
    }
    Ok(())
}

/// Writes `array` to `writer` as an `.npy` file (version 1.0, or 2.0 for a header longer than
/// 65535 bytes), in Fortran order when the array's memory is Fortran-ordered, C order otherwise.
///
/// ```
/// use arrstore::npy::write_npy_to;
/// use arrstore::DynArray;
/// let mut out = Vec::new();
/// write_npy_to(&mut out, &DynArray::from(ndarray::arr1(&[true, false]).into_dyn()))?;
/// // 10 bytes of magic, version and length, then the header padded to 128 bytes in all.
/// assert_eq!(out.len(), 128 + 2);
/// assert!(out.starts_with(b"\x93NUMPY\x01\x00\x76\x00{'descr': '|b1', 'fortran_order': False,"));
/// assert_eq!(&out[127..], b"\n\x01\x00");
/// # Ok::<(), arrstore::Error>(())
/// ```
pub fn write_npy_to<W: Write>(mut writer: W, array: &DynArray) -> Result<()> {
    let order = crate::with_dyn_array!(array, a => Order::of(a));
    let header = header_bytes(array.dtype(), array.shape(), order == Order::F)?;
    writer.write_all(&header)?;
    crate::with_dyn_array!(array, a => write_elements(&mut writer, a, order))?;
    writer.flush()?;
    Ok(())
}

/// An `.npy` file written a piece at a time, the mirror of [`NpyStream`]: the header first,
/// then the elements in the order the header gives (C order, little-endian), from as many
/// calls as suit the caller; [`finish`](NpyWriter::finish) checks that the shape's elements all
/// came.
///
/// ```
/// use arrstore::npy::{read_npy_from, NpyWriter};
/// use arrstore::DType;
/// let mut w = NpyWriter::new(Vec::new(), DType::U16, &[2, 3])?;
/// w.write(&[1u16, 2, 3])?;
/// w.write(&[4u16, 5, 6])?;
/// let bytes = w.finish()?;
/// let a: ndarray::ArrayD<u16> = read_npy_from(bytes.as_slice())?.into_typed().unwrap();
/// assert_eq!(a, ndarray::arr2(&[[1u16, 2, 3], [4, 5, 6]]).into_dyn());
/// # Ok::<(), arrstore::Error>(())
/// ```
pub struct NpyWriter<W: Write> {
    writer: W,
    dtype: DType,
    /// The elements the shape has, and those written so far.
    elements: u64,
    written: u64,
    /// Reused for the little-endian bytes of each call.
    buf: Vec<u8>,
}

impl<W: Write> NpyWriter<W> {
    /// Writes the header of a C-order array of `dtype` and `shape` to `writer`.
    pub fn new(mut writer: W, dtype: DType, shape: &[usize]) -> Result<NpyWriter<W>> {
        writer.write_all(&header_bytes(dtype, shape, false)?)?;
        let elements = shape
            .iter()
            .try_fold(1u64, |n, &d| n.checked_mul(d as u64)) // usize fits in u64
            .ok_or_else(|| {
                bad(format!(
                    "shape {} has more elements than a u64 counts",
                    shape_text(shape)
                ))
            })?;
        Ok(NpyWriter {
            writer,
            dtype,
            elements,
            written: 0,
            buf: Vec::new(),
        })
    }

    /// Writes the next `values`.
    ///
    /// # Panics
    /// When `T` is not the dtype the header announced (a caller bug).
    pub fn write<T: Element>(&mut self, values: &[T]) -> Result<()> {
        self.buf.clear();
        put_le(&mut self.buf, values);
        let buf = std::mem::take(&mut self.buf);
        let out = self.write_encoded::<T>(&buf, values.len());
        self.buf = buf;
        out
    }

    /// Writes `count` elements of type `T` already encoded as little-endian `bytes` (by
    /// [`Element`]'s bits, as [`write`](NpyWriter::write) encodes them), for callers that
    /// encode on other threads.
    ///
    /// # Panics
    /// When `T` is not the header's dtype or `bytes` is not `count` elements long (caller bugs).
    pub fn write_encoded<T: Element>(&mut self, bytes: &[u8], count: usize) -> Result<()> {
        assert_eq!(T::DTYPE, self.dtype, "NpyWriter: elements of another dtype");
        assert_eq!(
            bytes.len(),
            count * self.dtype.size(),
            "NpyWriter: bytes of another count"
        );
        let count = count as u64; // usize fits in u64
        if self.written + count > self.elements {
            return Err(bad(format!(
                "{} elements written to an .npy of {} elements",
                self.written + count,
                self.elements
            )));
        }
        self.writer.write_all(bytes)?;
        self.written += count;
        Ok(())
    }

    /// The elements written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes the writer and gives it back, once every element of the shape was written.
    pub fn finish(mut self) -> Result<W> {
        if self.written != self.elements {
            return Err(bad(format!(
                "{} elements written to an .npy of {} elements",
                self.written, self.elements
            )));
        }
        self.writer.flush()?;
        Ok(self.writer)
    }
}

/// Writes `array` to the `.npy` file at `path`, atomically (see [`crate::atomic::write_atomic`]);
/// an existing file is replaced only with `overwrite`. Errors name the file.
pub fn write_npy(path: impl AsRef<Path>, array: &DynArray, overwrite: bool) -> Result<()> {
    crate::atomic::write_atomic(path.as_ref(), overwrite, |w| write_npy_to(w, array))
}

/// An [`Error::UnsupportedNpy`] with this message.
fn bad(message: impl Into<String>) -> Error {
    Error::UnsupportedNpy(message.into())
}

/// Reads into `buf` until it is full or the reader ends; returns the bytes read.
fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    fill(buf, |rest, _| reader.read(rest))
}

/// Fills `buf` by calling `read(rest, filled)`, which reads into `rest`, the part of `buf` after
/// the `filled` bytes read so far, until `buf` is full or `read` reads nothing (the end);
/// interrupted reads are retried. Returns the bytes read.
fn fill(
    buf: &mut [u8],
    mut read: impl FnMut(&mut [u8], usize) -> std::io::Result<usize>,
) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|r| !r.is_empty()) {
        match read(rest, filled) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n).min(buf.len()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The element count of a shape, checked against what one allocation can hold.
fn element_count(shape: &[usize]) -> Result<usize> {
    let too_big = || {
        bad(format!(
            "shape {} has more elements than this machine can hold",
            shape_text(shape)
        ))
    };
    // ndarray needs the product of the non-zero axis lengths to fit in an isize, even when
    // another axis is zero.
    let nonzero = shape
        .iter()
        .try_fold(1usize, |acc, &n| acc.checked_mul(n.max(1)))
        .ok_or_else(too_big)?;
    if isize::try_from(nonzero).is_err() {
        return Err(too_big());
    }
    Ok(shape.iter().product())
}

/// Reads and decodes the elements the header announces, in file order.
fn read_elements<T: Element, R: Read>(reader: &mut R, header: &Header) -> Result<Vec<T>> {
    let count = element_count(&header.shape)?;
    let size = T::DTYPE.size();
    let needed = count.checked_mul(size).ok_or_else(|| {
        bad(format!(
            "shape {} of {} needs more bytes than this machine can hold",
            shape_text(&header.shape),
            header.dtype
        ))
    })?;
    // Preallocate at most one chunk's worth: the rest grows only as data arrives.
    let mut out: Vec<T> = Vec::with_capacity(count.min(CHUNK));
    let mut buf = vec![0u8; needed.min(CHUNK)];
    let mut done = 0usize;
    while done < needed {
        // A multiple of `size`: CHUNK is a multiple of 8 and so is what remains.
        let want = (needed - done).min(buf.len());
        let chunk = buf.get_mut(..want).unwrap_or_default();
        let got = read_full(reader, chunk)?;
        let first = out.len();
        decode_into(
            chunk.get(..got).unwrap_or_default(),
            header.big_endian,
            first,
            &mut out,
        )?;
        done += got;
        if got < want {
            return Err(bad(format!(
                "data holds {done} bytes, shape {} of {} needs {needed}",
                shape_text(&header.shape),
                header.dtype
            )));
        }
    }
    Ok(out)
}

/// The array of the decoded elements, with Fortran layout for a Fortran-order file.
fn build_array<T: Element>(data: Vec<T>, header: &Header) -> Result<DynArray> {
    let dim = IxDyn(&header.shape);
    let array = if header.fortran {
        ArrayD::from_shape_vec(dim.f(), data)
    } else {
        ArrayD::from_shape_vec(dim, data)
    };
    array.map(T::into_dyn_array).map_err(|e| {
        bad(format!(
            "shape {} cannot be built: {e}",
            shape_text(&header.shape)
        ))
    })
}

/// Writes a 0-d byte-string array (dtype `|S<n>`), as SciPy stores a sparse matrix's `format`.
pub(crate) fn write_npy_bytes_to<W: Write>(mut writer: W, bytes: &[u8]) -> Result<()> {
    writer.write_all(&header_bytes_for(&format!("|S{}", bytes.len()), &[], false)?)?;
    writer.write_all(bytes)?;
    Ok(())
}

/// Writes the elements little-endian, in Fortran order for `Order::F` and logical C order
/// otherwise, converting a chunk at a time.
fn write_elements<T: Element, W: Write>(writer: &mut W, a: &ArrayD<T>, order: Order) -> Result<()> {
    // The transpose's logical order is the array's Fortran order.
    let view = match order {
        Order::F => a.t(),
        Order::C => a.view(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
    if let Some(values) = view.as_slice() {
        for part in values.chunks((CHUNK / T::DTYPE.size()).max(1)) {
            buf.clear();
            put_le(&mut buf, part);
            writer.write_all(&buf)?;
        }
        return Ok(());
    }
    for v in view.iter() {
        put_le(&mut buf, std::slice::from_ref(v));
        if buf.len() >= CHUNK {
            writer.write_all(&buf)?;
            buf.clear();
        }
    }
    writer.write_all(&buf)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` file of the given version with this header text (padded to 64) and data.
    fn npy(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let length_bytes = if major == 1 { 2 } else { 4 };
        let mut text = header.as_bytes().to_vec();
        while !(MAGIC.len() + 2 + length_bytes + text.len() + 1).is_multiple_of(ALIGN) {
            text.push(b' ');
        }
        text.push(b'\n');
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        let len = u32::try_from(text.len()).unwrap().to_le_bytes();
        out.extend_from_slice(&len[..length_bytes]);
        out.extend_from_slice(&text);
        out.extend_from_slice(data);
        out
    }

    fn header(text: &str) -> Result<Header> {
        parse_header(text)
    }

    fn message(r: Result<impl std::fmt::Debug>) -> String {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::UnsupportedNpy(_)), "{e:?}");
        e.to_string()
    }

    #[test]
    fn more_than_64_axes_are_refused_both_ways() {
        let axes = |n: usize| vec!["1"; n].join(", ");
        let ok = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': ({}), }}",
            axes(64)
        );
        assert_eq!(header(&ok).unwrap().shape.len(), 64);
        let m = message(header(&ok.replace("(1, ", "(1, 1, ")));
        assert!(m.contains("65 axes, more than the 64"), "{m}");
        let a = DynArray::from(ArrayD::<u8>::zeros(IxDyn(&[1; 65])));
        let m = message(write_npy_to(Vec::new(), &a));
        assert!(m.contains("65 axes"), "{m}");
        let a = DynArray::from(ArrayD::<u8>::zeros(IxDyn(&[1; 64])));
        let mut file = Vec::new();
        write_npy_to(&mut file, &a).unwrap();
        assert_eq!(read_npy_from(file.as_slice()).unwrap().shape().len(), 64);
    }

    #[test]
    fn header_dicts_in_any_spelling() {
        let want = Header {
            dtype: DType::F64,
            big_endian: false,
            fortran: false,
            shape: vec![2, 3],
        };
        for text in [
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
            "{'descr':'<f8','fortran_order':False,'shape':(2,3)}",
            "{'shape': (2, 3,), 'fortran_order': False, 'descr': '<f8'}",
            "  {\"descr\" : \"<f8\" ,\n 'fortran_order' :\tFalse , 'shape' : [2, 3] , }  \n",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 3L), }",
            "{'descr': ('<f8'), 'fortran_order': False, 'shape': ((2), 3)}",
        ] {
            assert_eq!(header(text).unwrap(), want, "{text}");
        }
        let shape = |t: &str| {
            header(&format!(
                "{{'descr': '|u1', 'fortran_order': True, 'shape': {t}}}"
            ))
            .unwrap()
            .shape
        };
        assert_eq!(shape("()"), Vec::<usize>::new());
        assert_eq!(shape("( )"), Vec::<usize>::new());
        assert_eq!(shape("(5,)"), vec![5]);
        assert_eq!(shape("(0, 3)"), vec![0, 3]);
        assert_eq!(shape("(1,2,1,3,1,2)"), vec![1, 2, 1, 3, 1, 2]);
    }

    #[test]
    fn bad_header_dicts() {
        let cases = [
            ("", "expected '{'"),
            ("{", "unexpected end"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)", "expected ',' or '}'"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3)} x", "after the header"),
            ("{'descr': '<f8', 'fortran_order': False}", "no 'shape' key"),
            ("{'descr': '<f8', 'shape': ()}", "no 'fortran_order' key"),
            ("{'fortran_order': False, 'shape': ()}", "no 'descr' key"),
            ("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}", "twice"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}", "key 'x'"),
            ("{'descr': '<f8', 'fortran_order': 0, 'shape': ()}", "not True or False"),
            ("{'descr': '<f8', 'fortran_order': false, 'shape': ()}", "not True, False"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (5)}", "shape (5) is not a tuple"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", "axis length -1"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': ('a',)}", "not a tuple of int"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (1e3,)}", "expected ','"),
            ("{'descr': 3, 'fortran_order': False, 'shape': ()}", "not a dtype string"),
            ("{'descr': '<f8, 'fortran_order': False, 'shape': ()}", "expected ',' or '}' at byte 17"),
            ("{'descr': '<f8\n', 'fortran_order': False, 'shape': ()}", "closing quote"),
            ("{1: '<f8'}", "not a string"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}", "too large"),
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551616,)}", "invalid axis length"),
        ];
        for (text, want) in cases {
            let m = message(header(text));
            assert!(m.contains(want), "{text:?}: {m}");
        }
        let deep = format!(
            "{{'descr': '<f8', 'fortran_order': False, 'shape': {}1{}}}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert!(message(header(&deep)).contains("nested too deeply"));
    }

    #[test]
    fn descrs() {
        let little = cfg!(target_endian = "little");
        for (d, want) in [
            ("<b1", (DType::Bool, false)),
            ("|b1", (DType::Bool, !little)),
            ("?", (DType::Bool, !little)),
            ("|i1", (DType::I8, !little)),
            (">i2", (DType::I16, true)),
            ("=i4", (DType::I32, !little)),
            ("<i8", (DType::I64, false)),
            ("|u1", (DType::U8, !little)),
            ("<u2", (DType::U16, false)),
            (">u4", (DType::U32, true)),
            ("u8", (DType::U64, !little)),
            ("<f4", (DType::F32, false)),
            (">f8", (DType::F64, true)),
        ] {
            assert_eq!(parse_descr(d).unwrap(), want, "{d}");
        }
        for (d, what) in [
            ("<c16", "(complex)"),
            ("<c8", "(complex)"),
            ("<f2", "(float16)"),
            ("<e", "(float16)"),
            ("<f16", "(float of an unsupported size)"),
            ("<U3", "(Unicode string)"),
            ("|S5", "(byte string)"),
            ("|O", "(Python object)"),
            ("<M8[ns]", "(datetime64)"),
            ("<m8[s]", "(timedelta64)"),
            ("|V8", "(raw bytes)"),
            ("<i16", "(integer of an unsupported size)"),
            ("", "(unknown dtype)"),
            ("<", "(unknown dtype)"),
            ("\u{e9}", "(unknown dtype)"),
        ] {
            let m = message(parse_descr(d));
            assert!(m.contains(&format!("dtype '{d}' {what} is not supported")), "{m}");
            assert!(m.contains("arrstore stores bool, int8..int64"), "{m}");
        }
        let m = message(header(
            "{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (2,)}",
        ));
        assert!(m.contains("dtype [('a', '<i4'), ('b', '<f8')] (structured) is not supported"));
    }

    #[test]
    fn whole_files_read() {
        let f = npy(
            1,
            "{'descr': '>i2', 'fortran_order': True, 'shape': (2, 3)}",
            &[0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0xff, 0xfe],
        );
        let a: ArrayD<i16> = read_npy_from(f.as_slice()).unwrap().into_typed().unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(Order::of(&a), Order::F);
        assert_eq!(a[[0, 0]], 1);
        assert_eq!(a[[1, 0]], 2);
        assert_eq!(a[[0, 1]], 3);
        assert_eq!(a[[1, 2]], -2);

        for major in [2, 3] {
            let f = npy(
                major,
                "{'descr': '<f4', 'fortran_order': False, 'shape': ()}",
                &1.5f32.to_le_bytes(),
            );
            let a: ArrayD<f32> = read_npy_from(f.as_slice()).unwrap().into_typed().unwrap();
            assert_eq!(a.ndim(), 0);
            assert_eq!(a.first(), Some(&1.5));
        }

        let f = npy(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 7)}",
            b"",
        );
        let a = read_npy_from(f.as_slice()).unwrap();
        assert_eq!((a.dtype(), a.shape()), (DType::F64, &[0, 7][..]));

        // Two arrays back to back in one stream.
        let mut two = npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)}", &[7]);
        two.extend(npy(
            1,
            "{'descr': '|u1', 'fortran_order': False, 'shape': (2,)}",
            &[8, 9],
        ));
        let mut r = two.as_slice();
        assert_eq!(read_npy_from(&mut r).unwrap().len(), 1);
        assert_eq!(read_npy_from(&mut r).unwrap().len(), 2);
        assert!(r.is_empty());
    }

    #[test]
    fn bad_files() {
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (10, 20)}";
        let m = message(read_npy_from(npy(1, h, &[0; 100]).as_slice()));
        assert!(
            m.contains("data holds 100 bytes, shape [10, 20] of float64 needs 1600"),
            "{m}"
        );

        let h = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,)}";
        let m = message(read_npy_from(npy(1, h, &[1, 0, 2]).as_slice()));
        assert!(m.contains("bool element 2 is the byte 0x02"), "{m}");

        // A lying shape is refused without allocating what it claims.
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 1024)}";
        let m = message(read_npy_from(npy(1, h, &[0; 64]).as_slice()));
        assert!(m.contains("data holds 64 bytes"), "{m}");
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}";
        let m = message(read_npy_from(npy(1, h, b"").as_slice()));
        assert!(m.contains("more elements than this machine can hold"), "{m}");
        let h = "{'descr': '<u8', 'fortran_order': False, 'shape': (0, 4294967296, 4294967296)}";
        let m = message(read_npy_from(npy(1, h, b"").as_slice()));
        assert!(m.contains("more elements"), "{m}");
        let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (2305843009213693952,)}";
        let m = message(read_npy_from(npy(1, h, b"").as_slice()));
        assert!(m.contains("needs more bytes"), "{m}");

        let m = message(read_npy_from(&b"PK\x03\x04\x14\x00\x01\x00"[..]));
        assert!(
            m.contains("not an .npy file: it starts with b\"PK\\x03\\x04\\x14\\x00\", not"),
            "{m}"
        );
        let m = message(read_npy_from(&b"\x93NUM"[..]));
        assert!(m.contains("ends after 4 bytes"), "{m}");
        let m = message(read_npy_from(&b""[..]));
        assert!(m.contains("ends after 0 bytes"), "{m}");
        let m = message(read_npy_from(&b"\x93NUMPY\x04\x00\x10\x00"[..]));
        assert!(m.contains("version 4.0 is not supported"), "{m}");
        let m = message(read_npy_from(&b"\x93NUMPY\x02\x00\x10\x00"[..]));
        assert!(m.contains("inside the header length"), "{m}");
        let m = message(read_npy_from(&b"\x93NUMPY\x02\x00\xff\xff\xff\xff{}"[..]));
        assert!(
            m.contains("is 4294967295 bytes long, but the file ends after 2"),
            "{m}"
        );
        let mut f = npy(
            3,
            "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
            &[0; 8],
        );
        f[20] = 0xff;
        assert!(message(read_npy_from(f.as_slice())).contains("not UTF-8"));
        // Latin-1 in version 1.0: a non-ASCII byte is a character, here inside the descr.
        let mut f = npy(
            1,
            "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
            &[0; 8],
        );
        f[23] = 0xe9;
        let m = message(read_npy_from(f.as_slice()));
        assert!(
            m.contains("dtype '<f\u{e9}' (float of an unsupported size)"),
            "{m}"
        );
    }

    #[test]
    fn no_panic_on_any_prefix_or_corrupted_byte() {
        let a =
            DynArray::from(ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), vec![1u16, 2, 3, 4, 5, 6]).unwrap());
        let mut good = Vec::new();
        write_npy_to(&mut good, &a).unwrap();
        for cut in 0..good.len() {
            assert!(read_npy_from(&good[..cut]).is_err(), "cut at {cut}");
        }
        for i in 0..good.len() {
            for b in [0u8, b' ', b'(', b')', b',', b'\'', b'9', 0x80, 0xff] {
                let mut f = good.clone();
                f[i] = b;
                let _ = read_npy_from(f.as_slice());
            }
        }
    }

    fn round_trip(a: DynArray) -> DynArray {
        let mut bytes = Vec::new();
        write_npy_to(&mut bytes, &a).unwrap();
        let header_len = bytes.len() - a.len() * a.dtype().size();
        assert_eq!(header_len % ALIGN, 0);
        assert_eq!(bytes[header_len - 1], b'\n');
        let back = read_npy_from(bytes.as_slice()).unwrap();
        assert!(back.bit_eq(&a), "{a:?} != {back:?}");
        back
    }

    #[test]
    fn writes_read_back_in_their_order() {
        fn order(a: &DynArray) -> Order {
            crate::with_dyn_array!(a, x => Order::of(x))
        }
        for d in DType::ALL {
            crate::with_dtype!(d, T => {
                let vals: Vec<T> = (0..24u64).map(|i| <T as Element>::from_bits(i % 2 + (i << 3) * u64::from(d != DType::Bool))).collect();
                let c = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), vals.clone()).unwrap();
                let f = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]).f(), vals.clone()).unwrap();
                assert_eq!(order(&round_trip(DynArray::from(c.clone()))), Order::C);
                assert_eq!(order(&round_trip(DynArray::from(f.clone()))), Order::F);
                // Owned arrays whose memory is neither C nor F contiguous.
                let mut strided = c.clone();
                strided.slice_collapse(ndarray::s![.., ..;2, 1..]);
                assert!(!strided.is_standard_layout() && !strided.t().is_standard_layout());
                let back = round_trip(DynArray::from(strided.clone()));
                assert_eq!(order(&back), Order::C);
                let mut inverted = c.clone();
                inverted.invert_axis(ndarray::Axis(0));
                round_trip(DynArray::from(inverted));
                let mut inverted_f = f.clone();
                inverted_f.invert_axis(ndarray::Axis(2));
                round_trip(DynArray::from(inverted_f));
                round_trip(DynArray::from(ArrayD::from_elem(IxDyn(&[]), vals[3])));
                round_trip(DynArray::from(ArrayD::<T>::from_elem(IxDyn(&[3, 0, 2]), vals[1])));
            });
        }
        // A header too long for version 1.0 would need more axes than NumPy reads: refused.
        let big = ArrayD::from_elem(IxDyn(&[1; 30_000]), 7i8);
        let m = message(write_npy_to(Vec::new(), &DynArray::from(big)));
        assert!(m.contains("30000 axes"), "{m}");
    }

    #[test]
    fn large_arrays_cross_chunk_boundaries() {
        let n = 3 * CHUNK / 8 + 5;
        let a = ArrayD::from_shape_vec(
            IxDyn(&[n]),
            (0..n)
                .map(|i| f64::from(u32::try_from(i).unwrap()) * 0.5)
                .collect(),
        )
        .unwrap();
        round_trip(DynArray::from(a));
        let b = ArrayD::from_shape_fn(IxDyn(&[n]), |i| i[0] % 3 == 0);
        round_trip(DynArray::from(b));
    }

    /// Any range of a stream reads those elements, in chunks of the size asked, whichever
    /// threads read other ranges meanwhile; bad ranges and bad bytes are errors, not panics.
    #[test]
    fn stream_ranges_read_at_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let data: Vec<u8> = (0u16..300).flat_map(|v| v.to_be_bytes()).collect();
        std::fs::write(
            &path,
            npy(
                1,
                "{'descr': '>u2', 'fortran_order': False, 'shape': (300,), }",
                &data,
            ),
        )
        .unwrap();
        let stream = NpyStream::open(&path).unwrap().unwrap();
        let read = |range: std::ops::Range<usize>, chunk: usize| -> Result<(Vec<usize>, Vec<u16>)> {
            let (mut starts, mut got) = (Vec::new(), Vec::new());
            stream.for_each_chunk_in::<u16>(range, chunk, &mut |s, c| {
                starts.push(s);
                got.extend_from_slice(c);
                Ok(())
            })?;
            Ok((starts, got))
        };
        std::thread::scope(|s| {
            let halves = [s.spawn(|| read(0..150, 7)), s.spawn(|| read(150..300, 7))];
            let got: Vec<u16> = halves
                .into_iter()
                .flat_map(|h| h.join().unwrap().unwrap().1)
                .collect();
            assert_eq!(got, (0..300).collect::<Vec<u16>>());
        });
        assert_eq!(read(5..12, 3).unwrap(), (vec![5, 8, 11], (5..12).collect()));
        assert_eq!(read(7..7, 3).unwrap(), (vec![], vec![]));
        let e = read(290..301, 4).unwrap_err().to_string();
        assert!(e.contains("290..301") && e.contains("300 elements"), "{e}");
        let wrong = stream.for_each_chunk_in::<i16>(0..1, 1, &mut |_, _| Ok(()));
        assert!(matches!(wrong, Err(Error::WrongDtype { .. })), "{wrong:?}");

        let bools = dir.path().join("b.npy");
        std::fs::write(
            &bools,
            npy(
                1,
                "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
                &[1, 0, 2, 1],
            ),
        )
        .unwrap();
        let stream = NpyStream::open(&bools).unwrap().unwrap();
        let ok = stream.for_each_chunk_in::<bool>(0..2, 2, &mut |_, c| {
            assert_eq!(c, [true, false]);
            Ok(())
        });
        assert!(ok.is_ok());
        let e = stream
            .for_each_chunk_in::<bool>(1..4, 2, &mut |_, _| Ok(()))
            .unwrap_err();
        assert!(e.to_string().contains("bool element 2 is the byte 0x02"), "{e}");
    }
}
