// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Opens the input as a composefs image and walks it as the kernel would
//! (cfs_mutate::walk::walk: every reachable inode, dirent, xattr, data block,
//! chunk and symlink target). Any panic is a bug in src/format.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cfs_mutate::walk::walk(data);
});
