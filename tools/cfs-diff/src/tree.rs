// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Random trees and their composefs-dump text.
//!
//! A tree holds every entry type (directories, inline and external regular files, empty
//! and sparse ones, symlinks, device nodes including the 0/0 whiteout, fifos, sockets,
//! hard links), long and odd names, xattrs of every namespace (`user.`, `trusted.`,
//! `security.`, `trusted.overlay.*` that the writer escapes, POSIX ACLs, and `lustre.`
//! and `system.` names that EROFS cannot read) and odd owners,
//! modes and times. `mkcomposefs --from-file` turns the dump into an image.

use crate::rng::Rng;
use cfs_format::fsverity::{digest_bytes, to_hex, HashAlg};

/// What an entry is.
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file whose data is in the image (possibly empty).
    Inline(Vec<u8>),
    /// A regular file backed by `objects[obj]`; `digest`: whether the image records the
    /// object's fs-verity digest.
    External { obj: usize, digest: bool },
    /// A symlink and its target.
    Symlink(Vec<u8>),
    /// A character device (major, minor); 0/0 is an overlay whiteout.
    Chr(u32, u32),
    /// A block device (major, minor).
    Blk(u32, u32),
    /// A fifo.
    Fifo,
    /// A socket.
    Sock,
    /// A hard link to `entries[target]`.
    HardLink(usize),
}

/// One entry of the tree.
pub struct Entry {
    /// Absolute path (`/` for the root).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// Permission bits (`0o7777`).
    pub perm: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Modification time: seconds and nanoseconds.
    pub mtime: (u64, u32),
    /// Extended attributes as a user sees them (name, value).
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A backing object: its data and where the image says it lies under a basedir.
pub struct Object {
    /// The contents (zeros where the file is sparse).
    pub data: Vec<u8>,
    /// The sha256 fs-verity digest of `data`.
    pub digest: Vec<u8>,
    /// The redirect, relative to a basedir (`xx/yyyy...`, or ostree's `xx/yyyy....file`).
    pub rel: String,
}

/// A random tree.
pub struct Tree {
    /// Entries, parents before children; `entries[0]` is the root.
    pub entries: Vec<Entry>,
    /// The backing objects external files name.
    pub objects: Vec<Object>,
}

/// Picks a file name that `taken` does not hold.
fn name(r: &mut Rng, taken: &[Vec<u8>], at_root: bool) -> Vec<u8> {
    const PLAIN: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789._-";
    loop {
        let n = match r.below(20) {
            0 => r.range(200, 255) as usize,
            1 => r.range(13, 60) as usize,
            _ => r.range(1, 12) as usize,
        };
        let odd = r.chance(10);
        let v: Vec<u8> = (0..n)
            .map(|_| {
                if odd && r.chance(30) {
                    // Anything but '/' and NUL: spaces, controls, bytes that are not UTF-8.
                    let b = r.range(1, 255) as u8;
                    if b == b'/' {
                        b'x'
                    } else {
                        b
                    }
                } else {
                    *r.pick(PLAIN)
                }
            })
            .collect();
        if v == b"." || v == b".." || taken.contains(&v) {
            continue;
        }
        // The root's 00..ff names are the writer's whiteout stubs.
        if at_root && v.len() == 2 && v.iter().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        return v;
    }
}

/// A permission mode, mostly usual ones.
fn perm(r: &mut Rng, dir: bool) -> u32 {
    let usual: &[u32] = if dir {
        &[0o755, 0o755, 0o700, 0o711, 0o1777, 0o555, 0o000, 0o2775]
    } else {
        &[
            0o644, 0o644, 0o755, 0o600, 0o400, 0o000, 0o4755, 0o2711, 0o777, 0o1644,
        ]
    };
    if r.chance(10) {
        r.below(0o10000) as u32
    } else {
        *r.pick(usual)
    }
}

/// An owner or group id.
fn id(r: &mut Rng) -> u32 {
    match r.below(8) {
        0..=3 => 0,
        4 => 1000,
        5 => 1001,
        6 => 65534,
        _ => r.below(1 << 20) as u32,
    }
}

/// A POSIX ACL xattr value (`posix_acl_xattr_header` + entries) giving `uid`/`gid` extra
/// access; valid as the kernel checks it.
fn acl(r: &mut Rng) -> Vec<u8> {
    let mut v = 2u32.to_le_bytes().to_vec();
    let mut entry = |tag: u16, perm: u16, id: u32| {
        v.extend_from_slice(&tag.to_le_bytes());
        v.extend_from_slice(&perm.to_le_bytes());
        v.extend_from_slice(&id.to_le_bytes());
    };
    let p = |r: &mut Rng| r.below(8) as u16;
    entry(0x01, p(r), u32::MAX); // ACL_USER_OBJ
    entry(0x02, p(r), 1000); // ACL_USER
    entry(0x04, p(r), u32::MAX); // ACL_GROUP_OBJ
    entry(0x08, p(r), 1000); // ACL_GROUP
    entry(0x10, p(r), u32::MAX); // ACL_MASK
    entry(0x20, p(r), u32::MAX); // ACL_OTHER
    v
}

/// Xattrs for an entry.
fn xattrs(r: &mut Rng, dir: bool, symlink: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    if r.chance(55) {
        return out;
    }
    let n = r.range(1, 5);
    for _ in 0..n {
        let (key, value) = match r.below(12) {
            // ACLs: not on symlinks (the kernel refuses them there).
            0 if !symlink => (b"system.posix_acl_access".to_vec(), acl(r)),
            1 if dir => (b"system.posix_acl_default".to_vec(), acl(r)),
            k => {
                let prefix: &[u8] = match k % 6 {
                    0 => b"user.",
                    1 => b"trusted.",
                    2 => b"security.",
                    3 => b"trusted.overlay.",
                    4 => b"user.overlay.",
                    _ => {
                        // `lustre.` and `system.` names are stored with no prefix
                        // index; EROFS has no handler for them.
                        let more: [&[u8]; 5] = [
                            b"user.",
                            b"trusted.overlay.overlay.",
                            b"security.x",
                            b"lustre.",
                            b"system.x",
                        ];
                        more[r.index(more.len())]
                    }
                };
                let mut key = prefix.to_vec();
                let len = if r.chance(5) {
                    r.range(100, 200)
                } else {
                    r.range(1, 16)
                };
                key.extend((0..len).map(|_| *r.pick(b"abcdefghijklmnopqrstuvwxyz0123456789_.")));
                let vlen = match r.below(10) {
                    0 => 0,
                    1 => r.range(200, 900),
                    _ => r.range(1, 40),
                } as usize;
                (key, r.bytes(vlen))
            }
        };
        if !out.iter().any(|(k, _)| *k == key) {
            out.push((key, value));
        }
    }
    out
}

/// Data for a regular file of `size` bytes; large ones are sparse (mostly zeros).
fn file_data(r: &mut Rng, size: usize) -> Vec<u8> {
    if size <= 65536 {
        return r.bytes(size);
    }
    let mut v = vec![0u8; size];
    for _ in 0..r.range(1, 4) {
        let at = r.index(size);
        let len = (r.range(1, 8192) as usize).min(size - at);
        let bytes = r.bytes(len);
        v[at..at + len].copy_from_slice(&bytes);
    }
    v
}

impl Tree {
    /// A random tree of about `n` entries.
    pub fn generate(r: &mut Rng, n: usize) -> Tree {
        let mut t = Tree {
            entries: vec![Entry {
                path: b"/".to_vec(),
                kind: Kind::Dir,
                perm: 0o755,
                uid: 0,
                gid: 0,
                mtime: (r.below(1 << 32), 0),
                xattrs: xattrs(r, true, false),
            }],
            objects: Vec::new(),
        };
        // Names taken per directory (index into entries -> names).
        let mut children: Vec<(usize, Vec<Vec<u8>>)> = vec![(0, Vec::new())];
        for _ in 1..n {
            // A parent: recent directories more often, so that some are deep.
            let ci = if r.chance(50) {
                children.len() - 1 - r.index(children.len().min(4))
            } else {
                r.index(children.len())
            };
            let parent = children[ci].0;
            let nm = name(r, &children[ci].1, parent == 0);
            children[ci].1.push(nm.clone());
            let mut path = t.entries[parent].path.clone();
            if path != b"/" {
                path.push(b'/');
            }
            path.extend_from_slice(&nm);
            let kind = match r.below(100) {
                0..=17 => Kind::Dir,
                18..=39 => {
                    let size = match r.below(8) {
                        0 => 0,
                        1 => r.range(4090, 5000) as usize,
                        _ => r.range(1, 300) as usize,
                    };
                    Kind::Inline(r.bytes(size))
                }
                40..=69 => {
                    let obj = if !t.objects.is_empty() && r.chance(15) {
                        r.index(t.objects.len())
                    } else {
                        let size = match r.below(10) {
                            0 => 0,
                            1 => r.range(65537, 3 << 20) as usize,
                            2 => 4096 * r.range(1, 4) as usize,
                            _ => r.range(1, 20000) as usize,
                        };
                        let data = file_data(r, size);
                        let digest = digest_bytes(HashAlg::Sha256, &data);
                        // One object per digest: the store has one path for it.
                        if let Some(i) = t.objects.iter().position(|o| o.digest == digest) {
                            t.entries.push(Entry {
                                path,
                                kind: Kind::External {
                                    obj: i,
                                    digest: true,
                                },
                                perm: 0o644,
                                uid: 0,
                                gid: 0,
                                mtime: (0, 0),
                                xattrs: Vec::new(),
                            });
                            continue;
                        }
                        let hex = to_hex(&digest);
                        let rel = if r.chance(15) {
                            format!("{}/{}.file", &hex[..2], &hex[2..])
                        } else {
                            format!("{}/{}", &hex[..2], &hex[2..])
                        };
                        t.objects.push(Object { data, digest, rel });
                        t.objects.len() - 1
                    };
                    Kind::External {
                        obj,
                        digest: !r.chance(10),
                    }
                }
                70..=81 => {
                    let target = match r.below(5) {
                        0 => {
                            let l = if r.chance(20) {
                                r.range(256, 1500)
                            } else {
                                r.range(1, 60)
                            };
                            (0..l).map(|_| *r.pick(b"abc/._-xyz")).collect()
                        }
                        1 => b"/".to_vec(),
                        _ => {
                            // An existing entry, by absolute path or as seen from here.
                            let e = &t.entries[r.index(t.entries.len())].path;
                            if r.chance(50) {
                                e.clone()
                            } else {
                                let mut v = b"../".repeat(r.range(0, 3) as usize);
                                v.extend_from_slice(e.strip_prefix(b"/").unwrap_or(e));
                                if v.is_empty() {
                                    v.push(b'.');
                                }
                                v
                            }
                        }
                    };
                    Kind::Symlink(target)
                }
                82..=84 => Kind::Chr(0, 0),
                85..=86 => Kind::Chr(r.below(256) as u32, r.below(256) as u32),
                87..=88 => Kind::Blk(r.below(256) as u32, r.below(256) as u32),
                89..=90 => Kind::Fifo,
                91 => Kind::Sock,
                _ => {
                    let targets: Vec<usize> = (1..t.entries.len())
                        .filter(|&i| {
                            matches!(
                                t.entries[i].kind,
                                Kind::Inline(_)
                                    | Kind::External { .. }
                                    | Kind::Symlink(_)
                                    | Kind::Fifo
                            )
                        })
                        .collect();
                    if targets.is_empty() {
                        Kind::Fifo
                    } else {
                        Kind::HardLink(*r.pick(&targets))
                    }
                }
            };
            let dir = matches!(kind, Kind::Dir);
            let symlink = matches!(kind, Kind::Symlink(_));
            let e = Entry {
                path,
                perm: if symlink { 0o777 } else { perm(r, dir) },
                uid: id(r),
                gid: id(r),
                mtime: (
                    r.below(1 << 33),
                    if r.chance(50) {
                        0
                    } else {
                        r.below(1_000_000_000) as u32
                    },
                ),
                xattrs: xattrs(r, dir, symlink),
                kind,
            };
            t.entries.push(e);
            if dir {
                children.push((t.entries.len() - 1, Vec::new()));
            }
        }
        t
    }

    /// The tree as composefs-dump text.
    pub fn dump(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for e in &self.entries {
            let line = self.dump_line(e);
            out.extend_from_slice(&line);
            out.push(b'\n');
        }
        out
    }

    fn dump_line(&self, e: &Entry) -> Vec<u8> {
        let mut l = escape(&e.path, false);
        let field = |l: &mut Vec<u8>, s: &[u8]| {
            l.push(b' ');
            l.extend_from_slice(s);
        };
        if let Kind::HardLink(t) = e.kind {
            field(&mut l, b"0 @100644 1 0 0 0 0.0");
            field(&mut l, &escape(&self.entries[t].path, false));
            field(&mut l, b"- -");
            return l;
        }
        let (ifmt, size, rdev, payload, content, digest): (
            u32,
            usize,
            u64,
            Vec<u8>,
            Vec<u8>,
            Vec<u8>,
        ) = match &e.kind {
            Kind::Dir => (0o040000, 0, 0, b"-".to_vec(), b"-".to_vec(), b"-".to_vec()),
            Kind::Inline(d) => (
                0o100000,
                d.len(),
                0,
                b"-".to_vec(),
                if d.is_empty() {
                    b"-".to_vec()
                } else {
                    escape_field(d)
                },
                b"-".to_vec(),
            ),
            Kind::External { obj, digest } => {
                let o = &self.objects[*obj];
                (
                    0o100000,
                    o.data.len(),
                    0,
                    o.rel.as_bytes().to_vec(),
                    b"-".to_vec(),
                    if *digest {
                        to_hex(&o.digest).into_bytes()
                    } else {
                        b"-".to_vec()
                    },
                )
            }
            Kind::Symlink(t) => (
                0o120000,
                t.len(),
                0,
                escape_field(t),
                b"-".to_vec(),
                b"-".to_vec(),
            ),
            Kind::Chr(ma, mi) => (
                0o020000,
                0,
                u64::from(*ma) << 8 | u64::from(*mi),
                b"-".to_vec(),
                b"-".to_vec(),
                b"-".to_vec(),
            ),
            Kind::Blk(ma, mi) => (
                0o060000,
                0,
                u64::from(*ma) << 8 | u64::from(*mi),
                b"-".to_vec(),
                b"-".to_vec(),
                b"-".to_vec(),
            ),
            Kind::Fifo => (0o010000, 0, 0, b"-".to_vec(), b"-".to_vec(), b"-".to_vec()),
            Kind::Sock => (0o140000, 0, 0, b"-".to_vec(), b"-".to_vec(), b"-".to_vec()),
            Kind::HardLink(_) => unreachable!("handled above"),
        };
        let nlink = if matches!(e.kind, Kind::Dir) { 2 } else { 1 };
        field(
            &mut l,
            format!(
                "{} {:o} {} {} {} {} {}.{}",
                size,
                ifmt | e.perm,
                nlink,
                e.uid,
                e.gid,
                rdev,
                e.mtime.0,
                e.mtime.1
            )
            .as_bytes(),
        );
        field(&mut l, &payload);
        field(&mut l, &content);
        field(&mut l, &digest);
        for (k, v) in &e.xattrs {
            let mut x = escape(k, true);
            x.push(b'=');
            x.extend_from_slice(&escape(v, true));
            field(&mut l, &x);
        }
        l
    }
}

/// Escapes `b` for the dump: every byte that is not a graphic ASCII character, `\`, and
/// (in xattrs) `=`, as `\xHH`.
pub fn escape(b: &[u8], xattr: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    for &c in b {
        if c <= 0x20 || c >= 0x7f || c == b'\\' || (xattr && c == b'=') {
            out.extend_from_slice(format!("\\x{c:02x}").as_bytes());
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes a PAYLOAD or CONTENT field, where a lone `-` would mean "none".
fn escape_field(b: &[u8]) -> Vec<u8> {
    if b == b"-" {
        b"\\x2d".to_vec()
    } else {
        escape(b, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_the_dump_parser_splits_on() {
        assert_eq!(
            escape(b"a b\\c=d\n\xff", false),
            b"a\\x20b\\x5cc=d\\x0a\\xff".to_vec()
        );
        assert_eq!(escape(b"k=v", true), b"k\\x3dv".to_vec());
        assert_eq!(escape_field(b"-"), b"\\x2d".to_vec());
    }

    #[test]
    fn generated_trees_are_reproducible_and_varied() {
        let a = Tree::generate(&mut Rng::new(1, 0), 300).dump();
        let b = Tree::generate(&mut Rng::new(1, 0), 300).dump();
        assert_eq!(a, b);
        let t = Tree::generate(&mut Rng::new(1, 0), 300);
        let has = |f: &dyn Fn(&Kind) -> bool| t.entries.iter().any(|e| f(&e.kind));
        assert!(has(&|k| matches!(k, Kind::Dir)));
        assert!(has(&|k| matches!(k, Kind::External { .. })));
        assert!(has(&|k| matches!(k, Kind::Inline(_))));
        assert!(has(&|k| matches!(k, Kind::Symlink(_))));
        assert!(has(&|k| matches!(k, Kind::HardLink(_))));
        // Every line has the 11 fixed fields, separated by single spaces.
        for line in a.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            assert!(
                line.split(|&c| c == b' ').count() >= 11,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
