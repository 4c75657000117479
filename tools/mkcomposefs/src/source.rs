//! Building the tree from a directory on disk, like upstream's `lcfs_build`
//! followed by its digest pass and, with a digest store, its copy pass.
//!
//! All three happen in one parallel walk on the current rayon pool: each
//! directory is a task that lists its entries, reads their metadata relative
//! to the directory's descriptor, starts tasks for its subdirectories, and
//! reads each regular file once: small files become inline content, the
//! others are hashed (the blocks of a large file in parallel) and, with a
//! store, written into it from the same buffer. The tree is put together
//! from the directories' results at the end; its order of nodes does not
//! matter, the writer numbers inodes from the sorted tree.

use std::cell::RefCell;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::objects::object_path;
use crate::progress::Progress;
use crate::store::Store;
use crate::sys::{self, cpath, cvt_size, einval};
use crate::tree::{Node, Tree, TreeError, RECOMMENDED_INLINE_CONTENT_MAX, ROOT};
use cfs_format::format::layout::{S_IFBLK, S_IFCHR, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use cfs_format::fsverity::{self, HashAlg, BLOCK_SIZE};

/// Files up to this size are read whole into a buffer, hashed, and written
/// to the store from it; larger ones are hashed in pieces of this size and
/// then copied into the store by the kernel.
const WHOLE_FILE_MAX: usize = 8 << 20;
/// Runs of data blocks at least this long are hashed in parallel, in parts of
/// this length.
const PARALLEL_HASH_PART: usize = 64 * BLOCK_SIZE;

/// What to take from the source directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildFlags {
    /// Make all mtimes zero.
    pub use_epoch: bool,
    /// Leave out block and character devices.
    pub skip_devices: bool,
    /// Leave out all xattrs.
    pub skip_xattrs: bool,
    /// Keep only `user.*` xattrs.
    pub user_xattrs: bool,
}

/// A source error, printed as upstream does.
#[derive(Debug)]
pub struct SourceError(String);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceError {}

fn access_error(path: &Path, e: impl std::fmt::Display) -> SourceError {
    SourceError(format!("error accessing {}: {e}", path.display()))
}

fn digest_error(e: impl std::fmt::Display) -> SourceError {
    SourceError(format!("error computing digest: {e}"))
}

fn store_error(path: &Path, e: io::Error) -> SourceError {
    SourceError(format!("cannot fill store: {}: {e}", path.display()))
}

fn tree_io(e: TreeError) -> io::Error {
    let code = match e {
        TreeError::Range => libc::ERANGE,
        TreeError::NameTooLong => libc::ENAMETOOLONG,
        _ => libc::EINVAL,
    };
    io::Error::from_raw_os_error(code)
}

/// `ptr` as the output buffer of a size-query call: null when the buffer is
/// empty (the call then only returns the size it needs).
fn out_ptr(ptr: *mut u8, len: usize) -> *mut u8 {
    if len == 0 {
        std::ptr::null_mut()
    } else {
        ptr
    }
}

/// Where an entry is, for the system calls that read its metadata: relative
/// to its directory's descriptor, and the directory's path, from which the
/// entry's path is made only when needed (messages, and the calls that have
/// no `*at` form).
#[derive(Clone, Copy)]
struct At<'a> {
    /// The directory (`AT_FDCWD` for the root, which `name` then names).
    dir: RawFd,
    /// Name in `dir`.
    name: &'a CStr,
    /// Path of `dir` (empty for the root).
    parent: &'a Path,
}

impl At<'_> {
    /// The entry's path.
    fn path(&self) -> PathBuf {
        self.parent.join(OsStr::from_bytes(self.name.to_bytes()))
    }

    /// The entry's path as a C string.
    fn cpath(&self) -> io::Result<CString> {
        cpath(&self.path())
    }
}

/// `getxattrat(2)` and `listxattrat(2)` (Linux 6.13): xattrs relative to a
/// directory descriptor, without a walk of the full path for each entry.
mod xattr_at {
    /// Syscall number of `getxattrat` (the same on every architecture with
    /// the unified syscall table).
    pub const SYS_GETXATTRAT: libc::c_long = 464;
    /// Syscall number of `listxattrat`.
    pub const SYS_LISTXATTRAT: libc::c_long = 465;
    /// Whether these numbers are the calls' here (64-bit Linux with the
    /// unified syscall table); elsewhere they are never used.
    pub const AVAILABLE: bool = cfg!(all(
        target_os = "linux",
        target_pointer_width = "64",
        any(
            target_arch = "x86_64",
            target_arch = "aarch64",
            target_arch = "riscv64"
        )
    ));
}

/// `struct xattr_args` of `getxattrat(2)`.
#[repr(C)]
struct XattrArgs {
    value: u64,
    size: u32,
    flags: u32,
}

/// Metadata reading with the `*at` xattr calls while they work.
struct MetaReader {
    /// Cleared when the kernel (or a seccomp filter) refuses the `*at`
    /// xattr calls: then every entry uses the path-based calls.
    xattr_at: AtomicBool,
}

impl MetaReader {
    fn new() -> Self {
        MetaReader {
            xattr_at: AtomicBool::new(xattr_at::AVAILABLE),
        }
    }

    /// Whether an error of an `*at` xattr call means the call is unavailable
    /// (so the path-based call must be used) rather than a real failure.
    fn at_refused(&self, e: &io::Error) -> bool {
        if matches!(
            e.raw_os_error(),
            Some(libc::ENOSYS | libc::EPERM | libc::EINVAL)
        ) {
            self.xattr_at.store(false, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Runs `at_call` (an `*at` xattr call relative to the entry's
    /// directory) while the kernel takes those calls, else `path_call` with
    /// the entry's full path; the call's size result.
    fn xattr_call(
        &self,
        at: At<'_>,
        at_call: impl FnOnce() -> libc::c_long,
        path_call: impl FnOnce(&CStr) -> libc::ssize_t,
    ) -> io::Result<usize> {
        if at.dir != libc::AT_FDCWD && self.xattr_at.load(Ordering::Relaxed) {
            match cvt_size(at_call() as isize) {
                Ok(n) => return Ok(n),
                Err(e) if self.at_refused(&e) => {}
                Err(e) => return Err(e),
            }
        }
        cvt_size(path_call(&at.cpath()?))
    }

    /// `llistxattr` of the entry into `buf`; the list's length.
    fn list(&self, at: At<'_>, buf: &mut [u8]) -> io::Result<usize> {
        let (ptr, len) = (buf.as_mut_ptr(), buf.len());
        self.xattr_call(
            at,
            // SAFETY: valid C string and a writable buffer of the given length.
            || unsafe {
                libc::syscall(
                    xattr_at::SYS_LISTXATTRAT,
                    at.dir,
                    at.name.as_ptr(),
                    libc::AT_SYMLINK_NOFOLLOW,
                    ptr,
                    len,
                )
            },
            // SAFETY: valid C string and a writable buffer of the given length
            // (a null buffer of length 0 asks for the size).
            |c| unsafe { libc::llistxattr(c.as_ptr(), out_ptr(ptr, len).cast(), len) },
        )
    }

    /// `lgetxattr` of the entry's `key` into `buf`; the value's length.
    fn get(&self, at: At<'_>, key: &CStr, buf: &mut [u8]) -> io::Result<usize> {
        let (ptr, len) = (buf.as_mut_ptr(), buf.len());
        self.xattr_call(
            at,
            || {
                let mut args = XattrArgs {
                    value: ptr as u64,
                    size: u32::try_from(len).unwrap_or(u32::MAX),
                    flags: 0,
                };
                // SAFETY: valid C strings, and `args` points at a writable
                // buffer of at least `args.size` bytes.
                unsafe {
                    libc::syscall(
                        xattr_at::SYS_GETXATTRAT,
                        at.dir,
                        at.name.as_ptr(),
                        libc::AT_SYMLINK_NOFOLLOW,
                        key.as_ptr(),
                        &mut args as *mut XattrArgs,
                        std::mem::size_of::<XattrArgs>(),
                    )
                }
            },
            // SAFETY: valid C strings and a writable buffer of the given length
            // (a null buffer of length 0 asks for the size).
            |c| unsafe { libc::lgetxattr(c.as_ptr(), key.as_ptr(), out_ptr(ptr, len).cast(), len) },
        )
    }

    /// Reads the xattrs of the entry (not following symlinks) into `node`.
    fn read_xattrs(&self, node: &mut Node, at: At<'_>, user_only: bool) -> io::Result<()> {
        let mut list = vec![0u8; 1024];
        let len = loop {
            match self.list(at, &mut list) {
                Ok(n) => break n,
                Err(e) if e.raw_os_error() == Some(libc::ERANGE) => {
                    let need = self.list(at, &mut [])?;
                    list.resize(need + 1, 0);
                }
                Err(e) => return Err(e),
            }
        };
        if len == 0 {
            return Ok(());
        }
        let mut value = vec![0u8; 4096];
        for name in list[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
            if user_only && !name.starts_with(b"user.") {
                continue;
            }
            let key = CString::new(name).map_err(|_| einval())?;
            let vlen = loop {
                match self.get(at, &key, &mut value) {
                    Ok(n) => break n,
                    Err(e) if e.raw_os_error() == Some(libc::ERANGE) => {
                        let need = self.get(at, &key, &mut [])?;
                        value.resize(need + 1, 0);
                    }
                    Err(e) => return Err(e),
                }
            };
            node.set_xattr(name, &value[..vlen]).map_err(tree_io)?;
        }
        Ok(())
    }

    /// Upstream's `lcfs_load_node_from_file` without the content pass; also
    /// returns the device the entry is on.
    fn load_node(&self, at: At<'_>, flags: &BuildFlags) -> io::Result<(Node, u64)> {
        if flags.skip_xattrs && flags.user_xattrs {
            return Err(einval());
        }
        let st = stat_at(at)?;
        let mut node = Node::new(st.st_mode);
        node.uid = st.st_uid;
        node.gid = st.st_gid;
        node.rdev = st.st_rdev as u32;
        node.size = st.st_size as u64;
        if st.st_mode & S_IFMT == S_IFLNK {
            let target = read_link_at(at)?;
            node.set_symlink_payload(Some(&target)).map_err(tree_io)?;
        }
        if !flags.use_epoch {
            node.mtime_sec = st.st_mtime;
            node.mtime_nsec = st.st_mtime_nsec as u32;
        }
        if !flags.skip_xattrs {
            self.read_xattrs(&mut node, at, flags.user_xattrs)?;
        }
        Ok((node, st.st_dev))
    }
}

/// `fstatat(2)` of the entry, not following a symlink.
fn stat_at(at: At<'_>) -> io::Result<libc::stat> {
    let mut st = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid C string and a buffer for one `struct stat`.
    let r = unsafe {
        libc::fstatat(
            at.dir,
            at.name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat succeeded and filled the buffer.
    Ok(unsafe { st.assume_init() })
}

/// `readlinkat(2)` of the entry, whatever the target's length.
fn read_link_at(at: At<'_>) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 4097];
    loop {
        // SAFETY: a valid C string and a writable buffer of the given length.
        let r = unsafe {
            libc::readlinkat(at.dir, at.name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        let n = cvt_size(r)?;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        buf.resize(buf.len() * 2, 0);
    }
}

/// An open directory being listed.
struct Dir(OwnedFd);

impl Dir {
    /// Opens the directory `name` in `parent` (`AT_FDCWD` for a path), not
    /// following a symlink that replaced it since it was listed.
    fn open(parent: RawFd, name: &CStr) -> io::Result<Dir> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
        sys::open_at(parent, name, flags, 0).map(Dir)
    }

    fn fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }

    /// The entries but `.` and `..`: name and `d_type`, read with
    /// `getdents64(2)`.
    fn entries(&self) -> io::Result<Vec<(CString, u8)>> {
        /// Offsets in `struct linux_dirent64`.
        const RECLEN: usize = 16;
        const TYPE: usize = 18;
        const NAME: usize = 19;
        let mut out = Vec::new();
        let mut buf = vec![0u8; 32 << 10];
        loop {
            // SAFETY: an open directory and a writable buffer of the given
            // length.
            let r = unsafe {
                libc::syscall(libc::SYS_getdents64, self.fd(), buf.as_mut_ptr(), buf.len())
            };
            let n = cvt_size(r as isize)?;
            if n == 0 {
                return Ok(out);
            }
            let mut off = 0;
            while off + NAME <= n {
                let reclen = usize::from(u16::from_ne_bytes([
                    buf[off + RECLEN],
                    buf[off + RECLEN + 1],
                ]));
                let end = off + reclen;
                if reclen <= NAME || end > n {
                    return Err(io::Error::from_raw_os_error(libc::EIO));
                }
                let ty = buf[off + TYPE];
                let name = CStr::from_bytes_until_nul(&buf[off + NAME..end])
                    .map_err(|_| io::Error::from_raw_os_error(libc::EIO))?;
                if name.to_bytes() != b"." && name.to_bytes() != b".." {
                    out.push((name.to_owned(), ty));
                }
                off = end;
            }
        }
    }
}

/// One directory entry as the walk found it.
struct Entry {
    /// Name in the directory.
    name: CString,
    /// The node, with its content read.
    node: Node,
    /// Device it is on.
    dev: u64,
    /// For a directory, the index of its listing in the walk's results.
    dir: Option<usize>,
}

/// Where a directory to list is: the root by its path, any other by its name
/// in its parent's descriptor, so that a tree deeper than `PATH_MAX` can be
/// read (with the `*at` xattr calls: their path fallback still needs the full
/// path). The parent's descriptor stays open until its last subdirectory is
/// opened, not until it is listed: open descriptors stay few.
enum DirAt {
    Root,
    Child(Arc<Dir>, CString),
}

/// One listed directory.
struct Listing {
    path: PathBuf,
    entries: Vec<Entry>,
}

/// How bad an error is, for choosing the one to report when several
/// threads fail: the order in which upstream's separate passes meet them.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Scan,
    Digest,
    Store,
}

/// What every task of the walk shares.
struct Walk<'a> {
    flags: BuildFlags,
    hash: HashAlg,
    store: Option<&'a Store>,
    progress: &'a Progress,
    meta: MetaReader,
    next_dir: AtomicUsize,
    listings: Mutex<Vec<(usize, Listing)>>,
    failed: AtomicBool,
    error: Mutex<Option<(Stage, SourceError)>>,
}

impl Walk<'_> {
    fn fail(&self, stage: Stage, e: SourceError) {
        self.failed.store(true, Ordering::Relaxed);
        if let Ok(mut slot) = self.error.lock() {
            if slot.as_ref().is_none_or(|(s, _)| stage < *s) {
                *slot = Some((stage, e));
            }
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Lists the directory `path` (found at `at`) as listing `index`,
    /// spawning a task for each subdirectory and reading its files' contents.
    fn walk_dir<'s>(&'s self, scope: &rayon::Scope<'s>, path: PathBuf, at: DirAt, index: usize) {
        if self.failed() {
            return;
        }
        match self.list_dir(scope, &path, at) {
            Ok(entries) => {
                if let Ok(mut l) = self.listings.lock() {
                    l.push((index, Listing { path, entries }));
                }
            }
            Err((stage, e)) => self.fail(stage, e),
        }
    }

    fn list_dir<'s>(
        &'s self,
        scope: &rayon::Scope<'s>,
        path: &Path,
        at: DirAt,
    ) -> Result<Vec<Entry>, (Stage, SourceError)> {
        let scan_err = |p: &Path, e: io::Error| (Stage::Scan, access_error(p, e));
        let dir = match &at {
            DirAt::Root => cpath(path).and_then(|p| Dir::open(libc::AT_FDCWD, &p)),
            DirAt::Child(parent, name) => Dir::open(parent.fd(), name),
        }
        .map_err(|e| scan_err(path, e))?;
        drop(at);
        let dir = Arc::new(dir);
        let names = dir.entries().map_err(|e| scan_err(path, e))?;
        let fd = dir.fd();
        let mut entries = Vec::with_capacity(names.len());
        for (name, ty) in names {
            if self.flags.skip_devices && (ty == libc::DT_BLK || ty == libc::DT_CHR) {
                continue;
            }
            let at = At {
                dir: fd,
                name: &name,
                parent: path,
            };
            let (node, dev) = self
                .meta
                .load_node(at, &self.flags)
                .map_err(|e| scan_err(&at.path(), e))?;
            let ft = node.file_type();
            if self.flags.skip_devices && (ft == S_IFBLK || ft == S_IFCHR) {
                continue;
            }
            let dir = (ft == S_IFDIR).then(|| {
                let index = self.next_dir.fetch_add(1, Ordering::Relaxed);
                let sub = at.path();
                let sub_at = DirAt::Child(Arc::clone(&dir), name.clone());
                scope.spawn(move |s| self.walk_dir(s, sub, sub_at, index));
                index
            });
            entries.push(Entry {
                name,
                node,
                dev,
                dir,
            });
        }
        if self.failed() {
            return Ok(entries);
        }
        entries
            .par_iter_mut()
            .filter(|e| e.node.file_type() == S_IFREG && e.node.size > 0)
            .try_for_each(|e| {
                let at = At {
                    dir: fd,
                    name: &e.name,
                    parent: path,
                };
                self.read_content(open_at(fd, &e.name), &mut e.node, at, e.dev)
            })?;
        Ok(entries)
    }

    /// Reads the content of a regular file of nonzero size: inline content
    /// for small files, else the digest (and object path), storing the object.
    fn read_content(
        &self,
        file: io::Result<File>,
        node: &mut Node,
        at: At<'_>,
        dev: u64,
    ) -> Result<(), (Stage, SourceError)> {
        if self.failed() {
            return Ok(());
        }
        let dig = |e: io::Error| (Stage::Digest, digest_error(e));
        let mut file = file.map_err(dig)?;
        let size = node.size;
        if size <= RECOMMENDED_INLINE_CONTENT_MAX {
            let mut buf = [0u8; RECOMMENDED_INLINE_CONTENT_MAX as usize];
            let buf = &mut buf[..size as usize];
            file.read_exact(buf).map_err(|e| {
                dig(if e.kind() == io::ErrorKind::UnexpectedEof {
                    io::Error::from_raw_os_error(libc::ENODATA)
                } else {
                    e
                })
            })?;
            node.set_content(buf)
                .map_err(|e| (Stage::Digest, digest_error(e)))?;
            self.progress.add(1, size);
            return Ok(());
        }
        let store = |r: io::Result<()>| r.map_err(|e| (Stage::Store, store_error(&at.path(), e)));
        let digest = if size <= WHOLE_FILE_MAX as u64 {
            with_buffer(|buf| -> Result<Vec<u8>, (Stage, SourceError)> {
                let data = read_whole(&mut file, size as usize, buf).map_err(dig)?;
                let mut h = fsverity::Hasher::new(self.hash);
                h.update_with(data, |blocks, out| hash_blocks(self.hash, blocks, out));
                let digest = h.finish();
                if let Some(s) = self.store {
                    store(s.add_bytes(&digest, data, &file, dev))?;
                }
                self.progress.add(1, data.len() as u64);
                Ok(digest)
            })?
        } else {
            let digest = with_buffer(|buf| {
                if buf.len() < WHOLE_FILE_MAX {
                    buf.resize(WHOLE_FILE_MAX, 0);
                }
                let mut h = fsverity::Hasher::new(self.hash);
                loop {
                    let n = match file.read(buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(dig(e)),
                    };
                    h.update_with(&buf[..n], |blocks, out| hash_blocks(self.hash, blocks, out));
                    self.progress.add(0, n as u64);
                }
                Ok(h.finish())
            })?;
            if let Some(s) = self.store {
                store(s.add_file(&digest, &mut file, dev))?;
            }
            self.progress.add(1, 0);
            digest
        };
        node.payload = Some(object_path(&digest).into_bytes().into_boxed_slice());
        node.digest = Some(digest.into_boxed_slice());
        Ok(())
    }
}

/// Opens the regular file `name` in the directory `dir` for reading.
fn open_at(dir: RawFd, name: &CStr) -> io::Result<File> {
    sys::open_at(dir, name, libc::O_RDONLY | libc::O_NOFOLLOW, 0).map(File::from)
}

/// Read buffers a thread keeps between files.
const BUFFERS_KEPT: usize = 4;

thread_local! {
    /// Read buffers of this thread, kept between files (each zero-filled
    /// once, when it grows).
    static BUFFERS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with one of this thread's read buffers. A task that runs nested
/// on the same thread (work stealing while `f` waits for its parallel
/// hashing) takes another one, so buffers are not freed and allocated again
/// as tasks nest.
fn with_buffer<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut buf = BUFFERS.with(|b| b.borrow_mut().pop()).unwrap_or_default();
    let r = f(&mut buf);
    BUFFERS.with(|b| {
        let mut kept = b.borrow_mut();
        if kept.len() < BUFFERS_KEPT {
            kept.push(buf);
        }
    });
    r
}

/// Reads the whole file, expected to be `size` bytes long, into `buf`;
/// returns the data. A short read right at `size` bytes is the end of a
/// regular file, so the common case takes one `read`; a file that has grown
/// is read to its end.
fn read_whole<'b>(file: &mut File, size: usize, buf: &'b mut Vec<u8>) -> io::Result<&'b [u8]> {
    if buf.len() <= size {
        buf.resize(size + 1, 0);
    }
    let mut filled = 0;
    loop {
        let want = buf.len() - filled;
        let n = match file.read(&mut buf[filled..]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        filled += n;
        if filled == size && n < want {
            break;
        }
        if filled == buf.len() {
            let grown = buf.len() * 2;
            buf.resize(grown, 0);
        }
    }
    Ok(&buf[..filled])
}

/// Hashes a run of whole data blocks into `out`, in parallel parts on the
/// current rayon pool when it is long.
fn hash_blocks(hash: HashAlg, blocks: &[u8], out: &mut [u8]) {
    if blocks.len() <= PARALLEL_HASH_PART {
        fsverity::hash_blocks_into(hash, blocks, out);
        return;
    }
    let per_part = PARALLEL_HASH_PART / BLOCK_SIZE * hash.digest_size();
    out.par_chunks_mut(per_part)
        .zip(blocks.par_chunks(PARALLEL_HASH_PART))
        .for_each(|(o, b)| fsverity::hash_blocks_into(hash, b, o));
}

/// Reads the directory tree at `root` with its files' contents (inline
/// content or digests), filling the digest store at `store_path` (created if
/// needed) with the external files if given; in parallel on the current
/// rayon pool.
pub fn build(
    root: &Path,
    flags: &BuildFlags,
    hash: HashAlg,
    store_path: Option<&Path>,
    progress: &Progress,
) -> Result<Tree, SourceError> {
    let meta = MetaReader::new();
    let croot = cpath(root).map_err(|e| access_error(root, e))?;
    let at = At {
        dir: libc::AT_FDCWD,
        name: &croot,
        parent: Path::new(""),
    };
    let (mut node, dev) = meta
        .load_node(at, flags)
        .map_err(|e| access_error(root, e))?;
    let store = match store_path {
        Some(p) => Some(Store::open(p, hash).map_err(|e| store_error(p, e))?),
        None => None,
    };
    let walk = Walk {
        flags: *flags,
        hash,
        store: store.as_ref(),
        progress,
        meta,
        next_dir: AtomicUsize::new(1),
        listings: Mutex::new(Vec::new()),
        failed: AtomicBool::new(false),
        error: Mutex::new(None),
    };
    progress.start("reading");
    if node.file_type() == S_IFREG {
        if node.size > 0 {
            walk.read_content(File::open(root), &mut node, at, dev)
                .map_err(|(_, e)| e)?;
        }
        return Ok(Tree::new(node));
    }
    if !node.is_dir() {
        return Ok(Tree::new(node));
    }
    rayon::scope(|s| walk.walk_dir(s, root.to_path_buf(), DirAt::Root, 0));
    if let Some((_, e)) = walk.error.lock().ok().and_then(|mut e| e.take()) {
        return Err(e);
    }
    let mut listings = walk.listings.into_inner().unwrap_or_default();
    let count = walk.next_dir.load(Ordering::Relaxed);
    let mut slots: Vec<Option<Listing>> = std::iter::repeat_with(|| None).take(count).collect();
    for (i, l) in listings.drain(..) {
        if let Some(slot) = slots.get_mut(i) {
            *slot = Some(l);
        }
    }
    let mut tree = Tree::new(node);
    let mut stack = vec![(0usize, ROOT)];
    while let Some((index, parent)) = stack.pop() {
        let Some(listing) = slots.get_mut(index).and_then(Option::take) else {
            return Err(SourceError(format!(
                "internal error: directory listing {index} missing"
            )));
        };
        for e in listing.entries {
            let id = tree.push(e.node);
            tree.attach(parent, id, e.name.to_bytes()).map_err(|err| {
                access_error(
                    &listing.path.join(OsStr::from_bytes(e.name.to_bytes())),
                    err,
                )
            })?;
            if let Some(sub) = e.dir {
                stack.push((sub, id));
            }
        }
    }
    tree.sort_children();
    Ok(tree)
}
