// SPDX-License-Identifier: GPL-2.0 OR MIT

//! `composefs-info fsck` (placeholder).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Checks images.
pub fn run(_images: &[PathBuf], _basedir: Option<&Path>) -> ExitCode {
    eprintln!("fsck: not yet implemented");
    ExitCode::FAILURE
}
