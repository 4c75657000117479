// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Directory lookups (the counterpart of fs/erofs/namei.c).
//!
//! [`Image::lookup`] looks a name up as `erofs_namei` does (name offsets taken as
//! `nameoff_from_disk` takes them, names compared as `erofs_dirnamecmp` compares them), over
//! the directory blocks as EROFS' lookup sees them (`Image::dir_block_for_lookup`), so that
//! lookups in a damaged directory agree with the reference stack's. [`Image::lookup_near`]
//! starts from a [`LookupHint`], the entry the previous lookup found, in directories checked
//! to be well-formed ([`Image::dir_is_sorted`]).

use core::cmp::Ordering;

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

use super::dir::{check_name, DirBlock, DirEntry};
use super::inode::Inode;
use super::source::{BlockSource, Bytes};
use super::Image;

/// The entry a directory lookup found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// nid of the entry's inode.
    pub nid: u64,
    /// `EROFS_FT_*`.
    pub file_type: u8,
    /// The directory block the entry is in.
    pub block: u64,
    /// The entry's index in that block.
    pub index: usize,
}

/// Where a directory lookup starts looking: the block and entry index of the entry the
/// previous lookup in the directory found (see [`Image::lookup_near`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupHint {
    /// Directory block.
    pub block: u64,
    /// Entry index in the block.
    pub index: usize,
}

/// The name offset of entry `index` of a directory block as EROFS reads it in a lookup
/// (`nameoff_from_disk`): modulo the block size.
fn erofs_nameoff(block: &[u8], index: usize) -> Result<usize> {
    let off = index
        .checked_mul(DIRENT_SIZE)
        .ok_or(FormatError::Overflow)?;
    let d = Dirent::parse(block.get(off..).ok_or(FormatError::BadDirent)?)?;
    Ok(usize::from(d.nameoff) & (BLOCK_SIZE - 1))
}

/// The stored name of entry `index` of a directory block of `count` entries as EROFS'
/// lookup bounds it: from its name offset to the next entry's (the end of the block for
/// the last entry); empty if that range is backwards. The name may still end earlier, at a
/// NUL ([`erofs_dirnamecmp`]).
fn erofs_dirname(block: &[u8], index: usize, count: usize) -> Result<&[u8]> {
    let start = erofs_nameoff(block, index)?;
    let end = if index + 1 >= count {
        BLOCK_SIZE
    } else {
        erofs_nameoff(block, index + 1)?
    };
    // Bytes past the image's end (a truncated image) are not there to compare.
    let end = end.min(block.len());
    Ok(block.get(start..end).unwrap_or(&[]))
}

/// EROFS' lookup comparison (`erofs_dirnamecmp`): compares `name` with `stored` (which
/// ends at its first NUL) from byte `*matched` on and sets `*matched` to the length of
/// the common prefix seen. The bytes before `*matched` are not compared: the search only
/// skips a prefix that both of its bounds share, which in a sorted directory every name
/// between them shares too.
fn erofs_dirnamecmp(name: &[u8], stored: &[u8], matched: &mut usize) -> Ordering {
    let mut i = *matched;
    while let Some(&c) = stored.get(i) {
        if c == 0 {
            break;
        }
        // `name` has no NUL; past its end EROFS compares its terminating NUL.
        let q = name.get(i).copied().unwrap_or(0);
        if q != c {
            *matched = i;
            return q.cmp(&c);
        }
        i += 1;
    }
    *matched = i;
    if i >= name.len() {
        Ordering::Equal
    } else {
        Ordering::Greater
    }
}

impl<S: BlockSource> Image<S> {
    /// Looks `name` up in `dir` by binary search over the directory blocks (ordered by their
    /// first name) and then within the block.
    ///
    /// Like EROFS, a lookup validates only what it reads: the entry count of each block it
    /// probes, the bounds of the names it compares, and the entry it returns (file type and nid
    /// range); [`Image::readdir`] validates each entry as it reaches it. A corrupt block can make
    /// a lookup miss or fail, never read out of bounds or loop.
    pub fn lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<(u64, u8)>> {
        Ok(self
            .lookup_near(dir, name, None)?
            .map(|f| (f.nid, f.file_type)))
    }

    /// [`Image::lookup`], starting where `hint` (the entry the previous lookup in `dir` found)
    /// points: lookups of names in directory order, as `ls -l` or `find` make them, then
    /// mostly compare one name, the entry after the hint's, and read one block. In a
    /// well-formed directory ([`Image::dir_is_sorted`]) the answer is the same whatever the
    /// hint; in another it may not be, so callers pass a hint only for a directory checked
    /// to be well-formed.
    pub fn lookup_near(
        &self,
        dir: &Inode,
        name: &[u8],
        hint: Option<LookupHint>,
    ) -> Result<Option<Found>> {
        check_name(name)?;
        let nblocks = self.dir_blocks(dir)?;
        if hint.is_none_or(|h| h.block >= nblocks) {
            return self.erofs_lookup(dir, name);
        }
        let (mut lo, mut hi) = (0u64, nblocks);
        // (block, entry index to try first, whether a miss past the block probes the next)
        let mut probe = hint
            .filter(|h| h.block < hi)
            .map(|h| (h.block, h.index.wrapping_add(1), true));
        while lo < hi {
            let (mid, next, chain) =
                probe
                    .take()
                    .unwrap_or((lo + (hi - lo) / 2, usize::MAX, false));
            let bytes = self.dir_block_bytes(dir, mid)?;
            let b = DirBlock::parse_count(&bytes)?;
            let found = |e: DirEntry<'_>, index| {
                self.check_dirent(&e)?;
                Ok(Some(Found {
                    nid: e.nid,
                    file_type: e.file_type,
                    block: mid,
                    index,
                }))
            };
            // The entry after the hint's, if it is in this block.
            if next < b.len() {
                let e = b.entry_unchecked(next)?;
                if e.name == name {
                    return found(e, next);
                }
            }
            let first = b.entry_unchecked(0)?;
            let last = b.entry_unchecked(b.len() - 1)?;
            if name < first.name {
                hi = mid;
            } else if name > last.name {
                lo = mid + 1;
                // Past the hint's block: most likely the first name of the next one.
                if chain && lo < hi {
                    probe = Some((lo, 0, false));
                }
            } else {
                return match b.search(name)? {
                    Some((i, e)) => found(e, i),
                    None => Ok(None),
                };
            }
        }
        Ok(None)
    }

    /// The bytes of directory block `index` of `dir` as EROFS' lookup sees them in the
    /// directory's page cache: a plain block whole, to the end of the image block holding
    /// it (past the directory's size too: the block is read from the image as it is), cut
    /// at the end of the image; the inline tail only up to the directory's size, since the
    /// page cache holds zeros after it (`iomap_read_inline_data` and EROFS' file-backed
    /// reads fill the rest of the folio with zeros). A name that runs to the end of the
    /// returned bytes is therefore compared as if a NUL followed, as EROFS compares it.
    fn dir_block_for_lookup(&self, dir: &Inode, index: u64) -> Result<Bytes<'_, S>> {
        let pos = index
            .checked_mul(BLOCK_SIZE_U64)
            .ok_or(FormatError::Overflow)?;
        let (off, avail) = self.flat_extent(dir, pos)?.ok_or(FormatError::OutOfRange)?;
        let len = if index < dir.plain_blocks() {
            let block_end = (off | (BLOCK_SIZE_U64 - 1))
                .checked_add(1)
                .ok_or(FormatError::Overflow)?;
            // `off < self.size` (the extent was checked against the image): no underflow.
            block_end.min(self.size).saturating_sub(off)
        } else {
            avail as u64
        };
        self.bytes(
            off,
            usize::try_from(len).map_err(|_| FormatError::Overflow)?,
        )
    }

    /// Looks `name` up as EROFS does (`erofs_namei`, fs/erofs/namei.c): a binary search over
    /// the blocks by their first name, then over the entries of the last block whose first
    /// name sorts before `name`. Name offsets are taken modulo the block size, names end at
    /// a NUL or the next entry's name (the block's end for a block's last one), and each
    /// comparison skips the prefix both bounds of the search already matched. In a sorted
    /// directory this is a plain binary search; in a damaged one it finds what EROFS finds,
    /// so that lookups over the two stacks agree.
    fn erofs_lookup(&self, dir: &Inode, name: &[u8]) -> Result<Option<Found>> {
        if dir.size == 0 {
            return Ok(None);
        }
        let nblocks = self.dir_blocks(dir)?;
        let (mut head, mut back) = (0u64, nblocks);
        let (mut start_prefix, mut end_prefix) = (0usize, 0usize);
        let mut candidate = None;
        // `back` is one past the last block still to search, so that it never goes below 0.
        while head < back {
            let mid = head + (back - head - 1) / 2;
            let bytes = self.dir_block_for_lookup(dir, mid)?;
            let count = erofs_nameoff(&bytes, 0)? / DIRENT_SIZE;
            if count == 0 {
                return Err(FormatError::BadDirent);
            }
            let mut matched = start_prefix.min(end_prefix);
            match erofs_dirnamecmp(name, erofs_dirname(&bytes, 0, count)?, &mut matched) {
                Ordering::Less => {
                    back = mid;
                    end_prefix = matched;
                }
                Ordering::Equal => return self.erofs_found(&bytes, mid, 0).map(Some),
                Ordering::Greater => {
                    head = mid + 1;
                    start_prefix = matched;
                    candidate = Some((mid, count));
                }
            }
        }
        let Some((blk, count)) = candidate else {
            return Ok(None);
        };
        let bytes = self.dir_block_for_lookup(dir, blk)?;
        // Entry 0 was compared by the block search.
        let (mut head, mut back) = (1usize, count);
        let (mut start_prefix, mut end_prefix) = (0usize, 0usize);
        while head < back {
            let mid = head + (back - head - 1) / 2;
            let mut matched = start_prefix.min(end_prefix);
            match erofs_dirnamecmp(name, erofs_dirname(&bytes, mid, count)?, &mut matched) {
                Ordering::Less => {
                    back = mid;
                    end_prefix = matched;
                }
                Ordering::Equal => return self.erofs_found(&bytes, blk, mid).map(Some),
                Ordering::Greater => {
                    head = mid + 1;
                    start_prefix = matched;
                }
            }
        }
        Ok(None)
    }

    /// Entry `index` of directory block `blk` (whose bytes are `bytes`) as a lookup result,
    /// its file type and nid checked.
    fn erofs_found(&self, bytes: &[u8], blk: u64, index: usize) -> Result<Found> {
        let off = index
            .checked_mul(DIRENT_SIZE)
            .ok_or(FormatError::Overflow)?;
        let d = Dirent::parse(bytes.get(off..).ok_or(FormatError::BadDirent)?)?;
        let e = DirEntry {
            name: &[],
            nid: d.nid,
            file_type: d.file_type,
        };
        self.check_dirent(&e)?;
        Ok(Found {
            nid: d.nid,
            file_type: d.file_type,
            block: blk,
            index,
        })
    }
}
