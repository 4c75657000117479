// SPDX-License-Identifier: GPL-2.0

//! Regular files and symlinks: their operation tables, page-cache reads
//! (`address_space_operations`) and the operations the filesystem provides
//! for them. Files stacked on a backing file are in [`super::backing`],
//! folios in [`super::folio`].
//!
//! C header: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h)

use super::backing::{
    backed_fadvise, backed_llseek, backed_mmap, backed_open, backed_read_iter, backed_release,
    backed_splice_read, BackingFile, OpeningFile,
};
use super::bindings;
use super::folio::LockedFolio;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use core::marker::PhantomData;
use kernel::{cred::Credential, prelude::*};

/// Page-cache and open operations of regular files and symlinks.
pub(crate) trait Operations: Sized {
    /// Fills `folio` of `inode` with its data (zeros past the end).
    fn read_folio(inode: &INode<Self>, folio: &mut LockedFolio<'_>) -> Result
    where
        Self: FileSystem;

    /// Opens the backing file of a stacked regular file `inode` for
    /// `file`, the composefs file being opened.
    fn open_backing(inode: &INode<Self>, file: &OpeningFile<'_>) -> Result<BackingFile>
    where
        Self: FileSystem;

    /// The credentials backing-file I/O runs with (the mounter's).
    fn backing_cred(inode: &INode<Self>) -> &Credential
    where
        Self: FileSystem;
}

/// Operation tables of regular files and symlinks.
pub(crate) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// Address space operations of files and symlinks read from the image.
    /// Like EROFS for such files on the reference stack, no `direct_IO`:
    /// `O_DIRECT` opens fail with `EINVAL`.
    pub(crate) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(read_folio_callback::<T>),
            // SAFETY: All-zeroes is valid for the remaining optional callbacks.
            ..unsafe { core::mem::zeroed() }
        };

    /// Address space operations of stacked files. Their data never goes
    /// through this mapping (`read_folio` reads the image's placeholder, so
    /// that nothing can call a NULL one); `O_DIRECT` opens work as on the
    /// reference stack, and `O_DIRECT` reads go to the backing file.
    pub(crate) const BACKED_AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(read_folio_callback::<T>),
            direct_IO: Some(bindings::noop_direct_IO),
            // SAFETY: All-zeroes is valid for the remaining optional callbacks.
            ..unsafe { core::mem::zeroed() }
        };

    /// File operations of files stacked on a backing file.
    pub(crate) const BACKED_FOPS: bindings::file_operations = bindings::file_operations {
        open: Some(backed_open::<T>),
        release: Some(backed_release),
        read_iter: Some(backed_read_iter::<T>),
        splice_read: Some(backed_splice_read::<T>),
        mmap: Some(backed_mmap::<T>),
        llseek: Some(backed_llseek::<T>),
        fadvise: Some(backed_fadvise::<T>),
        fsync: Some(bindings::noop_fsync),
        setlease: Some(helpers::cfs_generic_setlease),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };

    /// File operations of files read through the inode's page cache: those
    /// of `generic_ro_fops`, plus a no-op `fsync` as on the reference stack.
    pub(crate) const CACHED_FOPS: bindings::file_operations = bindings::file_operations {
        llseek: Some(bindings::generic_file_llseek),
        read_iter: Some(bindings::generic_file_read_iter),
        mmap_prepare: Some(bindings::generic_file_readonly_mmap_prepare),
        splice_read: Some(bindings::filemap_splice_read),
        fsync: Some(bindings::noop_fsync),
        setlease: Some(helpers::cfs_generic_setlease),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };
}

/// `address_space_operations::read_folio`.
///
/// # Safety
///
/// Called by the page cache with a locked folio of the mapping of a
/// filled-in inode of type `T` (only `NewINode::init` installs the table).
unsafe extern "C" fn read_folio_callback<T: FileSystem>(
    _file: *mut bindings::file,
    folio: *mut bindings::folio,
) -> c_int {
    // SAFETY: The page cache passes a locked folio of a mapping, which stays
    // attached while locked.
    let host = unsafe { helpers::cfs_folio_host(folio) };
    // SAFETY: Per the function's contract the mapping's host is a filled-in
    // inode of type `T`, live while its folio is being read.
    let inode = unsafe { INode::<T>::from_raw(host) };
    // INVARIANT: the folio is locked and ours until `folio_end_read`.
    let mut f = LockedFolio {
        folio,
        _p: PhantomData,
    };
    let r = T::read_folio(inode, &mut f);
    // SAFETY: Ends the read of the folio we were given, unlocking it.
    unsafe { bindings::folio_end_read(folio, r.is_ok()) };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
