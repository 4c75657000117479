// SPDX-License-Identifier: GPL-2.0

//! Xattrs and POSIX ACLs, presented as overlayfs over EROFS presents them:
//! overlayfs' private `trusted.overlay.*` xattrs are hidden, escaped
//! `trusted.overlay.overlay.X` ones appear as `trusted.overlay.X`, and
//! `trusted.*` is listed only for `CAP_SYS_ADMIN`.

use super::{image, CInode, Composefs};
use crate::format::{layout, overlay, overlay::XattrVisibility, reader::XattrKey};
use crate::vfs::{helpers, xattr};
use kernel::prelude::*;

/// `trusted.overlay.`, the prefix user-visible escaped names have.
const OVL_PREFIX: &[u8] = b"trusted.overlay.";

impl xattr::Operations for Composefs {
    fn listxattr(inode: &CInode, list: &mut xattr::XattrList<'_>) -> Result {
        let sb = inode.super_block();
        let img = &sb.data().image;
        let raw = &inode.data().raw;
        let acl = sb.posix_acl();
        let trusted = helpers::capable_sys_admin();
        let mut err = Ok(());
        img.for_each_xattr(raw, |x| {
            let prefix = x.prefix();
            let r = match x.index {
                layout::XATTR_INDEX_POSIX_ACL_ACCESS | layout::XATTR_INDEX_POSIX_ACL_DEFAULT => {
                    if acl && x.suffix.is_empty() {
                        list.push(&[prefix])
                    } else {
                        Ok(())
                    }
                }
                layout::XATTR_INDEX_TRUSTED if !trusted => Ok(()),
                _ => match overlay::xattr_visibility(x.index, x.suffix) {
                    XattrVisibility::Private => Ok(()),
                    XattrVisibility::Unescaped(s) => list.push(&[b"trusted.", s]),
                    XattrVisibility::Plain => list.push(&[prefix, x.suffix]),
                },
            };
            match r {
                Ok(()) => Ok(true),
                Err(e) => {
                    err = Err(e);
                    Ok(false)
                }
            }
        })
        .map_err(|e| image::to_error(e, "xattrs", raw.nid()))?;
        err
    }

    fn getxattr(inode: &CInode, name: &[u8], buf: &mut [u8]) -> Result<usize> {
        let img = &Self::sbi(inode).image;
        let raw = &inode.data().raw;
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
            .map_err(|e| image::to_error(e, "xattrs", raw.nid()))?
        else {
            return Err(ENODATA);
        };
        let len = usize::from(len);
        if buf.is_empty() {
            return Ok(len);
        }
        let dst = buf.get_mut(..len).ok_or(ERANGE)?;
        img.read_exact_at(off, dst)
            .map_err(|e| image::to_error(e, "xattrs", raw.nid()))?;
        Ok(len)
    }

    fn get_acl(inode: &CInode, default: bool) -> Result<Option<KVec<u8>>> {
        let img = &Self::sbi(inode).image;
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
            .map_err(|e| image::to_error(e, "xattrs", raw.nid()))?
        else {
            return Ok(None);
        };
        let mut v = KVec::new();
        v.resize(usize::from(len), 0, GFP_KERNEL)?;
        img.read_exact_at(off, &mut v)
            .map_err(|e| image::to_error(e, "ACL", raw.nid()))?;
        Ok(Some(v))
    }
}
