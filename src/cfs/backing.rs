// SPDX-License-Identifier: GPL-2.0

//! Backing objects: opening an external file's object under the basedirs,
//! confined beneath them, and checking its fs-verity digest.

use super::{
    image, image::Source, msg, once::OnceBox, options, options::Verity, Backing, CInode,
    Composefs, OverlayXattrs,
};
use crate::format::{
    layout, overlay,
    reader::{HashedXattrKey, Image, XattrValue},
};
use crate::vfs::{
    backing::{BackingFile, OpeningFile},
    helpers,
    path::Path,
};
use kernel::prelude::*;

/// The redirect xattr as a lookup key.
pub(super) const REDIRECT_KEY: HashedXattrKey<'static> =
    HashedXattrKey::new(layout::XATTR_INDEX_TRUSTED, b"overlay.redirect");

/// Logs a rate-limited message about the backing object of inode `nid` of
/// the mount whose superblock is named `sb`.
fn warn(sb: &CStr, nid: u64, what: &str) {
    if helpers::ratelimit() {
        msg::warn(sb, fmt!("nid {nid}: {what}"));
    }
}

/// Logs a rate-limited message about opening `file` (named by its path, or
/// by the inode's nid if the path cannot be had).
fn warn_open(file: &OpeningFile<'_>, nid: u64, what: &str) {
    if !helpers::ratelimit() {
        return;
    }
    let mut buf = [0u8; 256];
    let sb = file.sb_id();
    match file
        .path(&mut buf)
        .and_then(|p| core::str::from_utf8(p).ok())
    {
        Some(p) => msg::warn(sb, fmt!("{p}: {what}")),
        None => msg::warn(sb, fmt!("nid {nid}: {what}")),
    }
}

/// The longest valid metacopy xattr value (a 4-byte header and a digest).
pub(super) const METACOPY_MAX: usize = 4 + 64;

/// The size of the buffer redirect values are read into when an inode is
/// read; longer ones (object paths are usually 67 bytes) are read apart.
pub(super) const REDIRECT_INLINE: usize = 256;

/// Reads the redirect value `(off, len)` of inode `nid` of the mount named
/// `sb` into a new buffer, followed by a NUL (so that the object path in it
/// can be used as a C string).
fn read_redirect(
    sb: &CStr,
    img: &Image<Source>,
    nid: u64,
    (off, len): XattrValue,
) -> Result<KVec<u8>> {
    let len = usize::from(len);
    let mut value = KVec::new();
    value.resize(len + 1, 0, GFP_KERNEL)?;
    img.read_exact_at(off, value.get_mut(..len).ok_or(EINVAL)?)
        .map_err(|e| image::error(sb, e, "overlay xattrs", nid))?;
    Ok(value)
}

/// The redirect value `redirect` of inode `nid` of the mount named `sb`:
/// in `redirect_buf` if it fits there (as [`Image::inode_with_xattrs`] copies
/// it), else read into `long`.
fn redirect_value<'a>(
    sb: &CStr,
    img: &Image<Source>,
    nid: u64,
    redirect: XattrValue,
    redirect_buf: &'a [u8; REDIRECT_INLINE],
    long: &'a mut KVec<u8>,
) -> Result<&'a [u8]> {
    match redirect_buf.get(..usize::from(redirect.1)) {
        Some(v) => Ok(v),
        None => {
            *long = read_redirect(sb, img, nid, redirect)?;
            // Without the NUL `read_redirect` adds.
            Ok(long.split_last().map_or(&[][..], |(_, v)| v))
        }
    }
}

/// The object path of the sha256 digest `d` as mkcomposefs writes it in
/// redirects, without the leading `/` and NUL-terminated: the digest in
/// lower-case hex, split after its first two digits (`xx/yyyy...`).
fn object_path(d: &[u8; 32]) -> [u8; 66] {
    let mut p = [0u8; 66];
    let (first, rest) = d.split_at(1);
    options::write_hex(first, &mut p);
    if let Some((slash, tail)) = p.get_mut(2..).and_then(|t| t.split_first_mut()) {
        *slash = b'/';
        options::write_hex(rest, tail);
    }
    p
}

/// Checks, when the external file `nid` is read from the image of the mount
/// named `sb`, that its overlay xattrs `x` can lead to data, with the errors
/// overlayfs gives on lookup: `EIO` for a metacopy value of 1 to 3 bytes
/// (`ovl_check_metacopy_xattr` without a buffer, fs/overlayfs/util.c: the
/// size alone is checked there) or a missing or relative redirect,
/// `EINVAL` for a malformed redirect.
///
/// `meta_buf` and `redirect_buf` hold the values if they fit (as
/// [`Image::inode_with_xattrs`] copies them); a longer redirect is read
/// here. Returns the digest if the metacopy value is the usual sha256 one
/// and the redirect its object path ([`object_path`]), which is all an
/// open then needs.
pub(super) fn check(
    sb: &CStr,
    img: &Image<Source>,
    nid: u64,
    x: &OverlayXattrs,
    meta_buf: &[u8; METACOPY_MAX],
    redirect_buf: &[u8; REDIRECT_INLINE],
) -> Result<Option<[u8; 32]>> {
    let meta_len = usize::from(x.meta.1);
    if (1..layout::METACOPY_HEADER_SIZE).contains(&meta_len) {
        warn(sb, nid, "metacopy xattr too small");
        return Err(EIO);
    }
    let Some(redirect) = x.redirect? else {
        warn(sb, nid, "metacopy file without a redirect");
        return Err(EIO);
    };
    let mut long = KVec::new();
    let value = redirect_value(sb, img, nid, redirect, redirect_buf, &mut long)?;
    // The sha256 digest, if the metacopy value is the usual one: then an
    // open needs nothing more from the image if the redirect names its
    // object.
    let digest = meta_buf.get(..meta_len).and_then(overlay::usual_sha256_metacopy);
    // The usual redirect, `/` and the object path, is a valid absolute
    // one: no need to parse it.
    if let (Some(d), Some((b'/', rel))) = (digest, value.split_first()) {
        if overlay::is_object_path(rel, d) {
            return Ok(Some(*d));
        }
    }
    match overlay::parse_redirect(value) {
        Ok(overlay::Redirect::Absolute(rel)) => {
            Ok(digest.filter(|d| overlay::is_object_path(rel, d)).copied())
        }
        Ok(overlay::Redirect::Relative(_)) => {
            warn(sb, nid, "metacopy file with a relative redirect");
            Err(EIO)
        }
        Err(_) => {
            warn(sb, nid, "invalid redirect");
            Err(EINVAL)
        }
    }
}

/// Checks the redirect `redirect` of directory `nid` of the mount named `sb`
/// as overlayfs does when its lookup finds a directory that is not opaque
/// (`ovl_check_redirect`, fs/overlayfs/namei.c): a malformed value fails the
/// lookup with `EINVAL`. A valid one leads nowhere, the image being the only
/// layer with directories, so it is not kept.
///
/// `redirect_buf` holds the value if it fits, as for [`check`].
pub(super) fn check_dir_redirect(
    sb: &CStr,
    img: &Image<Source>,
    nid: u64,
    redirect: XattrValue,
    redirect_buf: &[u8; REDIRECT_INLINE],
) -> Result {
    let mut long = KVec::new();
    let value = redirect_value(sb, img, nid, redirect, redirect_buf, &mut long)?;
    overlay::parse_redirect(value).map(|_| ()).map_err(|_| {
        warn(sb, nid, "directory with an invalid redirect");
        EINVAL
    })
}

/// Opens the backing object of the external file `inode` for `file`.
pub(super) fn open(inode: &CInode, file: &OpeningFile<'_>) -> Result<BackingFile> {
    if !file.is_read_only() {
        return Err(EROFS);
    }
    // Only external files, which all have this worked out, have this `open`.
    match inode.data().overlay.as_ref().ok_or(EIO)? {
        Backing::Sha256(d) => {
            let path = object_path(d);
            let rel = CStr::from_bytes_with_nul(&path).map_err(|_| EIO)?;
            open_object(
                inode,
                file,
                rel,
                || Ok(Some((layout::FS_VERITY_HASH_ALG_SHA256, &d[..]))),
            )
        }
        Backing::Xattrs(x) => open_xattrs(inode, file, x),
    }
}

/// Opens the backing object of `inode` for `file` as its overlay xattrs
/// `x` say.
fn open_xattrs(inode: &CInode, file: &OpeningFile<'_>, x: &OverlayXattrs) -> Result<BackingFile> {
    let sb = inode.super_block().id();
    let sbi = Composefs::sbi(inode);
    let img = &sbi.image;
    let nid = inode.data().raw.nid();
    // As overlayfs: the metacopy value is only read at open to check the
    // object's digest (`ovl_validate_verity`), so not with `verity=off`;
    // it cannot be longer than overlayfs reads (`ERANGE` from its getxattr,
    // once the object is found).
    let meta_len = usize::from(x.meta.1);
    let check_meta = sbi.verity != Verity::Off;
    let meta_fits = meta_len <= overlay::METACOPY_MAX_SIZE;
    // Both values are read together (they are usually in one block), the
    // redirect followed by a NUL into a buffer on the stack if it fits.
    let mut meta_buf = [0u8; METACOPY_MAX];
    let mut redirect_buf = [0u8; REDIRECT_INLINE + 1];
    let meta = meta_buf
        .get_mut(..if check_meta && meta_fits { meta_len } else { 0 })
        .ok_or(EIO)?;
    let inline = match x.redirect {
        Ok(Some((off, len))) => redirect_buf.get_mut(..usize::from(len)).map(|b| (off, b)),
        _ => None,
    };
    match inline {
        Some((off, v)) => img.read_exact_many([(x.meta.0, meta), (off, v)]),
        None => img.read_exact_at(x.meta.0, meta),
    }
    .map_err(|e| image::error(sb, e, "overlay xattrs", nid))?;
    let want = || {
        if !check_meta {
            return Ok(None);
        }
        if !meta_fits {
            warn(sb, nid, "metacopy xattr too large");
            return Err(ERANGE);
        }
        overlay::metacopy_digest_at_open(meta_buf.get(..meta_len).unwrap_or(&[])).map_err(|_| {
            warn(sb, nid, "malformed metacopy xattr");
            EIO
        })
    };
    // The object path, relative to a basedir, NUL-terminated. The lookup
    // below is confined beneath the basedir whatever the path holds.
    let redirect = x.redirect?.ok_or(EIO)?;
    let long;
    let value = match redirect_buf.get(..=usize::from(redirect.1)) {
        Some(v) => v,
        None => {
            long = read_redirect(sb, img, nid, redirect)?;
            long.as_slice()
        }
    };
    let len = value.len() - 1;
    let overlay::Redirect::Absolute(rel) =
        overlay::parse_redirect(value.get(..len).unwrap_or(&[])).map_err(|_| EINVAL)?
    else {
        return Err(ENOENT);
    };
    // `rel` ends at the value's first NUL or its end, where a NUL follows
    // it: with that NUL it is a C string.
    let start = (rel.as_ptr() as usize)
        .checked_sub(value.as_ptr() as usize)
        .ok_or(EIO)?;
    let rel = value
        .get(start..=start + rel.len())
        .and_then(|s| CStr::from_bytes_with_nul(s).ok())
        .ok_or(EIO)?;
    open_object(inode, file, rel, want)
}

/// The backing object of an external file once found: looked up at its
/// first successful open and kept while the inode lives, as overlayfs
/// keeps a metacopy file's data dentry once its lazy lookup found it
/// (`ovl_maybe_lookup_lowerdata`, fs/overlayfs/namei.c). Later opens use
/// it, so that replacing or deleting an object in the store does not change
/// what an inode in memory reads, as on the reference stack.
pub(crate) type FoundObject = OnceBox<Path>;

/// Finds the object at `rel` as overlayfs finds a metacopy file's data in
/// its data-only layers (`ovl_lookup_data_layers` and
/// `ovl_lookup_data_layer`, fs/overlayfs/namei.c): each basedir in turn,
/// the first that has a regular file there wins; any failure in one
/// basedir (no such path, an unsearchable directory or a symlink on the
/// way, `ENOENT` for anything but a regular file there, `EREMOTE` for a
/// weird dentry) moves on to the next, and the last basedir's error is the
/// result.
fn lookup_object(sbi: &super::CfsSuper, rel: &CStr) -> Result<Path> {
    // overlayfs looks up the whole redirect, `/` and `rel`, which must fit in
    // PATH_MAX with its NUL (`getname_kernel`, fs/namei.c).
    if rel.to_bytes().len() + 2 > layout::PATH_MAX {
        return Err(ENAMETOOLONG);
    }
    let mut last = ENOENT;
    for base in sbi.basedirs.iter() {
        last = match base.lookup_beneath(rel, &sbi.cred) {
            Ok(p) if p.is_weird() => EREMOTE,
            Ok(p) if !p.is_reg() => ENOENT,
            Ok(p) => return Ok(p),
            Err(e) => e,
        };
    }
    Err(last)
}

/// Opens the object at `rel` as the backing file of `inode` for `file`,
/// and checks it against the fs-verity digest that `want` gives (algorithm
/// and digest) as the mount's policy says. `want` is asked once the object
/// is found: overlayfs reads and checks the metacopy value only then
/// (`ovl_verify_lowerdata`, fs/overlayfs/namei.c), so a missing object is
/// reported before a malformed value.
fn open_object<'a>(
    inode: &CInode,
    file: &OpeningFile<'_>,
    rel: &CStr,
    want: impl FnOnce() -> Result<Option<(u8, &'a [u8])>>,
) -> Result<BackingFile> {
    let sbi = Composefs::sbi(inode);
    let nid = inode.data().raw.nid();
    let found = &inode.data().object;
    let obj = match found.get() {
        Some(obj) => obj,
        None => found.set(lookup_object(sbi, rel).inspect_err(|_| {
            warn_open(file, nid, "backing object lookup failed");
        })?)?,
    };
    // As overlayfs: the object is found first, then its digest checked.
    let want = want()?;
    if want.is_none() && sbi.verity == Verity::Require {
        warn_open(
            file,
            nid,
            "no fs-verity digest in the image and verity=require",
        );
        return Err(EIO);
    }
    // As overlayfs: the digest is checked (`ovl_validate_verity`, which
    // loads the object's fs-verity state by opening it without a permission
    // check) before the mounter's access to the object is
    // (`ovl_open_realfile`), so the backing file is opened first and only
    // returned once both passed. The object's size is not checked: overlayfs
    // does not (with a digest the wrong object fails its check; without one
    // it is read as it is).
    let real = BackingFile::open(file, obj, &sbi.cred)?;
    if let (Some((algo, digest)), true) = (want, sbi.verity != Verity::Off) {
        let mut got = [0u8; 64];
        match real.verity_digest(&mut got) {
            None => {
                warn_open(file, nid, "backing object has no fs-verity digest");
                return Err(EIO);
            }
            Some((a, n)) if a != algo || got.get(..n) != Some(digest) => {
                warn_open(file, nid, "backing object has the wrong fs-verity digest");
                return Err(EIO);
            }
            Some(_) => {}
        }
    }
    obj.permission(Path::MAY_OPEN_READ, &sbi.cred)?;
    Ok(real)
}
