// SPDX-License-Identifier: GPL-2.0

//! Kernel messages about a mount. Each names the mount's superblock by its
//! `s_id` (its device number, as `/proc/self/mountinfo` shows it), as EROFS
//! names the superblock in its messages (`erofs_err`, fs/erofs/super.c), so
//! that with several mounts the log says which one a message is about:
//! `composefs: (device 0:45): ...`.

use kernel::fmt;
use kernel::prelude::*;

/// Logs an error about the mount whose superblock is named `sb`.
pub(crate) fn err(sb: &CStr, args: fmt::Arguments<'_>) {
    pr_err!("(device {}): {}\n", sb, args);
}

/// Logs a warning about the mount whose superblock is named `sb`.
pub(crate) fn warn(sb: &CStr, args: fmt::Arguments<'_>) {
    pr_warn!("(device {}): {}\n", sb, args);
}
