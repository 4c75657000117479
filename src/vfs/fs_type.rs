// SPDX-License-Identifier: GPL-2.0

//! Filesystem type registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::bindings;
use super::folio::ShrinkScope;
use super::fs_context::{ContextOps, FsContext, FsParam};
use super::inode::{INode, INodeBox};
use super::sb::{NewSuperBlock, SeqFile, StatFs, SuperBlock};
use super::{dir, export, file, xattr};
use core::{
    marker::PhantomData,
    sync::atomic::{AtomicPtr, Ordering},
};
use kernel::{
    error::{from_result, to_result},
    prelude::*,
    sync::aref::ARef,
    types::Opaque,
    ThisModule,
};


/// `SLAB_RECLAIM_ACCOUNT` (a flag only with `CONFIG_SLUB_TINY` off).
#[cfg(not(CONFIG_SLUB_TINY))]
const SLAB_RECLAIM_ACCOUNT: bindings::slab_flags_t =
    1 << bindings::_slab_flag_bits__SLAB_RECLAIM_ACCOUNT;
#[cfg(CONFIG_SLUB_TINY)]
const SLAB_RECLAIM_ACCOUNT: bindings::slab_flags_t = 0;
/// `SLAB_ACCOUNT` (a flag only with `CONFIG_MEMCG`).
#[cfg(CONFIG_MEMCG)]
const SLAB_ACCOUNT: bindings::slab_flags_t = 1 << bindings::_slab_flag_bits__SLAB_ACCOUNT;
#[cfg(not(CONFIG_MEMCG))]
const SLAB_ACCOUNT: bindings::slab_flags_t = 0;
/// Filesystem type flags (`FS_*` of `file_system_type::fs_flags`).
pub(crate) mod flags {
    use super::bindings;

    /// The filesystem supports idmapped mounts.
    pub(crate) const ALLOW_IDMAP: i32 = bindings::FS_ALLOW_IDMAP as i32;
}

/// A filesystem type: its name, flags, mount and superblock-wide operations.
///
/// The object-specific operations (directories, files, xattrs, page cache)
/// are separate traits, as in C.
pub(crate) trait FileSystem:
    dir::Operations
    + export::Operations
    + file::Operations
    + xattr::Operations
    + Sized
    + Send
    + Sync
    + 'static
{
    /// The name under which the type is registered (`mount -t NAME`).
    const NAME: &'static CStr;

    /// `file_system_type::fs_flags`, from [`flags`].
    const FLAGS: i32;

    /// Name of the inode cache (`/proc/slabinfo`).
    const INODE_CACHE_NAME: &'static CStr;

    /// Mount options being collected in a filesystem context.
    type Options: Default + Send;

    /// Per-superblock data (`s_fs_info`), dropped when the superblock dies.
    type Data: Send + Sync;

    /// Per-inode data, set once when the inode is first read (changing
    /// afterwards only through interior mutability), dropped when the inode
    /// is destroyed (`destroy_inode`, before the superblock's data). RCU
    /// path walkers may still read it then: what they read must have no
    /// drop glue.
    type INodeData: Send + Sync;

    /// Handles one mount parameter (`fs_context_operations::parse_param`).
    /// `ENOPARAM` hands it back to the VFS (for `source`), which then
    /// refuses it as unknown.
    fn parse_param(fc: &mut FsContext, opts: &mut Self::Options, param: &FsParam<'_>) -> Result;

    /// Sets up a new superblock from the options and returns its data.
    fn fill_super(
        fc: &mut FsContext,
        opts: &mut Self::Options,
        sb: &NewSuperBlock<Self>,
    ) -> Result<KBox<Self::Data>>;

    /// Returns the root inode of a superblock whose data is set.
    fn root(sb: &SuperBlock<Self>) -> Result<ARef<INode<Self>>>;

    /// Handles a remount (`fs_context_operations::reconfigure`).
    fn reconfigure(fc: &mut FsContext, opts: &mut Self::Options, sb: &SuperBlock<Self>) -> Result;

    /// Fills in `statfs` answers.
    fn statfs(sb: &SuperBlock<Self>, buf: &mut StatFs) -> Result;

    /// Shows the mount options in `/proc/mounts`.
    fn show_options(sb: &SuperBlock<Self>, seq: &SeqFile) -> Result;

    /// How many objects charged to `scope` the superblock's data keeps
    /// cached that the superblock's shrinker may ask back
    /// (`nr_cached_objects`).
    fn cached_objects(_sb: &SuperBlock<Self>, _scope: &ShrinkScope<'_>) -> usize {
        0
    }

    /// Frees up to `nr` of those objects under memory pressure
    /// (`free_cached_objects`); returns how many were freed.
    fn free_cached_objects(_sb: &SuperBlock<Self>, _nr: usize, _scope: &ShrinkScope<'_>) -> usize {
        0
    }

    /// Access checks made after the caller's own (`generic_permission` with
    /// the caller's credentials and mount idmapping passed) for the
    /// `MAY_*` bits of `mask`; `MAY_NOT_BLOCK` in `mask` means an RCU path
    /// walk, where nothing may sleep (return `ECHILD` to be called again
    /// outside it).
    fn permission(_inode: &INode<Self>, _mask: c_int) -> Result {
        Ok(())
    }
}

/// A registered filesystem type with its inode cache; unregistered when
/// dropped.
///
/// # Invariants
///
/// `fs` is registered with the VFS from successful initialisation until
/// drop, and `inode_cache` is a valid cache of `INodeBox<T>` objects for the
/// same time.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: FileSystem> {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
    inode_cache: InodeCache,
    _p: PhantomData<T>,
}

/// A slab cache of inodes, destroyed when dropped.
///
/// # Invariants
///
/// The pointer is a valid slab cache created by this module.
struct InodeCache(*mut bindings::kmem_cache);

/// The inode cache of the module's filesystem type (a module registers at
/// most one), for `free_inode`; see [`Registration::inode_cache`].
static INODE_CACHE: AtomicPtr<bindings::kmem_cache> = AtomicPtr::new(core::ptr::null_mut());

impl Drop for InodeCache {
    fn drop(&mut self) {
        // Unpublish the cache if it is the published one (not if a second
        // registration failed with `EBUSY`).
        let _ = INODE_CACHE.compare_exchange(
            self.0,
            core::ptr::null_mut(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        // SAFETY: By the type invariant the cache is valid; it is only
        // dropped after the filesystem type was unregistered and pending RCU
        // frees of its inodes have run (see `Registration::drop`), or when
        // registering failed before any inode existed.
        unsafe { bindings::kmem_cache_destroy(self.0) };
    }
}

// SAFETY: After registration the VFS only reads `fs`, from any thread, and
// `register_filesystem`/`unregister_filesystem` take their own locks; the
// slab cache is thread-safe.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to `fs`; see `Send`.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Creates the inode cache and registers filesystem type `T`, owned by
    /// `module`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            inode_cache: Self::create_cache()?,
            fs <- Opaque::try_ffi_init(|ptr: *mut bindings::file_system_type| {
                // SAFETY: `ptr` is valid for writes of a `file_system_type`;
                // all-zeroes is a valid value for it (no flags, no callbacks).
                unsafe { ptr.write_bytes(0, 1) };
                // SAFETY: `ptr` was just initialised and is not shared yet.
                let fs = unsafe { &mut *ptr };
                fs.owner = module.as_ptr();
                fs.name = T::NAME.as_char_ptr();
                fs.fs_flags = T::FLAGS;
                fs.init_fs_context = Some(Self::init_fs_context_callback);
                fs.kill_sb = Some(Self::kill_sb_callback);
                // INVARIANT: on success the type stays registered until drop.
                // SAFETY: `ptr` is pinned (it lives inside the pinned
                // `Registration`) and fully initialised.
                to_result(unsafe { bindings::register_filesystem(ptr) })
            }),
            _p: PhantomData,
        })
    }

    /// Creates the slab cache for `INodeBox<T>` and publishes it in
    /// [`INODE_CACHE`]; `EBUSY` if a filesystem type of this module already
    /// did.
    fn create_cache() -> Result<InodeCache> {
        let size = u32::try_from(core::mem::size_of::<INodeBox<T>>()).map_err(|_| EINVAL)?;
        let mut args = bindings::kmem_cache_args {
            ctor: Some(INodeBox::<T>::ctor),
            ..Zeroable::zeroed()
        };
        // As other filesystems' inode caches: reclaimable (the inode
        // shrinker frees them) and charged to the allocating task's memory
        // cgroup.
        let flags = SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT;
        // SAFETY: The name is a static C string; `args` is valid for the
        // call (the cache copies what it needs); the constructor initialises
        // the embedded inode of each new object, as `inode_init_once` needs.
        let cache = unsafe {
            bindings::__kmem_cache_create_args(
                T::INODE_CACHE_NAME.as_char_ptr(),
                size,
                &mut args,
                flags,
            )
        };
        if cache.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `cache` was just created.
        let c = InodeCache(cache);
        INODE_CACHE
            .compare_exchange(
                core::ptr::null_mut(),
                cache,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .map_err(|_| EBUSY)?;
        Ok(c)
    }

    /// Returns the inode cache of the registered filesystem type.
    ///
    /// It is found through a static rather than through an inode's
    /// superblock because `free_inode` runs after an RCU grace period, when
    /// the superblock may already be gone.
    ///
    /// # Safety
    ///
    /// Must only be called while the registration exists (while a
    /// superblock or an inode of the type does, or from the type's
    /// callbacks).
    pub(crate) unsafe fn inode_cache() -> *mut bindings::kmem_cache {
        INODE_CACHE.load(Ordering::Acquire)
    }

    /// `file_system_type::init_fs_context`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a newly allocated, exclusively owned context.
    unsafe extern "C" fn init_fs_context_callback(fc: *mut kernel::bindings::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: Per the function's contract `fc` is valid and not used
            // elsewhere for the duration of the call.
            let fc = unsafe { FsContext::from_raw(fc) };
            ContextOps::<T>::init(fc)?;
            Ok(0)
        })
    }

    /// `file_system_type::kill_sb`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a superblock of this type that is going away.
    unsafe extern "C" fn kill_sb_callback(sb: *mut bindings::super_block) {
        // SAFETY: The VFS passes a dying anonymous superblock of this type.
        unsafe { bindings::kill_anon_super(sb) };
        // SAFETY: All its inodes and dentries went away in `kill_anon_super`,
        // after which nothing uses its data.
        unsafe { SuperBlock::<T>::drop_data(sb) };
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `fs` is registered. The module's
        // reference count keeps this from running while a superblock of the
        // type exists.
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
        // Inodes are freed through RCU, so wait for those callbacks before
        // the cache (a later field) is dropped.
        // SAFETY: `rcu_barrier` may be called from process context, as here.
        unsafe { bindings::rcu_barrier() };
    }
}
