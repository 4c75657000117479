// SPDX-License-Identifier: GPL-2.0

//! Running code with another task's credentials, as overlayfs runs the
//! operations on its real files with the mounter's (`with_ovl_creds`).
//!
//! C header: [`include/linux/cred.h`](srctree/include/linux/cred.h)

use super::bindings;
use super::helpers;
use core::marker::PhantomData;
use kernel::cred::Credential;

/// The current task's credentials overridden by a borrowed credential
/// (`override_creds`), restored when dropped (`revert_creds`).
///
/// The guard is private to this module and only [`with_creds`] makes one,
/// dropping it before the closure's result is returned: `override_creds`
/// takes no reference on the credential, so a guard that outlived the
/// borrow (or was leaked with `mem::forget`, which is safe) would leave
/// `current->cred` pointing at freed memory, and guards dropped out of
/// order would restore the wrong credentials.
///
/// # Invariants
///
/// `old` is the value `override_creds` returned when this guard installed
/// its credential on the current task; the guard is dropped on that task,
/// after every guard made after it has been dropped, while the installed
/// credential is still borrowed.
struct Override<'a> {
    old: *const bindings::cred,
    /// Borrows the installed credential; `*mut ()` keeps the guard on its
    /// task (neither `Send` nor `Sync`).
    _p: PhantomData<(&'a Credential, *mut ())>,
}

impl<'a> Override<'a> {
    /// Makes `cred` the current task's credentials.
    fn new(cred: &'a Credential) -> Self {
        // SAFETY: `override_creds` only swaps `current->cred`; `cred` is a
        // valid credential that stays borrowed for `'a`, longer than it is
        // installed (the guard borrows it and `with_creds` drops the guard
        // within the borrow).
        let old = unsafe { helpers::cfs_override_creds(cred.as_ptr()) };
        // INVARIANT: `old` is what `override_creds` returned on this task;
        // `with_creds` drops the guard on this task, in scope order.
        Self {
            old,
            _p: PhantomData,
        }
    }
}

impl Drop for Override<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant `old` was returned by the matching
        // `override_creds` on this task and every later override has been
        // reverted, so this restores the credentials as they were.
        unsafe { helpers::cfs_revert_creds(self.old) };
    }
}

/// Runs `f` with `cred` as the current task's credentials (subjective and
/// objective as `override_creds` sets them), restoring the previous ones
/// afterwards, like the kernel's `scoped_with_creds`.
///
/// Everything `f` does is checked against `cred`: lookups, permission
/// checks, the `->open` of other filesystems and the LSM hooks they call.
pub(crate) fn with_creds<R>(cred: &Credential, f: impl FnOnce() -> R) -> R {
    let _guard = Override::new(cred);
    f()
}
