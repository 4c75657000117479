// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Directories (the counterpart of fs/erofs/dir.c): [`DirBlock`], the entries of one directory
//! block and their validation, [`check_name`], and reading a directory in the `f_pos` order
//! EROFS uses ([`Image::readdir`]), each entry validated as it is reached, as in EROFS.
//! Lookups are in `namei`.

use core::cmp::Ordering;

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

use super::inode::Inode;
use super::source::{BlockSource, Bytes};
use super::Image;

/// One directory entry, borrowed from a directory block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirEntry<'b> {
    /// The entry's name (1..=255 bytes, no `/` or NUL).
    pub name: &'b [u8],
    /// nid of the entry's inode.
    pub nid: u64,
    /// `EROFS_FT_*` (0..=7).
    pub file_type: u8,
}

/// A validated directory block (or inline tail).
#[derive(Clone, Copy, Debug)]
pub struct DirBlock<'b> {
    data: &'b [u8],
    count: usize,
}

impl<'b> DirBlock<'b> {
    /// Validates `data` as one directory block: the first `nameoff` is a multiple of 12 and
    /// gives the entry count, name offsets increase and stay inside the block, names are
    /// 1..=255 bytes without `/` or NUL and strictly ascending, file types are at most 7 and
    /// nids point inside an image of `image_size` bytes.
    pub fn parse(data: &'b [u8], image_size: u64) -> Result<Self> {
        let block = Self::parse_count(data)?;
        let mut prev: Option<&[u8]> = None;
        for i in 0..block.count {
            let e = block.entry_unchecked(i)?;
            check_dirent_target(&e, image_size)?;
            check_name(e.name)?;
            if let Some(p) = prev {
                if p >= e.name {
                    return Err(FormatError::DirentsUnsorted);
                }
            }
            prev = Some(e.name);
        }
        Ok(block)
    }

    /// Reads the entry count of `data` (from the first `nameoff`, which must be a non-zero
    /// multiple of 12 within the block) without validating the entries: for lookups, which
    /// check only the entries they read.
    pub(super) fn parse_count(data: &'b [u8]) -> Result<Self> {
        let first = Dirent::parse(data).map_err(|_| FormatError::BadDirent)?;
        let dirents_len = usize::from(first.nameoff);
        if dirents_len < DIRENT_SIZE || dirents_len % DIRENT_SIZE != 0 || dirents_len > data.len() {
            return Err(FormatError::BadDirent);
        }
        Ok(Self {
            data,
            count: dirents_len / DIRENT_SIZE,
        })
    }

    /// Binary search for `name`, failing on a malformed entry met on the way.
    pub(super) fn search(&self, name: &[u8]) -> Result<Option<(usize, DirEntry<'b>)>> {
        let (mut lo, mut hi) = (0usize, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry_unchecked(mid)?;
            match e.name.cmp(name) {
                Ordering::Equal => return Ok(Some((mid, e))),
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
            }
        }
        Ok(None)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether the block has no entries (never true for a parsed block).
    #[cfg(cfs_tools)]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Entry `i` (`None` if out of range).
    pub fn get(&self, i: usize) -> Option<DirEntry<'b>> {
        if i >= self.count {
            return None;
        }
        self.entry_unchecked(i).ok()
    }

    /// Decodes entry `i`, checking only that its name lies within the block.
    pub(super) fn entry_unchecked(&self, i: usize) -> Result<DirEntry<'b>> {
        let off = i.checked_mul(DIRENT_SIZE).ok_or(FormatError::Overflow)?;
        let d = Dirent::parse(self.data.get(off..).unwrap_or(&[]))?;
        let start = usize::from(d.nameoff);
        let end = if i + 1 < self.count {
            let next = Dirent::parse(self.data.get(off + DIRENT_SIZE..).unwrap_or(&[]))?;
            usize::from(next.nameoff)
        } else {
            // The last name ends at the first NUL or at the end of the block.
            let rest = self.data.get(start..).ok_or(FormatError::BadDirent)?;
            start + rest.iter().position(|&c| c == 0).unwrap_or(rest.len())
        };
        if start < self.count * DIRENT_SIZE || end <= start {
            return Err(FormatError::BadDirent);
        }
        let name = self.data.get(start..end).ok_or(FormatError::BadDirent)?;
        Ok(DirEntry {
            name,
            nid: d.nid,
            file_type: d.file_type,
        })
    }
}

/// Checks that a directory entry's file type is valid and its nid names an
/// inode slot inside an image of `image_size` bytes.
fn check_dirent_target(e: &DirEntry<'_>, image_size: u64) -> Result<()> {
    if e.file_type > EROFS_FT_MAX {
        return Err(FormatError::BadDirent);
    }
    let inode_off = e
        .nid
        .checked_mul(1 << ISLOT_BITS)
        .ok_or(FormatError::NidOutOfRange)?;
    if e.nid >> (64 - ISLOT_BITS) != 0 || inode_off >= image_size {
        return Err(FormatError::NidOutOfRange);
    }
    Ok(())
}

/// Checks a file name: 1..=255 bytes, no `/`, no NUL.
pub fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() {
        return Err(FormatError::BadName);
    }
    if name.len() > NAME_MAX {
        return Err(FormatError::NameTooLong);
    }
    if has_slash_or_nul(name) {
        return Err(FormatError::BadName);
    }
    Ok(())
}

/// Whether `name` contains a `/` or a NUL byte, tested eight bytes at a time (names are read
/// on every readdir and lookup).
fn has_slash_or_nul(name: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const SLASHES: u64 = 0x2f2f_2f2f_2f2f_2f2f;
    // A byte of `v` is zero if and only if the matching high bit of `zero_bytes(v)` is set
    // (the classic "has a zero byte" test; borrows only run from a zero byte upwards, so a
    // set bit above a zero byte does not matter for a yes/no answer).
    let bad = |w: [u8; 8]| {
        let v = u64::from_le_bytes(w);
        let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        zero_bytes(v) | zero_bytes(v ^ SLASHES) != 0
    };
    let n = name.len();
    if n < 8 {
        // Padded with bytes that are neither `/` nor NUL.
        let mut w = [1u8; 8];
        if let Some(dst) = w.get_mut(..n) {
            dst.copy_from_slice(name);
        }
        return bad(w);
    }
    let mut words = name.chunks_exact(8);
    if words
        .by_ref()
        .any(|w| <[u8; 8]>::try_from(w).is_ok_and(bad))
    {
        return true;
    }
    // The last word, overlapping the one before it, covers the bytes left over.
    !words.remainder().is_empty()
        && name
            .get(n - 8..)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .is_some_and(bad)
}

impl<S: BlockSource> Image<S> {
    /// Number of directory blocks (full blocks plus the inline tail) of a directory.
    pub fn dir_blocks(&self, dir: &Inode) -> Result<u64> {
        if !dir.is_dir() {
            return Err(FormatError::NotDir);
        }
        Ok(dir.size.div_ceil(BLOCK_SIZE_U64))
    }

    /// Returns directory block `index` of `dir` (unvalidated bytes).
    pub fn dir_block_bytes(&self, dir: &Inode, index: u64) -> Result<Bytes<'_, S>> {
        let pos = index
            .checked_mul(BLOCK_SIZE_U64)
            .ok_or(FormatError::Overflow)?;
        let (off, len) = self.flat_extent(dir, pos)?.ok_or(FormatError::OutOfRange)?;
        self.bytes(off, len)
    }

    /// Runs `f` on directory block `index` of `dir` after validating it.
    #[cfg(cfs_tools)]
    pub fn with_dir_block<R>(
        &self,
        dir: &Inode,
        index: u64,
        f: impl FnOnce(&DirBlock<'_>) -> Result<R>,
    ) -> Result<R> {
        let bytes = self.dir_block_bytes(dir, index)?;
        let block = DirBlock::parse(&bytes, self.size)?;
        f(&block)
    }

    /// Iterates over the entries of `dir` from position `pos`, including `.` and `..`.
    ///
    /// A position is `block index * 4096 + 12 * entry index` (the `f_pos` EROFS uses); 0 is the
    /// start. `emit` gets each entry and the position just after it, and returns `false` to
    /// stop. Returns the position to resume from: the position after the last entry `emit`
    /// accepted, or the directory size once all entries were seen.
    ///
    /// As in EROFS, each entry is validated as it is reached (name bounds and contents, file
    /// type, nid range), not whole blocks: entries before a malformed one are emitted, then
    /// the error is returned. The order of names is not checked (only lookups depend on it,
    /// and they only miss on a misordered block).
    pub fn readdir(
        &self,
        dir: &Inode,
        pos: u64,
        mut emit: impl FnMut(&DirEntry<'_>, u64) -> bool,
    ) -> Result<u64> {
        let nblocks = self.dir_blocks(dir)?;
        if pos >= dir.size {
            // At the end (where the call after the last entry starts): nothing to read.
            return Ok(pos);
        }
        let mut blk = pos >> BLOCK_BITS;
        let mut first = ((pos & (BLOCK_SIZE_U64 - 1)) as usize).div_ceil(DIRENT_SIZE);
        while blk < nblocks {
            let block_pos = blk * BLOCK_SIZE_U64;
            let bytes = self.dir_block_bytes(dir, blk)?;
            let b = DirBlock::parse_count(&bytes)?;
            for i in first..b.len() {
                let e = b.entry_unchecked(i)?;
                self.check_dirent(&e)?;
                check_name(e.name)?;
                let next = block_pos + ((i + 1) * DIRENT_SIZE) as u64;
                if !emit(&e, next) {
                    return Ok(block_pos + (i * DIRENT_SIZE) as u64);
                }
            }
            blk += 1;
            first = 0;
        }
        Ok(dir.size.max(pos))
    }

    /// Calls `f` with the nid of every entry of `dir` that a lookup by its name can resolve:
    /// entries with a valid name and target in blocks whose layout reads. Unlike
    /// [`Image::readdir`], a damaged entry is skipped rather than ending the walk (a lookup
    /// of another name does not read it); a damaged block is skipped whole. Stops early,
    /// returning `Ok(false)`, if `f` returns `false`.
    pub fn for_each_resolvable(&self, dir: &Inode, mut f: impl FnMut(u64) -> bool) -> Result<bool> {
        let nblocks = self.dir_blocks(dir)?;
        for blk in 0..nblocks {
            let Ok(bytes) = self.dir_block_bytes(dir, blk) else {
                continue;
            };
            let Ok(b) = DirBlock::parse_count(&bytes) else {
                continue;
            };
            for i in 0..b.len() {
                let Ok(e) = b.entry_unchecked(i) else { continue };
                if self.check_dirent(&e).is_err() || check_name(e.name).is_err() {
                    continue;
                }
                if e.name != b"." && e.name != b".." && !f(e.nid) {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Whether `dir` is well-formed for lookups: every block validates ([`DirBlock::parse`]:
    /// entries, names and targets valid, names strictly ascending) and each block's last name
    /// sorts before the next block's first. In such a directory every lookup gives the same
    /// answer whatever block and entry it starts from, so a [`LookupHint`](super::LookupHint)
    /// may be used; in any other, only the plain binary search of [`Image::lookup`] gives
    /// answers that do not depend on earlier lookups. Reads every block of the directory.
    pub fn dir_is_sorted(&self, dir: &Inode) -> Result<bool> {
        let nblocks = self.dir_blocks(dir)?;
        let mut prev = [0u8; 255];
        let mut prev_len = 0usize;
        for blk in 0..nblocks {
            let bytes = self.dir_block_bytes(dir, blk)?;
            let Ok(b) = DirBlock::parse(&bytes, self.size) else {
                return Ok(false);
            };
            let (Some(first), Some(last)) =
                (b.get(0), b.len().checked_sub(1).and_then(|i| b.get(i)))
            else {
                return Ok(false);
            };
            if blk > 0 && prev.get(..prev_len).is_none_or(|p| p >= first.name) {
                return Ok(false);
            }
            let Some(dst) = prev.get_mut(..last.name.len()) else {
                return Ok(false);
            };
            dst.copy_from_slice(last.name);
            prev_len = last.name.len();
        }
        Ok(true)
    }

    /// Checks the file type and nid of an entry a lookup returns or readdir reaches.
    pub(super) fn check_dirent(&self, e: &DirEntry<'_>) -> Result<()> {
        check_dirent_target(e, self.size)
    }
}
