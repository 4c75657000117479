// SPDX-License-Identifier: GPL-2.0

//! Filesystem contexts: the state of a mount being set up.
//!
//! C header: [`include/linux/fs_context.h`](srctree/include/linux/fs_context.h)

use super::bindings;
use super::fs_type::FileSystem;
use super::path::Path;
use super::sb::{NewSuperBlock, SuperBlock};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{error::from_result, prelude::*, str::CStr, types::Opaque};

/// A filesystem context (`struct fs_context`).
///
/// # Invariants
///
/// The wrapped context is valid for the lifetime of the reference.
#[repr(transparent)]
pub(crate) struct FsContext(Opaque<bindings::fs_context>);

impl FsContext {
    /// Wraps a raw context pointer.
    ///
    /// # Safety
    ///
    /// `ptr` must point to a valid context that stays valid for the lifetime
    /// `'a`, and the VFS must serialise the callbacks that use it (it holds
    /// `fc->uapi_mutex` or owns the context during `mount(2)`).
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
        self.log_str(b'e', msg);
    }

    /// Logs an error message with a string argument: `"<msg>: <arg>"`.
    pub(crate) fn error_arg(&self, msg: &CStr, arg: &CStr) {
        // SAFETY: By the type invariant the context is valid.
        let log = unsafe { &(*self.as_raw()).log };
        // SAFETY: `log` is the context's log; `logfc` copies the formatted
        // message, and "%s: %s" consumes two C strings.
        unsafe {
            bindings::logfc(
                log.log,
                log.prefix,
                b'e' as c_char,
                c"%s: %s".as_char_ptr(),
                msg.as_char_ptr(),
                arg.as_char_ptr(),
            )
        };
    }

    fn log_str(&self, level: u8, msg: &CStr) {
        // SAFETY: By the type invariant the context is valid.
        let log = unsafe { &(*self.as_raw()).log };
        // SAFETY: `log` is the context's log; `logfc` copies the formatted
        // message, and "%s" consumes exactly one C string.
        unsafe {
            bindings::logfc(
                log.log,
                log.prefix,
                level as c_char,
                c"%s".as_char_ptr(),
                msg.as_char_ptr(),
            )
        };
    }

    /// The mount source (`fc->source`), if one was given.
    pub(crate) fn source(&self) -> Option<&CStr> {
        // SAFETY: By the type invariant the context is valid.
        let s = unsafe { (*self.as_raw()).source };
        if s.is_null() {
            return None;
        }
        // SAFETY: A non-NULL `source` is a NUL-terminated string owned by the
        // context, which is not changed while a callback runs.
        Some(unsafe { CStr::from_char_ptr(s) })
    }

    /// Sets the mount source (`fc->source`), shown as the mount's source in
    /// `/proc/self/mountinfo`; `EINVAL` if one was given already.
    pub(crate) fn set_source(&mut self, name: &CStr) -> Result {
        if self.source().is_some() {
            self.error(c"only one source may be given");
            return Err(EINVAL);
        }
        // SAFETY: `name` is NUL-terminated; `kstrdup` returns a new
        // allocation or NULL.
        let copy = unsafe { bindings::kstrdup(name.as_char_ptr(), bindings::GFP_KERNEL) };
        if copy.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: By the type invariant the context is valid; `&mut self`
        // means the VFS handed it to this callback. `source` was NULL
        // (above); the context frees it with `kfree` (`put_fs_context`).
        unsafe { (*self.as_raw()).source = copy };
        Ok(())
    }

    /// The superblock flags requested (`fc->sb_flags`).
    pub(crate) fn sb_flags(&self) -> u32 {
        // SAFETY: By the type invariant the context is valid.
        unsafe { (*self.as_raw()).sb_flags }
    }

    /// The superblock flags that were set explicitly (`fc->sb_flags_mask`).
    pub(crate) fn sb_flags_mask(&self) -> u32 {
        // SAFETY: By the type invariant the context is valid.
        unsafe { (*self.as_raw()).sb_flags_mask }
    }

    /// Adds `flags` to the superblock flags to be applied.
    pub(crate) fn set_sb_flags(&mut self, flags: u32) {
        // SAFETY: By the type invariant the context is valid; `&mut self`
        // means the VFS handed it to this callback.
        unsafe { (*self.as_raw()).sb_flags |= flags };
    }

    /// Whether an explicit `rw` was requested (`rw` option or a remount
    /// without `ro`).
    pub(crate) fn wants_rw(&self) -> bool {
        let rdonly = super::sb::SB_RDONLY;
        self.sb_flags_mask() & rdonly != 0 && self.sb_flags() & rdonly == 0
    }
}

/// The value of a mount parameter.
pub(crate) enum ParamValue<'a> {
    /// A flag without a value (`acl`).
    Flag,
    /// A string value (`basedir=/x`).
    String(&'a CStr),
    /// A file descriptor (`FSCONFIG_SET_FD`): the file it refers to.
    File(FileParam<'a>),
    /// Some other kind of value (a blob or a path name).
    Other,
}

/// The file of a file-descriptor parameter, borrowed for a `parse_param`
/// callback.
///
/// # Invariants
///
/// `file` is an open file the parameter holds a reference to for `'a`.
pub(crate) struct FileParam<'a> {
    file: NonNull<bindings::file>,
    _p: PhantomData<&'a bindings::file>,
}

impl FileParam<'_> {
    /// The file's path (`f_path`), with a reference of its own: for an
    /// `O_PATH` descriptor too, and for a file unlinked since it was opened.
    pub(crate) fn path(&self) -> Path {
        // SAFETY: By the type invariant the file is open: its `f_path` is
        // referenced by it and, set up when the file was opened, has a
        // positive dentry.
        unsafe { Path::get(&raw const (*self.file.as_ptr()).__bindgen_anon_1.f_path) }
    }
}

/// One mount parameter (`struct fs_parameter`), borrowed for a
/// `parse_param` callback.
pub(crate) struct FsParam<'a> {
    /// The parameter name.
    pub(crate) key: &'a CStr,
    /// The parameter value.
    pub(crate) value: ParamValue<'a>,
}

impl<'a> FsParam<'a> {
    /// Decodes a raw parameter.
    ///
    /// # Safety
    ///
    /// `param` must be valid for `'a`, with a non-NULL `key`.
    unsafe fn from_raw(param: *const bindings::fs_parameter) -> Self {
        // SAFETY: Per the function's contract `param` is valid for `'a`.
        let p = unsafe { &*param };
        // SAFETY: Per the function's contract `key` is non-NULL; the VFS
        // NUL-terminates it and keeps it for `'a`.
        let key = unsafe { CStr::from_char_ptr(p.key) };
        let value = match p.type_() {
            bindings::fs_value_type_fs_value_is_flag => ParamValue::Flag,
            bindings::fs_value_type_fs_value_is_string => {
                // SAFETY: `string` is the union member of a string
                // parameter (its type says so).
                let sp = unsafe { p.__bindgen_anon_1.string };
                if sp.is_null() {
                    ParamValue::Other
                } else {
                    // SAFETY: A string parameter's value is NUL-terminated and
                    // lives as long as the parameter.
                    ParamValue::String(unsafe { CStr::from_char_ptr(sp) })
                }
            }
            bindings::fs_value_type_fs_value_is_file => {
                // SAFETY: `file` is the union member of a file parameter.
                match NonNull::new(unsafe { p.__bindgen_anon_1.file }) {
                    // INVARIANT: `fsconfig` holds a reference to the file of a
                    // file parameter until the parameter is freed, after the
                    // callback that borrows it.
                    Some(file) => ParamValue::File(FileParam {
                        file,
                        _p: PhantomData,
                    }),
                    None => ParamValue::Other,
                }
            }
            _ => ParamValue::Other,
        };
        Self { key, value }
    }
}

/// Context operations of filesystem type `T` (`struct fs_context_operations`).
pub(crate) struct ContextOps<T: FileSystem>(PhantomData<T>);

impl<T: FileSystem> ContextOps<T> {
    /// The operation table.
    pub(crate) const TABLE: bindings::fs_context_operations = bindings::fs_context_operations {
        free: Some(Self::free_callback),
        dup: None,
        parse_param: Some(Self::parse_param_callback),
        parse_monolithic: None,
        get_tree: Some(Self::get_tree_callback),
        reconfigure: Some(Self::reconfigure_callback),
    };

    /// Sets up a new context: allocates the options and installs the table.
    pub(crate) fn init(fc: &mut FsContext) -> Result {
        let opts = KBox::new(T::Options::default(), GFP_KERNEL)?;
        // SAFETY: The context is valid (type invariant) and being set up by
        // `init_fs_context`, so nothing else uses it meanwhile.
        let raw = unsafe { &mut *fc.as_raw() };
        // INVARIANT: `fs_private` holds a `KBox<T::Options>` until `free`.
        raw.fs_private = KBox::into_raw(opts).cast();
        raw.ops = &Self::TABLE;
        Ok(())
    }

    /// Returns the options of a context set up by [`Self::init`].
    ///
    /// # Safety
    ///
    /// `fc` must have been initialised by [`Self::init`] and not freed, and
    /// the caller must have exclusive access to it.
    unsafe fn options<'a>(fc: *mut bindings::fs_context) -> &'a mut T::Options {
        // SAFETY: Per the contract `fs_private` is the `KBox<T::Options>`
        // installed by `init`, and nothing else accesses it.
        unsafe { &mut *(*fc).fs_private.cast::<T::Options>() }
    }

    /// `fs_context_operations::free`.
    ///
    /// # Safety
    ///
    /// Called by the VFS once, last, for a context set up by [`Self::init`].
    unsafe extern "C" fn free_callback(fc: *mut bindings::fs_context) {
        // SAFETY: The VFS calls `free` once, last, with the valid context:
        // nothing else uses it.
        let fc = unsafe { &mut *fc };
        let p = fc.fs_private.cast::<T::Options>();
        if !p.is_null() {
            fc.fs_private = core::ptr::null_mut();
            // SAFETY: `free` is only installed by `init`, which set
            // `fs_private` to a leaked `KBox<T::Options>`, freed only here.
            drop(unsafe { KBox::from_raw(p) });
        }
    }

    /// `fs_context_operations::parse_param`.
    ///
    /// # Safety
    ///
    /// Called by the VFS, serialised, with a context set up by [`Self::init`]
    /// and a valid parameter.
    unsafe extern "C" fn parse_param_callback(
        fc: *mut bindings::fs_context,
        param: *mut bindings::fs_parameter,
    ) -> c_int {
        from_result(|| {
            // SAFETY: The VFS calls `parse_param` with a valid context that
            // `init` set up, under `uapi_mutex` (or from `mount(2)` which owns
            // it), and with a parameter whose key `vfs_parse_fs_param` checked.
            let (ctx, opts, param) = unsafe {
                (
                    FsContext::from_raw(fc.cast()),
                    Self::options(fc),
                    FsParam::from_raw(param),
                )
            };
            T::parse_param(ctx, opts, &param)?;
            Ok(0)
        })
    }

    /// `fs_context_operations::get_tree`.
    ///
    /// # Safety
    ///
    /// Called by the VFS, serialised, with a context set up by [`Self::init`].
    unsafe extern "C" fn get_tree_callback(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: `get_tree_nodev` takes a valid context, which the VFS
            // passes to `get_tree`; `fill_super_callback` has the signature it
            // expects.
            kernel::error::to_result(unsafe {
                bindings::get_tree_nodev(fc, Some(Self::fill_super_callback))
            })?;
            Ok(0)
        })
    }

    /// The `fill_super` callback of `get_tree_nodev`.
    ///
    /// # Safety
    ///
    /// Called by `get_tree_nodev` with a new, locked superblock of type `T`
    /// and the context of the running `get_tree`.
    unsafe extern "C" fn fill_super_callback(
        sb: *mut bindings::super_block,
        fc: *mut bindings::fs_context,
    ) -> c_int {
        from_result(|| {
            // SAFETY: `get_tree_nodev` calls this with a new, locked
            // superblock of this type and the context of `get_tree`.
            let (ctx, opts, new_sb) = unsafe {
                (
                    FsContext::from_raw(fc.cast()),
                    Self::options(fc),
                    NewSuperBlock::<T>::from_raw(sb),
                )
            };
            new_sb.set_id();
            let data = T::fill_super(ctx, opts, new_sb)?;
            // SAFETY: Same superblock; `set_data` is called once, before the
            // superblock is visible.
            let sb = unsafe { new_sb.set_data(data) };
            let root = T::root(sb)?;
            sb.set_root(root)?;
            Ok(0)
        })
    }

    /// `fs_context_operations::reconfigure`.
    ///
    /// # Safety
    ///
    /// Called by the VFS, holding `s_umount`, with a reconfiguration context
    /// set up by [`Self::init`] whose root is a mounted tree of type `T`.
    unsafe extern "C" fn reconfigure_callback(fc: *mut bindings::fs_context) -> c_int {
        from_result(|| {
            // SAFETY: The VFS calls `reconfigure` with a valid context set up
            // by `init` whose `root` is the mounted tree, holding `s_umount`.
            let (ctx, opts) = unsafe { (FsContext::from_raw(fc.cast()), Self::options(fc)) };
            // SAFETY: For reconfiguration `fc->root` is set and its
            // superblock, of this type, is active while `s_umount` is held.
            let sb = unsafe { SuperBlock::<T>::from_raw((*(*fc).root).d_sb) };
            T::reconfigure(ctx, opts, sb)?;
            Ok(0)
        })
    }
}
