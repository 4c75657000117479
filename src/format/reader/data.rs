// SPDX-License-Identifier: GPL-2.0 OR MIT

//! File data (the counterpart of fs/erofs/data.c): where each byte of a file lies in the
//! image, for flat inodes (plain blocks and the inline tail) and chunk-based ones (chunk
//! array entries, null chunks read as holes), and reads through that mapping.

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

use super::inode::{DataLayout, Inode};
use super::source::BlockSource;
#[cfg(cfs_tools)]
use super::source::Bytes;
use super::Image;

/// A run of file data, as [`Image::for_each_data`] gives it.
#[derive(Clone, Copy, Debug)]
pub enum DataRun<'a> {
    /// Bytes stored in the image, borrowed from the block that holds them.
    Bytes(&'a [u8]),
    /// This many bytes of a hole (a null chunk), which read as zeros.
    Zeros(usize),
}

impl<S: BlockSource> Image<S> {
    /// Returns the inline tail of a flat-inline inode as a borrowed slice (it never crosses a
    /// block), or `None` for other layouts.
    #[cfg(cfs_tools)]
    pub fn inline_data(&self, inode: &Inode) -> Result<Option<Bytes<'_, S>>> {
        if inode.layout != DataLayout::FlatInline || inode.tail_len == 0 {
            return Ok(None);
        }
        self.bytes(inode.tail_offset, inode.tail_len as usize)
            .map(Some)
    }

    /// Image offset and length of the part of the file data that lies in the same block as
    /// file offset `pos` (flat layouts only), or `None` at or past the end of the file.
    pub(super) fn flat_extent(&self, inode: &Inode, pos: u64) -> Result<Option<(u64, usize)>> {
        if pos >= inode.size {
            return Ok(None);
        }
        let blk = pos >> BLOCK_BITS;
        let in_blk = pos & (BLOCK_SIZE_U64 - 1);
        let left = inode.size - pos;
        if blk < inode.plain_blocks() {
            let start = u64::from(inode.raw_u)
                .checked_add(blk)
                .and_then(|b| b.checked_mul(BLOCK_SIZE_U64))
                .and_then(|o| o.checked_add(in_blk))
                .ok_or(FormatError::Overflow)?;
            let n = left.min(BLOCK_SIZE_U64 - in_blk);
            Ok(Some((start, n as usize)))
        } else if inode.layout == DataLayout::FlatInline {
            let start = inode
                .tail_offset
                .checked_add(in_blk)
                .ok_or(FormatError::Overflow)?;
            let n = left.min(u64::from(inode.tail_len).saturating_sub(in_blk));
            if n == 0 {
                return Err(FormatError::BadSize);
            }
            Ok(Some((start, n as usize)))
        } else {
            Err(FormatError::BadSize)
        }
    }

    /// Gives the file's data from file offset `pos` on, up to `len` bytes, to `take` a run
    /// at a time (each within one image block: bytes borrowed from the image, or a hole's
    /// zeros). `take` returns how much of the run it took; less than all of it ends the read.
    /// Returns the number of bytes taken (short at the end of the file).
    ///
    /// Flat layouts give their blocks and inline tail; chunk-based inodes give holes (null
    /// chunks) as zeros and mapped chunks from their blocks.
    pub fn for_each_data(
        &self,
        inode: &Inode,
        pos: u64,
        len: usize,
        mut take: impl FnMut(DataRun<'_>) -> usize,
    ) -> Result<usize> {
        let mut done = 0usize;
        while done < len {
            let cur = pos.checked_add(done as u64).ok_or(FormatError::Overflow)?;
            let extent = match inode.layout {
                DataLayout::ChunkBased => self.chunk_extent(inode, cur)?,
                _ => self.flat_extent(inode, cur)?.map(|(o, n)| (Some(o), n)),
            };
            let Some((src, n)) = extent else { break };
            let n = n.min(len - done);
            // Extents lie within one block (`flat_extent`, `chunk_extent`).
            let took = match src {
                Some(off) => take(DataRun::Bytes(&self.bytes(off, n)?)),
                None => take(DataRun::Zeros(n)),
            };
            done += took.min(n);
            if took < n {
                break;
            }
        }
        Ok(done)
    }

    /// Reads file data from file offset `pos` into `buf`; returns the number of bytes read
    /// (short only at the end of the file). See [`Image::for_each_data`].
    pub fn read_data(&self, inode: &Inode, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let mut at = 0usize;
        self.for_each_data(inode, pos, buf.len(), |run| {
            let n = match run {
                DataRun::Bytes(b) => b.len(),
                DataRun::Zeros(n) => n,
            };
            let Some(dst) = buf.get_mut(at..at.saturating_add(n)) else {
                return 0;
            };
            match run {
                DataRun::Bytes(b) => dst.copy_from_slice(b),
                DataRun::Zeros(_) => dst.fill(0),
            }
            at += n;
            n
        })
    }

    /// Copies the target of a symlink into `buf` and returns its length.
    #[cfg(cfs_tools)]
    pub fn symlink_target(&self, inode: &Inode, buf: &mut [u8]) -> Result<usize> {
        if !inode.is_symlink() {
            return Err(FormatError::BadMode);
        }
        let len = inode.size as usize; // below 4096, checked at decode
        let dst = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
        if self.read_data(inode, 0, dst)? != len {
            return Err(FormatError::BadSize);
        }
        Ok(len)
    }

    /// Block address of chunk `index` of a chunk-based inode; `None` for a hole.
    pub fn chunk_addr(&self, inode: &Inode, index: u64) -> Result<Option<u32>> {
        let info = inode.chunk_info().ok_or(FormatError::BadLayout)?;
        if index >= info.count {
            return Err(FormatError::OutOfRange);
        }
        let off = index
            .checked_mul(info.entry_size)
            .and_then(|o| o.checked_add(info.array_offset))
            .ok_or(FormatError::Overflow)?;
        let mut e = [0u8; 8];
        let entry = e.get_mut(..info.entry_size as usize).unwrap_or(&mut []);
        self.read_exact_at(off, entry)?;
        let addr = if info.entry_size == 8 {
            // erofs_inode_chunk_index: startblk_hi (16), device_id (16), startblk_lo (32).
            if get_u16(&e, 0) != 0 || get_u16(&e, 2) != 0 {
                if get_u32(&e, 4) == EROFS_NULL_ADDR {
                    return Ok(None);
                }
                return Err(FormatError::BadChunkFormat);
            }
            get_u32(&e, 4)
        } else {
            get_u32(&e, 0)
        };
        if addr == EROFS_NULL_ADDR {
            return Ok(None);
        }
        Ok(Some(addr))
    }

    /// Where the data at file offset `pos` of a chunk-based inode lies: `(Some(image offset)
    /// or None for a hole, length within the block)`.
    fn chunk_extent(&self, inode: &Inode, pos: u64) -> Result<Option<(Option<u64>, usize)>> {
        if pos >= inode.size {
            return Ok(None);
        }
        let info = inode.chunk_info().ok_or(FormatError::BadLayout)?;
        let chunk = pos >> info.chunkbits;
        let in_chunk = pos & ((1u64 << info.chunkbits) - 1);
        let in_blk = pos & (BLOCK_SIZE_U64 - 1);
        let n = (inode.size - pos).min(BLOCK_SIZE_U64 - in_blk) as usize;
        match self.chunk_addr(inode, chunk)? {
            None => Ok(Some((None, n))),
            Some(addr) => {
                let off = u64::from(addr)
                    .checked_mul(BLOCK_SIZE_U64)
                    .and_then(|o| o.checked_add(in_chunk))
                    .ok_or(FormatError::Overflow)?;
                Ok(Some((Some(off), n)))
            }
        }
    }

    /// Whether every chunk of a chunk-based inode is a hole (as composefs writers produce
    /// for files whose data lives in a backing object).
    #[cfg(cfs_tools)]
    pub fn chunks_all_null(&self, inode: &Inode) -> Result<bool> {
        let info = inode.chunk_info().ok_or(FormatError::BadLayout)?;
        for i in 0..info.count {
            if self.chunk_addr(inode, i)?.is_some() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
