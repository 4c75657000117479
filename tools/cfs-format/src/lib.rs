// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The composefs image format for the userspace tools.
//!
//! [`format`] is the kernel module's `src/format/` compiled here by path, so the tools and the
//! filesystem share one definition of the format. [`fsverity`] computes fs-verity digests.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[path = "../../../src/format/mod.rs"]
pub mod format;

pub mod fsverity;

/// Longest inline file content upstream libcomposefs writes and reads
/// (`LCFS_INLINE_CONTENT_MAX`).
pub const INLINE_CONTENT_MAX: usize = 5000;
