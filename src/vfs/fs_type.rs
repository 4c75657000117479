// SPDX-License-Identifier: GPL-2.0

//! Filesystem type registration.
//!
//! C header: [`include/linux/fs.h`](srctree/include/linux/fs.h)

use super::bindings;
use super::fs_context::FsContext;
use core::marker::PhantomData;
use kernel::{
    error::{from_result, to_result},
    prelude::*,
    types::Opaque,
    ThisModule,
};

/// A filesystem type: its name, flags and how a mount starts.
pub(crate) trait FileSystem {
    /// The name under which the type is registered (`mount -t NAME`).
    const NAME: &'static CStr;

    /// `file_system_type::fs_flags`.
    const FLAGS: i32;

    /// Prepares a new filesystem context: sets its operations and private data.
    fn init_fs_context(fc: &mut FsContext) -> Result;

    /// Tears down a superblock of this type (`file_system_type::kill_sb`).
    fn kill_sb(sb: *mut bindings::super_block);
}

/// A registered filesystem type; unregistered when dropped.
///
/// # Invariants
///
/// `fs` is registered with the VFS from successful initialisation until drop.
#[pin_data(PinnedDrop)]
pub(crate) struct Registration<T: FileSystem> {
    #[pin]
    fs: Opaque<bindings::file_system_type>,
    _p: PhantomData<T>,
}

// SAFETY: After registration the VFS only reads `fs`, from any thread, and
// `register_filesystem`/`unregister_filesystem` take their own locks.
unsafe impl<T: FileSystem> Send for Registration<T> {}
// SAFETY: `&Registration` gives no access to `fs`; see `Send`.
unsafe impl<T: FileSystem> Sync for Registration<T> {}

impl<T: FileSystem> Registration<T> {
    /// Registers filesystem type `T`, owned by `module`.
    pub(crate) fn new(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
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
            T::init_fs_context(fc)?;
            Ok(0)
        })
    }

    /// `file_system_type::kill_sb`.
    ///
    /// # Safety
    ///
    /// Called by the VFS with a superblock of this type that is going away.
    unsafe extern "C" fn kill_sb_callback(sb: *mut bindings::super_block) {
        T::kill_sb(sb);
    }
}

#[pinned_drop]
impl<T: FileSystem> PinnedDrop for Registration<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: By the type invariant `fs` is registered. The module's
        // reference count keeps this from running while a superblock of the
        // type exists.
        unsafe { bindings::unregister_filesystem(self.fs.get()) };
    }
}
