// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A validating reader of composefs images.
//!
//! The reader is generic over a [`BlockSource`] that hands out 4096-byte blocks of the image,
//! so the kernel can serve it page-cache folios and the tools an in-memory copy. It never
//! allocates, never recurses and never loops longer than the sizes in the image allow; every
//! offset, length and count taken from the image is checked before use.
//!
//! [`Image`] is defined here with [`Image::open`]; its other methods are split by concern, as
//! fs/erofs splits its files:
//!
//! - `source`: [`BlockSource`], `SliceSource`, [`Bytes`], the block-keeping cursor and the
//!   image's raw byte reads.
//! - `inode`: [`Inode`], [`DataLayout`], [`ChunkInfo`] and [`Image::inode`] (fs/erofs/inode.c).
//! - `data`: file data of flat and chunk-based inodes, [`Image::read_data`]
//!   (fs/erofs/data.c).
//! - `dir`: [`DirEntry`], [`DirBlock`], [`check_name`] and [`Image::readdir`]
//!   (fs/erofs/dir.c).
//! - `namei`: [`Image::lookup`] as `erofs_namei` does it, [`Image::lookup_near`] with a
//!   [`LookupHint`] (fs/erofs/namei.c).
//! - `xattr`: [`XattrKey`], [`XattrItem`], [`Image::for_each_xattr`] and
//!   [`Image::find_xattrs`] (fs/erofs/xattr.c).
//!
//! Everything public is re-exported here, so callers name it `reader::Item`; what only the
//! tools use is re-exported under `cfg(cfs_tools)`.

mod data;
mod dir;
mod inode;
mod namei;
mod source;
mod xattr;

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;

pub use data::DataRun;
pub use inode::Inode;
pub use namei::{Found, LookupHint};
pub use source::BlockSource;
pub use xattr::{HashedXattrKey, XattrKey, XattrValue};

#[cfg(cfs_tools)]
pub use dir::{check_name, DirBlock, DirEntry};
#[cfg(cfs_tools)]
pub use inode::{ChunkInfo, DataLayout};
#[cfg(cfs_tools)]
pub use source::{Bytes, SliceSource};
#[cfg(cfs_tools)]
pub use xattr::{XattrFound, XattrItem};

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
}
