//! The content hash: a hash of an array's logical values, recorded by the writer and compared
//! after every full read, so that a value decoded wrongly (by a bug in a decoder or a transform,
//! which no checksum of the stored bytes can see) is an error, not a result.
//!
//! # Spec card (format 1.3)
//! Under `content_hash` in the self-description:
//! ```json
//! "content_hash": {"algorithm": "xxh3-64", "of": "cells", "value": "0123456789abcdef"}
//! ```
//! - `of: "cells"` (dense and runs files): the array's cells in C order (row-major, whatever
//!   the memory order), each as the little-endian bytes of the dtype (`bool` one byte, 0 or 1),
//!   cut into blocks of 65,536 cells (the last one shorter). Block `i` hashes to XXH3-64 of its
//!   bytes with seed `i`; the values' hash is XXH3-64 (seed 0) of the block hashes as
//!   little-endian 64-bit integers, in order (of no bytes for an array of no cells).
//! - `of: "entries"` (sparse files): the wrapping sum, over the entries, of XXH3-64 of the
//!   value's little-endian bytes with the entry's flat C-order index as the seed. The sum does
//!   not depend on the order the entries are stored in.
//! - `value` is XXH3-64 (seed 0) of the shape's lengths followed by the values' hash, each a
//!   little-endian 64-bit integer, as 16 lowercase hex digits: the same cells under another
//!   shape are another array. A reader that decodes every value compares; a file
//!   without `content_hash` (format 1.2) is read as it is.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::coo::Coo;
use crate::dtype::Element;
use crate::error::{Error, Result};

/// The cells in a block of the cell hash.
pub const BLOCK_CELLS: usize = 1 << 16;

/// Hashes of blocks of cells, by block index.
pub(crate) type BlockHashes = Vec<(usize, u64)>;

/// The hash algorithm.
pub const ALGORITHM: &str = "xxh3-64";

/// A recorded content hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentHash {
    /// `"xxh3-64"`.
    pub algorithm: String,
    /// `"cells"` or `"entries"`.
    pub of: String,
    /// 16 hex digits.
    pub value: String,
}

impl ContentHash {
    /// The hash of an array of `shape` whose cells hash to `inner`.
    pub(crate) fn cells(shape: &[u64], inner: u64) -> ContentHash {
        ContentHash::new("cells", finish(shape, inner))
    }

    /// The hash of a sparse array of `shape` whose entries hash to `inner`.
    pub(crate) fn entries(shape: &[u64], inner: u64) -> ContentHash {
        ContentHash::new("entries", finish(shape, inner))
    }

    fn new(of: &str, value: u64) -> ContentHash {
        ContentHash {
            algorithm: ALGORITHM.into(),
            of: of.into(),
            value: format!("{value:016x}"),
        }
    }

    /// Checks that the values read, of kind `of`, of an array of `shape`, hash to `inner`. A
    /// hash of another algorithm or kind is not this reader's to check (a later minor version
    /// may add some).
    pub(crate) fn check(&self, of: &'static str, shape: &[u64], inner: u64) -> Result<()> {
        if self.algorithm != ALGORITHM || self.of != of {
            return Ok(());
        }
        let found = finish(shape, inner);
        let recorded = u64::from_str_radix(&self.value, 16)
            .ok()
            .filter(|_| self.value.len() == 16)
            .ok_or_else(|| {
                Error::CorruptMetadata(format!(
                    "content_hash value '{}' is not 16 hex digits",
                    self.value
                ))
            })?;
        if recorded != found {
            return Err(Error::ContentMismatch {
                what: of,
                recorded,
                found,
            });
        }
        Ok(())
    }
}

/// The recorded value: XXH3-64 of the shape's lengths and the values' hash `inner`, each a
/// little-endian 64-bit integer.
fn finish(shape: &[u64], inner: u64) -> u64 {
    let bytes: Vec<u8> = shape
        .iter()
        .chain([&inner])
        .flat_map(|v| v.to_le_bytes())
        .collect();
    xxh3_64(&bytes)
}

/// The bytes of `values`, little-endian.
fn le_bytes<'a, T: Element>(values: &'a [T], buf: &'a mut Vec<u8>) -> &'a [u8] {
    #[cfg(target_endian = "little")]
    {
        let _ = buf;
        // SAFETY: the element types are bool and primitive integers and floats: no padding,
        // every byte initialized, alignment 1 suffices for u8; on a little-endian target their
        // memory is their little-endian bytes.
        unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values)) }
    }
    #[cfg(not(target_endian = "little"))]
    {
        buf.clear();
        crate::dtype::put_le(buf, values);
        buf
    }
}

/// The hash of block `index` of cells.
fn block_hash<T: Element>(index: usize, cells: &[T], buf: &mut Vec<u8>) -> u64 {
    xxh3_64_with_seed(le_bytes(cells, buf), index as u64) // usize fits in u64
}

/// The hash of cells from their block hashes, in order.
fn combine(blocks: &[u64]) -> u64 {
    let bytes: Vec<u8> = blocks.iter().flat_map(|h| h.to_le_bytes()).collect();
    xxh3_64(&bytes)
}

/// Block hashes of cells that arrive in C order in chunks of any size (as values or as their
/// little-endian bytes), from a cell that starts a block.
#[derive(Debug)]
pub(crate) struct CellHasher {
    block_bytes: usize,
    next_block: usize,
    pending: Vec<u8>,
    hashes: BlockHashes,
    buf: Vec<u8>,
}

impl CellHasher {
    /// A hasher for cells of `T` from cell `start`, a multiple of [`BLOCK_CELLS`].
    pub(crate) fn new<T: Element>(start: usize) -> CellHasher {
        assert!(
            start.is_multiple_of(BLOCK_CELLS),
            "cell {start} does not start a block"
        );
        CellHasher {
            block_bytes: BLOCK_CELLS * T::DTYPE.size(),
            next_block: start / BLOCK_CELLS,
            pending: Vec::new(),
            hashes: Vec::new(),
            buf: Vec::new(),
        }
    }

    /// The next cells.
    pub(crate) fn push<T: Element>(&mut self, cells: &[T]) {
        let mut buf = std::mem::take(&mut self.buf);
        self.push_bytes(le_bytes(cells, &mut buf));
        self.buf = buf;
    }

    /// The next cells, as their little-endian bytes.
    pub(crate) fn push_bytes(&mut self, mut bytes: &[u8]) {
        if !self.pending.is_empty() {
            let take = (self.block_bytes - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() < self.block_bytes {
                return;
            }
            let h = xxh3_64_with_seed(&self.pending, self.next_block as u64); // usize fits in u64
            self.hashes.push((self.next_block, h));
            self.next_block += 1;
            self.pending.clear();
        }
        let mut blocks = bytes.chunks_exact(self.block_bytes);
        for block in &mut blocks {
            let h = xxh3_64_with_seed(block, self.next_block as u64); // usize fits in u64
            self.hashes.push((self.next_block, h));
            self.next_block += 1;
        }
        self.pending.extend_from_slice(blocks.remainder());
    }

    /// The block hashes, by block index, the last block hashed as it stands.
    pub(crate) fn finish(self) -> BlockHashes {
        let mut hashes = self.hashes;
        if !self.pending.is_empty() {
            hashes.push((
                self.next_block,
                xxh3_64_with_seed(&self.pending, self.next_block as u64),
            )); // usize fits in u64
        }
        hashes
    }
}

/// The cell hash from the block hashes of every part (in any order).
pub(crate) fn cells_from_blocks(mut blocks: BlockHashes) -> u64 {
    blocks.sort_unstable_by_key(|(i, _)| *i);
    combine(&blocks.iter().map(|(_, h)| *h).collect::<Vec<_>>())
}

/// The cell hash of `cells` (all the array's cells in C order), given the hashes of some of
/// its blocks already taken (by the threads that decoded them): the others are hashed here.
pub(crate) fn hash_cells_with<T: Element>(cells: &[T], known: BlockHashes) -> u64 {
    let mut blocks: Vec<Option<u64>> = vec![None; cells.len().div_ceil(BLOCK_CELLS)];
    for (b, h) in known {
        if let Some(slot) = blocks.get_mut(b) {
            *slot = Some(h);
        }
    }
    let mut buf = Vec::new();
    let hashes: Vec<u64> = blocks
        .iter()
        .enumerate()
        .map(|(b, h)| {
            h.unwrap_or_else(|| {
                block_hash(
                    b,
                    &cells[b * BLOCK_CELLS..((b + 1) * BLOCK_CELLS).min(cells.len())],
                    &mut buf,
                )
            })
        })
        .collect();
    combine(&hashes)
}

/// The term of one entry in the entry hash.
pub(crate) fn entry_term<T: Element>(flat_index: u64, value: T) -> u64 {
    let mut buf = Vec::new();
    xxh3_64_with_seed(le_bytes(std::slice::from_ref(&value), &mut buf), flat_index)
}

/// The entry hash of a COO (its entries in any order), summed on every core.
pub(crate) fn hash_entries<T: Element>(coo: &Coo<T>) -> Result<u64> {
    let shape = coo.shape();
    let mut strides = vec![1u64; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        // The shape's cells fit in u64 (checked at write and open), so every stride does.
        strides[axis] = strides[axis + 1].wrapping_mul(shape[axis + 1] as u64); // usize fits in u64
    }
    let n = coo.nnz();
    let threads = crate::par::threads();
    let parts = threads.min(n.div_ceil(BLOCK_CELLS)).max(1);
    let sums = crate::par::map_indices(parts, |p| {
        let mut sum = 0u64;
        for i in n * p / parts..n * (p + 1) / parts {
            let mut flat = 0u64;
            for (axis, stride) in strides.iter().enumerate() {
                flat = flat.wrapping_add(coo.coords(axis).get(i).wrapping_mul(*stride));
            }
            sum = sum.wrapping_add(entry_term(flat, coo.values()[i]));
        }
        Ok(sum)
    })?;
    Ok(sums.into_iter().fold(0, u64::wrapping_add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_hash_does_not_depend_on_how_the_cells_arrive() {
        let cells: Vec<u16> = (0..200_000u32).map(|i| (i * 7 % 65_521) as u16).collect();
        let whole = hash_cells_with(&cells, Vec::new());
        for chunk in [1, 1000, BLOCK_CELLS, BLOCK_CELLS + 3, 150_000] {
            let mut h = CellHasher::new::<u16>(0);
            for c in cells.chunks(chunk) {
                h.push(c);
            }
            assert_eq!(cells_from_blocks(h.finish()), whole, "chunks of {chunk}");
        }
        // Two parts split at a block boundary, merged in either order.
        let (a, b) = cells.split_at(2 * BLOCK_CELLS);
        let mut first = CellHasher::new::<u16>(0);
        first.push(a);
        let mut second = CellHasher::new::<u16>(2 * BLOCK_CELLS);
        second.push(b);
        let mut blocks = second.finish();
        blocks.extend(first.finish());
        assert_eq!(cells_from_blocks(blocks), whole);
        // One changed bit changes it.
        let mut other = cells.clone();
        other[123_456] ^= 1;
        assert_ne!(hash_cells_with(&other, Vec::new()), whole);
        // Blocks hashed elsewhere are taken as given.
        let mut h = CellHasher::new::<u16>(0);
        h.push(&cells[..BLOCK_CELLS]);
        assert_eq!(hash_cells_with(&cells, h.finish()), whole);
    }

    #[test]
    fn checks_compare_only_their_own_kind() {
        let h = ContentHash::cells(&[2, 3], 0x1234);
        h.check("cells", &[2, 3], 0x1234).unwrap();
        h.check("entries", &[2, 3], 99).unwrap();
        let e = h.check("cells", &[2, 3], 0x1235).unwrap_err().to_string();
        assert!(
            e.starts_with("content hash mismatch: the cells read hash to "),
            "{e}"
        );
        // The same values under another shape are another array.
        assert!(h.check("cells", &[3, 2], 0x1234).is_err());
    }
}
