// SPDX-License-Identifier: GPL-2.0

//! Inodes: reading them from the image into the inode cache, and their
//! data through the page cache.

use super::{backing, image, Backing, CInode, CfsInode, Composefs, OverlayXattrs};
use crate::format::{
    layout, overlay,
    reader::HashedXattrKey,
};
use crate::vfs::{
    backing::{BackingFile, OpeningFile},
    file,
    folio::LockedFolio,
    inode::{Cached, Kind, Params},
    sb::SuperBlock,
};
use core::sync::atomic::AtomicU64;
use kernel::{cred::Credential, prelude::*, sync::aref::ARef};

/// The metacopy xattr as a lookup key (`trusted.` + `overlay.metacopy`).
pub(crate) const METACOPY_KEY: HashedXattrKey<'static> =
    HashedXattrKey::new(layout::XATTR_INDEX_TRUSTED, b"overlay.metacopy");

/// The opaque-directory xattr as a lookup key (`trusted.` + `overlay.opaque`).
const OPAQUE_KEY: HashedXattrKey<'static> =
    HashedXattrKey::new(layout::XATTR_INDEX_TRUSTED, b"overlay.opaque");

/// Gets inode `nid` of `sb`, reading it from the image if it is not cached.
pub(crate) fn iget(sb: &SuperBlock<Composefs>, nid: u64) -> Result<ARef<CInode>> {
    let new = match sb.iget(nid)? {
        Cached::Existing(i) => return Ok(i),
        Cached::New(n) => n,
    };
    // On error `new` is dropped, which fails the inode.
    let img = &sb.data().image;
    let id = sb.id();
    // As overlayfs: a regular file with a metacopy xattr takes its data from
    // the backing object its redirect names; any other from the image. The
    // inode and both xattrs (and their values, if they are of the usual
    // size) are read in one pass.
    //
    // Overlayfs's lookup also reads the xattrs of every other inode it finds
    // (`ovl_lookup_single`, fs/overlayfs/namei.c): the opaque mark and then,
    // unless it is `y`, the redirect of a directory; the metacopy of anything
    // else. An inode whose xattrs cannot be read, or a directory whose
    // redirect is malformed, fails the lookup. The same keys are asked for
    // here so that such an inode fails its lookup alike.
    let mut meta_buf = [0u8; backing::METACOPY_MAX];
    let mut redirect_buf = [0u8; backing::REDIRECT_INLINE];
    let mut opaque_buf = [0u8; 1];
    let (raw, [meta, redirect, opaque]) = img
        .inode_with_xattrs(
            nid,
            |raw| match raw.file_type() {
                layout::S_IFREG => [true, true, false],
                layout::S_IFDIR => [false, true, true],
                _ => [true, false, false],
            },
            [&METACOPY_KEY, &backing::REDIRECT_KEY, &OPAQUE_KEY],
            [&mut meta_buf, &mut redirect_buf, &mut opaque_buf],
        )
        .map_err(|e| image::error(id, e, "inode", nid))?;
    let mode = raw.mode();
    let mut lookup_err = None;
    let mut overlay = None;
    match raw.file_type() {
        layout::S_IFREG => {}
        layout::S_IFDIR => {
            // `ovl_get_opaquedir_val` takes a one-byte value, and no error.
            let opaque = matches!(opaque, Ok(Some((_, 1)))) && opaque_buf == *b"y";
            lookup_err = match redirect {
                _ if opaque => None,
                Ok(None) => None,
                Ok(Some(r)) => backing::check_dir_redirect(id, img, nid, r, &redirect_buf).err(),
                Err(e) => Some(image::error(id, e, "xattrs", nid)),
            };
        }
        _ => lookup_err = meta.err().map(|e| image::error(id, e, "xattrs", nid)),
    }
    let kind = match raw.file_type() {
        layout::S_IFDIR => Kind::Dir,
        layout::S_IFLNK => Kind::Symlink,
        layout::S_IFREG => match meta.map_err(|e| image::error(id, e, "xattrs", nid))? {
            Some(meta) => {
                let x = OverlayXattrs {
                    meta,
                    redirect: redirect.map_err(|e| image::error(id, e, "overlay xattrs", nid)),
                };
                overlay = Some(match backing::check(id, img, nid, &x, &meta_buf, &redirect_buf) {
                    Ok(Some(digest)) => Backing::Sha256(digest),
                    Ok(None) => Backing::Xattrs(x),
                    Err(e) => {
                        lookup_err = Some(e);
                        Backing::Xattrs(x)
                    }
                });
                Kind::RegBacked
            }
            None => Kind::RegCached,
        },
        _ => Kind::Special(raw.rdev()),
    };
    let no_acl = !sb.data().acl || raw.xattr_icount() == 0;
    let params = Params {
        kind,
        mode: mode as u16,
        nlink: raw.nlink(),
        uid: raw.uid(),
        gid: raw.gid(),
        size: raw.size() as i64,
        // As the reference stack reports them, whatever the file: EROFS
        // gives every uncompressed inode `round_up(size, blocksize) >> 9`
        // (`erofs_read_inode`, fs/erofs/inode.c), and overlayfs the same
        // guess for a metacopy file whose data it has not looked up yet
        // (`ovl_getattr`, fs/overlayfs/inode.c; afterwards it reports the
        // data file's own, which composefs does not).
        blocks: raw.size().div_ceil(4096).saturating_mul(8),
        mtime: raw.mtime(),
        mtime_nsec: raw.mtime_nsec(),
        no_acl,
    };
    Ok(new.init(
        &params,
        CfsInode {
            raw,
            lookup_err,
            overlay,
            object: backing::FoundObject::new(),
            lookup_hint: AtomicU64::new(u64::MAX),
            lookup_state: AtomicU64::new(0),
        },
    ))
}

/// Whether `raw` is an overlay whiteout, which the reference hides.
pub(crate) fn is_whiteout(raw: &crate::format::Inode) -> bool {
    overlay::is_whiteout(raw)
}

impl file::Operations for Composefs {
    fn read_folio(inode: &CInode, folio: &mut LockedFolio<'_>) -> Result {
        let id = inode.super_block().id();
        let img = &Self::sbi(inode).image;
        let raw = &inode.data().raw;
        let size = raw.size();
        folio.fill_pages(|pos, page| {
            let pos = pos as u64;
            let n = if pos < size {
                img.read_data(raw, pos, page)
                    .map_err(|e| image::error(id, e, "data", raw.nid()))?
            } else {
                0
            };
            if let Some(rest) = page.get_mut(n..) {
                rest.fill(0);
            }
            Ok(())
        })
    }

    fn open_backing(inode: &CInode, file: &OpeningFile<'_>) -> Result<BackingFile> {
        super::backing::open(inode, file)
    }

    fn backing_cred(inode: &CInode) -> &Credential {
        &Self::sbi(inode).cred
    }
}
