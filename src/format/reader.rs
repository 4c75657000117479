// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A validating reader of composefs images.
//!
//! The reader is generic over a [`BlockSource`] that hands out 4096-byte blocks of the image,
//! so the kernel can serve it page-cache folios and the tools an in-memory copy. It never
//! allocates, never recurses and never loops longer than the sizes in the image allow; every
//! offset, length and count taken from the image is checked before use.

use core::cmp::Ordering;
use core::ops::Deref;

use super::error::{FormatError, Result};
use super::layout::*;
use super::xxhash::xattr_filter_bit;

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
struct Cursor<'a, S: BlockSource> {
    src: &'a S,
    size: u64,
    cur: Option<(u32, S::Block<'a>)>,
}

impl<'a, S: BlockSource + 'a> Cursor<'a, S> {
    fn new(img: &'a Image<S>) -> Self {
        Self {
            src: &img.src,
            size: img.size,
            cur: None,
        }
    }

    /// Copies `buf.len()` bytes from image offset `off` into `buf`, across blocks if needed.
    fn read_exact_at(&mut self, off: u64, buf: &mut [u8]) -> Result<()> {
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
    fn slice(&mut self, off: u64, len: usize) -> Result<&[u8]> {
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
fn crosses_block(off: u64, len: usize) -> bool {
    len > 0 && (off & (BLOCK_SIZE_U64 - 1)) as usize + len > BLOCK_SIZE
}

/// Data layout of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataLayout {
    /// Data in consecutive blocks from `raw_blkaddr`.
    FlatPlain,
    /// Full blocks from `raw_blkaddr` and the tail inline after the inode.
    FlatInline,
    /// Chunk-based (composefs: a sparse file of null chunks; data comes from the backing object).
    ChunkBased,
}

/// Chunk geometry of a chunk-based inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkInfo {
    /// The raw chunk format (`i_u` low 16 bits).
    pub format: u16,
    /// log2 of the chunk size (12 + format bits).
    pub chunkbits: u32,
    /// Number of chunks (`ceil(size / chunk size)`).
    pub count: u64,
    /// Size of one chunk array entry: 4 (block address) or 8 (`erofs_inode_chunk_index`).
    pub entry_size: u64,
    /// Image offset of the chunk array.
    pub array_offset: u64,
}

/// A decoded and validated inode.
///
/// Fields are read through accessors; the derived locations (xattr area, inline data, plain
/// data blocks, chunk array) were checked against the image size when the inode was decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inode {
    nid: u64,
    extended: bool,
    layout: DataLayout,
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: i64,
    mtime_nsec: u32,
    raw_u: u32,
    ino: u32,
    xattr_icount: u16,
    xattr_offset: u64,
    xattr_size: u32,
    tail_offset: u64,
    tail_len: u32,
}

impl Inode {
    /// The inode's nid (its byte offset divided by 32).
    pub fn nid(&self) -> u64 {
        self.nid
    }
    /// Whether the on-disk inode is the 64-byte extended form.
    #[cfg(cfs_tools)]
    pub fn is_extended(&self) -> bool {
        self.extended
    }
    /// Data layout.
    pub fn layout(&self) -> DataLayout {
        self.layout
    }
    /// File mode (type and permissions).
    pub fn mode(&self) -> u32 {
        self.mode
    }
    /// File type bits of the mode (`S_IF*`).
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }
    /// Whether this is a regular file.
    pub fn is_reg(&self) -> bool {
        self.file_type() == S_IFREG
    }
    /// Whether this is a symlink.
    #[cfg(cfs_tools)]
    pub fn is_symlink(&self) -> bool {
        self.file_type() == S_IFLNK
    }
    /// Link count.
    pub fn nlink(&self) -> u32 {
        self.nlink
    }
    /// Owner.
    pub fn uid(&self) -> u32 {
        self.uid
    }
    /// Group.
    pub fn gid(&self) -> u32 {
        self.gid
    }
    /// File size.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Modification time, seconds (compact inodes: the superblock build time plus `i_mtime`).
    pub fn mtime(&self) -> i64 {
        self.mtime
    }
    /// Modification time, nanoseconds.
    pub fn mtime_nsec(&self) -> u32 {
        self.mtime_nsec
    }
    /// Raw (new-encoded, 32-bit) device number of a device node; 0 for other types.
    pub fn rdev(&self) -> u32 {
        match self.file_type() {
            S_IFCHR | S_IFBLK => self.raw_u,
            _ => 0,
        }
    }
    /// The raw `i_u` union (block address, rdev or chunk format).
    #[cfg(cfs_tools)]
    pub fn raw_u(&self) -> u32 {
        self.raw_u
    }
    /// First data block of a flat inode.
    #[cfg(cfs_tools)]
    pub fn raw_blkaddr(&self) -> u32 {
        self.raw_u
    }
    /// The inode number recorded in the image (`i_ino`, a breadth-first index for mkcomposefs).
    #[cfg(cfs_tools)]
    pub fn ino(&self) -> u32 {
        self.ino
    }
    /// `i_xattr_icount`.
    pub fn xattr_icount(&self) -> u16 {
        self.xattr_icount
    }
    /// Image offset of the xattr area.
    #[cfg(cfs_tools)]
    pub fn xattr_offset(&self) -> u64 {
        self.xattr_offset
    }
    /// Size of the xattr area (0 if there are no xattrs).
    #[cfg(cfs_tools)]
    pub fn xattr_size(&self) -> u32 {
        self.xattr_size
    }
    /// Image offset of the inline tail (flat-inline) or the chunk array (chunk-based).
    #[cfg(cfs_tools)]
    pub fn tail_offset(&self) -> u64 {
        self.tail_offset
    }
    /// Length of the inline tail (flat-inline) or of the chunk array (chunk-based); 0 for
    /// flat-plain inodes.
    #[cfg(cfs_tools)]
    pub fn tail_len(&self) -> u32 {
        self.tail_len
    }
    /// Number of data blocks stored out of line from `raw_blkaddr` (flat layouts).
    pub fn plain_blocks(&self) -> u64 {
        match self.layout {
            DataLayout::FlatPlain => self.size.div_ceil(BLOCK_SIZE_U64),
            DataLayout::FlatInline => self.size.div_ceil(BLOCK_SIZE_U64).saturating_sub(1),
            DataLayout::ChunkBased => 0,
        }
    }
    /// Chunk geometry of a chunk-based inode.
    pub fn chunk_info(&self) -> Option<ChunkInfo> {
        if self.layout != DataLayout::ChunkBased {
            return None;
        }
        let format = (self.raw_u & 0xffff) as u16;
        let chunkbits = BLOCK_BITS + u32::from(format & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
        let entry_size = if format & EROFS_CHUNK_FORMAT_INDEXES != 0 {
            8
        } else {
            4
        };
        // chunkbits is at most 43, so the shift cannot overflow.
        let count = self.size.div_ceil(1u64 << chunkbits);
        Some(ChunkInfo {
            format,
            chunkbits,
            count,
            entry_size,
            array_offset: self.tail_offset,
        })
    }
}

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
    fn parse_count(data: &'b [u8]) -> Result<Self> {
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
    fn search(&self, name: &[u8]) -> Result<Option<(usize, DirEntry<'b>)>> {
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
    fn entry_unchecked(&self, i: usize) -> Result<DirEntry<'b>> {
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

/// One xattr entry as stored: the name prefix index, the suffix and where the value is.
#[derive(Clone, Copy, Debug)]
pub struct XattrItem<'n> {
    /// Name prefix index (`XATTR_INDEX_*`, 0..=6).
    pub index: u8,
    /// Name suffix (after the prefix of `index`).
    pub suffix: &'n [u8],
    /// Image offset of the value.
    pub value_offset: u64,
    /// Length of the value.
    pub value_len: u16,
    /// Whether the entry lives in the shared xattr table.
    #[cfg(cfs_tools)]
    pub shared: bool,
    /// The value, if it lies in the image block that holds the name (where the search is
    /// reading anyway); `None` if the entry crosses into the next block.
    pub value: Option<&'n [u8]>,
}

impl XattrItem<'_> {
    /// The name prefix of the entry's index.
    #[cfg(cfs_tools)]
    pub fn prefix(&self) -> &'static [u8] {
        xattr_prefix(self.index).unwrap_or(b"")
    }

    /// Writes the full name (prefix and suffix) into `buf` and returns its length.
    #[cfg(cfs_tools)]
    pub fn full_name(&self, buf: &mut [u8]) -> Result<usize> {
        let prefix = self.prefix();
        let len = prefix
            .len()
            .checked_add(self.suffix.len())
            .ok_or(FormatError::Overflow)?;
        let out = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
        let (a, b) = out.split_at_mut(prefix.len());
        a.copy_from_slice(prefix);
        b.copy_from_slice(self.suffix);
        Ok(len)
    }
}

/// A name to look up among an inode's xattrs: a prefix index and a suffix given in up to two
/// parts (so that `overlay.` can be put back in front of an escaped name without a copy).
#[derive(Clone, Copy, Debug)]
pub struct XattrKey<'k> {
    /// Name prefix index.
    pub index: u8,
    /// First part of the suffix.
    pub head: &'k [u8],
    /// Second part of the suffix.
    pub tail: &'k [u8],
}

impl XattrKey<'_> {
    fn matches(&self, index: u8, suffix: &[u8]) -> bool {
        // The length is compared first; most keys have no tail, so one comparison of bytes
        // usually decides.
        index == self.index
            && suffix.len() == self.head.len() + self.tail.len()
            && suffix
                .split_at_checked(self.head.len())
                .is_some_and(|(head, tail)| {
                    head == self.head && (self.tail.is_empty() || tail == self.tail)
                })
    }

    /// The key's bit in an inode's bloom filter word. EROFS hashes the whole suffix, so a
    /// two-part key (an escaped overlay name) is hashed joined, as the reference stack's
    /// `getxattr` of the escaped name is; a key too long for any entry (`None`) is not
    /// filtered and never matches.
    fn filter_bit(&self) -> Option<u32> {
        if self.tail.is_empty() {
            return Some(xattr_filter_bit(self.index, self.head));
        }
        if self.head.is_empty() {
            return Some(xattr_filter_bit(self.index, self.tail));
        }
        let mut joined = [0u8; NAME_MAX];
        let dst = joined.get_mut(..self.head.len().checked_add(self.tail.len())?)?;
        let (head, tail) = dst.split_at_mut_checked(self.head.len())?;
        head.copy_from_slice(self.head);
        tail.copy_from_slice(self.tail);
        Some(xattr_filter_bit(self.index, dst))
    }
}

/// A one-part [`XattrKey`] with its bloom filter bit computed once (at compile time for a
/// constant), for names that are looked up on every inode.
#[derive(Clone, Copy, Debug)]
pub struct HashedXattrKey<'k> {
    key: XattrKey<'k>,
    bit: u32,
}

impl<'k> HashedXattrKey<'k> {
    /// The key of the xattr with prefix index `index` and name suffix `suffix`.
    pub const fn new(index: u8, suffix: &'k [u8]) -> Self {
        Self {
            key: XattrKey {
                index,
                head: suffix,
                tail: b"",
            },
            bit: xattr_filter_bit(index, suffix),
        }
    }

    /// The key.
    #[cfg(cfs_tools)]
    pub fn key(&self) -> &XattrKey<'k> {
        &self.key
    }
}

/// Where an xattr's value lies in the image: `(offset, length)`.
pub type XattrValue = (u64, u16);

/// The answer of an xattr search for one key: where its value is, `None` if the inode has no
/// such xattr, or why the search failed.
pub type XattrFound = Result<Option<XattrValue>>;

/// A validated composefs image.
pub struct Image<S: BlockSource> {
    src: S,
    header: ComposefsHeader,
    sb: SuperBlock,
    size: u64,
}

impl<S: BlockSource> Image<S> {
    /// Opens an image: checks the composefs header, the EROFS superblock (see
    /// [`SuperBlock::validate`] and [`SuperBlock::verify_checksum`]) and the root inode.
    pub fn open(src: S) -> Result<Self> {
        let size = src.size();
        let (header, sb) = {
            let b0 = src.block(0)?;
            let header = ComposefsHeader::parse(&b0)?;
            header.validate()?;
            let sb = SuperBlock::parse(b0.get(EROFS_SUPER_OFFSET..).unwrap_or(&[]))?;
            sb.validate()?;
            sb.verify_checksum(&b0)?;
            (header, sb)
        };
        let img = Self {
            src,
            header,
            sb,
            size,
        };
        let root = img.inode(img.root_nid())?;
        if !root.is_dir() {
            return Err(FormatError::NotDir);
        }
        Ok(img)
    }

    /// The block source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// The composefs header.
    pub fn header(&self) -> &ComposefsHeader {
        &self.header
    }

    /// The EROFS superblock.
    pub fn superblock(&self) -> &SuperBlock {
        &self.sb
    }

    /// Image size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// nid of the root directory.
    pub fn root_nid(&self) -> u64 {
        u64::from(self.sb.root_nid)
    }

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

    /// Decodes and validates the inode `nid`.
    pub fn inode(&self, nid: u64) -> Result<Inode> {
        self.inode_in(&mut Cursor::new(self), nid)
    }

    /// [`Image::inode`], reading through `cur`.
    fn inode_in(&self, cur: &mut Cursor<'_, S>, nid: u64) -> Result<Inode> {
        let off = nid
            .checked_mul(1 << ISLOT_BITS)
            .ok_or(FormatError::NidOutOfRange)?;
        if nid >> (64 - ISLOT_BITS) != 0 || off >= self.size {
            return Err(FormatError::NidOutOfRange);
        }
        let mut buf = [0u8; INODE_EXTENDED_SIZE];
        let compact_end = off
            .checked_add(INODE_COMPACT_SIZE as u64)
            .ok_or(FormatError::Overflow)?;
        if compact_end > self.size {
            return Err(FormatError::InodeCrossesEnd);
        }
        // The inode is decoded where it lies in its block if the largest inode there would
        // fit in the block and the image (always so for the 32-byte slots of mkcomposefs'
        // extended inodes but the last of a block); otherwise it is copied, in two parts for
        // an extended inode that crosses into the next block.
        let in_block = !crosses_block(off, INODE_EXTENDED_SIZE)
            && off + INODE_EXTENDED_SIZE as u64 <= self.size;
        let raw: &[u8] = if in_block {
            cur.slice(off, INODE_EXTENDED_SIZE)?
        } else {
            let (compact, rest) = buf.split_at_mut(INODE_COMPACT_SIZE);
            cur.read_exact_at(off, compact)?;
            if get_u16(compact, 0) & I_VERSION_MASK != 0 {
                let end = off
                    .checked_add(INODE_EXTENDED_SIZE as u64)
                    .ok_or(FormatError::Overflow)?;
                if end > self.size {
                    return Err(FormatError::InodeCrossesEnd);
                }
                cur.read_exact_at(off + INODE_COMPACT_SIZE as u64, rest)?;
            }
            &buf
        };
        let i_format = get_u16(raw, 0);
        if i_format & !I_FORMAT_SUPPORTED != 0 {
            return Err(FormatError::BadInodeFormat);
        }
        let extended = i_format & I_VERSION_MASK != 0;
        let layout = match ((i_format >> I_DATALAYOUT_SHIFT) & I_DATALAYOUT_MASK) as u8 {
            EROFS_INODE_FLAT_PLAIN => DataLayout::FlatPlain,
            EROFS_INODE_FLAT_INLINE => DataLayout::FlatInline,
            EROFS_INODE_CHUNK_BASED => DataLayout::ChunkBased,
            _ => return Err(FormatError::BadLayout),
        };
        let mut inode;
        let isize = if extended {
            let e = InodeExtended::parse(raw)?;
            inode = Inode {
                nid,
                extended,
                layout,
                mode: u32::from(e.i_mode),
                nlink: e.i_nlink,
                uid: e.i_uid,
                gid: e.i_gid,
                size: e.i_size,
                mtime: e.i_mtime as i64,
                mtime_nsec: e.i_mtime_nsec,
                raw_u: e.i_u,
                ino: e.i_ino,
                xattr_icount: e.i_xattr_icount,
                xattr_offset: 0,
                xattr_size: 0,
                tail_offset: 0,
                tail_len: 0,
            };
            INODE_EXTENDED_SIZE
        } else {
            let c = InodeCompact::parse(raw)?;
            let mtime = (self.sb.build_time as i64)
                .checked_add(i64::from(c.i_mtime))
                .ok_or(FormatError::Overflow)?;
            inode = Inode {
                nid,
                extended,
                layout,
                mode: u32::from(c.i_mode),
                nlink: u32::from(c.i_nlink),
                uid: u32::from(c.i_uid),
                gid: u32::from(c.i_gid),
                size: u64::from(c.i_size),
                mtime,
                mtime_nsec: self.sb.build_time_nsec,
                raw_u: c.i_u,
                ino: c.i_ino,
                xattr_icount: c.i_xattr_icount,
                xattr_offset: 0,
                xattr_size: 0,
                tail_offset: 0,
                tail_len: 0,
            };
            INODE_COMPACT_SIZE
        };
        if inode.size > i64::MAX as u64 {
            return Err(FormatError::BadSize);
        }
        match inode.file_type() {
            S_IFREG | S_IFDIR | S_IFLNK | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK => {}
            _ => return Err(FormatError::BadMode),
        }

        let xattr_size = xattr_ibody_size(inode.xattr_icount);
        inode.xattr_offset = off + isize as u64;
        inode.xattr_size = u32::try_from(xattr_size).map_err(|_| FormatError::Overflow)?;
        let body_end = inode
            .xattr_offset
            .checked_add(xattr_size as u64)
            .ok_or(FormatError::Overflow)?;
        if body_end > self.size {
            return Err(FormatError::InodeCrossesEnd);
        }
        inode.tail_offset = body_end;

        match inode.file_type() {
            S_IFDIR | S_IFLNK if layout == DataLayout::ChunkBased => {
                return Err(FormatError::BadLayout);
            }
            S_IFLNK if inode.size == 0 || inode.size >= PATH_MAX as u64 => {
                return Err(FormatError::SymlinkTooLong);
            }
            _ => {}
        }

        match layout {
            DataLayout::FlatPlain | DataLayout::FlatInline => {
                let only_meta = matches!(inode.file_type(), S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK);
                if layout == DataLayout::FlatInline && !only_meta {
                    // The tail is what is left after the full blocks: 1..=4096 bytes.
                    let full = inode.size.div_ceil(BLOCK_SIZE_U64).saturating_sub(1);
                    let tail = inode.size - full * BLOCK_SIZE_U64;
                    let tail_end = inode
                        .tail_offset
                        .checked_add(tail)
                        .ok_or(FormatError::Overflow)?;
                    if tail_end > self.size {
                        return Err(FormatError::InodeCrossesEnd);
                    }
                    if (inode.tail_offset & (BLOCK_SIZE_U64 - 1)) + tail > BLOCK_SIZE_U64 {
                        return Err(FormatError::InlineCrossesBlock);
                    }
                    inode.tail_len = tail as u32;
                    // EROFS keeps an inline target as a C string and refuses one that a
                    // NUL cuts short of the size (`erofs_fill_symlink`).
                    if inode.file_type() == S_IFLNK
                        && cur
                            .slice(inode.tail_offset, tail as usize)
                            .map_err(|_| FormatError::InodeCrossesEnd)?
                            .contains(&0)
                    {
                        return Err(FormatError::SymlinkTooLong);
                    }
                }
                if !only_meta {
                    let plain = inode.plain_blocks();
                    if plain > 0 {
                        let plain_bytes = inode.size.min(plain * BLOCK_SIZE_U64);
                        let end = u64::from(inode.raw_u)
                            .checked_mul(BLOCK_SIZE_U64)
                            .and_then(|s| s.checked_add(plain_bytes))
                            .ok_or(FormatError::Overflow)?;
                        if end > self.size {
                            return Err(FormatError::BadBlockAddr);
                        }
                    }
                }
            }
            DataLayout::ChunkBased => {
                if inode.file_type() != S_IFREG {
                    return Err(FormatError::BadLayout);
                }
                let format = (inode.raw_u & 0xffff) as u16;
                if format & !(EROFS_CHUNK_FORMAT_BLKBITS_MASK | EROFS_CHUNK_FORMAT_INDEXES) != 0 {
                    return Err(FormatError::BadChunkFormat);
                }
                let entry = if format & EROFS_CHUNK_FORMAT_INDEXES != 0 {
                    8
                } else {
                    4
                };
                inode.tail_offset =
                    round_up_u64(inode.tail_offset, entry).ok_or(FormatError::Overflow)?;
                let chunkbits = BLOCK_BITS + u32::from(format & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
                let count = inode.size.div_ceil(1u64 << chunkbits);
                let array = count.checked_mul(entry).ok_or(FormatError::Overflow)?;
                let end = inode
                    .tail_offset
                    .checked_add(array)
                    .ok_or(FormatError::Overflow)?;
                if end > self.size {
                    return Err(FormatError::InodeCrossesEnd);
                }
                inode.tail_len = u32::try_from(array).map_err(|_| FormatError::BadSize)?;
            }
        }
        Ok(inode)
    }

    // ---- data ----

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
    fn flat_extent(&self, inode: &Inode, pos: u64) -> Result<Option<(u64, usize)>> {
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

    /// Reads file data from file offset `pos` into `buf`; returns the number of bytes read
    /// (short only at the end of the file).
    ///
    /// Flat layouts read their blocks and inline tail; chunk-based inodes read holes (null
    /// chunks) as zeros and mapped chunks from their blocks.
    pub fn read_data(&self, inode: &Inode, pos: u64, buf: &mut [u8]) -> Result<usize> {
        let mut done = 0usize;
        while done < buf.len() {
            let cur = pos.checked_add(done as u64).ok_or(FormatError::Overflow)?;
            let extent = match inode.layout {
                DataLayout::ChunkBased => self.chunk_extent(inode, cur)?,
                _ => self.flat_extent(inode, cur)?.map(|(o, n)| (Some(o), n)),
            };
            let Some((src, n)) = extent else { break };
            let n = n.min(buf.len() - done);
            let dst = buf.get_mut(done..done + n).ok_or(FormatError::Overflow)?;
            match src {
                Some(off) => self.read_exact_at(off, dst)?,
                None => dst.fill(0),
            }
            done += n;
        }
        Ok(done)
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

    // ---- directories ----

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

    /// Whether `dir` is well-formed for lookups: every block validates ([`DirBlock::parse`]:
    /// entries, names and targets valid, names strictly ascending) and each block's last name
    /// sorts before the next block's first. In such a directory every lookup gives the same
    /// answer whatever block and entry it starts from, so a [`LookupHint`] may be used; in
    /// any other, only the plain binary search of [`Image::lookup`] gives answers that do not
    /// depend on earlier lookups. Reads every block of the directory.
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

    /// Checks the file type and nid of an entry a lookup returns or readdir reaches.
    fn check_dirent(&self, e: &DirEntry<'_>) -> Result<()> {
        check_dirent_target(e, self.size)
    }

    // ---- xattrs ----

    /// Offset of shared xattr `id` in the image.
    fn shared_xattr_offset(&self, id: u32) -> Result<u64> {
        u64::from(self.sb.xattr_blkaddr)
            .checked_mul(BLOCK_SIZE_U64)
            .and_then(|b| b.checked_add(u64::from(id) * 4))
            .ok_or(FormatError::Overflow)
    }

    /// Decodes the header of the xattr entry at `off` and checks that the entry ends at or
    /// before `limit`.
    fn xattr_entry_at(&self, cur: &mut Cursor<'_, S>, off: u64, limit: u64) -> Result<XattrEntry> {
        let e = if crosses_block(off, XATTR_ENTRY_SIZE) {
            let mut h = [0u8; XATTR_ENTRY_SIZE];
            cur.read_exact_at(off, &mut h)
                .map_err(|_| FormatError::BadXattr)?;
            XattrEntry::parse(&h)?
        } else {
            XattrEntry::parse(
                cur.slice(off, XATTR_ENTRY_SIZE)
                    .map_err(|_| FormatError::BadXattr)?,
            )?
        };
        Self::check_xattr_entry(&e, off, limit)?;
        Ok(e)
    }

    /// Checks the decoded header `e` of the xattr entry at `off`: the entry ends at or before
    /// `limit` and its name prefix index is one this reader knows.
    fn check_xattr_entry(e: &XattrEntry, off: u64, limit: u64) -> Result<()> {
        let end = off
            .checked_add(e.total_size() as u64)
            .ok_or(FormatError::Overflow)?;
        if end > limit {
            return Err(FormatError::BadXattr);
        }
        if e.e_name_index & EROFS_XATTR_LONG_PREFIX != 0 || xattr_prefix(e.e_name_index).is_none() {
            return Err(FormatError::BadXattr);
        }
        if e.e_name_index == XATTR_INDEX_NONE && e.e_name_len == 0 {
            return Err(FormatError::BadXattr);
        }
        Ok(())
    }

    /// The inline xattr entry at `at` in `area`, the inline entries of an inode (which start
    /// at image offset `base` and lie in one block), as an item, and the entry's size. Checks
    /// what [`Image::xattr_item_at`] checks, with the end of `area` as the limit.
    fn xattr_item_in(area: &[u8], at: usize, base: u64) -> Result<(XattrItem<'_>, usize)> {
        let rest = area.get(at..).ok_or(FormatError::BadXattr)?;
        let e = XattrEntry::parse(rest.get(..XATTR_ENTRY_SIZE).ok_or(FormatError::BadXattr)?)?;
        let off = base + at as u64;
        Self::check_xattr_entry(&e, off, base + area.len() as u64)?;
        let n = usize::from(e.e_name_len);
        // The entry ends inside `area` (checked above): neither `get` fails.
        let name = rest
            .get(XATTR_ENTRY_SIZE..XATTR_ENTRY_SIZE + n)
            .ok_or(FormatError::BadXattr)?;
        let value = rest
            .get(XATTR_ENTRY_SIZE + n..XATTR_ENTRY_SIZE + n + usize::from(e.e_value_size))
            .ok_or(FormatError::BadXattr)?;
        let item = Self::xattr_item(&e, off, name, Some(value), false);
        Ok((item, e.total_size()))
    }

    /// The item for the entry at `off` whose header is `e` and whose name suffix is `suffix`
    /// (and value `value`, if it was borrowed with it).
    fn xattr_item<'c>(
        e: &XattrEntry,
        off: u64,
        suffix: &'c [u8],
        value: Option<&'c [u8]>,
        shared: bool,
    ) -> XattrItem<'c> {
        // Only the tools read which area an entry is in.
        #[cfg(not(cfs_tools))]
        let _ = shared;
        XattrItem {
            index: e.e_name_index,
            suffix,
            value_offset: off + (XATTR_ENTRY_SIZE + suffix.len()) as u64,
            value_len: e.e_value_size,
            #[cfg(cfs_tools)]
            shared,
            value,
        }
    }

    /// The `n`-byte name suffix of the xattr entry at `off` and its `vlen`-byte value: both
    /// borrowed from the image block that holds them if they are in one; otherwise the name
    /// is copied into `name` (if it crosses a block boundary) and the value is `None`.
    fn xattr_name<'c>(
        cur: &'c mut Cursor<'_, S>,
        off: u64,
        n: usize,
        vlen: u16,
        name: &'c mut [u8; NAME_MAX],
    ) -> Result<(&'c [u8], Option<&'c [u8]>)> {
        let at = off + XATTR_ENTRY_SIZE as u64;
        let whole = n + usize::from(vlen);
        if !crosses_block(at, whole) {
            let (suffix, value) = cur.slice(at, whole)?.split_at(n);
            Ok((suffix, Some(value)))
        } else if crosses_block(at, n) {
            let dst = name.get_mut(..n).ok_or(FormatError::BadXattr)?;
            cur.read_exact_at(at, dst)?;
            Ok((dst, None))
        } else {
            Ok((cur.slice(at, n)?, None))
        }
    }

    /// The xattr entry at `off` (ending at or before `limit`) as an item, and the entry's
    /// size; `shared` says which area it is in.
    fn xattr_item_at<'c>(
        &self,
        cur: &'c mut Cursor<'_, S>,
        off: u64,
        limit: u64,
        shared: bool,
        name: &'c mut [u8; NAME_MAX],
    ) -> Result<(XattrItem<'c>, u64)> {
        let e = self.xattr_entry_at(cur, off, limit)?;
        let n = usize::from(e.e_name_len);
        let (suffix, value) = Self::xattr_name(cur, off, n, e.e_value_size, name)?;
        let item = Self::xattr_item(&e, off, suffix, value, shared);
        Ok((item, e.total_size() as u64))
    }

    /// Calls `f` for each xattr of `inode`: the inline entries first, then the shared ones (the
    /// order EROFS lists them in). `f` returns `false` to stop early.
    pub fn for_each_xattr(
        &self,
        inode: &Inode,
        f: impl FnMut(&XattrItem<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.for_each_xattr_in(&mut Cursor::new(self), inode, f)
    }

    /// [`Image::for_each_xattr`], reading through `cur`.
    fn for_each_xattr_in(
        &self,
        cur: &mut Cursor<'_, S>,
        inode: &Inode,
        mut f: impl FnMut(&XattrItem<'_>) -> Result<bool>,
    ) -> Result<()> {
        if inode.xattr_size == 0 {
            return Ok(());
        }
        let mut hb = [0u8; XATTR_IBODY_HEADER_SIZE];
        cur.read_exact_at(inode.xattr_offset, &mut hb)?;
        let hdr = XattrIbodyHeader::parse(&hb)?;
        let shared = usize::from(hdr.h_shared_count);
        let area_end = inode.xattr_offset + u64::from(inode.xattr_size);
        let shared_end = XATTR_IBODY_HEADER_SIZE + shared * 4;
        if shared_end > inode.xattr_size as usize {
            return Err(FormatError::BadXattr);
        }
        let mut name = [0u8; NAME_MAX];
        let mut pos = inode.xattr_offset + shared_end as u64;
        // `shared_end <= xattr_size` (checked above): no underflow; a u32 fits a usize.
        let inline_len = (area_end - pos) as usize;
        if inline_len > 0 && !crosses_block(pos, inline_len) {
            // The usual case: the inline entries are in one block. They are parsed from one
            // borrowed slice rather than with a cursor read per entry.
            let area = cur
                .slice(pos, inline_len)
                .map_err(|_| FormatError::BadXattr)?;
            let mut at = 0;
            while at < area.len() {
                let (item, size) = Self::xattr_item_in(area, at, pos)?;
                if !f(&item)? {
                    return Ok(());
                }
                at += size;
            }
        } else {
            while pos < area_end {
                let (item, size) = self.xattr_item_at(cur, pos, area_end, false, &mut name)?;
                if !f(&item)? {
                    return Ok(());
                }
                pos += size;
            }
        }
        // The shared ids are read in batches: the entries they name are in another block,
        // and reading ids one by one would take the inode's block back after each of them.
        const BATCH: usize = 16;
        let mut ids = [0u8; 4 * BATCH];
        let mut i = 0;
        while i < shared {
            let n = (shared - i).min(BATCH);
            let batch = ids.get_mut(..4 * n).ok_or(FormatError::Overflow)?;
            cur.read_exact_at(
                inode.xattr_offset + (XATTR_IBODY_HEADER_SIZE + i * 4) as u64,
                batch,
            )?;
            for id in batch.chunks_exact(4) {
                let off = self.shared_xattr_offset(get_u32(id, 0))?;
                let (item, _) = self.xattr_item_at(cur, off, self.size, true, &mut name)?;
                if !f(&item)? {
                    return Ok(());
                }
            }
            i += n;
        }
        Ok(())
    }

    /// The inode's bloom filter word (EROFS' `XATTR_FILTER`: a set bit means the names that
    /// hash to it are absent), or `None` if the image does not use the filter.
    fn xattr_filter(&self, cur: &mut Cursor<'_, S>, inode: &Inode) -> Result<Option<u32>> {
        if self.sb.feature_compat & EROFS_FEATURE_COMPAT_XATTR_FILTER == 0
            || self.sb.xattr_filter_reserved != 0
        {
            return Ok(None);
        }
        let mut fb = [0u8; 4];
        cur.read_exact_at(inode.xattr_offset, &mut fb)?;
        Ok(Some(u32::from_le_bytes(fb)))
    }

    /// Whether the filter word `filter` rules out the key whose filter bit is `bit`.
    fn xattr_filtered(filter: Option<u32>, bit: Option<u32>) -> bool {
        match (filter, bit) {
            (Some(word), Some(bit)) => word & (1u32 << bit) != 0,
            _ => false,
        }
    }

    /// Finds the xattr `key`; returns `(value offset, value length)`.
    ///
    /// Uses the inode's bloom filter as EROFS does when the image has `XATTR_FILTER`.
    pub fn find_xattr(&self, inode: &Inode, key: &XattrKey<'_>) -> Result<Option<XattrValue>> {
        let [found] = self.find_xattrs(inode, [key], [&mut []]);
        found
    }

    /// Finds several xattrs in one pass over the inode's xattrs: for each key, what
    /// [`Image::find_xattr`] would return for it; the value of each one found is copied into
    /// the start of the matching buffer of `values` if it fits (pass `&mut []` to copy none).
    ///
    /// A key is `Ok(None)` if the bloom filter rules it out or the pass ended without finding
    /// it. If the pass fails (a malformed entry), the keys not found before the failure get
    /// the error; those found before it keep their answer. A failed copy is that key's error.
    pub fn find_xattrs<const N: usize>(
        &self,
        inode: &Inode,
        keys: [&XattrKey<'_>; N],
        values: [&mut [u8]; N],
    ) -> [XattrFound; N] {
        let keys = keys.map(|k| (k, k.filter_bit()));
        self.find_xattrs_in(&mut Cursor::new(self), inode, keys, values)
    }

    /// Decodes inode `nid` as [`Image::inode`] does and, if `want` says so for it, finds the
    /// xattrs `keys` as [`Image::find_xattrs`] does, through one cursor: an inode and its
    /// xattrs usually share a block, which is then got from the source once.
    pub fn inode_with_xattrs<const N: usize>(
        &self,
        nid: u64,
        want: impl FnOnce(&Inode) -> bool,
        keys: [&HashedXattrKey<'_>; N],
        values: [&mut [u8]; N],
    ) -> Result<(Inode, [XattrFound; N])> {
        let mut cur = Cursor::new(self);
        let inode = self.inode_in(&mut cur, nid)?;
        let found = if want(&inode) {
            self.find_xattrs_in(
                &mut cur,
                &inode,
                keys.map(|k| (&k.key, Some(k.bit))),
                values,
            )
        } else {
            [const { Ok(None) }; N]
        };
        Ok((inode, found))
    }

    /// [`Image::find_xattrs`], reading through `cur`, with each key's filter bit given.
    fn find_xattrs_in<const N: usize>(
        &self,
        cur: &mut Cursor<'_, S>,
        inode: &Inode,
        keys: [(&XattrKey<'_>, Option<u32>); N],
        values: [&mut [u8]; N],
    ) -> [XattrFound; N] {
        let mut found: [XattrFound; N] = [const { Ok(None) }; N];
        if inode.xattr_size == 0 {
            return found;
        }
        let mut wanted = [false; N];
        let mut left = 0usize;
        match self.xattr_filter(cur, inode) {
            Ok(filter) => {
                for (w, (_, bit)) in wanted.iter_mut().zip(keys.iter()) {
                    *w = !Self::xattr_filtered(filter, *bit);
                    left += usize::from(*w);
                }
            }
            Err(e) => {
                for slot in found.iter_mut() {
                    *slot = Err(e);
                }
            }
        }
        if left == 0 {
            return found;
        }
        // Values are copied as their entries are met if they are in the block being read
        // (`copied`); the others once the pass is over.
        let mut copied = [false; N];
        let mut values = values;
        let r = self.for_each_xattr_in(cur, inode, |x| {
            for ((((w, (key, _)), slot), buf), done) in wanted
                .iter_mut()
                .zip(keys.iter())
                .zip(found.iter_mut())
                .zip(values.iter_mut())
                .zip(copied.iter_mut())
            {
                if *w && key.matches(x.index, x.suffix) {
                    *w = false;
                    *slot = Ok(Some((x.value_offset, x.value_len)));
                    left -= 1;
                    if let (Some(v), Some(dst)) = (x.value, buf.get_mut(..usize::from(x.value_len)))
                    {
                        if v.len() == dst.len() {
                            dst.copy_from_slice(v);
                            *done = true;
                        }
                    }
                }
            }
            Ok(left > 0)
        });
        if let Err(e) = r {
            for (w, slot) in wanted.iter().zip(found.iter_mut()) {
                if *w {
                    *slot = Err(e);
                }
            }
        }
        for ((slot, buf), done) in found.iter_mut().zip(values).zip(copied) {
            if done {
                continue;
            }
            if let Ok(Some((off, len))) = *slot {
                if let Some(dst) = buf.get_mut(..usize::from(len)) {
                    if let Err(e) = cur.read_exact_at(off, dst) {
                        *slot = Err(e);
                    }
                }
            }
        }
        found
    }

    /// Finds the xattr with the full `name` (e.g. `user.foo`) and copies its value into `buf`;
    /// returns the value length, or `None` if absent. With an empty `buf` only the length is
    /// returned; a non-empty `buf` that is too small gives [`FormatError::BufferTooSmall`].
    #[cfg(cfs_tools)]
    pub fn get_xattr(&self, inode: &Inode, name: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        let (index, suffix) = xattr_split_name(name);
        let key = XattrKey {
            index,
            head: suffix,
            tail: b"",
        };
        let Some((off, len)) = self.find_xattr(inode, &key)? else {
            return Ok(None);
        };
        let len = usize::from(len);
        if buf.is_empty() {
            return Ok(Some(len));
        }
        let dst = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
        self.read_exact_at(off, dst)?;
        Ok(Some(len))
    }
}
