// SPDX-License-Identifier: GPL-2.0

//! Paths (`struct path`): kernel-side lookups and confined lookups beneath
//! a directory.
//!
//! C header: [`include/linux/namei.h`](srctree/include/linux/namei.h)

use super::bindings;
use super::helpers;
use kernel::{cred::Credential, error::to_result, ffi::c_uint, prelude::*};

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

    /// Resolves `rel` beneath this directory, confined to it, with `cred`
    /// (`vfs_path_lookup` with `LOOKUP_BENEATH | LOOKUP_NO_SYMLINKS |
    /// LOOKUP_NO_XDEV`: no `..` or absolute escape, no symlinks, no mount
    /// crossing, as overlayfs looks up data-only objects).
    pub(crate) fn lookup_beneath(&self, rel: &CStr, cred: &Credential) -> Result<Self> {
        let mut p = core::mem::MaybeUninit::<bindings::path>::zeroed();
        // SAFETY: By the type invariant the path is referenced; `rel` is
        // NUL-terminated, `p` writable, `cred` valid.
        to_result(unsafe {
            helpers::cfs_vfs_path_lookup_creds(
                &self.0,
                rel.as_char_ptr(),
                0,
                p.as_mut_ptr(),
                cred.as_ptr(),
            )
        })?;
        // INVARIANT: the lookup succeeded, so `p` is referenced; a negative
        // result is an error (`ENOENT`), so the dentry is positive.
        // SAFETY: Initialised by the lookup.
        Ok(Self(unsafe { p.assume_init() }))
    }

    /// Whether the path is a regular file.
    pub(crate) fn is_reg(&self) -> bool {
        // SAFETY: By the type invariant the dentry is positive.
        let mode = u32::from(unsafe { (*helpers::cfs_d_inode(self.0.dentry)).i_mode });
        mode & bindings::S_IFMT == bindings::S_IFREG
    }

    /// Whether the path's mount or dentry is one overlayfs would refuse as
    /// a data layer object (`EREMOTE`): automount points, managed or
    /// revalidated dentries.
    pub(crate) fn is_weird(&self) -> bool {
        // SAFETY: By the type invariant the dentry is valid.
        unsafe { helpers::cfs_dentry_weird(self.0.dentry) }
    }

    /// How many stacked filesystems the path's superblock sits on
    /// (`s_stack_depth`).
    pub(crate) fn stack_depth(&self) -> i32 {
        // SAFETY: By the type invariant the path holds a reference to its
        // mount, so the mount's superblock is live.
        unsafe { (*(*self.0.mnt).mnt_sb).s_stack_depth }
    }

    /// The access mask for opening a file to read (`MAY_OPEN | MAY_READ`).
    pub(crate) const MAY_OPEN_READ: i32 = (bindings::MAY_OPEN | bindings::MAY_READ) as i32;

    /// Checks `mask` (`MAY_*`) access to the path's inode with `cred`.
    pub(crate) fn permission(&self, mask: i32, cred: &Credential) -> Result {
        // SAFETY: By the type invariant the path is valid; `cred` is valid.
        to_result(unsafe { helpers::cfs_path_permission_creds(&self.0, mask, cred.as_ptr()) })
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
