// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Operations: drawn at random from the tree, run the same way on both mounts, each
//! giving its result as text (values or the errno) so that the two can be compared.

use crate::rng::Rng;
use crate::sys::{self, errname, Fd, SysResult};
use crate::tree::{Kind, Tree};
use std::path::Path;

/// One operation on a path relative to a mount's root.
#[derive(Clone, Debug)]
pub enum Op {
    Lstat(Vec<u8>),
    Stat(Vec<u8>),
    Statfs(Vec<u8>),
    Readdir(Vec<u8>, usize),
    Readlink(Vec<u8>, usize),
    Getxattr(Vec<u8>, Vec<u8>, usize),
    Listxattr(Vec<u8>, usize),
    Access(Vec<u8>, libc::c_int, libc::c_int),
    Open(Vec<u8>, libc::c_int),
    Read(Vec<u8>, usize),
    Pread(Vec<u8>, i64, usize),
    Mmap(Vec<u8>),
    DirectRead(Vec<u8>, bool),
    Seek(Vec<u8>, i64, libc::c_int),
    Handle(Vec<u8>, libc::c_int),
    SameInode(Vec<u8>, Vec<u8>),
}

impl Op {
    /// The operation's kind, for statistics.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Lstat(..) => "lstat",
            Op::Stat(..) => "stat",
            Op::Statfs(..) => "statfs",
            Op::Readdir(..) => "getdents64",
            Op::Readlink(..) => "readlink",
            Op::Getxattr(..) => "getxattr",
            Op::Listxattr(..) => "listxattr",
            Op::Access(..) => "faccessat2",
            Op::Open(..) => "open",
            Op::Read(..) => "read",
            Op::Pread(..) => "pread",
            Op::Mmap(..) => "mmap",
            Op::DirectRead(..) => "direct-read",
            Op::Seek(..) => "lseek",
            Op::Handle(..) => "file-handle",
            Op::SameInode(..) => "same-inode",
        }
    }

    /// The path the operation is on.
    pub fn path(&self) -> &[u8] {
        match self {
            Op::Lstat(p)
            | Op::Stat(p)
            | Op::Statfs(p)
            | Op::Readdir(p, _)
            | Op::Readlink(p, _)
            | Op::Getxattr(p, _, _)
            | Op::Listxattr(p, _)
            | Op::Access(p, _, _)
            | Op::Open(p, _)
            | Op::Read(p, _)
            | Op::Pread(p, _, _)
            | Op::Mmap(p)
            | Op::DirectRead(p, _)
            | Op::Seek(p, _, _)
            | Op::Handle(p, _)
            | Op::SameInode(p, _) => p,
        }
    }
}

/// A path to run an operation on: mostly an entry of the tree, sometimes a name that
/// does not exist, a path through a non-directory, or the root.
pub fn target(r: &mut Rng, t: &Tree) -> Vec<u8> {
    let e = &t.entries[r.index(t.entries.len())];
    let p = if e.path == b"/" {
        Vec::new()
    } else {
        e.path.clone()
    };
    match r.below(20) {
        0 => {
            let mut v = p;
            v.extend_from_slice(b"/no-such-name");
            v
        }
        1 => {
            let mut v = p;
            v.extend_from_slice(b"/");
            v
        }
        2 => Vec::new(),
        _ => p,
    }
}

/// A path of a regular file of the tree (external ones more often), if any.
fn file_target(r: &mut Rng, t: &Tree) -> Vec<u8> {
    let ext: Vec<&[u8]> = t
        .entries
        .iter()
        .filter(|e| matches!(e.kind, Kind::External { .. }))
        .map(|e| &e.path[..])
        .collect();
    if !ext.is_empty() && r.chance(75) {
        return r.pick(&ext).to_vec();
    }
    target(r, t)
}

/// An xattr name to ask for on `path`: one it has, one of the overlay's own, an ACL, or
/// one nobody has.
fn xattr_name(r: &mut Rng, t: &Tree, path: &[u8]) -> Vec<u8> {
    let own: Vec<&Vec<u8>> = t
        .entries
        .iter()
        .filter(|e| e.path == path || (path.is_empty() && e.path == b"/"))
        .flat_map(|e| e.xattrs.iter().map(|(k, _)| k))
        .collect();
    if !own.is_empty() && r.chance(60) {
        return r.pick(&own).to_vec();
    }
    r.pick(&[
        &b"trusted.overlay.metacopy"[..],
        b"trusted.overlay.redirect",
        b"trusted.overlay.opaque",
        b"trusted.overlay.whiteout",
        b"trusted.overlay.overlay.whiteout",
        b"user.overlay.opaque",
        b"system.posix_acl_access",
        b"system.posix_acl_default",
        b"security.capability",
        b"security.selinux",
        b"user.none",
        b"trusted.none",
        b"bogus.prefix",
    ])
    .to_vec()
}

/// A random operation.
pub fn random(r: &mut Rng, t: &Tree) -> Op {
    match r.below(100) {
        0..=11 => Op::Lstat(target(r, t)),
        12..=17 => Op::Stat(target(r, t)),
        18..=19 => Op::Statfs(target(r, t)),
        20..=27 => Op::Readdir(target(r, t), *r.pick(&[24usize, 64, 280, 4096, 32768])),
        28..=32 => Op::Readlink(target(r, t), *r.pick(&[1usize, 16, 4096])),
        33..=42 => {
            let p = target(r, t);
            let n = xattr_name(r, t, &p);
            Op::Getxattr(p, n, *r.pick(&[0usize, 1, 65536]))
        }
        43..=47 => Op::Listxattr(target(r, t), *r.pick(&[0usize, 3, 65536])),
        48..=55 => {
            let mode = *r.pick(&[
                libc::F_OK,
                libc::R_OK,
                libc::W_OK,
                libc::X_OK,
                libc::R_OK | libc::X_OK,
            ]);
            let flags = *r.pick(&[0, libc::AT_EACCESS, libc::AT_SYMLINK_NOFOLLOW]);
            Op::Access(target(r, t), mode, flags)
        }
        56..=67 => {
            let mut f = *r.pick(&[
                libc::O_RDONLY,
                libc::O_RDONLY,
                libc::O_WRONLY,
                libc::O_RDWR,
                libc::O_PATH,
            ]);
            for extra in [
                libc::O_NOATIME,
                libc::O_DIRECT,
                libc::O_NOFOLLOW,
                libc::O_DIRECTORY,
                libc::O_TRUNC,
                libc::O_CREAT,
                // Redundant (every open is non-blocking), kept so that seeds replay.
                libc::O_NONBLOCK,
            ] {
                if r.chance(12) {
                    f |= extra;
                }
            }
            Op::Open(file_target(r, t), f)
        }
        68..=77 => Op::Read(file_target(r, t), *r.pick(&[1usize, 4096, 65536, 1 << 20])),
        78..=81 => Op::Pread(
            file_target(r, t),
            r.below(70000) as i64,
            *r.pick(&[1usize, 100, 4096, 100000]),
        ),
        82..=85 => Op::Mmap(file_target(r, t)),
        86..=88 => Op::DirectRead(file_target(r, t), r.chance(50)),
        89..=92 => Op::Seek(
            file_target(r, t),
            r.below(1 << 21) as i64,
            *r.pick(&[libc::SEEK_DATA, libc::SEEK_HOLE, libc::SEEK_END]),
        ),
        93..=96 => Op::Handle(
            target(r, t),
            *r.pick(&[0, libc::AT_SYMLINK_FOLLOW, AT_HANDLE_FID]),
        ),
        _ => Op::SameInode(target(r, t), target(r, t)),
    }
}

/// A 64-bit FNV-1a hash of `b`, for comparing contents.
pub fn hash(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &c| {
        (h ^ u64::from(c)).wrapping_mul(0x100_0000_01b3)
    })
}

/// `b` for a report: printable ASCII as is, the rest as `\xHH`.
pub fn show(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        if (0x21..0x7f).contains(&c) && c != b'\\' {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

fn err(e: i32) -> String {
    format!("err {}", errname(e))
}

fn res<T>(r: SysResult<T>, f: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => err(e),
    }
}

fn ts(t: &libc::statx_timestamp) -> String {
    format!("{}.{}", t.tv_sec, t.tv_nsec)
}

/// Every statx field a user can compare between filesystems: all but inode, device and
/// mount numbers.
pub fn show_statx(s: &libc::statx) -> String {
    let mut o = format!(
        "mask={:x} mode={:o} nlink={} uid={} gid={} size={} blocks={} blksize={} rdev={}:{} atime={} mtime={} ctime={} attrs={:x}/{:x}",
        s.stx_mask,
        s.stx_mode,
        s.stx_nlink,
        s.stx_uid,
        s.stx_gid,
        s.stx_size,
        s.stx_blocks,
        s.stx_blksize,
        s.stx_rdev_major,
        s.stx_rdev_minor,
        ts(&s.stx_atime),
        ts(&s.stx_mtime),
        ts(&s.stx_ctime),
        s.stx_attributes,
        s.stx_attributes_mask
    );
    if s.stx_mask & libc::STATX_BTIME != 0 {
        o.push_str(&format!(" btime={}", ts(&s.stx_btime)));
    }
    if s.stx_mask & libc::STATX_DIOALIGN != 0 {
        o.push_str(&format!(
            " dio={}/{}",
            s.stx_dio_mem_align, s.stx_dio_offset_align
        ));
    }
    o
}

/// Reads what an open file gives, as text.
fn show_read(fd: &Fd, chunk: usize) -> String {
    // At most 4096 calls: 1-byte reads of a large file would take minutes under TCG.
    let (data, e) = sys::read_all(fd, chunk, (chunk * 4096).min(8 << 20));
    let mut s = format!("len={} hash={:x}", data.len(), hash(&data));
    if let Some(e) = e {
        s.push_str(&format!(" then {}", err(e)));
    }
    s
}

/// Runs `op` on the mount at `root`; the result as text.
pub fn run(op: &Op, root: &Path) -> String {
    let full = |p: &[u8]| {
        let mut v = root.as_os_str().as_encoded_bytes().to_vec();
        v.extend_from_slice(p);
        v
    };
    match op {
        Op::Lstat(p) => res(sys::statx(&full(p), libc::AT_SYMLINK_NOFOLLOW), |s| {
            show_statx(&s)
        }),
        Op::Stat(p) => res(sys::statx(&full(p), 0), |s| show_statx(&s)),
        Op::Statfs(p) => res(sys::statfs(&full(p)), |s| {
            format!(
                "bsize={} blocks={} bfree={} bavail={} files={} ffree={} namelen={} frsize={}",
                s.f_bsize,
                s.f_blocks,
                s.f_bfree,
                s.f_bavail,
                s.f_files,
                s.f_ffree,
                s.f_namelen,
                s.f_frsize
            )
        }),
        Op::Readdir(p, size) => res(
            sys::open(&full(p), libc::O_RDONLY | libc::O_DIRECTORY),
            |fd| {
                let (ents, e) = sys::getdents(&fd, *size);
                let mut s: String = ents
                    .iter()
                    .map(|(t, n)| format!("{}:{} ", t, show(n)))
                    .collect();
                if let Some(e) = e {
                    s.push_str(&err(e));
                }
                s
            },
        ),
        Op::Readlink(p, size) => res(sys::readlink(&full(p), *size), |v| show(&v)),
        Op::Getxattr(p, n, size) => res(sys::lgetxattr(&full(p), n, *size), |v| show(&v)),
        Op::Listxattr(p, size) => res(sys::llistxattr(&full(p), *size), |v| show(&v)),
        Op::Access(p, mode, flags) => {
            res(sys::faccessat2(&full(p), *mode, *flags), |_| "ok".into())
        }
        Op::Open(p, flags) => res(sys::open(&full(p), *flags), |fd| match sys::fstat(&fd) {
            Ok(st) => format!("ok mode={:o} size={}", st.st_mode, st.st_size),
            Err(e) => format!("ok, fstat {}", err(e)),
        }),
        Op::Read(p, chunk) => res(sys::open(&full(p), libc::O_RDONLY), |fd| {
            show_read(&fd, *chunk)
        }),
        Op::Pread(p, off, len) => res(sys::open(&full(p), libc::O_RDONLY), |fd| {
            res(sys::pread(&fd, *off, *len), |v| {
                format!("len={} hash={:x}", v.len(), hash(&v))
            })
        }),
        Op::Mmap(p) => {
            let path = full(p);
            sys::in_child(move || {
                res(sys::open(&path, libc::O_RDONLY), |fd| {
                    let len = match sys::fstat(&fd) {
                        Ok(st) => st.st_size as usize,
                        Err(e) => return format!("fstat {}", err(e)),
                    };
                    if len == 0 {
                        return "empty".into();
                    }
                    res(sys::mmap_read(&fd, len), |v| format!("hash={:x}", hash(&v)))
                })
            })
        }
        Op::DirectRead(p, via_fcntl) => {
            let flags = if *via_fcntl {
                libc::O_RDONLY
            } else {
                libc::O_RDONLY | libc::O_DIRECT
            };
            res(sys::open(&full(p), flags), |fd| {
                if *via_fcntl {
                    if let Err(e) = sys::add_fl(&fd, libc::O_DIRECT) {
                        return format!("F_SETFL {}", err(e));
                    }
                }
                // An unaligned read tells whether O_DIRECT is in force (EINVAL) or not.
                let unaligned = res(sys::pread(&fd, 1, 100), |v| format!("len={}", v.len()));
                let aligned = res(sys::pread_aligned(&fd, 0, 8192), |v| {
                    format!("len={} hash={:x}", v.len(), hash(&v))
                });
                format!("unaligned {unaligned}; aligned {aligned}")
            })
        }
        Op::Seek(p, off, whence) => res(sys::open(&full(p), libc::O_RDONLY), |fd| {
            res(sys::lseek(&fd, *off, *whence), |v| v.to_string())
        }),
        Op::Handle(p, flags) => res(sys::name_to_handle(&full(p), *flags), |h| {
            let mount_fd = match sys::open(
                root.as_os_str().as_encoded_bytes(),
                libc::O_RDONLY | libc::O_DIRECTORY,
            ) {
                Ok(fd) => fd,
                Err(e) => return format!("handle, root {}", err(e)),
            };
            let opened = res(
                sys::open_by_handle(&mount_fd, &h, libc::O_RDONLY | libc::O_PATH),
                |fd| res(sys::fstat(&fd), |st| format!("ok mode={:o}", st.st_mode)),
            );
            format!("handle; open {opened}")
        }),
        Op::SameInode(a, b) => {
            let sa = sys::statx(&full(a), libc::AT_SYMLINK_NOFOLLOW);
            let sb = sys::statx(&full(b), libc::AT_SYMLINK_NOFOLLOW);
            match (sa, sb) {
                (Ok(x), Ok(y)) => format!("same={}", x.stx_ino == y.stx_ino),
                (x, y) => format!("{} {}", res(x, |_| "ok".into()), res(y, |_| "ok".into())),
            }
        }
    }
}

/// Runs `op` as the unprivileged user `uid` (in a child).
pub fn run_as(op: &Op, root: &Path, uid: u32) -> String {
    sys::in_child(|| match sys::become_user(uid) {
        Ok(()) => run(op, root),
        Err(e) => format!("setuid {}", err(e)),
    })
}

/// `AT_HANDLE_FID`: a handle only to identify the inode (as fanotify reports it), which
/// a filesystem that cannot decode handles may still give.
const AT_HANDLE_FID: libc::c_int = 0x200;
