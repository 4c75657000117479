// SPDX-License-Identifier: GPL-2.0

//! Superblocks and their operations.
//!
//! C header: [`include/linux/fs/super_types.h`](srctree/include/linux/fs/super_types.h)

use super::bindings;
use super::folio::ShrinkScope;
use super::fs_type::{FileSystem, Registration};
use super::helpers;
use super::inode::{INode, INodeBox};
use super::{export, xattr};
use core::{fmt::Write, marker::PhantomData};
use kernel::{error::from_result, ffi::c_char, prelude::*, sync::aref::ARef, types::Opaque};

/// `SB_RDONLY` (checked against the C value in `helpers.c`).
pub(crate) const SB_RDONLY: u32 = 1 << 0;
/// `SB_NOATIME`.
pub(crate) const SB_NOATIME: u32 = 1 << 10;
/// `SB_POSIXACL`.
pub(crate) const SB_POSIXACL: u32 = 1 << 16;

/// A superblock of filesystem type `T` whose data is set (`struct super_block`).
///
/// # Invariants
///
/// The superblock is live for the lifetime of the reference, its type is `T`
/// and its `s_fs_info` is a `KBox<T::Data>` installed by
/// [`NewSuperBlock::set_data`], freed only by [`SuperBlock::drop_data`].
#[repr(transparent)]
pub(crate) struct SuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

/// A superblock of type `T` being set up by `fill_super`, whose data is not
/// set yet.
///
/// # Invariants
///
/// The superblock is new, locked, of type `T`, and only the `fill_super`
/// call that got it accesses it.
#[repr(transparent)]
pub(crate) struct NewSuperBlock<T: FileSystem>(Opaque<bindings::super_block>, PhantomData<T>);

/// Writes formatted text into `s_id`, truncated to leave room for a NUL.
struct IdWriter<'a> {
    buf: &'a mut [c_char; 32],
    len: usize,
}

impl core::fmt::Write for IdWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &c in s.as_bytes() {
            if self.len + 1 >= self.buf.len() {
                break;
            }
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = c as c_char;
                self.len += 1;
            }
        }
        Ok(())
    }
}

/// Parameters of a new superblock.
pub(crate) struct SuperParams {
    /// `s_magic`.
    pub(crate) magic: u64,
    /// log2 of the block size.
    pub(crate) blocksize_bits: u8,
    /// Largest file size.
    pub(crate) maxbytes: i64,
    /// Granularity of timestamps in nanoseconds.
    pub(crate) time_gran: u32,
    /// Whether the VFS hands ACL xattr names and permission checks to
    /// `get_inode_acl` (`SB_POSIXACL`).
    pub(crate) posix_acl: bool,
    /// Stacking depth (`s_stack_depth`): one more than the deepest
    /// filesystem whose files this one opens as backing files.
    pub(crate) stack_depth: i32,
}

/// `FILESYSTEM_MAX_STACK_DEPTH`: how deep filesystems may stack.
pub(crate) const MAX_STACK_DEPTH: i32 = 2;

impl<T: FileSystem> NewSuperBlock<T> {
    /// Wraps a raw superblock pointer.
    ///
    /// # Safety
    ///
    /// `sb` must be a new superblock of type `T` handed to `fill_super`,
    /// valid and exclusively used by the caller for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: The cast is fine: transparent wrapper; validity per the
        // function's contract.
        unsafe { &*sb.cast::<Self>() }
    }

    fn as_raw(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// Sets the superblock's parameters and operation tables. Always
    /// read-only.
    pub(crate) fn init(&self, p: &SuperParams) {
        // SAFETY: By the type invariant the superblock is new and only this
        // caller accesses it, for as long as `self` is borrowed.
        let sb = unsafe { &mut *self.as_raw() };
        sb.s_magic = p.magic as usize;
        sb.s_blocksize_bits = p.blocksize_bits;
        sb.s_blocksize = 1 << p.blocksize_bits;
        sb.s_maxbytes = p.maxbytes;
        sb.s_time_gran = p.time_gran;
        sb.s_stack_depth = p.stack_depth;
        // The tables are `'static`.
        sb.s_op = &SuperOps::<T>::TABLE;
        sb.s_xattr = core::ptr::from_ref(&xattr::Handlers::<T>::TABLE).cast();
        // The kernel's bindings only declare `export_operations`.
        sb.s_export_op = core::ptr::from_ref(&export::Tables::<T>::EXPORT_OPS).cast();
        sb.s_flags |= (SB_RDONLY | SB_NOATIME) as usize;
        if p.posix_acl {
            sb.s_flags |= SB_POSIXACL as usize;
        } else {
            sb.s_flags &= !(SB_POSIXACL as usize);
        }
    }

    /// Names the superblock in kernel messages (`s_id`) by its device
    /// number, as EROFS names its file-backed ones and
    /// `/proc/self/mountinfo` shows it: "MAJOR:MINOR" (the anonymous device
    /// `get_tree_nodev` set before `fill_super`).
    ///
    /// Called by the VFS layer before it hands the superblock to
    /// `fill_super`, so before any [`Self::id`] borrow of `s_id` exists.
    pub(super) fn set_id(&self) {
        // SAFETY: By the type invariant the superblock is new and only this
        // caller accesses it, for as long as `self` is borrowed.
        let sb = unsafe { &mut *self.as_raw() };
        let dev = sb.s_dev;
        let mut id = IdWriter {
            buf: &mut sb.s_id,
            len: 0,
        };
        let _ = write!(id, "{}:{}", dev >> 20, dev & 0xfffff);
        let len = id.len;
        if let Some(nul) = sb.s_id.get_mut(len) {
            *nul = 0;
        }
    }

    /// The name of the superblock in kernel messages (`s_id`, see
    /// [`Self::set_id`]).
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: By the type invariant the superblock is valid and only this
        // caller accesses it; `s_id` is NUL-terminated (`sget_fc` copies the
        // type's name into it with `strscpy`, `set_id` leaves a NUL) and
        // changes only in `set_id`, which runs before `fill_super` can call
        // this.
        unsafe { CStr::from_char_ptr((*self.as_raw()).s_id.as_ptr()) }
    }

    /// Installs the superblock's data and returns the set-up superblock.
    ///
    /// # Safety
    ///
    /// Must be called at most once per superblock.
    pub(crate) unsafe fn set_data(&self, data: KBox<T::Data>) -> &SuperBlock<T> {
        // SAFETY: By the type invariant only this caller accesses the new
        // superblock; `kill_sb` frees the data with `drop_data`.
        // INVARIANT: `s_fs_info` now holds a `KBox<T::Data>`.
        unsafe { (*self.as_raw()).s_fs_info = KBox::into_raw(data).cast() };
        // SAFETY: Transparent wrappers of the same superblock, whose data is
        // now set; it lives as long as `self` is borrowed.
        unsafe { &*self.as_raw().cast::<SuperBlock<T>>() }
    }
}

impl<T: FileSystem> SuperBlock<T> {
    /// Wraps a raw superblock pointer.
    ///
    /// # Safety
    ///
    /// `sb` must be a live superblock of type `T` with data set by
    /// [`NewSuperBlock::set_data`], and stay so for `'a`.
    pub(crate) unsafe fn from_raw<'a>(sb: *mut bindings::super_block) -> &'a Self {
        // SAFETY: Transparent wrapper; validity per the function's contract.
        unsafe { &*sb.cast::<Self>() }
    }

    /// Returns the raw superblock pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::super_block {
        self.0.get()
    }

    /// The superblock's data.
    pub(crate) fn data(&self) -> &T::Data {
        // SAFETY: By the type invariant `s_fs_info` is a live
        // `KBox<T::Data>` until `kill_sb`, which cannot run while a
        // reference to the superblock is in use.
        unsafe { &*(*self.as_raw()).s_fs_info.cast::<T::Data>() }
    }

    /// The name of the superblock in kernel messages (`s_id`, set by
    /// [`NewSuperBlock::set_id`]).
    pub(crate) fn id(&self) -> &CStr {
        // SAFETY: By the type invariant the superblock is live. `s_id` is a
        // NUL-terminated array written only while `fill_super` set the
        // superblock up, before its data was set.
        unsafe { CStr::from_char_ptr((*self.as_raw()).s_id.as_ptr()) }
    }

    /// Makes `root` the root of the superblock (`d_make_root`).
    pub(crate) fn set_root(&self, root: ARef<INode<T>>) -> Result {
        let inode = ARef::into_raw(root).as_ptr().cast::<bindings::inode>();
        // SAFETY: `inode` is a filled-in inode whose reference
        // `d_make_root` consumes (it drops it on failure).
        let dentry = unsafe { bindings::d_make_root(inode) };
        if dentry.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: By the type invariant the superblock is live; `s_root` is
        // set while `fill_super` owns the superblock (its only caller).
        unsafe { (*self.as_raw()).s_root = dentry };
        Ok(())
    }

    /// Frees the data of a dying superblock.
    ///
    /// # Safety
    ///
    /// `sb` must be a superblock of type `T` whose inodes and dentries are
    /// all gone (after `kill_anon_super`); `s_fs_info` must be either NULL
    /// (fill_super failed before `set_data`) or the data set by `set_data`.
    pub(crate) unsafe fn drop_data(sb: *mut bindings::super_block) {
        // SAFETY: Per the function's contract `sb` is a valid dying
        // superblock that nothing else uses.
        let sb = unsafe { &mut *sb };
        let p = sb.s_fs_info.cast::<T::Data>();
        if !p.is_null() {
            sb.s_fs_info = core::ptr::null_mut();
            // SAFETY: Per the function's contract a non-NULL `s_fs_info` is
            // the `KBox<T::Data>` `set_data` installed, no longer used.
            drop(unsafe { KBox::from_raw(p) });
        }
    }
}

/// Answers to `statfs` (`struct kstatfs`).
#[derive(Default)]
pub(crate) struct StatFs {
    /// Filesystem magic (`f_type`).
    pub(crate) magic: u64,
    /// Block size.
    pub(crate) bsize: u32,
    /// Total blocks.
    pub(crate) blocks: u64,
    /// Total inodes.
    pub(crate) files: u64,
    /// Free inodes.
    pub(crate) ffree: u64,
    /// Longest name.
    pub(crate) namelen: u32,
}

/// A `seq_file` being filled for `/proc/mounts`.
///
/// # Invariants
///
/// The wrapped `seq_file` is valid for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct SeqFile(Opaque<bindings::seq_file>);

impl SeqFile {
    /// Appends `,name` or `,name=value` with the value escaped as
    /// `seq_show_option` does.
    pub(crate) fn show_option(&self, name: &CStr, value: Option<&CStr>) {
        let v = value.map_or(core::ptr::null(), |v| v.as_char_ptr());
        // SAFETY: By the type invariant the seq_file is valid; both strings
        // are NUL-terminated (or the value NULL, which the helper allows).
        unsafe { helpers::cfs_seq_show_option(self.0.get(), name.as_char_ptr(), v) };
    }
}

/// Superblock operations of filesystem type `T` (`struct super_operations`).
struct SuperOps<T: FileSystem>(PhantomData<T>);

impl<T: FileSystem> SuperOps<T> {
    const TABLE: bindings::super_operations = bindings::super_operations {
        alloc_inode: Some(Self::alloc_inode),
        destroy_inode: Some(Self::destroy_inode),
        free_inode: Some(Self::free_inode),
        // An unused inode is freed at once rather than cached on the LRU, as
        // overlayfs's are: what an inode learns while it lives (the backing
        // object an external file's first open found) then lasts exactly as
        // long as on the reference stack, while a dentry holds the inode,
        // and not across a dcache shrink (e.g. the one every remount makes).
        drop_inode: Some(bindings::inode_just_drop),
        statfs: Some(Self::statfs),
        show_options: Some(Self::show_options),
        nr_cached_objects: Some(Self::nr_cached_objects),
        free_cached_objects: Some(Self::free_cached_objects),
        // SAFETY: All-zeroes is valid for the remaining optional callbacks.
        ..unsafe { core::mem::zeroed() }
    };

    /// `super_operations::alloc_inode`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a live superblock of type `T`.
    unsafe extern "C" fn alloc_inode(sb: *mut bindings::super_block) -> *mut bindings::inode {
        // SAFETY: A superblock of the type exists, so its registration does.
        let cache = unsafe { Registration::<T>::inode_cache() };
        // SAFETY: `cache` holds `INodeBox<T>` objects whose embedded inode
        // the constructor initialised once.
        let p = unsafe { helpers::cfs_alloc_inode_sb(sb, cache) }.cast::<INodeBox<T>>();
        if p.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `p` is a valid `INodeBox<T>`, new and unshared.
        unsafe {
            INodeBox::<T>::mark_new(p);
            INodeBox::<T>::inode_ptr(p)
        }
    }

    /// `super_operations::destroy_inode`: drops the per-inode data (which
    /// may hold references, e.g. to a backing object), in process context
    /// and before the superblock's data goes away.
    ///
    /// # Safety
    ///
    /// Called by the VFS once for an inode that `alloc_inode` allocated,
    /// being evicted, before `free_inode`.
    unsafe extern "C" fn destroy_inode(inode: *mut bindings::inode) {
        // SAFETY: Per the contract the inode is embedded in an `INodeBox<T>`
        // and being destroyed; RCU walkers read no data with drop glue.
        unsafe { INodeBox::<T>::drop_data(INodeBox::<T>::from_inode(inode)) };
    }

    /// `super_operations::free_inode`.
    ///
    /// # Safety
    ///
    /// Called by the VFS (after an RCU grace period) with an inode that
    /// `alloc_inode` allocated and nothing uses any more.
    unsafe extern "C" fn free_inode(inode: *mut bindings::inode) {
        // SAFETY: `rcu_barrier` in `Registration::drop` keeps the
        // registration, and so its cache, alive until this callback has run.
        let cache = unsafe { Registration::<T>::inode_cache() };
        // SAFETY: The VFS passes an inode `alloc_inode` allocated, embedded
        // in an `INodeBox<T>`; the per-inode data was dropped by
        // `destroy_inode`.
        let b = unsafe { INodeBox::<T>::from_inode(inode) };
        // SAFETY: `b` came from `cache` (`alloc_inode`) and nothing uses it
        // any more (the function's contract).
        unsafe { bindings::kmem_cache_free(cache, b.cast()) };
    }

    /// `super_operations::statfs`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a dentry of a live superblock of type `T` and
    /// a writable `kstatfs`.
    unsafe extern "C" fn statfs(
        dentry: *mut bindings::dentry,
        buf: *mut kernel::bindings::kstatfs,
    ) -> c_int {
        // The kernel's bindings only declare `kstatfs`; ours has its fields.
        let buf = buf.cast::<bindings::kstatfs>();
        from_result(|| {
            // SAFETY: Per the contract the dentry's superblock is live and of
            // type `T` with data set (statfs needs a mounted tree).
            let sb = unsafe { SuperBlock::<T>::from_raw((*dentry).d_sb) };
            let mut st = StatFs::default();
            T::statfs(sb, &mut st)?;
            // SAFETY: The VFS passes a `kstatfs` writable for the call (and
            // zeroed it).
            let buf = unsafe { &mut *buf };
            buf.f_type = st.magic as isize;
            buf.f_bsize = st.bsize as isize;
            buf.f_frsize = st.bsize as isize;
            buf.f_blocks = st.blocks;
            buf.f_files = st.files;
            buf.f_ffree = st.ffree;
            buf.f_namelen = st.namelen as isize;
            // SAFETY: As above, the superblock of `dentry` is live.
            let dev = unsafe { (*(*dentry).d_sb).s_dev };
            // `huge_encode_dev`.
            let (major, minor) = (u64::from(dev >> 20), u64::from(dev & 0xfffff));
            let id = (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12);
            buf.f_fsid.val = [id as i32, (id >> 32) as i32];
            Ok(0)
        })
    }

    /// `super_operations::show_options`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a valid `seq_file` and the root of a live
    /// superblock of type `T`.
    unsafe extern "C" fn show_options(
        seq: *mut bindings::seq_file,
        root: *mut bindings::dentry,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS passes the root dentry of a live superblock of
            // type `T`, whose data is set (it is mounted).
            let sb = unsafe { SuperBlock::<T>::from_raw((*root).d_sb) };
            // SAFETY: The VFS passes a valid `seq_file` for the call;
            // `SeqFile` is a transparent wrapper of it.
            let seq = unsafe { &*seq.cast::<SeqFile>() };
            T::show_options(sb, seq)?;
            Ok(0)
        })
    }

    /// `super_operations::nr_cached_objects`, from the superblock's shrinker.
    ///
    /// # Safety
    ///
    /// Called by the superblock shrinker of a live superblock of type `T`
    /// that is `SB_BORN` (so `fill_super` set its data); the shrinker is
    /// freed before `kill_sb` drops the data.
    unsafe extern "C" fn nr_cached_objects(
        sb: *mut bindings::super_block,
        sc: *mut bindings::shrink_control,
    ) -> c_long {
        // SAFETY: Per the contract the superblock is live with data set.
        let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
        // SAFETY: The shrinker passes a valid shrink control, whose cgroup
        // it keeps alive for the call.
        let scope = unsafe { ShrinkScope::from_raw(sc) };
        c_long::try_from(T::cached_objects(sb, &scope)).unwrap_or(c_long::MAX)
    }

    /// `super_operations::free_cached_objects`, from the superblock's
    /// shrinker with `s_umount` held shared.
    ///
    /// # Safety
    ///
    /// As [`Self::nr_cached_objects`]; `sc` is a valid shrink control.
    unsafe extern "C" fn free_cached_objects(
        sb: *mut bindings::super_block,
        sc: *mut bindings::shrink_control,
    ) -> c_long {
        // SAFETY: The shrinker passes a live superblock of type `T` with
        // data set (this function's contract).
        let sb = unsafe { SuperBlock::<T>::from_raw(sb) };
        // SAFETY: The shrinker passes a valid shrink control.
        let nr = unsafe { (*sc).nr_to_scan };
        // SAFETY: As above; the shrinker keeps the cgroup alive for the call.
        let scope = unsafe { ShrinkScope::from_raw(sc) };
        c_long::try_from(T::free_cached_objects(sb, nr, &scope)).unwrap_or(c_long::MAX)
    }
}
