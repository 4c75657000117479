// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Inodes: [`Inode`], decoded and validated by [`Image::inode`] (the counterpart of
//! fs/erofs/inode.c).
//!
//! Decoding checks everything later reads rely on: the on-disk format and layout, the file
//! type, and that the xattr area, the inline tail (which must not cross a block; an inline
//! symlink target must hold no NUL, as `erofs_fill_symlink` requires), the plain data blocks
//! and the chunk array all lie inside the image.

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

use super::source::{crosses_block, BlockSource, Cursor};
use super::Image;

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
    pub(super) layout: DataLayout,
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    pub(super) size: u64,
    mtime: i64,
    mtime_nsec: u32,
    pub(super) raw_u: u32,
    ino: u32,
    xattr_icount: u16,
    pub(super) xattr_offset: u64,
    pub(super) xattr_size: u32,
    pub(super) tail_offset: u64,
    pub(super) tail_len: u32,
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
    #[cfg(cfs_tools)]
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
    #[cfg(cfs_tools)]
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

impl<S: BlockSource> Image<S> {
    /// Decodes and validates the inode `nid`.
    pub fn inode(&self, nid: u64) -> Result<Inode> {
        self.inode_in(&mut Cursor::new(self), nid)
    }

    /// [`Image::inode`], reading through `cur`.
    pub(super) fn inode_in(&self, cur: &mut Cursor<'_, S>, nid: u64) -> Result<Inode> {
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
            DataLayout::ChunkBased if inode.file_type() != S_IFREG => {
                // A device, fifo or socket has no data, whatever its layout; EROFS
                // accepts one with a chunk-based layout if the chunk format, which
                // shares its bytes with the device number, is one it knows
                // (`erofs_read_inode`), and so does the reader. (Directories and
                // symlinks were refused above.)
                let format = (inode.raw_u & 0xffff) as u16;
                if format & !EROFS_CHUNK_FORMAT_ALL != 0 {
                    return Err(FormatError::BadChunkFormat);
                }
            }
            DataLayout::ChunkBased => {
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
}
