// SPDX-License-Identifier: GPL-2.0

//! Directories: lookup and iteration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use super::xattr;
use core::marker::PhantomData;
use kernel::{prelude::*, sync::aref::ARef};

/// Directory operations of a filesystem.
pub(crate) trait Operations: Sized {
    /// Looks `name` up in `dir`; `None` for a negative entry.
    fn lookup(dir: &INode<Self>, name: &[u8]) -> Result<Option<ARef<INode<Self>>>>
    where
        Self: FileSystem;

    /// Emits the entries of `dir` from the emitter's position on.
    fn iterate(dir: &INode<Self>, emitter: &mut DirEmitter<'_>) -> Result
    where
        Self: FileSystem;

    /// Whether an open `dir` seeks as overlayfs seeks a merged directory
    /// (`ovl_dir_llseek` without a real directory beneath): only
    /// `SEEK_SET` and `SEEK_CUR`, to any position from 0 on. Otherwise it
    /// seeks as a directory of a block filesystem (`generic_file_llseek`).
    fn seeks_as_merged(_dir: &INode<Self>) -> bool
    where
        Self: FileSystem,
    {
        false
    }
}

/// `DT_*` values of directory entries.
pub(crate) mod dtype {
    /// Unknown.
    pub(crate) const UNKNOWN: u32 = 0;
}

/// The state of a `readdir` call (`struct dir_context`).
///
/// # Invariants
///
/// `ctx` is the valid context of the running `iterate_shared` call.
pub(crate) struct DirEmitter<'a> {
    ctx: *mut bindings::dir_context,
    _p: PhantomData<&'a mut bindings::dir_context>,
}

impl DirEmitter<'_> {
    /// The current position (`ctx->pos`).
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: By the type invariant `ctx` is valid.
        unsafe { (*self.ctx).pos }
    }

    /// Sets the position to resume from.
    pub(crate) fn set_pos(&mut self, pos: i64) {
        // SAFETY: By the type invariant `ctx` is valid and ours to update.
        unsafe { (*self.ctx).pos = pos };
    }

    /// Emits one entry (`dir_emit`); `false` when the caller's buffer is
    /// full and iteration must stop (without advancing the position).
    pub(crate) fn emit(&mut self, name: &[u8], ino: u64, dtype: u32) -> bool {
        let Ok(len) = c_int::try_from(name.len()) else {
            return false;
        };
        // SAFETY: By the type invariant `ctx` is valid; `name` is readable for
        // `len` bytes (`dir_emit` does not need a NUL).
        unsafe { helpers::cfs_dir_emit(self.ctx, name.as_ptr().cast(), len, ino, dtype) }
    }
}

/// Operation tables of directories.
pub(crate) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// Directory inode operations.
    pub(crate) const DIR_IOPS: bindings::inode_operations = bindings::inode_operations {
        permission: Some(super::inode::permission_callback::<T>),
        ..Self::DIR_IOPS_CALLER_PERMISSION
    };

    /// Directory inode operations without `permission`, for directories
    /// whose [`FileSystem::permission`] cannot refuse anything: the VFS then
    /// checks the caller alone (`generic_permission`), without a call into
    /// the module on every path component it walks through.
    pub(crate) const DIR_IOPS_CALLER_PERMISSION: bindings::inode_operations =
        bindings::inode_operations {
            lookup: Some(lookup_callback::<T>),
            listxattr: Some(xattr::listxattr_callback::<T>),
            getattr: Some(super::inode::getattr_callback),
            get_inode_acl: xattr::Tables::<T>::REG_IOPS.get_inode_acl,
            // SAFETY: All-zeroes is valid for the remaining optional callbacks.
            ..unsafe { core::mem::zeroed() }
        };

    /// Directory file operations.
    pub(crate) const DIR_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(llseek_callback::<T>),
        read: Some(bindings::generic_read_dir),
        iterate_shared: Some(iterate_callback::<T>),
        // As on the reference stack: fsync succeeds, leases are granted.
        fsync: Some(bindings::noop_fsync),
        setlease: Some(helpers::cfs_generic_setlease),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };
}

/// `inode_operations::lookup`.
///
/// # Safety
///
/// Called by the VFS with a directory inode of type `T` (locked shared) and
/// a negative, unhashed-or-in-lookup dentry whose name is stable until
/// `d_splice_alias`.
unsafe extern "C" fn lookup_callback<T: FileSystem>(
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    _flags: c_uint,
) -> *mut bindings::dentry {
    // SAFETY: Per the contract `dir` is a filled-in inode of type `T`: the
    // only place that installs this table is `NewINode::init` for such
    // inodes.
    let dir = unsafe { INode::<T>::from_raw(dir) };
    let mut len = 0u32;
    // SAFETY: Per the contract the name is stable during `->lookup()` up to
    // `d_splice_alias`, which comes after the last use of `name`.
    let p = unsafe { helpers::cfs_dentry_name(dentry, &mut len) };
    // SAFETY: `d_name` points at `len` bytes, stable as said above.
    let name = unsafe { core::slice::from_raw_parts(p, len as usize) };
    let inode = match T::lookup(dir, name) {
        Ok(Some(i)) => ARef::into_raw(i).as_ptr().cast::<bindings::inode>(),
        Ok(None) => core::ptr::null_mut(),
        Err(e) => return e.to_ptr(),
    };
    // SAFETY: `d_splice_alias` takes over the inode reference (or NULL for a
    // negative entry) and the dentry the VFS handed us.
    unsafe { bindings::d_splice_alias(inode, dentry) }
}

/// `file_operations::llseek` of directories (see
/// [`Operations::seeks_as_merged`]).
///
/// # Safety
///
/// Called by the VFS with an open directory of type `T`, holding its
/// position lock (`f_pos_lock`: directories are `FMODE_ATOMIC_POS`), which
/// serialises position updates with `getdents` on the same open file.
unsafe extern "C" fn llseek_callback<T: FileSystem>(
    file: *mut bindings::file,
    offset: i64,
    whence: c_int,
) -> i64 {
    // SAFETY: Per the function's contract the file is open.
    let dir = unsafe { helpers::cfs_file_inode(file) };
    // SAFETY: Per the function's contract the open file's inode is a
    // filled-in directory of type `T`, pinned by the file.
    let dir = unsafe { INode::<T>::from_raw(dir) };
    if !T::seeks_as_merged(dir) {
        // SAFETY: Called as the VFS calls `llseek`, with its guarantees.
        return unsafe { bindings::generic_file_llseek(file, offset, whence) };
    }
    // SAFETY: The file is open and its position ours to read and write
    // under the position lock the caller holds.
    let cur = unsafe { (*file).f_pos };
    let pos = match u32::try_from(whence) {
        Ok(bindings::SEEK_SET) => Some(offset),
        Ok(bindings::SEEK_CUR) => offset.checked_add(cur),
        _ => None,
    };
    match pos {
        Some(p) if p >= 0 => {
            // SAFETY: As above.
            unsafe { (*file).f_pos = p };
            p
        }
        _ => EINVAL.to_errno().into(),
    }
}

/// `file_operations::iterate_shared`.
///
/// # Safety
///
/// Called by the VFS with an open directory of type `T` and a valid
/// context.
unsafe extern "C" fn iterate_callback<T: FileSystem>(
    file: *mut bindings::file,
    ctx: *mut bindings::dir_context,
) -> c_int {
    // SAFETY: Per the function's contract the file is open.
    let dir = unsafe { helpers::cfs_file_inode(file) };
    // SAFETY: Per the function's contract the open file's inode is a
    // filled-in directory of type `T`, pinned by the file.
    let dir = unsafe { INode::<T>::from_raw(dir) };
    // INVARIANT: `ctx` is valid for this call.
    let mut emitter = DirEmitter {
        ctx,
        _p: PhantomData,
    };
    match T::iterate(dir, &mut emitter) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
