// SPDX-License-Identifier: GPL-2.0

//! Paths (`struct path`): kernel-side lookups, private clones of a mount
//! and confined lookups beneath their root.
//!
//! C header: [`include/linux/namei.h`](srctree/include/linux/namei.h)

use super::bindings;
use super::cred::with_creds;
use super::helpers;
use core::ptr::NonNull;
use kernel::{
    cred::Credential,
    error::to_result,
    ffi::{c_int, c_uint},
    prelude::*,
    str::CString,
};

/// `LOOKUP_FOLLOW` (checked against the C value in `helpers.c`).
const LOOKUP_FOLLOW: c_uint = 1 << 0;
/// `LOOKUP_DIRECTORY` (checked against the C value in `helpers.c`).
const LOOKUP_DIRECTORY: c_uint = 1 << 1;

/// A referenced path (a mount and a dentry on it).
///
/// # Invariants
///
/// `0` holds a reference to its mount and dentry (`path_get`), dropped on
/// drop; the dentry is positive.
pub(crate) struct Path(bindings::path);

// SAFETY: A referenced path may be used and released from any thread.
unsafe impl Send for Path {}
// SAFETY: `&Path` only reads the immutable pointers.
unsafe impl Sync for Path {}

impl Path {
    /// Resolves `name` (absolute, following symlinks) to a directory with
    /// the current credentials (`kern_path`).
    pub(crate) fn lookup_dir(name: &CStr) -> Result<Self> {
        let mut p = core::mem::MaybeUninit::<bindings::path>::zeroed();
        let flags = LOOKUP_FOLLOW | LOOKUP_DIRECTORY;
        // SAFETY: `name` is NUL-terminated and `p` writable; on success
        // `kern_path` fills in a referenced path.
        to_result(unsafe { bindings::kern_path(name.as_char_ptr(), flags, p.as_mut_ptr()) })?;
        // INVARIANT: `kern_path` succeeded, so `p` is referenced and positive.
        // SAFETY: Initialised by `kern_path`.
        Ok(Self(unsafe { p.assume_init() }))
    }

    /// Takes a new reference to `raw` (`path_get`).
    ///
    /// # Safety
    ///
    /// `raw` must point to a referenced path with a positive dentry (the
    /// `f_path` of an open file, for instance), valid for the call.
    pub(crate) unsafe fn get(raw: *const bindings::path) -> Self {
        // SAFETY: Per the function's contract `raw` is a valid, referenced
        // path; `path_get` takes one more reference to its mount and dentry.
        unsafe { bindings::path_get(raw) };
        // INVARIANT: the references just taken are owned by the new value,
        // and the caller guarantees the dentry is positive.
        // SAFETY: `raw` is valid for reads (above); the copy shares the
        // pointers whose references were taken.
        Self(unsafe { core::ptr::read(raw) })
    }

    /// The dentry's type bits (`DCACHE_ENTRY_TYPE` of `d_flags`).
    fn entry_type(&self) -> c_uint {
        // SAFETY: By the type invariant the dentry is referenced; its type
        // bits are read once.
        let flags = unsafe { core::ptr::read_volatile(&(*self.0.dentry).d_flags) };
        flags & bindings::dentry_flags_DCACHE_ENTRY_TYPE
    }

    /// Whether the path is a directory (`d_is_dir`).
    pub(crate) fn is_dir(&self) -> bool {
        self.entry_type() == bindings::dentry_flags_DCACHE_DIRECTORY_TYPE
    }

    /// The device number of a block device node, `None` for anything else.
    pub(crate) fn block_device(&self) -> Option<bindings::dev_t> {
        // SAFETY: By the type invariant the dentry is positive and
        // referenced, so its inode is valid; its mode and device number are
        // fixed for the inode's life.
        let (mode, rdev) = unsafe {
            let inode = helpers::cfs_d_inode(self.0.dentry);
            (u32::from((*inode).i_mode), (*inode).i_rdev)
        };
        (mode & bindings::S_IFMT == bindings::S_IFBLK).then_some(rdev)
    }

    /// The path's name as `/proc/self/mountinfo` would print it (`d_path`):
    /// absolute in the caller's root; `" (deleted)"` is appended for an
    /// unlinked file.
    pub(crate) fn name(&self) -> Result<CString> {
        const BUF: usize = 4096;
        let mut buf = KVec::<u8>::with_capacity(BUF, GFP_KERNEL)?;
        buf.resize(BUF, 0, GFP_KERNEL)?;
        let start = buf.as_mut_ptr();
        // SAFETY: By the type invariant the path is referenced; `buf` is
        // writable for `BUF` bytes; `d_path` writes the NUL-terminated name
        // at the end of the buffer and returns its start, or an error pointer.
        let p = unsafe { bindings::d_path(&self.0, start.cast(), BUF as c_int) };
        let p = kernel::error::from_err_ptr(p)?;
        // SAFETY: On success `p` points into `buf` at a NUL-terminated string
        // that ends within it.
        let name = unsafe { CStr::from_char_ptr(p) };
        Ok(CString::try_from(name)?)
    }

    /// Whether the path is a regular file (`d_is_reg`).
    pub(crate) fn is_reg(&self) -> bool {
        self.entry_type() == bindings::dentry_flags_DCACHE_REGULAR_TYPE
    }

    /// Whether overlayfs would take the path's dentry for a weird one
    /// (`ovl_dentry_weird`, fs/overlayfs/util.c), which it refuses as a
    /// data-layer object with `EREMOTE`: a dentry that is none of a
    /// directory, a file (regular or special) or a symlink; an automount
    /// point or a managed dentry; or one with its own hash or compare
    /// operations, unless its filesystem has a casefolding encoding.
    /// Revalidating dentries (NFS, FUSE) are not weird.
    pub(crate) fn is_weird(&self) -> bool {
        // SAFETY: By the type invariant the dentry is referenced; its flags
        // change under `d_lock`, and are read once, as overlayfs reads them.
        let flags = unsafe { core::ptr::read_volatile(&(*self.0.dentry).d_flags) };
        let kind = flags & bindings::dentry_flags_DCACHE_ENTRY_TYPE;
        if kind != bindings::dentry_flags_DCACHE_DIRECTORY_TYPE
            && kind != bindings::dentry_flags_DCACHE_REGULAR_TYPE
            && kind != bindings::dentry_flags_DCACHE_SPECIAL_TYPE
            && kind != bindings::dentry_flags_DCACHE_SYMLINK_TYPE
        {
            return true;
        }
        if flags
            & (bindings::dentry_flags_DCACHE_NEED_AUTOMOUNT
                | bindings::dentry_flags_DCACHE_MANAGE_TRANSIT)
            != 0
        {
            return true;
        }
        // SAFETY: A referenced dentry's superblock is live.
        if unsafe { helpers::cfs_sb_has_encoding((*self.0.dentry).d_sb) } {
            return false;
        }
        flags & (bindings::dentry_flags_DCACHE_OP_HASH | bindings::dentry_flags_DCACHE_OP_COMPARE)
            != 0
    }

    /// The access mask for opening a file to read (`MAY_OPEN | MAY_READ`).
    pub(crate) const MAY_OPEN_READ: i32 = (bindings::MAY_OPEN | bindings::MAY_READ) as i32;

    /// Checks `mask` (`MAY_*`) access to the path's inode with `cred`
    /// (`inode_permission` through the mount's idmap).
    pub(crate) fn permission(&self, mask: i32, cred: &Credential) -> Result {
        // SAFETY: By the type invariant the mount and the positive dentry are
        // referenced, so the idmap and the inode are valid.
        to_result(with_creds(cred, || unsafe {
            bindings::inode_permission(
                helpers::cfs_mnt_idmap(self.0.mnt),
                helpers::cfs_d_inode(self.0.dentry),
                mask,
            )
        }))
    }

    /// Clones the path's mount, private and internal, rooted at the path's
    /// dentry (`clone_private_mount`), as overlayfs clones its layers: the
    /// clone does not pin the user's mount (which can then be unmounted),
    /// sees none of the mounts on top of or beneath the directory, and is
    /// made read-only and `noatime` as overlayfs makes its lower layers.
    pub(crate) fn clone_private(&self) -> Result<PrivateMount> {
        // SAFETY: By the type invariant the path is referenced.
        let m = unsafe { bindings::clone_private_mount(&self.0) };
        let m = kernel::error::from_err_ptr(m)?;
        let m = NonNull::new(m).ok_or(ENOMEM)?;
        // SAFETY: The clone is new and private: nothing else uses it yet, so
        // its flags can be written as overlayfs writes them.
        unsafe {
            (*m.as_ptr()).mnt_flags |=
                (bindings::mount_flags_MNT_READONLY | bindings::mount_flags_MNT_NOATIME) as c_int
        };
        // INVARIANT: `clone_private_mount` returned a long-term internal
        // mount, owned here.
        Ok(PrivateMount(m))
    }

    /// Returns the raw path.
    pub(crate) fn as_raw(&self) -> *const bindings::path {
        &self.0
    }
}

impl Drop for Path {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the references.
        unsafe { bindings::path_put(&self.0) };
    }
}

/// `LOOKUP_NO_SYMLINKS` (a `BIT()` macro, which bindgen leaves out;
/// `src/helpers.c` asserts the value).
const LOOKUP_NO_SYMLINKS: c_uint = 1 << 24;
/// `LOOKUP_NO_XDEV` (asserted likewise).
const LOOKUP_NO_XDEV: c_uint = 1 << 26;
/// `LOOKUP_BENEATH` (asserted likewise).
const LOOKUP_BENEATH: c_uint = 1 << 27;

/// A private, internal clone of a mount (`clone_private_mount`), rooted at
/// the directory it was cloned from; unmounted (`kern_unmount`) on drop.
///
/// # Invariants
///
/// `0` is a long-term internal mount returned by `clone_private_mount`,
/// owned by this object.
#[repr(transparent)]
pub(crate) struct PrivateMount(NonNull<bindings::vfsmount>);

// SAFETY: The mount may be used and released from any thread.
unsafe impl Send for PrivateMount {}
// SAFETY: `&PrivateMount` only reads the mount's immutable root and
// superblock pointers.
unsafe impl Sync for PrivateMount {}

impl PrivateMount {
    /// Resolves `rel` beneath the clone's root, confined to it, with `cred`,
    /// as overlayfs looks up an object in a data-only layer
    /// (`ovl_lookup_data_layer`, fs/overlayfs/namei.c): `vfs_path_lookup`
    /// with `LOOKUP_BENEATH | LOOKUP_NO_SYMLINKS | LOOKUP_NO_XDEV`, so no
    /// `..` or absolute escape, no symlink followed, no mount crossed (the
    /// clone has no submounts anyway). The last component is not followed:
    /// a symlink there is returned as such.
    pub(crate) fn lookup_beneath(&self, rel: &CStr, cred: &Credential) -> Result<Path> {
        let mnt = self.0.as_ptr();
        let mut p = core::mem::MaybeUninit::<bindings::path>::zeroed();
        let flags = LOOKUP_BENEATH | LOOKUP_NO_SYMLINKS | LOOKUP_NO_XDEV;
        // SAFETY: By the type invariant the mount is live and its root
        // referenced by it; `rel` is NUL-terminated and `p` writable.
        to_result(with_creds(cred, || unsafe {
            bindings::vfs_path_lookup(
                (*mnt).mnt_root,
                mnt,
                rel.as_char_ptr(),
                flags,
                p.as_mut_ptr(),
            )
        }))?;
        // INVARIANT: the lookup succeeded, so `p` is referenced; a negative
        // last component is an error (`ENOENT`), so the dentry is positive.
        // SAFETY: Initialised by the lookup.
        Ok(Path(unsafe { p.assume_init() }))
    }

    /// How many stacked filesystems the mount's superblock sits on
    /// (`s_stack_depth`).
    pub(crate) fn stack_depth(&self) -> i32 {
        // SAFETY: By the type invariant the mount, and so its superblock,
        // is live.
        unsafe { (*(*self.0.as_ptr()).mnt_sb).s_stack_depth }
    }
}

impl Drop for PrivateMount {
    fn drop(&mut self) {
        // SAFETY: By the type invariant we own the internal mount, which
        // `kern_unmount` releases.
        unsafe { bindings::kern_unmount(self.0.as_ptr()) };
    }
}

/// Private mounts released together: `kern_unmount_array` waits for one
/// expedited RCU grace period for all of them, where dropping each
/// [`PrivateMount`] waits for a normal one per mount (overlayfs releases its
/// layers the same way).
pub(crate) struct PrivateMounts(KVec<PrivateMount>);

impl PrivateMounts {
    /// Takes ownership of `mounts`.
    pub(crate) fn new(mounts: KVec<PrivateMount>) -> Self {
        Self(mounts)
    }
}

impl core::ops::Deref for PrivateMounts {
    type Target = [PrivateMount];

    fn deref(&self) -> &[PrivateMount] {
        &self.0
    }
}

impl Drop for PrivateMounts {
    fn drop(&mut self) {
        let (ptr, len, cap) = core::mem::take(&mut self.0).into_raw_parts();
        let Ok(count) = c_uint::try_from(len) else {
            // SAFETY: The vector's own parts, as `into_raw_parts` gave them:
            // dropped as they are, each mount released by itself.
            drop(unsafe { KVec::from_raw_parts(ptr, len, cap) });
            return;
        };
        // SAFETY: `PrivateMount` is a transparent wrapper of
        // `NonNull<vfsmount>`, laid out as `*mut vfsmount`, so the buffer
        // holds `count` mount pointers; by `PrivateMount`'s invariant each
        // is a long-term internal mount owned here, which this call
        // releases.
        unsafe { bindings::kern_unmount_array(ptr.cast(), count) };
        // SAFETY: The vector's own allocation; with length 0 it is freed
        // without dropping the mounts, released above.
        drop(unsafe { KVec::<PrivateMount>::from_raw_parts(ptr, 0, cap) });
    }
}
