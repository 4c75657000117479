// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The composefs image format: constants, little-endian structures and a validating reader.
//!
//! This module is shared by the kernel module (`#[path = "format/mod.rs"] pub mod format;` in
//! `src/composefs.rs`) and by the userspace tools (`tools/cfs-format`). It uses `core` only:
//! no allocation, no `unsafe`, no panics, and every offset, length and count read from an
//! image is checked with checked arithmetic before use.
//!
//! # Layout
//!
//! - [`layout`]: on-disk constants and structures with `parse`/`to_bytes`: the composefs
//!   header, the EROFS superblock, compact and extended inodes, directory entries, xattr
//!   headers and entries, the overlay metacopy header, name prefix indexes.
//! - [`xxhash`]: xxHash32 and the xattr bloom filter bit.
//! - [`reader`]: [`reader::BlockSource`], [`reader::Image`] and what hangs off it, in
//!   modules by concern as fs/erofs splits its files: the block source and cursor, inodes,
//!   file data, directories, lookups and xattrs.
//! - [`overlay`]: composefs conventions: metacopy digests, redirect paths, whiteouts and how
//!   overlay xattrs are presented.
//! - [`error`]: the error type, [`error::FormatError`].
//!
//! # Reader API
//!
//! ```text
//! Image::open(src: S) -> Result<Image<S>>                 header, superblock, root inode
//! image.root_nid() / header() / superblock() / size()
//! image.inode(nid) -> Result<Inode>                      decode + validate one inode
//! inode.mode() nlink() uid() gid() size() mtime() mtime_nsec() rdev() ino() layout()
//! image.readdir(&dir, pos, |entry, next_pos| -> bool) -> Result<u64>
//!     pos = block index * 4096 + 12 * entry index (EROFS f_pos); returns resume position
//! image.lookup(&dir, name) -> Result<Option<(nid, file_type)>>
//! image.for_each_xattr(&inode, |item| -> Result<bool>)   inline entries, then shared
//! image.find_xattr(&inode, &XattrKey) -> Result<Option<(value_offset, value_len)>>
//! image.get_xattr(&inode, full_name, buf) -> Result<Option<len>>
//! image.read_exact_at(offset, buf)                        any range, across blocks
//! image.bytes(offset, len) -> Result<Bytes>               zero-copy, within one block
//! image.inline_data(&inode) -> Result<Option<Bytes>>      the inline tail
//! image.read_data(&inode, pos, buf) -> Result<usize>      file/symlink/dir data
//! image.for_each_data(&inode, pos, len, |run| -> usize)   the same, zero-copy, run by run
//! image.symlink_target(&inode, buf) -> Result<usize>
//! image.chunk_addr(&inode, i) / chunks_all_null(&inode)   chunk-based files
//! overlay::parse_metacopy(value), overlay::redirect_object_path(value),
//! overlay::is_whiteout(&inode), overlay::xattr_visibility(index, suffix)
//! ```
//!
//! Every call validates what it touches, so a corrupt image yields a [`error::FormatError`]
//! (mapped to `EUCLEAN`/`EIO` by the kernel) and never a panic, an out-of-bounds access or an
//! endless loop. The reader does not recurse; detecting directory cycles across calls is the
//! caller's job (the kernel's dcache does it for the filesystem, `composefs-info fsck` for
//! the tools).
//!
//! # Tools-only parts
//!
//! What only the tools use (the writer's `to_bytes` encoders, [`reader::SliceSource`], and
//! the helpers of `composefs-info`, `cfs-mutate` and the other tools) is compiled under
//! `cfg(cfs_tools)`, which `tools/cfs-format/build.rs` sets and the kernel build never does,
//! so the module carries no code it does not use and its `dead_code` lint stays meaningful.

// Hostile images are parsed here, in the kernel too: no indexing that can panic.
#![deny(clippy::indexing_slicing)]
// The items are `pub` for the tools, whose crate exports this module; the kernel module keeps
// it private.
#![cfg_attr(not(cfs_tools), expect(unreachable_pub, reason = "pub for the tools"))]

pub mod error;
pub mod layout;
pub mod overlay;
pub mod reader;
pub mod xxhash;

pub use error::FormatError;
#[cfg(cfs_tools)]
pub use error::Result;
pub use reader::Inode;
#[cfg(cfs_tools)]
pub use reader::{BlockSource, DirEntry, Image, SliceSource};
