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
    /// (`backing_file_open`), read-only with `user`'s other flags.
    pub(crate) fn open(user: &OpeningFile<'_>, path: &Path, cred: &Credential) -> Result<Self> {
        let flags = (user.flags() & !(bindings::O_ACCMODE | bindings::O_CREAT | bindings::O_TRUNC))
            | bindings::O_RDONLY
            | bindings::O_LARGEFILE;
        // SAFETY: `user.file` is the file being opened, `path` a valid
        // referenced path and `cred` a valid credential; the result is a new
        // reference or an error pointer.
        let f = unsafe {
            bindings::backing_file_open(user.file, flags as c_int, path.as_raw(), cred.as_ptr())
        };
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
        super::verity::digest(self.inode_ptr(), out)
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
        llseek: Some(backed_llseek),
        fadvise: Some(backed_fadvise),
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
    // SAFETY: Per the contract the folio belongs to a mapping whose host is
    // a filled-in inode of type `T`.
    let inode = unsafe { INode::<T>::from_raw(helpers::cfs_folio_host(folio)) };
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
    // SAFETY: Per the contract `private_data` is the backing file set by
    // `backed_open`, released only in `backed_release`.
    unsafe { (*file).private_data.cast() }
}

/// The backing-file context of stacked file I/O: the mounter's credentials.
///
/// # Safety
///
/// `file` must be an open stacked file of a filesystem of type `T`.
unsafe fn ctx<T: FileSystem>(file: *mut bindings::file) -> bindings::backing_file_ctx {
    // SAFETY: Per the contract `file` is open, so its inode is a filled-in
    // inode of type `T` that outlives the call.
    let inode = unsafe { INode::<T>::from_raw(helpers::cfs_file_inode(file)) };
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
        // SAFETY: Per the contract.
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
    // SAFETY: Per the contract the file was opened by `backed_open`, so
    // `private_data` holds our backing file reference, dropped here.
    unsafe {
        let r = real(file);
        (*file).private_data = core::ptr::null_mut();
        if !r.is_null() {
            bindings::fput(r);
        }
    }
    0
}

/// `file_operations::read_iter` of stacked files.
///
/// # Safety
///
/// Called by the VFS with a kiocb of an open stacked file and an iterator.
unsafe extern "C" fn backed_read_iter<T: FileSystem>(
    iocb: *mut bindings::kiocb,
    iter: *mut bindings::iov_iter,
) -> isize {
    // SAFETY: Per the contract the kiocb and its file are valid and the file
    // is an open stacked file.
    unsafe {
        let file = (*iocb).ki_filp;
        let mut c = ctx::<T>(file);
        bindings::backing_file_read_iter(real(file), iter, iocb, (*iocb).ki_flags, &mut c)
    }
}

/// `file_operations::splice_read` of stacked files.
///
/// # Safety
///
/// Called by the VFS with an open stacked file, its position and a pipe.
unsafe extern "C" fn backed_splice_read<T: FileSystem>(
    file: *mut bindings::file,
    ppos: *mut bindings::loff_t,
    pipe: *mut bindings::pipe_inode_info,
    len: usize,
    flags: c_uint,
) -> isize {
    // SAFETY: Per the contract the file is an open stacked file and `ppos`
    // valid; the kiocb is a local initialised by `init_sync_kiocb`.
    unsafe {
        let mut c = ctx::<T>(file);
        let mut iocb = core::mem::MaybeUninit::<bindings::kiocb>::zeroed();
        helpers::cfs_init_sync_kiocb(iocb.as_mut_ptr(), file);
        let iocb = iocb.assume_init_mut();
        iocb.ki_pos = *ppos;
        let r = bindings::backing_file_splice_read(real(file), iocb, pipe, len, flags, &mut c);
        *ppos = iocb.ki_pos;
        r
    }
}

/// `file_operations::mmap` of stacked files: maps the backing file.
///
/// # Safety
///
/// Called by the VFS with an open stacked file and a VMA being set up.
unsafe extern "C" fn backed_mmap<T: FileSystem>(
    file: *mut bindings::file,
    vma: *mut bindings::vm_area_struct,
) -> c_int {
    // SAFETY: Per the contract; `backing_file_mmap` moves the VMA to the
    // backing file.
    unsafe {
        let mut c = ctx::<T>(file);
        bindings::backing_file_mmap(real(file), vma, &mut c)
    }
}

/// `file_operations::llseek` of stacked files: seeks the backing file
/// (which knows its holes) from the stacked file's position.
///
/// # Safety
///
/// Called by the VFS with an open stacked file; the caller serialises
/// position updates of the file description (`f_pos_lock`).
unsafe extern "C" fn backed_llseek(file: *mut bindings::file, offset: i64, whence: c_int) -> i64 {
    // SAFETY: Per the contract; the backing file is private to this open
    // file, so its position is only touched under the same serialisation.
    unsafe {
        let r = real(file);
        (*r).f_pos = (*file).f_pos;
        let ret = bindings::vfs_llseek(r, offset, whence);
        (*file).f_pos = (*r).f_pos;
        ret
    }
}

/// `file_operations::fadvise` of stacked files.
///
/// # Safety
///
/// Called by the VFS with an open stacked file.
unsafe extern "C" fn backed_fadvise(
    file: *mut bindings::file,
    off: i64,
    len: i64,
    advice: c_int,
) -> c_int {
    // SAFETY: Per the contract the backing file is valid.
    unsafe { bindings::vfs_fadvise(real(file), off, len, advice) }
}

/// The opened image source: a regular file or a block device, read through
/// its page cache.
///
/// # Invariants
///
/// `file` is open for reading; if `deny_write`, write access to its inode
/// is denied by this object until drop.
pub(crate) struct SourceFile {
    file: ARef<File>,
    deny_write: bool,
    is_bdev: bool,
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

impl SourceFile {
    /// Opens `path` read-only with the current credentials; refuses what is
    /// neither a regular file nor a block device (`ENOTBLK`) and files whose
    /// filesystem cannot read them into the page cache (`EOPNOTSUPP`), and
    /// denies writes to a regular file while it is open.
    pub(crate) fn open(path: &CStr) -> Result<Self> {
        let flags = (bindings::O_RDONLY | bindings::O_LARGEFILE) as c_int;
        // SAFETY: `path` is NUL-terminated; `filp_open` returns a referenced
        // file or an error pointer.
        let f = kernel::error::from_err_ptr(unsafe {
            bindings::filp_open(path.as_char_ptr(), flags, 0)
        })?;
        // SAFETY: `f` is a new reference to a valid file.
        let file: ARef<File> = unsafe { ARef::from_raw(NonNull::new_unchecked(f.cast())) };
        // SAFETY: The file is open, so its inode is valid.
        let mode = u32::from(unsafe { (*helpers::cfs_file_inode(f)).i_mode });
        let is_bdev = mode & bindings::S_IFMT == bindings::S_IFBLK;
        if mode & bindings::S_IFMT != bindings::S_IFREG && !is_bdev {
            return Err(ENOTBLK);
        }
        // The image is read with `read_mapping_folio` (`shmem_read_folio` on
        // tmpfs), which needs the mapping to read folios (not so for e.g. a
        // file on overlayfs).
        // SAFETY: The file is open, so its mapping is valid.
        if !unsafe { helpers::cfs_mapping_readable((*f).f_mapping) } {
            return Err(EOPNOTSUPP);
        }
        // SAFETY: The file is open, so its mapping is valid; its readahead
        // window was set up by the open and only changes through `fadvise`
        // on a file descriptor, which this kernel-internal file has none of.
        let ra_pages = unsafe {
            if helpers::cfs_shmem_mapping((*f).f_mapping) {
                0
            } else {
                helpers::cfs_file_ra_pages(f) as usize
            }
        };
        // SAFETY: The file is open; its mapping's host is the inode whose
        // page cache holds the data (the bdev inode for a block device).
        let size = unsafe { helpers::cfs_i_size_read((*(*f).f_mapping).host) };
        let recent = KBox::pin_init(
            new_spinlock!(RecentFolios {
                slots: [const { None }; RECENT_FOLIOS],
                next: 0,
            }),
            GFP_KERNEL,
        )?;
        let mut s = Self {
            file,
            deny_write: false,
            is_bdev,
            ra_pages,
            size: size.max(0) as u64,
            recent,
        };
        if !is_bdev {
            // SAFETY: The file is open.
            to_result(unsafe { helpers::cfs_deny_write_access(f) })?;
            // INVARIANT: write access is denied until drop.
            s.deny_write = true;
        }
        Ok(s)
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
        // SAFETY: The file is open.
        super::verity::digest(unsafe { helpers::cfs_file_inode(self.file.as_ptr()) }, out)
    }

    /// Reads page `index` of the source through its page cache and keeps it
    /// mapped until the returned guard is dropped.
    ///
    /// The folio holding the page is looked up among the mount's recently
    /// used folios first: a walk in readdir order fetches the same
    /// directory, inode-table and xattr blocks over and over, and a hit
    /// there costs a lock and a reference instead of a page-cache lookup.
    pub(crate) fn read_page(&self, index: u32) -> Result<MappedPage<'_>> {
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
        // SAFETY: The folio is referenced and contains page `index` at `off`.
        let addr = unsafe { helpers::cfs_kmap_local_folio(folio.as_ptr(), off) }.cast::<u8>();
        let pos = (index as u64) << kernel::page::PAGE_SHIFT;
        let len = (self.size.saturating_sub(pos)).min(PAGE_SIZE as u64) as usize;
        // INVARIANT: the folio is referenced and mapped at `addr` for `len`
        // bytes.
        Ok(MappedPage {
            _folio: folio,
            addr,
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
        // SAFETY: The file is open; `read_mapping_folio` returns a referenced
        // uptodate folio or an error pointer.
        let folio = kernel::error::from_err_ptr(unsafe {
            helpers::cfs_read_mapping_folio(mapping, index, f)
        })?;
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
        if self.deny_write {
            // SAFETY: By the type invariant we denied write access.
            unsafe { helpers::cfs_allow_write_access(self.file.as_ptr()) };
        }
    }
}

/// One page of the image source, referenced and mapped.
///
/// The mapping is a `kmap_local` one: pages mapped together must be
/// unmapped in the reverse order, which scoped guards give (the format
/// reader only nests block accesses), and the guard must stay on the task
/// that created it (it is neither `Send` nor `Sync`).
///
/// # Invariants
///
/// The page is one of `_folio` and mapped at `addr` (`kmap_local_folio`) for
/// `len` readable bytes.
pub(crate) struct MappedPage<'a> {
    /// Keeps the folio while its page is mapped.
    _folio: FolioRef,
    addr: *mut u8,
    len: usize,
    _p: PhantomData<&'a SourceFile>,
}

impl core::ops::Deref for MappedPage<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: By the type invariant `addr` is mapped for `len` bytes.
        // The folio was uptodate when it was got from the page cache (maybe
        // earlier, by another read that added it to the recently used
        // folios): its bytes are the source's, and the folio reference keeps
        // it from being freed or reused. A regular-file source cannot be
        // written while mounted, and every structure read from it is
        // validated on use, so a block device changing underneath (or a
        // folio of it kept after its cache was invalidated) gives bad or
        // stale values, not bad accesses.
        unsafe { core::slice::from_raw_parts(self.addr, self.len) }
    }
}

impl Drop for MappedPage<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we mapped the page; the folio's
        // reference is dropped after this, with the field.
        unsafe { helpers::cfs_kunmap_local(self.addr.cast()) };
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
