// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Loads an image into a tree of nodes the way upstream libcomposefs reads images, so that
//! `ls`, `dump` and `objects` print what upstream composefs-info prints.

use std::collections::HashMap;

use cfs_format::format::layout::{
    overlay_names, PATH_MAX, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
};
use cfs_format::format::reader::{DataLayout, Inode};
use cfs_format::format::{BlockSource, FormatError, Image};
use cfs_format::INLINE_CONTENT_MAX;

/// A directory entry to visit: name and nid.
type Entry = (Vec<u8>, u64);

/// Index of a node in [`Tree::nodes`].
pub type NodeId = usize;

/// Metadata and contents of one inode.
#[derive(Debug, Default)]
pub struct Data {
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u32,
    pub size: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
    /// Symlink target, or backing object path of a regular file (redirect without `/`).
    pub payload: Option<Vec<u8>>,
    /// Inline content of a regular file.
    pub content: Option<Vec<u8>>,
    /// sha256 fs-verity digest from the metacopy xattr.
    pub digest: Option<[u8; 32]>,
    /// Xattrs as upstream presents them, in reading order.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    pub children: Vec<NodeId>,
}

/// A node: an inode, or a hard link to the node that first reached the same inode.
#[derive(Debug)]
pub enum Kind {
    /// The first directory entry reaching an inode.
    Inode(Box<Data>),
    /// A later entry reaching the same inode.
    Link(NodeId),
}

/// A node of the tree.
#[derive(Debug)]
pub struct Node {
    pub name: Vec<u8>,
    pub parent: Option<NodeId>,
    pub kind: Kind,
}

/// The loaded tree; node 0 is the root.
#[derive(Debug, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

/// Why an image could not be loaded.
#[derive(Debug)]
pub struct LoadError(pub FormatError);

impl From<FormatError> for LoadError {
    fn from(e: FormatError) -> Self {
        LoadError(e)
    }
}

impl Tree {
    /// The data of `id`, following a hard link to its target.
    pub fn data(&self, id: NodeId) -> &Data {
        match &self.nodes[id].kind {
            Kind::Inode(d) => d,
            Kind::Link(t) => self.data(*t),
        }
    }

    /// The link target of `id`, if it is a hard link.
    pub fn link_target(&self, id: NodeId) -> Option<NodeId> {
        match self.nodes[id].kind {
            Kind::Link(t) => Some(t),
            Kind::Inode(_) => None,
        }
    }

    /// Children of `id` (none for a hard link).
    pub fn children(&self, id: NodeId) -> &[NodeId] {
        match &self.nodes[id].kind {
            Kind::Inode(d) => &d.children,
            Kind::Link(_) => &[],
        }
    }

    /// Absolute path of `id` (`/a/b`; the root is the empty string).
    pub fn path(&self, id: NodeId) -> Vec<u8> {
        let mut parts = Vec::new();
        let mut cur = Some(id);
        while let Some(n) = cur {
            if self.nodes[n].parent.is_some() {
                parts.push(&self.nodes[n].name[..]);
            }
            cur = self.nodes[n].parent;
        }
        let mut out = Vec::new();
        for p in parts.iter().rev() {
            out.push(b'/');
            out.extend_from_slice(p);
        }
        out
    }
}

/// Reads `len` bytes at `off`, clipped to the image end.
fn read_clipped<S: BlockSource>(
    img: &Image<S>,
    off: u64,
    len: u64,
) -> Result<Vec<u8>, FormatError> {
    let avail = img.size().saturating_sub(off).min(len);
    let mut v = vec![0u8; avail as usize];
    img.read_exact_at(off, &mut v)?;
    Ok(v)
}

fn until_nul(mut v: Vec<u8>) -> Vec<u8> {
    if let Some(p) = v.iter().position(|&c| c == 0) {
        v.truncate(p);
    }
    v
}

/// Sets an xattr, replacing (and moving to the end) any earlier one with the same name.
fn set_xattr(d: &mut Data, name: Vec<u8>, value: Vec<u8>) {
    d.xattrs.retain(|(n, _)| *n != name);
    d.xattrs.push((name, value));
}

/// Applies one stored xattr to `d` the way upstream's reader does.
fn apply_xattr<S: BlockSource>(
    img: &Image<S>,
    d: &mut Data,
    name: Vec<u8>,
    value_offset: u64,
    value_len: u16,
) -> Result<(), FormatError> {
    let vlen = u64::from(value_len);
    let value = read_clipped(img, value_offset, vlen)?;
    if value.len() as u64 != vlen {
        return Err(FormatError::BadXattr);
    }
    let is_reg = d.mode & S_IFMT == S_IFREG;
    if name == overlay_names::REDIRECT {
        if is_reg {
            // Upstream strips the leading '/' and copies the rest as a C string, reading up
            // to two bytes past the value (the entry padding, normally zeros).
            let payload = if vlen > 1 && value[0] == b'/' {
                read_clipped(img, value_offset + 1, vlen + 1)?
            } else {
                value
            };
            d.payload = Some(until_nul(payload));
        }
        return Ok(());
    }
    if name == overlay_names::METACOPY {
        if is_reg && value.len() == 4 + 32 {
            let mut dg = [0u8; 32];
            dg.copy_from_slice(&value[4..]);
            d.digest = Some(dg);
        }
        return Ok(());
    }
    if name == overlay_names::ESCAPED_WHITEOUT && is_reg {
        d.mode = (d.mode & !S_IFMT) | S_IFCHR;
        d.rdev = 0;
        d.size = 0;
        return Ok(());
    }
    if name == overlay_names::ESCAPED_WHITEOUTS
        || name == overlay_names::USER_WHITEOUT
        || name == overlay_names::USER_WHITEOUTS
    {
        return Ok(());
    }
    if let Some(rest) = name.strip_prefix(overlay_names::ESCAPE_PREFIX) {
        let mut unescaped = overlay_names::PREFIX.to_vec();
        unescaped.extend_from_slice(rest);
        set_xattr(d, unescaped, value);
        return Ok(());
    }
    if name.starts_with(overlay_names::PREFIX) {
        return Ok(());
    }
    set_xattr(d, name, value);
    Ok(())
}

/// Builds the data of inode `ino` (not its children).
fn build_data<S: BlockSource>(img: &Image<S>, ino: &Inode) -> Result<Data, FormatError> {
    let mut d = Data {
        mode: ino.mode(),
        nlink: ino.nlink(),
        uid: ino.uid(),
        gid: ino.gid(),
        rdev: ino.rdev(),
        size: ino.size(),
        mtime: ino.mtime(),
        mtime_nsec: ino.mtime_nsec(),
        ..Data::default()
    };
    let ty = ino.file_type();
    if ty == S_IFLNK {
        if ino.size() >= PATH_MAX as u64 {
            return Err(FormatError::SymlinkTooLong);
        }
        let mut buf = vec![0u8; ino.size() as usize];
        img.symlink_target(ino, &mut buf)?;
        d.payload = Some(until_nul(buf));
    } else if ty == S_IFREG && ino.size() != 0 && ino.layout() != DataLayout::ChunkBased {
        if ino.size() > (INLINE_CONTENT_MAX as u64).min(img.size()) {
            return Err(FormatError::BadSize);
        }
        let mut buf = vec![0u8; ino.size() as usize];
        if img.read_data(ino, 0, &mut buf)? != buf.len() {
            return Err(FormatError::BadSize);
        }
        d.content = Some(buf);
    }
    let mut items = Vec::new();
    img.for_each_xattr(ino, |x| {
        let mut name = vec![0u8; x.prefix().len() + x.suffix.len()];
        x.full_name(&mut name)?;
        items.push((name, x.value_offset, x.value_len));
        Ok(true)
    })?;
    for (name, off, len) in items {
        apply_xattr(img, &mut d, name, off, len)?;
    }
    Ok(d)
}

/// Loads the tree of `img`, keeping only the root entries named in `filter` (if any).
///
/// Mirrors upstream: `.` and `..` are skipped, real whiteouts (character devices 0/0, such as
/// the `00`..`ff` stubs) are dropped, the first entry that reaches an inode in depth-first
/// order owns it and later ones become hard links, and children are sorted by name.
pub fn load<S: BlockSource>(img: &Image<S>, filter: &[Vec<u8>]) -> Result<Tree, LoadError> {
    let mut tree = Tree::default();
    let mut seen: HashMap<u64, NodeId> = HashMap::new();
    let root_nid = img.root_nid();
    let root = img.inode(root_nid)?;
    seen.insert(root_nid, 0);
    tree.nodes.push(Node {
        name: Vec::new(),
        parent: None,
        kind: Kind::Inode(Box::new(build_data(img, &root)?)),
    });

    // Depth-first, in directory order, with an explicit stack of (node, pending entries).
    let mut stack: Vec<(NodeId, std::vec::IntoIter<Entry>)> = Vec::new();
    stack.push((0, dir_entries(img, &root, filter)?.into_iter()));
    while let Some((parent, iter)) = stack.last_mut() {
        let parent = *parent;
        let Some((name, nid)) = iter.next() else {
            stack.pop();
            continue;
        };
        if let Some(&target) = seen.get(&nid) {
            let id = tree.nodes.len();
            tree.nodes.push(Node {
                name,
                parent: Some(parent),
                kind: Kind::Link(target),
            });
            add_child(&mut tree, parent, id);
            continue;
        }
        let ino = img.inode(nid)?;
        if ino.file_type() == S_IFCHR && ino.rdev() == 0 {
            continue;
        }
        let data = build_data(img, &ino)?;
        let id = tree.nodes.len();
        seen.insert(nid, id);
        tree.nodes.push(Node {
            name,
            parent: Some(parent),
            kind: Kind::Inode(Box::new(data)),
        });
        add_child(&mut tree, parent, id);
        if ino.file_type() == S_IFDIR {
            stack.push((id, dir_entries(img, &ino, &[])?.into_iter()));
        }
    }
    Ok(tree)
}

fn add_child(tree: &mut Tree, parent: NodeId, child: NodeId) {
    let name = tree.nodes[child].name.clone();
    let Kind::Inode(p) = &tree.nodes[parent].kind else {
        return;
    };
    let pos = p
        .children
        .binary_search_by(|c| tree.nodes[*c].name.cmp(&name));
    let pos = match pos {
        Ok(p) | Err(p) => p,
    };
    if let Kind::Inode(p) = &mut tree.nodes[parent].kind {
        p.children.insert(pos, child);
    }
}

/// The entries of a directory other than `.` and `..`, optionally filtered by name.
fn dir_entries<S: BlockSource>(
    img: &Image<S>,
    dir: &Inode,
    filter: &[Vec<u8>],
) -> Result<Vec<Entry>, FormatError> {
    let mut out = Vec::new();
    img.readdir(dir, 0, |e, _| {
        if e.name != b"."
            && e.name != b".."
            && (filter.is_empty() || filter.iter().any(|f| f == e.name))
        {
            out.push((e.name.to_vec(), e.nid));
        }
        true
    })?;
    Ok(out)
}
