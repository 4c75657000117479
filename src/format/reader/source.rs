// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Where the reader gets image bytes from.
//!
//! [`BlockSource`] is what the reader is generic over (page-cache folios in the kernel, an
//! in-memory copy in the tools: `SliceSource`); [`Bytes`] is a range borrowed from one
//! block; `Cursor` keeps the last block it used so that a run of small reads from one block
//! (an inode, then its xattrs) gets it from the source once. [`Image::bytes`],
//! [`Image::read_exact_at`] and [`Image::read_exact_many`] are the image's raw byte reads.

use core::ops::Deref;

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

use super::Image;

/// Source of 4096-byte image blocks.
pub trait BlockSource {
    /// A borrowed view of one block (the kernel returns a guard that keeps a folio mapped).
    type Block<'a>: Deref<Target = [u8]>
    where
        Self: 'a;

    /// Returns block `blkaddr`; an error if it lies past the end of the image.
    ///
    /// The last block may be short (an image size that is not a multiple of 4096): return
    /// what exists. The reader never asks for a block at or past `ceil(size() / 4096)` and
    /// checks the length of what it gets.
    fn block(&self, blkaddr: u32) -> Result<Self::Block<'_>>;

    /// Image size in bytes.
    fn size(&self) -> u64;
}

/// A [`BlockSource`] over an image held in memory (a `Vec`, an mmap, a test array).
#[cfg(cfs_tools)]
#[derive(Clone, Copy, Debug)]
pub struct SliceSource<'d> {
    data: &'d [u8],
}

#[cfg(cfs_tools)]
impl<'d> SliceSource<'d> {
    /// Wraps `data`, the whole image.
    pub fn new(data: &'d [u8]) -> Self {
        Self { data }
    }
}

#[cfg(cfs_tools)]
impl BlockSource for SliceSource<'_> {
    type Block<'a>
        = &'a [u8]
    where
        Self: 'a;

    fn block(&self, blkaddr: u32) -> Result<&[u8]> {
        let start = (blkaddr as usize)
            .checked_mul(BLOCK_SIZE)
            .ok_or(FormatError::Overflow)?;
        let rest = self.data.get(start..).ok_or(FormatError::OutOfRange)?;
        if rest.is_empty() {
            return Err(FormatError::OutOfRange);
        }
        Ok(rest.get(..BLOCK_SIZE).unwrap_or(rest))
    }

    fn size(&self) -> u64 {
        self.data.len() as u64
    }
}

impl<T: BlockSource + ?Sized> BlockSource for &T {
    type Block<'a>
        = T::Block<'a>
    where
        Self: 'a;

    fn block(&self, blkaddr: u32) -> Result<T::Block<'_>> {
        (**self).block(blkaddr)
    }

    fn size(&self) -> u64 {
        (**self).size()
    }
}

/// A byte range inside one block of the image, borrowed from the block source.
pub struct Bytes<'a, S: BlockSource + 'a> {
    block: S::Block<'a>,
    start: usize,
    end: usize,
}

impl<'a, S: BlockSource + 'a> Deref for Bytes<'a, S> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.block.get(self.start..self.end).unwrap_or(&[])
    }
}

/// Splits an image offset into (block address, offset in block).
fn split_offset(off: u64) -> Result<(u32, usize)> {
    let blk = u32::try_from(off >> BLOCK_BITS).map_err(|_| FormatError::Overflow)?;
    // The remainder is below 4096.
    Ok((blk, (off & (BLOCK_SIZE_U64 - 1)) as usize))
}

/// Reads of image bytes that keep the last block they used, so that a run of small reads from
/// one block (an inode and its xattrs) gets it from the source once. At most one block is held
/// at a time, and it is released before the next one is got.
pub(super) struct Cursor<'a, S: BlockSource> {
    src: &'a S,
    size: u64,
    cur: Option<(u32, S::Block<'a>)>,
}

impl<'a, S: BlockSource + 'a> Cursor<'a, S> {
    pub(super) fn new(img: &'a Image<S>) -> Self {
        Self {
            src: &img.src,
            size: img.size,
            cur: None,
        }
    }

    /// Copies `buf.len()` bytes from image offset `off` into `buf`, across blocks if needed.
    pub(super) fn read_exact_at(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
        let total = u64::try_from(buf.len()).map_err(|_| FormatError::Overflow)?;
        let end = off.checked_add(total).ok_or(FormatError::Overflow)?;
        if end > self.size {
            return Err(FormatError::OutOfRange);
        }
        let mut pos = off;
        let mut rest = buf;
        while !rest.is_empty() {
            let (blk, start) = split_offset(pos)?;
            let n = rest.len().min(BLOCK_SIZE - start);
            let src = self
                .block(blk)?
                .get(start..start + n)
                .ok_or(FormatError::OutOfRange)?;
            let (dst, tail) = rest.split_at_mut(n);
            dst.copy_from_slice(src);
            rest = tail;
            pos += n as u64;
        }
        Ok(())
    }

    /// The `len` bytes at image offset `off`, borrowed from the block that holds them, which
    /// they must not cross (see [`crosses_block`]).
    pub(super) fn slice(&mut self, off: u64, len: usize) -> Result<&[u8]> {
        let end = off
            .checked_add(u64::try_from(len).map_err(|_| FormatError::Overflow)?)
            .ok_or(FormatError::Overflow)?;
        if end > self.size {
            return Err(FormatError::OutOfRange);
        }
        let (blk, start) = split_offset(off)?;
        let end = start.checked_add(len).ok_or(FormatError::Overflow)?;
        self.block(blk)?
            .get(start..end)
            .ok_or(FormatError::OutOfRange)
    }

    /// Block `blk`, got from the source unless it is the one held.
    fn block(&mut self, blk: u32) -> Result<&S::Block<'a>> {
        if !matches!(&self.cur, Some((b, _)) if *b == blk) {
            // Release the block held before getting the next one.
            self.cur = None;
            self.cur = Some((blk, self.src.block(blk)?));
        }
        match &self.cur {
            Some((_, b)) => Ok(b),
            None => Err(FormatError::OutOfRange),
        }
    }
}

/// Whether the `len` bytes at image offset `off` span more than one block.
pub(super) fn crosses_block(off: u64, len: usize) -> bool {
    len > 0 && (off & (BLOCK_SIZE_U64 - 1)) as usize + len > BLOCK_SIZE
}

impl<S: BlockSource> Image<S> {
    /// Returns `len` bytes at image offset `off`, which must lie within one block.
    pub fn bytes(&self, off: u64, len: usize) -> Result<Bytes<'_, S>> {
        let (blk, start) = split_offset(off)?;
        let end = start.checked_add(len).ok_or(FormatError::Overflow)?;
        if end > BLOCK_SIZE {
            return Err(FormatError::InlineCrossesBlock);
        }
        let block = self.src.block(blk)?;
        if end > block.len() {
            return Err(FormatError::OutOfRange);
        }
        Ok(Bytes { block, start, end })
    }

    /// Copies `buf.len()` bytes from image offset `off` into `buf`, across blocks if needed.
    pub fn read_exact_at(&self, off: u64, buf: &mut [u8]) -> Result<()> {
        Cursor::new(self).read_exact_at(off, buf)
    }

    /// Copies the image bytes at each offset into its buffer, as [`Image::read_exact_at`]
    /// does for each, through one cursor: reads from one block (an inode's xattr values) get
    /// it once.
    pub fn read_exact_many<const N: usize>(&self, reads: [(u64, &mut [u8]); N]) -> Result<()> {
        let mut cur = Cursor::new(self);
        for (off, buf) in reads {
            cur.read_exact_at(off, buf)?;
        }
        Ok(())
    }
}
