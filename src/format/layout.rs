// SPDX-License-Identifier: GPL-2.0 OR MIT

//! On-disk constants and little-endian structures of a composefs image.
//!
//! A composefs image is an EROFS image with a 32-byte composefs header at offset 0. Every
//! structure here has a `parse` function that decodes it from the start of a byte slice
//! (checking the slice is long enough) and a `to_bytes` function that encodes it for a
//! writer (the tools only: `cfg(cfs_tools)`). No function here panics.

use super::error::{FormatError, Result};

/// Magic number of the composefs header.
pub const COMPOSEFS_MAGIC: u32 = 0xd078_629a;
/// The only composefs header version.
pub const COMPOSEFS_VERSION: u32 = 1;
/// Header flag: some inode carries a POSIX ACL xattr (without it EROFS is mounted `noacl`).
pub const COMPOSEFS_FLAGS_HAS_ACL: u32 = 1 << 0;
/// Size of the composefs header.
pub const COMPOSEFS_HEADER_SIZE: usize = 32;

/// Block size of composefs images (EROFS supports others; composefs uses only this one).
pub const BLOCK_SIZE: usize = 4096;
/// log2 of [`BLOCK_SIZE`].
pub const BLOCK_BITS: u32 = 12;
/// [`BLOCK_SIZE`] as a `u64`, for offset arithmetic.
pub const BLOCK_SIZE_U64: u64 = 4096;

/// Byte offset of the EROFS superblock.
pub const EROFS_SUPER_OFFSET: usize = 1024;
/// Size of the EROFS superblock.
pub const EROFS_SUPER_SIZE: usize = 128;
/// EROFS superblock magic.
pub const EROFS_SUPER_MAGIC: u32 = 0xe0f5_e1e2;
/// Seed of the EROFS superblock crc32c (the crc32c of the magic and the zeroed checksum).
pub const EROFS_SB_CHKSUM_SEED: u32 = 0x5045_b54a;

/// Compatible feature: the superblock carries a crc32c checksum.
pub const EROFS_FEATURE_COMPAT_SB_CHKSUM: u32 = 0x1;
/// Compatible feature: extended inodes carry an mtime.
pub const EROFS_FEATURE_COMPAT_MTIME: u32 = 0x2;
/// Compatible feature: xattr areas start with a bloom filter of the names present.
pub const EROFS_FEATURE_COMPAT_XATTR_FILTER: u32 = 0x4;
/// Incompatible feature: chunk-based files.
pub const EROFS_FEATURE_INCOMPAT_CHUNKED_FILE: u32 = 0x4;
/// The compatible features a composefs image may have.
pub const SUPPORTED_COMPAT: u32 =
    EROFS_FEATURE_COMPAT_SB_CHKSUM | EROFS_FEATURE_COMPAT_MTIME | EROFS_FEATURE_COMPAT_XATTR_FILTER;
/// The incompatible features a composefs image may have.
pub const SUPPORTED_INCOMPAT: u32 = EROFS_FEATURE_INCOMPAT_CHUNKED_FILE;

/// log2 of the inode slot size: `nid << ISLOT_BITS` is an inode's byte offset.
pub const ISLOT_BITS: u32 = 5;
/// Size of a compact inode.
pub const INODE_COMPACT_SIZE: usize = 32;
/// Size of an extended inode.
pub const INODE_EXTENDED_SIZE: usize = 64;

/// `i_format` bit 0: 0 for a compact, 1 for an extended inode.
pub const I_VERSION_MASK: u16 = 0x1;
/// `i_format` bits 1..=3: the data layout.
pub const I_DATALAYOUT_SHIFT: u16 = 1;
/// Mask of the data layout after shifting.
pub const I_DATALAYOUT_MASK: u16 = 0x7;
/// The `i_format` bits composefs images may use (version and layout).
pub const I_FORMAT_SUPPORTED: u16 = 0xf;

/// Data layout: data in `ceil(size / 4096)` consecutive blocks from `raw_blkaddr`.
pub const EROFS_INODE_FLAT_PLAIN: u8 = 0;
/// Data layout: full blocks from `raw_blkaddr`, the last partial block inline after the inode.
pub const EROFS_INODE_FLAT_INLINE: u8 = 2;
/// Data layout: chunk-based, with a chunk index array inline after the inode.
pub const EROFS_INODE_CHUNK_BASED: u8 = 4;

/// Chunk format: mask of `chunkbits - 12`.
pub const EROFS_CHUNK_FORMAT_BLKBITS_MASK: u16 = 0x1f;
/// Chunk format: the chunk array holds 8-byte `erofs_inode_chunk_index` entries.
pub const EROFS_CHUNK_FORMAT_INDEXES: u16 = 0x20;
/// Chunk format flag: 48-bit block addresses (not used by composefs images).
pub const EROFS_CHUNK_FORMAT_48BIT: u16 = 0x40;
/// Every chunk format bit EROFS knows.
pub const EROFS_CHUNK_FORMAT_ALL: u16 = (EROFS_CHUNK_FORMAT_48BIT << 1) - 1;
/// Block address meaning "no block" (a hole).
pub const EROFS_NULL_ADDR: u32 = 0xffff_ffff;

/// Size of a directory entry.
pub const DIRENT_SIZE: usize = 12;
/// Longest file name.
pub const NAME_MAX: usize = 255;
/// Longest path (including the terminating NUL in C terms): symlink targets and redirects are
/// shorter than this.
pub const PATH_MAX: usize = 4096;

/// Directory entry file type: unknown.
#[cfg(cfs_tools)]
pub const EROFS_FT_UNKNOWN: u8 = 0;
/// Directory entry file type: regular file.
pub const EROFS_FT_REG_FILE: u8 = 1;
/// Directory entry file type: directory.
pub const EROFS_FT_DIR: u8 = 2;
/// Directory entry file type: character device.
pub const EROFS_FT_CHRDEV: u8 = 3;
/// Directory entry file type: block device.
pub const EROFS_FT_BLKDEV: u8 = 4;
/// Directory entry file type: FIFO.
pub const EROFS_FT_FIFO: u8 = 5;
/// Directory entry file type: socket.
pub const EROFS_FT_SOCK: u8 = 6;
/// Directory entry file type: symbolic link.
pub const EROFS_FT_SYMLINK: u8 = 7;
/// Largest valid directory entry file type.
pub const EROFS_FT_MAX: u8 = 7;

/// `st_mode` file type mask.
pub const S_IFMT: u32 = 0o170000;
/// `st_mode` type: socket.
pub const S_IFSOCK: u32 = 0o140000;
/// `st_mode` type: symbolic link.
pub const S_IFLNK: u32 = 0o120000;
/// `st_mode` type: regular file.
pub const S_IFREG: u32 = 0o100000;
/// `st_mode` type: block device.
pub const S_IFBLK: u32 = 0o060000;
/// `st_mode` type: directory.
pub const S_IFDIR: u32 = 0o040000;
/// `st_mode` type: character device.
pub const S_IFCHR: u32 = 0o020000;
/// `st_mode` type: FIFO.
pub const S_IFIFO: u32 = 0o010000;

/// Size of the xattr ibody header.
pub const XATTR_IBODY_HEADER_SIZE: usize = 12;
/// Size of an xattr entry header (before its name and value).
pub const XATTR_ENTRY_SIZE: usize = 4;
/// Xattr entries and shared ids are aligned to this.
#[cfg(cfs_tools)]
pub const XATTR_ALIGN: usize = 4;
/// Longest xattr name (`XATTR_NAME_MAX`).
#[cfg(cfs_tools)]
pub const XATTR_NAME_MAX: usize = 255;
/// Longest xattr value an entry can hold.
#[cfg(cfs_tools)]
pub const XATTR_VALUE_MAX: usize = 65535;
/// `e_name_index` bit marking a long-prefix name (needs `xattr_prefix_count`, unused here).
pub const EROFS_XATTR_LONG_PREFIX: u8 = 0x80;

/// Xattr name index: no prefix, the entry holds the full name.
pub const XATTR_INDEX_NONE: u8 = 0;
/// Xattr name index: `user.`.
pub const XATTR_INDEX_USER: u8 = 1;
/// Xattr name index: the full name `system.posix_acl_access`.
pub const XATTR_INDEX_POSIX_ACL_ACCESS: u8 = 2;
/// Xattr name index: the full name `system.posix_acl_default`.
pub const XATTR_INDEX_POSIX_ACL_DEFAULT: u8 = 3;
/// Xattr name index: `trusted.`.
pub const XATTR_INDEX_TRUSTED: u8 = 4;
/// Xattr name index: `lustre.` (never written by composefs writers).
pub const XATTR_INDEX_LUSTRE: u8 = 5;
/// Xattr name index: `security.`.
pub const XATTR_INDEX_SECURITY: u8 = 6;

/// Seed of the xattr name bloom filter hash (plus the name index).
pub const EROFS_XATTR_FILTER_SEED: u32 = 0x25bb_e08f;
/// Number of bits in the xattr name bloom filter.
pub const EROFS_XATTR_FILTER_BITS: u32 = 32;

/// Returns the name prefix of a built-in xattr name index, or `None` for an unknown index.
///
/// Index 0 has the empty prefix (the entry holds the full name).
pub fn xattr_prefix(index: u8) -> Option<&'static [u8]> {
    match index {
        XATTR_INDEX_NONE => Some(b""),
        XATTR_INDEX_USER => Some(b"user."),
        XATTR_INDEX_POSIX_ACL_ACCESS => Some(b"system.posix_acl_access"),
        XATTR_INDEX_POSIX_ACL_DEFAULT => Some(b"system.posix_acl_default"),
        XATTR_INDEX_TRUSTED => Some(b"trusted."),
        XATTR_INDEX_LUSTRE => Some(b"lustre."),
        XATTR_INDEX_SECURITY => Some(b"security."),
        _ => None,
    }
}

/// Splits a full xattr name into the (index, suffix) pair composefs writers use.
///
/// Matches upstream mkcomposefs: `lustre.` is not abbreviated; the ACL names are used only
/// when the name is exactly the ACL name.
pub fn xattr_split_name(name: &[u8]) -> (u8, &[u8]) {
    if name == b"system.posix_acl_access" {
        return (XATTR_INDEX_POSIX_ACL_ACCESS, b"");
    }
    if name == b"system.posix_acl_default" {
        return (XATTR_INDEX_POSIX_ACL_DEFAULT, b"");
    }
    for (index, prefix) in [
        (XATTR_INDEX_USER, &b"user."[..]),
        (XATTR_INDEX_TRUSTED, &b"trusted."[..]),
        (XATTR_INDEX_SECURITY, &b"security."[..]),
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return (index, rest);
        }
    }
    (XATTR_INDEX_NONE, name)
}

/// Size of an inline xattr area for `i_xattr_icount` (0 means no area).
pub fn xattr_ibody_size(icount: u16) -> usize {
    if icount == 0 {
        0
    } else {
        // At most 12 + 65534 * 4, no overflow in usize (at least 32 bits).
        XATTR_IBODY_HEADER_SIZE + (usize::from(icount) - 1) * 4
    }
}

/// Size of one xattr entry with its name and value, padded to 4 bytes.
#[cfg(cfs_tools)]
pub fn xattr_entry_size(name_len: usize, value_len: usize) -> Option<usize> {
    let raw = XATTR_ENTRY_SIZE
        .checked_add(name_len)?
        .checked_add(value_len)?;
    round_up(raw, XATTR_ALIGN)
}

/// Rounds `v` up to a multiple of `align` (a power of two), or `None` on overflow.
#[cfg(cfs_tools)]
pub fn round_up(v: usize, align: usize) -> Option<usize> {
    let mask = align.checked_sub(1)?;
    Some(v.checked_add(mask)? & !mask)
}

/// Rounds `v` up to a multiple of `align` (a power of two), or `None` on overflow.
pub fn round_up_u64(v: u64, align: u64) -> Option<u64> {
    let mask = align.checked_sub(1)?;
    Some(v.checked_add(mask)? & !mask)
}

// Little-endian field access. The slice patterns below make these free of panics: a short
// slice yields zero, and every caller has checked the length of the structure first.

pub(crate) fn get_u8(b: &[u8], off: usize) -> u8 {
    b.get(off).copied().unwrap_or(0)
}

pub(crate) fn get_u16(b: &[u8], off: usize) -> u16 {
    match b.get(off..) {
        Some(&[x0, x1, ..]) => u16::from_le_bytes([x0, x1]),
        _ => 0,
    }
}

pub(crate) fn get_u32(b: &[u8], off: usize) -> u32 {
    match b.get(off..) {
        Some(&[x0, x1, x2, x3, ..]) => u32::from_le_bytes([x0, x1, x2, x3]),
        _ => 0,
    }
}

pub(crate) fn get_u64(b: &[u8], off: usize) -> u64 {
    match b.get(off..) {
        Some(&[x0, x1, x2, x3, x4, x5, x6, x7, ..]) => {
            u64::from_le_bytes([x0, x1, x2, x3, x4, x5, x6, x7])
        }
        _ => 0,
    }
}

pub(crate) fn get_array<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(off..) {
        for (d, s) in out.iter_mut().zip(src) {
            *d = *s;
        }
    }
    out
}

#[cfg(cfs_tools)]
pub(crate) fn put(out: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(dst) = out.get_mut(off..) {
        for (d, s) in dst.iter_mut().zip(bytes) {
            *d = *s;
        }
    }
}

fn check_len(b: &[u8], n: usize) -> Result<()> {
    if b.len() < n {
        Err(FormatError::Truncated)
    } else {
        Ok(())
    }
}

/// The 32-byte composefs header at offset 0 of an image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ComposefsHeader {
    /// [`COMPOSEFS_MAGIC`].
    pub magic: u32,
    /// [`COMPOSEFS_VERSION`].
    pub version: u32,
    /// `COMPOSEFS_FLAGS_*`.
    pub flags: u32,
    /// The composefs format version the writer used (0 or 1; composefs-rs may write 2).
    pub composefs_version: u32,
}

impl ComposefsHeader {
    /// Decodes the header from the start of `b` without validating it.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, COMPOSEFS_HEADER_SIZE)?;
        Ok(Self {
            magic: get_u32(b, 0),
            version: get_u32(b, 4),
            flags: get_u32(b, 8),
            composefs_version: get_u32(b, 12),
        })
    }

    /// Checks the magic and the version.
    pub fn validate(&self) -> Result<()> {
        if self.magic != COMPOSEFS_MAGIC {
            return Err(FormatError::BadMagic);
        }
        if self.version != COMPOSEFS_VERSION {
            return Err(FormatError::BadVersion);
        }
        Ok(())
    }

    /// Encodes the header.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; COMPOSEFS_HEADER_SIZE] {
        let mut out = [0u8; COMPOSEFS_HEADER_SIZE];
        put(&mut out, 0, &self.magic.to_le_bytes());
        put(&mut out, 4, &self.version.to_le_bytes());
        put(&mut out, 8, &self.flags.to_le_bytes());
        put(&mut out, 12, &self.composefs_version.to_le_bytes());
        out
    }
}

/// The 128-byte EROFS superblock at offset 1024.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SuperBlock {
    /// [`EROFS_SUPER_MAGIC`].
    pub magic: u32,
    /// crc32c of the superblock block when `SB_CHKSUM` is set.
    pub checksum: u32,
    /// `EROFS_FEATURE_COMPAT_*`.
    pub feature_compat: u32,
    /// log2 of the block size.
    pub blkszbits: u8,
    /// Number of 16-byte superblock extension slots.
    pub sb_extslots: u8,
    /// nid of the root directory.
    pub root_nid: u16,
    /// Number of inodes.
    pub inos: u64,
    /// Build time; compact inodes take their mtime from it.
    pub build_time: u64,
    /// Nanoseconds of the build time.
    pub build_time_nsec: u32,
    /// Number of blocks of the image.
    pub blocks: u32,
    /// Block of the inode table.
    pub meta_blkaddr: u32,
    /// Block the shared xattr ids count from.
    pub xattr_blkaddr: u32,
    /// Filesystem UUID.
    pub uuid: [u8; 16],
    /// Volume name.
    pub volume_name: [u8; 16],
    /// `EROFS_FEATURE_INCOMPAT_*`.
    pub feature_incompat: u32,
    /// Compression algorithms / LZ4 distance.
    pub u1: u16,
    /// Number of extra devices.
    pub extra_devices: u16,
    /// Device table slot offset.
    pub devt_slotoff: u16,
    /// Directory block size bits (must be 0).
    pub dirblkbits: u8,
    /// Number of long xattr name prefixes.
    pub xattr_prefix_count: u8,
    /// Start of the long xattr name prefix table.
    pub xattr_prefix_start: u32,
    /// nid of the packed inode.
    pub packed_nid: u64,
    /// Must be 0 for the xattr bloom filter to be used.
    pub xattr_filter_reserved: u8,
}

impl SuperBlock {
    /// Decodes the superblock from the start of `b` (which starts at image offset 1024)
    /// without validating it.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, EROFS_SUPER_SIZE)?;
        Ok(Self {
            magic: get_u32(b, 0),
            checksum: get_u32(b, 4),
            feature_compat: get_u32(b, 8),
            blkszbits: get_u8(b, 12),
            sb_extslots: get_u8(b, 13),
            root_nid: get_u16(b, 14),
            inos: get_u64(b, 16),
            build_time: get_u64(b, 24),
            build_time_nsec: get_u32(b, 32),
            blocks: get_u32(b, 36),
            meta_blkaddr: get_u32(b, 40),
            xattr_blkaddr: get_u32(b, 44),
            uuid: get_array(b, 48),
            volume_name: get_array(b, 64),
            feature_incompat: get_u32(b, 80),
            u1: get_u16(b, 84),
            extra_devices: get_u16(b, 86),
            devt_slotoff: get_u16(b, 88),
            dirblkbits: get_u8(b, 90),
            xattr_prefix_count: get_u8(b, 91),
            xattr_prefix_start: get_u32(b, 92),
            packed_nid: get_u64(b, 96),
            xattr_filter_reserved: get_u8(b, 104),
        })
    }

    /// Checks the fields the way composefs readers do: EROFS magic, 4096-byte blocks, only
    /// the features composefs images use, no extension slots, inode table at block 0, no
    /// packed inode, no long xattr prefixes, no extra devices.
    ///
    /// The checksum (if `SB_CHKSUM` is set) needs the whole first block; see
    /// [`SuperBlock::verify_checksum`].
    pub fn validate(&self) -> Result<()> {
        if self.magic != EROFS_SUPER_MAGIC {
            return Err(FormatError::BadErofsMagic);
        }
        if u32::from(self.blkszbits) != BLOCK_BITS {
            return Err(FormatError::BadBlockSize);
        }
        if self.feature_compat & !SUPPORTED_COMPAT != 0
            || self.feature_incompat & !SUPPORTED_INCOMPAT != 0
        {
            return Err(FormatError::UnsupportedFeature);
        }
        if self.sb_extslots != 0
            || self.meta_blkaddr != 0
            || self.dirblkbits != 0
            || self.packed_nid != 0
            || self.xattr_prefix_count != 0
            || self.extra_devices != 0
        {
            return Err(FormatError::BadSuperblock);
        }
        Ok(())
    }

    /// Verifies the superblock checksum over `block0` (the image's first block, at least
    /// 4096 bytes) as EROFS does when `SB_CHKSUM` is set; succeeds if the flag is clear.
    pub fn verify_checksum(&self, block0: &[u8]) -> Result<()> {
        if self.feature_compat & EROFS_FEATURE_COMPAT_SB_CHKSUM == 0 {
            return Ok(());
        }
        // The checksum covers the superblock block from after the checksum field to its end.
        let covered = block0
            .get(EROFS_SUPER_OFFSET + 8..BLOCK_SIZE)
            .ok_or(FormatError::Truncated)?;
        if crc32c(EROFS_SB_CHKSUM_SEED, covered) != self.checksum {
            return Err(FormatError::BadChecksum);
        }
        Ok(())
    }

    /// Encodes the superblock.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; EROFS_SUPER_SIZE] {
        let mut out = [0u8; EROFS_SUPER_SIZE];
        put(&mut out, 0, &self.magic.to_le_bytes());
        put(&mut out, 4, &self.checksum.to_le_bytes());
        put(&mut out, 8, &self.feature_compat.to_le_bytes());
        put(&mut out, 12, &[self.blkszbits, self.sb_extslots]);
        put(&mut out, 14, &self.root_nid.to_le_bytes());
        put(&mut out, 16, &self.inos.to_le_bytes());
        put(&mut out, 24, &self.build_time.to_le_bytes());
        put(&mut out, 32, &self.build_time_nsec.to_le_bytes());
        put(&mut out, 36, &self.blocks.to_le_bytes());
        put(&mut out, 40, &self.meta_blkaddr.to_le_bytes());
        put(&mut out, 44, &self.xattr_blkaddr.to_le_bytes());
        put(&mut out, 48, &self.uuid);
        put(&mut out, 64, &self.volume_name);
        put(&mut out, 80, &self.feature_incompat.to_le_bytes());
        put(&mut out, 84, &self.u1.to_le_bytes());
        put(&mut out, 86, &self.extra_devices.to_le_bytes());
        put(&mut out, 88, &self.devt_slotoff.to_le_bytes());
        put(&mut out, 90, &[self.dirblkbits, self.xattr_prefix_count]);
        put(&mut out, 92, &self.xattr_prefix_start.to_le_bytes());
        put(&mut out, 96, &self.packed_nid.to_le_bytes());
        put(&mut out, 104, &[self.xattr_filter_reserved]);
        out
    }
}

/// crc32c (Castagnoli, reflected) of `data` starting from state `crc`, without the final
/// inversion: the kernel's `crc32c(crc, data, len)`.
pub fn crc32c(mut crc: u32, data: &[u8]) -> u32 {
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82f6_3b78 & mask);
        }
    }
    crc
}

/// A compact (32-byte) on-disk inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeCompact {
    /// `datalayout << 1 | 0`.
    pub i_format: u16,
    /// Xattr area size in 4-byte units (see [`xattr_ibody_size`]).
    pub i_xattr_icount: u16,
    /// File mode.
    pub i_mode: u16,
    /// Link count.
    pub i_nlink: u16,
    /// File size.
    pub i_size: u32,
    /// mtime relative to the superblock `build_time` (composefs writes 0).
    pub i_mtime: u32,
    /// `raw_blkaddr`, `rdev` or chunk format, depending on the type and layout.
    pub i_u: u32,
    /// Inode number reported to userspace.
    pub i_ino: u32,
    /// Owner.
    pub i_uid: u16,
    /// Group.
    pub i_gid: u16,
}

impl InodeCompact {
    /// Decodes a compact inode from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, INODE_COMPACT_SIZE)?;
        Ok(Self {
            i_format: get_u16(b, 0),
            i_xattr_icount: get_u16(b, 2),
            i_mode: get_u16(b, 4),
            i_nlink: get_u16(b, 6),
            i_size: get_u32(b, 8),
            i_mtime: get_u32(b, 12),
            i_u: get_u32(b, 16),
            i_ino: get_u32(b, 20),
            i_uid: get_u16(b, 24),
            i_gid: get_u16(b, 26),
        })
    }

    /// Encodes the inode.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; INODE_COMPACT_SIZE] {
        let mut out = [0u8; INODE_COMPACT_SIZE];
        put(&mut out, 0, &self.i_format.to_le_bytes());
        put(&mut out, 2, &self.i_xattr_icount.to_le_bytes());
        put(&mut out, 4, &self.i_mode.to_le_bytes());
        put(&mut out, 6, &self.i_nlink.to_le_bytes());
        put(&mut out, 8, &self.i_size.to_le_bytes());
        put(&mut out, 12, &self.i_mtime.to_le_bytes());
        put(&mut out, 16, &self.i_u.to_le_bytes());
        put(&mut out, 20, &self.i_ino.to_le_bytes());
        put(&mut out, 24, &self.i_uid.to_le_bytes());
        put(&mut out, 26, &self.i_gid.to_le_bytes());
        out
    }
}

/// An extended (64-byte) on-disk inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InodeExtended {
    /// `datalayout << 1 | 1`.
    pub i_format: u16,
    /// Xattr area size in 4-byte units (see [`xattr_ibody_size`]).
    pub i_xattr_icount: u16,
    /// File mode.
    pub i_mode: u16,
    /// File size.
    pub i_size: u64,
    /// `raw_blkaddr`, `rdev` or chunk format, depending on the type and layout.
    pub i_u: u32,
    /// Inode number reported to userspace.
    pub i_ino: u32,
    /// Owner.
    pub i_uid: u32,
    /// Group.
    pub i_gid: u32,
    /// Modification time, seconds.
    pub i_mtime: u64,
    /// Modification time, nanoseconds.
    pub i_mtime_nsec: u32,
    /// Link count.
    pub i_nlink: u32,
}

impl InodeExtended {
    /// Decodes an extended inode from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, INODE_EXTENDED_SIZE)?;
        Ok(Self {
            i_format: get_u16(b, 0),
            i_xattr_icount: get_u16(b, 2),
            i_mode: get_u16(b, 4),
            i_size: get_u64(b, 8),
            i_u: get_u32(b, 16),
            i_ino: get_u32(b, 20),
            i_uid: get_u32(b, 24),
            i_gid: get_u32(b, 28),
            i_mtime: get_u64(b, 32),
            i_mtime_nsec: get_u32(b, 40),
            i_nlink: get_u32(b, 44),
        })
    }

    /// Encodes the inode.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; INODE_EXTENDED_SIZE] {
        let mut out = [0u8; INODE_EXTENDED_SIZE];
        put(&mut out, 0, &self.i_format.to_le_bytes());
        put(&mut out, 2, &self.i_xattr_icount.to_le_bytes());
        put(&mut out, 4, &self.i_mode.to_le_bytes());
        put(&mut out, 8, &self.i_size.to_le_bytes());
        put(&mut out, 16, &self.i_u.to_le_bytes());
        put(&mut out, 20, &self.i_ino.to_le_bytes());
        put(&mut out, 24, &self.i_uid.to_le_bytes());
        put(&mut out, 28, &self.i_gid.to_le_bytes());
        put(&mut out, 32, &self.i_mtime.to_le_bytes());
        put(&mut out, 40, &self.i_mtime_nsec.to_le_bytes());
        put(&mut out, 44, &self.i_nlink.to_le_bytes());
        out
    }
}

/// A 12-byte directory entry header; the names follow the entry array.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dirent {
    /// nid of the entry's inode.
    pub nid: u64,
    /// Offset of the name from the start of the directory block.
    pub nameoff: u16,
    /// `EROFS_FT_*`.
    pub file_type: u8,
}

impl Dirent {
    /// Decodes a directory entry from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, DIRENT_SIZE)?;
        Ok(Self {
            nid: get_u64(b, 0),
            nameoff: get_u16(b, 8),
            file_type: get_u8(b, 10),
        })
    }

    /// Encodes the entry.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; DIRENT_SIZE] {
        let mut out = [0u8; DIRENT_SIZE];
        put(&mut out, 0, &self.nid.to_le_bytes());
        put(&mut out, 8, &self.nameoff.to_le_bytes());
        put(&mut out, 10, &[self.file_type]);
        out
    }
}

/// The 12-byte header of an inode's xattr area; `h_shared_count` 4-byte shared ids follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrIbodyHeader {
    /// Bloom filter: bit `xxh32(suffix, seed + index) % 32` is clear if a name may be present.
    pub h_name_filter: u32,
    /// Number of shared xattr ids after the header.
    pub h_shared_count: u8,
}

impl XattrIbodyHeader {
    /// Decodes the header from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, XATTR_IBODY_HEADER_SIZE)?;
        Ok(Self {
            h_name_filter: get_u32(b, 0),
            h_shared_count: get_u8(b, 4),
        })
    }

    /// Encodes the header.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; XATTR_IBODY_HEADER_SIZE] {
        let mut out = [0u8; XATTR_IBODY_HEADER_SIZE];
        put(&mut out, 0, &self.h_name_filter.to_le_bytes());
        put(&mut out, 4, &[self.h_shared_count]);
        out
    }
}

/// The 4-byte header of an xattr entry; the name suffix and the value follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XattrEntry {
    /// Length of the name suffix.
    pub e_name_len: u8,
    /// Name prefix index (`XATTR_INDEX_*`).
    pub e_name_index: u8,
    /// Length of the value.
    pub e_value_size: u16,
}

impl XattrEntry {
    /// Decodes an entry header from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, XATTR_ENTRY_SIZE)?;
        Ok(Self {
            e_name_len: get_u8(b, 0),
            e_name_index: get_u8(b, 1),
            e_value_size: get_u16(b, 2),
        })
    }

    /// Size of the whole entry (header, name and value) padded to 4 bytes.
    pub fn total_size(&self) -> usize {
        // At most 4 + 255 + 65535 rounded up: no overflow.
        (XATTR_ENTRY_SIZE + usize::from(self.e_name_len) + usize::from(self.e_value_size) + 3) & !3
    }

    /// Encodes the entry header.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; XATTR_ENTRY_SIZE] {
        let [lo, hi] = self.e_value_size.to_le_bytes();
        [self.e_name_len, self.e_name_index, lo, hi]
    }
}

/// Overlayfs xattr names and values used by composefs.
pub mod overlay_names {
    /// Prefix of overlayfs' own xattrs.
    pub const PREFIX: &[u8] = b"trusted.overlay.";
    /// Prefix of escaped xattrs: `trusted.overlay.overlay.X` is shown as `trusted.overlay.X`.
    pub const ESCAPE_PREFIX: &[u8] = b"trusted.overlay.overlay.";
    /// Prefix of overlayfs' user-namespace xattrs.
    #[cfg(cfs_tools)]
    pub const USER_PREFIX: &[u8] = b"user.overlay.";
    /// The metacopy xattr (with a digest: `struct ovl_metacopy`).
    #[cfg(cfs_tools)]
    pub const METACOPY: &[u8] = b"trusted.overlay.metacopy";
    /// The redirect xattr: absolute path of the backing object in the data layers.
    #[cfg(cfs_tools)]
    pub const REDIRECT: &[u8] = b"trusted.overlay.redirect";
    /// The opaque directory xattr (`y` on the root; `x` on directories with whiteouts).
    #[cfg(cfs_tools)]
    pub const OPAQUE: &[u8] = b"trusted.overlay.opaque";
    /// Escaped whiteout marker on a regular file standing for a user whiteout.
    #[cfg(cfs_tools)]
    pub const ESCAPED_WHITEOUT: &[u8] = b"trusted.overlay.overlay.whiteout";
    /// Escaped marker on a directory holding escaped whiteouts.
    #[cfg(cfs_tools)]
    pub const ESCAPED_WHITEOUTS: &[u8] = b"trusted.overlay.overlay.whiteouts";
    /// Escaped opaque marker.
    #[cfg(cfs_tools)]
    pub const ESCAPED_OPAQUE: &[u8] = b"trusted.overlay.overlay.opaque";
    /// User-namespace whiteout marker.
    #[cfg(cfs_tools)]
    pub const USER_WHITEOUT: &[u8] = b"user.overlay.whiteout";
    /// User-namespace marker of a directory holding whiteouts.
    #[cfg(cfs_tools)]
    pub const USER_WHITEOUTS: &[u8] = b"user.overlay.whiteouts";
    /// User-namespace opaque marker.
    #[cfg(cfs_tools)]
    pub const USER_OPAQUE: &[u8] = b"user.overlay.opaque";
}

/// fs-verity hash algorithm number of sha256 (metacopy `digest_algo`).
pub const FS_VERITY_HASH_ALG_SHA256: u8 = 1;
/// fs-verity hash algorithm number of sha512 (metacopy `digest_algo`).
pub const FS_VERITY_HASH_ALG_SHA512: u8 = 2;
/// Size of the metacopy header before the digest.
pub const METACOPY_HEADER_SIZE: usize = 4;
/// Largest fs-verity digest (sha512).
pub const MAX_DIGEST_SIZE: usize = 64;

/// Digest size of an fs-verity hash algorithm, or `None` if unknown.
#[cfg(cfs_tools)]
pub fn digest_size(algo: u8) -> Option<usize> {
    match algo {
        FS_VERITY_HASH_ALG_SHA256 => Some(32),
        FS_VERITY_HASH_ALG_SHA512 => Some(64),
        _ => None,
    }
}

/// The header of a `trusted.overlay.metacopy` value (overlayfs' `struct ovl_metacopy`); the
/// digest follows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MetacopyHeader {
    /// Version, 0.
    pub version: u8,
    /// Length of the whole value (header and digest).
    pub len: u8,
    /// Flags, 0.
    pub flags: u8,
    /// `FS_VERITY_HASH_ALG_*`.
    pub digest_algo: u8,
}

impl MetacopyHeader {
    /// Decodes the header from the start of `b`.
    pub fn parse(b: &[u8]) -> Result<Self> {
        check_len(b, METACOPY_HEADER_SIZE)?;
        Ok(Self {
            version: get_u8(b, 0),
            len: get_u8(b, 1),
            flags: get_u8(b, 2),
            digest_algo: get_u8(b, 3),
        })
    }

    /// Encodes the header.
    #[cfg(cfs_tools)]
    pub fn to_bytes(&self) -> [u8; METACOPY_HEADER_SIZE] {
        [self.version, self.len, self.flags, self.digest_algo]
    }
}

/// The `st_mode` file type of an `EROFS_FT_*` directory entry type, or `None` for
/// `EROFS_FT_UNKNOWN` or an invalid value.
#[cfg(cfs_tools)]
pub fn file_type_to_mode(ft: u8) -> Option<u32> {
    match ft {
        EROFS_FT_REG_FILE => Some(S_IFREG),
        EROFS_FT_DIR => Some(S_IFDIR),
        EROFS_FT_CHRDEV => Some(S_IFCHR),
        EROFS_FT_BLKDEV => Some(S_IFBLK),
        EROFS_FT_FIFO => Some(S_IFIFO),
        EROFS_FT_SOCK => Some(S_IFSOCK),
        EROFS_FT_SYMLINK => Some(S_IFLNK),
        _ => None,
    }
}

/// The `EROFS_FT_*` directory entry type of a mode.
#[cfg(cfs_tools)]
pub fn mode_to_file_type(mode: u32) -> u8 {
    match mode & S_IFMT {
        S_IFREG => EROFS_FT_REG_FILE,
        S_IFDIR => EROFS_FT_DIR,
        S_IFCHR => EROFS_FT_CHRDEV,
        S_IFBLK => EROFS_FT_BLKDEV,
        S_IFIFO => EROFS_FT_FIFO,
        S_IFSOCK => EROFS_FT_SOCK,
        S_IFLNK => EROFS_FT_SYMLINK,
        _ => EROFS_FT_UNKNOWN,
    }
}
