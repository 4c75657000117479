// SPDX-License-Identifier: GPL-2.0

//! Files stacked on a backing file: opening the store object as the
//! backing file and the stacked file operations (the kernel's backing-file
//! helpers).
//!
//! C header: [`include/linux/backing-file.h`](srctree/include/linux/backing-file.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::helpers;
use super::inode::INode;
use super::path::Path;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    cred::Credential,
    error::{from_result, to_result},
    prelude::*,
};

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
pub(super) unsafe extern "C" fn backed_open<T: FileSystem>(
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
pub(super) unsafe extern "C" fn backed_release(
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
pub(super) unsafe extern "C" fn backed_read_iter<T: FileSystem>(
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
pub(super) unsafe extern "C" fn backed_splice_read<T: FileSystem>(
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
pub(super) unsafe extern "C" fn backed_mmap<T: FileSystem>(
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
pub(super) unsafe extern "C" fn backed_llseek<T: FileSystem>(
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
pub(super) unsafe extern "C" fn backed_fadvise<T: FileSystem>(
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
