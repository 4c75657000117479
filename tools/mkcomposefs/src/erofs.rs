//! The composefs image writer: lays a [`Tree`] out as an EROFS image exactly
//! the way upstream libcomposefs 1.0.8 does (format versions 0 and 1).
//!
//! The steps follow upstream: pick the format version, rewrite the tree for
//! overlayfs (escape `trusted.overlay.*`, add metacopy/redirect xattrs,
//! convert whiteouts, mark the root opaque, add the `00`-`ff` whiteout stubs),
//! number the inodes breadth-first, build the shared xattr table, lay the
//! inodes out (compact or extended, tail packing), then write everything in
//! one pass.

use std::collections::HashMap;
use std::fmt;

use cfs_format::format::layout::{
    mode_to_file_type, overlay_names, ComposefsHeader, Dirent as RawDirent, InodeCompact,
    InodeExtended, MetacopyHeader, SuperBlock, XattrEntry, XattrIbodyHeader, BLOCK_BITS,
    BLOCK_SIZE, COMPOSEFS_FLAGS_HAS_ACL, COMPOSEFS_MAGIC, COMPOSEFS_VERSION, DIRENT_SIZE,
    EROFS_CHUNK_FORMAT_BLKBITS_MASK, EROFS_FEATURE_COMPAT_MTIME, EROFS_FEATURE_COMPAT_XATTR_FILTER,
    EROFS_INODE_CHUNK_BASED, EROFS_INODE_FLAT_INLINE, EROFS_INODE_FLAT_PLAIN, EROFS_NULL_ADDR,
    EROFS_SUPER_MAGIC, EROFS_SUPER_OFFSET, EROFS_SUPER_SIZE, EROFS_XATTR_LONG_PREFIX,
    INODE_COMPACT_SIZE, INODE_EXTENDED_SIZE, ISLOT_BITS, I_DATALAYOUT_SHIFT, METACOPY_HEADER_SIZE,
    S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG, XATTR_ALIGN, XATTR_ENTRY_SIZE,
    XATTR_IBODY_HEADER_SIZE, XATTR_INDEX_NONE, XATTR_INDEX_POSIX_ACL_ACCESS,
    XATTR_INDEX_POSIX_ACL_DEFAULT, XATTR_INDEX_SECURITY, XATTR_INDEX_TRUSTED, XATTR_INDEX_USER,
};
use cfs_format::format::xxhash::xattr_filter_bit;
use cfs_format::fsverity::HashAlg;

use crate::tree::{Node, NodeId, Tree, TreeError, Xattr, ROOT};

/// Inode slot size (`1 << EROFS_ISLOTBITS`).
const SLOT_SIZE: u64 = 1 << ISLOT_BITS;
/// Block size as u64.
const BS: u64 = BLOCK_SIZE as u64;
/// Most chunk entries of an external file (`LCFS_MAX_NONINLINE_CHUNKS`): the
/// chunk index must fit one block.
pub const MAX_NONINLINE_CHUNKS: u64 = 1024;

/// Highest format version this writer knows (`LCFS_VERSION_MAX`).
pub const VERSION_MAX: i32 = 1;

/// Options of one image build.
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Minimal format version (`--min-version`).
    pub min_version: i32,
    /// Maximal format version (`--max-version`).
    pub max_version: i32,
    /// Hash of the metacopy digests.
    pub hash: HashAlg,
}

/// Why an image could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// A tree error, with upstream's errno meaning.
    Tree(TreeError),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Tree(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for WriteError {}

impl From<TreeError> for WriteError {
    fn from(e: TreeError) -> Self {
        WriteError::Tree(e)
    }
}

fn round_up(x: u64, align: u64) -> u64 {
    x.div_ceil(align) * align
}

/// Chunk size bits and chunk count of an external file of `size` bytes.
pub fn chunking(size: u64) -> (u32, u64) {
    // ilog2(size - 1) + 1, with upstream's ilog2(0) == 0.
    let mut bits = match size.saturating_sub(1) {
        0 => 1,
        n => 64 - n.leading_zeros(),
    };
    bits = bits.clamp(
        BLOCK_BITS,
        BLOCK_BITS + u32::from(EROFS_CHUNK_FORMAT_BLKBITS_MASK),
    );
    // Upstream's `DIV_ROUND_UP` in 64 bits into a `uint32_t`: for sizes in
    // the last chunk below 2^64 the sum wraps and the count is 0 (such a
    // file gets a chunk-based inode without chunk indexes).
    let chunk_size = 1u64 << bits;
    let count = size.wrapping_add(chunk_size - 1) / chunk_size;
    (bits, u64::from(count as u32))
}

/// The version actually written: `min`, bumped to 1 when the tree holds a
/// whiteout and `max` allows it.
fn effective_version(tree: &Tree, opts: &WriteOptions) -> Result<i32, WriteError> {
    if opts.min_version > VERSION_MAX || opts.max_version > VERSION_MAX {
        return Err(TreeError::Invalid.into());
    }
    let max = opts.max_version.max(opts.min_version);
    let mut version = opts.min_version;
    if version < 1 && max >= 1 {
        // Every node but hard links is reachable through non-link children.
        if tree
            .nodes
            .iter()
            .any(|n| n.link_to.is_none() && n.is_whiteout())
        {
            version = 1;
        }
    }
    Ok(version)
}

/// Nodes reachable from the root through non-link children, breadth-first,
/// children in name order.
fn bfs(tree: &Tree) -> Vec<NodeId> {
    let mut order = Vec::with_capacity(tree.nodes.len());
    order.push(ROOT);
    let mut i = 0;
    while i < order.len() {
        let id = order[i];
        for &c in &tree.node(id).children {
            if tree.node(c).link_to.is_none() {
                order.push(c);
            }
        }
        i += 1;
    }
    order
}

/// Upstream's `lcfs_node_validate`.
fn validate(n: &Node) -> Result<(), TreeError> {
    if n.link_invalid {
        return Err(TreeError::Invalid);
    }
    if n.is_external() && chunking(n.size).1 > MAX_NONINLINE_CHUNKS {
        return Err(TreeError::TooBig);
    }
    Ok(())
}

/// The overlayfs metacopy xattr value for a digest.
fn metacopy_value(digest: &[u8], hash: HashAlg) -> Vec<u8> {
    let header = MetacopyHeader {
        len: (METACOPY_HEADER_SIZE + digest.len()) as u8,
        digest_algo: hash.id(),
        ..MetacopyHeader::default()
    };
    let mut v = header.to_bytes().to_vec();
    v.extend_from_slice(digest);
    v
}

/// Upstream's `add_overlayfs_xattrs` for one node.
fn add_overlayfs_xattrs(
    tree: &mut Tree,
    id: NodeId,
    version: i32,
    hash: HashAlg,
) -> Result<(), TreeError> {
    let n = tree.node_mut(id);
    for i in 0..n.xattrs.len() {
        if n.xattrs[i].key.starts_with(overlay_names::PREFIX) {
            let mut k = overlay_names::ESCAPE_PREFIX.to_vec();
            k.extend_from_slice(&n.xattrs[i].key[overlay_names::PREFIX.len()..]);
            n.rename_xattr(i, k.into_boxed_slice());
        }
    }
    if n.is_external() {
        let value = match &n.digest {
            Some(d) => metacopy_value(d, hash),
            None => Vec::new(),
        };
        n.set_xattr(overlay_names::METACOPY, &value)?;
        if let Some(p) = n.payload.as_deref().filter(|p| !p.is_empty()) {
            let mut redirect = Vec::with_capacity(p.len() + 1);
            redirect.push(b'/');
            redirect.extend_from_slice(p);
            n.set_xattr(overlay_names::REDIRECT, &redirect)?;
        }
    }
    if n.is_whiteout() {
        n.size = 0;
        n.mode = S_IFREG | (n.mode & !S_IFMT);
        n.set_xattr(overlay_names::ESCAPED_WHITEOUT, b"")?;
        n.set_xattr(overlay_names::USER_WHITEOUT, b"")?;
        let parent = n.parent;
        let parent = tree.node_mut(parent);
        parent.set_xattr(overlay_names::ESCAPED_WHITEOUTS, b"")?;
        parent.set_xattr(overlay_names::USER_WHITEOUTS, b"")?;
        if version >= 1 {
            parent.set_xattr(overlay_names::ESCAPED_OPAQUE, b"x")?;
            parent.set_xattr(overlay_names::USER_OPAQUE, b"x")?;
        }
    }
    Ok(())
}

/// Upstream's `add_overlay_whiteouts`: chardev 0:0 stubs `00`..`ff` in the
/// root, for names not already taken.
fn add_whiteout_stubs(tree: &mut Tree) -> Result<(), TreeError> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let root = tree.node(ROOT);
    if !root.is_dir() {
        return Err(TreeError::NotDir);
    }
    let selinux = root.xattr(b"security.selinux").map(<[u8]>::to_vec);
    let (uid, gid, sec, nsec) = (root.uid, root.gid, root.mtime_sec, root.mtime_nsec);
    let mut added = Vec::new();
    for i in 0..=255usize {
        let name = [HEX[i >> 4], HEX[i & 15]];
        if tree.lookup_child(ROOT, &name).is_some() {
            continue;
        }
        let mut child = Node::new(S_IFCHR | 0o644);
        child.uid = uid;
        child.gid = gid;
        child.mtime_sec = sec;
        child.mtime_nsec = nsec;
        if let Some(s) = &selinux {
            child.set_xattr(b"security.selinux", s)?;
        }
        child.name = name.to_vec().into_boxed_slice();
        child.parent = ROOT;
        added.push(tree.push(child));
    }
    if !added.is_empty() {
        let mut children = std::mem::take(&mut tree.node_mut(ROOT).children);
        children.extend_from_slice(&added);
        children.sort_unstable_by(|a, b| tree.node(*a).name.cmp(&tree.node(*b).name));
        tree.node_mut(ROOT).children = children;
    }
    Ok(())
}

/// One directory entry as written.
struct Dirent<'a> {
    name: &'a [u8],
    /// The node the entry resolves to (hard links followed).
    target: NodeId,
}

/// The sorted entries of a directory, with `.` and `..`.
fn dir_entries(tree: &Tree, id: NodeId) -> Result<Vec<Dirent<'_>>, TreeError> {
    let n = tree.node(id);
    let mut v = Vec::with_capacity(n.children.len() + 2);
    for &c in &n.children {
        v.push(Dirent {
            name: &tree.node(c).name,
            target: tree.follow_links(c)?,
        });
    }
    for (name, target) in [(&b"."[..], id), (&b".."[..], n.parent)] {
        let pos = v.partition_point(|d| d.name < name);
        v.insert(pos, Dirent { name, target });
    }
    Ok(v)
}

/// An xattr as (key, value).
type XattrPair<'a> = (&'a [u8], &'a [u8]);

/// Per-inode layout, indexed by BFS position.
#[derive(Default, Clone)]
struct Layout {
    compact: bool,
    ipad: u64,
    xattr_size: u64,
    isize: u64,
    n_blocks: u64,
    tailsize: u64,
    n_shared: usize,
}

/// Prefix index and name suffix of an xattr key, as upstream's writer
/// (`xattr_erofs_entry_index`) picks them: the first matching prefix, the ACL
/// names included (so `system.posix_acl_access2` is index 2 with suffix `2`);
/// `lustre.` is not used and there are no long prefixes.
fn xattr_index(key: &[u8]) -> (u8, &[u8]) {
    const PREFIXES: [(&[u8], u8); 5] = [
        (b"user.", XATTR_INDEX_USER),
        (b"system.posix_acl_access", XATTR_INDEX_POSIX_ACL_ACCESS),
        (b"system.posix_acl_default", XATTR_INDEX_POSIX_ACL_DEFAULT),
        (b"trusted.", XATTR_INDEX_TRUSTED),
        (b"security.", XATTR_INDEX_SECURITY),
    ];
    for (p, i) in PREFIXES {
        if let Some(rest) = key.strip_prefix(p) {
            return (i, rest);
        }
    }
    (XATTR_INDEX_NONE, key)
}

/// Size of the entry of the xattr `key` = `value`, padded to 4 bytes.
fn xattr_entry_size(key: &[u8], value: &[u8]) -> u64 {
    let (_, suffix) = xattr_index(key);
    round_up(
        (XATTR_ENTRY_SIZE + suffix.len() + value.len()) as u64,
        XATTR_ALIGN as u64,
    )
}

/// The inode's xattr name bloom filter: a clear bit for each name present.
fn xattr_filter(xattrs: &[Xattr]) -> u32 {
    let mut bits = 0u32;
    for x in xattrs {
        let (index, suffix) = xattr_index(&x.key);
        bits |= 1 << xattr_filter_bit(index, suffix);
    }
    !bits
}

/// Splits directory entries into blocks: returns the index of the first
/// entry of each full block, the start of the last partial block and its
/// byte size.
fn dir_blocks(entries: &[Dirent<'_>]) -> (Vec<usize>, usize, u64) {
    let mut starts = Vec::new();
    let mut first = 0;
    let mut size = 0u64;
    for (i, e) in entries.iter().enumerate() {
        let len = (DIRENT_SIZE + e.name.len()) as u64;
        if size + len > BS {
            starts.push(first);
            first = i;
            size = 0;
        }
        size += len;
    }
    (starts, first, size)
}

/// Builds the image of `tree`, which it rewrites for overlayfs on the way
/// (so the tree is of no use afterwards). Returns the image bytes and the
/// format version written.
pub fn write_image(tree: &mut Tree, opts: &WriteOptions) -> Result<(Vec<u8>, i32), WriteError> {
    let version = effective_version(tree, opts)?;
    // Upstream writes a clone of the tree, without the xattr accounting.
    for n in &mut tree.nodes {
        n.forget_xattr_accounting();
    }

    // Rewrite for overlayfs, parents before children.
    let order = bfs(tree);
    for &id in &order {
        validate(tree.node(id))?;
        add_overlayfs_xattrs(tree, id, version, opts.hash)?;
    }
    tree.node_mut(ROOT).set_xattr(overlay_names::OPAQUE, b"y")?;
    add_whiteout_stubs(tree)?;

    // Inode order, canonical xattr order, directory link counts.
    let order = bfs(tree);
    let mut min_mtime = (tree.node(ROOT).mtime_sec, tree.node(ROOT).mtime_nsec);
    let mut has_acl = false;
    for &id in &order {
        let subdirs = tree
            .node(id)
            .children
            .iter()
            .filter(|c| tree.node(**c).is_dir())
            .count();
        let n = tree.node_mut(id);
        if n.is_dir() {
            n.nlink = (2 + subdirs) as u32;
        }
        n.xattrs.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        if (n.mtime_sec, n.mtime_nsec) < min_mtime {
            min_mtime = (n.mtime_sec, n.mtime_nsec);
        }
        if n.xattr(b"system.posix_acl_access").is_some()
            || n.xattr(b"system.posix_acl_default").is_some()
        {
            has_acl = true;
        }
    }
    let tree: &Tree = tree;

    // Shared xattrs: every (key, value) used more than once. Each distinct
    // pair gets a number, and each xattr of the tree (inodes in BFS order,
    // their xattrs in order) the number of its pair, so that the pairs are
    // hashed once.
    let n_xattrs = order.iter().map(|&id| tree.node(id).xattrs.len()).sum();
    let mut numbers: HashMap<XattrPair<'_>, u32> = HashMap::with_capacity(n_xattrs);
    let mut pairs: Vec<(XattrPair<'_>, u32)> = Vec::new();
    let mut pair_of: Vec<u32> = Vec::with_capacity(n_xattrs);
    for &id in &order {
        for x in &tree.node(id).xattrs {
            let pair = (&*x.key, &*x.value);
            let i = *numbers.entry(pair).or_insert_with(|| {
                pairs.push((pair, 0));
                (pairs.len() - 1) as u32
            });
            pairs[i as usize].1 += 1;
            pair_of.push(i);
        }
    }
    drop(numbers);
    let mut shared: Vec<u32> = (0..pairs.len() as u32)
        .filter(|&i| pairs[i as usize].1 > 1)
        .collect();
    shared.sort_unstable_by(|&a, &b| {
        let (a, b) = (pairs[a as usize].0, pairs[b as usize].0);
        b.0.cmp(a.0)
            .then_with(|| b.1.len().cmp(&a.1.len()))
            .then_with(|| b.1.cmp(a.1))
    });
    let mut shared_offset: Vec<Option<u64>> = vec![None; pairs.len()];
    let mut shared_size = 0u64;
    for &i in &shared {
        let (k, v) = pairs[i as usize].0;
        shared_offset[i as usize] = Some(shared_size);
        shared_size += xattr_entry_size(k, v);
    }
    // Per xattr (as `pair_of`): its shared offset, or None; `xattr_start[bi]`
    // is where the xattrs of the inode at BFS position `bi` begin.
    let mut xattr_flat: Vec<Option<u64>> = Vec::with_capacity(n_xattrs);
    let mut xattr_start: Vec<usize> = Vec::with_capacity(order.len() + 1);
    let mut next = pair_of.iter();
    for &id in &order {
        xattr_start.push(xattr_flat.len());
        let mut n_shared = 0;
        for _ in 0..tree.node(id).xattrs.len() {
            let off = next.next().and_then(|&i| shared_offset[i as usize]);
            xattr_flat.push(match off {
                Some(off) if n_shared < usize::from(EROFS_XATTR_LONG_PREFIX) => {
                    n_shared += 1;
                    Some(off)
                }
                _ => None,
            });
        }
    }
    xattr_start.push(xattr_flat.len());
    let xattr_shared = |bi: usize| &xattr_flat[xattr_start[bi]..xattr_start[bi + 1]];

    // Directory entries.
    let mut entries: Vec<Option<Vec<Dirent<'_>>>> = Vec::with_capacity(order.len());
    for &id in &order {
        entries.push(if tree.node(id).is_dir() {
            Some(dir_entries(tree, id)?)
        } else {
            None
        });
    }

    // Inode layout.
    let mut nids = vec![0u64; tree.nodes.len()];
    let mut layouts = vec![Layout::default(); order.len()];
    let mut pos = (EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE) as u64;
    let meta_start = pos / BS * BS;
    let mut n_data_blocks = 0u64;
    for (bi, &id) in order.iter().enumerate() {
        let n = tree.node(id);
        let l = &mut layouts[bi];
        match n.file_type() {
            S_IFDIR => {
                let ents = entries[bi].as_deref().unwrap_or(&[]);
                let (starts, _, mut tail) = dir_blocks(ents);
                let mut blocks = starts.len() as u64;
                if tail > (BLOCK_SIZE / 2) as u64 {
                    blocks += 1;
                    tail = 0;
                }
                l.n_blocks = blocks;
                l.tailsize = tail;
            }
            S_IFLNK => {
                l.n_blocks = 0;
                l.tailsize = n.payload.as_deref().map_or(0, <[u8]>::len) as u64;
            }
            S_IFREG if n.size > 0 => {
                if n.content.is_some() {
                    l.n_blocks = n.size / BS;
                    l.tailsize = n.size % BS;
                    if l.tailsize > (BLOCK_SIZE / 2) as u64 {
                        l.n_blocks += 1;
                        l.tailsize = 0;
                    }
                } else {
                    l.n_blocks = 0;
                    l.tailsize = chunking(n.size).1 * 4;
                }
            }
            _ => {}
        }
        let size = if n.is_dir() {
            l.n_blocks * BS + l.tailsize
        } else {
            n.size
        };
        l.compact = (n.mtime_sec, n.mtime_nsec) == min_mtime
            && n.nlink <= u32::from(u16::MAX)
            && n.uid <= u32::from(u16::MAX)
            && n.gid <= u32::from(u16::MAX)
            && size <= u64::from(u32::MAX);
        let inode_size = if l.compact {
            INODE_COMPACT_SIZE
        } else {
            INODE_EXTENDED_SIZE
        } as u64;

        let mut unshared = 0u64;
        for (x, s) in n.xattrs.iter().zip(xattr_shared(bi)) {
            match s {
                Some(_) => l.n_shared += 1,
                None => unshared += xattr_entry_size(&x.key, &x.value),
            }
        }
        l.xattr_size = if l.n_shared == 0 && unshared == 0 {
            0
        } else {
            round_up(
                XATTR_IBODY_HEADER_SIZE as u64 + 4 * l.n_shared as u64 + unshared,
                4,
            )
        };

        let ppos = pos;
        pos = round_up(pos, SLOT_SIZE);
        l.ipad = pos - ppos;

        // Keep tail data within one block.
        let bs = BS;
        let non_tail = inode_size + l.xattr_size;
        let extra_pad = if n.file_type() == S_IFLNK {
            let total = non_tail + l.tailsize;
            let pos_block = pos / bs;
            let end_block = (pos + total - 1) / bs;
            if total / bs > 0 {
                l.n_blocks += 1;
                l.tailsize = 0;
            }
            if pos_block != end_block {
                round_up(pos, bs) - pos
            } else {
                0
            }
        } else {
            let remainder = bs - (pos + non_tail) % bs;
            if remainder < l.tailsize {
                let extra = round_up(remainder, SLOT_SIZE);
                let remainder = bs - (pos + non_tail + extra) % bs;
                if l.tailsize <= remainder {
                    extra
                } else {
                    l.n_blocks += 1;
                    l.tailsize = 0;
                    round_up(pos, bs) - pos
                }
            } else {
                0
            }
        };
        l.ipad += extra_pad;
        pos += extra_pad;
        l.isize = inode_size + l.xattr_size + l.tailsize;
        n_data_blocks += l.n_blocks;
        nids[id as usize] = (pos - meta_start) / SLOT_SIZE;
        pos += l.isize;
    }
    let inodes_end = round_up(pos, SLOT_SIZE);
    let root_nid = nids[ROOT as usize];
    if root_nid >= u64::from(u16::MAX) {
        return Err(TreeError::Invalid.into());
    }
    let data_block_start = round_up(inodes_end + shared_size, BS);
    let total_size = data_block_start + n_data_blocks * BS;

    // Write.
    let mut out = Vec::with_capacity(usize::try_from(total_size).unwrap_or(0));
    let header = ComposefsHeader {
        magic: COMPOSEFS_MAGIC,
        version: COMPOSEFS_VERSION,
        flags: if has_acl { COMPOSEFS_FLAGS_HAS_ACL } else { 0 },
        composefs_version: version as u32,
    };
    out.extend_from_slice(&header.to_bytes());
    out.resize(EROFS_SUPER_OFFSET, 0);
    let sb = SuperBlock {
        magic: EROFS_SUPER_MAGIC,
        feature_compat: EROFS_FEATURE_COMPAT_MTIME | EROFS_FEATURE_COMPAT_XATTR_FILTER,
        blkszbits: BLOCK_BITS as u8,
        root_nid: root_nid as u16,
        inos: order.len() as u64,
        build_time: min_mtime.0 as u64,
        build_time_nsec: min_mtime.1,
        blocks: (data_block_start / BS + n_data_blocks) as u32,
        meta_blkaddr: ((EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE) / BLOCK_SIZE) as u32,
        xattr_blkaddr: (inodes_end / BS) as u32,
        ..SuperBlock::default()
    };
    out.extend_from_slice(&sb.to_bytes());

    let mut current_end = data_block_start;
    let xattr_base = inodes_end % BS;
    for (bi, &id) in order.iter().enumerate() {
        let n = tree.node(id);
        let l = &layouts[bi];
        let ftype = n.file_type();
        out.resize(out.len() + l.ipad as usize, 0);
        let inode_start = out.len();

        let mut layout = if l.tailsize > 0 {
            EROFS_INODE_FLAT_INLINE
        } else {
            EROFS_INODE_FLAT_PLAIN
        };
        let mut chunk_format = None;
        let size = match ftype {
            S_IFDIR => l.n_blocks * BS + l.tailsize,
            S_IFREG => {
                if n.is_external() {
                    let (bits, _) = chunking(n.size);
                    layout = EROFS_INODE_CHUNK_BASED;
                    chunk_format = Some((bits - BLOCK_BITS) as u16);
                }
                n.size
            }
            S_IFLNK => {
                if l.n_blocks == 0 {
                    l.tailsize
                } else {
                    n.size
                }
            }
            _ => 0,
        };
        let mut i_u = 0u32;
        match ftype {
            S_IFCHR | S_IFBLK => i_u = n.rdev,
            S_IFDIR | S_IFREG | S_IFLNK => {
                if l.n_blocks > 0 {
                    i_u = (current_end / BS) as u32;
                    current_end += BS * l.n_blocks;
                }
                if let Some(cf) = chunk_format {
                    i_u = (i_u & 0xFFFF_0000) | u32::from(cf);
                }
            }
            _ => {}
        }
        let xattr_icount = if l.xattr_size == 0 {
            0
        } else {
            (l.xattr_size - XATTR_IBODY_HEADER_SIZE as u64) / 4 + 1
        };
        if xattr_icount > u64::from(u16::MAX) {
            return Err(TreeError::Invalid.into());
        }
        let format = (u16::from(layout) << I_DATALAYOUT_SHIFT) | u16::from(!l.compact);
        if l.compact {
            let inode = InodeCompact {
                i_format: format,
                i_xattr_icount: xattr_icount as u16,
                i_mode: n.mode as u16,
                i_nlink: n.nlink as u16,
                i_size: size as u32,
                i_mtime: 0,
                i_u,
                i_ino: bi as u32,
                i_uid: n.uid as u16,
                i_gid: n.gid as u16,
            };
            out.extend_from_slice(&inode.to_bytes());
        } else {
            let inode = InodeExtended {
                i_format: format,
                i_xattr_icount: xattr_icount as u16,
                i_mode: n.mode as u16,
                i_size: size,
                i_u,
                i_ino: bi as u32,
                i_uid: n.uid,
                i_gid: n.gid,
                i_mtime: n.mtime_sec as u64,
                i_mtime_nsec: n.mtime_nsec,
                i_nlink: n.nlink,
            };
            out.extend_from_slice(&inode.to_bytes());
        }

        if l.xattr_size > 0 {
            let header = XattrIbodyHeader {
                h_name_filter: xattr_filter(&n.xattrs),
                h_shared_count: l.n_shared as u8,
            };
            out.extend_from_slice(&header.to_bytes());
            for s in xattr_shared(bi).iter().flatten() {
                out.extend_from_slice(&(((xattr_base + s) / 4) as u32).to_le_bytes());
            }
            for (x, s) in n.xattrs.iter().zip(xattr_shared(bi)) {
                if s.is_none() {
                    write_xattr(&mut out, x);
                }
            }
        }

        match ftype {
            S_IFDIR if l.tailsize > 0 => {
                let ents = entries[bi].as_deref().unwrap_or(&[]);
                let (_, first, _) = dir_blocks(ents);
                write_dirents(&mut out, &ents[first..], &nids, tree);
            }
            S_IFLNK if l.n_blocks == 0 => {
                out.extend_from_slice(n.payload.as_deref().unwrap_or(&[]));
            }
            S_IFREG if l.tailsize > 0 => match &n.content {
                Some(c) => out.extend_from_slice(&c[c.len() - l.tailsize as usize..]),
                None => {
                    let chunks = chunking(n.size).1;
                    for _ in 0..chunks {
                        out.extend_from_slice(&EROFS_NULL_ADDR.to_le_bytes());
                    }
                }
            },
            _ => {}
        }
        debug_assert_eq!((out.len() - inode_start) as u64, l.isize);
    }
    out.resize(inodes_end as usize, 0);

    for &i in &shared {
        let (k, v) = pairs[i as usize].0;
        write_xattr_kv(&mut out, k, v);
    }
    out.resize(data_block_start as usize, 0);

    // Data blocks, in inode order.
    for (bi, &id) in order.iter().enumerate() {
        let n = tree.node(id);
        let l = &layouts[bi];
        if let Some(ents) = &entries[bi] {
            let (starts, first, _) = dir_blocks(ents);
            let mut ranges: Vec<(usize, usize)> = starts
                .iter()
                .enumerate()
                .map(|(k, &s)| (s, starts.get(k + 1).copied().unwrap_or(first)))
                .collect();
            if (starts.len() as u64) < l.n_blocks {
                // The last partial block was too big to inline.
                ranges.push((first, ents.len()));
            }
            for (s, e) in ranges {
                write_dirents(&mut out, &ents[s..e], &nids, tree);
                let end = round_up(out.len() as u64, BS) as usize;
                out.resize(end, 0);
            }
        }
        if l.n_blocks > 0 {
            match n.file_type() {
                S_IFREG => match &n.content {
                    None => {
                        for _ in 0..MAX_NONINLINE_CHUNKS {
                            out.extend_from_slice(&EROFS_NULL_ADDR.to_le_bytes());
                        }
                    }
                    Some(c) => {
                        out.extend_from_slice(&c[..c.len().min(BLOCK_SIZE)]);
                        let end = round_up(out.len() as u64, BS) as usize;
                        out.resize(end, 0);
                    }
                },
                S_IFLNK => {
                    let p = n.payload.as_deref().unwrap_or(&[]);
                    out.extend_from_slice(&p[..p.len().min(BLOCK_SIZE)]);
                    let end = round_up(out.len() as u64, BS) as usize;
                    out.resize(end, 0);
                }
                _ => {}
            }
        }
    }
    Ok((out, version))
}

fn write_xattr(out: &mut Vec<u8>, x: &Xattr) {
    write_xattr_kv(out, &x.key, &x.value);
}

fn write_xattr_kv(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    let (index, suffix) = xattr_index(key);
    let entry = XattrEntry {
        e_name_len: suffix.len() as u8,
        e_name_index: index,
        e_value_size: value.len() as u16,
    };
    out.extend_from_slice(&entry.to_bytes());
    out.extend_from_slice(suffix);
    out.extend_from_slice(value);
    let end = round_up(out.len() as u64, XATTR_ALIGN as u64) as usize;
    out.resize(end, 0);
}

fn write_dirents(out: &mut Vec<u8>, ents: &[Dirent<'_>], nids: &[u64], tree: &Tree) {
    let mut nameoff = (ents.len() * DIRENT_SIZE) as u16;
    for e in ents {
        let dirent = RawDirent {
            nid: nids[e.target as usize],
            nameoff,
            file_type: mode_to_file_type(tree.node(e.target).mode),
        };
        out.extend_from_slice(&dirent.to_bytes());
        nameoff = nameoff.wrapping_add(e.name.len() as u16);
    }
    for e in ents {
        out.extend_from_slice(e.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunking(1), (12, 1));
        assert_eq!(chunking(4096), (12, 1));
        assert_eq!(chunking(4097), (13, 1));
        assert_eq!(chunking(1 << 20), (20, 1));
        assert_eq!(chunking((1 << 20) + 1), (21, 1));
        assert_eq!(chunking(9_000_000_000_000_000).1, 1024);
        assert!(chunking(9_500_000_000_000_000).1 > 1024);
        assert_eq!(chunking(u64::MAX - (1 << 43) + 1).1, (1 << 21) - 1);
        assert_eq!(chunking(u64::MAX - (1 << 43) + 2).1, 0);
        assert_eq!(chunking(u64::MAX).1, 0);
    }
}
