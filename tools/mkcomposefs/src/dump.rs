//! Parser of the composefs dump format (`composefs-dump(5)`).
//!
//! It accepts exactly what upstream `mkcomposefs --from-file` accepts,
//! including its leniencies (C `strtoull` number syntax, NUL-terminated
//! names, ignored fields of hard links) and its strict mode.

use std::collections::HashMap;

use cfs_format::format::layout::{NAME_MAX, S_IFBLK, S_IFCHR, S_IFLNK};
use cfs_format::INLINE_CONTENT_MAX;

use crate::tree::{valid_mode, Node, NodeId, Tree, TreeError, ROOT};

/// A parse error: one line of text, as upstream prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Lossy rendering of bytes for messages.
fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The bytes before the first NUL: what a C string would hold.
fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

fn hexdigit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Undoes the dump escapes `\\`, `\n`, `\r`, `\t` and `\xHH`.
pub fn unescape(s: &[u8]) -> Result<Vec<u8>, ParseError> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = s.get(i) else {
            return err("No character after escape");
        };
        i += 1;
        match e {
            b'\\' => out.push(b'\\'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                if i + 2 > s.len() {
                    return err("No hex characters after hex escape");
                }
                match (hexdigit(s[i]), hexdigit(s[i + 1])) {
                    (Some(a), Some(b)) => out.push(a << 4 | b),
                    _ => return err("Invalid hex characters after hex escape"),
                }
                i += 2;
            }
            other => return err(format!("Unsupported escape type {}", other as char)),
        }
    }
    Ok(out)
}

/// Like [`unescape`], but a lone `-` means "unset".
fn unescape_optional(s: &[u8]) -> Result<Option<Vec<u8>>, ParseError> {
    if s == b"-" {
        Ok(None)
    } else {
        unescape(s).map(Some)
    }
}

fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// C `strtoull` over a whole field: leading white space and a sign are
/// accepted, a negative value wraps, an overflow saturates; no digits or
/// trailing garbage is an error.
pub fn c_strtoull(s: &[u8], base: u32) -> Option<u64> {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut v: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let d = match s[i] {
            c @ b'0'..=b'9' => u32::from(c - b'0'),
            c @ b'a'..=b'z' => u32::from(c - b'a') + 10,
            c @ b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => break,
        };
        if d >= base {
            break;
        }
        match v
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(d)))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    if i == start || i != s.len() {
        return None;
    }
    Some(if overflow {
        u64::MAX
    } else if neg {
        v.wrapping_neg()
    } else {
        v
    })
}

/// C `strtol` over a whole string (saturating), as used for option values.
pub fn c_strtol(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && is_c_space(b[i]) {
        i += 1;
    }
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let digits = &b[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let limit = i128::from(i64::MAX) + 1;
    let mut mag: i128 = 0;
    for c in digits {
        mag = (mag * 10 + i128::from(c - b'0')).min(limit);
    }
    Some(if neg {
        (-mag).max(i128::from(i64::MIN)) as i64
    } else {
        mag.min(i128::from(i64::MAX)) as i64
    })
}

fn parse_int(field: &[u8], base: u32) -> Result<u64, ParseError> {
    c_strtoull(field, base).ok_or_else(|| ParseError(format!("Invalid integer {}", show(field))))
}

/// Splits at the first `sep`, like upstream's `split_at`: the rest is empty
/// when there is no separator.
fn split_at(s: &mut &[u8], sep: u8) -> (usize, bool) {
    match s.iter().position(|&c| c == sep) {
        Some(i) => {
            *s = &s[i + 1..];
            (i, false)
        }
        None => {
            let n = s.len();
            *s = &s[n..];
            (n, true)
        }
    }
}

fn next_field<'a>(s: &mut &'a [u8], sep: u8) -> (&'a [u8], bool) {
    let start: &'a [u8] = s;
    let (n, partial) = split_at(s, sep);
    (&start[..n], partial)
}

/// Parses a digest field the way upstream's `digest_to_raw` does: hex pairs
/// until the end of the string, the first bad pair, or `len` bytes. Bytes
/// not parsed stay zero (upstream leaves them undefined).
fn parse_digest(s: &[u8], len: usize) -> Box<[u8]> {
    let mut raw = vec![0u8; len];
    for (i, pair) in s.chunks(2).take(len).enumerate() {
        match (
            pair.first().and_then(|c| hexdigit(*c)),
            pair.get(1).and_then(|c| hexdigit(*c)),
        ) {
            (Some(a), Some(b)) => raw[i] = a << 4 | b,
            _ => break,
        }
    }
    raw.into_boxed_slice()
}

/// Incremental dump parser building a [`Tree`].
pub struct DumpParser {
    tree: Option<Tree>,
    /// (parent, name) -> child, for path lookups while parsing.
    index: HashMap<Box<[u8]>, NodeId>,
    /// Hard links to resolve at the end: (node, target path).
    hardlinks: Vec<(NodeId, Option<Vec<u8>>)>,
    strict: bool,
    digest_len: usize,
    key_buf: Vec<u8>,
}

impl DumpParser {
    /// A parser; `strict` is upstream's `CFS_PARSE_STRICT` mode and
    /// `digest_len` the digest size in bytes (32 for sha256).
    pub fn new(strict: bool, digest_len: usize) -> Self {
        DumpParser {
            tree: None,
            index: HashMap::new(),
            hardlinks: Vec::new(),
            strict,
            digest_len,
            key_buf: Vec::new(),
        }
    }

    fn lookup_child(&mut self, parent: NodeId, name: &[u8]) -> Option<NodeId> {
        self.key_buf.clear();
        self.key_buf.extend_from_slice(&parent.to_le_bytes());
        self.key_buf.extend_from_slice(name);
        self.index.get(self.key_buf.as_slice()).copied()
    }

    /// Walks `path` (without the last component) from the root.
    fn lookup_parent(&mut self, path: &[u8]) -> (Option<NodeId>, Vec<u8>) {
        let mut cur = ROOT;
        let mut p = path;
        loop {
            while let [b'/', rest @ ..] = p {
                p = rest;
            }
            let end = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
            if end == p.len() {
                return (Some(cur), p.to_vec());
            }
            let name = &p[..end];
            match self.lookup_child(cur, name) {
                Some(child) => cur = child,
                None => return (None, Vec::new()),
            }
            p = &p[end..];
        }
    }

    /// Resolves a full path to a node.
    fn lookup_path(&mut self, path: &[u8]) -> Option<NodeId> {
        let mut cur = ROOT;
        let mut p = path;
        loop {
            while let [b'/', rest @ ..] = p {
                p = rest;
            }
            if p.is_empty() {
                return Some(cur);
            }
            let end = p.iter().position(|&c| c == b'/').unwrap_or(p.len());
            cur = self.lookup_child(cur, &p[..end])?;
            p = &p[end..];
        }
    }

    fn add_node(&mut self, path: &[u8], node: Node) -> Result<NodeId, ParseError> {
        if path == b"/" {
            if !node.is_dir() {
                return err("Root must be a directory");
            }
            if self.tree.is_some() {
                return err("Can't have multiple roots");
            }
            let mut root = node;
            root.parent = ROOT;
            self.tree = Some(Tree::new(root));
            return Ok(ROOT);
        }
        if self.tree.is_none() {
            return err("Root node not present");
        }
        let (parent, name) = self.lookup_parent(path);
        let Some(parent) = parent else {
            return err(format!("Parent directory missing for {}", show(path)));
        };
        let tree = self
            .tree
            .as_mut()
            .ok_or_else(|| ParseError("Root node not present".into()))?;
        if !tree.node(parent).is_dir() {
            return err(format!("Parent must be a directory for {}", show(path)));
        }
        if name == b"." || name == b".." {
            return err(format!("Invalid . or .. in path: {}", show(path)));
        }
        if name.is_empty() || name.len() > NAME_MAX {
            return err("Can't add child");
        }
        self.key_buf.clear();
        self.key_buf.extend_from_slice(&parent.to_le_bytes());
        self.key_buf.extend_from_slice(&name);
        if self.index.contains_key(self.key_buf.as_slice()) {
            return err(format!("Path {} already exist", show(path)));
        }
        let tree = self
            .tree
            .as_mut()
            .ok_or_else(|| ParseError("Root node not present".into()))?;
        let id = tree.push(node);
        tree.attach(parent, id, &name)
            .map_err(|_| ParseError("Can't add child".into()))?;
        self.index.insert(self.key_buf.as_slice().into(), id);
        Ok(id)
    }

    /// Parses one line (without its newline).
    pub fn parse_line(&mut self, mut line: &[u8]) -> Result<(), ParseError> {
        if let Some(off) = line.iter().position(|&c| c == 0) {
            return err(format!("Invalid embedded NUL character at position {off}"));
        }
        let mut fields: [&[u8]; 11] = [&[]; 11];
        for f in fields.iter_mut() {
            *f = next_field(&mut line, b' ').0;
        }
        let [f_path, f_size, f_mode, f_nlink, f_uid, f_gid, f_rdev, f_mtime, f_payload, f_content, f_digest] =
            fields;

        let path_buf = unescape(f_path)?;
        let path = c_str(&path_buf);
        if path.is_empty() {
            return err("Invalid empty path");
        }

        let (is_hardlink, mode_field) = match f_mode {
            [b'@', rest @ ..] => (true, rest),
            m => (false, m),
        };
        let mode = parse_int(mode_field, 8)? as u32;
        if !valid_mode(mode) {
            return err(format!("Invalid mode {mode:o}"));
        }
        let node = Node::new(mode);
        let is_dir = node.is_dir();
        let id = self.add_node(path, node)?;

        if is_hardlink {
            if is_dir {
                return err("Directories can't be hardlinked");
            }
            let target = unescape_optional(f_payload)?.map(|t| c_str(&t).to_vec());
            self.hardlinks.push((id, target));
            return Ok(());
        }

        let size = parse_int(f_size, 10)?;
        let nlink = parse_int(f_nlink, 10)?;
        let uid = parse_int(f_uid, 10)?;
        // Upstream checks the uid where it means the gid and the rdev: a bad
        // gid or rdev is only an error when the uid is 0, and reads as 0.
        let gid = match c_strtoull(f_gid, 10) {
            Some(v) => v,
            None if uid == 0 => return err(format!("Invalid integer {}", show(f_gid))),
            None => 0,
        };
        let rdev = match c_strtoull(f_rdev, 10) {
            Some(v) => v,
            None if uid == 0 => return err(format!("Invalid integer {}", show(f_rdev))),
            None => 0,
        };
        let mut mtime = f_mtime;
        let sec_field = next_field(&mut mtime, b'.').0;
        let sec = parse_int(sec_field, 10)?;
        let nsec = parse_int(mtime, 10)?;

        let payload = unescape_optional(f_payload)?;
        let content = unescape_optional(f_content)?;
        if let Some(c) = &content {
            if c.len() as u64 != size {
                return err(format!(
                    "Invalid content size {}, must match size {}",
                    c.len(),
                    size as i64
                ));
            }
        }
        let digest = unescape_optional(f_digest)?;

        let strict = self.strict;
        let digest_len = self.digest_len;
        let tree = self
            .tree
            .as_mut()
            .ok_or_else(|| ParseError("Root node not present".into()))?;
        let n = tree.node_mut(id);
        let ftype = n.file_type();
        if ftype != S_IFLNK {
            n.size = size;
        }
        n.nlink = nlink as u32;
        n.uid = uid as u32;
        n.gid = gid as u32;
        if ftype == S_IFCHR || ftype == S_IFBLK {
            n.rdev = rdev as u32;
        } else if strict && rdev != 0 {
            return err("Non-zero devnum on non-device");
        }
        n.mtime_sec = sec as i64;
        n.mtime_nsec = nsec as u32;
        if ftype == S_IFLNK {
            let target = payload.as_deref().map(c_str);
            n.set_symlink_payload(target)
                .map_err(|_| ParseError("Invalid symlink".into()))?;
            if strict {
                let len = target.map_or(0, <[u8]>::len) as u64;
                if size != len {
                    return err(format!(
                        "Invalid symlink size {len}, must match size {}",
                        size as i64
                    ));
                }
                if content.as_ref().is_some_and(|c| !c.is_empty()) {
                    return err("Symlink cannot have content");
                }
            }
        } else {
            n.set_payload(payload.as_deref().map(c_str))
                .map_err(|_| ParseError("Invalid payload".into()))?;
            if let Some(c) = &content {
                if c.len() > INLINE_CONTENT_MAX {
                    return err(format!(
                        "Inline content size {} exceeds maximum {}",
                        c.len(),
                        INLINE_CONTENT_MAX
                    ));
                }
                n.set_content(c)
                    .map_err(|_| ParseError("Invalid content".into()))?;
            }
        }
        if let Some(d) = &digest {
            n.digest = Some(parse_digest(c_str(d), digest_len));
        }

        if line.len() > u16::MAX as usize {
            return err("Too many xattrs");
        }
        while !line.is_empty() {
            let (xattr, _) = next_field(&mut line, b' ');
            let mut rest = xattr;
            let (key, partial) = next_field(&mut rest, b'=');
            if partial {
                return err("Missing = in xattr");
            }
            let key = unescape(key)?;
            let value = unescape(rest)?;
            n.set_xattr(c_str(&key), &value)
                .map_err(|_| ParseError("Can't set xattr".into()))?;
        }
        Ok(())
    }

    /// Parses a whole dump held in memory.
    pub fn parse_all(mut self, data: &[u8]) -> Result<Tree, ParseError> {
        let mut rest = data;
        while !rest.is_empty() {
            let (line, partial) = next_field(&mut rest, b'\n');
            if partial && self.strict {
                return err("Missing trailing newline");
            }
            self.parse_line(line)?;
        }
        self.finish()
    }

    /// Resolves hard links and returns the tree with sorted children.
    pub fn finish(mut self) -> Result<Tree, ParseError> {
        if self.tree.is_none() {
            return err("No files in dump file");
        }
        // Upstream keeps its fix-ups in a list it prepends to: last first.
        let hardlinks = std::mem::take(&mut self.hardlinks);
        for (node, target) in hardlinks.into_iter().rev() {
            let Some(target_path) = target else {
                return err("No target path for the hardlink");
            };
            let Some(target) = self.lookup_path(&target_path) else {
                return err(format!("No target at {} for hardlink", show(&target_path)));
            };
            if target == node {
                return err(format!("Self-referential hardlink {}", show(&target_path)));
            }
            let tree = self
                .tree
                .as_mut()
                .ok_or_else(|| ParseError("No files in dump file".into()))?;
            match tree.follow_links(target) {
                Ok(_) => tree.node_mut(node).link_to = Some(target),
                Err(TreeError::Loop) | Err(_) => tree.node_mut(node).link_invalid = true,
            }
        }
        let mut tree = self
            .tree
            .take()
            .ok_or_else(|| ParseError("No files in dump file".into()))?;
        tree.sort_children();
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoull_like_c() {
        assert_eq!(c_strtoull(b"10", 10), Some(10));
        assert_eq!(c_strtoull(b"\t+10", 10), Some(10));
        assert_eq!(c_strtoull(b"-1", 10), Some(u64::MAX));
        assert_eq!(c_strtoull(b"99999999999999999999999", 10), Some(u64::MAX));
        assert_eq!(c_strtoull(b"", 10), None);
        assert_eq!(c_strtoull(b"+", 10), None);
        assert_eq!(c_strtoull(b"1x", 10), None);
        assert_eq!(c_strtoull(b"0755", 8), Some(0o755));
        assert_eq!(c_strtoull(b"8", 8), None);
    }

    #[test]
    fn strtol_like_c() {
        assert_eq!(c_strtol("1"), Some(1));
        assert_eq!(c_strtol("-3"), Some(-3));
        assert_eq!(c_strtol(" 7"), Some(7));
        assert_eq!(c_strtol("x"), None);
        assert_eq!(c_strtol(""), None);
        assert_eq!(c_strtol("99999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(br"a\x3db\\\n\t\r").unwrap(), b"a=b\\\n\t\r");
        assert!(unescape(br"\q").is_err());
        assert!(unescape(br"\x4").is_err());
        assert!(unescape(br"\").is_err());
        assert!(unescape(br"\xzz").is_err());
    }

    #[test]
    fn parses_small_tree() {
        let dump = b"/ 4096 40755 2 0 0 0 0.0 - - -\n/a 5 100644 1 0 0 0 1.5 - hello - user.x=y\n/h 0 @100644 0 0 0 0 0.0 /a - -\n";
        let tree = DumpParser::new(true, 32).parse_all(dump).unwrap();
        assert_eq!(tree.nodes.len(), 3);
        let a = tree.lookup_child(ROOT, b"a").unwrap();
        assert_eq!(tree.node(a).content.as_deref(), Some(&b"hello"[..]));
        assert_eq!(tree.node(a).mtime_nsec, 5);
        let h = tree.lookup_child(ROOT, b"h").unwrap();
        assert_eq!(tree.node(h).link_to, Some(a));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            &b"/ 4096 40755 2 0 0 0 0.0 - - -\n/. 0 100644 1 0 0 0 0.0 - - -\n"[..],
            b"/ 4096 40755 2 0 0 0 0.0 - - -\n/x 0 0 1 0 0 0 0.0 - - -\n",
            b"/ 4096 40755 2 0 0 0 0.0 - - -\n/x 0 @100644 1 0 0 0 0.0 /x - -\n",
            b"/ 4096 40755 2 0 0 0 0.0 - - -\n/x 0 100644 1 0 0 0 0.0 - - - =v\n",
            b"",
        ] {
            assert!(DumpParser::new(false, 32).parse_all(bad).is_err());
        }
        assert!(DumpParser::new(true, 32)
            .parse_all(b"/ 4096 40755 2 0 0 0 0.0 - - -")
            .is_err());
        assert!(DumpParser::new(false, 32)
            .parse_all(b"/ 4096 40755 2 0 0 0 0.0 - - -")
            .is_ok());
    }
}
