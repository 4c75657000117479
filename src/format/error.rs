// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Errors found while decoding or validating an image.

use core::fmt;

/// A problem found in a composefs image, or while reading one.
///
/// The variants name the structure that is wrong so that a log line says what to look at; the
/// kernel maps every variant except [`FormatError::Io`] and [`FormatError::NoMemory`] to
/// `EUCLEAN` (`EFSCORRUPTED`) and those two to `EIO` and `ENOMEM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The block source failed to read a block (an I/O error).
    Io,
    /// The block source could not allocate memory to read a block.
    NoMemory,
    /// A block or byte range lies past the end of the image.
    OutOfRange,
    /// A structure is cut short: the slice or the image ends inside it.
    Truncated,
    /// The composefs header magic is not `0xd078629a`.
    BadMagic,
    /// The composefs header version is not 1.
    BadVersion,
    /// The EROFS superblock magic is not `0xe0f5e1e2`.
    BadErofsMagic,
    /// The EROFS superblock checksum does not match.
    BadChecksum,
    /// The image uses an EROFS feature composefs images never use.
    UnsupportedFeature,
    /// The block size is not 4096 bytes.
    BadBlockSize,
    /// A superblock field has a value composefs images never use.
    BadSuperblock,
    /// An inode number (nid) points past the end of the image.
    NidOutOfRange,
    /// An inode, its xattr area or its inline data runs past the end of the image.
    InodeCrossesEnd,
    /// An inode's `i_format` has unknown bits or an unknown version.
    BadInodeFormat,
    /// An inode's data layout is not one composefs uses for its file type.
    BadLayout,
    /// An inode's mode has no valid file type.
    BadMode,
    /// An inode's size is impossible for its type or layout.
    BadSize,
    /// Inline data would cross a block boundary.
    InlineCrossesBlock,
    /// A data block address lies outside the image.
    BadBlockAddr,
    /// An xattr area, entry or shared xattr reference is malformed.
    BadXattr,
    /// A directory entry is malformed.
    BadDirent,
    /// A name is longer than 255 bytes.
    NameTooLong,
    /// A name is empty or contains `/` or NUL.
    BadName,
    /// Directory entries are not sorted in strictly ascending order.
    DirentsUnsorted,
    /// A chunk-based inode has an unsupported chunk format.
    BadChunkFormat,
    /// A symlink target is empty, 4096 bytes or longer, or stored inline with a NUL that
    /// cuts it short of its size.
    SymlinkTooLong,
    /// An offset, length or count computation overflowed.
    Overflow,
    /// The operation needs a directory but the inode is not one.
    NotDir,
    /// A caller-supplied buffer is too small for the result.
    #[cfg(cfs_tools)]
    BufferTooSmall,
    /// A `trusted.overlay.metacopy` value is malformed.
    BadMetacopy,
    /// A `trusted.overlay.redirect` value is not a valid absolute object path.
    BadRedirect,
}

impl FormatError {
    /// A short, static description suitable for a kernel log line.
    pub fn message(&self) -> &'static str {
        match self {
            Self::Io => "I/O error reading the image",
            Self::NoMemory => "out of memory reading the image",
            Self::OutOfRange => "read past the end of the image",
            Self::Truncated => "structure truncated",
            Self::BadMagic => "bad composefs magic",
            Self::BadVersion => "unsupported composefs header version",
            Self::BadErofsMagic => "bad EROFS superblock magic",
            Self::BadChecksum => "EROFS superblock checksum mismatch",
            Self::UnsupportedFeature => "unsupported EROFS feature",
            Self::BadBlockSize => "unsupported block size",
            Self::BadSuperblock => "invalid superblock field",
            Self::NidOutOfRange => "inode number out of range",
            Self::InodeCrossesEnd => "inode runs past the end of the image",
            Self::BadInodeFormat => "unsupported inode format",
            Self::BadLayout => "unsupported data layout",
            Self::BadMode => "invalid file mode",
            Self::BadSize => "invalid inode size",
            Self::InlineCrossesBlock => "inline data crosses a block boundary",
            Self::BadBlockAddr => "data block address out of range",
            Self::BadXattr => "malformed xattr",
            Self::BadDirent => "malformed directory entry",
            Self::NameTooLong => "name too long",
            Self::BadName => "invalid name",
            Self::DirentsUnsorted => "directory entries not sorted",
            Self::BadChunkFormat => "unsupported chunk format",
            Self::SymlinkTooLong => "invalid symlink length",
            Self::Overflow => "arithmetic overflow",
            Self::NotDir => "not a directory",
            #[cfg(cfs_tools)]
            Self::BufferTooSmall => "buffer too small",
            Self::BadMetacopy => "malformed overlay metacopy xattr",
            Self::BadRedirect => "malformed overlay redirect xattr",
        }
    }

    /// Whether the error means the image is corrupt (as opposed to an I/O or memory failure
    /// of the block source, or a caller error).
    pub fn is_corruption(&self) -> bool {
        match self {
            Self::Io | Self::NoMemory | Self::NotDir => false,
            #[cfg(cfs_tools)]
            Self::BufferTooSmall => false,
            _ => true,
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Result type of the format module.
pub type Result<T> = core::result::Result<T, FormatError>;
