// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Crafted images: raw overlay xattrs (`trusted.overlay.redirect`, `.opaque`, `.metacopy`,
//! `.whiteout`, `.origin`)
//! on entries that mkcomposefs never gives them to, with values valid and not.
//!
//! mkcomposefs escapes every `trusted.overlay.` xattr of its input, so only a crafted image
//! (or a writer with other rules) carries them raw; overlayfs reads them on lookup, and the
//! image is well-formed as far as EROFS is concerned, so composefs must do exactly what the
//! reference does: such rounds are compared without the allowance for damaged images.

use crate::rng::Rng;
use cfs_format::format::layout::{
    xattr_entry_size, S_IFDIR, S_IFREG, XATTR_ENTRY_SIZE, XATTR_INDEX_TRUSTED,
};
use cfs_mutate::mutate::Map;

/// Redirect values: valid absolute and relative ones, and each way overlayfs finds one
/// malformed (`ovl_get_redirect_xattr`: empty, an empty component, a relative one with
/// `/`); the value ends at its first NUL, so one that starts with NUL is an empty string.
const REDIRECTS: [&[u8]; 9] = [
    b"/a/b",
    b"rel",
    b"a/b",
    b"//a",
    b"/a/",
    b"/",
    b"",
    b"\0/x",
    b"/x\0//",
];

/// Turns one inline xattr entry of a random inode of `img` (described by `map`) into a raw
/// overlay xattr, in place: the entry keeps its padded size, so nothing after it moves, and
/// the value is cut or padded with NULs to what is left. The inode's name filter is
/// cleared (every name may be present), since the new name's bit may be set. Returns what
/// was done, or `None` if the image has no entry with room for it.
pub fn raw_overlay_xattr(r: &mut Rng, img: &mut [u8], map: &Map) -> Option<String> {
    // (inode, entry offset, padded entry size) of every inline entry.
    let mut entries: Vec<_> = map.inline_xattrs(img).collect();
    let (name, value): (&[u8], Vec<u8>) = match r.below(5) {
        0 => (b"overlay.redirect", r.pick(&REDIRECTS).to_vec()),
        1 => (
            b"overlay.opaque",
            r.pick(&[&b"y"[..], b"x", b"yy", b"n"]).to_vec(),
        ),
        2 => {
            // Empty (a metacopy with no digest), too short, or a header and a digest.
            let len = *r.pick(&[0usize, 3, 4, 36]);
            let mut v = vec![0u8; len];
            if len >= 4 {
                v[..4].copy_from_slice(&[0, len as u8, 0, 1]);
            }
            (b"overlay.metacopy", v)
        }
        // Only the presence of these two counts.
        3 => (b"overlay.whiteout", Vec::new()),
        _ => (b"overlay.origin", Vec::new()),
    };
    // Where each name has an effect: a whiteout mark on an empty regular file, an origin
    // or opaque mark on a directory (elsewhere if the image has none).
    let wanted = |ino: &cfs_mutate::mutate::InodeLoc| match name {
        b"overlay.whiteout" => ino.ftype == S_IFREG && ino.size == 0,
        b"overlay.origin" | b"overlay.opaque" => ino.ftype == S_IFDIR,
        _ => true,
    };
    if entries.iter().any(|(ino, _, _)| wanted(ino)) {
        entries.retain(|(ino, _, _)| wanted(ino));
    }
    // A value whose contents do not count, or a redirect (its trailing NULs end the
    // string), takes any entry with room, padded with NULs; the others only an entry of
    // their own padded size.
    let any_room = matches!(
        name,
        b"overlay.redirect" | b"overlay.whiteout" | b"overlay.origin"
    );
    let fits: Vec<_> = entries
        .into_iter()
        .filter(|&(_, _, size)| {
            if any_room {
                size >= XATTR_ENTRY_SIZE + name.len()
            } else {
                Some(size) == xattr_entry_size(name.len(), value.len())
            }
        })
        .collect();
    if fits.is_empty() {
        return None;
    }
    let &(ino, at, size) = r.pick(&fits);
    let vlen = if any_room {
        size - XATTR_ENTRY_SIZE - name.len()
    } else {
        value.len()
    };
    let mut v = value.clone();
    v.resize(vlen, 0);
    img[at] = name.len() as u8;
    img[at + 1] = XATTR_INDEX_TRUSTED;
    img[at + 2..at + 4].copy_from_slice(&(vlen as u16).to_le_bytes());
    let n = at + XATTR_ENTRY_SIZE;
    img[n..n + name.len()].copy_from_slice(name);
    img[n + name.len()..at + size].fill(0);
    img[n + name.len()..n + name.len() + vlen].copy_from_slice(&v);
    img[ino.xattr.0..ino.xattr.0 + 4].fill(0);
    let shown = v.len() - v.iter().rev().take_while(|&&c| c == 0).count();
    Some(format!(
        "nid {} (type {:o}): trusted.{} = {:?} and {} NULs",
        ino.nid,
        ino.ftype >> 12,
        String::from_utf8_lossy(name),
        String::from_utf8_lossy(&v[..shown]),
        v.len() - shown
    ))
}
