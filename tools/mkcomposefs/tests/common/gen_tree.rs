// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Generated directory trees on the host filesystem: regular files of every size class,
//! symlinks, fifos, sockets, hard links, devices and whiteouts (as root), xattrs of several
//! namespaces set with `lsetxattr`, owners above 65535 and fixed mtimes.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::Rng;

/// What the host allowed while building a tree; tests print it so a reader knows what
/// was covered.
#[derive(Debug, Default)]
pub struct TreeInfo {
    /// Device nodes and whiteouts were created (needs root).
    pub devices: bool,
    /// Namespaces whose xattrs could be set (`user`, `trusted`, `security`, `system`).
    pub xattr_namespaces: Vec<&'static str>,
    /// Owners were changed (needs root).
    pub owners: bool,
    /// Number of entries created.
    pub entries: usize,
}

fn cpath(p: &Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).expect("path without NUL")
}

/// Sets an xattr on `p` (not following symlinks); false if the host refuses.
pub fn set_xattr(p: &Path, key: &str, value: &[u8]) -> bool {
    let c = cpath(p);
    let k = CString::new(key).expect("key");
    // SAFETY: valid C strings and a buffer of the given length.
    unsafe {
        libc::lsetxattr(
            c.as_ptr(),
            k.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        ) == 0
    }
}

fn mknod(p: &Path, mode: u32, major: u32, minor: u32) -> bool {
    let c = cpath(p);
    // SAFETY: a valid C string.
    unsafe { libc::mknod(c.as_ptr(), mode, libc::makedev(major, minor)) == 0 }
}

fn set_mtime(p: &Path, sec: i64, nsec: i64) {
    let c = cpath(p);
    let ts = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: sec,
            tv_nsec: nsec,
        },
    ];
    // SAFETY: a valid C string and two timespecs.
    let r = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            ts.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(r, 0, "utimensat {}", p.display());
}

fn chown(p: &Path, uid: u32, gid: u32) -> bool {
    let c = cpath(p);
    // SAFETY: a valid C string.
    unsafe { libc::lchown(c.as_ptr(), uid, gid) == 0 }
}

/// A valid non-trivial POSIX ACL (a named-user entry), as the kernel stores it.
pub const ACL: &[u8] = b"\x02\x00\x00\x00\x01\x00\x06\x00\xff\xff\xff\xff\x02\x00\x04\x00\xe8\x03\x00\x00\x04\x00\x04\x00\xff\xff\xff\xff\x10\x00\x06\x00\xff\xff\xff\xff\x20\x00\x04\x00\xff\xff\xff\xff";

/// File sizes: around the inline limit (64), blocks, and multi-block Merkle trees.
pub const FILE_SIZES: &[usize] = &[0, 1, 63, 64, 65, 4095, 4096, 4097, 100_000, (1 << 20) + 3];

/// Builds a tree from `seed` at `root` (which must not exist).
pub fn build(root: &Path, seed: u64) -> TreeInfo {
    let mut rng = Rng::new(seed);
    let mut info = TreeInfo::default();
    std::fs::create_dir_all(root).expect("root");
    let mut all: Vec<PathBuf> = Vec::new();
    let mut dirs = vec![root.to_path_buf()];

    // Subdirectories: a deep chain and a wide one (many long names: multi-block dirents).
    let mut deep = root.to_path_buf();
    for d in 0..12 {
        deep = deep.join(format!("deep{d}"));
        std::fs::create_dir(&deep).expect("mkdir");
        dirs.push(deep.clone());
    }
    let wide = root.join("wide");
    std::fs::create_dir(&wide).expect("mkdir");
    for i in 0..150 {
        let name = format!("{i:03}-{}", "w".repeat(1 + (i * 7) % 200));
        let p = wide.join(name);
        std::fs::write(&p, format!("{i}")).expect("write");
        all.push(p);
    }
    dirs.push(wide);
    std::fs::create_dir(root.join("empty")).expect("mkdir");
    dirs.push(root.join("empty"));

    // Regular files of every size class, some with the same content (one object).
    for (i, size) in FILE_SIZES.iter().enumerate() {
        for copy in 0..2 {
            let dir = &dirs[rng.index(dirs.len())];
            let p = dir.join(format!("file{i}-{copy}"));
            let mut data = Rng::new(seed ^ i as u64).bytes(*size);
            if copy == 1 && rng.chance(1, 2) && !data.is_empty() {
                data[0] ^= 1;
            }
            std::fs::write(&p, &data).expect("write");
            all.push(p);
        }
    }
    let odd = root.join("odd name \u{e9}\t=x");
    std::fs::write(&odd, b"odd").expect("write");
    all.push(odd);

    // Symlinks, a fifo, a socket, a hard link.
    for (i, len) in [1usize, 60, 1000, 4000].iter().enumerate() {
        let p = dirs[rng.index(dirs.len())].join(format!("link{i}"));
        std::os::unix::fs::symlink("t".repeat(*len), &p).expect("symlink");
        all.push(p);
    }
    let fifo = root.join("fifo");
    let c = cpath(&fifo);
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o640) }, 0, "mkfifo");
    all.push(fifo);
    let sock = root.join("sock");
    drop(std::os::unix::net::UnixListener::bind(&sock).expect("socket"));
    all.push(sock);
    let target = root.join("deep0").join("hardlink-target");
    std::fs::write(&target, vec![b'h'; 5000]).expect("write");
    std::fs::hard_link(&target, root.join("hardlink")).expect("hard link");
    all.push(target);

    // Devices and a whiteout, as root.
    info.devices = mknod(&root.join("chr"), libc::S_IFCHR | 0o600, 1, 3)
        && mknod(&root.join("blk"), libc::S_IFBLK | 0o660, 8, 1)
        && mknod(&deep.join("whiteout"), libc::S_IFCHR, 0, 0);
    if info.devices {
        all.extend([root.join("chr"), root.join("blk"), deep.join("whiteout")]);
    }

    // Xattrs: a shared one on many inodes, per-inode ones, escaped overlay names, ACLs.
    let mut namespaces = Vec::new();
    std::fs::write(root.join("probe"), b"probe").expect("write");
    all.push(root.join("probe"));
    for (ns, key) in [
        ("user", "user.probe"),
        ("trusted", "trusted.probe"),
        ("security", "security.probe"),
        ("system", "system.posix_acl_access"),
    ] {
        let probe = root.join("probe");
        let value: &[u8] = if ns == "system" { ACL } else { b"1" };
        if set_xattr(&probe, key, value) {
            namespaces.push(ns);
        }
    }
    for (k, p) in all.iter().chain(dirs.iter()).enumerate() {
        let is_link = p
            .symlink_metadata()
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        if k % 3 == 0 && !is_link {
            set_xattr(p, "user.shared", b"same value");
        }
        if k % 5 == 1 && !is_link {
            set_xattr(p, &format!("user.own{k}"), &rng.bytes(k % 40));
        }
        if namespaces.contains(&"trusted") && k % 7 == 2 {
            set_xattr(p, "trusted.overlay.redirect", b"/somewhere");
            set_xattr(p, "trusted.other", b"t");
        }
        if namespaces.contains(&"security") && k % 4 == 3 {
            set_xattr(p, "security.selinux", b"system_u:object_r:usr_t:s0\0");
        }
        if namespaces.contains(&"system") && k % 9 == 4 && !is_link {
            set_xattr(p, "system.posix_acl_access", ACL);
        }
    }
    if namespaces.contains(&"system") {
        set_xattr(&dirs[1], "system.posix_acl_default", ACL);
    }
    info.xattr_namespaces = namespaces;

    // Owners (some above 65535) and mtimes (one shared minimum, nanoseconds, negative),
    // children before their directories so directory times stay put.
    for (k, p) in all.iter().enumerate() {
        if k % 4 == 0 {
            info.owners = chown(p, 70_000 + k as u32, 1000) || info.owners;
        }
        let (s, ns) = match k % 5 {
            0 | 1 => (1_000_000, 0),
            2 => (1_000_000, 123_456_789),
            3 => (1_700_000_000 + k as i64, 5),
            _ => (-86_400 * (k as i64), 999_999_999),
        };
        set_mtime(p, s, ns);
    }
    for d in dirs.iter().rev() {
        set_mtime(d, 1_000_000, 0);
    }
    info.entries = all.len() + dirs.len();
    info
}
