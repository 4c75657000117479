// SPDX-License-Identifier: GPL-2.0

//! Backing objects: opening an external file's object under the basedirs,
//! confined beneath them, and checking its fs-verity digest.

use super::{image, inode::METACOPY_KEY, options::Verity, CInode, Composefs};
use crate::format::{layout, overlay, reader::XattrKey};
use crate::vfs::{
    file::{BackingFile, OpeningFile},
    helpers,
};
use kernel::prelude::*;

/// The redirect xattr as a lookup key.
const REDIRECT_KEY: XattrKey<'static> = XattrKey {
    index: layout::XATTR_INDEX_TRUSTED,
    head: b"overlay.redirect",
    tail: b"",
};

/// `MAY_OPEN | MAY_READ`.
const MAY_OPEN_READ: i32 = (kernel::bindings::MAY_OPEN | kernel::bindings::MAY_READ) as i32;

/// Logs a rate-limited message about the backing object of `nid`.
fn warn(nid: u64, msg: &str) {
    if helpers::ratelimit() {
        pr_warn!("nid {}: {}\n", nid, msg);
    }
}

/// Opens the backing object of the external file `inode` for `file`.
pub(super) fn open(inode: &CInode, file: &OpeningFile<'_>) -> Result<BackingFile> {
    let sbi = Composefs::sbi(inode);
    let img = &sbi.image;
    let raw = &inode.data().raw;
    let nid = raw.nid();
    let err = |e| image::to_error(e, "overlay xattrs", nid);

    if file.flags() & kernel::bindings::O_ACCMODE != kernel::bindings::O_RDONLY {
        return Err(EROFS);
    }

    // The digest the image records for the object.
    let mut mbuf = [0u8; 4 + 64];
    let digest = match img.find_xattr(raw, &METACOPY_KEY).map_err(err)? {
        None => None,
        Some((off, len)) => {
            let v = mbuf.get_mut(..usize::from(len)).ok_or(EUCLEAN).inspect_err(|_| {
                warn(nid, "malformed metacopy xattr");
            })?;
            img.read_exact_at(off, v).map_err(err)?;
            overlay::parse_metacopy(v).map_err(err)?
        }
    };
    if digest.is_none() && sbi.verity == Verity::Require {
        warn(nid, "no fs-verity digest in the image and verity=require");
        return Err(EIO);
    }

    // The object path, relative to a basedir, NUL-terminated.
    let Some((off, len)) = img.find_xattr(raw, &REDIRECT_KEY).map_err(err)? else {
        warn(nid, "metacopy file without a redirect");
        return Err(ENOENT);
    };
    let mut path = KVec::new();
    path.resize(usize::from(len), 0, GFP_KERNEL)?;
    img.read_exact_at(off, &mut path).map_err(err)?;
    let rel_len = match overlay::redirect_object_path(&path) {
        Ok(r) => r.len(),
        Err(_) => {
            warn(nid, "redirect escapes the basedir or is malformed");
            return Err(EIO);
        }
    };
    // Keep only the relative part and terminate it.
    let mut relv = KVec::with_capacity(rel_len + 1, GFP_KERNEL)?;
    relv.extend_from_slice(path.get(path.len() - rel_len..).unwrap_or(&[]), GFP_KERNEL)?;
    relv.push(0, GFP_KERNEL)?;
    let rel = CStr::from_bytes_with_nul(&relv).map_err(|_| EIO)?;

    let mut found = None;
    let mut last = ENOENT;
    for base in sbi.basedirs.iter() {
        match base.lookup_beneath(rel, &sbi.cred) {
            Ok(p) => {
                found = Some(p);
                break;
            }
            Err(e) if e == ENOENT => {}
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    let Some(obj) = found else {
        if last != ENOENT {
            warn(nid, "backing object lookup failed");
        }
        return Err(last);
    };
    if obj.is_weird() {
        return Err(EREMOTE);
    }
    if !obj.is_reg() {
        return Err(ENOENT);
    }
    obj.permission(MAY_OPEN_READ, &sbi.cred)?;
    let real = BackingFile::open(file, &obj, &sbi.cred)?;

    if real.size() != inode.size() {
        warn(nid, "backing object size differs from the image");
        return Err(EIO);
    }
    if let (Some(want), true) = (digest, sbi.verity != Verity::Off) {
        let mut got = [0u8; 64];
        match real.verity_digest(&mut got) {
            None => {
                warn(nid, "backing object has no fs-verity digest");
                return Err(EIO);
            }
            Some((algo, n)) if algo != want.algo || got.get(..n) != Some(want.digest()) => {
                warn(nid, "backing object has the wrong fs-verity digest");
                return Err(EIO);
            }
            Some(_) => {}
        }
    }
    Ok(real)
}
