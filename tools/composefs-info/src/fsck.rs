// SPDX-License-Identifier: GPL-2.0 OR MIT

//! `composefs-info fsck IMAGE... --basedir=DIR[:DIR...]`: checks an image with the same reader
//! the kernel uses, and the backing objects it references.
//!
//! Every inode reachable from the root is decoded; every directory block, dirent, xattr,
//! symlink target and inline data is read and validated; directories reached twice (cycles,
//! directory hard links) are reported; every object a file redirects to must exist under a
//! basedir (the first one holding it wins, as at mount), have fs-verity enabled and carry the
//! digest the image records. An object without fs-verity (or on a filesystem without it) is
//! reported, and its contents are hashed to tell whether it is also the wrong object. Each
//! problem is printed as `IMAGE:PATH: message`; the exit status is 0 only if there is none.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cfs_format::format::layout::{
    mode_to_file_type, overlay_names, EROFS_FT_UNKNOWN, S_IFDIR, S_IFMT, S_IFREG,
};
use cfs_format::format::overlay::{parse_metacopy, redirect_object_path, MetacopyDigest};
use cfs_format::format::reader::{DataLayout, Inode};
use cfs_format::format::{FormatError, Image, SliceSource};
use cfs_format::fsverity::{self, to_hex, HashAlg};

/// `FS_IOC_MEASURE_VERITY`: `_IOWR('f', 134, struct fsverity_digest)` (a 4-byte header).
const FS_IOC_MEASURE_VERITY: libc::c_ulong = 0xc004_6686;

/// `struct fsverity_digest` with room for the largest digest.
#[repr(C)]
struct VerityDigest {
    algorithm: u16,
    size: u16,
    digest: [u8; 64],
}

/// The result of measuring an object.
enum Measured {
    Digest(u16, Vec<u8>),
    NoVerity,
    Unsupported,
}

fn measure_verity(f: &File) -> io::Result<Measured> {
    let mut d = VerityDigest {
        algorithm: 0,
        size: 64,
        digest: [0; 64],
    };
    // SAFETY: `f` is an open file, and `d` is a writable `struct fsverity_digest` whose
    // `size` field tells the kernel how many digest bytes follow the header.
    let r = unsafe {
        libc::ioctl(
            f.as_raw_fd(),
            FS_IOC_MEASURE_VERITY,
            &mut d as *mut VerityDigest,
        )
    };
    if r == 0 {
        let n = usize::from(d.size).min(d.digest.len());
        return Ok(Measured::Digest(d.algorithm, d.digest[..n].to_vec()));
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENODATA) => Ok(Measured::NoVerity),
        Some(libc::EOPNOTSUPP) | Some(libc::ENOTTY) => Ok(Measured::Unsupported),
        _ => Err(e),
    }
}

struct Checker<'a> {
    img: &'a Image<SliceSource<'a>>,
    basedirs: &'a [PathBuf],
    problems: usize,
    label: String,
    objects: HashMap<Vec<u8>, Result<FoundObject, String>>,
    /// fs-verity digests computed from object contents, by (object, algorithm).
    content_digests: HashMap<(Vec<u8>, u8), Result<Vec<u8>, String>>,
}

/// An object found under a basedir.
struct FoundObject {
    path: PathBuf,
    len: u64,
    measured: Measured,
}

/// The fs-verity digest of the contents of `path`, computed in userspace with the
/// algorithm `algo` (`FS_VERITY_HASH_ALG_*`).
fn content_digest(path: &Path, algo: u8) -> Result<Vec<u8>, String> {
    let alg = match algo {
        1 => HashAlg::Sha256,
        2 => HashAlg::Sha512,
        other => return Err(format!("unknown fs-verity algorithm {other}")),
    };
    File::open(path)
        .and_then(|f| fsverity::digest_reader(alg, f))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn show(path: &[u8]) -> String {
    if path.is_empty() {
        "/".into()
    } else {
        String::from_utf8_lossy(path).into_owned()
    }
}

impl Checker<'_> {
    fn problem(&mut self, path: &[u8], msg: impl std::fmt::Display) {
        self.problems += 1;
        println!("{}:{}: {}", self.label, show(path), msg);
    }

    fn inode(&mut self, nid: u64, path: &[u8]) -> Option<Inode> {
        match self.img.inode(nid) {
            Ok(i) => Some(i),
            Err(e) => {
                self.problem(path, format_args!("inode {nid}: {e}"));
                None
            }
        }
    }

    /// Checks xattrs and data of one inode.
    fn check_inode(&mut self, ino: &Inode, path: &[u8]) {
        let mut xattrs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let img = self.img;
        let res = img.for_each_xattr(ino, |x| {
            let mut name = vec![0u8; x.prefix().len() + x.suffix.len()];
            x.full_name(&mut name)?;
            let mut value = vec![0u8; usize::from(x.value_len)];
            img.read_exact_at(x.value_offset, &mut value)?;
            xattrs.push((name, value));
            Ok(true)
        });
        if let Err(e) = res {
            self.problem(path, format_args!("xattrs: {e}"));
        }
        let mut names = HashSet::new();
        for (n, _) in &xattrs {
            if !names.insert(n.clone()) {
                self.problem(
                    path,
                    format_args!("duplicate xattr {}", String::from_utf8_lossy(n)),
                );
            }
        }
        let get = |name: &[u8]| {
            xattrs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };

        let mut buf = vec![0u8; 64 * 1024];
        match ino.layout() {
            DataLayout::ChunkBased => {
                if let Err(e) = img.chunks_all_null(ino) {
                    self.problem(path, format_args!("chunk index: {e}"));
                }
            }
            _ if ino.file_type() & S_IFMT != S_IFDIR => {
                let mut pos = 0u64;
                while pos < ino.size() {
                    match img.read_data(ino, pos, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => pos += n as u64,
                        Err(e) => {
                            self.problem(path, format_args!("data at offset {pos}: {e}"));
                            break;
                        }
                    }
                }
            }
            _ => {}
        }

        if ino.file_type() != S_IFREG {
            return;
        }
        let digest = match get(overlay_names::METACOPY).map(|v| parse_metacopy(&v)) {
            None => None,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                self.problem(path, e);
                None
            }
        };
        let Some(redirect) = get(overlay_names::REDIRECT) else {
            return;
        };
        match redirect_object_path(&redirect) {
            Ok(rel) => {
                let rel = rel.to_vec();
                self.check_object(path, &rel, ino.size(), digest);
            }
            Err(e) => self.problem(path, e),
        }
    }

    fn find_object(&self, rel: &[u8]) -> Result<FoundObject, String> {
        let rel = Path::new(OsStr::from_bytes(rel));
        for base in self.basedirs {
            let p = base.join(rel);
            match File::open(&p) {
                Ok(f) => {
                    let len = f
                        .metadata()
                        .map_err(|e| format!("{}: {e}", p.display()))?
                        .len();
                    let measured =
                        measure_verity(&f).map_err(|e| format!("{}: {e}", p.display()))?;
                    return Ok(FoundObject {
                        path: p,
                        len,
                        measured,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("{}: {e}", p.display())),
            }
        }
        Err("object not found in any basedir".into())
    }

    fn check_object(&mut self, path: &[u8], rel: &[u8], size: u64, digest: Option<MetacopyDigest>) {
        if !self.objects.contains_key(rel) {
            let r = self.find_object(rel);
            self.objects.insert(rel.to_vec(), r);
        }
        let obj = String::from_utf8_lossy(rel).into_owned();
        // Without fs-verity the kernel measures nothing: check the contents instead, so a
        // wrong object is found before it is used.
        let unmeasured = match self.objects.get(rel) {
            Some(Ok(o)) if !matches!(o.measured, Measured::Digest(..)) => Some(o.path.clone()),
            _ => None,
        };
        let content = match (unmeasured, &digest) {
            (Some(p), Some(want)) => Some(
                self.content_digests
                    .entry((rel.to_vec(), want.algo))
                    .or_insert_with(|| content_digest(&p, want.algo))
                    .clone(),
            ),
            _ => None,
        };
        let msg = match self.objects.get(rel) {
            Some(Err(e)) => Some(format!("object {obj}: {e}")),
            Some(Ok(FoundObject {
                len, measured: m, ..
            })) => {
                let mut msgs = Vec::new();
                if *len != size {
                    msgs.push(format!("object {obj} has size {len}, image says {size}"));
                }
                match (m, &digest) {
                    (Measured::NoVerity, _) => msgs.push(format!("object {obj} has no fs-verity")),
                    (Measured::Unsupported, _) => {
                        msgs.push(format!("object {obj} is on a filesystem without fs-verity"))
                    }
                    (Measured::Digest(alg, d), Some(want)) => {
                        if u16::from(want.algo) != *alg || d.as_slice() != want.digest() {
                            msgs.push(format!(
                                "object {obj} has fs-verity digest {}, image expects {}",
                                to_hex(d),
                                to_hex(want.digest())
                            ));
                        }
                    }
                    (Measured::Digest(..), None) => {}
                }
                match (content, &digest) {
                    (Some(Ok(d)), Some(want)) if d.as_slice() != want.digest() => {
                        msgs.push(format!(
                            "object {obj} has contents with fs-verity digest {}, image expects {}",
                            to_hex(&d),
                            to_hex(want.digest())
                        ))
                    }
                    (Some(Err(e)), _) => msgs.push(format!("object {obj}: {e}")),
                    _ => {}
                }
                if msgs.is_empty() {
                    None
                } else {
                    Some(msgs.join("; "))
                }
            }
            None => None,
        };
        if let Some(m) = msg {
            self.problem(path, m);
        }
    }

    /// Walks the tree from the root without recursion.
    fn walk(&mut self) {
        let root_nid = self.img.root_nid();
        let mut dirs_seen: HashSet<u64> = HashSet::new();
        let mut others_seen: HashSet<u64> = HashSet::new();
        // (dir nid, parent nid, path)
        let mut stack: Vec<(u64, u64, Vec<u8>)> = vec![(root_nid, root_nid, Vec::new())];
        while let Some((nid, parent, path)) = stack.pop() {
            let Some(dir) = self.inode(nid, &path) else {
                continue;
            };
            if !dirs_seen.insert(nid) {
                self.problem(
                    &path,
                    "directory reached twice (directory hard link or cycle)",
                );
                continue;
            }
            self.check_inode(&dir, &path);
            let mut entries: Vec<(Vec<u8>, u64, u8)> = Vec::new();
            if let Err(e) = self.img.readdir(&dir, 0, |e, _| {
                entries.push((e.name.to_vec(), e.nid, e.file_type));
                true
            }) {
                self.problem(&path, format_args!("directory: {e}"));
            }
            if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
                self.problem(&path, FormatError::DirentsUnsorted);
            }
            let mut has_dot = false;
            let mut has_dotdot = false;
            for (name, cnid, ft) in entries {
                if name == b"." || name == b".." {
                    let want = if name == b"." { nid } else { parent };
                    if cnid != want {
                        self.problem(
                            &path,
                            format_args!("'{}' points to the wrong directory", show(&name)),
                        );
                    }
                    if name == b"." {
                        has_dot = true
                    } else {
                        has_dotdot = true
                    }
                    continue;
                }
                let mut cpath = path.clone();
                cpath.push(b'/');
                cpath.extend_from_slice(&name);
                let Some(child) = self.inode(cnid, &cpath) else {
                    continue;
                };
                if ft != EROFS_FT_UNKNOWN && ft != mode_to_file_type(child.mode()) {
                    self.problem(&cpath, "directory entry type does not match the inode");
                }
                if child.is_dir() {
                    stack.push((cnid, nid, cpath));
                } else if others_seen.insert(cnid) {
                    self.check_inode(&child, &cpath);
                }
            }
            if !has_dot || !has_dotdot {
                self.problem(&path, "directory lacks '.' or '..'");
            }
        }
    }
}

/// Runs fsck on `images`.
pub fn run(images: &[PathBuf], basedir: Option<&Path>) -> ExitCode {
    if images.is_empty() {
        eprintln!("No image path specified");
        return ExitCode::FAILURE;
    }
    let basedirs: Vec<PathBuf> = basedir
        .map(|b| {
            b.as_os_str()
                .as_bytes()
                .split(|&c| c == b':')
                .filter(|p| !p.is_empty())
                .map(|p| PathBuf::from(OsStr::from_bytes(p)))
                .collect()
        })
        .unwrap_or_default();
    let mut total = 0usize;
    for path in images {
        let label = path.display().to_string();
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                println!("{label}: cannot read image: {e}");
                total += 1;
                continue;
            }
        };
        let img = match Image::open(SliceSource::new(&data)) {
            Ok(i) => i,
            Err(e) => {
                println!("{label}: invalid image: {e}");
                total += 1;
                continue;
            }
        };
        let mut c = Checker {
            img: &img,
            basedirs: &basedirs,
            problems: 0,
            label,
            objects: HashMap::new(),
            content_digests: HashMap::new(),
        };
        if basedirs.is_empty() {
            c.problem(b"", "no --basedir given: objects cannot be checked");
        }
        c.walk();
        total += c.problems;
    }
    if total == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("composefs-info fsck: {total} problem(s) found");
        ExitCode::FAILURE
    }
}
