// SPDX-License-Identifier: GPL-2.0

//! Directories: lookup by binary search and resumable iteration.

use super::{image, inode, CInode, Composefs, Listing};
use crate::format::{
    layout,
    reader::{Found, Image, LookupHint},
    FormatError,
};
use crate::vfs::dir::{self, dtype, DirEmitter};
use core::sync::atomic::Ordering;
use kernel::{prelude::*, sync::aref::ARef};

/// The `DT_*` value of an `EROFS_FT_*` file type.
fn to_dtype(ft: u8) -> u32 {
    match ft {
        layout::EROFS_FT_REG_FILE => 8,
        layout::EROFS_FT_DIR => 4,
        layout::EROFS_FT_CHRDEV => 2,
        layout::EROFS_FT_BLKDEV => 6,
        layout::EROFS_FT_FIFO => 1,
        layout::EROFS_FT_SOCK => 12,
        layout::EROFS_FT_SYMLINK => 10,
        _ => dtype::UNKNOWN,
    }
}

/// The lookup hint of a directory (block and entry index of the entry its
/// last lookup found) as stored in its `lookup_hint`; `u64::MAX` is none.
fn decode_hint(h: u64) -> Option<LookupHint> {
    (h != u64::MAX).then_some(LookupHint {
        block: h >> 32,
        index: (h & 0xffff_ffff) as usize,
    })
}

/// The hint to store after a lookup found `f` (`None` if it does not fit).
fn encode_hint(f: &Found) -> Option<u64> {
    let block = u32::try_from(f.block).ok()?;
    let index = u32::try_from(f.index).ok()?;
    Some((u64::from(block) << 32) | u64::from(index))
}

/// [`CfsInode::lookup_state`](super::CfsInode) of a directory whose blocks
/// and names were checked and are in order: hints are used.
pub(super) const HINTS_SORTED: u64 = u64::MAX - 1;
/// [`CfsInode::lookup_state`](super::CfsInode) of a directory found out of
/// order (or unreadable): hints are never used.
pub(super) const HINTS_OFF: u64 = u64::MAX;

/// The hint the next lookup in `dir` may start from: only in a directory
/// checked to be well-formed ([`Image::dir_is_sorted`]), where any hint
/// gives the answer the binary search gives. Counts the lookups made
/// without one and checks the directory once they reach its block count.
fn usable_hint(img: &Image<super::image::Source>, dir: &CInode) -> Option<LookupHint> {
    let data = dir.data();
    // The state only moves up to one of the two final values, and either
    // value leads to the same answers: no ordering is needed.
    let state = data.lookup_state.load(Ordering::Relaxed);
    match state {
        HINTS_SORTED => return decode_hint(data.lookup_hint.load(Ordering::Relaxed)),
        HINTS_OFF => return None,
        _ => {}
    }
    let blocks = img.dir_blocks(&data.raw).unwrap_or(0);
    if state.saturating_add(1) < blocks {
        // A lost race only delays the check.
        let _ = data.lookup_state.compare_exchange(
            state,
            state + 1,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        return None;
    }
    let sorted = img.dir_is_sorted(&data.raw).unwrap_or(false);
    data.lookup_state.store(
        if sorted { HINTS_SORTED } else { HINTS_OFF },
        Ordering::Relaxed,
    );
    None
}

impl dir::Operations for Composefs {
    fn lookup(dir: &CInode, name: &[u8]) -> Result<Option<ARef<CInode>>> {
        let sb = dir.super_block();
        let img = &sb.data().image;
        let data = dir.data();
        let raw = &data.raw;
        let hint = usable_hint(img, dir);
        let found = match img.lookup_near(raw, name, hint) {
            Ok(f) => f,
            Err(FormatError::NameTooLong) => return Err(ENAMETOOLONG),
            Err(FormatError::BadName) => return Ok(None),
            Err(e) => return Err(image::error(sb.id(), e, "directory", raw.nid())),
        };
        let Some(found) = found else {
            return Ok(None);
        };
        if let Some(h) = encode_hint(&found) {
            data.lookup_hint.store(h, Ordering::Relaxed);
        }
        let nid = found.nid;
        let child = inode::iget(sb, nid)?;
        // Overlayfs treats a whiteout as a negative entry, and fails the
        // lookup of an external file whose overlay xattrs are unusable.
        if child.data().whiteout {
            return Ok(None);
        }
        if let Some(e) = child.data().lookup_err {
            return Err(e);
        }
        Ok(Some(child))
    }

    /// A directory overlayfs merges (see [`Listing`]) seeks as a merged
    /// directory; the others are read through the real (EROFS) directory,
    /// as here.
    fn seeks_as_merged(dir: &CInode) -> bool {
        dir.data().listing != Listing::Real
    }

    fn iterate(dir: &CInode, em: &mut DirEmitter<'_>) -> Result {
        let sb = dir.super_block();
        let img = &sb.data().image;
        let raw = &dir.data().raw;
        let start = u64::try_from(em.pos()).unwrap_or(0);
        // Overlayfs merges the root directory (it may hold whiteouts: the
        // `00`..`ff` stubs) and any directory with a copy-up origin, which
        // drops whiteouts from their listing; other directories of a single
        // lower layer are listed as stored, their whiteouts included (a
        // lookup of one is negative all the same). See
        // `dropped_from_merged_listing` for what a merged listing drops.
        let listing = dir.data().listing;
        let is_root = raw.nid() == img.root_nid();
        if listing != Listing::Real && start == 0 {
            // Overlayfs reads a merged directory whole into its cache before
            // listing any of it (`ovl_dir_read_merged`): a damaged entry
            // anywhere fails the listing before its first entry. Once read
            // without error, the root's bytes read the same way again.
            let checked = &sb.data().root_listing_checked;
            if !(is_root && checked.load(Ordering::Relaxed)) {
                img.readdir(raw, 0, |_, _| true)
                    .map_err(|e| image::error(sb.id(), e, "directory", raw.nid()))?;
                if is_root {
                    checked.store(true, Ordering::Relaxed);
                }
            }
        }
        let end = img
            .readdir(raw, start, |e, next| {
                let hidden = listing != Listing::Real
                    && dropped_from_merged_listing(dir, listing, e.name, e.nid, e.file_type);
                if !hidden && !em.emit(e.name, e.nid, to_dtype(e.file_type)) {
                    return false;
                }
                em.set_pos(next as i64);
                true
            })
            .map_err(|e| image::error(sb.id(), e, "directory", raw.nid()))?;
        em.set_pos(i64::try_from(end).unwrap_or(i64::MAX));
        Ok(())
    }
}

/// Whether the merged listing of `dir` drops its entry `name` (inode `nid`,
/// type `file_type`), as overlayfs's does (`ovl_check_whiteouts`,
/// `ovl_cache_update`, fs/overlayfs/readdir.c): a character device whose
/// name looks up a character-device whiteout (in a damaged directory the
/// lookup may miss, and the entry is listed); an entry of inode number 0 (in
/// a damaged directory only), whose name overlayfs looks up for the number
/// to list, if that lookup fails or finds nothing; and in a directory marked
/// for whiteout files, a regular file whose lookup fails or finds nothing
/// (an empty file with `trusted.overlay.whiteout`).
fn dropped_from_merged_listing(
    dir: &CInode,
    listing: Listing,
    name: &[u8],
    nid: u64,
    file_type: u8,
) -> bool {
    let img = &dir.super_block().data().image;
    if file_type == layout::EROFS_FT_CHRDEV
        && matches!(img.lookup(&dir.data().raw, name), Ok(Some((found, _)))
            if img.inode(found).is_ok_and(|i| inode::is_whiteout(&i)))
    {
        return true;
    }
    let looked_up = nid == 0
        || (listing == Listing::MergedXwhiteouts && file_type == layout::EROFS_FT_REG_FILE);
    looked_up && !matches!(<Composefs as dir::Operations>::lookup(dir, name), Ok(Some(_)))
}

/// The inode slots (nids) the tree of `img` reaches from its root, one bit
/// each: every entry of every directory reached that a lookup by name can
/// resolve, the directories found by the inodes' own types (whatever the
/// entries' types say). A damaged entry or block is skipped, as a lookup of
/// another name skips it: a file whose path resolves has a handle that
/// decodes. Each directory is read once, so loops end.
fn reachable_nids(img: &Image<super::image::Source>) -> Result<KVVec<u64>> {
    let slots = img.size() >> layout::ISLOT_BITS;
    let words = usize::try_from(slots.div_ceil(64)).map_err(|_| ENOMEM)?;
    let mut bits = KVVec::from_elem(0u64, words, GFP_KERNEL)?;
    let mark = |bits: &mut KVVec<u64>, nid: u64| -> bool {
        let Some(w) = usize::try_from(nid / 64).ok().and_then(|i| bits.get_mut(i)) else {
            return false;
        };
        let bit = 1u64 << (nid % 64);
        let new = *w & bit == 0;
        *w |= bit;
        new
    };
    let root = img.root_nid();
    mark(&mut bits, root);
    let mut stack = KVVec::new();
    stack.push(root, GFP_KERNEL)?;
    while let Some(nid) = stack.pop() {
        let Ok(dir) = img.inode(nid) else { continue };
        if !dir.is_dir() {
            continue;
        }
        let mut res = Ok(());
        let _ = img.for_each_resolvable(&dir, |child| {
            if !mark(&mut bits, child) {
                return true;
            }
            res = stack.push(child, GFP_KERNEL);
            res.is_ok()
        });
        res?;
    }
    Ok(bits)
}

/// Whether the tree of `sb` reaches inode `nid` (computing the set on first
/// use).
fn is_reachable(sb: &crate::vfs::sb::SuperBlock<Composefs>, nid: u64) -> Result<bool> {
    let d = sb.data();
    let bits = match d.reachable.get() {
        Some(b) => b,
        None => d.reachable.set(reachable_nids(&d.image)?)?,
    };
    let word = usize::try_from(nid / 64).ok().and_then(|i| bits.get(i));
    Ok(word.is_some_and(|w| w & (1u64 << (nid % 64)) != 0))
}

impl crate::vfs::export::Operations for Composefs {
    fn iget_handle(sb: &crate::vfs::sb::SuperBlock<Self>, ino: u64) -> Result<ARef<CInode>> {
        let img = &sb.data().image;
        // A handle is user input: only an inode that the tree reaches from
        // its root (so no other slot that happens to decode), that decodes
        // and is not a whiteout (which users never see) is accepted.
        if !is_reachable(sb, ino)? {
            return Err(ESTALE);
        }
        match img.inode(ino) {
            Ok(raw) if !inode::is_whiteout(&raw) => {}
            _ => return Err(ESTALE),
        }
        inode::iget(sb, ino)
    }

    fn parent(dir: &CInode) -> Result<ARef<CInode>> {
        let sb = dir.super_block();
        let img = &sb.data().image;
        let raw = &dir.data().raw;
        match img.lookup(raw, b"..") {
            Ok(Some((nid, _))) if is_reachable(sb, nid)? => inode::iget(sb, nid),
            Ok(Some(_)) => Err(ESTALE),
            Ok(None) => Err(ENOENT),
            Err(e) => Err(image::error(sb.id(), e, "directory", raw.nid())),
        }
    }
}
