// SPDX-License-Identifier: GPL-2.0

//! The module's thin layer over the kernel's VFS objects.
//!
//! Everything that touches C objects directly lives here, with the C
//! lifetime and locking rules written down as safety contracts; the
//! filesystem above it uses safe types. The layer mirrors the C object
//! model (separate operation tables per object type) rather than hiding it.

pub(crate) mod backing;
pub(crate) mod bindings;
pub(crate) mod cred;
pub(crate) mod dir;
pub(crate) mod export;
pub(crate) mod file;
pub(crate) mod folio;
pub(crate) mod fs_context;
pub(crate) mod fs_type;
pub(crate) mod helpers;
pub(crate) mod inode;
pub(crate) mod path;
pub(crate) mod sb;
pub(crate) mod source;
pub(crate) mod verity;
pub(crate) mod xattr;

use core::ptr::NonNull;
use kernel::{cred::Credential, sync::aref::ARef};

/// Returns a reference to the current task's credentials
/// (`get_current_cred`), e.g. to capture the mounter's.
pub(crate) fn current_cred() -> ARef<Credential> {
    // SAFETY: `get_current_cred` returns a new reference to the valid,
    // non-NULL credentials of the current task.
    let c = unsafe { helpers::cfs_get_current_cred() };
    // SAFETY: `c` is non-NULL (above).
    let c = unsafe { NonNull::new_unchecked(c.cast_mut().cast::<Credential>()) };
    // SAFETY: `Credential` is a transparent wrapper of `struct cred`; the
    // reference taken above moves into the `ARef`.
    unsafe { ARef::from_raw(c) }
}
