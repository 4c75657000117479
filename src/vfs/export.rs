// SPDX-License-Identifier: GPL-2.0

//! File handles (`struct export_operations`): `name_to_handle_at`,
//! `open_by_handle_at`, fanotify FIDs, and overlayfs over this filesystem.
//!
//! Handles are `FILEID_INO64_GEN` (`FILEID_INO64_GEN_PARENT` with the
//! parent): the 64-bit inode number, high word first, and a generation of 0.
//!
//! C header: [`include/linux/exportfs.h`](srctree/include/linux/exportfs.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use super::sb::SuperBlock;
use core::marker::PhantomData;
use kernel::{prelude::*, sync::aref::ARef};

/// File handle operations of a filesystem.
pub(crate) trait Operations: Sized {
    /// Returns the inode numbered `ino` for a file handle; `ESTALE` if there
    /// is no such visible inode.
    fn iget_handle(sb: &SuperBlock<Self>, ino: u64) -> Result<ARef<INode<Self>>>
    where
        Self: FileSystem;

    /// Returns the parent directory of directory `dir`.
    fn parent(dir: &INode<Self>) -> Result<ARef<INode<Self>>>
    where
        Self: FileSystem;
}

/// `FILEID_INO64_GEN`.
const INO64_GEN: c_int = 0x81;
/// `FILEID_INO64_GEN_PARENT`.
const INO64_GEN_PARENT: c_int = 0x82;
/// `FILEID_INVALID`.
const INVALID: c_int = 0xff;

/// Export operation table of filesystem type `T`.
pub(crate) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// The table.
    pub(crate) const EXPORT_OPS: bindings::export_operations = bindings::export_operations {
        encode_fh: Some(encode_fh),
        fh_to_dentry: Some(fh_to_dentry::<T>),
        fh_to_parent: Some(fh_to_parent::<T>),
        get_parent: Some(get_parent::<T>),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks
        // and flags.
        ..unsafe { core::mem::zeroed() }
    };
}

/// `export_operations::encode_fh`.
///
/// # Safety
///
/// Called by exportfs with a valid inode, an optional parent, a buffer of
/// `*max_len` words and a writable `max_len`.
unsafe extern "C" fn encode_fh(
    inode: *mut bindings::inode,
    fh: *mut u32,
    max_len: *mut c_int,
    parent: *mut bindings::inode,
) -> c_int {
    let len = if parent.is_null() { 3 } else { 6 };
    // SAFETY: Exportfs passes a `max_len` valid for reads and writes
    // (this function's contract).
    let max_len = unsafe { &mut *max_len };
    if *max_len < len {
        *max_len = len;
        return INVALID;
    }
    // SAFETY: Exportfs passes a buffer of `*max_len` words, at least `len`
    // (checked above), writable for the call.
    let fh = unsafe { core::slice::from_raw_parts_mut(fh, len as usize) };
    // SAFETY: Exportfs passes a valid inode.
    let ino = unsafe { (*inode).i_ino };
    let (r, pino) = if parent.is_null() {
        (INO64_GEN, 0)
    } else {
        // SAFETY: A non-NULL parent is a valid inode (the contract).
        (INO64_GEN_PARENT, unsafe { (*parent).i_ino })
    };
    let words = [
        (ino >> 32) as u32,
        ino as u32,
        0,
        (pino >> 32) as u32,
        pino as u32,
        0,
    ];
    // Indexed rather than zipped: objtool cannot follow the zip adapter's
    // inlined assertions in a module.
    for (i, dst) in fh.iter_mut().enumerate() {
        *dst = words.get(i).copied().unwrap_or(0);
    }
    *max_len = len;
    r
}

/// Turns an inode result into a dentry (`d_obtain_alias`).
fn obtain<T: FileSystem>(r: Result<ARef<INode<T>>>) -> *mut bindings::dentry {
    match r {
        // SAFETY: `d_obtain_alias` consumes the inode reference.
        Ok(i) => unsafe { bindings::d_obtain_alias(ARef::into_raw(i).as_ptr().cast()) },
        Err(e) => e.to_ptr(),
    }
}

/// Decodes the inode number at word `at` of a handle of `len` words.
///
/// # Safety
///
/// `fid` must hold at least `len` words.
unsafe fn ino_at(fid: *mut bindings::fid, len: c_int, at: usize) -> Option<u64> {
    if (len as usize) < at + 3 {
        return None;
    }
    let raw = fid.cast::<u32>();
    // SAFETY: Per the function's contract and the check above, word `at`
    // is readable.
    let hi = unsafe { *raw.add(at) };
    // SAFETY: As above, so is word `at + 1`.
    let lo = unsafe { *raw.add(at + 1) };
    Some((u64::from(hi) << 32) | u64::from(lo))
}

/// `export_operations::fh_to_dentry`.
///
/// # Safety
///
/// Called by exportfs with a live superblock of type `T` and a handle of
/// `len` words.
unsafe extern "C" fn fh_to_dentry<T: FileSystem>(
    sb: *mut kernel::bindings::super_block,
    fid: *mut bindings::fid,
    len: c_int,
    typ: c_int,
) -> *mut bindings::dentry {
    if typ != INO64_GEN && typ != INO64_GEN_PARENT {
        return core::ptr::null_mut();
    }
    // SAFETY: Exportfs passes a handle of `len` readable words (this
    // function's contract, which is `ino_at`'s).
    let Some(ino) = (unsafe { ino_at(fid, len, 0) }) else {
        return core::ptr::null_mut();
    };
    // SAFETY: A mounted superblock of type `T` has its data set.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    obtain(T::iget_handle(sb, ino))
}

/// `export_operations::fh_to_parent`.
///
/// # Safety
///
/// As [`fh_to_dentry`].
unsafe extern "C" fn fh_to_parent<T: FileSystem>(
    sb: *mut kernel::bindings::super_block,
    fid: *mut bindings::fid,
    len: c_int,
    typ: c_int,
) -> *mut bindings::dentry {
    if typ != INO64_GEN_PARENT {
        return core::ptr::null_mut();
    }
    // SAFETY: Exportfs passes a handle of `len` readable words (this
    // function's contract, which is `ino_at`'s).
    let Some(ino) = (unsafe { ino_at(fid, len, 3) }) else {
        return core::ptr::null_mut();
    };
    // SAFETY: A mounted superblock of type `T` has its data set.
    let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
    obtain(T::iget_handle(sb, ino))
}

/// `export_operations::get_parent`.
///
/// # Safety
///
/// Called by exportfs with a positive directory dentry of type `T`.
unsafe extern "C" fn get_parent<T: FileSystem>(
    child: *mut bindings::dentry,
) -> *mut bindings::dentry {
    // SAFETY: Per the function's contract the dentry is positive.
    let dir = unsafe { helpers::cfs_d_inode(child) };
    // SAFETY: Per the function's contract its inode is a filled-in inode of
    // type `T`, pinned by the dentry.
    let dir = unsafe { INode::<T>::from_raw(dir) };
    obtain(T::parent(dir))
}
