// SPDX-License-Identifier: GPL-2.0

//! Bindings for the C declarations that `kernel::bindings` leaves out.
//!
//! Generated at build time from `src/bindings/bindings_helper.h` with the
//! kernel's own bindgen flags (see the module `Makefile`); everything else
//! comes from `kernel::bindings`, re-exported here so that the VFS layer has
//! one place to take C items from.

// `unnecessary_transmutes` is known from rustc 1.88 on: older compilers
// (the kernel's minimum, 1.85) would reject the allow below as an unknown
// lint, as the kernel's own bindings crate provides for.
#![cfg_attr(not(CONFIG_RUSTC_HAS_UNNECESSARY_TRANSMUTES), allow(unknown_lints))]
#![allow(
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    missing_docs,
    dead_code,
    improper_ctypes,
    unnecessary_transmutes,
    clippy::missing_safety_doc,
    unreachable_pub,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::indexing_slicing
)]

use kernel::ffi;

// The generated file lives in the object tree, which differs from the source
// tree for in-tree `O=` builds; the module `Makefile` exports its path.
include!(env!("CFS_BINDINGS_RS"));
