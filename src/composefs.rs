// SPDX-License-Identifier: GPL-2.0

//! composefs: mount composefs images directly.
//!
//! A composefs image (the composefs 1.0 descriptor) holds a whole tree's
//! metadata; each regular file's data lives in a content-addressed object
//! store and is checked against the fs-verity digest the image records. See
//! `Documentation/filesystems/composefs.rst`.

use kernel::prelude::*;

mod vfs;

use vfs::{fs_context::FsContext, fs_type};

module! {
    type: ComposefsModule,
    name: "composefs",
    authors: ["The composefs kernel module developers"],
    description: "composefs: verified, content-addressed read-only images",
    license: "GPL",
    alias: ["fs-composefs"],
}

/// The composefs filesystem type.
struct Composefs;

impl fs_type::FileSystem for Composefs {
    const NAME: &'static CStr = c"composefs";
    const FLAGS: i32 = 0;

    fn init_fs_context(fc: &mut FsContext) -> Result {
        fc.error(c"composefs: mounting is not implemented yet");
        Err(EOPNOTSUPP)
    }

    fn kill_sb(sb: *mut kernel::bindings::super_block) {
        // SAFETY: Called from `kill_sb` with a superblock of this type.
        unsafe { kernel::bindings::kill_anon_super(sb) };
    }
}

/// Module state: the filesystem type registration.
#[pin_data]
struct ComposefsModule {
    #[pin]
    fs: fs_type::Registration<Composefs>,
}

impl kernel::InPlaceModule for ComposefsModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            fs <- fs_type::Registration::new(module),
        })
    }
}
