// SPDX-License-Identifier: GPL-2.0

//! Filesystem contexts: the state of a mount being set up.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h)

use super::bindings;
use kernel::{prelude::*, types::Opaque};

/// A filesystem context (`struct fs_context`).
///
/// # Invariants
///
/// The wrapped context is valid, and the holder of a `&mut FsContext` has
/// exclusive access to it.
#[repr(transparent)]
pub(crate) struct FsContext(Opaque<bindings::fs_context>);

impl FsContext {
    /// Wraps a raw context pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid context that nothing else accesses for
    /// the lifetime `'a`.
    pub(crate) unsafe fn from_raw<'a>(ptr: *mut kernel::bindings::fs_context) -> &'a mut Self {
        // SAFETY: `FsContext` is a transparent wrapper of the full
        // `fs_context`, of which the kernel's binding is the opaque forward
        // declaration; the caller guarantees validity and exclusivity.
        unsafe { &mut *ptr.cast::<Self>() }
    }

    /// Returns the raw context pointer.
    pub(crate) fn as_raw(&self) -> *mut bindings::fs_context {
        self.0.get()
    }

    /// Logs an error into the context's log (`errorfc`): `fsopen` users read
    /// it from the context's file descriptor, `mount(2)` users find it in
    /// the kernel log.
    pub(crate) fn error(&self, msg: &CStr) {
        // SAFETY: By the type invariant the context is valid; `logfc` copies
        // the formatted message, and "%s" consumes exactly one C string.
        unsafe {
            let log = &(*self.as_raw()).log;
            bindings::logfc(log.log, log.prefix, b'e' as c_char, c"%s".as_char_ptr(), msg.as_char_ptr());
        }
    }
}
