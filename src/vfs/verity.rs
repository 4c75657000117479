// SPDX-License-Identifier: GPL-2.0

//! fs-verity digests of open files.
//!
//! C header: [`include/linux/fsverity.h`](srctree/include/linux/fsverity.h)

use super::bindings;

/// Returns the fs-verity algorithm and digest length of `inode`, with the
/// digest in `out`, or `None` if the inode has no fs-verity (or its verity
/// info is not loaded).
///
/// # Safety
///
/// `inode` must be the inode of a file that is open for the duration of
/// the call (so that the inode is live and opening it loaded its verity
/// info).
pub(crate) unsafe fn digest(
    inode: *mut bindings::inode,
    out: &mut [u8; 64],
) -> Option<(u8, usize)> {
    const _: () = assert!(bindings::FS_VERITY_MAX_DIGEST_SIZE as usize == 64);
    let mut alg = 0u8;
    // SAFETY: Per the function's contract `inode` is live for the call;
    // `out` has room for `FS_VERITY_MAX_DIGEST_SIZE` bytes and `alg` for
    // the algorithm id; the hash algorithm is not asked for (NULL).
    let n = unsafe {
        bindings::fsverity_get_digest(inode, out.as_mut_ptr(), &mut alg, core::ptr::null_mut())
    };
    if n <= 0 {
        return None;
    }
    Some((alg, n as usize))
}
