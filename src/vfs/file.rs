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

    /// Copies the data of `inode`, a file read from the image, from `pos`
    /// on into `dest` until it is full or the file ends, straight from
    /// where the data lies: the inode's own page cache gets no second copy
    /// of bytes the image's page cache holds. Returns the number of bytes
    /// copied (an error only when none were).
    fn read_uncached(inode: &INode<Self>, pos: u64, dest: &mut ReadDest<'_>) -> Result<usize>
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

/// The caller's buffer of a read (an `iov_iter` of `ITER_DEST`), which
/// [`Operations::read_uncached`] copies file data into.
///
/// # Invariants
///
/// `iter` is a valid destination iterator, written only through this value
/// while it lives.
pub(crate) struct ReadDest<'a> {
    iter: *mut bindings::iov_iter,
    _p: PhantomData<&'a mut bindings::iov_iter>,
}

impl ReadDest<'_> {
    /// Bytes the buffer has room for (fewer may fit: a user page may not be
    /// writable).
    pub(crate) fn room(&self) -> usize {
        // SAFETY: By the type invariant `iter` is valid.
        unsafe { helpers::cfs_iov_iter_count(self.iter) }
    }

    /// Copies `bytes` into the buffer; returns how many fit.
    pub(crate) fn copy(&mut self, bytes: &[u8]) -> usize {
        // SAFETY: By the type invariant `iter` is a valid destination;
        // `bytes` is valid for reads of its length.
        unsafe { bindings::_copy_to_iter(bytes.as_ptr().cast(), bytes.len(), self.iter) }
    }

    /// Writes `n` zero bytes into the buffer; returns how many fit.
    pub(crate) fn zeros(&mut self, n: usize) -> usize {
        // SAFETY: By the type invariant `iter` is a valid destination.
        unsafe { bindings::iov_iter_zero(n, self.iter) }
    }
}

/// Operation tables of regular files and symlinks.
pub(crate) struct Tables<T>(PhantomData<T>);

impl<T: FileSystem> Tables<T> {
    /// Address space operations of files and symlinks read from the image.
    /// A no-op `direct_IO`, as overlayfs's inodes have (`ovl_aops`): the
    /// VFS lets `O_DIRECT` through to [`Self::CACHED_FOPS`], which refuses
    /// it as the reference's EROFS file does.
    pub(crate) const AOPS: bindings::address_space_operations =
        bindings::address_space_operations {
            read_folio: Some(read_folio_callback::<T>),
            direct_IO: Some(bindings::noop_direct_IO),
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
    /// of `generic_ro_fops`, plus a no-op `fsync` as on the reference stack,
    /// each refusing `O_DIRECT` as the reference does for a file whose data
    /// is in the image. There overlayfs accepts `O_DIRECT` (its inodes
    /// have a `direct_IO`) and hands it to the EROFS file, which cannot do
    /// it: the open fails with `EINVAL`, and after `fcntl(F_SETFL,
    /// O_DIRECT)` so do reads, seeks, splices and `fadvise`, which reach
    /// the real file through `ovl_real_file` -> `ovl_change_flags`
    /// (fs/overlayfs/file.c); `mmap` does not, and still works.
    pub(crate) const CACHED_FOPS: bindings::file_operations = bindings::file_operations {
        open: Some(cached_open),
        llseek: Some(cached_llseek),
        read_iter: Some(cached_read_iter::<T>),
        mmap_prepare: Some(bindings::generic_file_readonly_mmap_prepare),
        splice_read: Some(cached_splice_read),
        fadvise: Some(cached_fadvise),
        fsync: Some(bindings::noop_fsync),
        setlease: Some(helpers::cfs_generic_setlease),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };
}

/// Whether `file` has `O_DIRECT` set, which files read from the image
/// cannot do.
///
/// # Safety
///
/// `file` is an open file, valid for the call.
unsafe fn direct_set(file: *const bindings::file) -> bool {
    // SAFETY: Per the function's contract `file` is valid. `fcntl(F_SETFL)`
    // may change the flags concurrently (under `f_lock`, which readers of
    // single bits do not take): a volatile load reads one whole value.
    let flags = unsafe { core::ptr::read_volatile(&raw const (*file).f_flags) };
    flags & bindings::O_DIRECT != 0
}

/// `file_operations::open` of files read from the image: `O_DIRECT` is
/// `EINVAL`, as the reference's open of the EROFS file gives.
///
/// # Safety
///
/// Called by the VFS with a file being opened.
unsafe extern "C" fn cached_open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: The VFS passes the file being opened, valid for the call.
    if unsafe { direct_set(file) } {
        return EINVAL.to_errno();
    }
    0
}

/// `file_operations::read_iter` of files read from the image: the bytes are
/// copied from the image's page cache, where they already are (or from
/// where `mmap` has put them), not into a page of the file's own first: many
/// small files share an image block, and with a page each they would hold
/// the image's bytes twice (EROFS inodes do, on the reference stack). The
/// files are not `FMODE_NOWAIT` (nor are the reference's), so `RWF_NOWAIT`
/// fails before it gets here and io_uring does not try it; a kernel caller
/// that still asks not to wait (`IOCB_NOWAIT`, `IOCB_NOIO`) takes the
/// page-cache way, which knows whether it would block.
///
/// # Safety
///
/// Called by the VFS with a valid kiocb of an open file of a filesystem of
/// type `T` and a destination iterator.
unsafe extern "C" fn cached_read_iter<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The VFS passes a valid kiocb whose file is open.
    let (file, flags, pos) = unsafe { ((*iocb).ki_filp, (*iocb).ki_flags, (*iocb).ki_pos) };
    // SAFETY: `file` is open.
    if unsafe { direct_set(file) } {
        return EINVAL.to_errno() as isize;
    }
    // SAFETY: A constant.
    let nowait = unsafe { helpers::cfs_iocb_nowait() } | bindings::IOCB_NOIO as c_int;
    if flags & nowait != 0 {
        // SAFETY: Called with the arguments the VFS gave this callback.
        return unsafe { bindings::generic_file_read_iter(iocb, iter) };
    }
    let Ok(pos) = u64::try_from(pos) else {
        return EINVAL.to_errno() as isize;
    };
    // SAFETY: `file` is open, so its inode is a filled-in inode of type `T`
    // (only `NewINode::init` installs this table), pinned for the call.
    let inode = unsafe { INode::<T>::from_raw(helpers::cfs_file_inode(file)) };
    // INVARIANT: The VFS passes a valid destination iterator, ours for the
    // call.
    let mut dest = ReadDest {
        iter,
        _p: PhantomData,
    };
    match T::read_uncached(inode, pos, &mut dest) {
        Ok(n) => {
            // SAFETY: `iocb` is valid and ours for the call. `n` is at most
            // the iterator's count, below `isize::MAX`.
            unsafe { (*iocb).ki_pos += n as i64 };
            n as isize
        }
        Err(e) => e.to_errno() as isize,
    }
}

/// `file_operations::splice_read` of files read from the image.
///
/// # Safety
///
/// Called by the VFS with an open file and valid splice arguments.
unsafe extern "C" fn cached_splice_read(
    file: *mut bindings::file,
    ppos: *mut bindings::loff_t,
    pipe: *mut bindings::pipe_inode_info,
    len: usize,
    flags: c_uint,
) -> isize {
    // SAFETY: The VFS passes an open file.
    if unsafe { direct_set(file) } {
        return EINVAL.to_errno() as isize;
    }
    // Through `read_iter` into pages of the pipe's own, as reads go (see
    // `cached_read_iter`).
    // SAFETY: Called with the arguments the VFS gave this callback.
    unsafe { bindings::copy_splice_read(file, ppos, pipe, len, flags) }
}

/// `file_operations::llseek` of files read from the image.
///
/// # Safety
///
/// Called by the VFS with an open file, position updates serialised.
unsafe extern "C" fn cached_llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
    // SAFETY: The VFS passes an open file.
    if unsafe { direct_set(file) } {
        return EINVAL.to_errno().into();
    }
    // SAFETY: Called with the arguments the VFS gave this callback.
    unsafe { bindings::generic_file_llseek(file, offset, whence) }
}

/// `file_operations::fadvise` of files read from the image.
///
/// # Safety
///
/// Called by the VFS with an open file.
unsafe extern "C" fn cached_fadvise(
    file: *mut bindings::file,
    off: i64,
    len: i64,
    advice: c_int,
) -> c_int {
    // SAFETY: The VFS passes an open file.
    if unsafe { direct_set(file) } {
        return EINVAL.to_errno();
    }
    // SAFETY: Called with the arguments the VFS gave this callback.
    unsafe { bindings::generic_fadvise(file, off, len, advice) }
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
