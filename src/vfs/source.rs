// SPDX-License-Identifier: GPL-2.0

//! The image source: a regular file or a block device, read through its
//! page cache, with the mount's cache of recently used folios.
//!
//! C header: [`include/linux/pagemap.h`](srctree/include/linux/pagemap.h)

use super::bindings;
use super::folio::{FolioRef, ShrinkScope};
use super::helpers;
use super::path::Path;
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    cred::Credential,
    error::to_result,
    ffi::c_ulong,
    fs::File,
    new_spinlock,
    page::PAGE_SIZE,
    prelude::*,
    sync::{aref::ARef, SpinLock},
};

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

    /// How many of the recently used folios that `scope` covers are held
    /// referenced.
    pub(crate) fn recent_folios(&self, scope: &ShrinkScope<'_>) -> usize {
        self.recent
            .lock()
            .slots
            .iter()
            .flatten()
            .filter(|r| scope.covers(&r.folio))
            .count()
    }

    /// Drops up to `nr` of the recently used folios that `scope` covers
    /// (the superblock's shrinker asks under memory pressure, and
    /// `drop_caches`, so that what the mount keeps is given back like the
    /// rest of the page cache); returns how many were dropped.
    pub(crate) fn forget_recent_folios(&self, nr: usize, scope: &ShrinkScope<'_>) -> usize {
        let mut dropped: [Option<RecentFolio>; RECENT_FOLIOS] = [const { None }; RECENT_FOLIOS];
        let mut n = 0;
        let mut recent = self.recent.lock();
        let kept = recent
            .slots
            .iter_mut()
            .filter(|s| s.as_ref().is_some_and(|r| scope.covers(&r.folio)))
            .take(nr);
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
    ///
    /// Page 0 (the superblock, read by every mount) is read as the kernel
    /// reads a file's first page, with its initial window of a few pages
    /// (as EROFS reads its image): a mount of a small image that nothing
    /// reads further then does not read the whole window. Misses after it
    /// come from lookups and walks, which read all over the image.
    fn readahead(&self, index: usize) {
        if self.ra_pages <= 1 {
            return;
        }
        let n = if index == 0 {
            1
        } else {
            let pages = self.size().div_ceil(PAGE_SIZE as u64);
            let left = usize::try_from(pages)
                .unwrap_or(usize::MAX)
                .saturating_sub(index);
            let n = self.ra_pages.min(left);
            if n <= 1 {
                return;
            }
            n
        };
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
