// SPDX-License-Identifier: GPL-2.0

//! composefs: mount composefs images directly.
//!
//! A composefs image (the composefs 1.0 descriptor) holds a whole tree's
//! metadata; each regular file's data lives in a content-addressed object
//! store and is checked against the fs-verity digest the image records. See
//! `Documentation/filesystems/composefs.rst`.

#![deny(clippy::indexing_slicing)]

use kernel::prelude::*;

mod vfs;

// Shared with the userspace tools, which compile it by path (tools/cfs-format)
// and alone compile its tools-only parts (`cfg(cfs_tools)`).
mod format;

mod cfs;

use vfs::fs_type;

module! {
    type: ComposefsModule,
    name: "composefs",
    authors: ["The composefs kernel module developers"],
    description: "composefs: verified, content-addressed read-only images",
    license: "GPL",
    alias: ["fs-composefs"],
}

/// Module state: the filesystem type registration.
#[pin_data]
struct ComposefsModule {
    #[pin]
    fs: fs_type::Registration<cfs::Composefs>,
}

impl kernel::InPlaceModule for ComposefsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- fs_type::Registration::new(module),
        })
    }
}
