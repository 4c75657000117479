// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Property-style generation of composefs dump files from a seed.
//!
//! Every generated dump is valid input (also in strict mode, `CFS_PARSE_STRICT`): what a
//! dump exercises is the writer. The generator covers every file type, the xattr kinds
//! (shared, ACLs, overlay names that get escaped, odd prefixes and bytes), the size classes
//! around the inline and block limits, names of 1..255 bytes with odd bytes, hard links,
//! whiteouts, ids and link counts above 65535, negative and fractional mtimes, and deep
//! and wide directories.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{escape, escape_field, hex, Rng};

/// Sizes of inline content: around 0, the recommended inline limit (64), half a block,
/// a block, and the maximum (5000).
pub const INLINE_SIZES: &[usize] = &[
    1, 2, 63, 64, 65, 100, 2047, 2048, 2049, 4095, 4096, 4097, 5000,
];

/// Sizes of external files: small, block boundaries, 32-bit boundaries, > 4 GiB, the
/// 8 PiB-class size whose chunk index no longer fits inline, and sizes where upstream's
/// chunk count computation wraps around.
pub const EXTERNAL_SIZES: &[u64] = &[
    1,
    64,
    65,
    2048,
    2049,
    4096,
    4097,
    5000,
    1 << 20,
    (1 << 32) - 1,
    1 << 32,
    5_000_000_000,
    1 << 40,
    9_000_000_000_000_000,
    u64::MAX,
];

/// Symlink target lengths, up to the longest accepted (4095).
pub const SYMLINK_LENGTHS: &[usize] = &[1, 2, 10, 100, 1000, 2000, 3000, 4000, 4050, 4095];

/// (key, value) pairs that several inodes carry, so they end up in the shared table.
const SHARED_XATTRS: &[(&[u8], &[u8])] = &[
    (b"user.shared", b"same"),
    (b"user.shared", b"other"),
    (b"user.shared", b"sam"),
    (b"user.a", b""),
    (b"security.selinux", b"system_u:object_r:usr_t:s0\0"),
    (b"security.selinux", b"system_u:object_r:bin_t:s0\0"),
    (b"trusted.overlay.redirect", b"/elsewhere"),
    (b"trusted.x", b"\x00\x01\x02"),
    (b"user.overlay.opaque", b"y"),
    (
        b"security.capability",
        b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    ),
];

/// A valid non-trivial POSIX ACL (a named-user entry), as the kernel stores it.
const ACL: &[u8] = b"\x02\x00\x00\x00\x01\x00\x06\x00\xff\xff\xff\xff\x02\x00\x04\x00\xe8\x03\x00\x00\x04\x00\x04\x00\xff\xff\xff\xff\x10\x00\x06\x00\xff\xff\xff\xff\x20\x00\x04\x00\xff\xff\xff\xff";

/// Keys with prefixes the writer maps to each EROFS prefix index, and some it does not know.
const ODD_KEYS: &[&[u8]] = &[
    b"trusted.overlay.opaque",
    b"trusted.overlay.metacopy",
    b"trusted.overlay.whiteout",
    b"trusted.overlay.overlay.nested",
    b"trusted.overlayx",
    b"user.overlay.whiteout",
    b"user.",
    b"trusted.",
    b"security.",
    b"lustre.thing",
    b"system.other",
    b"foo.bar",
    b"x",
    b"user.with=equal",
    b"user.with space",
    b"user.\xff\x01\x7f",
    b"user.back\\slash\ttab\nnl",
];

/// Generated dump files.
pub struct DumpGen {
    rng: Rng,
    out: String,
    /// Escaped paths of non-directories, for hard-link targets.
    link_targets: Vec<String>,
    entries: usize,
    budget: usize,
    max_depth: usize,
    mtimes: Vec<(i64, u32)>,
    /// Per-dump knobs, so that dumps differ in character.
    big_ids: bool,
}

impl DumpGen {
    /// A generator for one dump from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let base = *rng.pick(&[0i64, 1_695_372_970, 10, 1 << 33]);
        let mut mtimes = vec![
            (base, 0),
            (base, 0),
            (base, 0),
            (base + 1, 0),
            (base, 1),
            (base, 999_999_999),
        ];
        if rng.chance(1, 3) {
            mtimes.push((-1, 999_999_999));
            mtimes.push((-86_400 * 400, 5));
        }
        if rng.chance(1, 4) {
            mtimes.push((base, rng.below(1_000_000_000) as u32));
        }
        let budget = *rng.pick(&[20, 80, 200, 400, 1200]);
        let max_depth = *rng.pick(&[2, 4, 8, 40]);
        let big_ids = rng.chance(1, 3);
        DumpGen {
            rng,
            out: String::new(),
            link_targets: Vec::new(),
            entries: 0,
            budget,
            max_depth,
            mtimes,
            big_ids,
        }
    }

    /// Generates the whole dump.
    pub fn generate(mut self) -> String {
        let root_xattrs = if self.rng.chance(1, 2) {
            self.xattrs(false)
        } else {
            String::new()
        };
        let (s, ns) = self.mtime();
        let _ = writeln!(self.out, "/ 4096 40755 2 0 0 0 {s}.{ns} - - -{root_xattrs}");
        let mut pending = vec![(String::new(), 0usize)];
        // Breadth-first over directories keeps the budget spread over the tree.
        let mut i = 0;
        while i < pending.len() && self.entries < self.budget {
            let (dir, depth) = pending[i].clone();
            i += 1;
            let n = self.child_count(depth);
            let mut names = HashSet::new();
            for _ in 0..n {
                if self.entries >= self.budget {
                    break;
                }
                let name = self.name(&mut names);
                let path = format!("{dir}/{name}");
                if self.entry(&path, depth) {
                    pending.push((path, depth + 1));
                }
            }
        }
        // Hard links last: they may point anywhere, also to other hard links.
        let links = self.rng.below(8);
        for k in 0..links {
            if self.link_targets.is_empty() {
                break;
            }
            let target = self.rng.pick(&self.link_targets).clone();
            let path = format!("/zz-link{k}");
            let perm = self.rng.below(0o10000);
            let _ = writeln!(self.out, "{path} 0 @10{perm:04o} 1 0 0 0 0.0 {target} - -");
            self.link_targets.push(path);
        }
        self.out
    }

    fn child_count(&mut self, depth: usize) -> usize {
        if depth == 0 {
            return 10 + self.rng.index(30);
        }
        match self.rng.below(10) {
            0 => 0,
            1..=5 => 1 + self.rng.index(4),
            6..=8 => 5 + self.rng.index(20),
            _ => 50 + self.rng.index(300),
        }
    }

    /// A new escaped name unique among `taken`: 1..255 bytes, some with odd bytes.
    fn name(&mut self, taken: &mut HashSet<Vec<u8>>) -> String {
        loop {
            let len = match self.rng.below(8) {
                0 => 1,
                1 => 255,
                2 => 200 + self.rng.index(56),
                3 => 2,
                _ => 1 + self.rng.index(24),
            };
            let odd = self.rng.chance(1, 6);
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    if odd {
                        // Any byte but NUL and '/'.
                        let b = 1 + self.rng.below(255) as u8;
                        if b == b'/' {
                            b'_'
                        } else {
                            b
                        }
                    } else {
                        *self
                            .rng
                            .pick(b"abcdefghijklmnopqrstuvwxyz0123456789-_.ABCXYZ")
                    }
                })
                .collect();
            if bytes == b"." || bytes == b".." || !taken.insert(bytes.clone()) {
                continue;
            }
            let upper = self.rng.chance(1, 4);
            return if bytes == b"-" {
                "\\x2d".into()
            } else {
                escape(&bytes, false, upper)
            };
        }
    }

    fn mtime(&mut self) -> (String, u32) {
        let (s, ns) = *self.rng.pick(&self.mtimes);
        (s.to_string(), ns)
    }

    fn id(&mut self) -> u64 {
        if self.big_ids && self.rng.chance(1, 4) {
            *self.rng.pick(&[65_535u64, 65_536, 100_000, 4_294_967_295])
        } else {
            *self.rng.pick(&[0u64, 0, 0, 1, 1000])
        }
    }

    fn nlink(&mut self) -> u64 {
        if self.big_ids && self.rng.chance(1, 6) {
            *self.rng.pick(&[65_535u64, 65_536, 1_000_000])
        } else {
            1 + self.rng.below(3)
        }
    }

    /// Generates one entry at `path`; returns true for a directory.
    fn entry(&mut self, path: &str, depth: usize) -> bool {
        self.entries += 1;
        let perm = if self.rng.chance(1, 2) {
            0o644
        } else {
            self.rng.below(0o10000)
        };
        let (sec, nsec) = self.mtime();
        let uid = self.id();
        let gid = self.id();
        let nlink = self.nlink();
        let kind = self.rng.below(20);
        // Overlay xattr names on directories and whiteouts collide with the ones the writer
        // adds there, which upstream's accounting mostly turns into ERANGE for the whole
        // image: the edge dumps test that; here they would spoil too many dumps.
        let is_dir = kind <= 4 && depth < self.max_depth;
        let overlay_ok = !is_dir && kind < 17;
        let xattrs = if self.rng.chance(2, 5) {
            self.xattrs(overlay_ok)
        } else {
            String::new()
        };
        let head = |size: &dyn std::fmt::Display, mode: u64, rdev: u64| {
            format!("{path} {size} {mode:o} {nlink} {uid} {gid} {rdev} {sec}.{nsec}")
        };
        let line = match kind {
            0..=4 if depth < self.max_depth => {
                let _ = writeln!(self.out, "{} - - -{xattrs}", head(&4096, 0o40000 | perm, 0));
                return true;
            }
            0..=6 => {
                let size = *self.rng.pick(INLINE_SIZES);
                let content = self.rng.bytes(size);
                format!(
                    "{} - {} -{xattrs}",
                    head(&size, 0o100000 | perm, 0),
                    escape_field(&content)
                )
            }
            7 => format!("{} - - -{xattrs}", head(&0, 0o100000 | perm, 0)),
            8..=10 => {
                let size = *self.rng.pick(EXTERNAL_SIZES);
                let digest = self.rng.bytes(32);
                let payload = match self.rng.below(4) {
                    0 => "-".to_string(),
                    1 => format!("some/where/{}", hex(&digest[..4])),
                    _ => format!("{}/{}", hex(&digest[..1]), hex(&digest[1..])),
                };
                let digest = if self.rng.chance(3, 4) {
                    hex(&digest)
                } else {
                    "-".into()
                };
                format!(
                    "{} {payload} - {digest}{xattrs}",
                    head(&size, 0o100000 | perm, 0)
                )
            }
            11..=12 => {
                let len = *self.rng.pick(SYMLINK_LENGTHS);
                let target: Vec<u8> = (0..len)
                    .map(|_| {
                        if self.rng.chance(1, 20) {
                            1 + self.rng.below(255) as u8
                        } else {
                            b'a' + self.rng.below(26) as u8
                        }
                    })
                    .collect();
                format!(
                    "{} {} - -{xattrs}",
                    head(&len, 0o120777, 0),
                    escape_field(&target)
                )
            }
            13 => {
                let rdev = *self
                    .rng
                    .pick(&[1u64, 0x0103, 107_690, 65_536 * 3 + 7, 4_294_967_295]);
                format!("{} - - -{xattrs}", head(&0, 0o20000 | perm, rdev))
            }
            14 => {
                let rdev = *self.rng.pick(&[1u64, 0x0801, 10_769, 1 << 20]);
                format!("{} - - -{xattrs}", head(&0, 0o60000 | perm, rdev))
            }
            15 => format!("{} - - -{xattrs}", head(&0, 0o10000 | perm, 0)),
            16 => format!("{} - - -{xattrs}", head(&0, 0o140000 | perm, 0)),
            // A whiteout: a character device 0:0.
            _ => format!("{} - - -{xattrs}", head(&0, 0o20000 | perm, 0)),
        };
        let _ = writeln!(self.out, "{line}");
        self.link_targets.push(path.to_string());
        false
    }

    /// A space-prefixed list of xattrs (possibly empty); without overlay names (`user.overlay.*`,
    /// `trusted.overlay.*`) unless `overlay_ok`.
    fn xattrs(&mut self, overlay_ok: bool) -> String {
        let mut s = String::new();
        let n = match self.rng.below(10) {
            0..=5 => 1 + self.rng.below(3),
            6..=8 => 4 + self.rng.below(8),
            _ => 20 + self.rng.below(20),
        };
        for _ in 0..n {
            let (key, value): (Vec<u8>, Vec<u8>) = match self.rng.below(12) {
                0..=4 => {
                    let (k, v) = *self.rng.pick(SHARED_XATTRS);
                    (k.to_vec(), v.to_vec())
                }
                5 => {
                    let len = if self.rng.chance(1, 8) {
                        500 + self.rng.index(1500)
                    } else {
                        self.rng.index(40)
                    };
                    (
                        format!("user.u{}", self.rng.below(1000)).into_bytes(),
                        self.rng.bytes(len),
                    )
                }
                6 => {
                    let key: &[u8] = if self.rng.chance(1, 2) {
                        b"system.posix_acl_access"
                    } else {
                        b"system.posix_acl_default"
                    };
                    (key.to_vec(), ACL.to_vec())
                }
                7 => ((*self.rng.pick(ODD_KEYS)).to_vec(), b"v=1 =".to_vec()),
                8 => ((*self.rng.pick(ODD_KEYS)).to_vec(), self.rng.bytes(3)),
                9 => (b"trusted.overlay.metacopy".to_vec(), self.rng.bytes(36)),
                10 => {
                    let len = 1 + self.rng.index(200);
                    let key: Vec<u8> = (0..len).map(|_| b'a' + self.rng.below(26) as u8).collect();
                    ([&b"user."[..], &key].concat(), b"long-key".to_vec())
                }
                _ => (
                    format!("trusted.k{}", self.rng.below(4)).into_bytes(),
                    b"shared-maybe".to_vec(),
                ),
            };
            let key = if !overlay_ok
                && (key.starts_with(b"user.overlay.") || key.starts_with(b"trusted.overlay."))
            {
                b"user.not-overlay".to_vec()
            } else {
                key
            };
            let upper = self.rng.chance(1, 5);
            let _ = write!(
                s,
                " {}={}",
                escape(&key, true, upper),
                escape(&value, true, upper)
            );
        }
        s
    }
}

/// A directory at `path` whose entries (with `.` and `..`) take exactly `bytes` bytes of
/// dirents (12 bytes per entry plus the name), so its tail lands where a test wants it.
pub fn dir_of_dirent_bytes(out: &mut String, path: &str, bytes: usize) {
    let _ = writeln!(out, "{path} 4096 40755 2 0 0 0 0.0 - - -");
    let mut left = bytes - (12 + 1) - (12 + 2);
    let mut i = 0;
    while left > 0 {
        // Entries of 212 bytes, then one that takes exactly what is left (at least 13).
        let take = if left >= 212 + 13 || left == 212 {
            212
        } else {
            left
        };
        let name_len = take - 12;
        let mut name = format!("{i:05}");
        while name.len() < name_len {
            name.push('n');
        }
        let _ = writeln!(out, "{path}/{name} 0 100644 1 0 0 0 0.0 - - -");
        left -= take;
        i += 1;
    }
}
