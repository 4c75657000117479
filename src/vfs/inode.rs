// SPDX-License-Identifier: GPL-2.0

//! Inodes: the inode cache, attributes and per-type operation tables.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::bindings;
use super::dir;
use super::file;
use super::fs_type::FileSystem;
use super::helpers;
use super::sb::SuperBlock;
use super::xattr;
use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{
    error::{from_result, to_result},
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
    types::Opaque,
};

/// Access masks of [`FileSystem::permission`] (`MAY_*`): execute or search.
pub(crate) const MAY_EXEC: c_int = bindings::MAY_EXEC as c_int;
/// Read access.
pub(crate) const MAY_READ: c_int = bindings::MAY_READ as c_int;
/// Write access.
pub(crate) const MAY_WRITE: c_int = bindings::MAY_WRITE as c_int;
/// Append access.
pub(crate) const MAY_APPEND: c_int = bindings::MAY_APPEND as c_int;

/// The object a filesystem's inodes are allocated as: the VFS inode
/// followed by the filesystem's per-inode data.
///
/// # Invariants
///
/// `data` is initialised, and `live` true, from when the inode is filled by
/// [`NewINode::init`] (so for every inode that is not `I_NEW`) until
/// `destroy_inode` drops it; `live` is false otherwise.
#[repr(C)]
pub(crate) struct INodeBox<T: FileSystem> {
    inode: Opaque<bindings::inode>,
    data: MaybeUninit<T::INodeData>,
    live: bool,
}

impl<T: FileSystem> INodeBox<T> {
    /// Slab constructor: initialises the embedded inode once per object.
    ///
    /// # Safety
    ///
    /// Called by the slab allocator with a new object of the cache.
    pub(crate) unsafe extern "C" fn ctor(p: *mut c_void) {
        let b = p.cast::<Self>();
        // SAFETY: Per the contract `p` is an `INodeBox<T>`-sized object.
        unsafe { bindings::inode_init_once(Self::inode_ptr(b)) };
    }

    /// Returns the embedded inode.
    ///
    /// # Safety
    ///
    /// `b` must point to an `INodeBox<T>` allocation.
    pub(crate) unsafe fn inode_ptr(b: *mut Self) -> *mut bindings::inode {
        // SAFETY: Per the contract `b` is valid; `inode` is its first field.
        unsafe { Opaque::cast_into(core::ptr::addr_of!((*b).inode)) }
    }

    /// Marks the data of a box just allocated as not initialised.
    ///
    /// # Safety
    ///
    /// `b` must point to an `INodeBox<T>` allocation that nothing else uses.
    pub(crate) unsafe fn mark_new(b: *mut Self) {
        // SAFETY: Per the contract `b` is valid and unshared.
        unsafe { core::ptr::addr_of_mut!((*b).live).write(false) };
    }

    /// Drops the data of a box whose inode is being destroyed, if it was
    /// initialised.
    ///
    /// # Safety
    ///
    /// `b` must point to an `INodeBox<T>` whose inode is being destroyed
    /// (`destroy_inode`): nothing uses its data any more, except RCU path
    /// walkers, which must only read data without drop glue.
    pub(crate) unsafe fn drop_data(b: *mut Self) {
        // SAFETY: Per the contract `b` is valid and its data unused; by the
        // type invariant `live` says whether `data` is initialised.
        unsafe {
            if (*b).live {
                (*b).live = false;
                (*b).data.assume_init_drop();
            }
        }
    }

    /// Returns the box containing `inode`.
    ///
    /// # Safety
    ///
    /// `inode` must be embedded in an `INodeBox<T>`.
    pub(crate) unsafe fn from_inode(inode: *mut bindings::inode) -> *mut Self {
        // `inode` is the first field of the `repr(C)` box.
        inode.cast::<Self>()
    }
}

/// An inode of filesystem type `T` that has been filled in.
///
/// # Invariants
///
/// The inode is live, embedded in an `INodeBox<T>`, belongs to a superblock
/// of type `T` whose data is set, and is not `I_NEW` (its data is set).
#[repr(transparent)]
pub(crate) struct INode<T: FileSystem>(Opaque<bindings::inode>, PhantomData<T>);

// SAFETY: Inodes are reference counted by the VFS (`ihold`/`iput`), from any
// thread.
unsafe impl<T: FileSystem> AlwaysRefCounted for INode<T> {
    fn inc_ref(&self) {
        // SAFETY: A shared reference means the count is non-zero.
        unsafe { bindings::ihold(self.0.get()) };
    }

    unsafe fn dec_ref(obj: NonNull<Self>) {
        // SAFETY: Per the contract the caller owns a reference.
        unsafe { bindings::iput(obj.as_ptr().cast()) };
    }
}

// SAFETY: The fields read through `INode` are immutable after `I_NEW` is
// cleared, and the VFS synchronises the rest.
unsafe impl<T: FileSystem> Send for INode<T> {}
// SAFETY: See `Send`.
unsafe impl<T: FileSystem> Sync for INode<T> {}

impl<T: FileSystem> INode<T> {
    /// Wraps a raw inode pointer.
    ///
    /// # Safety
    ///
    /// `inode` must be a filled-in (not `I_NEW`) inode of a superblock of type
    /// `T`, live for `'a`.
    pub(crate) unsafe fn from_raw<'a>(inode: *mut bindings::inode) -> &'a Self {
        // SAFETY: Transparent wrapper; validity per the contract.
        unsafe { &*inode.cast::<Self>() }
    }

    /// Returns the raw inode pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::inode {
        self.0.get()
    }

    /// Checks the current credentials' access to the inode for the `MAY_*`
    /// bits of `mask` by its mode, owner and ACLs, with no idmapping
    /// (`generic_permission`), as the inode's own filesystem would check a
    /// task that reaches it through a plain mount.
    pub(crate) fn generic_permission(&self, mask: c_int) -> Result {
        // SAFETY: The inode is filled in and live while borrowed;
        // `nop_mnt_idmap` is a static that lives forever and is never
        // written (the kernel only compares its address and reads it).
        to_result(unsafe {
            bindings::generic_permission(&raw mut bindings::nop_mnt_idmap, self.as_raw(), mask)
        })
    }

    /// The inode's data.
    pub(crate) fn data(&self) -> &T::INodeData {
        // SAFETY: By the type invariants the inode is embedded in an
        // `INodeBox<T>` whose data is initialised and immutable.
        unsafe {
            (*INodeBox::<T>::from_inode(self.as_raw()))
                .data
                .assume_init_ref()
        }
    }

    /// The superblock the inode belongs to.
    pub(crate) fn super_block(&self) -> &SuperBlock<T> {
        // SAFETY: By the type invariant the superblock is of type `T`, has its
        // data set and outlives the inode.
        unsafe { SuperBlock::from_raw((*self.as_raw()).i_sb) }
    }
}

/// What kind of object an inode is; it selects the operation tables.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A directory.
    Dir,
    /// A regular file whose data comes through the inode's page cache.
    RegCached,
    /// A regular file stacked on a backing file.
    RegBacked,
    /// A symbolic link (target read through the page cache).
    Symlink,
    /// A character or block device, fifo or socket, with the device number
    /// encoded as on disk (`new_encode_dev`).
    Special(u32),
}

/// Attributes of a new inode.
pub(crate) struct Params {
    /// Kind of inode.
    pub(crate) kind: Kind,
    /// `i_mode`, including the file type bits.
    pub(crate) mode: u16,
    /// Link count.
    pub(crate) nlink: u32,
    /// Owner.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
    /// Size in bytes.
    pub(crate) size: i64,
    /// Blocks (`st_blocks`, in 512-byte units).
    pub(crate) blocks: u64,
    /// Modification time (also used for access and change times), seconds.
    pub(crate) mtime: i64,
    /// Modification time, nanoseconds.
    pub(crate) mtime_nsec: u32,
    /// Whether the inode certainly has no POSIX ACLs.
    pub(crate) no_acl: bool,
    /// Whether [`FileSystem::permission`] may refuse access to the inode.
    /// A directory of which it cannot gets tables without the callback.
    pub(crate) own_permission: bool,
}

/// A new, locked inode (`I_NEW`) that must be filled in or failed.
///
/// # Invariants
///
/// The inode is `I_NEW`, embedded in an `INodeBox<T>`, and the holder owns a
/// reference to it.
pub(crate) struct NewINode<T: FileSystem>(NonNull<bindings::inode>, PhantomData<T>);

impl<T: FileSystem> NewINode<T> {
    /// Fills in the inode and unlocks it.
    pub(crate) fn init(self, p: &Params, data: T::INodeData) -> ARef<INode<T>> {
        let nn = self.0;
        let inode = nn.as_ptr();
        core::mem::forget(self);
        let dev = p.kind_rdev();
        // SAFETY: By the type invariant the inode is embedded in an
        // `INodeBox<T>`.
        let b = unsafe { INodeBox::<T>::from_inode(inode) };
        // SAFETY: By the type invariant the inode is new (`I_NEW`): only this
        // task accesses it and its box until `unlock_new_inode` below.
        // INVARIANT: data is set before `I_NEW` is cleared.
        unsafe { (*b).data.write(data) };
        // SAFETY: As above.
        unsafe { (*b).live = true };
        {
            // SAFETY: As above, the new inode is this task's alone until
            // `unlock_new_inode`, after this borrow ends.
            let i = unsafe { &mut *inode };
            i.i_mode = p.mode;
            i.i_blocks = p.blocks;
            // The tables are `'static`. The mapping of a new inode is its own
            // `i_data` (`inode_init_always`).
            let (iops, aops): (_, Option<&'static bindings::address_space_operations>) =
                match p.kind {
                    Kind::Dir if p.own_permission => (&dir::Tables::<T>::DIR_IOPS, None),
                    Kind::Dir => (&dir::Tables::<T>::DIR_IOPS_CALLER_PERMISSION, None),
                    Kind::RegCached => {
                        (&xattr::Tables::<T>::REG_IOPS, Some(&file::Tables::<T>::AOPS))
                    }
                    Kind::RegBacked => (
                        &xattr::Tables::<T>::REG_IOPS,
                        Some(&file::Tables::<T>::BACKED_AOPS),
                    ),
                    Kind::Symlink => (
                        &xattr::Tables::<T>::SYMLINK_IOPS,
                        Some(&file::Tables::<T>::AOPS),
                    ),
                    Kind::Special(_) => (&xattr::Tables::<T>::SPECIAL_IOPS, None),
                };
            i.i_op = iops;
            if let Some(aops) = aops {
                i.i_data.a_ops = aops;
            }
        }
        let fops: Option<&'static bindings::file_operations> = match p.kind {
            Kind::Dir => Some(&dir::Tables::<T>::DIR_FOPS),
            Kind::RegCached => Some(&file::Tables::<T>::CACHED_FOPS),
            Kind::RegBacked => Some(&file::Tables::<T>::BACKED_FOPS),
            Kind::Symlink | Kind::Special(_) => None,
        };
        if let Some(fops) = fops {
            // SAFETY: The new inode is this task's alone; the table is
            // `'static`.
            unsafe { helpers::cfs_inode_set_fop(inode, fops) };
        }
        // SAFETY: The new inode is this task's alone (`set_nlink` writes
        // `i_nlink` without locking).
        unsafe { bindings::set_nlink(inode, p.nlink) };
        // SAFETY: As above, for `i_uid`.
        unsafe { helpers::cfs_i_uid_write(inode, p.uid) };
        // SAFETY: As above, for `i_gid`.
        unsafe { helpers::cfs_i_gid_write(inode, p.gid) };
        // SAFETY: As above, for `i_size` (`i_size_write` needs its writers
        // serialised).
        unsafe { helpers::cfs_i_size_write(inode, p.size) };
        // All three times are the image's mtime.
        let nsec = p.mtime_nsec as c_long;
        // SAFETY: As above, for `i_mtime`.
        unsafe { helpers::cfs_inode_set_mtime(inode, p.mtime, nsec) };
        // SAFETY: As above, for `i_atime`.
        unsafe { helpers::cfs_inode_set_atime(inode, p.mtime, nsec) };
        let ts = bindings::timespec64 {
            tv_sec: p.mtime,
            tv_nsec: nsec,
        };
        // SAFETY: As above, for `i_ctime` (`inode_set_ctime` is
        // `inode_set_ctime_to_ts`).
        unsafe { bindings::inode_set_ctime_to_ts(inode, ts) };
        match p.kind {
            // SAFETY: The new inode is this task's alone; `inode_nohighmem`
            // sets its mapping's gfp mask.
            Kind::Symlink => unsafe { bindings::inode_nohighmem(inode) },
            // SAFETY: The new inode is this task's alone;
            // `init_special_inode` sets its mode, device and operations.
            Kind::Special(_) => unsafe { bindings::init_special_inode(inode, p.mode, dev) },
            _ => {}
        }
        if p.no_acl {
            // SAFETY: The new inode is this task's alone (`cache_no_acl`
            // sets its cached ACL pointers).
            unsafe { helpers::cfs_cache_no_acl(inode) };
        }
        // SAFETY: The inode is `I_NEW` and filled in: unlocking it publishes
        // it to other lookups.
        unsafe { bindings::unlock_new_inode(inode) };
        // INVARIANT: The inode is filled in and no longer `I_NEW`; the
        // reference taken by `iget_locked` moves into the `ARef`.
        // SAFETY: By the type invariant we own that reference.
        unsafe { ARef::from_raw(nn.cast::<INode<T>>()) }
    }
}

impl Params {
    /// The kernel device number of a special inode (0 for others).
    fn kind_rdev(&self) -> u32 {
        match self.kind {
            Kind::Special(raw) => {
                // `new_decode_dev` of the on-disk value, then `MKDEV`.
                let major = (raw & 0xfff00) >> 8;
                let minor = (raw & 0xff) | ((raw >> 12) & 0xfff00);
                (major << 20) | minor
            }
            _ => 0,
        }
    }
}

impl<T: FileSystem> Drop for NewINode<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the inode is `I_NEW` and owned; an
        // inode that was not filled in is failed (`iget_failed` unlocks,
        // marks it bad and drops the reference).
        unsafe { bindings::iget_failed(self.0.as_ptr()) };
    }
}

/// The result of looking an inode up in the inode cache.
pub(crate) enum Cached<T: FileSystem> {
    /// The inode was cached and is filled in.
    Existing(ARef<INode<T>>),
    /// The inode is new and must be filled in.
    New(NewINode<T>),
}

impl<T: FileSystem> SuperBlock<T> {
    /// Gets inode `ino` from the inode cache, allocating a new one if needed
    /// (`iget_locked`).
    pub(crate) fn iget(&self, ino: u64) -> Result<Cached<T>> {
        // SAFETY: By the type invariant the superblock is live.
        let inode = unsafe { bindings::iget_locked(self.as_raw(), ino) };
        let inode = NonNull::new(inode).ok_or(ENOMEM)?;
        // SAFETY: `iget_locked` returned a referenced inode.
        if unsafe { helpers::cfs_inode_is_new(inode.as_ptr()) } {
            // INVARIANT: `I_NEW` inode with our reference; all inodes of this
            // superblock come from `alloc_inode`, so they are `INodeBox<T>`.
            Ok(Cached::New(NewINode(inode, PhantomData)))
        } else {
            // SAFETY: Not `I_NEW`: `iget_locked` waits for new inodes to be
            // filled in (or failed, in which case it returns an error). The
            // reference moves into the `ARef`.
            Ok(Cached::Existing(unsafe { ARef::from_raw(inode.cast()) }))
        }
    }
}

/// `inode_operations::permission` of every inode: the caller's access as the
/// VFS checks it without this callback (`generic_permission` with the
/// caller's mount idmapping), then the filesystem's own checks
/// ([`FileSystem::permission`]).
///
/// # Safety
///
/// Called by the VFS with the caller's mount idmap and a filled-in inode of
/// a superblock of type `T`, live for the call.
pub(crate) unsafe extern "C" fn permission_callback<T: FileSystem>(
    idmap: *mut bindings::mnt_idmap,
    inode: *mut bindings::inode,
    mask: c_int,
) -> c_int {
    // SAFETY: The VFS passes a valid idmap and a live inode.
    let caller = unsafe { bindings::generic_permission(idmap, inode, mask) };
    if caller != 0 {
        return caller;
    }
    // SAFETY: The VFS only checks access to inodes it reached, which are
    // filled in (`I_NEW` inodes are not visible to it), of type `T` (this
    // table is only installed on such inodes), live for the call.
    let inode = unsafe { INode::<T>::from_raw(inode) };
    from_result(|| T::permission(inode, mask).map(|()| 0))
}

/// `inode_operations::getattr` of every inode: the generic attributes, and
/// `STATX_ATTR_IMMUTABLE` as EROFS reports it (the image cannot change),
/// with the attribute mask the reference stack reports (EROFS' bits and the
/// VFS flags overlayfs adds).
///
/// # Safety
///
/// Called by the VFS with a positive path, a writable `kstat` and the
/// caller's mount idmap.
pub(crate) unsafe extern "C" fn getattr_callback(
    idmap: *mut bindings::mnt_idmap,
    path: *const bindings::path,
    stat: *mut bindings::kstat,
    request_mask: u32,
    _query_flags: c_uint,
) -> c_int {
    let attrs = u64::from(bindings::STATX_ATTR_IMMUTABLE);
    let mask = u64::from(
        bindings::STATX_ATTR_IMMUTABLE
            | bindings::STATX_ATTR_COMPRESSED
            | bindings::STATX_ATTR_APPEND,
    );
    // SAFETY: The VFS passes a valid path with a positive dentry.
    let inode = unsafe { helpers::cfs_d_inode((*path).dentry) };
    // SAFETY: The VFS passes a `kstat` writable for the call.
    let st = unsafe { &mut *stat };
    st.attributes |= attrs;
    st.attributes_mask |= mask;
    // SAFETY: `inode` is valid (above); `i_mode` does not change after the
    // inode is filled in.
    let mode = u32::from(unsafe { (*inode).i_mode });
    // As EROFS without a block device (fs/erofs/inode.c, erofs_getattr):
    // regular files answer STATX_DIOALIGN with zero alignments, "no direct
    // I/O" (overlayfs passes the EROFS inode's answer on).
    if request_mask & bindings::STATX_DIOALIGN != 0
        && mode & bindings::S_IFMT == bindings::S_IFREG
    {
        st.result_mask |= bindings::STATX_DIOALIGN;
    }
    // SAFETY: `idmap` is the caller's mount idmap, `inode` valid (above) and
    // `st` writable.
    unsafe { bindings::generic_fillattr(idmap, request_mask, inode, st) };
    0
}
