//! On-disk constants and structures of the composefs image (EROFS with a
//! composefs header), as this writer serializes them. All little-endian.

/// Block size of composefs images.
pub const BLOCK_SIZE: usize = 4096;
/// log2 of [`BLOCK_SIZE`].
pub const BLOCK_BITS: u32 = 12;
/// Inode slot size.
pub const SLOT_SIZE: usize = 32;
/// Offset of the EROFS superblock.
pub const SUPER_OFFSET: usize = 1024;
/// Size of the EROFS superblock.
pub const SUPER_BLOCK_SIZE: usize = 128;
/// Size of a compact inode.
pub const INODE_COMPACT_SIZE: usize = 32;
/// Size of an extended inode.
pub const INODE_EXTENDED_SIZE: usize = 64;
/// Size of a directory entry record.
pub const DIRENT_SIZE: usize = 12;
/// Size of the inline xattr body header.
pub const XATTR_IBODY_HEADER_SIZE: usize = 12;
/// Size of an xattr entry header.
pub const XATTR_ENTRY_SIZE: usize = 4;

/// Composefs header magic.
pub const COMPOSEFS_MAGIC: u32 = 0xd078_629a;
/// Composefs header version.
pub const COMPOSEFS_VERSION: u32 = 1;
/// Header flag: some inode has a POSIX ACL.
pub const COMPOSEFS_FLAGS_HAS_ACL: u32 = 1;
/// EROFS superblock magic.
pub const EROFS_SUPER_MAGIC_V1: u32 = 0xe0f5_e1e2;
/// Compat feature: extended inodes carry mtimes.
pub const FEATURE_COMPAT_MTIME: u32 = 0x2;
/// Compat feature: xattr name bloom filter.
pub const FEATURE_COMPAT_XATTR_FILTER: u32 = 0x4;

/// Data layout: plain blocks.
pub const INODE_FLAT_PLAIN: u16 = 0;
/// Data layout: blocks plus an inline tail.
pub const INODE_FLAT_INLINE: u16 = 2;
/// Data layout: chunk index.
pub const INODE_CHUNK_BASED: u16 = 4;
/// Bit position of the data layout in `i_format`.
pub const INODE_DATALAYOUT_BIT: u16 = 1;
/// Mask of the chunk size bits in the chunk format.
pub const CHUNK_FORMAT_BLKBITS_MASK: u32 = 0x1f;
/// Null block address (a hole).
pub const NULL_ADDR: u32 = 0xffff_ffff;
/// Most chunk entries of an external file.
pub const MAX_NONINLINE_CHUNKS: u64 = 1024;

/// Xattr name index: `user.`.
pub const XATTR_INDEX_USER: u8 = 1;
/// Xattr name index: `system.posix_acl_access`.
pub const XATTR_INDEX_POSIX_ACL_ACCESS: u8 = 2;
/// Xattr name index: `system.posix_acl_default`.
pub const XATTR_INDEX_POSIX_ACL_DEFAULT: u8 = 3;
/// Xattr name index: `trusted.`.
pub const XATTR_INDEX_TRUSTED: u8 = 4;
/// Xattr name index: `security.`.
pub const XATTR_INDEX_SECURITY: u8 = 6;
/// Shared xattr references per inode must stay below this.
pub const XATTR_LONG_PREFIX: usize = 0x80;
/// Bits of the xattr name filter.
pub const XATTR_FILTER_BITS: u32 = 32;
/// Seed of the xattr name filter hash.
pub const XATTR_FILTER_SEED: u32 = 0x25bb_e08f;

/// Directory entry file types.
pub const FT_UNKNOWN: u8 = 0;
/// Regular file.
pub const FT_REG_FILE: u8 = 1;
/// Directory.
pub const FT_DIR: u8 = 2;
/// Character device.
pub const FT_CHRDEV: u8 = 3;
/// Block device.
pub const FT_BLKDEV: u8 = 4;
/// FIFO.
pub const FT_FIFO: u8 = 5;
/// Socket.
pub const FT_SOCK: u8 = 6;
/// Symbolic link.
pub const FT_SYMLINK: u8 = 7;

/// The 32-byte composefs header at offset 0.
pub struct ComposefsHeader {
    /// [`COMPOSEFS_MAGIC`].
    pub magic: u32,
    /// [`COMPOSEFS_VERSION`].
    pub version: u32,
    /// `COMPOSEFS_FLAGS_*`.
    pub flags: u32,
    /// Format version (0 or 1).
    pub composefs_version: u32,
}

impl ComposefsHeader {
    /// Appends the serialized header.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for v in [self.magic, self.version, self.flags, self.composefs_version] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&[0u8; 16]);
    }
}

/// The fields of the EROFS superblock composefs sets; the rest are zero.
pub struct SuperBlock {
    /// Compat features.
    pub feature_compat: u32,
    /// log2 of the block size.
    pub blkszbits: u8,
    /// Root directory nid.
    pub root_nid: u16,
    /// Inode count.
    pub inos: u64,
    /// Minimum mtime, seconds.
    pub build_time: u64,
    /// Minimum mtime, nanoseconds.
    pub build_time_nsec: u32,
    /// Total blocks.
    pub blocks: u32,
    /// Block of the inode table.
    pub meta_blkaddr: u32,
    /// Block of the shared xattr table.
    pub xattr_blkaddr: u32,
}

impl SuperBlock {
    /// Appends the serialized 128-byte superblock.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&EROFS_SUPER_MAGIC_V1.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // checksum
        out.extend_from_slice(&self.feature_compat.to_le_bytes());
        out.push(self.blkszbits);
        out.push(0); // sb_extslots
        out.extend_from_slice(&self.root_nid.to_le_bytes());
        out.extend_from_slice(&self.inos.to_le_bytes());
        out.extend_from_slice(&self.build_time.to_le_bytes());
        out.extend_from_slice(&self.build_time_nsec.to_le_bytes());
        out.extend_from_slice(&self.blocks.to_le_bytes());
        out.extend_from_slice(&self.meta_blkaddr.to_le_bytes());
        out.extend_from_slice(&self.xattr_blkaddr.to_le_bytes());
        out.resize(start + SUPER_BLOCK_SIZE, 0);
    }
}

/// A 32-byte compact inode.
pub struct InodeCompact {
    /// `i_format`.
    pub format: u16,
    /// `i_xattr_icount`.
    pub xattr_icount: u16,
    /// `i_mode`.
    pub mode: u16,
    /// `i_nlink`.
    pub nlink: u16,
    /// `i_size`.
    pub size: u32,
    /// `i_u` (block address, rdev or chunk format).
    pub u: u32,
    /// `i_ino`.
    pub ino: u32,
    /// `i_uid`.
    pub uid: u16,
    /// `i_gid`.
    pub gid: u16,
}

impl InodeCompact {
    /// Appends the serialized inode.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.format.to_le_bytes());
        out.extend_from_slice(&self.xattr_icount.to_le_bytes());
        out.extend_from_slice(&self.mode.to_le_bytes());
        out.extend_from_slice(&self.nlink.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.u.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.uid.to_le_bytes());
        out.extend_from_slice(&self.gid.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
    }
}

/// A 64-byte extended inode.
pub struct InodeExtended {
    /// `i_format`.
    pub format: u16,
    /// `i_xattr_icount`.
    pub xattr_icount: u16,
    /// `i_mode`.
    pub mode: u16,
    /// `i_size`.
    pub size: u64,
    /// `i_u` (block address, rdev or chunk format).
    pub u: u32,
    /// `i_ino`.
    pub ino: u32,
    /// `i_uid`.
    pub uid: u32,
    /// `i_gid`.
    pub gid: u32,
    /// `i_mtime`.
    pub mtime: u64,
    /// `i_mtime_nsec`.
    pub mtime_nsec: u32,
    /// `i_nlink`.
    pub nlink: u32,
}

impl InodeExtended {
    /// Appends the serialized inode.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.format.to_le_bytes());
        out.extend_from_slice(&self.xattr_icount.to_le_bytes());
        out.extend_from_slice(&self.mode.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.u.to_le_bytes());
        out.extend_from_slice(&self.ino.to_le_bytes());
        out.extend_from_slice(&self.uid.to_le_bytes());
        out.extend_from_slice(&self.gid.to_le_bytes());
        out.extend_from_slice(&self.mtime.to_le_bytes());
        out.extend_from_slice(&self.mtime_nsec.to_le_bytes());
        out.extend_from_slice(&self.nlink.to_le_bytes());
        out.extend_from_slice(&[0u8; 16]);
    }
}
