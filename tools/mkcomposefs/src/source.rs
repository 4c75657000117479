//! Building the tree from a directory on disk, like upstream's `lcfs_build`
//! followed by its digest pass.

use std::ffi::{CString, OsStr};
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::progress::Progress;
use crate::tree::{Node, NodeId, Tree, TreeError, RECOMMENDED_INLINE_CONTENT_MAX, ROOT};
use cfs_format::format::layout::S_IFREG;
use cfs_format::fsverity::{self, HashAlg};

use crate::objects::object_path;

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

fn tree_io(e: TreeError) -> io::Error {
    let code = match e {
        TreeError::Range => libc::ERANGE,
        TreeError::NameTooLong => libc::ENAMETOOLONG,
        _ => libc::EINVAL,
    };
    io::Error::from_raw_os_error(code)
}

fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Reads the xattrs of `path` (not following symlinks) into `node`.
fn read_xattrs(node: &mut Node, path: &Path, user_only: bool) -> io::Result<()> {
    let c = cpath(path)?;
    let mut list = vec![0u8; 1024];
    let len = loop {
        // SAFETY: `c` is a valid C string and `list` a writable buffer of the
        // given length.
        let r = unsafe { libc::llistxattr(c.as_ptr(), list.as_mut_ptr().cast(), list.len()) };
        if r >= 0 {
            break r as usize;
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ERANGE) {
            return Err(e);
        }
        // SAFETY: as above; a null buffer asks for the needed size.
        let need = unsafe { libc::llistxattr(c.as_ptr(), std::ptr::null_mut(), 0) };
        if need < 0 {
            return Err(io::Error::last_os_error());
        }
        list.resize(need as usize + 1, 0);
    };
    let mut value = vec![0u8; 4096];
    for name in list[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        if user_only && !name.starts_with(b"user.") {
            continue;
        }
        let cname = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let vlen = loop {
            // SAFETY: valid C strings and a writable buffer of the given length.
            let r = unsafe {
                libc::lgetxattr(
                    c.as_ptr(),
                    cname.as_ptr(),
                    value.as_mut_ptr().cast(),
                    value.len(),
                )
            };
            if r >= 0 {
                break r as usize;
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ERANGE) {
                return Err(e);
            }
            // SAFETY: a null buffer asks for the needed size.
            let need =
                unsafe { libc::lgetxattr(c.as_ptr(), cname.as_ptr(), std::ptr::null_mut(), 0) };
            if need < 0 {
                return Err(io::Error::last_os_error());
            }
            value.resize(need as usize + 1, 0);
        };
        node.set_xattr(name, &value[..vlen]).map_err(tree_io)?;
    }
    Ok(())
}

/// Upstream's `lcfs_load_node_from_file` without the content pass.
fn load_node(path: &Path, flags: &BuildFlags) -> io::Result<Node> {
    if flags.skip_xattrs && flags.user_xattrs {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let md = fs::symlink_metadata(path)?;
    let mut node = Node::new(md.mode());
    node.uid = md.uid();
    node.gid = md.gid();
    node.rdev = md.rdev() as u32;
    node.size = md.size();
    if md.file_type().is_symlink() {
        let target = fs::read_link(path)?;
        node.set_symlink_payload(Some(target.as_os_str().as_bytes()))
            .map_err(tree_io)?;
    }
    if !flags.use_epoch {
        node.mtime_sec = md.mtime();
        node.mtime_nsec = md.mtime_nsec() as u32;
    }
    if !flags.skip_xattrs {
        read_xattrs(&mut node, path, flags.user_xattrs)?;
    }
    Ok(node)
}

/// Scans the directory tree at `root` (its contents are not read yet).
pub fn scan(root: &Path, flags: &BuildFlags) -> Result<Tree, SourceError> {
    let node = load_node(root, flags).map_err(|e| access_error(root, e))?;
    let is_dir = node.is_dir();
    let mut tree = Tree::new(node);
    if !is_dir {
        return Ok(tree);
    }
    let mut stack: Vec<(NodeId, PathBuf)> = vec![(ROOT, root.to_path_buf())];
    while let Some((dir, dir_path)) = stack.pop() {
        let rd = fs::read_dir(&dir_path).map_err(|e| access_error(&dir_path, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| access_error(&dir_path, e))?;
            let name = entry.file_name();
            let path = entry.path();
            let ft = entry.file_type().map_err(|e| access_error(&path, e))?;
            if flags.skip_devices && (ft.is_block_device() || ft.is_char_device()) {
                continue;
            }
            let node = load_node(&path, flags).map_err(|e| access_error(&path, e))?;
            let is_dir = node.is_dir();
            let id = tree.push(node);
            tree.attach(dir, id, name.as_bytes())
                .map_err(|e| access_error(&path, e))?;
            if is_dir {
                stack.push((id, path));
            }
        }
    }
    tree.sort_children();
    Ok(tree)
}

/// Every regular file of the tree with its path on disk, in depth-first
/// order.
pub fn regular_files(tree: &Tree, root: &Path) -> Vec<(NodeId, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![(ROOT, root.to_path_buf())];
    while let Some((id, path)) = stack.pop() {
        let n = tree.node(id);
        if n.file_type() == S_IFREG {
            out.push((id, path.clone()));
        }
        for &c in n.children.iter().rev() {
            stack.push((c, path.join(OsStr::from_bytes(&tree.node(c).name))));
        }
    }
    out
}

/// What the content pass found for one file.
enum Content {
    Inline(Vec<u8>),
    Digest(Vec<u8>),
}

fn read_file(
    path: &Path,
    size: u64,
    hash: HashAlg,
    progress: &Progress,
) -> io::Result<Option<Content>> {
    if size == 0 {
        return Ok(None);
    }
    let mut f = File::open(path)?;
    if size <= RECOMMENDED_INLINE_CONTENT_MAX {
        let mut buf = vec![0u8; size as usize];
        f.read_exact(&mut buf).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::from_raw_os_error(libc::ENODATA)
            } else {
                e
            }
        })?;
        progress.add(1, size);
        return Ok(Some(Content::Inline(buf)));
    }
    let mut buf = vec![0u8; 1 << 20];
    let mut h = fsverity::Hasher::new(hash);
    loop {
        let k = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        progress.add(0, k as u64);
    }
    progress.add(1, 0);
    Ok(Some(Content::Digest(h.finish())))
}

/// Reads small files inline and computes the fs-verity digest (and so the
/// object path) of the others, in parallel on the current rayon pool.
pub fn compute_digests(
    tree: &mut Tree,
    files: &[(NodeId, PathBuf)],
    hash: HashAlg,
    progress: &Progress,
) -> Result<(), SourceError> {
    let total: u64 = files.iter().map(|(id, _)| tree.node(*id).size).sum();
    progress.start("digest", files.len() as u64, total);
    let results: Vec<io::Result<Option<Content>>> = files
        .par_iter()
        .map(|(id, path)| read_file(path, tree.node(*id).size, hash, progress))
        .collect();
    for ((id, _), r) in files.iter().zip(results) {
        let content = r.map_err(|e| SourceError(format!("error computing digest: {e}")))?;
        let n = tree.node_mut(*id);
        match content {
            None => {}
            Some(Content::Inline(data)) => {
                n.set_content(&data)
                    .map_err(|e| SourceError(format!("error computing digest: {e}")))?;
            }
            Some(Content::Digest(d)) => {
                n.payload = Some(object_path(&d).into_bytes().into_boxed_slice());
                n.digest = Some(d.into_boxed_slice());
            }
        }
    }
    Ok(())
}

/// A source error with the given message.
pub fn error(msg: String) -> SourceError {
    SourceError(msg)
}
