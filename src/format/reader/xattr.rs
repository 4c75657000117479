// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Extended attributes (the counterpart of fs/erofs/xattr.c): the entries of an inode's xattr
//! area, inline first and then shared (the order EROFS lists them in), lookups by name with
//! the inode's bloom filter as EROFS uses it when the image has `XATTR_FILTER`, and
//! [`Image::inode_with_xattrs`], which decodes an inode and finds its xattrs through one
//! cursor.

use crate::format::error::{FormatError, Result};
use crate::format::layout::*;
use crate::format::xxhash::xattr_filter_bit;

use super::inode::Inode;
use super::source::{crosses_block, BlockSource, Cursor};
use super::Image;

/// One xattr entry as stored: the name prefix index, the suffix and where the value is.
#[derive(Clone, Copy, Debug)]
pub struct XattrItem<'n> {
    /// Name prefix index (`XATTR_INDEX_*`, 0..=6).
    pub index: u8,
    /// Name suffix (after the prefix of `index`).
    pub suffix: &'n [u8],
    /// Image offset of the value.
    pub value_offset: u64,
    /// Length of the value.
    pub value_len: u16,
    /// Whether the entry lives in the shared xattr table.
    #[cfg(cfs_tools)]
    pub shared: bool,
    /// The value, if it lies in the image block that holds the name (where the search is
    /// reading anyway); `None` if the entry crosses into the next block.
    pub value: Option<&'n [u8]>,
}

impl XattrItem<'_> {
    /// The name prefix of the entry's index.
    #[cfg(cfs_tools)]
    pub fn prefix(&self) -> &'static [u8] {
        xattr_prefix(self.index).unwrap_or(b"")
    }

    /// Writes the full name (prefix and suffix) into `buf` and returns its length.
    #[cfg(cfs_tools)]
    pub fn full_name(&self, buf: &mut [u8]) -> Result<usize> {
        let prefix = self.prefix();
        let len = prefix
            .len()
            .checked_add(self.suffix.len())
            .ok_or(FormatError::Overflow)?;
        let out = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
        let (a, b) = out.split_at_mut(prefix.len());
        a.copy_from_slice(prefix);
        b.copy_from_slice(self.suffix);
        Ok(len)
    }
}

/// A name to look up among an inode's xattrs: a prefix index and a suffix given in up to two
/// parts (so that `overlay.` can be put back in front of an escaped name without a copy).
#[derive(Clone, Copy, Debug)]
pub struct XattrKey<'k> {
    /// Name prefix index.
    pub index: u8,
    /// First part of the suffix.
    pub head: &'k [u8],
    /// Second part of the suffix.
    pub tail: &'k [u8],
}

/// Whether `a` and `b` hold the same bytes. Compared inline, eight bytes at a time: xattr
/// names are short, and comparing one against each key a search looks for through `memcmp`
/// cost more than the comparison.
fn same_bytes(mut a: &[u8], mut b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    while let (Some((x, more_a)), Some((y, more_b))) =
        (a.split_first_chunk::<8>(), b.split_first_chunk::<8>())
    {
        if x != y {
            return false;
        }
        a = more_a;
        b = more_b;
    }
    while let (Some((x, more_a)), Some((y, more_b))) = (a.split_first(), b.split_first()) {
        if x != y {
            return false;
        }
        a = more_a;
        b = more_b;
    }
    true
}

impl XattrKey<'_> {
    fn matches(&self, index: u8, suffix: &[u8]) -> bool {
        // The length is compared first; most keys have no tail, so one comparison of bytes
        // usually decides.
        index == self.index
            && suffix.len() == self.head.len() + self.tail.len()
            && suffix
                .split_at_checked(self.head.len())
                .is_some_and(|(head, tail)| {
                    same_bytes(head, self.head) && same_bytes(tail, self.tail)
                })
    }

    /// The key's bit in an inode's bloom filter word. EROFS hashes the whole suffix, so a
    /// two-part key (an escaped overlay name) is hashed joined, as the reference stack's
    /// `getxattr` of the escaped name is; a key too long for any entry (`None`) is not
    /// filtered and never matches.
    fn filter_bit(&self) -> Option<u32> {
        if self.tail.is_empty() {
            return Some(xattr_filter_bit(self.index, self.head));
        }
        if self.head.is_empty() {
            return Some(xattr_filter_bit(self.index, self.tail));
        }
        let mut joined = [0u8; NAME_MAX];
        let dst = joined.get_mut(..self.head.len().checked_add(self.tail.len())?)?;
        let (head, tail) = dst.split_at_mut_checked(self.head.len())?;
        head.copy_from_slice(self.head);
        tail.copy_from_slice(self.tail);
        Some(xattr_filter_bit(self.index, dst))
    }
}

/// A one-part [`XattrKey`] with its bloom filter bit computed once (at compile time for a
/// constant), for names that are looked up on every inode.
#[derive(Clone, Copy, Debug)]
pub struct HashedXattrKey<'k> {
    key: XattrKey<'k>,
    bit: u32,
}

impl<'k> HashedXattrKey<'k> {
    /// The key of the xattr with prefix index `index` and name suffix `suffix`.
    pub const fn new(index: u8, suffix: &'k [u8]) -> Self {
        Self {
            key: XattrKey {
                index,
                head: suffix,
                tail: b"",
            },
            bit: xattr_filter_bit(index, suffix),
        }
    }

    /// The key.
    #[cfg(cfs_tools)]
    pub fn key(&self) -> &XattrKey<'k> {
        &self.key
    }
}

/// A key of a search ([`Image::find_xattrs`]): the name, and its bit in the inode's bloom
/// filter word if it is known (`None`: not filtered).
trait SearchKey {
    /// The name looked for.
    fn name(&self) -> &XattrKey<'_>;
    /// The name's bit in the bloom filter word, if known.
    fn filter_bit(&self) -> Option<u32>;
}

impl SearchKey for HashedXattrKey<'_> {
    fn name(&self) -> &XattrKey<'_> {
        &self.key
    }

    fn filter_bit(&self) -> Option<u32> {
        Some(self.bit)
    }
}

impl SearchKey for (&XattrKey<'_>, Option<u32>) {
    fn name(&self) -> &XattrKey<'_> {
        self.0
    }

    fn filter_bit(&self) -> Option<u32> {
        self.1
    }
}

/// Where an xattr's value lies in the image: `(offset, length)`.
pub type XattrValue = (u64, u16);

/// The answer of an xattr search for one key: where its value is, `None` if the inode has no
/// such xattr, or why the search failed.
pub type XattrFound = Result<Option<XattrValue>>;

/// One pass of [`Image::find_xattrs`] over an inode's xattrs: the keys, which of them are
/// still looked for (`left`, a bit per key), which values were copied (`copied`), and the
/// answers.
struct Search<'s, 'v, K, const N: usize> {
    keys: &'s [K; N],
    left: u32,
    copied: u32,
    found: &'s mut [XattrFound; N],
    values: &'s mut [&'v mut [u8]; N],
}

impl<K: SearchKey, const N: usize> Search<'_, '_, K, N> {
    /// Records entry `x` as the answer of each key still looked for that it matches (and
    /// copies its value if it came with the entry and fits); returns whether keys are left.
    fn offer(&mut self, x: &XattrItem<'_>) -> bool {
        let mut rest = self.left;
        while rest != 0 {
            let i = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            let Some(key) = self.keys.get(i) else {
                break;
            };
            if !key.name().matches(x.index, x.suffix) {
                continue;
            }
            self.left &= !(1u32 << i);
            if let Some(slot) = self.found.get_mut(i) {
                *slot = Ok(Some((x.value_offset, x.value_len)));
            }
            let dst = self
                .values
                .get_mut(i)
                .and_then(|b| b.get_mut(..usize::from(x.value_len)));
            if let (Some(v), Some(dst)) = (x.value, dst) {
                if v.len() == dst.len() {
                    dst.copy_from_slice(v);
                    self.copied |= 1u32 << i;
                }
            }
        }
        self.left != 0
    }
}

impl<S: BlockSource> Image<S> {
    /// Offset of shared xattr `id` in the image.
    fn shared_xattr_offset(&self, id: u32) -> Result<u64> {
        u64::from(self.sb.xattr_blkaddr)
            .checked_mul(BLOCK_SIZE_U64)
            .and_then(|b| b.checked_add(u64::from(id) * 4))
            .ok_or(FormatError::Overflow)
    }

    /// Decodes the header of the xattr entry at `off` and checks that the entry ends at or
    /// before `limit`.
    fn xattr_entry_at(&self, cur: &mut Cursor<'_, S>, off: u64, limit: u64) -> Result<XattrEntry> {
        let e = if crosses_block(off, XATTR_ENTRY_SIZE) {
            let mut h = [0u8; XATTR_ENTRY_SIZE];
            cur.read_exact_at(off, &mut h)
                .map_err(|_| FormatError::BadXattr)?;
            XattrEntry::parse(&h)?
        } else {
            XattrEntry::parse(
                cur.slice(off, XATTR_ENTRY_SIZE)
                    .map_err(|_| FormatError::BadXattr)?,
            )?
        };
        Self::check_xattr_entry(&e, off, limit)?;
        Ok(e)
    }

    /// Checks the decoded header `e` of the xattr entry at `off`: the entry ends at or before
    /// `limit` and its name prefix index is one this reader knows.
    fn check_xattr_entry(e: &XattrEntry, off: u64, limit: u64) -> Result<()> {
        let end = off
            .checked_add(e.total_size() as u64)
            .ok_or(FormatError::Overflow)?;
        if end > limit {
            return Err(FormatError::BadXattr);
        }
        if e.e_name_index & EROFS_XATTR_LONG_PREFIX != 0 || xattr_prefix(e.e_name_index).is_none() {
            return Err(FormatError::BadXattr);
        }
        if e.e_name_index == XATTR_INDEX_NONE && e.e_name_len == 0 {
            return Err(FormatError::BadXattr);
        }
        Ok(())
    }

    /// The inline xattr entry at `at` in `area`, the inline entries of an inode (which start
    /// at image offset `base` and lie in one block), as an item, and the entry's size. Checks
    /// what [`Image::xattr_item_at`] checks, with the end of `area` as the limit.
    fn xattr_item_in(area: &[u8], at: usize, base: u64) -> Result<(XattrItem<'_>, usize)> {
        let Some((header, rest)) = area
            .get(at..)
            .and_then(|r| r.split_first_chunk::<XATTR_ENTRY_SIZE>())
        else {
            return Err(FormatError::BadXattr);
        };
        let e = XattrEntry::parse(header)?;
        let off = base + at as u64;
        Self::check_xattr_entry(&e, off, base + area.len() as u64)?;
        // The entry ends inside `area` (checked above): neither fails.
        let (name, rest) = rest
            .split_at_checked(usize::from(e.e_name_len))
            .ok_or(FormatError::BadXattr)?;
        let value = rest
            .get(..usize::from(e.e_value_size))
            .ok_or(FormatError::BadXattr)?;
        let item = Self::xattr_item(&e, off, name, Some(value), false);
        Ok((item, e.total_size()))
    }

    /// The item for the entry at `off` whose header is `e` and whose name suffix is `suffix`
    /// (and value `value`, if it was borrowed with it).
    fn xattr_item<'c>(
        e: &XattrEntry,
        off: u64,
        suffix: &'c [u8],
        value: Option<&'c [u8]>,
        shared: bool,
    ) -> XattrItem<'c> {
        // Only the tools read which area an entry is in.
        #[cfg(not(cfs_tools))]
        let _ = shared;
        XattrItem {
            index: e.e_name_index,
            suffix,
            value_offset: off + (XATTR_ENTRY_SIZE + suffix.len()) as u64,
            value_len: e.e_value_size,
            #[cfg(cfs_tools)]
            shared,
            value,
        }
    }

    /// The `n`-byte name suffix of the xattr entry at `off` and its `vlen`-byte value: both
    /// borrowed from the image block that holds them if they are in one; otherwise the name
    /// is copied into `name` (if it crosses a block boundary) and the value is `None`.
    fn xattr_name<'c>(
        cur: &'c mut Cursor<'_, S>,
        off: u64,
        n: usize,
        vlen: u16,
        name: &'c mut [u8; NAME_MAX],
    ) -> Result<(&'c [u8], Option<&'c [u8]>)> {
        let at = off + XATTR_ENTRY_SIZE as u64;
        let whole = n + usize::from(vlen);
        if !crosses_block(at, whole) {
            let (suffix, value) = cur.slice(at, whole)?.split_at(n);
            Ok((suffix, Some(value)))
        } else if crosses_block(at, n) {
            let dst = name.get_mut(..n).ok_or(FormatError::BadXattr)?;
            cur.read_exact_at(at, dst)?;
            Ok((dst, None))
        } else {
            Ok((cur.slice(at, n)?, None))
        }
    }

    /// The xattr entry at `off` (ending at or before `limit`) as an item, and the entry's
    /// size; `shared` says which area it is in.
    fn xattr_item_at<'c>(
        &self,
        cur: &'c mut Cursor<'_, S>,
        off: u64,
        limit: u64,
        shared: bool,
        name: &'c mut [u8; NAME_MAX],
    ) -> Result<(XattrItem<'c>, u64)> {
        let e = self.xattr_entry_at(cur, off, limit)?;
        let n = usize::from(e.e_name_len);
        let (suffix, value) = Self::xattr_name(cur, off, n, e.e_value_size, name)?;
        let item = Self::xattr_item(&e, off, suffix, value, shared);
        Ok((item, e.total_size() as u64))
    }

    /// Calls `f` for each xattr of `inode`: the inline entries first, then the shared ones (the
    /// order EROFS lists them in). `f` returns `false` to stop early.
    pub fn for_each_xattr(
        &self,
        inode: &Inode,
        f: impl FnMut(&XattrItem<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.for_each_xattr_in(&mut Cursor::new(self), inode, f)
    }

    /// [`Image::for_each_xattr`], reading through `cur`.
    fn for_each_xattr_in(
        &self,
        cur: &mut Cursor<'_, S>,
        inode: &Inode,
        f: impl FnMut(&XattrItem<'_>) -> Result<bool>,
    ) -> Result<()> {
        if inode.xattr_size == 0 {
            return Ok(());
        }
        let hdr = self.xattr_header(cur, inode)?;
        self.for_each_xattr_after(cur, inode, &hdr, f)
    }

    /// [`Image::for_each_xattr_in`] for an inode with xattrs whose area header `hdr` was
    /// read (and checked) already.
    fn for_each_xattr_after(
        &self,
        cur: &mut Cursor<'_, S>,
        inode: &Inode,
        hdr: &XattrIbodyHeader,
        mut f: impl FnMut(&XattrItem<'_>) -> Result<bool>,
    ) -> Result<()> {
        let shared = usize::from(hdr.h_shared_count);
        let area_end = inode.xattr_offset + u64::from(inode.xattr_size);
        let shared_end = XATTR_IBODY_HEADER_SIZE + shared * 4;
        let mut pos = inode.xattr_offset + shared_end as u64;
        // `shared_end <= xattr_size` (`xattr_header` checks it): no underflow; a u32 fits a usize.
        let inline_len = (area_end - pos) as usize;
        if inline_len > 0 && !crosses_block(pos, inline_len) {
            // The usual case: the inline entries are in one block. They are parsed from one
            // borrowed slice rather than with a cursor read per entry.
            let area = cur
                .slice(pos, inline_len)
                .map_err(|_| FormatError::BadXattr)?;
            let mut at = 0;
            while at < area.len() {
                let (item, size) = Self::xattr_item_in(area, at, pos)?;
                if !f(&item)? {
                    return Ok(());
                }
                at += size;
            }
        } else {
            let mut name = [0u8; NAME_MAX];
            while pos < area_end {
                let (item, size) = self.xattr_item_at(cur, pos, area_end, false, &mut name)?;
                if !f(&item)? {
                    return Ok(());
                }
                pos += size;
            }
        }
        if shared == 0 {
            return Ok(());
        }
        // The shared ids are read in batches: the entries they name are in another block,
        // and reading ids one by one would take the inode's block back after each of them.
        const BATCH: usize = 16;
        let mut ids = [0u8; 4 * BATCH];
        let mut name = [0u8; NAME_MAX];
        let mut i = 0;
        while i < shared {
            let n = (shared - i).min(BATCH);
            let batch = ids.get_mut(..4 * n).ok_or(FormatError::Overflow)?;
            cur.read_exact_at(
                inode.xattr_offset + (XATTR_IBODY_HEADER_SIZE + i * 4) as u64,
                batch,
            )?;
            for id in batch.chunks_exact(4) {
                let off = self.shared_xattr_offset(get_u32(id, 0))?;
                let (item, _) = self.xattr_item_at(cur, off, self.size, true, &mut name)?;
                if !f(&item)? {
                    return Ok(());
                }
            }
            i += n;
        }
        Ok(())
    }

    /// The header of the inode's xattr area, checked as EROFS checks it before any xattr
    /// lookup (`erofs_init_inode_xattrs`): its shared ids fit the area.
    fn xattr_header(&self, cur: &mut Cursor<'_, S>, inode: &Inode) -> Result<XattrIbodyHeader> {
        // The area follows an inode, at a multiple of 32 bytes: its header does not cross
        // a block.
        let hdr = XattrIbodyHeader::parse(cur.slice(inode.xattr_offset, XATTR_IBODY_HEADER_SIZE)?)?;
        let shared_end = XATTR_IBODY_HEADER_SIZE + usize::from(hdr.h_shared_count) * 4;
        if shared_end > inode.xattr_size as usize {
            return Err(FormatError::BadXattr);
        }
        Ok(hdr)
    }

    /// The bloom filter word of an inode's xattr area whose header is `hdr` (EROFS'
    /// `XATTR_FILTER`: a set bit means the names that hash to it are absent), or `None` if
    /// the image does not use the filter.
    ///
    /// Callers read the header with [`Image::xattr_header`], which checks it, before asking:
    /// the header is checked whatever the filter says, as EROFS does.
    fn xattr_filter(&self, hdr: &XattrIbodyHeader) -> Option<u32> {
        if self.sb.feature_compat & EROFS_FEATURE_COMPAT_XATTR_FILTER == 0
            || self.sb.xattr_filter_reserved != 0
        {
            return None;
        }
        Some(hdr.h_name_filter)
    }

    /// Finds the xattr `key`; returns `(value offset, value length)`.
    ///
    /// Uses the inode's bloom filter as EROFS does when the image has `XATTR_FILTER`.
    pub fn find_xattr(&self, inode: &Inode, key: &XattrKey<'_>) -> Result<Option<XattrValue>> {
        let [found] = self.find_xattrs(inode, [key], [&mut []]);
        found
    }

    /// Finds several xattrs in one pass over the inode's xattrs: for each key, what
    /// [`Image::find_xattr`] would return for it; the value of each one found is copied into
    /// the start of the matching buffer of `values` if it fits (pass `&mut []` to copy none).
    ///
    /// A key is `Ok(None)` if the bloom filter rules it out or the pass ended without finding
    /// it. If the pass fails (a malformed entry), the keys not found before the failure get
    /// the error; those found before it keep their answer. A failed copy is that key's error.
    pub fn find_xattrs<const N: usize>(
        &self,
        inode: &Inode,
        keys: [&XattrKey<'_>; N],
        values: [&mut [u8]; N],
    ) -> [XattrFound; N] {
        let keys = keys.map(|k| (k, k.filter_bit()));
        let mut found = [const { Ok(None) }; N];
        let mut values = values;
        self.find_xattrs_in(
            &mut Cursor::new(self),
            inode,
            &keys,
            [true; N],
            &mut values,
            &mut found,
        );
        found
    }

    /// Decodes inode `nid` as [`Image::inode`] does and finds those of the xattrs `keys` that
    /// `want` asks for it (the others are `Ok(None)`) as [`Image::find_xattrs`] does, through
    /// one cursor: an inode and its xattrs usually share a block, which is then got from the
    /// source once.
    pub fn inode_with_xattrs<const N: usize>(
        &self,
        nid: u64,
        want: impl FnOnce(&Inode) -> [bool; N],
        keys: &[HashedXattrKey<'_>; N],
        values: [&mut [u8]; N],
    ) -> Result<(Inode, [XattrFound; N])> {
        let mut cur = Cursor::new(self);
        let inode = self.inode_in(&mut cur, nid)?;
        let ask = want(&inode);
        let mut found = [const { Ok(None) }; N];
        let mut values = values;
        self.find_xattrs_in(&mut cur, &inode, keys, ask, &mut values, &mut found);
        Ok((inode, found))
    }

    /// [`Image::find_xattrs`], reading through `cur`, with each key's filter bit given, for
    /// the keys that `ask` names; the answers are written to `found`, which starts with
    /// every key `Ok(None)`.
    fn find_xattrs_in<K: SearchKey, const N: usize>(
        &self,
        cur: &mut Cursor<'_, S>,
        inode: &Inode,
        keys: &[K; N],
        ask: [bool; N],
        values: &mut [&mut [u8]; N],
        found: &mut [XattrFound; N],
    ) {
        // The keys still looked for are the set bits of one word.
        const { assert!(N <= 32) };
        if inode.xattr_size == 0 {
            return;
        }
        let asked = ask
            .iter()
            .enumerate()
            .fold(0u32, |m, (i, a)| m | (u32::from(*a) << i));
        if asked == 0 {
            return;
        }
        let hdr = match self.xattr_header(cur, inode) {
            Ok(hdr) => hdr,
            Err(e) => {
                Self::fail_keys(found, asked, e);
                return;
            }
        };
        let mut left = asked;
        if let Some(word) = self.xattr_filter(&hdr) {
            for (i, key) in keys.iter().enumerate() {
                if key.filter_bit().is_some_and(|b| word & (1u32 << b) != 0) {
                    left &= !(1u32 << i);
                }
            }
        }
        if left == 0 {
            return;
        }
        let mut search = Search {
            keys,
            left,
            copied: 0,
            found,
            values,
        };
        let r = self.for_each_xattr_after(cur, inode, &hdr, |x| Ok(search.offer(x)));
        let Search {
            left: unfound,
            copied,
            found,
            values,
            ..
        } = search;
        if let Err(e) = r {
            Self::fail_keys(found, unfound, e);
        }
        // The values of the keys the pass found that were not in the block being read when
        // their entry was met.
        let mut pending = left & !unfound & !copied;
        while pending != 0 {
            let i = pending.trailing_zeros() as usize;
            pending &= pending - 1;
            let (Some(slot), Some(buf)) = (found.get_mut(i), values.get_mut(i)) else {
                break;
            };
            if let Ok(Some((off, len))) = *slot {
                if let Some(dst) = buf.get_mut(..usize::from(len)) {
                    if let Err(e) = cur.read_exact_at(off, dst) {
                        *slot = Err(e);
                    }
                }
            }
        }
    }

    /// Gives the keys of the set bits of `keys` the error `e`.
    fn fail_keys<const N: usize>(found: &mut [XattrFound; N], keys: u32, e: FormatError) {
        for (i, slot) in found.iter_mut().enumerate() {
            if keys & (1u32 << i) != 0 {
                *slot = Err(e);
            }
        }
    }

    /// Finds the xattr with the full `name` (e.g. `user.foo`) and copies its value into `buf`;
    /// returns the value length, or `None` if absent. With an empty `buf` only the length is
    /// returned; a non-empty `buf` that is too small gives [`FormatError::BufferTooSmall`].
    #[cfg(cfs_tools)]
    pub fn get_xattr(&self, inode: &Inode, name: &[u8], buf: &mut [u8]) -> Result<Option<usize>> {
        let (index, suffix) = xattr_split_name(name);
        let key = XattrKey {
            index,
            head: suffix,
            tail: b"",
        };
        let Some((off, len)) = self.find_xattr(inode, &key)? else {
            return Ok(None);
        };
        let len = usize::from(len);
        if buf.is_empty() {
            return Ok(Some(len));
        }
        let dst = buf.get_mut(..len).ok_or(FormatError::BufferTooSmall)?;
        self.read_exact_at(off, dst)?;
        Ok(Some(len))
    }
}
