// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A deterministic generator of corrupt composefs images.
//!
//! [`Map`] locates the structures of a valid image with the shared reader (inodes, directory
//! entries and names, xattr headers and entries, shared xattr ids, chunk arrays, symlinks).
//! [`mutant`] then derives image number `index` of a run from `(seed, index)` alone: it picks
//! a [`Class`] (round robin) and damages that kind of structure with values chosen to sit on
//! the edges the reader checks (zero, one past the end, all ones, off by one, another
//! inode's nid, an ancestor directory, ...). The same `(base, seed, index)` always gives the
//! same bytes, so a failure in the guest can be reproduced on the host.

use cfs_format::format::layout::*;
use cfs_format::format::reader::DataLayout;
use cfs_format::format::{Image, SliceSource};

/// splitmix64: small, fast and good enough for choosing mutations.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for image `index` of the run `seed`.
    pub fn new(seed: u64, index: u64) -> Self {
        let mut r = Rng(seed ^ index.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed);
        r.next_u64();
        r
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A number below `n` (0 if `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
    /// An index into a slice of length `n`.
    pub fn pick(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }
    /// True with probability 1/n.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Where one inode is.
#[derive(Clone, Debug)]
pub struct InodeLoc {
    /// nid.
    pub nid: u64,
    /// Image offset.
    pub off: usize,
    /// Extended (64-byte) form.
    pub extended: bool,
    /// File type bits.
    pub ftype: u32,
    /// Data layout.
    pub layout: DataLayout,
    /// Size.
    pub size: u64,
    /// Xattr area offset and size.
    pub xattr: (usize, usize),
    /// Inline tail or chunk array offset and length.
    pub tail: (usize, usize),
    /// Number of out-of-line blocks.
    pub blocks: u64,
}

/// Where one directory entry is.
#[derive(Clone, Debug)]
pub struct DirentLoc {
    /// nid of the directory holding it.
    pub dir: u64,
    /// Image offset of the 12-byte dirent.
    pub off: usize,
    /// Image offset and length of the name.
    pub name: (usize, usize),
    /// Index in its block and number of entries in the block.
    pub index: usize,
    /// Entries in the block.
    pub count: usize,
    /// Block length (4096, or the inline tail length).
    pub block_len: usize,
    /// The entry's nid.
    pub nid: u64,
    /// `.` or `..`.
    pub dot: bool,
    /// `..`.
    pub dotdot: bool,
}

/// The structures of a valid image.
#[derive(Clone, Debug, Default)]
pub struct Map {
    /// Inodes reachable from the root.
    pub inodes: Vec<InodeLoc>,
    /// Directory entries.
    pub dirents: Vec<DirentLoc>,
    /// Image offsets of shared xattr ids in inode xattr headers.
    pub shared_ids: Vec<usize>,
    /// Image offsets of inline xattr entry headers.
    pub xattr_entries: Vec<usize>,
    /// Image offsets of shared xattr table entry headers.
    pub shared_entries: Vec<usize>,
    /// (nid, parent nid) for directories.
    pub parents: Vec<(u64, u64)>,
    /// End of the metadata (inodes and shared xattrs), rounded up to a block.
    pub meta_end: usize,
    /// Root nid.
    pub root: u64,
}

impl Map {
    /// Locates the structures of `data`, a valid image; `None` if it does not open.
    pub fn build(data: &[u8]) -> Option<Map> {
        let img = Image::open(SliceSource::new(data)).ok()?;
        let mut m = Map {
            root: img.root_nid(),
            ..Map::default()
        };
        let mut stack = vec![(img.root_nid(), img.root_nid())];
        let mut seen = std::collections::HashSet::new();
        let mut meta_end = 0usize;
        let mut shared_seen = std::collections::HashSet::new();
        while let Some((nid, parent)) = stack.pop() {
            if !seen.insert(nid) || m.inodes.len() > 100_000 {
                continue;
            }
            let Ok(ino) = img.inode(nid) else { continue };
            let off = (nid * 32) as usize;
            let isize = if ino.is_extended() { 64 } else { 32 };
            let end = ino.tail_offset() as usize + ino.tail_len() as usize;
            if ino.layout() != DataLayout::FlatPlain || ino.tail_len() > 0 {
                meta_end = meta_end.max(end);
            }
            meta_end = meta_end.max(off + isize + ino.xattr_size() as usize);
            m.inodes.push(InodeLoc {
                nid,
                off,
                extended: ino.is_extended(),
                ftype: ino.file_type(),
                layout: ino.layout(),
                size: ino.size(),
                xattr: (ino.xattr_offset() as usize, ino.xattr_size() as usize),
                tail: (ino.tail_offset() as usize, ino.tail_len() as usize),
                blocks: ino.plain_blocks(),
            });
            // Xattrs: shared ids and inline entries.
            if ino.xattr_size() > 0 {
                let xo = ino.xattr_offset() as usize;
                let shared = data.get(xo + 4).copied().unwrap_or(0) as usize;
                for i in 0..shared {
                    m.shared_ids.push(xo + 12 + 4 * i);
                }
                let mut pos = xo + 12 + 4 * shared;
                let xend = xo + ino.xattr_size() as usize;
                while pos + XATTR_ENTRY_SIZE <= xend {
                    m.xattr_entries.push(pos);
                    let nl = data[pos] as usize;
                    let vl = u16::from_le_bytes([data[pos + 2], data[pos + 3]]) as usize;
                    let Some(size) = xattr_entry_size(nl, vl) else { break };
                    pos += size;
                }
                let _ = img.for_each_xattr(&ino, |x| {
                    if x.shared {
                        let h = x.value_offset as usize - x.suffix.len() - 4;
                        if shared_seen.insert(h) {
                            m.shared_entries.push(h);
                        }
                    }
                    Ok(true)
                });
            }
            if !ino.is_dir() {
                continue;
            }
            m.parents.push((nid, parent));
            let Ok(nblocks) = img.dir_blocks(&ino) else {
                continue;
            };
            for b in 0..nblocks {
                let Ok(bytes) = img.dir_block_bytes(&ino, b) else {
                    break;
                };
                let block_len = bytes.len();
                // The block's image offset: full blocks from raw_blkaddr, else the tail.
                let boff = if b < ino.plain_blocks() {
                    (u64::from(ino.raw_blkaddr()) + b) as usize * BLOCK_SIZE
                } else {
                    ino.tail_offset() as usize
                };
                let _ = img.with_dir_block(&ino, b, |blk| {
                    let count = blk.len();
                    for i in 0..count {
                        let Some(e) = blk.get(i) else { break };
                        let doff = boff + i * DIRENT_SIZE;
                        let nameoff = u16::from_le_bytes([data[doff + 8], data[doff + 9]]) as usize;
                        let dot = e.name == b"." || e.name == b"..";
                        m.dirents.push(DirentLoc {
                            dir: nid,
                            off: doff,
                            name: (boff + nameoff, e.name.len()),
                            index: i,
                            count,
                            block_len,
                            nid: e.nid,
                            dot,
                            dotdot: e.name == b"..",
                        });
                        if !dot {
                            stack.push((e.nid, nid));
                        }
                    }
                    Ok(())
                });
            }
        }
        // The shared xattr table lies after the inodes.
        for &h in &m.shared_entries {
            meta_end = meta_end.max(h + 4);
        }
        m.meta_end = meta_end.div_ceil(BLOCK_SIZE) * BLOCK_SIZE;
        m.meta_end = m.meta_end.clamp(BLOCK_SIZE, data.len().max(BLOCK_SIZE));
        Some(m)
    }

    /// Every inline xattr entry of `data` (the image this map describes) as (its inode, its
    /// image offset, its padded size), in the order of `xattr_entries`; an entry that runs
    /// past its inode's xattr area is left out.
    pub fn inline_xattrs<'m, 'd>(
        &'m self,
        data: &'d [u8],
    ) -> impl Iterator<Item = (&'m InodeLoc, usize, usize)> + use<'m, 'd> {
        // `build` lists each inode's entries right after the inode, so one pass over the
        // inodes with xattrs finds every owner.
        let mut owners = self.inodes.iter().filter(|i| i.xattr.1 > 0).peekable();
        self.xattr_entries.iter().filter_map(move |&pos| {
            while let Some(i) = owners.peek() {
                if (i.xattr.0..i.xattr.0 + i.xattr.1).contains(&pos) {
                    break;
                }
                owners.next();
            }
            let ino = *owners.peek()?;
            let header = data.get(pos..pos + XATTR_ENTRY_SIZE)?;
            let size = xattr_entry_size(
                usize::from(header[0]),
                usize::from(u16::from_le_bytes([header[2], header[3]])),
            )?;
            (pos + size <= ino.xattr.0 + ino.xattr.1).then_some((ino, pos, size))
        })
    }

    fn ancestors(&self, nid: u64) -> Vec<u64> {
        let mut out = vec![];
        let mut cur = nid;
        for _ in 0..64 {
            let Some(&(_, p)) = self.parents.iter().find(|(n, _)| *n == cur) else {
                break;
            };
            out.push(p);
            if p == cur {
                break;
            }
            cur = p;
        }
        out
    }
}

/// Kinds of damage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    BitFlip,
    Header,
    SuperBlock,
    InodeFormat,
    InodeMode,
    InodeSize,
    BlockAddr,
    DirSize,
    XattrCount,
    XattrEntry,
    SharedXattrId,
    DirentNid,
    DirentNameoff,
    DirentName,
    DirentType,
    DirLoop,
    DirHardlink,
    DotDot,
    ChunkFormat,
    ChunkIndex,
    Symlink,
    Truncate,
    Multi,
}

impl Class {
    /// Every class, in the order mutants cycle through them.
    pub const ALL: [Class; 23] = [
        Class::BitFlip,
        Class::Header,
        Class::SuperBlock,
        Class::InodeFormat,
        Class::InodeMode,
        Class::InodeSize,
        Class::BlockAddr,
        Class::DirSize,
        Class::XattrCount,
        Class::XattrEntry,
        Class::SharedXattrId,
        Class::DirentNid,
        Class::DirentNameoff,
        Class::DirentName,
        Class::DirentType,
        Class::DirLoop,
        Class::DirHardlink,
        Class::DotDot,
        Class::ChunkFormat,
        Class::ChunkIndex,
        Class::Symlink,
        Class::Truncate,
        Class::Multi,
    ];

    /// Short name used in file names and reports.
    pub fn name(self) -> &'static str {
        match self {
            Class::BitFlip => "bitflip",
            Class::Header => "header",
            Class::SuperBlock => "superblock",
            Class::InodeFormat => "inode-format",
            Class::InodeMode => "inode-mode",
            Class::InodeSize => "inode-size",
            Class::BlockAddr => "blkaddr",
            Class::DirSize => "dir-size",
            Class::XattrCount => "xattr-count",
            Class::XattrEntry => "xattr-entry",
            Class::SharedXattrId => "shared-xattr-id",
            Class::DirentNid => "dirent-nid",
            Class::DirentNameoff => "dirent-nameoff",
            Class::DirentName => "dirent-name",
            Class::DirentType => "dirent-type",
            Class::DirLoop => "dir-loop",
            Class::DirHardlink => "dir-hardlink",
            Class::DotDot => "dotdot",
            Class::ChunkFormat => "chunk-format",
            Class::ChunkIndex => "chunk-index",
            Class::Symlink => "symlink",
            Class::Truncate => "truncate",
            Class::Multi => "multi",
        }
    }
}

fn put(data: &mut [u8], off: usize, bytes: &[u8]) -> bool {
    match data.get_mut(off..off.saturating_add(bytes.len())) {
        Some(d) => {
            d.copy_from_slice(bytes);
            true
        }
        None => false,
    }
}
fn put16(d: &mut [u8], off: usize, v: u16) -> bool {
    put(d, off, &v.to_le_bytes())
}
fn put32(d: &mut [u8], off: usize, v: u32) -> bool {
    put(d, off, &v.to_le_bytes())
}
fn put64(d: &mut [u8], off: usize, v: u64) -> bool {
    put(d, off, &v.to_le_bytes())
}
/// Sets the size field of inode `i` to `v` (truncated to 32 bits in a compact inode).
fn put_size(d: &mut [u8], i: &InodeLoc, v: u64) {
    if i.extended {
        put64(d, i.off + 8, v);
    } else {
        put32(d, i.off + 8, v as u32);
    }
}
fn get16(d: &[u8], off: usize) -> u16 {
    d.get(off..off + 2)
        .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]))
}
fn get32(d: &[u8], off: usize) -> u32 {
    d.get(off..off + 4)
        .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// An edge value for a 32-bit field, given the image size and the field's current value.
fn edge32(r: &mut Rng, size: usize, cur: u32) -> u32 {
    let blocks = size.div_ceil(BLOCK_SIZE) as u32;
    let v = [
        0,
        1,
        2,
        0x7f,
        0x80,
        0xff,
        0xfff,
        0x1000,
        0x1001,
        0xffff,
        0x10000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffe,
        0xffff_ffff,
        size as u32,
        (size as u32).wrapping_add(1),
        blocks,
        blocks.wrapping_sub(1),
        blocks.wrapping_add(1),
        cur.wrapping_add(1),
        cur.wrapping_sub(1),
        cur ^ (1 << r.below(32)),
        r.next_u64() as u32,
    ];
    v[r.pick(v.len())]
}

fn edge64(r: &mut Rng, size: usize, cur: u64) -> u64 {
    if r.one_in(2) {
        return u64::from(edge32(r, size, cur as u32));
    }
    let v = [
        u64::MAX,
        u64::MAX - 1,
        i64::MAX as u64,
        1 << 63,
        1 << 32,
        (1 << 32) - 1,
        1 << 43,
        (1 << 43) + 1,
        cur << 32,
        r.next_u64(),
    ];
    v[r.pick(v.len())]
}

fn edge16(r: &mut Rng, cur: u16) -> u16 {
    let v = [
        0,
        1,
        0x7f,
        0x80,
        0xff,
        0x100,
        0x7fff,
        0x8000,
        0xffff,
        cur.wrapping_add(1),
        cur.wrapping_sub(1),
        cur ^ (1 << r.below(16)),
        r.next_u64() as u16,
    ];
    v[r.pick(v.len())]
}

/// Damages `data` in the way of `class`; returns a description, or `None` if the image has
/// no structure of that kind.
fn apply(data: &mut Vec<u8>, m: &Map, class: Class, r: &mut Rng) -> Option<String> {
    let size = data.len();
    match class {
        Class::BitFlip => {
            let n = 1 + r.below(8);
            let mut s = String::from("flip");
            for _ in 0..n {
                let region = if r.one_in(4) {
                    size
                } else {
                    m.meta_end.min(size)
                };
                let pos = r.pick(region);
                let bit = r.below(8);
                if let Some(b) = data.get_mut(pos) {
                    *b ^= 1 << bit;
                }
                s += &format!(" {pos}.{bit}");
            }
            Some(s)
        }
        Class::Header => {
            let f = r.pick(5);
            let off = [0, 4, 8, 12, 16][f];
            let cur = get32(data, off);
            let v = if f == 0 && r.one_in(2) {
                COMPOSEFS_MAGIC ^ (1 << r.below(32))
            } else {
                edge32(r, size, cur)
            };
            put32(data, off, v);
            Some(format!(
                "header.{} {cur:#x} -> {v:#x}",
                ["magic", "version", "flags", "composefs_version", "unused"][f]
            ))
        }
        Class::SuperBlock => {
            // (name, offset from 1024, width)
            let f: [(&str, usize, usize); 22] = [
                ("magic", 0, 4),
                ("checksum", 4, 4),
                ("feature_compat", 8, 4),
                ("blkszbits", 12, 1),
                ("sb_extslots", 13, 1),
                ("root_nid", 14, 2),
                ("inos", 16, 8),
                ("build_time", 24, 8),
                ("build_time_nsec", 32, 4),
                ("blocks", 36, 4),
                ("meta_blkaddr", 40, 4),
                ("xattr_blkaddr", 44, 4),
                ("feature_incompat", 80, 4),
                ("u1", 84, 2),
                ("extra_devices", 86, 2),
                ("devt_slotoff", 88, 2),
                ("dirblkbits", 90, 1),
                ("xattr_prefix_count", 91, 1),
                ("xattr_prefix_start", 92, 4),
                ("packed_nid", 96, 8),
                ("xattr_filter_reserved", 104, 1),
                ("reserved", 105 + r.pick(23), 1),
            ];
            let (name, o, w) = f[r.pick(f.len())];
            let off = EROFS_SUPER_OFFSET + o;
            let desc = match w {
                1 => {
                    let cur = data[off];
                    let v = [0u8, 1, 11, 12, 13, 0x7f, 0x80, 0xff][r.pick(8)]
                        ^ if r.one_in(3) { cur } else { 0 };
                    data[off] = v;
                    format!("{cur:#x} -> {v:#x}")
                }
                2 => {
                    let cur = get16(data, off);
                    let v = if name == "root_nid" && r.one_in(2) {
                        // Another inode (often not a directory) or a misaligned slot.
                        let i = &m.inodes[r.pick(m.inodes.len())];
                        (i.nid as u16).wrapping_add(r.below(2) as u16)
                    } else {
                        edge16(r, cur)
                    };
                    put16(data, off, v);
                    format!("{cur:#x} -> {v:#x}")
                }
                4 => {
                    let cur = get32(data, off);
                    let v = edge32(r, size, cur);
                    put32(data, off, v);
                    format!("{cur:#x} -> {v:#x}")
                }
                _ => {
                    let v = edge64(r, size, 0);
                    put64(data, off, v);
                    format!("-> {v:#x}")
                }
            };
            Some(format!("sb.{name} {desc}"))
        }
        Class::InodeFormat => {
            let i = &m.inodes[r.pick(m.inodes.len())];
            let cur = get16(data, i.off);
            let v = match r.below(4) {
                0 => cur ^ 1,                              // compact <-> extended
                1 => (r.below(8) as u16) << 1 | (cur & 1), // another layout
                2 => r.below(16) as u16,
                _ => edge16(r, cur),
            };
            put16(data, i.off, v);
            Some(format!("nid {} i_format {cur:#x} -> {v:#x}", i.nid))
        }
        Class::InodeMode => {
            let i = &m.inodes[r.pick(m.inodes.len())];
            let cur = get16(data, i.off + 4);
            let types = [
                0o140000u16,
                0o120000,
                0o100000,
                0o060000,
                0o040000,
                0o020000,
                0o010000,
                0,
                0o170000,
                0o030000,
            ];
            let v = if r.one_in(4) {
                edge16(r, cur)
            } else {
                (cur & 0o7777) | types[r.pick(types.len())]
            };
            put16(data, i.off + 4, v);
            Some(format!("nid {} mode {cur:o} -> {v:o}", i.nid))
        }
        Class::InodeSize => {
            let i = &m.inodes[r.pick(m.inodes.len())];
            let desc = if i.extended {
                let v = edge64(r, size, i.size);
                put64(data, i.off + 8, v);
                format!("{} -> {v}", i.size)
            } else {
                let v = edge32(r, size, i.size as u32);
                put32(data, i.off + 8, v);
                format!("{} -> {v}", i.size)
            };
            Some(format!("nid {} size {desc}", i.nid))
        }
        Class::BlockAddr => {
            let cands: Vec<&InodeLoc> = m.inodes.iter().filter(|i| i.blocks > 0).collect();
            let i = if cands.is_empty() {
                &m.inodes[r.pick(m.inodes.len())]
            } else {
                cands[r.pick(cands.len())]
            };
            let cur = get32(data, i.off + 16);
            let blocks = size.div_ceil(BLOCK_SIZE) as u32;
            let v = match r.below(3) {
                0 => 0, // the metadata block
                1 => blocks.wrapping_sub(r.below(2) as u32),
                _ => edge32(r, size, cur),
            };
            put32(data, i.off + 16, v);
            Some(format!("nid {} raw_blkaddr {cur} -> {v}", i.nid))
        }
        Class::DirSize => {
            let cands: Vec<&InodeLoc> = m.inodes.iter().filter(|i| i.ftype == S_IFDIR).collect();
            let i = cands[r.pick(cands.len())];
            let v = [
                0u64,
                1,
                11,
                12,
                13,
                i.size + 1,
                i.size.saturating_sub(1),
                i.size + 4096,
                i.size + 4095,
                i.size.saturating_sub(4096),
                4096,
                8192,
                0xffff_ffff,
            ][r.pick(13)];
            put_size(data, i, v);
            Some(format!("dir nid {} size {} -> {v}", i.nid, i.size))
        }
        Class::XattrCount => {
            let with: Vec<&InodeLoc> = m.inodes.iter().filter(|i| i.xattr.1 > 0).collect();
            if with.is_empty() || r.one_in(4) {
                // Give an inode without xattrs an xattr area of whatever follows it.
                let i = &m.inodes[r.pick(m.inodes.len())];
                let v = edge16(r, get16(data, i.off + 2));
                put16(data, i.off + 2, v);
                return Some(format!("nid {} i_xattr_icount -> {v}", i.nid));
            }
            let i = with[r.pick(with.len())];
            if r.one_in(2) {
                let cur = get16(data, i.off + 2);
                let v = edge16(r, cur);
                put16(data, i.off + 2, v);
                Some(format!("nid {} i_xattr_icount {cur} -> {v}", i.nid))
            } else {
                let cur = data[i.xattr.0 + 4];
                let v = [
                    0u8,
                    1,
                    cur.wrapping_add(1),
                    0x7f,
                    0x80,
                    0xff,
                    r.next_u64() as u8,
                ][r.pick(7)];
                data[i.xattr.0 + 4] = v;
                Some(format!("nid {} h_shared_count {cur} -> {v}", i.nid))
            }
        }
        Class::XattrEntry => {
            let all: Vec<usize> = m
                .xattr_entries
                .iter()
                .chain(&m.shared_entries)
                .copied()
                .collect();
            if all.is_empty() {
                return None;
            }
            let e = all[r.pick(all.len())];
            let f = r.below(3);
            match f {
                0 => {
                    let v = [
                        0u8,
                        1,
                        0xff,
                        data[e].wrapping_add(1),
                        data[e].wrapping_add(4),
                        r.next_u64() as u8,
                    ][r.pick(6)];
                    data[e] = v;
                    Some(format!("xattr@{e} e_name_len -> {v}"))
                }
                1 => {
                    let v = [0u8, 5, 7, 0x80, 0x81, 0xff, r.next_u64() as u8][r.pick(7)];
                    data[e + 1] = v;
                    Some(format!("xattr@{e} e_name_index -> {v}"))
                }
                _ => {
                    let v = edge16(r, get16(data, e + 2));
                    put16(data, e + 2, v);
                    Some(format!("xattr@{e} e_value_size -> {v}"))
                }
            }
        }
        Class::SharedXattrId => {
            if m.shared_ids.is_empty() {
                return None;
            }
            let s = m.shared_ids[r.pick(m.shared_ids.len())];
            let cur = get32(data, s);
            let table_end = (size as u32) / 4;
            let v = [
                0xffff_ffffu32,
                table_end,
                table_end.wrapping_sub(1),
                cur.wrapping_add(1),
                cur.wrapping_sub(1),
                0,
                1 << 30,
                r.next_u64() as u32 % (table_end + 16),
            ][r.pick(8)];
            put32(data, s, v);
            Some(format!("shared id@{s} {cur} -> {v}"))
        }
        Class::DirentNid => {
            let d = &m.dirents[r.pick(m.dirents.len())];
            let slots = (size / 32) as u64;
            let other = &m.inodes[r.pick(m.inodes.len())];
            let v = [
                0u64,
                1,
                m.root.wrapping_sub(1),
                m.root + 1,
                other.nid,
                other.nid + 1,
                slots - 1,
                slots,
                slots + 1,
                u64::MAX,
                1 << 59,
                1 << 32,
                r.below(slots),
            ][r.pick(13)];
            put64(data, d.off, v);
            Some(format!("dirent@{} nid {} -> {v}", d.off, d.nid))
        }
        Class::DirentNameoff => {
            let d = &m.dirents[r.pick(m.dirents.len())];
            let cur = get16(data, d.off + 8);
            let c12 = (d.count * 12) as u16;
            let bl = d.block_len as u16;
            let v = [
                0u16,
                1,
                11,
                12,
                13,
                c12.wrapping_sub(1),
                c12 + 12,
                bl,
                bl.wrapping_sub(1),
                bl.wrapping_add(1),
                4095,
                4096,
                0xffff,
                cur.wrapping_add(1),
                cur.wrapping_sub(1),
                cur.wrapping_add(200),
            ][r.pick(16)];
            put16(data, d.off + 8, v);
            Some(format!("dirent@{} nameoff {cur} -> {v}", d.off))
        }
        Class::DirentName => {
            let cands: Vec<&DirentLoc> = m.dirents.iter().filter(|d| d.name.1 > 0).collect();
            let d = cands[r.pick(cands.len())];
            let (no, nl) = d.name;
            match r.below(5) {
                0 => {
                    let p = no + r.pick(nl);
                    data[p] = b'/';
                    Some(format!("name@{no} '/' at {p}"))
                }
                1 => {
                    let p = no + r.pick(nl);
                    data[p] = 0;
                    Some(format!("name@{no} NUL at {p}"))
                }
                2 => {
                    // Empty name: this entry's nameoff equals the next one's (or a NUL first byte).
                    if d.index + 1 < d.count {
                        let next = get16(data, d.off + 12 + 8);
                        put16(data, d.off + 8, next);
                    } else {
                        data[no] = 0;
                    }
                    Some(format!("dirent@{} empty name", d.off))
                }
                3 => {
                    // Unsorted: the first byte sorts before or after its neighbours.
                    let v = [0x01u8, b'!', b'~', 0xff, data[no].wrapping_add(1)][r.pick(5)];
                    data[no] = v;
                    Some(format!("name@{no} first byte -> {v:#x}"))
                }
                _ => {
                    // Swap two names of equal length in one block (out of order, dups, '.').
                    let pair: Vec<&DirentLoc> = cands
                        .iter()
                        .filter(|e| e.dir == d.dir && e.name.1 == nl && e.off != d.off)
                        .copied()
                        .collect();
                    if pair.is_empty() {
                        let p = no + r.pick(nl);
                        data[p] = b'/';
                        return Some(format!("name@{no} '/' at {p}"));
                    }
                    let e = pair[r.pick(pair.len())];
                    let a: Vec<u8> = data[no..no + nl].to_vec();
                    let b: Vec<u8> = data[e.name.0..e.name.0 + nl].to_vec();
                    let dup = r.one_in(2);
                    put(data, no, &b);
                    if !dup {
                        put(data, e.name.0, &a);
                    }
                    Some(format!(
                        "names@{no},{} {}",
                        e.name.0,
                        if dup { "duplicated" } else { "swapped" }
                    ))
                }
            }
        }
        Class::DirentType => {
            let d = &m.dirents[r.pick(m.dirents.len())];
            let cur = data[d.off + 10];
            let v = [0u8, 1, 2, 3, 7, 8, 0xff, cur ^ 2][r.pick(8)];
            data[d.off + 10] = v;
            if r.one_in(3) {
                data[d.off + 11] = r.next_u64() as u8;
            }
            Some(format!("dirent@{} type {cur} -> {v}", d.off))
        }
        Class::DirLoop => {
            // A directory entry pointing back at its own directory or an ancestor.
            let cands: Vec<&DirentLoc> = m.dirents.iter().filter(|d| !d.dot).collect();
            if cands.is_empty() {
                return None;
            }
            let d = cands[r.pick(cands.len())];
            let mut targets = m.ancestors(d.dir);
            targets.push(d.dir);
            targets.push(m.root);
            let t = targets[r.pick(targets.len())];
            put64(data, d.off, t);
            data[d.off + 10] = EROFS_FT_DIR;
            Some(format!("dirent@{} nid {} -> dir {t} (loop)", d.off, d.nid))
        }
        Class::DirHardlink => {
            // An entry pointing at a directory that already has a parent elsewhere.
            let cands: Vec<&DirentLoc> = m.dirents.iter().filter(|d| !d.dot).collect();
            let dirs: Vec<u64> = m
                .parents
                .iter()
                .map(|p| p.0)
                .filter(|&n| n != m.root)
                .collect();
            if cands.is_empty() || dirs.is_empty() {
                return None;
            }
            let d = cands[r.pick(cands.len())];
            let t = dirs[r.pick(dirs.len())];
            put64(data, d.off, t);
            data[d.off + 10] = EROFS_FT_DIR;
            Some(format!(
                "dirent@{} nid {} -> dir {t} (hard link)",
                d.off, d.nid
            ))
        }
        Class::DotDot => {
            let cands: Vec<&DirentLoc> = m.dirents.iter().filter(|d| d.dot).collect();
            if cands.is_empty() {
                return None;
            }
            let d = cands[r.pick(cands.len())];
            let t = m.inodes[r.pick(m.inodes.len())].nid;
            put64(data, d.off, t);
            Some(format!(
                "{}@{} nid {} -> {t}",
                if d.dotdot { ".." } else { "." },
                d.off,
                d.nid
            ))
        }
        Class::ChunkFormat => {
            let cands: Vec<&InodeLoc> = m
                .inodes
                .iter()
                .filter(|i| i.layout == DataLayout::ChunkBased)
                .collect();
            if cands.is_empty() {
                return None;
            }
            let i = cands[r.pick(cands.len())];
            let cur = get32(data, i.off + 16);
            let lo = [
                0u16,
                1,
                19,
                30,
                31,
                0x1f,
                0x20,
                0x21,
                0x3f,
                0x40,
                0x80,
                0xffff,
                (cur as u16) | 0x20,
                r.next_u64() as u16,
            ][r.pick(14)];
            let hi = if r.one_in(3) {
                r.next_u64() as u32 & 0xffff_0000
            } else {
                cur & 0xffff_0000
            };
            let v = hi | u32::from(lo);
            put32(data, i.off + 16, v);
            Some(format!("nid {} chunk format {cur:#x} -> {v:#x}", i.nid))
        }
        Class::ChunkIndex => {
            let cands: Vec<&InodeLoc> = m
                .inodes
                .iter()
                .filter(|i| i.layout == DataLayout::ChunkBased && i.tail.1 >= 4)
                .collect();
            if cands.is_empty() {
                return None;
            }
            let i = cands[r.pick(cands.len())];
            let e = i.tail.0 + 4 * r.pick(i.tail.1 / 4);
            let cur = get32(data, e);
            let blocks = size.div_ceil(BLOCK_SIZE) as u32;
            let v = [
                0u32,
                1,
                blocks - 1,
                blocks,
                blocks + 1,
                0xffff_fffe,
                0x7fff_ffff,
                r.next_u64() as u32,
            ][r.pick(8)];
            put32(data, e, v);
            Some(format!("nid {} chunk@{e} {cur:#x} -> {v:#x}", i.nid))
        }
        Class::Symlink => {
            let cands: Vec<&InodeLoc> = m.inodes.iter().filter(|i| i.ftype == S_IFLNK).collect();
            if cands.is_empty() {
                return None;
            }
            let i = cands[r.pick(cands.len())];
            match r.below(3) {
                0 => {
                    // Past the block, past PATH_MAX, zero.
                    let in_blk = (i.tail.0 % BLOCK_SIZE) as u64;
                    let v = [
                        0u64,
                        1,
                        4095,
                        4096,
                        4097,
                        5000,
                        BLOCK_SIZE as u64 - in_blk + 1,
                        i.size + 1,
                        0xffff_ffff,
                    ][r.pick(9)];
                    put_size(data, i, v);
                    Some(format!("symlink nid {} size {} -> {v}", i.nid, i.size))
                }
                1 => {
                    // Flat plain with a block address past the end (or in the metadata).
                    let f = get16(data, i.off) & 1;
                    put16(data, i.off, f | (u16::from(EROFS_INODE_FLAT_PLAIN) << 1));
                    let blocks = size.div_ceil(BLOCK_SIZE) as u32;
                    let v = [0u32, blocks, blocks - 1, 0xffff_ffff][r.pick(4)];
                    put32(data, i.off + 16, v);
                    Some(format!("symlink nid {} flat plain at block {v}", i.nid))
                }
                _ => {
                    // NUL and '/' bytes inside the target.
                    if i.tail.1 == 0 {
                        return None;
                    }
                    let p = i.tail.0 + r.pick(i.tail.1);
                    data[p] = if r.one_in(2) { 0 } else { b'/' };
                    Some(format!("symlink nid {} target byte {p}", i.nid))
                }
            }
        }
        Class::Truncate => {
            let len = match r.below(4) {
                0 => r.pick(m.meta_end.min(size)),
                1 => size - 1 - r.pick(64.min(size - 1)),
                2 => (r.pick(size.div_ceil(BLOCK_SIZE)) * BLOCK_SIZE).min(size - 1),
                _ => r.pick(size),
            };
            data.truncate(len);
            Some(format!("truncated {size} -> {len}"))
        }
        Class::Multi => {
            let n = 2 + r.below(3);
            let mut s = String::new();
            for _ in 0..n {
                let c = Class::ALL[r.pick(Class::ALL.len() - 2) + 1]; // not bitflip, truncate or multi
                let c = if c == Class::Truncate {
                    Class::BitFlip
                } else {
                    c
                };
                if let Some(d) = apply(data, m, c, r) {
                    s += &format!("[{}: {d}] ", c.name());
                }
            }
            Some(s)
        }
    }
}

/// Image `index` of the run `seed` derived from `base` (whose map is `m`): its class, a
/// description of the damage and the bytes.
pub fn mutant(base: &[u8], m: &Map, seed: u64, index: u64) -> (Class, String, Vec<u8>) {
    let mut r = Rng::new(seed, index);
    let class = Class::ALL[(index % Class::ALL.len() as u64) as usize];
    let mut data = base.to_vec();
    if m.inodes.is_empty() || m.dirents.is_empty() {
        let d = apply(&mut data, m, Class::BitFlip, &mut r).unwrap_or_default();
        return (Class::BitFlip, d, data);
    }
    match apply(&mut data, m, class, &mut r) {
        Some(d) => (class, d, data),
        None => {
            data = base.to_vec();
            let d = apply(&mut data, m, Class::BitFlip, &mut r).unwrap_or_default();
            (Class::BitFlip, d, data)
        }
    }
}

/// Valid base images with their maps, for [`fuzz_mutants`].
pub struct Seeds(pub Vec<(Vec<u8>, Map)>);

impl Seeds {
    /// Loads the files named `seed-*` in `dir` (sorted by name) that are valid images.
    pub fn load(dir: &std::path::Path) -> Seeds {
        let mut names: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        });
        names.sort();
        Seeds(
            names
                .iter()
                .filter_map(|p| std::fs::read(p).ok())
                .filter_map(|d| Map::build(&d).map(|m| (d, m)))
                .collect(),
        )
    }
}

/// Structure-aware fuzzing: the input picks a seed image (first byte) and up to four
/// targeted mutations (each 8 bytes: a mutant index and seed), applies them in turn and
/// walks the result. Returns the walk's statistics.
pub fn fuzz_mutants(seeds: &Seeds, input: &[u8]) -> crate::walk::WalkStats {
    let (Some(&pick), Some(rest)) = (input.first(), input.get(1..)) else {
        return Default::default();
    };
    if seeds.0.is_empty() {
        return Default::default();
    }
    let (base, map) = &seeds.0[usize::from(pick) % seeds.0.len()];
    let mut data = base.clone();
    for chunk in rest.chunks_exact(8).take(4) {
        let v = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        if data.len() != base.len() {
            break; // truncated: the map's offsets no longer apply
        }
        let (_, _, next) = mutant(&data, map, v >> 16, v & 0xffff);
        data = next;
    }
    crate::walk::walk(&data)
}

/// Turns every `user.overlay.*` xattr of `data` (described by `m`), inline or shared, into
/// the raw `trusted.overlay.*` xattr of the same suffix and value, in place, and then clears
/// the name filter of every inode with xattrs (every name may be present). mkcomposefs
/// escapes every `trusted.overlay.` xattr of its input, so this is how a test gets an image
/// whose entries carry raw overlay xattrs (redirects, opaque and whiteout marks, origins),
/// which overlayfs reads. Returns how many entries were changed.
pub fn raw_overlay_xattrs(data: &mut [u8], m: &Map) -> usize {
    let mut changed = 0;
    for &e in m.xattr_entries.iter().chain(&m.shared_entries) {
        let Some(&nl) = data.get(e) else { continue };
        let name = data.get(e + 4..e + 4 + usize::from(nl)).unwrap_or(&[]);
        if data.get(e + 1) == Some(&XATTR_INDEX_USER) && name.starts_with(b"overlay.") {
            data[e + 1] = XATTR_INDEX_TRUSTED;
            changed += 1;
        }
    }
    if changed > 0 {
        for ino in m.inodes.iter().filter(|i| i.xattr.1 > 0) {
            put32(data, ino.xattr.0, 0);
        }
    }
    changed
}
