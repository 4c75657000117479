// SPDX-License-Identifier: GPL-2.0

//! Xattrs and POSIX ACLs, presented as overlayfs over EROFS presents them:
//! overlayfs' private `trusted.overlay.*` xattrs are hidden, escaped
//! `trusted.overlay.overlay.X` ones appear as `trusted.overlay.X`, and
//! `trusted.*` is listed only for `CAP_SYS_ADMIN`.

use super::{image, CInode, Composefs};
use crate::format::{layout, overlay, overlay::XattrVisibility, reader::XattrKey};
use crate::vfs::{cred, helpers, xattr};
use kernel::prelude::*;

/// `trusted.overlay.`, the prefix user-visible escaped names have.
const OVL_PREFIX: &[u8] = b"trusted.overlay.";

/// The name prefix EROFS lists an entry of prefix index `index` under
/// (`erofs_xattr_prefix`, fs/erofs/xattr.c), or `None` for an entry it
/// leaves out: ACLs only when the mount enforces them (`acl`), `trusted.`
/// only for a caller with `CAP_SYS_ADMIN` (`trusted`), and no entry whose
/// index has no EROFS handler (none, `lustre.`, unknown ones).
fn erofs_list_prefix(index: u8, acl: bool, trusted: bool) -> Option<&'static [u8]> {
    match index {
        layout::XATTR_INDEX_USER | layout::XATTR_INDEX_SECURITY => layout::xattr_prefix(index),
        layout::XATTR_INDEX_POSIX_ACL_ACCESS | layout::XATTR_INDEX_POSIX_ACL_DEFAULT if acl => {
            layout::xattr_prefix(index)
        }
        layout::XATTR_INDEX_TRUSTED if trusted => layout::xattr_prefix(index),
        _ => None,
    }
}

/// The namespaces EROFS has xattr handlers for (`erofs_xattr_handlers`);
/// a name outside them is `EOPNOTSUPP` there, and so on the reference
/// stack (ACLs go through `get_acl`).
const NAMESPACES: [&[u8]; 3] = [b"user.", b"trusted.", b"security."];

impl xattr::Operations for Composefs {
    /// As `ovl_listxattr` (fs/overlayfs/xattrs.c) over EROFS: the real
    /// inode's list, made with the mounter's credentials, answers a size
    /// query and decides `ERANGE`; only then are overlayfs' private
    /// `trusted.overlay.*` names dropped, escaped ones unescaped and
    /// `trusted.*` kept for a caller with `CAP_SYS_ADMIN`.
    fn listxattr(inode: &CInode, list: &mut xattr::XattrList<'_>) -> Result {
        let sb = inode.super_block();
        let sbi = sb.data();
        let img = &sbi.image;
        let raw = &inode.data().raw;
        let acl = sbi.acl;
        let mounter_trusted = cred::with_creds(&sbi.cred, helpers::capable_sys_admin);
        // One pass: the unfiltered list's length decides the size answer and
        // `ERANGE` (overlayfs asks the real inode with the caller's buffer
        // size), and the visible names go into the list as they come. The
        // visible names are a part of the unfiltered list, so they cannot
        // overflow a buffer that the whole list fits in.
        let cap = list.capacity();
        let caller_trusted = cap.is_some() && helpers::capable_sys_admin();
        let mut real_len = 0usize;
        let mut err = Ok(());
        img.for_each_xattr(raw, |x| {
            let Some(prefix) = erofs_list_prefix(x.index, acl, mounter_trusted) else {
                return Ok(true);
            };
            // At most 255 entries' worth of short names per block: no
            // overflow, but the sum is checked all the same.
            real_len = real_len
                .checked_add(prefix.len() + x.suffix.len() + 1)
                .ok_or(crate::format::FormatError::Overflow)?;
            let Some(cap) = cap else {
                return Ok(true);
            };
            if real_len > cap {
                err = Err(ERANGE);
                return Ok(false);
            }
            let r = match overlay::xattr_visibility(x.index, x.suffix) {
                XattrVisibility::Private => Ok(()),
                _ if x.index == layout::XATTR_INDEX_TRUSTED && !caller_trusted => Ok(()),
                XattrVisibility::Unescaped(s) => list.push(&[b"trusted.", s]),
                XattrVisibility::Plain => list.push(&[prefix, x.suffix]),
            };
            match r {
                Ok(()) => Ok(true),
                Err(e) => {
                    err = Err(e);
                    Ok(false)
                }
            }
        })
        .map_err(|e| image::error(sb.id(), e, "xattrs", raw.nid()))?;
        if cap.is_none() {
            list.answer_size(real_len);
        }
        err
    }

    fn getxattr(inode: &CInode, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let sb = inode.super_block();
        let img = &sb.data().image;
        let raw = &inode.data().raw;
        if !NAMESPACES.iter().any(|ns| name.starts_with(ns)) {
            return Err(EOPNOTSUPP);
        }
        let (index, suffix) = layout::xattr_split_name(name);
        // A user-visible `trusted.overlay.X` is stored escaped as
        // `trusted.overlay.overlay.X`.
        let key = match name.strip_prefix(OVL_PREFIX) {
            Some(rest) => XattrKey {
                index: layout::XATTR_INDEX_TRUSTED,
                head: b"overlay.overlay.",
                tail: rest,
            },
            None => XattrKey {
                index,
                head: suffix,
                tail: b"",
            },
        };
        if index == layout::XATTR_INDEX_POSIX_ACL_ACCESS
            || index == layout::XATTR_INDEX_POSIX_ACL_DEFAULT
        {
            // The VFS answers these through `get_inode_acl`.
            return Err(EOPNOTSUPP);
        }
        let Some((off, len)) = img
            .find_xattr(raw, &key)
            .map_err(|e| image::error(sb.id(), e, "xattrs", raw.nid()))?
        else {
            return Err(ENODATA);
        };
        let len = usize::from(len);
        if buf.is_empty() {
            return Ok(len);
        }
        let dst = buf.get_mut(..len).ok_or(ERANGE)?;
        img.read_exact_at(off, dst)
            .map_err(|e| image::error(sb.id(), e, "xattrs", raw.nid()))?;
        Ok(len)
    }

    fn get_acl(inode: &CInode, default: bool) -> Result<Option<KVec<u8>>> {
        let sb = inode.super_block();
        let sbi = sb.data();
        if !sbi.acl {
            return Ok(None);
        }
        let img = &sbi.image;
        let raw = &inode.data().raw;
        let key = XattrKey {
            index: if default {
                layout::XATTR_INDEX_POSIX_ACL_DEFAULT
            } else {
                layout::XATTR_INDEX_POSIX_ACL_ACCESS
            },
            head: b"",
            tail: b"",
        };
        let Some((off, len)) = img
            .find_xattr(raw, &key)
            .map_err(|e| image::error(sb.id(), e, "xattrs", raw.nid()))?
        else {
            return Ok(None);
        };
        let mut v = KVec::new();
        v.resize(usize::from(len), 0, GFP_KERNEL)?;
        img.read_exact_at(off, &mut v)
            .map_err(|e| image::error(sb.id(), e, "ACL", raw.nid()))?;
        Ok(Some(v))
    }
}
