//! Exporting a stored array as an `.npy` file: streamed, a few row groups or a batch of runs
//! at a time, for a dense or runs array in C order; read whole and written otherwise.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use parquet::file::reader::ChunkReader;

use crate::content::{cells_from_blocks, CellHasher};
use crate::dtype::Element;
use crate::dynarray::Order;
use crate::error::{Error, Result, ResultExt};
use crate::integrity::Verifier;
use crate::meta::{ArrayMeta, StoredLayout};
use crate::npy::NpyWriter;
use crate::with_dtype;

use super::{decode_row_group, ArrayFile};

impl<R: ChunkReader + 'static> ArrayFile<R> {
    /// Writes the array to `writer` as an `.npy` file, the same bytes as
    /// [`read_dyn`](ArrayFile::read_dyn) then [`npy::write_npy_to`](crate::npy::write_npy_to),
    /// but a dense C-order file opened from a path is streamed (its row groups are decoded a few
    /// at a time, one per core, and written in order) and so is a C-order runs file (its runs
    /// are expanded a batch at a time), so memory does not grow with the array.
    /// After an error, part of the array may have been written to `writer`;
    /// [`write_npy`](ArrayFile::write_npy) writes a file atomically.
    ///
    /// ```no_run
    /// arrstore::ArrayFile::open("counts.parquet")?.write_npy("counts.npy", false)?;
    /// # Ok::<(), arrstore::Error>(())
    /// ```
    pub fn write_npy_to<W: Write>(self, mut writer: W) -> Result<()> {
        if self.meta.layout == StoredLayout::Runs && self.npy_is_streamed() {
            return with_dtype!(self.meta.dtype, T => self.stream_runs_npy::<T, W>(&mut writer));
        }
        if let Some(path) = self.path.as_deref().filter(|_| self.npy_is_streamed()) {
            let threads = crate::par::threads();
            return with_dtype!(self.meta.dtype, T => {
                stream_dense_npy::<T, W>(path, self.reader.verifier(), &self.meta, &self.parquet, threads, &mut writer)
            });
        }
        let array = self.read_dyn()?;
        crate::npy::write_npy_to(writer, &array)
    }

    /// Whether [`write_npy_to`](ArrayFile::write_npy_to) streams this file (a dense C-order
    /// file opened from a path, or a C-order runs file) rather than reading the whole array
    /// first.
    pub fn npy_is_streamed(&self) -> bool {
        self.meta.order == Order::C
            && match self.meta.layout {
                StoredLayout::Dense => self.path.is_some(),
                StoredLayout::Runs => true,
                StoredLayout::Sparse => false,
            }
    }

    /// [`write_npy_to`](ArrayFile::write_npy_to) the `.npy` file at `path`, atomically (see
    /// [`crate::atomic::write_atomic`]); an existing file is replaced only with `overwrite`.
    pub fn write_npy(self, path: impl AsRef<Path>, overwrite: bool) -> Result<()> {
        crate::atomic::write_atomic(path.as_ref(), overwrite, |w| self.write_npy_to(w))
    }

    /// Writes a C-order runs file as an `.npy` file, expanding its runs a batch at a time.
    fn stream_runs_npy<T: Element, W: Write>(self, writer: &mut W) -> Result<()> {
        let shape = self.meta.shape_usize().in_file(self.path.as_deref())?;
        let mut out = NpyWriter::new(writer, T::DTYPE, &shape)?;
        let n = self.meta.value_column().narrowing();
        let path = self.path.clone();
        let mut bytes = Vec::new();
        let mut hasher = CellHasher::new::<T>(0);
        let (meta, _) = self.expand_runs::<T>(&n, false, |cells| {
            cells.drain(|c| {
                bytes.clear();
                crate::dtype::put_le(&mut bytes, c);
                hasher.push_bytes(&bytes);
                out.write_encoded::<T>(&bytes, c.len())
            })
        })?;
        if let Some(h) = &meta.content_hash {
            h.check("cells", &meta.shape, cells_from_blocks(hasher.finish()))
                .in_file(path.as_deref())?;
        }
        out.finish()?;
        Ok(())
    }
}

/// Writes the dense C-order file at `path` as an `.npy` to `writer` without holding the array:
/// row groups are decoded `threads` at a time and written in order.
fn stream_dense_npy<T: Element, W: Write>(
    path: &Path,
    verifier: Option<&Arc<Verifier>>,
    meta: &ArrayMeta,
    parquet: &ArrowReaderMetadata,
    threads: usize,
    writer: &mut W,
) -> Result<()> {
    // Errors of the input name it; the writer's are its caller's to name.
    let input = |e: Error| e.in_file(path);
    let n = meta.value_column().narrowing();
    let cells = meta.cells().map_err(input)?;
    let mut out = NpyWriter::new(writer, T::DTYPE, &meta.shape_usize().map_err(input)?)?;
    let groups: Vec<usize> = (0..parquet.metadata().num_row_groups()).collect();
    let mismatch = |values: u64| {
        input(Error::CorruptData(format!(
            "the row groups hold {values} values, the shape {:?} has {cells} cells",
            meta.shape
        )))
    };
    let mut written = 0u64;
    let mut hasher = CellHasher::new::<T>(0);
    for wave in groups.chunks(threads.max(1)) {
        // Each thread decodes a row group straight into the .npy bytes; this one writes them.
        let decoded: Vec<Result<(u64, Vec<u8>)>> = std::thread::scope(|s| {
            let handles: Vec<_> = wave
                .iter()
                .map(|&i| {
                    let n = &n;
                    let column = meta.value_column();
                    s.spawn(move || -> Result<(u64, Vec<u8>)> {
                        let (mut count, mut bytes) = (0u64, Vec::new());
                        decode_row_group(path, verifier, parquet, n, column, i, &mut |v: &[T]| {
                            count += v.len() as u64; // usize fits in u64
                            crate::dtype::put_le(&mut bytes, v);
                            Ok(())
                        })?;
                        Ok((count, bytes))
                    })
                })
                .collect();
            handles.into_iter().map(crate::par::join).collect()
        });
        for group in decoded {
            let (count, bytes) = group.map_err(input)?;
            written += count;
            if written > cells {
                return Err(mismatch(written));
            }
            hasher.push_bytes(&bytes);
            out.write_encoded::<T>(&bytes, bytes.len() / T::DTYPE.size())?;
        }
    }
    if written != cells {
        return Err(mismatch(written));
    }
    if let Some(h) = &meta.content_hash {
        h.check("cells", &meta.shape, cells_from_blocks(hasher.finish()))
            .map_err(input)?;
    }
    out.finish()?;
    Ok(())
}
