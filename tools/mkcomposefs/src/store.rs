//! Filling a digest store: every external file is copied to
//! `STORE/<object path>` (a reflink where the filesystem allows), made
//! world-readable, and gets fs-verity enabled when the filesystem supports it.
//! Objects appear under their final name only complete: each is written to
//! a temporary name in the store and renamed.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::progress::Progress;
use crate::source::SourceError;
use crate::tree::{NodeId, Tree};
use cfs_format::fsverity::{HashAlg, BLOCK_SIZE};

/// `FICLONE` ioctl request.
const FICLONE: libc::c_ulong = 0x4004_9409;
/// `FS_IOC_ENABLE_VERITY` ioctl request.
const FS_IOC_ENABLE_VERITY: libc::c_ulong = 0x4080_6685;

/// `struct fsverity_enable_arg`.
#[repr(C)]
struct FsverityEnableArg {
    version: u32,
    hash_algorithm: u32,
    block_size: u32,
    salt_size: u32,
    salt_ptr: u64,
    sig_size: u32,
    reserved1: u32,
    sig_ptr: u64,
    reserved2: [u64; 11],
}

/// Enables fs-verity on an open (read-only) file.
pub fn enable_verity(file: &File, hash: HashAlg) -> io::Result<()> {
    let arg = FsverityEnableArg {
        version: 1,
        hash_algorithm: u32::from(hash.id()),
        block_size: BLOCK_SIZE as u32,
        salt_size: 0,
        salt_ptr: 0,
        sig_size: 0,
        reserved1: 0,
        sig_ptr: 0,
        reserved2: [0; 11],
    };
    // SAFETY: the fd is open for the duration of the call and `arg` is a
    // properly laid out `fsverity_enable_arg` without pointers.
    let r = unsafe { libc::ioctl(file.as_raw_fd(), FS_IOC_ENABLE_VERITY as _, &arg) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a new temporary file in `dir`.
fn create_temp(dir: &Path) -> io::Result<(File, PathBuf)> {
    loop {
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".tmp{}-{n}", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(f) => return Ok((f, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Copies `src` to `store/object` unless that exists already.
pub fn store_object(src: &Path, store: &Path, object: &Path, hash: HashAlg) -> io::Result<u64> {
    let dest = store.join(object);
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    if fs::symlink_metadata(&dest).is_ok() {
        return Ok(0);
    }
    let (tmp, tmp_path) = create_temp(store)?;
    let result = fill_object(src, tmp, &tmp_path, &dest, hash);
    if result.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    result
}

/// Copies `src` into the new temporary file `tmp` at `tmp_path`, seals it
/// with fs-verity where the filesystem supports it, and renames it to
/// `dest`, so that an object is complete under its final name.
fn fill_object(
    src: &Path,
    mut tmp: File,
    tmp_path: &Path,
    dest: &Path,
    hash: HashAlg,
) -> io::Result<u64> {
    let mut input = File::open(src)?;
    // SAFETY: both fds are open; FICLONE takes the source fd by value.
    let cloned = unsafe { libc::ioctl(tmp.as_raw_fd(), FICLONE as _, input.as_raw_fd()) } == 0;
    let bytes = if cloned {
        input.metadata()?.len()
    } else {
        io::copy(&mut input, &mut tmp)?
    };
    tmp.set_permissions(fs::Permissions::from_mode(0o644))?;
    tmp.sync_all()?;
    // fs-verity cannot be enabled while a writable descriptor is open
    // (ETXTBSY): close it and enable through a read-only one.
    drop(tmp);
    drop(input);
    let ro = File::open(tmp_path)?;
    // Not every filesystem supports fs-verity: like upstream, only try.
    let _ = enable_verity(&ro, hash);
    drop(ro);
    fs::rename(tmp_path, dest)?;
    Ok(bytes)
}

/// Copies every external file of the tree into the store, in parallel on the
/// current rayon pool.
pub fn fill_store(
    tree: &Tree,
    files: &[(NodeId, PathBuf)],
    store: &Path,
    hash: HashAlg,
    progress: &Progress,
) -> Result<(), SourceError> {
    let mut seen = HashSet::new();
    let work: Vec<(&Path, &[u8], u64)> = files
        .iter()
        .filter_map(|(id, path)| {
            let n = tree.node(*id);
            match (&n.content, &n.payload) {
                (None, Some(p)) if seen.insert(&**p) => Some((path.as_path(), &**p, n.size)),
                _ => None,
            }
        })
        .collect();
    progress.start("store", work.len() as u64, work.iter().map(|w| w.2).sum());
    fs::create_dir_all(store).map_err(|e| store_error(store, e))?;
    work.par_iter().try_for_each(|(src, object, size)| {
        store_object(src, store, Path::new(OsStr::from_bytes(object)), hash)
            .map_err(|e| store_error(src, e))?;
        progress.add(1, *size);
        Ok(())
    })
}

fn store_error(path: &Path, e: io::Error) -> SourceError {
    crate::source::error(format!("cannot fill store: {}: {e}", path.display()))
}
