// SPDX-License-Identifier: GPL-2.0

//! Inodes: reading them from the image into the inode cache, and their
//! data through the page cache.

use super::{backing, image, Backing, CInode, CfsInode, Composefs, Listing, OverlayXattrs};
use crate::format::{
    layout, overlay,
    reader::{DataRun, HashedXattrKey},
};
use crate::vfs::{
    backing::{BackingFile, OpeningFile},
    file::{self, ReadDest},
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

/// The whiteout xattr as a lookup key (`trusted.` + `overlay.whiteout`).
const XWHITEOUT_KEY: HashedXattrKey<'static> =
    HashedXattrKey::new(layout::XATTR_INDEX_TRUSTED, b"overlay.whiteout");

/// The copy-up origin xattr as a lookup key (`trusted.` + `overlay.origin`).
const ORIGIN_KEY: HashedXattrKey<'static> =
    HashedXattrKey::new(layout::XATTR_INDEX_TRUSTED, b"overlay.origin");

/// The overlay xattrs `iget` asks for, in the order of its answers.
const OVERLAY_KEYS: [HashedXattrKey<'static>; 5] = [
    METACOPY_KEY,
    backing::REDIRECT_KEY,
    OPAQUE_KEY,
    XWHITEOUT_KEY,
    ORIGIN_KEY,
];

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
    // inode and the overlay xattrs below (and their values, if they are of
    // the usual size) are read in one pass.
    //
    // Overlayfs's lookup also reads the xattrs of every other inode it finds
    // (`ovl_lookup_single`, fs/overlayfs/namei.c): whether an empty regular
    // file is a whiteout; the opaque mark of a directory and then, unless it
    // is `y`, its redirect. A directory whose redirect is malformed or
    // cannot be read fails the lookup. Making the inode, it reads a
    // directory's origin, which makes it a merged directory (`ovl_get_inode`,
    // fs/overlayfs/inode.c). The same keys are asked for here; of any other
    // inode the metacopy, so that one whose xattr header cannot be read
    // fails its lookup, as the reference stack's does.
    let mut meta_buf = [0u8; backing::METACOPY_MAX];
    let mut redirect_buf = [0u8; backing::REDIRECT_INLINE];
    let mut opaque_buf = [0u8; 1];
    let (raw, [meta, redirect, opaque, xwhiteout, origin]) = img
        .inode_with_xattrs(
            nid,
            |raw| match raw.file_type() {
                layout::S_IFREG => [true, true, false, raw.size() == 0, false],
                layout::S_IFDIR => [false, true, true, false, true],
                _ => [true, false, false, false, false],
            },
            &OVERLAY_KEYS,
            [
                &mut meta_buf,
                &mut redirect_buf,
                &mut opaque_buf,
                &mut [],
                &mut [],
            ],
        )
        .map_err(|e| image::error(id, e, "inode", nid))?;
    let mode = raw.mode();
    let mut lookup_err = None;
    let mut overlay = None;
    // `ovl_path_check_xwhiteout_xattr` and `ovl_path_check_origin_xattr`
    // take an xattr that cannot be read for an absent one.
    let whiteout = is_whiteout(&raw) || matches!(xwhiteout, Ok(Some(_)));
    // `ovl_get_opaquedir_val` takes a one-byte value, and no error.
    let opaque = match opaque {
        Ok(Some((_, 1))) => opaque_buf[0],
        _ => 0,
    };
    let listing = match raw.file_type() {
        // The root is always merged (`ovl_fill_super`); it is never looked
        // up, so its opaque mark is not read.
        layout::S_IFDIR if nid == img.root_nid() => Listing::Merged,
        layout::S_IFDIR if matches!(origin, Ok(Some(_))) && opaque == b'x' => {
            Listing::MergedXwhiteouts
        }
        layout::S_IFDIR if matches!(origin, Ok(Some(_))) => Listing::Merged,
        _ => Listing::Real,
    };
    match raw.file_type() {
        layout::S_IFREG => {}
        layout::S_IFDIR => {
            lookup_err = match redirect {
                _ if opaque == b'y' => None,
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
        own_permission: sb.data().mounter_may_refuse(&raw),
    };
    Ok(new.init(
        &params,
        CfsInode {
            raw,
            lookup_err,
            whiteout,
            listing,
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

    fn read_uncached(inode: &CInode, pos: u64, dest: &mut ReadDest<'_>) -> Result<usize> {
        let img = &Self::sbi(inode).image;
        let raw = &inode.data().raw;
        let (mut copied, mut faulted) = (0usize, false);
        let r = img.for_each_data(raw, pos, dest.room(), |run| {
            let (want, n) = match run {
                DataRun::Bytes(b) => (b.len(), dest.copy(b)),
                DataRun::Zeros(z) => (z, dest.zeros(z)),
            };
            copied += n;
            faulted = n < want;
            n
        });
        // As `filemap_read`: what was copied before an error counts, and a
        // buffer that takes nothing is `EFAULT`.
        match r {
            Ok(_) | Err(_) if copied > 0 => Ok(copied),
            Ok(_) if faulted => Err(EFAULT),
            Ok(_) => Ok(0),
            Err(e) => Err(image::error(inode.super_block().id(), e, "data", raw.nid())),
        }
    }

    fn open_backing(inode: &CInode, file: &OpeningFile<'_>) -> Result<BackingFile> {
        super::backing::open(inode, file)
    }

    fn backing_cred(inode: &CInode) -> &Credential {
        &Self::sbi(inode).cred
    }
}
