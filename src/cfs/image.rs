// SPDX-License-Identifier: GPL-2.0

//! The image as the format reader sees it: blocks of the opened source,
//! read on demand through its page cache.

use crate::format::{reader::BlockSource, FormatError};
use crate::vfs::source::{SourceFile, SourcePage};
use kernel::prelude::*;

// Image blocks are 4096 bytes and block `n` is read as page `n` of the
// source (`read_page`): that holds with 4 KiB pages only (`Kconfig`
// depends on `PAGE_SIZE_4KB`).
const _: () = assert!(kernel::page::PAGE_SIZE == crate::format::layout::BLOCK_SIZE);

/// The opened image source as a [`BlockSource`].
pub(crate) struct Source(pub(crate) SourceFile);

impl BlockSource for Source {
    type Block<'a> = SourcePage<'a>;

    fn block(&self, blkaddr: u32) -> Result<SourcePage<'_>, FormatError> {
        let start = u64::from(blkaddr) << 12;
        if start >= self.size() {
            return Err(FormatError::OutOfRange);
        }
        self.0.read_page(blkaddr).map_err(|e| {
            if e == ENOMEM {
                FormatError::NoMemory
            } else {
                FormatError::Io
            }
        })
    }

    /// The size in whole blocks: EROFS reads its image a page at a time,
    /// and a page the file does not fill is an I/O error there
    /// (`erofs_fileio_ki_complete`, fs/erofs/fileio.c), so the bytes of
    /// a partial last block are not image to either stack.
    fn size(&self) -> u64 {
        self.0.size() & !(crate::format::layout::BLOCK_SIZE_U64 - 1)
    }
}

/// The kernel error for a reader error about inode `nid` (`what` of it) of
/// the mount whose superblock is named `sb`: `EUCLEAN` for a corrupt image,
/// `EIO`/`ENOMEM` for failures reading it. Corruption is logged
/// (rate-limited) with the mount, what was wrong and where.
pub(crate) fn error(sb: &CStr, e: FormatError, what: &str, nid: u64) -> Error {
    errno(e, |e| {
        let m = e.message();
        super::msg::err(sb, fmt!("corrupt image: {m} ({what}, nid {nid})"));
    })
}

/// The errno of a reader error; `log` logs it (rate-limited) if it is
/// corruption.
fn errno(e: FormatError, log: impl FnOnce(&FormatError)) -> Error {
    match e {
        FormatError::Io => EIO,
        FormatError::NoMemory => ENOMEM,
        _ => {
            if crate::vfs::helpers::ratelimit() {
                log(&e);
            }
            EUCLEAN
        }
    }
}
