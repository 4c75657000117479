// SPDX-License-Identifier: GPL-2.0

//! Extended attributes and POSIX ACLs, and the inode operation tables of
//! the inode types that have nothing but attributes and xattrs.
//!
//! C header: [`include/linux/xattr.h`](srctree/include/linux/xattr.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use core::marker::PhantomData;
use kernel::{error::from_result, prelude::*};

/// Xattr and ACL operations of a filesystem.
pub(crate) trait Operations: Sized {
    /// Lists the names of the xattrs of `inode` into `list`.
    fn listxattr(inode: &INode<Self>, list: &mut XattrList<'_>) -> Result
    where
        Self: FileSystem;

    /// Reads the value of xattr `name` (the full name) into `buf`, or only
    /// returns its length if `buf` is empty. `ENODATA` if absent, `ERANGE`
    /// if `buf` is too small.
    fn getxattr(inode: &INode<Self>, name: &[u8], buf: &mut [u8]) -> Result<usize>
    where
        Self: FileSystem;

    /// Returns the raw `system.posix_acl_access` (or `_default` when
    /// `default`) value of `inode`, if it has one.
    fn get_acl(inode: &INode<Self>, default: bool) -> Result<Option<KVec<u8>>>
    where
        Self: FileSystem;
}

/// A buffer being filled with NUL-terminated xattr names (`listxattr`).
pub(crate) struct XattrList<'a> {
    buf: Option<&'a mut [u8]>,
    len: usize,
}

impl XattrList<'_> {
    /// The size of the caller's buffer, or `None` when only the size of
    /// the list is asked for.
    pub(crate) fn capacity(&self) -> Option<usize> {
        self.buf.as_ref().map(|b| b.len())
    }

    /// Answers a size query (a list without a buffer) with `len`, which
    /// may differ from what [`XattrList::push`] would add up to (overlayfs
    /// answers with the unfiltered size of the real inode's list).
    pub(crate) fn answer_size(&mut self, len: usize) {
        if self.buf.is_none() {
            self.len = len;
        }
    }

    /// Appends a name made of `parts` and a NUL; `ERANGE` if the buffer is too
    /// small (when only the size is asked for, nothing is written).
    pub(crate) fn push(&mut self, parts: &[&[u8]]) -> Result {
        let n = parts
            .iter()
            .try_fold(1usize, |a, p| a.checked_add(p.len()))
            .ok_or(ERANGE)?;
        let end = self.len.checked_add(n).ok_or(ERANGE)?;
        if let Some(buf) = self.buf.as_deref_mut() {
            let mut dst = buf.get_mut(self.len..end).ok_or(ERANGE)?;
            for p in parts {
                let (head, rest) = dst.split_at_mut_checked(p.len()).ok_or(ERANGE)?;
                head.copy_from_slice(p);
                dst = rest;
            }
            // `n` counted one byte for the NUL.
            if let Some(nul) = dst.first_mut() {
                *nul = 0;
            }
        }
        self.len = end;
        Ok(())
    }
}

/// Inode operation tables of the types that only need xattrs and ACLs.
pub(crate) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// Regular files.
    pub(crate) const REG_IOPS: bindings::inode_operations = bindings::inode_operations {
        listxattr: Some(listxattr_callback::<T>),
        getattr: Some(super::inode::getattr_callback),
        permission: Some(super::inode::permission_callback::<T>),
        get_inode_acl: Some(get_inode_acl_callback::<T>),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };

    /// Symbolic links: the target is read through the page cache.
    pub(crate) const SYMLINK_IOPS: bindings::inode_operations = bindings::inode_operations {
        get_link: Some(bindings::page_get_link),
        listxattr: Some(listxattr_callback::<T>),
        getattr: Some(super::inode::getattr_callback),
        permission: Some(super::inode::permission_callback::<T>),
        get_inode_acl: Some(get_inode_acl_callback::<T>),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };

    /// Devices, fifos and sockets.
    pub(crate) const SPECIAL_IOPS: bindings::inode_operations = bindings::inode_operations {
        listxattr: Some(listxattr_callback::<T>),
        getattr: Some(super::inode::getattr_callback),
        permission: Some(super::inode::permission_callback::<T>),
        get_inode_acl: Some(get_inode_acl_callback::<T>),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };
}

/// `inode_operations::listxattr`.
///
/// # Safety
///
/// Called by the VFS with a positive dentry of a filesystem of type `T` and
/// a buffer of `size` bytes (or NULL with size 0).
pub(crate) unsafe extern "C" fn listxattr_callback<T: FileSystem>(
    dentry: *mut bindings::dentry,
    buffer: *mut c_char,
    size: usize,
) -> isize {
    from_result(|| {
        // SAFETY: Per the function's contract the dentry is positive.
        let inode = unsafe { helpers::cfs_d_inode(dentry) };
        // SAFETY: Per the function's contract the dentry's inode is a
        // filled-in inode of type `T`, live for the call.
        let inode = unsafe { INode::<T>::from_raw(inode) };
        let buf = if buffer.is_null() || size == 0 {
            None
        } else {
            // SAFETY: Per the contract `buffer` holds `size` writable bytes.
            Some(unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) })
        };
        let mut list = XattrList { buf, len: 0 };
        T::listxattr(inode, &mut list)?;
        isize::try_from(list.len).map_err(|_| E2BIG)
    })
}

/// `inode_operations::get_inode_acl`.
///
/// # Safety
///
/// Called by the VFS with a filled-in inode of a filesystem of type `T`.
unsafe extern "C" fn get_inode_acl_callback<T: FileSystem>(
    inode: *mut bindings::inode,
    typ: c_int,
    rcu: bool,
) -> *mut bindings::posix_acl {
    if rcu {
        return ECHILD.to_ptr();
    }
    // SAFETY: Per the contract the inode is filled in and of type `T`.
    let inode = unsafe { INode::<T>::from_raw(inode) };
    // `ACL_TYPE_DEFAULT` (uapi/linux/posix_acl.h).
    let default = typ == 0x4000;
    match T::get_acl(inode, default) {
        Ok(None) => core::ptr::null_mut(),
        Ok(Some(v)) => {
            // SAFETY: `v` is a readable buffer of its length; the ACL is
            // stored with ids of the initial user namespace, as on disk.
            unsafe { helpers::cfs_posix_acl_from_xattr(v.as_ptr().cast(), v.len()) }
        }
        Err(e) => e.to_ptr(),
    }
}

/// `xattr_handler::get` of the catch-all handler: every name goes to
/// [`Operations::getxattr`] whole.
///
/// # Safety
///
/// Called by the VFS with an inode of a filesystem of type `T`, a
/// NUL-terminated name and a buffer of `size` bytes (or NULL with size 0).
unsafe extern "C" fn get_callback<T: FileSystem>(
    _handler: *const bindings::xattr_handler,
    _dentry: *mut bindings::dentry,
    inode: *mut bindings::inode,
    name: *const c_char,
    buffer: *mut c_void,
    size: usize,
) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes a filled-in inode of type `T` (the handler
        // is only installed on superblocks of type `T`), live for the call.
        let inode = unsafe { INode::<T>::from_raw(inode) };
        // SAFETY: The VFS passes a NUL-terminated name that outlives the
        // call.
        let name = unsafe { CStr::from_char_ptr(name) }.to_bytes();
        let buf: &mut [u8] = if buffer.is_null() || size == 0 {
            &mut []
        } else {
            // SAFETY: Per the contract `buffer` holds `size` writable bytes.
            unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>(), size) }
        };
        let n = T::getxattr(inode, name, buf)?;
        c_int::try_from(n).map_err(|_| E2BIG)
    })
}

/// The empty C string: the prefix that matches every name.
const EMPTY_PREFIX: &[u8; 1] = &[0];

/// The xattr handlers of a filesystem type `T` (`s_xattr`): one that takes
/// every name.
pub(crate) struct Handlers<T>(PhantomData<T>);

impl<T: FileSystem> Handlers<T> {
    const ALL: bindings::xattr_handler = bindings::xattr_handler {
        name: core::ptr::null(),
        prefix: EMPTY_PREFIX.as_ptr(),
        flags: 0,
        list: None,
        get: Some(get_callback::<T>),
        set: None,
    };

    /// The NULL-terminated handler array.
    pub(crate) const TABLE: [Option<&'static bindings::xattr_handler>; 2] =
        [Some(&Self::ALL), None];
}
