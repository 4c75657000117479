// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Output of `ls`, `dump` and `objects` in upstream composefs-info's exact format.

use std::io::{self, Write};

use cfs_format::format::layout::{S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use cfs_format::fsverity::to_hex;

use crate::tree::{NodeId, Tree};

/// Escaping options of upstream's `print_escaped`.
#[derive(Clone, Copy, Default)]
pub struct Escape {
    /// Print spaces as they are (only non-printable bytes are hex-escaped).
    pub noescape_space: bool,
    /// Hex-escape `=`.
    pub equal: bool,
    /// Print a value that is exactly `-` as `\x2d`.
    pub lone_dash: bool,
}

/// Writes `val` escaped as upstream does (C locale character classes).
pub fn write_escaped(out: &mut impl Write, val: &[u8], esc: Escape) -> io::Result<()> {
    if esc.lone_dash && val == b"-" {
        return out.write_all(b"\\x2d");
    }
    let mut buf = Vec::with_capacity(val.len() + 8);
    for &c in val {
        match c {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'=' if esc.equal => buf.extend_from_slice(b"\\x3d"),
            b'=' => buf.push(c),
            _ => {
                let printable = if esc.noescape_space {
                    (0x20..=0x7e).contains(&c)
                } else {
                    (0x21..=0x7e).contains(&c)
                };
                if printable {
                    buf.push(c);
                } else {
                    write!(buf, "\\x{c:02x}")?;
                }
            }
        }
    }
    out.write_all(&buf)
}

fn write_optional(out: &mut impl Write, val: Option<&[u8]>, esc: Escape) -> io::Result<()> {
    match val {
        Some(v) => write_escaped(out, v, esc),
        None => out.write_all(b"-"),
    }
}

/// Calls `f` with every node below the root and its path (`/a/b`), depth-first in
/// directory order.
fn walk(tree: &Tree, mut f: impl FnMut(NodeId, &[u8]) -> io::Result<()>) -> io::Result<()> {
    let mut stack: Vec<(NodeId, usize)> = vec![(0, 0)];
    let mut paths: Vec<Vec<u8>> = vec![Vec::new()];
    while let Some((node, idx)) = stack.last_mut() {
        let children = tree.children(*node);
        if *idx >= children.len() {
            stack.pop();
            paths.pop();
            continue;
        }
        let child = children[*idx];
        *idx += 1;
        let mut path = paths.last().cloned().unwrap_or_default();
        path.push(b'/');
        path.extend_from_slice(&tree.nodes[child].name);
        f(child, &path)?;
        stack.push((child, 0));
        paths.push(path);
    }
    Ok(())
}

/// `composefs-info ls`: every entry below the root, depth-first.
pub fn ls(out: &mut impl Write, tree: &Tree) -> io::Result<()> {
    walk(tree, |child, path| {
        write_escaped(
            out,
            path,
            Escape {
                noescape_space: true,
                ..Escape::default()
            },
        )?;
        // A hard link's own node has no mode or payload upstream: only its path is printed.
        if tree.link_target(child).is_none() {
            let d = tree.data(child);
            match d.mode & S_IFMT {
                S_IFDIR => out.write_all(b"/\t")?,
                S_IFLNK => {
                    out.write_all(b"\t-> ")?;
                    write_escaped(
                        out,
                        d.payload.as_deref().unwrap_or_default(),
                        Escape::default(),
                    )?;
                }
                S_IFREG => {
                    if let Some(p) = &d.payload {
                        out.write_all(b"\t@ ")?;
                        write_escaped(out, p, Escape::default())?;
                    }
                }
                _ => {}
            }
        }
        out.write_all(b"\n")
    })
}

fn dump_one(out: &mut impl Write, tree: &Tree, id: NodeId, path: &[u8]) -> io::Result<()> {
    let target = tree.link_target(id);
    let hardlink_path = target.map(|t| tree.path(t));
    let d = tree.data(id);
    write_escaped(
        out,
        if path.is_empty() { b"/" } else { path },
        Escape::default(),
    )?;
    write!(
        out,
        " {} {}{:o} {} {} {} {} {}.{} ",
        d.size,
        if hardlink_path.is_some() { "@" } else { "" },
        d.mode,
        d.nlink,
        d.uid,
        d.gid,
        d.rdev,
        d.mtime,
        d.mtime_nsec
    )?;
    let lone = Escape {
        lone_dash: true,
        ..Escape::default()
    };
    write_optional(out, hardlink_path.as_deref().or(d.payload.as_deref()), lone)?;
    out.write_all(b" ")?;
    // Upstream prints `size` bytes of content.
    let content = d
        .content
        .as_deref()
        .map(|c| &c[..c.len().min(d.size as usize)]);
    write_optional(out, content, lone)?;
    match &d.digest {
        Some(dg) => write!(out, " {}", to_hex(dg))?,
        None => out.write_all(b" -")?,
    }
    let eq = Escape {
        equal: true,
        ..Escape::default()
    };
    for (k, v) in &d.xattrs {
        out.write_all(b" ")?;
        write_escaped(out, k, eq)?;
        out.write_all(b"=")?;
        write_escaped(out, v, eq)?;
    }
    out.write_all(b"\n")
}

/// `composefs-info dump`: one composefs-dump line per entry, depth-first.
pub fn dump(out: &mut impl Write, tree: &Tree) -> io::Result<()> {
    dump_one(out, tree, 0, b"")?;
    walk(tree, |child, path| dump_one(out, tree, child, path))
}

/// The backing object paths of regular files (with the leading `/` as stored stripped).
pub fn objects(tree: &Tree) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    for n in &tree.nodes {
        if let crate::tree::Kind::Inode(d) = &n.kind {
            if d.mode & S_IFMT == S_IFREG {
                if let Some(p) = &d.payload {
                    v.push(p.clone());
                }
            }
        }
    }
    v
}
