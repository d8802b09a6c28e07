//! `.npz` archives: NumPy's (`np.savez`, `np.savez_compressed`: several named arrays) and
//! SciPy's sparse matrices (`scipy.sparse.save_npz`), read and written without densifying.
//!
//! Spec card:
//! - An `.npz` is a zip archive of `.npy` files, one per array, named `<key>.npy`, stored or
//!   deflated.
//! - SciPy's sparse archives hold `format.npy` (a byte string: `coo`, `csr` or `csc`),
//!   `shape.npy` and `data.npy`, and for `coo` either `row.npy`/`col.npy` (2-D) or `coords.npy`
//!   (an `(ndim, nnz)` array, SciPy's n-d COO), for `csr`/`csc` `indices.npy` and `indptr.npy`;
//!   `_is_array.npy` marks a sparse *array* rather than a matrix. [`read_npz`] turns these into a
//!   [`DynCoo`] directly from the coordinates (memory proportional to the nonzeros); duplicate
//!   entries are summed as SciPy sums them.
//! - [`write_sparse_npz`] writes SciPy's COO layout (`row`/`col` for 2-D, `coords` otherwise),
//!   which `scipy.sparse.load_npz` loads.
//!
//! ```
//! use arrstore::npz::{read_npz_from, write_npz_to, Npz};
//! use arrstore::DynArray;
//! let a = DynArray::from(ndarray::arr1(&[1i32, 2, 3]).into_dyn());
//! let mut zip = std::io::Cursor::new(Vec::new());
//! write_npz_to(&mut zip, &[("counts", &a)], true)?;
//! zip.set_position(0);
//! let Npz::Arrays(arrays) = read_npz_from(zip)? else { unreachable!() };
//! assert_eq!(arrays[0].0, "counts");
//! assert!(arrays[0].1.bit_eq(&a));
//! # Ok::<(), arrstore::Error>(())
//! ```

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, Write};
use std::path::Path;

use crate::coo::{Coo, Coords, DynCoo};
use crate::dtype::{DType, Element};
use crate::dynarray::DynArray;
use crate::error::{Error, Result, ResultExt};
use crate::npy;
use crate::par::join;
use crate::with_dtype;

/// What an `.npz` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Npz {
    /// NumPy's archive of named arrays, in archive order.
    Arrays(Vec<(String, DynArray)>),
    /// A SciPy sparse matrix or array, as COO.
    Sparse(DynCoo),
}

fn bad(message: impl Into<String>) -> Error {
    Error::UnsupportedNpy(message.into())
}

fn zip_error(e: zip::result::ZipError) -> Error {
    match e {
        zip::result::ZipError::Io(io) => Error::Io(io),
        other => Error::Zip(other),
    }
}

/// Reads an `.npz` archive: a SciPy sparse matrix when it has SciPy's `format`, `shape` and
/// `data` entries, NumPy's named arrays otherwise.
pub fn read_npz_from<R: Read + Seek + Send>(reader: R) -> Result<Npz> {
    read_archives(vec![zip::ZipArchive::new(reader).map_err(zip_error)?])
}

/// Reads the `.npz` at `path`; errors name the file. The entries are read and decoded on one
/// thread per core, each with a handle of its own on the file.
pub fn read_npz(path: impl AsRef<Path>) -> Result<Npz> {
    let path = path.as_ref();
    let open = || -> Result<zip::ZipArchive<BufReader<File>>> {
        zip::ZipArchive::new(BufReader::new(File::open(path)?)).map_err(zip_error)
    };
    let handles = crate::par::threads().min(4);
    (0..handles)
        .map(|_| open())
        .collect::<Result<Vec<_>>>()
        .and_then(read_archives)
        .in_file(path)
}

/// Reads every entry of one archive through `archives`, handles on the same archive: each
/// handle reads its share of the entries (the largest first, to the least loaded handle) on a
/// thread of its own.
fn read_archives<R: Read + Seek + Send>(mut archives: Vec<zip::ZipArchive<R>>) -> Result<Npz> {
    let first = archives.first_mut().expect("at least one handle on the archive");
    let mut entries = Vec::with_capacity(first.len());
    for i in 0..first.len() {
        let entry = first.by_index_raw(i).map_err(zip_error)?;
        if !entry.is_dir() {
            entries.push((entry.name().map_err(zip_error)?.into_owned(), entry.size()));
        }
    }
    let mut shares: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); archives.len()];
    let mut by_size: Vec<usize> = (0..entries.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(entries[i].1));
    for i in by_size {
        let least = shares.iter_mut().min_by_key(|s| s.0).expect("at least one share");
        least.0 += entries[i].1;
        least.1.push(i);
    }
    let has = |n: &str| entries.iter().any(|(x, _)| x == n);
    let scipy = has("format.npy") && has("shape.npy") && has("data.npy");
    let entries = &entries;
    let read: Vec<(usize, Entry)> = std::thread::scope(|s| {
        let handles: Vec<_> = archives
            .into_iter()
            .zip(shares)
            .map(|(mut zip, (_, mine))| {
                s.spawn(move || {
                    mine.into_iter()
                        .map(|i| {
                            let name = entries[i].0.as_str();
                            let entry = zip.by_name(name).map_err(zip_error)?;
                            let read = read_checked(entry, name, |r| {
                                if scipy && name == "format.npy" {
                                    npy::read_npy_bytes_from(r).map(Entry::Bytes)
                                } else {
                                    npy::read_npy_from(r).map(Entry::Array)
                                }
                            });
                            Ok((i, read.map_err(|e| in_entry(e, name))?))
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles.into_iter().map(join).collect::<Result<Vec<_>>>()
    })?
    .into_iter()
    .flatten()
    .collect();
    let mut slots: Vec<Option<Entry>> = (0..entries.len()).map(|_| None).collect();
    for (i, e) in read {
        slots[i] = Some(e);
    }
    let mut format = Vec::new();
    let mut arrays = Vec::with_capacity(entries.len());
    for ((name, _), slot) in entries.iter().zip(slots) {
        match slot.expect("every entry was read") {
            Entry::Bytes(b) => format = b,
            Entry::Array(a) => arrays.push((name.strip_suffix(".npy").unwrap_or(name).to_string(), a)),
        }
    }
    if scipy {
        return sparse_from_scipy(&format, arrays.into_iter().collect()).map(Npz::Sparse);
    }
    Ok(Npz::Arrays(arrays))
}

/// Decodes the member `entry` (named `name`) through `decode` and checks its CRC-32 against
/// the one the archive records, for stored and deflated members alike: a decoder stops at the
/// end of the array's data, so the zip reader, which checks only on reaching the member's end,
/// would not. The rest of the member is read, the CRC of every byte computed here, and a
/// mismatch is an [`Error::BadCrc`] (before any error of `decode`, whose input was then not
/// what was written).
fn read_checked<R: Read, T>(
    entry: zip::read::ZipFile<'_, R>,
    name: &str,
    decode: impl FnOnce(&mut CrcReader<zip::read::ZipFile<'_, R>>) -> Result<T>,
) -> Result<T> {
    let (recorded, size) = (entry.crc32(), entry.size());
    let mut r = CrcReader {
        inner: entry,
        hasher: crc32fast::Hasher::new(),
        read: 0,
    };
    let decoded = decode(&mut r);
    // The zip reader's own check of the same bytes fails the last read on a mismatch; the
    // comparison below reports it with the numbers.
    let rest = std::io::copy(&mut r, &mut std::io::sink());
    let found = r.hasher.clone().finalize();
    if r.read == size && found != recorded {
        return Err(Error::BadCrc {
            member: name.to_string(),
            recorded,
            found,
        });
    }
    let decoded = decoded?;
    rest?;
    Ok(decoded)
}

/// A reader that computes the CRC-32 of the bytes read through it.
struct CrcReader<R> {
    inner: R,
    hasher: crc32fast::Hasher,
    /// Bytes read so far.
    read: u64,
}

impl<R: Read> Read for CrcReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.hasher.update(got);
        self.read += u64::try_from(n).unwrap_or(u64::MAX);
        Ok(n)
    }
}

/// One decoded archive entry.
enum Entry {
    /// An array.
    Array(DynArray),
    /// SciPy's `format`: a byte string.
    Bytes(Vec<u8>),
}

/// An error inside one archive entry, naming it.
fn in_entry(e: Error, name: &str) -> Error {
    match e {
        Error::UnsupportedNpy(m) => bad(format!("entry '{name}': {m}")),
        other => other,
    }
}

/// Non-negative integers of any integer dtype (coordinates, `indptr`, a shape).
fn unsigned(a: &DynArray, what: &str) -> Result<Vec<u64>> {
    fn go<T: Element>(a: &ndarray::ArrayD<T>, what: &str) -> Result<Vec<u64>> {
        // Pushed into a reserved vector: collecting an iterator of `Result`s would grow the
        // vector from empty.
        let mut out = Vec::with_capacity(a.len());
        let mut push = |v: &T| match v.to_int().and_then(|i| u64::try_from(i).ok()) {
            Some(u) => {
                out.push(u);
                Ok(())
            }
            None => Err(bad(format!("'{what}' holds {v:?}, not a non-negative integer"))),
        };
        match a.as_slice() {
            Some(s) => s.iter().try_for_each(&mut push)?,
            None => a.iter().try_for_each(&mut push)?,
        }
        Ok(out)
    }
    if !a.dtype().is_integer() {
        return Err(bad(format!("'{what}' is {}, not an integer array", a.dtype())));
    }
    crate::with_dyn_array!(a, x => go(x, what))
}

/// The coordinates `values` on axis `axis` (of length `len`) of a sparse archive's entries,
/// at the axis' width: each must be a non-negative integer below `len`.
fn axis_coords<T: Element>(
    values: ndarray::ArrayViewD<'_, T>,
    axis: usize,
    len: usize,
    what: &str,
) -> Result<Coords> {
    fn fill<T: Element, U: TryFrom<i128>>(
        values: &ndarray::ArrayViewD<'_, T>,
        axis: usize,
        len: u64,
        what: &str,
    ) -> Result<Vec<U>> {
        let mut out = Vec::with_capacity(values.len());
        let mut push = |(entry, v): (usize, &T)| -> Result<()> {
            let Some(i) = v.to_int().filter(|i| *i >= 0) else {
                return Err(bad(format!("'{what}' holds {v:?}, not a non-negative integer")));
            };
            match U::try_from(i) {
                Ok(u) if i < i128::from(len) => {
                    out.push(u);
                    Ok(())
                }
                _ => Err(Error::CoordinateOutOfRange {
                    entry: entry as u64, // usize fits in u64
                    axis,
                    index: u64::try_from(i).unwrap_or(u64::MAX),
                    len,
                }),
            }
        };
        match values.as_slice() {
            Some(s) => s.iter().enumerate().try_for_each(&mut push)?,
            None => values.iter().enumerate().try_for_each(&mut push)?,
        }
        Ok(out)
    }
    if !T::DTYPE.is_integer() {
        return Err(bad(format!("'{what}' is {}, not an integer array", T::DTYPE)));
    }
    let len = len as u64; // usize fits in u64
    Ok(match Coords::dtype_for(len) {
        DType::U8 => Coords::U8(fill(&values, axis, len, what)?),
        DType::U16 => Coords::U16(fill(&values, axis, len, what)?),
        DType::U32 => Coords::U32(fill(&values, axis, len, what)?),
        _ => Coords::U64(fill(&values, axis, len, what)?),
    })
}

fn take(arrays: &mut BTreeMap<String, DynArray>, name: &str) -> Result<DynArray> {
    arrays
        .remove(name)
        .ok_or_else(|| bad(format!("the sparse archive has no '{name}.npy'")))
}

fn to_usize(v: u64, what: &str) -> Result<usize> {
    usize::try_from(v).map_err(|_| bad(format!("{what} {v} does not fit in memory on this machine")))
}

/// Builds the COO of a SciPy sparse archive from its entries.
fn sparse_from_scipy(format: &[u8], mut arrays: BTreeMap<String, DynArray>) -> Result<DynCoo> {
    let shape: Vec<usize> = unsigned(&take(&mut arrays, "shape")?, "shape")?
        .into_iter()
        .map(|d| to_usize(d, "axis length"))
        .collect::<Result<_>>()?;
    if !matches!(format, b"coo" | b"csr" | b"csc") {
        return Err(bad(format!(
            "SciPy sparse format '{}' is not supported (coo, csr and csc are); convert with .tocoo()",
            format.escape_ascii()
        )));
    }
    let data = take(&mut arrays, "data")?;
    if data.shape().len() != 1 {
        return Err(bad(format!("'data' has shape {:?}, expected 1-d", data.shape())));
    }
    let nnz = data.len();
    // Each axis' coordinates go straight to the axis' width, checked on the way.
    let coords: Vec<Coords> = match format {
        b"coo" => {
            if let Some(c) = arrays.remove("coords") {
                if c.shape() != [shape.len(), nnz] {
                    return Err(bad(format!(
                        "'coords' has shape {:?}, expected [{}, {nnz}]",
                        c.shape(),
                        shape.len()
                    )));
                }
                // One row per axis.
                (0..shape.len())
                    .map(|k| {
                        crate::with_dyn_array!(&c, x => {
                            axis_coords(x.index_axis(ndarray::Axis(0), k), k, shape[k], "coords")
                        })
                    })
                    .collect::<Result<_>>()?
            } else {
                let (row, col) = (take(&mut arrays, "row")?, take(&mut arrays, "col")?);
                let axis = |k: usize, a: &DynArray, what: &str| {
                    let len = shape.get(k).copied().unwrap_or(0);
                    crate::with_dyn_array!(a, x => axis_coords(x.view(), k, len, what))
                };
                let (row, col) = crate::par::both(|| axis(0, &row, "row"), || axis(1, &col, "col"));
                vec![row?, col?]
            }
        }
        b"csr" | b"csc" => {
            if shape.len() != 2 {
                return Err(bad(format!(
                    "a {} matrix has 2 axes, this one {:?}",
                    format.escape_ascii(),
                    shape
                )));
            }
            let indptr = unsigned(&take(&mut arrays, "indptr")?, "indptr")?;
            let (major_axis, minor_axis) = if format == b"csr" { (0, 1) } else { (1, 0) };
            let indices = take(&mut arrays, "indices")?;
            let minor = crate::with_dyn_array!(&indices, x => {
                axis_coords(x.view(), minor_axis, shape[minor_axis], "indices")
            })?;
            let major = shape[major_axis];
            if indptr.len() != major + 1 || indptr.last().copied() != Some(nnz as u64) {
                // usize fits in u64
                return Err(bad(format!(
                    "'indptr' has {} entries ending at {:?}; {} rows/columns and {nnz} values need {} ending at {nnz}",
                    indptr.len(),
                    indptr.last(),
                    major,
                    major + 1
                )));
            }
            let mut outer = Vec::with_capacity(nnz);
            for (i, w) in indptr.windows(2).enumerate() {
                if w[1] < w[0] {
                    return Err(bad(format!("'indptr' decreases at position {i}")));
                }
                outer.extend(std::iter::repeat_n(
                    i as u64,
                    to_usize(w[1] - w[0], "row length")?,
                )); // usize fits in u64
            }
            // Below `major`: one run per row (column) of the matrix.
            let outer = Coords::from_in_range(major as u64, &outer); // usize fits in u64
            if format == b"csr" {
                vec![outer, minor]
            } else {
                vec![minor, outer]
            }
        }
        other => {
            return Err(bad(format!(
                "SciPy sparse format '{}' is not supported (coo, csr and csc are); convert with .tocoo()",
                other.escape_ascii()
            )))
        }
    };
    if coords.len() != shape.len() || coords.iter().any(|c| c.len() != nnz) {
        return Err(bad(format!(
            "{} coordinate arrays of lengths {:?} for shape {shape:?} and {nnz} values",
            coords.len(),
            coords.iter().map(Coords::len).collect::<Vec<_>>()
        )));
    }
    fn build<T: Element>(shape: Vec<usize>, coords: Vec<Coords>, data: DynArray) -> Result<DynCoo>
    where
        DynCoo: From<Coo<T>>,
    {
        let data = data.into_typed::<T>().map_err(|_| bad("'data' changed type"))?;
        let values: Vec<T> = if data.is_standard_layout() {
            // Contiguous, as read from the archive: the values are one run of the buffer.
            let len = data.len();
            let (mut raw, offset) = data.into_raw_vec_and_offset();
            raw.drain(..offset.unwrap_or(0));
            raw.truncate(len);
            raw
        } else {
            data.iter().copied().collect()
        };
        Ok(Coo::try_from_coords(shape, coords, values, T::from_bits(0))?.into())
    }
    with_dtype!(data.dtype(), T => build::<T>(shape, coords, data))
}

/// Writes named arrays as an `.npz` (deflated when `compress`, as `np.savez_compressed`).
pub fn write_npz_to<W: Write + Seek>(writer: W, arrays: &[(&str, &DynArray)], compress: bool) -> Result<()> {
    write_zip(writer, compress, |zip| {
        for (name, a) in arrays {
            zip.entry(&format!("{name}.npy"))?;
            npy::write_npy_to(&mut zip.inner, a)?;
        }
        Ok(())
    })
}

/// A zip archive being written, with the entry options of the whole archive.
struct Zip<W: Write + Seek> {
    inner: zip::ZipWriter<W>,
    options: zip::write::SimpleFileOptions,
}

impl<W: Write + Seek> Zip<W> {
    fn entry(&mut self, name: &str) -> Result<()> {
        self.inner.start_file(name, self.options).map_err(zip_error)
    }
}

/// Writes a zip archive (entries deflated when `compress`) through `fill`.
fn write_zip<W: Write + Seek>(
    writer: W,
    compress: bool,
    fill: impl FnOnce(&mut Zip<W>) -> Result<()>,
) -> Result<()> {
    let method = if compress {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let mut zip = Zip {
        inner: zip::ZipWriter::new(writer),
        options: zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true),
    };
    fill(&mut zip)?;
    zip.inner.finish().map_err(zip_error)?;
    Ok(())
}

/// Writes named arrays to the `.npz` at `path`, atomically.
pub fn write_npz(
    path: impl AsRef<Path>,
    arrays: &[(&str, &DynArray)],
    compress: bool,
    overwrite: bool,
) -> Result<()> {
    crate::atomic::write_atomic(path.as_ref(), overwrite, |w| write_npz_to(w, arrays, compress))
}

/// Writes a COO as SciPy's sparse `.npz` (COO format): `scipy.sparse.load_npz` loads it.
/// Coordinates are int32 when every axis fits, int64 otherwise; 2-D arrays use `row`/`col`,
/// others SciPy's n-d `coords`.
pub fn write_sparse_npz_to<W: Write + Seek>(writer: W, coo: &DynCoo, compress: bool) -> Result<()> {
    fn go<T: Element, W: Write + Seek>(writer: W, coo: &Coo<T>, compress: bool) -> Result<()> {
        let n = coo.nnz();
        let wide = coo.shape().iter().any(|&d| i32::try_from(d).is_err());
        let axis = |k: usize| -> DynArray {
            let c = coo.coords(k);
            if wide {
                DynArray::from(ndarray::Array1::from_iter((0..n).map(|e| c.get(e) as i64)).into_dyn())
            // < axis length, fits
            } else {
                DynArray::from(ndarray::Array1::from_iter((0..n).map(|e| c.get(e) as i32)).into_dyn())
                // < i32::MAX, checked above
            }
        };
        let data = DynArray::from(ndarray::Array1::from(coo.values().to_vec()).into_dyn());
        let shape =
            DynArray::from(ndarray::Array1::from_iter(coo.shape().iter().map(|&d| d as i64)).into_dyn()); // numpy shapes are int64
        let mut entries: Vec<(String, DynArray)> = Vec::new();
        if coo.shape().len() == 2 {
            entries.push(("row".into(), axis(0)));
            entries.push(("col".into(), axis(1)));
        } else {
            let ndim = coo.shape().len();
            let flat: Vec<i64> = (0..ndim)
                .flat_map(|k| (0..n).map(move |e| coo.coords(k).get(e) as i64)) // < axis length, fits
                .collect();
            let coords = ndarray::Array2::from_shape_vec((ndim, n), flat).expect("ndim x nnz values");
            entries.push(("coords".into(), DynArray::from(coords.into_dyn())));
            entries.push(("_is_array".into(), DynArray::from(ndarray::arr0(true).into_dyn())));
        }
        entries.push(("shape".into(), shape));
        entries.push(("data".into(), data));
        write_zip(writer, compress, |zip| {
            zip.entry("format.npy")?;
            npy::write_npy_bytes_to(&mut zip.inner, b"coo")?;
            for (name, a) in &entries {
                zip.entry(&format!("{name}.npy"))?;
                npy::write_npy_to(&mut zip.inner, a)?;
            }
            Ok(())
        })
    }
    crate::with_dyn_coo!(coo, c => go(writer, c, compress))
}

/// Writes a COO to the SciPy `.npz` at `path`, atomically.
pub fn write_sparse_npz(path: impl AsRef<Path>, coo: &DynCoo, compress: bool, overwrite: bool) -> Result<()> {
    crate::atomic::write_atomic(path.as_ref(), overwrite, |w| {
        write_sparse_npz_to(w, coo, compress)
    })
}

/// The dtype of SciPy's index arrays for a shape (int32 when every axis fits).
pub fn scipy_index_dtype(shape: &[usize]) -> DType {
    if shape.iter().all(|&d| i32::try_from(d).is_ok()) {
        DType::I32
    } else {
        DType::I64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn sparse_round_trip(coo: DynCoo) {
        let mut buf = Cursor::new(Vec::new());
        write_sparse_npz_to(&mut buf, &coo, false).unwrap();
        buf.set_position(0);
        assert_eq!(read_npz_from(buf).unwrap(), Npz::Sparse(coo));
    }

    #[test]
    fn sparse_archives_round_trip() {
        let c = Coo::new(vec![3, 4], vec![vec![0, 2], vec![1, 3]], vec![1.5f64, -0.0], 0.0);
        sparse_round_trip(c.into());
        let c = Coo::new(
            vec![2, 3, 4],
            vec![vec![0, 1], vec![2, 0], vec![1, 1]],
            vec![7u8, 9],
            0,
        );
        sparse_round_trip(c.into());
        let c = Coo::new(
            vec![3_000_000_000, 2],
            vec![vec![2_999_999_999], vec![1]],
            vec![true],
            false,
        );
        sparse_round_trip(c.into());
    }

    #[test]
    fn unknown_scipy_formats_are_errors() {
        let mut arrays = BTreeMap::new();
        arrays.insert(
            "shape".to_string(),
            DynArray::from(ndarray::arr1(&[2i64, 2]).into_dyn()),
        );
        arrays.insert(
            "data".to_string(),
            DynArray::from(ndarray::arr1(&[1.0f64]).into_dyn()),
        );
        let e = sparse_from_scipy(b"dia", arrays).unwrap_err();
        assert!(e.to_string().contains("'dia' is not supported"), "{e}");
    }

    #[test]
    fn csr_expands_rows() {
        let mut arrays = BTreeMap::new();
        arrays.insert(
            "shape".to_string(),
            DynArray::from(ndarray::arr1(&[3i64, 3]).into_dyn()),
        );
        arrays.insert(
            "data".to_string(),
            DynArray::from(ndarray::arr1(&[1i16, 2, 3]).into_dyn()),
        );
        arrays.insert(
            "indptr".to_string(),
            DynArray::from(ndarray::arr1(&[0i32, 2, 2, 3]).into_dyn()),
        );
        arrays.insert(
            "indices".to_string(),
            DynArray::from(ndarray::arr1(&[2i32, 0, 1]).into_dyn()),
        );
        let DynCoo::I16(c) = sparse_from_scipy(b"csr", arrays).unwrap() else {
            panic!()
        };
        assert_eq!(c.values(), &[2, 1, 3], "sorted within the row");
        assert_eq!((c.coords(0).get(2), c.coords(1).get(2)), (2, 1));
    }

    /// An archive of one array `a` of 64 bytes 0xab, and the CRC-32 of its member.
    fn archive(compress: bool) -> (Vec<u8>, u32) {
        let a = DynArray::from(ndarray::Array1::from_elem(64, 0xabu8).into_dyn());
        let mut member = Vec::new();
        npy::write_npy_to(&mut member, &a).unwrap();
        let mut zip = Cursor::new(Vec::new());
        write_npz_to(&mut zip, &[("a", &a)], compress).unwrap();
        (zip.into_inner(), crc32fast::hash(&member))
    }

    fn read_error(zip: Vec<u8>) -> Error {
        read_npz_from(Cursor::new(zip)).unwrap_err()
    }

    #[test]
    fn a_stored_member_with_a_flipped_byte_is_a_bad_crc() {
        let (mut zip, crc) = archive(false);
        assert!(read_npz_from(Cursor::new(zip.clone())).is_ok());
        let at = zip
            .windows(64)
            .position(|w| w.iter().all(|&b| b == 0xab))
            .unwrap()
            + 10;
        zip[at] ^= 0x01;
        let e = read_error(zip.clone());
        let Error::BadCrc {
            member,
            recorded,
            found,
        } = &e
        else {
            panic!("{e}")
        };
        assert_eq!((member.as_str(), *recorded), ("a.npy", crc));
        assert_ne!(*found, crc);
        assert!(e.to_string().contains(&format!("{crc:#010x}")), "{e}");
        // A flipped byte of the header is a bad CRC too, not a confusing header error.
        let (mut zip, _) = archive(false);
        let at = zip.windows(6).position(|w| w == b"'descr").unwrap() + 1;
        zip[at] = b'x';
        assert!(matches!(read_error(zip), Error::BadCrc { .. }));
    }

    #[test]
    fn a_deflated_member_is_checked_too() {
        let (mut zip, crc) = archive(true);
        assert!(read_npz_from(Cursor::new(zip.clone())).is_ok());
        // The recorded CRC, in the local header and in the central directory.
        let le = crc.to_le_bytes();
        let mut n = 0;
        while let Some(at) = zip.windows(4).position(|w| w == le) {
            zip[at..at + 4].copy_from_slice(&(crc ^ 1).to_le_bytes());
            n += 1;
        }
        assert!(n >= 1);
        let e = read_error(zip);
        assert!(
            matches!(e, Error::BadCrc { recorded, found, .. } if recorded == crc ^ 1 && found == crc),
            "{e}"
        );
    }
}
