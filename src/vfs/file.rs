// SPDX-License-Identifier: GPL-2.0

//! Regular files: page-cache reads (`address_space_operations`) and files
//! stacked on a backing file (the kernel's backing-file helpers).
//!
//! C headers: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h),
//! [`include/linux/backing-file.h`](srctree/include/linux/backing-file.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use super::path::Path;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    cred::Credential,
    error::{from_result, to_result},
    ffi::c_ulong,
    fs::File,
    new_spinlock,
    page::PAGE_SIZE,
    prelude::*,
    sync::{aref::ARef, SpinLock},
};

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

/// A locked folio being read in (`read_folio`).
///
/// # Invariants
///
/// `folio` is locked, not uptodate, and owned by the running `read_folio`.
pub(crate) struct LockedFolio<'a> {
    folio: *mut bindings::folio,
    _p: PhantomData<&'a mut bindings::folio>,
}

impl LockedFolio<'_> {
    /// File position of the folio's first byte.
    pub(crate) fn pos(&self) -> i64 {
        // SAFETY: By the type invariant the folio is valid.
        unsafe { helpers::cfs_folio_pos(self.folio) }
    }

    /// Size of the folio in bytes.
    pub(crate) fn size(&self) -> usize {
        // SAFETY: By the type invariant the folio is valid.
        unsafe { helpers::cfs_folio_size(self.folio) }
    }

    /// Calls `f` on each page of the folio in turn, with the file position
    /// of the page and its bytes mapped for writing.
    pub(crate) fn fill_pages(&mut self, mut f: impl FnMut(i64, &mut [u8]) -> Result) -> Result {
        let size = self.size();
        let pos = self.pos();
        let mut off = 0usize;
        while off < size {
            // SAFETY: By the type invariant the folio is locked and ours;
            // `off` is below its size, so the page at `off` exists.
            let p = unsafe { helpers::cfs_kmap_local_folio(self.folio, off) }.cast::<u8>();
            // SAFETY: `kmap_local_folio` maps the whole page at `off`, which
            // nobody else accesses while the folio is locked and not uptodate.
            let page = unsafe { core::slice::from_raw_parts_mut(p, PAGE_SIZE) };
            let r = f(pos + off as i64, page);
            // SAFETY: Unmaps what was mapped above, in LIFO order.
            unsafe { helpers::cfs_kunmap_local(p.cast()) };
            r?;
            off += PAGE_SIZE;
        }
        Ok(())
    }
}

/// The composefs file being opened (`struct file` in `->open`).
///
/// # Invariants
///
/// `file` is the file being opened by the running `open` call.
pub(crate) struct OpeningFile<'a> {
    file: *mut bindings::file,
    _p: PhantomData<&'a bindings::file>,
}

impl OpeningFile<'_> {
    /// The open flags (`f_flags`).
    pub(crate) fn flags(&self) -> u32 {
        // SAFETY: By the type invariant the file is valid.
        unsafe { (*self.file).f_flags }
    }

    /// The name of the file's superblock in kernel messages (`s_id`).
    pub(crate) fn sb_id(&self) -> &CStr {
        // SAFETY: By the type invariant the file is valid, so its inode is.
        let inode = unsafe { helpers::cfs_file_inode(self.file) };
        // SAFETY: The inode's superblock is live while the file is; `s_id`
        // is a NUL-terminated array set up before the superblock could
        // open files, and not changed afterwards.
        unsafe { CStr::from_char_ptr((*(*inode).i_sb).s_id.as_ptr()) }
    }

    /// Whether the file is being opened for reading only (`O_RDONLY`).
    pub(crate) fn is_read_only(&self) -> bool {
        self.flags() & bindings::O_ACCMODE == bindings::O_RDONLY
    }

    /// Writes the path of the file (as `/proc/self/fd` shows it) into `buf`
    /// and returns it; `None` if it does not fit.
    pub(crate) fn path<'b>(&self, buf: &'b mut [u8]) -> Option<&'b [u8]> {
        let len = c_int::try_from(buf.len()).ok()?;
        // SAFETY: By the type invariant the file is valid; `file_path` writes
        // at most `len` bytes into `buf` and returns a pointer into it (the
        // NUL-terminated path at its end) or an error pointer.
        let p = unsafe { bindings::file_path(self.file, buf.as_mut_ptr(), len) };
        if kernel::error::from_err_ptr(p).is_err() {
            return None;
        }
        let start = (p as usize).checked_sub(buf.as_ptr() as usize)?;
        let s = buf.get(start..)?;
        let end = s.iter().position(|&c| c == 0)?;
        s.get(..end)
    }
}

/// An opened backing file (`FMODE_BACKING`), owned.
///
/// # Invariants
///
/// `0` is a backing file opened by `backing_file_open`, with a reference
/// owned by this object.
pub(crate) struct BackingFile(NonNull<bindings::file>);

impl BackingFile {
    /// Opens the object at `path` as the backing file of `user` with `cred`
    /// (`backing_file_open`), read-only with `user`'s other flags, as
    /// overlayfs opens a real file (`ovl_open_realfile`): with `cred` in
    /// force, so that the object's filesystem and the LSM hooks see the
    /// mounter.
    ///
    /// The backing file is always `O_NOATIME`: overlayfs reads data-layer
    /// objects through private clones of the layers' mounts made
    /// `MNT_NOATIME` (`ovl_get_layers`), so reading a file never changes its
    /// object's atime there, whoever reads it and with whatever flags
    /// (`ovl_open_realfile`'s owner check for `O_NOATIME` matters only for
    /// its upper layer). The user's own `O_NOATIME` was checked against the
    /// composefs inode by `open(2)`.
    pub(crate) fn open(user: &OpeningFile<'_>, path: &Path, cred: &Credential) -> Result<Self> {
        let flags = (user.flags()
            & !(bindings::O_ACCMODE | bindings::O_CREAT | bindings::O_TRUNC))
            | bindings::O_RDONLY
            | bindings::O_LARGEFILE
            | bindings::O_NOATIME;
        let raw = path.as_raw();
        let f = super::cred::with_creds(cred, || {
            // SAFETY: `user.file` is the file being opened (the
            // `OpeningFile` invariant), `raw` a referenced path (`path` is
            // borrowed) and `cred` a valid credential; the result is a new
            // reference or an error pointer.
            unsafe { bindings::backing_file_open(user.file, flags as c_int, raw, cred.as_ptr()) }
        });
        let f = kernel::error::from_err_ptr(f)?;
        // INVARIANT: a new backing file and its reference.
        NonNull::new(f).map(Self).ok_or(ENOMEM)
    }

    /// The inode of the backing file.
    pub(crate) fn inode_ptr(&self) -> *mut bindings::inode {
        // SAFETY: By the type invariant the file is valid.
        unsafe { helpers::cfs_file_inode(self.0.as_ptr()) }
    }

    /// The fs-verity digest of the backing file, if it has one: the
    /// `FS_VERITY_HASH_ALG_*` id and the number of bytes written to `out`.
    pub(crate) fn verity_digest(&self, out: &mut [u8; 64]) -> Option<(u8, usize)> {
        // SAFETY: By the type invariant the backing file is open while
        // `self` is borrowed.
        unsafe { super::verity::digest(self.inode_ptr(), out) }
    }
}

impl Drop for BackingFile {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference.
        unsafe { bindings::fput(self.0.as_ptr()) };
    }
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

/// Returns the backing file stored in an open stacked file.
///
/// # Safety
///
/// `file` must be an open file of `BACKED_FOPS` (after a successful open).
unsafe fn real(file: *mut bindings::file) -> *mut bindings::file {
    // SAFETY: Per the function's contract the file is open, so
    // `private_data` is the backing file `backed_open` stored, released only
    // in `backed_release`.
    unsafe { (*file).private_data.cast() }
}

/// `FMODE_CAN_ODIRECT` (checked against the C value in `helpers.c`).
const FMODE_CAN_ODIRECT: u32 = 1 << 22;

/// The `fcntl(F_SETFL)` flags carried from a stacked file to its backing
/// file, as overlayfs carries them (`OVL_SETFL_MASK`).
const SETFL_MASK: u32 = bindings::O_APPEND | bindings::O_NONBLOCK | bindings::O_DIRECT;

/// Returns the backing file of the open stacked file `file`, with the
/// `fcntl(F_SETFL)` changes made to `file` since it was opened carried over
/// (as overlayfs's `ovl_real_file`), so that e.g. reads after
/// `F_SETFL O_DIRECT` are direct on the backing file too.
///
/// # Safety
///
/// `file` must be an open file of `BACKED_FOPS` (after a successful open).
unsafe fn real_synced(file: *mut bindings::file) -> Result<*mut bindings::file> {
    // SAFETY: Per the function's contract.
    let r = unsafe { real(file) };
    // SAFETY: `file` is open; `f_flags` changes under `f_lock` (`setfl`), so
    // it is read once, as `READ_ONCE` would.
    let flags = unsafe { core::ptr::read_volatile(&raw const (*file).f_flags) };
    // SAFETY: `r` is the open backing file of `file`; its `f_flags` change
    // only below, under its `f_lock`: read once.
    let rflags = unsafe { core::ptr::read_volatile(&raw const (*r).f_flags) };
    // `O_NOATIME` is not carried (the backing file always has it).
    if (flags ^ rflags) & SETFL_MASK != 0 {
        // SAFETY: `r` is an open backing file.
        unsafe { change_flags(r, flags) }?;
    }
    Ok(r)
}

/// Sets the `SETFL_MASK` flags of the open backing file `r` to those of
/// `flags`, with the checks `fcntl(F_SETFL)` makes (`ovl_change_flags`).
///
/// # Safety
///
/// `r` must be an open file.
unsafe fn change_flags(r: *mut bindings::file, flags: u32) -> Result {
    let flags = flags & SETFL_MASK;
    // SAFETY: `r` is open, so its inode is valid.
    let inode = unsafe { helpers::cfs_file_inode(r) };
    // SAFETY: `r` is open; `f_flags` is read once (it changes under
    // `f_lock`), `i_flags` of a valid inode likewise.
    let (rflags, iflags) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*r).f_flags),
            core::ptr::read_volatile(&raw const (*inode).i_flags),
        )
    };
    if (flags ^ rflags) & bindings::O_APPEND != 0 && iflags & bindings::S_APPEND != 0 {
        return Err(EPERM);
    }
    // SAFETY: `r` is open; `f_mode` is set at open.
    let mode = unsafe { (*r).f_mode };
    if flags & bindings::O_DIRECT != 0 && mode & FMODE_CAN_ODIRECT == 0 {
        return Err(EINVAL);
    }
    // SAFETY: `r` is open, so `f_op` is its valid, `'static` table.
    if let Some(check) = unsafe { (*(*r).f_op).check_flags } {
        // SAFETY: `check_flags` takes any flag value.
        to_result(unsafe { check(flags as c_int) })?;
    }
    // SAFETY: `r` is open, so its `f_lock` is initialised.
    unsafe { bindings::spin_lock(&raw mut (*r).f_lock) };
    // SAFETY: `r` is open and `f_lock` held, which serialises `f_flags` and
    // `f_iocb_flags` updates with `fcntl` (no user has a descriptor of this
    // backing file) and with other readers of the stacked file.
    unsafe { (*r).f_flags = ((*r).f_flags & !SETFL_MASK) | flags };
    // SAFETY: As above; `iocb_flags` reads `f_flags` of the open file.
    let iocb = unsafe { helpers::cfs_iocb_flags(r) } as c_uint;
    // SAFETY: As above, `f_lock` is held.
    unsafe { (*r).f_iocb_flags = iocb };
    // SAFETY: Taken above.
    unsafe { bindings::spin_unlock(&raw mut (*r).f_lock) };
    Ok(())
}

/// The inode of the open stacked file `file` of a filesystem of type `T`.
///
/// # Safety
///
/// `file` must be an open stacked file of a filesystem of type `T`, and
/// stay open for `'a`.
unsafe fn file_inode<'a, T: FileSystem>(file: *mut bindings::file) -> &'a INode<T> {
    // SAFETY: Per the function's contract `file` is open.
    let inode = unsafe { helpers::cfs_file_inode(file) };
    // SAFETY: The inode of an open stacked file of type `T` is a filled-in
    // inode of type `T`, pinned by the open file for `'a`.
    unsafe { INode::<T>::from_raw(inode) }
}

/// The backing-file context of stacked file I/O: the mounter's credentials.
fn ctx<T: FileSystem>(inode: &INode<T>) -> bindings::backing_file_ctx {
    bindings::backing_file_ctx {
        cred: T::backing_cred(inode).as_ptr(),
        accessed: None,
        end_write: None,
    }
}

/// `file_operations::open` of stacked files.
///
/// # Safety
///
/// Called by the VFS with a filled-in inode of type `T` and the file being
/// opened.
unsafe extern "C" fn backed_open<T: FileSystem>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    from_result(|| {
        // SAFETY: The VFS passes the filled-in inode of type `T` being
        // opened (only `NewINode::init` installs this table on such
        // inodes), live for the call.
        let inode = unsafe { INode::<T>::from_raw(inode) };
        // INVARIANT: `file` is being opened by this call.
        let opening = OpeningFile {
            file,
            _p: PhantomData,
        };
        let b = T::open_backing(inode, &opening)?;
        let p = b.0.as_ptr();
        core::mem::forget(b);
        // SAFETY: The file is being opened and not shared yet; the reference
        // moves into `private_data` until `release`.
        unsafe { (*file).private_data = p.cast() };
        Ok(0)
    })
}

/// `file_operations::release` of stacked files.
///
/// # Safety
///
/// Called by the VFS once for each successfully opened stacked file.
unsafe extern "C" fn backed_release(
    _inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: The file was opened by `backed_open` (the VFS only releases
    // files whose open succeeded).
    let r = unsafe { real(file) };
    // SAFETY: The file is being released: nothing else uses it.
    unsafe { (*file).private_data = core::ptr::null_mut() };
    if !r.is_null() {
        // SAFETY: `private_data` held the reference `backed_open` stored,
        // dropped here once.
        unsafe { bindings::fput(r) };
    }
    0
}

/// `file_operations::read_iter` of stacked files.
///
/// # Safety
///
/// Called by the VFS with a kiocb of an open stacked file of a filesystem
/// of type `T` and an iterator.
unsafe extern "C" fn backed_read_iter<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: The VFS passes a valid kiocb for the call.
    let file = unsafe { (*iocb).ki_filp };
    // SAFETY: `file` is an open stacked file of type `T`, open for the call.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: `file` is an open stacked file.
    let r = match unsafe { real_synced(file) } {
        Ok(r) => r,
        Err(e) => return e.to_errno() as isize,
    };
    let mut c = ctx(inode);
    // SAFETY: The VFS passes a valid kiocb for the call.
    let flags = unsafe { (*iocb).ki_flags };
    // SAFETY: `r` is the open backing file, `iter` and `iocb` are valid for
    // the call, `c` lives across it.
    unsafe { bindings::backing_file_read_iter(r, iter, iocb, flags, &mut c) }
}

/// `file_operations::splice_read` of stacked files.
///
/// # Safety
///
/// Called by the VFS with an open stacked file of a filesystem of type `T`,
/// its valid position and a pipe.
unsafe extern "C" fn backed_splice_read<T: FileSystem>(
    file: *mut bindings::file,
    ppos: *mut bindings::loff_t,
    pipe: *mut bindings::pipe_inode_info,
    len: usize,
    flags: c_uint,
) -> isize {
    // SAFETY: `file` is an open stacked file of type `T`, open for the call.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: `file` is an open stacked file.
    let r = match unsafe { real_synced(file) } {
        Ok(r) => r,
        Err(e) => return e.to_errno() as isize,
    };
    let mut c = ctx(inode);
    let mut iocb = core::mem::MaybeUninit::<bindings::kiocb>::zeroed();
    // SAFETY: `iocb` is writable local memory; `file` is open.
    unsafe { helpers::cfs_init_sync_kiocb(iocb.as_mut_ptr(), file) };
    // SAFETY: Initialised by `init_sync_kiocb` (and zeroed before).
    let iocb = unsafe { iocb.assume_init_mut() };
    // SAFETY: The VFS passes a valid position for the call.
    iocb.ki_pos = unsafe { *ppos };
    // SAFETY: `r` is the open backing file, `pipe` valid for the call,
    // `iocb` and `c` live across it.
    let ret = unsafe { bindings::backing_file_splice_read(r, iocb, pipe, len, flags, &mut c) };
    // SAFETY: As above, `ppos` is valid.
    unsafe { *ppos = iocb.ki_pos };
    ret
}

/// `file_operations::mmap` of stacked files: maps the backing file.
///
/// # Safety
///
/// Called by the VFS with an open stacked file of a filesystem of type `T`
/// and a VMA being set up.
unsafe extern "C" fn backed_mmap<T: FileSystem>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: `file` is an open stacked file of type `T`, open for the call.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: `file` is an open stacked file.
    let r = match unsafe { real_synced(file) } {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    let mut c = ctx(inode);
    // SAFETY: `r` is the open backing file and `vma` the VMA being set up
    // for `file`; `backing_file_mmap` moves it to `r`.
    unsafe { bindings::backing_file_mmap(r, vma, &mut c) }
}

/// `file_operations::llseek` of stacked files: seeks the backing file
/// (which knows its holes) from the stacked file's position, with the
/// mounter's credentials (as `ovl_llseek`).
///
/// # Safety
///
/// Called by the VFS with an open stacked file of a filesystem of type
/// `T`; the caller serialises position updates of the file description
/// (`f_pos_lock`).
unsafe extern "C" fn backed_llseek<T: FileSystem>(
    file: *mut bindings::file,
    offset: i64,
    whence: c_int,
) -> i64 {
    // SAFETY: `file` is an open stacked file of type `T`, open for the call.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: `file` is an open stacked file.
    let r = match unsafe { real_synced(file) } {
        Ok(r) => r,
        Err(e) => return e.to_errno().into(),
    };
    // SAFETY: The backing file is private to this open file, so its position
    // is only touched under the caller's serialisation of `file`'s.
    unsafe { (*r).f_pos = (*file).f_pos };
    super::cred::with_creds(T::backing_cred(inode), || {
        // SAFETY: `r` is the open backing file.
        let ret = unsafe { bindings::vfs_llseek(r, offset, whence) };
        // SAFETY: As above, serialised by the caller.
        unsafe { (*file).f_pos = (*r).f_pos };
        ret
    })
}

/// `file_operations::fadvise` of stacked files, with the mounter's
/// credentials (as `ovl_fadvise`).
///
/// # Safety
///
/// Called by the VFS with an open stacked file of a filesystem of type `T`.
unsafe extern "C" fn backed_fadvise<T: FileSystem>(
    file: *mut bindings::file,
    off: i64,
    len: i64,
    advice: c_int,
) -> c_int {
    // SAFETY: `file` is an open stacked file of type `T`, open for the call.
    let inode = unsafe { file_inode::<T>(file) };
    // SAFETY: `file` is an open stacked file.
    let r = match unsafe { real_synced(file) } {
        Ok(r) => r,
        Err(e) => return e.to_errno(),
    };
    super::cred::with_creds(T::backing_cred(inode), || {
        // SAFETY: `r` is the open backing file.
        unsafe { bindings::vfs_fadvise(r, off, len, advice) }
    })
}

// Image pages are read at their direct-map address (`folio_address`), which
// highmem folios lack (`Kconfig` depends on `!HIGHMEM`; this catches
// out-of-tree builds).
#[cfg(CONFIG_HIGHMEM)]
compile_error!("composefs reads the image through the direct map: no HIGHMEM");

/// `BLK_OPEN_READ` (checked against the C value in `helpers.c`).
const BLK_OPEN_READ: u32 = 1 << 0;
/// `BLK_OPEN_RESTRICT_WRITES`: no writer may open the device while it is
/// claimed so (checked against the C value in `helpers.c`).
const BLK_OPEN_RESTRICT_WRITES: u32 = 1 << 5;

/// The holder of the block devices composefs mounts read: one for all
/// mounts, so that a device can back several mounts (each with its own
/// superblock and options) while other exclusive openers (block
/// filesystems, device mappers) are kept off it.
static BDEV_HOLDER: u8 = 0;

/// Why the image source could not be opened.
pub(crate) enum SourceError {
    /// Opening it failed with this error.
    Open(Error),
    /// It is neither a regular file nor a block device (`ENOTBLK`).
    NotFileOrBdev,
    /// It is a file on a stacked filesystem (`ENOTBLK`, as EROFS refuses a
    /// file-backed mount there).
    Stacked,
    /// Its filesystem cannot read it into the page cache (`EOPNOTSUPP`).
    NoPageCache,
}

impl SourceError {
    /// The error a mount fails with.
    pub(crate) fn errno(&self) -> Error {
        match self {
            Self::Open(e) => *e,
            Self::NotFileOrBdev | Self::Stacked => ENOTBLK,
            Self::NoPageCache => EOPNOTSUPP,
        }
    }
}

impl From<Error> for SourceError {
    fn from(e: Error) -> Self {
        Self::Open(e)
    }
}

/// The opened image source: a regular file or a block device, read through
/// its page cache.
///
/// # Invariants
///
/// `file` is an open file with a reference owned by this object. If
/// `is_bdev`, it was opened by `bdev_file_open_by_path` with `BDEV_HOLDER`
/// and is released with `bdev_fput`; otherwise it is a regular file whose
/// write access this object denies until drop. If `stable`, the bytes of
/// its uptodate page-cache folios do not change while they are referenced
/// and the file is open (see [`SourceFile::open`]).
pub(crate) struct SourceFile {
    file: NonNull<bindings::file>,
    is_bdev: bool,
    stable: bool,
    /// How many pages a page-cache miss reads ahead (the source file's
    /// readahead window as opened; 0 for tmpfs, whose folios are not read
    /// but allocated or swapped in by `shmem_read_folio`).
    ra_pages: usize,
    /// Size of the source in bytes as opened. A regular file cannot change
    /// while its writes are denied; a block device may be resized, but the
    /// format reader takes its bounds from the size it saw at open anyway,
    /// and the page cache reads zeros past a block device's end.
    size: u64,
    /// The source's most recently read folios (see `read_page`).
    recent: Pin<KBox<SpinLock<RecentFolios>>>,
}

// SAFETY: The file reference may be used and dropped on any task; the
// recently used folios are behind a spinlock.
unsafe impl Send for SourceFile {}
// SAFETY: `&SourceFile` only reads the file (the page cache and readahead
// state serialise themselves) and locks the recently used folios.
unsafe impl Sync for SourceFile {}

impl SourceFile {
    /// Opens `path` read-only with the current credentials.
    ///
    /// A block device is claimed with `BLK_OPEN_RESTRICT_WRITES`, as block
    /// filesystems claim theirs: nobody may open it for writing while it is
    /// mounted (unless the kernel allows writes to mounted devices,
    /// `CONFIG_BLK_DEV_WRITE_MOUNTED` without `bdev_allow_write_mounted=0`).
    /// A regular file has its writes denied while it is open; it is refused
    /// on a stacked filesystem (nonzero `s_stack_depth`, or a file-backed
    /// EROFS mount), as EROFS refuses file-backed mounts there: reading the
    /// image nests the page-cache reads of each filesystem below. Anything
    /// else, and files whose filesystem cannot read them into the page
    /// cache, are refused.
    pub(crate) fn open(path: &CStr) -> Result<Self, SourceError> {
        let holder = core::ptr::from_ref(&BDEV_HOLDER).cast_mut().cast();
        // SAFETY: `path` is NUL-terminated; `holder` is a unique static
        // address, used only as a claim token (no holder ops); the result is
        // a referenced file or an error pointer.
        let bdev = unsafe {
            bindings::bdev_file_open_by_path(
                path.as_char_ptr(),
                BLK_OPEN_READ | BLK_OPEN_RESTRICT_WRITES,
                holder,
                core::ptr::null(),
            )
        };
        match kernel::error::from_err_ptr(bdev) {
            Ok(f) => Self::new_bdev(NonNull::new(f).ok_or(EIO)?),
            Err(e) if e == ENOTBLK => Self::open_file(path),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes over `f`, a block device file claimed by [`Self::open`].
    fn new_bdev(f: NonNull<bindings::file>) -> Result<Self, SourceError> {
        let raw = f.as_ptr();
        // SAFETY: `raw` is an open block device file.
        let bdev = unsafe { bindings::file_bdev(raw) };
        // Writes are blocked (`bd_writers` negative) while any restricting
        // claim, ours included, is held, unless the kernel allows writes to
        // mounted devices. Nothing then changes the bytes of the device's
        // uptodate page-cache folios: writers reach them only through a
        // write open of the device, and dropping the cache (invalidation,
        // `BLKFLSBUF`) removes folios from it without touching their bytes.
        // SAFETY: `bdev` is the valid device of the open file; `bd_writers`
        // changes under the device's lock: read once.
        let stable = unsafe { core::ptr::read_volatile(&raw const (*bdev).bd_writers) } < 0;
        // INVARIANT: `f` was opened by `bdev_file_open_by_path` with the
        // holder; `stable` as said above.
        Self::new(f, true, stable).inspect_err(|_| {
            // SAFETY: `new` failed before owning `f`: release our claim.
            unsafe { bindings::bdev_fput(raw) };
        })
    }

    /// Opens `path` as a regular file for [`Self::open`].
    fn open_file(path: &CStr) -> Result<Self, SourceError> {
        let flags = (bindings::O_RDONLY | bindings::O_LARGEFILE) as c_int;
        // SAFETY: `path` is NUL-terminated; `filp_open` returns a referenced
        // file or an error pointer.
        let f = kernel::error::from_err_ptr(unsafe {
            bindings::filp_open(path.as_char_ptr(), flags, 0)
        })?;
        // SAFETY: `filp_open` returned a new reference to an open file.
        unsafe { Self::from_file(f) }
    }

    /// Opens the source named by `path` (the path of a file descriptor
    /// given as the mount source) read-only, as [`Self::open`] opens a
    /// name: a block device is claimed, a regular file has its writes
    /// denied. Read permission is checked with `cred`, as an open by name
    /// checks it (the descriptor may be an `O_PATH` one); anything but a
    /// regular file or a block device is refused without being opened.
    pub(crate) fn open_path(path: &Path, cred: &Credential) -> Result<Self, SourceError> {
        path.permission(Path::MAY_OPEN_READ, cred)?;
        if let Some(dev) = path.block_device() {
            let holder = core::ptr::from_ref(&BDEV_HOLDER).cast_mut().cast();
            // SAFETY: `holder` is a unique static address used only as a
            // claim token (as in `open`); the result is a referenced file or
            // an error pointer.
            let bdev = unsafe {
                bindings::bdev_file_open_by_dev(
                    dev,
                    BLK_OPEN_READ | BLK_OPEN_RESTRICT_WRITES,
                    holder,
                    core::ptr::null(),
                )
            };
            let f = kernel::error::from_err_ptr(bdev)?;
            return Self::new_bdev(NonNull::new(f).ok_or(EIO)?);
        }
        if !path.is_reg() {
            return Err(SourceError::NotFileOrBdev);
        }
        let flags = (bindings::O_RDONLY | bindings::O_LARGEFILE) as c_int;
        // SAFETY: `path` is a referenced, positive path and `cred` valid;
        // `dentry_open` returns a referenced file or an error pointer.
        let f = kernel::error::from_err_ptr(unsafe {
            bindings::dentry_open(path.as_raw(), flags, cred.as_ptr())
        })?;
        // SAFETY: `dentry_open` returned a new reference to an open file.
        unsafe { Self::from_file(f) }
    }

    /// Takes over `f`, a regular file opened read-only, for [`Self::open`]
    /// and [`Self::open_path`].
    ///
    /// # Safety
    ///
    /// `f` must be a new reference to an open file, given to this function.
    unsafe fn from_file(f: *mut bindings::file) -> Result<Self, SourceError> {
        // SAFETY: Per the function's contract `f` is a new reference to an
        // open file (so non-NULL); `ARef` drops it on the error paths below.
        let file: ARef<File> = unsafe { ARef::from_raw(NonNull::new_unchecked(f.cast())) };
        // SAFETY: The file is open, so its inode is valid.
        let inode = unsafe { helpers::cfs_file_inode(f) };
        // SAFETY: As above; `i_mode` is fixed for a live inode.
        let mode = u32::from(unsafe { (*inode).i_mode });
        if mode & bindings::S_IFMT != bindings::S_IFREG {
            return Err(SourceError::NotFileOrBdev);
        }
        // SAFETY: The inode of an open file is valid, and so is its
        // superblock while the file is open.
        let sb = unsafe { (*inode).i_sb };
        // SAFETY: As above; `s_stack_depth` and `s_bdev` are set when the
        // superblock is set up, `s_type` is its `'static` type.
        let (depth, has_bdev, fstype, magic) = unsafe {
            (
                (*sb).s_stack_depth,
                !(*sb).s_bdev.is_null(),
                CStr::from_char_ptr((*(*sb).s_type).name),
                (*sb).s_magic,
            )
        };
        // EROFS counts no stacking depth for its own file-backed mounts but
        // refuses them as a source all the same.
        if depth != 0 || (!has_bdev && fstype.to_bytes() == b"erofs") {
            return Err(SourceError::Stacked);
        }
        // The image is read with `read_mapping_folio` (`shmem_read_folio` on
        // tmpfs), which needs the mapping to read folios.
        // SAFETY: The file is open, so its mapping is valid.
        let mapping = unsafe { (*f).f_mapping };
        // SAFETY: The mapping of an open file is valid.
        let shmem = unsafe { helpers::cfs_shmem_mapping(mapping) };
        // SAFETY: As above; `a_ops` is the mapping's `'static` table.
        let read_folio = unsafe { (*(*mapping).a_ops).read_folio };
        if !shmem && read_folio.is_none() {
            return Err(SourceError::NoPageCache);
        }
        // SAFETY: The file is open.
        to_result(unsafe { helpers::cfs_deny_write_access(f) })?;
        // With writes denied nobody can write, truncate or punch the file
        // (each needs write access), so its uptodate folios keep their
        // bytes, on tmpfs and on filesystems on a block device. FUSE (also
        // `fuseblk`, on a block device) lets the server store into the page
        // cache (`FUSE_NOTIFY_STORE`), other filesystems without a device
        // may refresh their cache as they like: copy from those.
        let stable = shmem || (has_bdev && magic != bindings::FUSE_SUPER_MAGIC as usize);
        let f: NonNull<bindings::file> = ARef::into_raw(file).cast();
        // INVARIANT: a regular file with writes denied; `stable` as said.
        Self::new(f, false, stable).inspect_err(|_| {
            // SAFETY: `new` failed before owning `f`: undo our denial.
            unsafe { helpers::cfs_allow_write_access(f.as_ptr()) };
            // SAFETY: As above, drop our reference.
            unsafe { bindings::fput(f.as_ptr()) };
        })
    }

    /// Wraps the open source `f` (see the type invariants).
    fn new(f: NonNull<bindings::file>, is_bdev: bool, stable: bool) -> Result<Self, SourceError> {
        let raw = f.as_ptr();
        // SAFETY: The file is open, so its mapping is valid; its readahead
        // window was set up by the open and only changes through `fadvise`
        // on a file descriptor, which this kernel-internal file has none of.
        let ra_pages = unsafe {
            if helpers::cfs_shmem_mapping((*raw).f_mapping) {
                0
            } else {
                helpers::cfs_file_ra_pages(raw) as usize
            }
        };
        // SAFETY: The file is open, so its mapping is valid; the mapping's
        // host is the inode whose page cache holds the data (the bdev inode
        // for a block device), live while the file is open.
        let host = unsafe { (*(*raw).f_mapping).host };
        // SAFETY: `host` is a live inode (above).
        let size = unsafe { helpers::cfs_i_size_read(host) };
        let recent = KBox::pin_init(
            new_spinlock!(RecentFolios {
                slots: [const { None }; RECENT_FOLIOS],
                next: 0,
            }),
            GFP_KERNEL,
        )?;
        Ok(Self {
            file: f,
            is_bdev,
            stable,
            ra_pages,
            size: size.max(0) as u64,
            recent,
        })
    }

    /// Whether the source is a block device.
    pub(crate) fn is_bdev(&self) -> bool {
        self.is_bdev
    }

    /// Size of the source in bytes, as opened.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// The fs-verity digest of the source file, if it has one.
    pub(crate) fn verity_digest(&self, out: &mut [u8; 64]) -> Option<(u8, usize)> {
        // SAFETY: By the type invariant the file is open.
        let inode = unsafe { helpers::cfs_file_inode(self.file.as_ptr()) };
        // SAFETY: `inode` is the inode of the open file, which keeps it.
        unsafe { super::verity::digest(inode, out) }
    }

    /// Reads page `index` of the source through its page cache and returns
    /// its bytes (those within the source's size).
    ///
    /// The folio holding the page is looked up among the mount's recently
    /// used folios first: a walk in readdir order fetches the same
    /// directory, inode-table and xattr blocks over and over, and a hit
    /// there costs a lock and a reference instead of a page-cache lookup.
    pub(crate) fn read_page(&self, index: u32) -> Result<SourcePage<'_>> {
        let index = index as usize;
        let (folio, first) = match self.recent_folio(index) {
            Some(hit) => hit,
            None => {
                let folio = self.page_cache_folio(index)?;
                // SAFETY: `folio` is valid and referenced.
                let pos = unsafe { helpers::cfs_folio_pos(folio.as_ptr()) };
                let first = (pos >> kernel::page::PAGE_SHIFT) as usize;
                self.remember_folio(&folio, first);
                (folio, first)
            }
        };
        // `first <= index`: the folio holds the page.
        let off = index.checked_sub(first).ok_or(EIO)? << kernel::page::PAGE_SHIFT;
        // SAFETY: The folio is referenced. Without `CONFIG_HIGHMEM` (see
        // `Kconfig`) its memory is in the kernel's direct map, where
        // `folio_address` gives its permanent address: no mapping to undo.
        let base = unsafe { helpers::cfs_folio_address(folio.as_ptr()) }.cast::<u8>();
        // SAFETY: The folio holds the page at `off` (above), so the page is
        // within the folio's memory.
        let addr = unsafe { base.add(off) }.cast_const();
        let pos = (index as u64) << kernel::page::PAGE_SHIFT;
        let len = (self.size.saturating_sub(pos)).min(PAGE_SIZE as u64) as usize;
        let data = if self.stable {
            // INVARIANT: the folio is referenced, `addr` is its page's
            // address for `len <= PAGE_SIZE` bytes, and by the `SourceFile`
            // invariant those do not change while referenced.
            PageData::Stable {
                _folio: folio,
                addr,
            }
        } else {
            PageData::Copied(copy_page(addr, len)?)
        };
        Ok(SourcePage {
            data,
            len,
            _p: PhantomData,
        })
    }

    /// The recently used folio that holds page `index`, referenced, and its
    /// first page index; `None` if there is none.
    fn recent_folio(&self, index: usize) -> Option<(FolioRef, usize)> {
        // SAFETY: The file is open, so its mapping is valid.
        let mapping = unsafe { (*self.file.as_ptr()).f_mapping };
        let mut recent = self.recent.lock();
        let slot = recent.slots.iter_mut().find(|s| {
            s.as_ref()
                .is_some_and(|r| index.wrapping_sub(r.first) < r.pages)
        })?;
        let r = slot.as_ref()?;
        // A folio removed from the page cache (a block device's cache being
        // invalidated) may be replaced by a newer one: look that up instead.
        // SAFETY: The slot holds a reference to the folio.
        if unsafe { helpers::cfs_folio_mapping(r.folio.as_ptr()) } != mapping {
            let stale = slot.take();
            drop(recent);
            drop(stale);
            return None;
        }
        Some((r.folio.clone(), r.first))
    }

    /// How many folios the recently used ones hold referenced.
    pub(crate) fn recent_folios(&self) -> usize {
        self.recent.lock().slots.iter().flatten().count()
    }

    /// Drops up to `nr` of the recently used folios (the superblock's
    /// shrinker asks under memory pressure, and `drop_caches`, so that what
    /// the mount keeps is given back like the rest of the page cache);
    /// returns how many were dropped.
    pub(crate) fn forget_recent_folios(&self, nr: usize) -> usize {
        let mut dropped: [Option<RecentFolio>; RECENT_FOLIOS] = [const { None }; RECENT_FOLIOS];
        let mut n = 0;
        let mut recent = self.recent.lock();
        let kept = recent.slots.iter_mut().filter(|s| s.is_some()).take(nr);
        for (slot, out) in kept.zip(dropped.iter_mut()) {
            *out = slot.take();
            n += 1;
        }
        // The last reference to a folio may free it: not under the lock.
        drop(recent);
        drop(dropped);
        n
    }

    /// Keeps a reference to `folio`, which starts at page index `first`,
    /// among the recently used folios, in place of the least recently added
    /// one.
    fn remember_folio(&self, folio: &FolioRef, first: usize) {
        // SAFETY: `folio` is valid and referenced.
        let pages = unsafe { helpers::cfs_folio_size(folio.as_ptr()) } >> kernel::page::PAGE_SHIFT;
        let entry = RecentFolio {
            folio: folio.clone(),
            first,
            pages,
        };
        let mut recent = self.recent.lock();
        // Another task may have added it meanwhile.
        if recent
            .slots
            .iter()
            .flatten()
            .any(|r| r.folio.as_ptr() == folio.as_ptr())
        {
            drop(recent);
            return;
        }
        let next = recent.next;
        recent.next = (next + 1) % RECENT_FOLIOS;
        let old = recent.slots.get_mut(next).and_then(|s| s.replace(entry));
        // The last reference to a folio may free it: not under the lock.
        drop(recent);
        drop(old);
    }

    /// Page `index` of the source from its page cache, read in if it is not
    /// there, referenced and uptodate.
    ///
    /// A page that is not cached is read together with the pages after it,
    /// up to the source's readahead window, in one request: the image is
    /// read in small pieces from all over (inodes, xattrs, directories), and
    /// one request per 4 KiB page would make a cold walk wait on thousands
    /// of them.
    fn page_cache_folio(&self, index: usize) -> Result<FolioRef> {
        let f = self.file.as_ptr();
        // SAFETY: The file is open, so its mapping is valid.
        let mapping = unsafe { (*f).f_mapping };
        // SAFETY: The mapping is valid; the result is a referenced folio (not
        // necessarily uptodate) or an error pointer if there is none.
        let cached = unsafe { helpers::cfs_filemap_get_folio_accessed(mapping, index) };
        if let Ok(folio) = kernel::error::from_err_ptr(cached) {
            // INVARIANT: `filemap_get_folio` took a reference for us.
            let folio = FolioRef(NonNull::new(folio).ok_or(EIO)?);
            // SAFETY: `folio` is referenced.
            if unsafe { helpers::cfs_folio_test_uptodate(folio.as_ptr()) } {
                return Ok(folio);
            }
            // Being read, or a read failed: `read_mapping_folio` waits for
            // it or retries.
        } else {
            self.readahead(index);
        }
        // shmem (tmpfs) has no `read_folio`: its folios are read (or swapped
        // in) with `shmem_read_folio`.
        // SAFETY: The mapping of the open file is valid.
        let folio = if unsafe { helpers::cfs_shmem_mapping(mapping) } {
            // SAFETY: A valid shmem mapping; the result is a referenced
            // uptodate folio or an error pointer.
            unsafe { helpers::cfs_shmem_read_folio(mapping, index) }
        } else {
            // SAFETY: The file is open and its mapping can read folios
            // (checked at open), so the default filler (NULL: the mapping's
            // `read_folio`) applies; the result is a referenced uptodate
            // folio or an error pointer (`read_mapping_folio`).
            unsafe { bindings::read_cache_folio(mapping, index as c_ulong, None, f) }
        };
        let folio = kernel::error::from_err_ptr(folio)?;
        // INVARIANT: `read_mapping_folio` took a reference for us.
        Ok(FolioRef(NonNull::new(folio).ok_or(EIO)?))
    }

    /// Starts reading the uncached page `index` of the source and the pages
    /// after it within the readahead window (`page_cache_sync_readahead`,
    /// with the source file's readahead state); a no-op on tmpfs.
    fn readahead(&self, index: usize) {
        let pages = self.size().div_ceil(PAGE_SIZE as u64);
        let left = usize::try_from(pages)
            .unwrap_or(usize::MAX)
            .saturating_sub(index);
        let n = self.ra_pages.min(left);
        if n <= 1 {
            return;
        }
        // SAFETY: The file is open. Its readahead state is updated by the
        // kernel without locking (concurrent readers of one file only make
        // the window less precise); nothing here holds a reference to it.
        unsafe { helpers::cfs_file_sync_readahead(self.file.as_ptr(), index, n as c_ulong) };
    }
}

impl Drop for SourceFile {
    fn drop(&mut self) {
        let f = self.file.as_ptr();
        if self.is_bdev {
            // SAFETY: By the type invariant we own the reference and the
            // claim of a file opened by `bdev_file_open_by_path`.
            unsafe { bindings::bdev_fput(f) };
        } else {
            // SAFETY: By the type invariant we denied write access to the
            // open file.
            unsafe { helpers::cfs_allow_write_access(f) };
            // SAFETY: By the type invariant we own a reference.
            unsafe { bindings::fput(f) };
        }
    }
}

/// Copies `len` bytes (at most a page) from `addr`, the address of a
/// referenced page-cache page that others may write meanwhile, with one
/// volatile (`READ_ONCE`-like) load per word: what is read may be torn
/// between old and new bytes, which the format reader's validation
/// copes with, but it is not a data race.
fn copy_page(addr: *const u8, len: usize) -> Result<KVec<u8>> {
    const W: usize = core::mem::size_of::<u64>();
    let mut v = KVec::with_capacity(len, GFP_KERNEL)?;
    let mut off = 0;
    while off < len {
        // SAFETY: `addr` is page-aligned and `off` a multiple of 8 below
        // `len <= PAGE_SIZE`, so the word at `off` is aligned and within
        // the referenced page.
        let word = unsafe { core::ptr::read_volatile(addr.add(off).cast::<u64>()) };
        let n = W.min(len - off);
        v.extend_from_slice(word.to_ne_bytes().get(..n).unwrap_or(&[]), GFP_KERNEL)?;
        off += W;
    }
    Ok(v)
}

/// The bytes of one page of the image source.
pub(crate) struct SourcePage<'a> {
    data: PageData,
    len: usize,
    _p: PhantomData<&'a SourceFile>,
}

/// Where the bytes of a [`SourcePage`] are.
enum PageData {
    /// In the page cache, at `addr`.
    ///
    /// # Invariants
    ///
    /// `_folio` holds the page at `addr`, in the direct map, whose first
    /// `len` bytes (of the containing `SourcePage`) do not change while the
    /// folio is referenced.
    Stable {
        /// Keeps the folio, and so the page, while it is read.
        _folio: FolioRef,
        addr: *const u8,
    },
    /// Copied out of a page that others may change.
    Copied(KVec<u8>),
}

impl core::ops::Deref for SourcePage<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.data {
            // SAFETY: By the `PageData::Stable` invariant `addr` is valid
            // for `len` bytes that nobody writes while the folio reference
            // held here lives, which outlives the returned borrow of `self`.
            PageData::Stable { addr, .. } => unsafe { core::slice::from_raw_parts(*addr, self.len) },
            PageData::Copied(v) => v,
        }
    }
}

/// A reference to a folio.
///
/// # Invariants
///
/// `0` is a folio with a reference owned by this object.
struct FolioRef(NonNull<bindings::folio>);

impl FolioRef {
    /// The folio.
    fn as_ptr(&self) -> *mut bindings::folio {
        self.0.as_ptr()
    }
}

impl Clone for FolioRef {
    fn clone(&self) -> Self {
        // SAFETY: By the type invariant the folio is referenced, so taking
        // another reference is allowed.
        unsafe { helpers::cfs_folio_get(self.as_ptr()) };
        // INVARIANT: the reference just taken.
        Self(self.0)
    }
}

impl Drop for FolioRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own a reference.
        unsafe { helpers::cfs_folio_put(self.as_ptr()) };
    }
}

// SAFETY: A folio reference is not tied to a task: `folio_put` may be
// called on any task in process context.
unsafe impl Send for FolioRef {}

/// How many recently used folios of the source a mount keeps referenced: a
/// walk alternates between a directory block, an inode-table block and a
/// few shared-xattr blocks (measured: 4 are too few, 16 do no better).
const RECENT_FOLIOS: usize = 8;

/// A recently used folio of the source, uptodate when it was added. It is
/// dropped when found removed from the source's page cache (a block
/// device's cache invalidated), so that the current data is read again.
struct RecentFolio {
    /// The folio, referenced: it stays in memory as long as it is here.
    folio: FolioRef,
    /// Page index of the folio's first page in the source.
    first: usize,
    /// Number of pages in the folio (fixed while it is referenced: a folio
    /// with extra references is not split).
    pages: usize,
}

/// The recently used folios of a source, replaced in turn.
struct RecentFolios {
    /// The folios; `None` in a slot not filled yet or emptied.
    slots: [Option<RecentFolio>; RECENT_FOLIOS],
    /// The slot the next folio added replaces.
    next: usize,
}
