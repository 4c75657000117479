// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Sets `cfg(cfs_tools)` for `src/format/`, compiled here by path: the parts of the format
//! that only the tools use (the image writer's encoders, in-memory sources, helpers of
//! `composefs-info` and `cfs-mutate`) are compiled under it, so the kernel module, which never
//! sets it, does not carry them.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cfs_tools)");
    println!("cargo::rustc-cfg=cfs_tools");
}
