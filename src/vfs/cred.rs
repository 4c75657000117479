// SPDX-License-Identifier: GPL-2.0

//! Running with other credentials (`override_creds` / `revert_creds`).
//!
//! C header: [`include/linux/cred.h`](srctree/include/linux/cred.h)

use super::helpers;
use core::marker::PhantomData;
use kernel::cred::Credential;

/// The current task runs with borrowed credentials until this guard is
/// dropped, which restores the previous ones (as `scoped_with_creds`).
///
/// # Invariants
///
/// `old` is what `override_creds` returned when the guard was made, on this
/// task; the overriding credentials outlive the guard (`'a`). The guard is
/// neither `Send` nor `Sync`: it must be dropped on the task that made it.
pub(crate) struct OverrideCreds<'a> {
    old: *const kernel::bindings::cred,
    _cred: PhantomData<&'a Credential>,
}

impl<'a> OverrideCreds<'a> {
    /// Makes `cred` the current task's subjective credentials.
    pub(crate) fn new(cred: &'a Credential) -> Self {
        // SAFETY: `cred` is valid for `'a`, which the guard cannot outlive;
        // `override_creds` does not take a reference (the caller keeps
        // `cred` alive), as for `scoped_with_creds`.
        let old = unsafe { helpers::cfs_override_creds(cred.as_ptr()) };
        // INVARIANT: `old` comes from `override_creds` on this task.
        Self {
            old,
            _cred: PhantomData,
        }
    }
}

impl Drop for OverrideCreds<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `old` is what `override_creds`
        // returned on this task, which `revert_creds` restores.
        unsafe { helpers::cfs_revert_creds(self.old) };
    }
}
