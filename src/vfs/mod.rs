// SPDX-License-Identifier: GPL-2.0

//! The module's thin layer over the kernel's VFS objects.
//!
//! Everything that touches C objects directly lives here, with the C
//! lifetime and locking rules written down as safety contracts; the
//! filesystem above it uses safe types. The layer mirrors the C object
//! model (separate operation tables per object type) rather than hiding it.

pub(crate) mod bindings;
pub(crate) mod fs_context;
pub(crate) mod fs_type;
