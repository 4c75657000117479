//! The in-memory file tree an image is built from.
//!
//! Nodes live in an arena ([`Tree::nodes`]) and refer to each other by
//! [`NodeId`]. The tree mirrors the model of upstream libcomposefs closely,
//! including its integer widths (a 32-bit `rdev`, 32-bit ids) and its
//! accounting of the xattr space, because both decide what an image looks like
//! and which inputs are rejected.

use std::fmt;

use cfs_format::format::layout::{
    NAME_MAX, PATH_MAX, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK,
    XATTR_ENTRY_SIZE, XATTR_IBODY_HEADER_SIZE, XATTR_NAME_MAX,
};
use cfs_format::INLINE_CONTENT_MAX;

/// Index of a node in [`Tree::nodes`].
pub type NodeId = u32;

/// The root is always the first node of the arena.
pub const ROOT: NodeId = 0;

/// Files from a directory this small or smaller are stored inline
/// (`LCFS_RECOMMENDED_INLINE_CONTENT_MAX`).
pub const RECOMMENDED_INLINE_CONTENT_MAX: u64 = 64;
/// Limit of the per-inode xattr accounting for external input
/// (`LCFS_INODE_EXTERNAL_XATTR_MAX`).
pub const EXTERNAL_XATTR_MAX: usize = u16::MAX as usize / 2;
/// Per-entry overhead of the xattr accounting (twice the entry header,
/// minus one, for the worst-case alignment), as upstream counts it.
const XATTR_ENTRY_OVERHEAD: usize = 2 * XATTR_ENTRY_SIZE - 1;

/// Errors of tree operations, carrying the errno upstream reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeError {
    /// `EINVAL`.
    Invalid,
    /// `ERANGE`: an xattr name or the xattr space is out of range.
    Range,
    /// `ENAMETOOLONG`.
    NameTooLong,
    /// `ENOTDIR`.
    NotDir,
    /// `EFBIG`: an external file is too big for one chunk block.
    TooBig,
    /// `ELOOP`: a hard-link cycle.
    Loop,
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TreeError::Invalid => "Invalid argument",
            TreeError::Range => "Numerical result out of range",
            TreeError::NameTooLong => "File name too long",
            TreeError::NotDir => "Not a directory",
            TreeError::TooBig => "File too large",
            TreeError::Loop => "Too many levels of symbolic links",
        })
    }
}

impl std::error::Error for TreeError {}

/// One extended attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xattr {
    /// Full name, without NUL bytes.
    pub key: Box<[u8]>,
    /// Value (may hold any bytes).
    pub value: Box<[u8]>,
}

/// One file of the tree.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// Name in the parent directory (empty for the root).
    pub name: Box<[u8]>,
    /// Parent directory (the root is its own parent).
    pub parent: NodeId,
    /// `st_mode`, type and permission bits.
    pub mode: u32,
    /// Link count (recomputed for directories).
    pub nlink: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Device number, truncated to 32 bits like upstream.
    pub rdev: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds.
    pub mtime_sec: i64,
    /// Modification time, nanoseconds.
    pub mtime_nsec: u32,
    /// Symlink target, or the backing object path of a regular file.
    pub payload: Option<Box<[u8]>>,
    /// Inline content of a regular file (never empty).
    pub content: Option<Box<[u8]>>,
    /// fs-verity digest of the file content.
    pub digest: Option<Box<[u8]>>,
    /// Extended attributes, unique by key.
    pub xattrs: Vec<Xattr>,
    /// Upstream's running estimate of the xattr space (`xattr_size`).
    xattr_acct: usize,
    /// Hard-link target, for nodes that are hard links.
    pub link_to: Option<NodeId>,
    /// A hard link whose target was part of a cycle when it was made.
    pub link_invalid: bool,
    /// Children of a directory, sorted by name once the tree is finished.
    pub children: Vec<NodeId>,
}

impl Node {
    /// A new node with upstream's defaults (`nlink` 1, everything else 0).
    pub fn new(mode: u32) -> Self {
        Node {
            mode,
            nlink: 1,
            ..Default::default()
        }
    }

    /// File type bits of the mode.
    pub fn file_type(&self) -> u32 {
        self.mode & S_IFMT
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    /// Whether this is a regular file whose data lives in a backing object.
    pub fn is_external(&self) -> bool {
        self.file_type() == S_IFREG && self.size > 0 && self.content.is_none()
    }

    /// Whether this is a whiteout (a character device with number 0:0).
    pub fn is_whiteout(&self) -> bool {
        self.file_type() == S_IFCHR && self.rdev == 0
    }

    /// Value of the xattr `key`, if set.
    pub fn xattr(&self, key: &[u8]) -> Option<&[u8]> {
        self.xattrs
            .iter()
            .find(|x| &*x.key == key)
            .map(|x| &*x.value)
    }

    /// Sets an xattr, replacing any previous value, with upstream's limits:
    /// a name of 1..=255 bytes, a value of at most 65535 bytes, and the
    /// per-inode space limit for external input.
    pub fn set_xattr(&mut self, key: &[u8], value: &[u8]) -> Result<(), TreeError> {
        if key.is_empty() || key.len() > XATTR_NAME_MAX {
            return Err(TreeError::Range);
        }
        if value.len() > u16::MAX as usize {
            return Err(TreeError::Invalid);
        }
        if let Some(i) = self.xattrs.iter().position(|x| &*x.key == key) {
            let old = self.xattrs.swap_remove(i);
            if self.xattrs.is_empty() {
                self.xattr_acct = 0;
            } else {
                self.xattr_acct = self
                    .xattr_acct
                    .wrapping_sub(XATTR_ENTRY_OVERHEAD + key.len() + old.value.len());
            }
        }
        let mut entry = XATTR_ENTRY_OVERHEAD + key.len() + value.len();
        if self.xattrs.is_empty() {
            // The xattr body header, counted once per inode with xattrs.
            entry += XATTR_IBODY_HEADER_SIZE;
        }
        if self.xattr_acct.wrapping_add(entry) > EXTERNAL_XATTR_MAX {
            return Err(TreeError::Range);
        }
        self.xattrs.push(Xattr {
            key: key.into(),
            value: value.into(),
        });
        self.xattr_acct = self.xattr_acct.wrapping_add(entry);
        Ok(())
    }

    /// Forgets the xattr space accounting, keeping the xattrs. Upstream's
    /// writer works on a clone of the tree (`lcfs_clone_root`) whose nodes
    /// start with no accounted space, so the overlay xattrs it adds are
    /// accounted from zero, and replacing one of several xattrs can wrap
    /// the count around and fail with ERANGE there.
    pub fn forget_xattr_accounting(&mut self) {
        self.xattr_acct = 0;
    }

    /// Renames the xattr at `index` in place; the accounting is left as is,
    /// as upstream does.
    pub fn rename_xattr(&mut self, index: usize, key: Box<[u8]>) {
        if let Some(x) = self.xattrs.get_mut(index) {
            x.key = key;
        }
    }

    /// Sets a symlink target: it must be non-empty and shorter than
    /// `PATH_MAX`; the size becomes the target length.
    pub fn set_symlink_payload(&mut self, target: Option<&[u8]>) -> Result<(), TreeError> {
        match target {
            Some(t) if !t.is_empty() && t.len() < PATH_MAX => {
                self.size = t.len() as u64;
                self.payload = Some(t.into());
                Ok(())
            }
            _ => Err(TreeError::Invalid),
        }
    }

    /// Sets the payload of a non-symlink, which must be shorter than `PATH_MAX`.
    pub fn set_payload(&mut self, payload: Option<&[u8]>) -> Result<(), TreeError> {
        if let Some(p) = payload {
            if p.len() >= PATH_MAX {
                return Err(TreeError::NameTooLong);
            }
        }
        self.payload = payload.map(Into::into);
        Ok(())
    }

    /// Sets the inline content; empty content clears it. The size becomes
    /// the content length.
    pub fn set_content(&mut self, data: &[u8]) -> Result<(), TreeError> {
        if data.len() > INLINE_CONTENT_MAX {
            return Err(TreeError::Invalid);
        }
        self.content = if data.is_empty() {
            None
        } else {
            Some(data.into())
        };
        self.size = data.len() as u64;
        Ok(())
    }
}

/// Whether `mode` has one of the seven known file types.
pub fn valid_mode(mode: u32) -> bool {
    matches!(
        mode & S_IFMT,
        S_IFREG | S_IFDIR | S_IFLNK | S_IFBLK | S_IFCHR | S_IFSOCK | S_IFIFO
    )
}

/// A file tree rooted at [`ROOT`].
#[derive(Debug, Default)]
pub struct Tree {
    /// All nodes; index 0 is the root.
    pub nodes: Vec<Node>,
}

impl Tree {
    /// A tree holding only `root`.
    pub fn new(root: Node) -> Self {
        Tree { nodes: vec![root] }
    }

    /// Borrows a node.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id as usize]
    }

    /// Borrows a node mutably.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[id as usize]
    }

    /// Adds `node` to the arena without linking it anywhere.
    pub fn push(&mut self, node: Node) -> NodeId {
        let id = NodeId::try_from(self.nodes.len()).unwrap_or(NodeId::MAX);
        self.nodes.push(node);
        id
    }

    /// Appends `child` to `parent` under `name` without keeping the child
    /// list sorted; call [`Tree::sort_children`] before looking children up.
    /// The caller checks for duplicate names.
    pub fn attach(&mut self, parent: NodeId, child: NodeId, name: &[u8]) -> Result<(), TreeError> {
        if !self.node(parent).is_dir() {
            return Err(TreeError::NotDir);
        }
        if name.is_empty() {
            return Err(TreeError::Invalid);
        }
        if name.len() > NAME_MAX {
            return Err(TreeError::NameTooLong);
        }
        let c = self.node_mut(child);
        c.name = name.into();
        c.parent = parent;
        self.node_mut(parent).children.push(child);
        Ok(())
    }

    /// Sorts every child list by name (byte order, i.e. `strcmp`).
    pub fn sort_children(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].children.len() < 2 {
                continue;
            }
            let mut children = std::mem::take(&mut self.nodes[i].children);
            children.sort_unstable_by(|a, b| {
                self.nodes[*a as usize]
                    .name
                    .cmp(&self.nodes[*b as usize].name)
            });
            self.nodes[i].children = children;
        }
    }

    /// Finds a child by name in a sorted child list.
    pub fn lookup_child(&self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        let children = &self.node(parent).children;
        children
            .binary_search_by(|c| (*self.node(*c).name).cmp(name))
            .ok()
            .map(|i| children[i])
    }

    /// Follows hard links to the real node; a cycle back to `id` is an error.
    pub fn follow_links(&self, id: NodeId) -> Result<NodeId, TreeError> {
        let mut cur = id;
        let mut steps = 0usize;
        while let Some(next) = self.node(cur).link_to {
            cur = next;
            steps += 1;
            if cur == id || steps > self.nodes.len() {
                return Err(TreeError::Loop);
            }
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xattr_accounting_limits_external_input() {
        let mut n = Node::new(S_IFREG | 0o644);
        let big = vec![b'v'; 32000];
        n.set_xattr(b"user.a", &big).unwrap();
        assert_eq!(n.set_xattr(b"user.b", &big[..1000]), Err(TreeError::Range));
        // Replacing a value frees its space first.
        n.set_xattr(b"user.a", b"x").unwrap();
        n.set_xattr(b"user.b", &big[..1000]).unwrap();
        assert_eq!(n.xattrs.len(), 2);
    }

    #[test]
    fn xattr_name_limits() {
        let mut n = Node::new(S_IFREG);
        assert_eq!(n.set_xattr(b"", b""), Err(TreeError::Range));
        assert_eq!(n.set_xattr(&[b'k'; 256], b""), Err(TreeError::Range));
        assert!(n.set_xattr(&[b'k'; 255], b"").is_ok());
    }
}
