//! Filling a digest store: every external file is copied to
//! `STORE/<object path>` (a reflink where the filesystem allows), made
//! world-readable, synced, and gets fs-verity enabled when the filesystem
//! supports it. Objects appear under their final name only complete: each is
//! written to a temporary name in the store, synced and renamed, as upstream
//! does.
//!
//! The caller has already read and hashed the file, so an object that exists
//! is not touched, and the data of a small file is written from the buffer it
//! was read into instead of being read a second time.

use std::collections::HashSet;
use std::ffi::{CStr, CString};
use std::fs::{self, File};
use std::io::{self, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::sys::{cpath, cvt, einval, open_at};
use cfs_format::fsverity::{to_hex, HashAlg, BLOCK_SIZE};

/// `FICLONE` ioctl request.
const FICLONE: libc::c_ulong = 0x4004_9409;
/// `FS_IOC_ENABLE_VERITY` ioctl request.
const FS_IOC_ENABLE_VERITY: libc::c_ulong = 0x4080_6685;
/// Mode of the objects (and of the temporary files they are written as).
const OBJECT_MODE: libc::mode_t = 0o644;
/// Mode of the store's directories, as upstream creates them.
const DIR_MODE: libc::mode_t = 0o755;

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

/// Whether an error says that the operation is not supported on this
/// filesystem at all (as opposed to failing for one file).
fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOTTY | libc::EOPNOTSUPP | libc::EXDEV | libc::ENOSYS)
    )
}

/// An open digest store, shared by the threads that fill it.
pub struct Store {
    /// The store directory.
    root: OwnedFd,
    /// The 256 object directories (`00` .. `ff`), opened on first use, and
    /// whether this run created them.
    subdirs: Vec<OnceLock<(OwnedFd, bool)>>,
    /// fs-verity algorithm enabled on the objects.
    hash: HashAlg,
    /// Objects this run has claimed: each is written (or found) once.
    claimed: Mutex<HashSet<Box<[u8]>>>,
    /// Set once enabling fs-verity failed as unsupported by the filesystem:
    /// later objects skip the attempt (and the reopening it needs).
    no_verity: AtomicBool,
    /// A source device whose files cannot be reflinked into the store
    /// (`u64::MAX`: none known).
    no_clone_dev: AtomicU64,
    /// Whether the umask takes bits of 0644 away, so that every object needs
    /// an explicit `fchmod`.
    fix_mode: bool,
    /// Counter for temporary names.
    tmp_counter: AtomicU64,
    /// This process's id, part of the temporary names.
    pid: u32,
}

impl Store {
    /// Creates the store directory (and its parents) if needed and opens it.
    /// Reads the umask, so call it before other threads create files.
    pub fn open(path: &Path, hash: HashAlg) -> io::Result<Store> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(path)?;
        let root = open_at(
            libc::AT_FDCWD,
            &cpath(path)?,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )?;
        // SAFETY: umask cannot fail; it is set back at once.
        let mask = unsafe { libc::umask(0o022) };
        // SAFETY: as above.
        unsafe { libc::umask(mask) };
        Ok(Store {
            root,
            subdirs: (0..256).map(|_| OnceLock::new()).collect(),
            hash,
            claimed: Mutex::new(HashSet::new()),
            no_verity: AtomicBool::new(false),
            no_clone_dev: AtomicU64::new(u64::MAX),
            fix_mode: mask & OBJECT_MODE != 0,
            tmp_counter: AtomicU64::new(0),
            pid: std::process::id(),
        })
    }

    /// Adds the object of `digest` unless it exists: its data is `data`, the
    /// whole content of the open source file `src` on device `dev` (reflinked
    /// from `src` where the filesystems allow).
    pub fn add_bytes(&self, digest: &[u8], data: &[u8], src: &File, dev: u64) -> io::Result<()> {
        self.add(digest, src.as_raw_fd(), dev, |tmp| tmp.write_all(data))
    }

    /// Adds the object of `digest` unless it exists, copying the whole of the
    /// open source file `src` on device `dev` (reflinked where possible, else
    /// copied in the kernel).
    pub fn add_file(&self, digest: &[u8], src: &mut File, dev: u64) -> io::Result<()> {
        let fd = src.as_raw_fd();
        self.add(digest, fd, dev, |tmp| {
            src.rewind()?;
            io::copy(src, tmp).map(drop)
        })
    }

    /// Writes the object of `digest` if this run has not claimed it yet and
    /// it does not exist: reflinked from `src` or filled by `fill`, into a
    /// temporary file that is synced, sealed with fs-verity where supported,
    /// and renamed to the object's name.
    fn add(
        &self,
        digest: &[u8],
        src: RawFd,
        dev: u64,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        let Some((&first, rest)) = digest.split_first() else {
            return Err(einval());
        };
        if !self.claim(digest) {
            return Ok(());
        }
        let (subdir, created) = self.subdir(first)?;
        let name = CString::new(to_hex(rest)).map_err(|_| einval())?;
        // In a directory this run created, only this run's objects exist, and
        // each is claimed once. (Another process filling the same store at
        // the same time can only rename the same content over it.)
        if !created && exists_at(subdir, &name) {
            return Ok(());
        }
        let (tmp, tmp_name) = self.create_temp()?;
        let result = self
            .fill_temp(tmp, &tmp_name, src, dev, fill)
            .and_then(|()| {
                // SAFETY: both names are valid C strings relative to open
                // directory descriptors.
                cvt(unsafe {
                    libc::renameat(
                        self.root.as_raw_fd(),
                        tmp_name.as_ptr(),
                        subdir,
                        name.as_ptr(),
                    )
                })
                .map(drop)
            });
        if result.is_err() {
            // SAFETY: a valid C string relative to the store directory.
            unsafe { libc::unlinkat(self.root.as_raw_fd(), tmp_name.as_ptr(), 0) };
        }
        result
    }

    /// Fills the temporary file, sets its mode, syncs it and enables
    /// fs-verity on it where the filesystem supports that.
    fn fill_temp(
        &self,
        mut tmp: File,
        tmp_name: &CStr,
        src: RawFd,
        dev: u64,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> io::Result<()> {
        if !self.reflink(&tmp, src, dev) {
            fill(&mut tmp)?;
        }
        if self.fix_mode {
            // SAFETY: an open descriptor.
            cvt(unsafe { libc::fchmod(tmp.as_raw_fd(), OBJECT_MODE) })?;
        }
        tmp.sync_all()?;
        // fs-verity cannot be enabled while a writable descriptor is open
        // (ETXTBSY): close it and enable through a read-only one.
        drop(tmp);
        if !self.no_verity.load(Ordering::Relaxed) {
            let ro = File::from(open_at(self.root.as_raw_fd(), tmp_name, libc::O_RDONLY, 0)?);
            // Not every filesystem supports fs-verity: like upstream, only try.
            if let Err(e) = enable_verity(&ro, self.hash) {
                if unsupported(&e) {
                    self.no_verity.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok(())
    }

    /// Reflinks `src` (on device `dev`) into `tmp`; false if that is not
    /// possible, remembering devices whose files cannot be reflinked here.
    fn reflink(&self, tmp: &File, src: RawFd, dev: u64) -> bool {
        if self.no_clone_dev.load(Ordering::Relaxed) == dev {
            return false;
        }
        // SAFETY: both fds are open; FICLONE takes the source fd by value.
        if unsafe { libc::ioctl(tmp.as_raw_fd(), FICLONE as _, src) } == 0 {
            return true;
        }
        if unsupported(&io::Error::last_os_error()) {
            self.no_clone_dev.store(dev, Ordering::Relaxed);
        }
        false
    }

    /// Claims an object for this run: false if it was claimed before.
    fn claim(&self, digest: &[u8]) -> bool {
        match self.claimed.lock() {
            Ok(mut set) => set.insert(digest.into()),
            // A panicking thread aborts the process (panic = "abort"), so
            // the lock is never poisoned; claiming twice is harmless anyway.
            Err(_) => true,
        }
    }

    /// The object directory for digests starting with `first`, created and
    /// opened on first use, and whether this run created it.
    fn subdir(&self, first: u8) -> io::Result<(RawFd, bool)> {
        let cell = &self.subdirs[usize::from(first)];
        if let Some((fd, created)) = cell.get() {
            return Ok((fd.as_raw_fd(), *created));
        }
        let name = CString::new(to_hex(&[first])).map_err(|_| einval())?;
        // SAFETY: a valid C string relative to the store directory.
        let r = unsafe { libc::mkdirat(self.root.as_raw_fd(), name.as_ptr(), DIR_MODE) };
        let mut created = true;
        if r != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EEXIST) {
                return Err(e);
            }
            created = false;
        }
        let fd = open_at(
            self.root.as_raw_fd(),
            &name,
            libc::O_RDONLY | libc::O_DIRECTORY,
            0,
        )?;
        // Another thread may have made it meanwhile (then this one found it
        // existing): keep the first.
        let _ = cell.set((fd, created));
        cell.get()
            .map(|(fd, created)| (fd.as_raw_fd(), *created))
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EBADF))
    }

    /// Creates a new temporary file in the store directory.
    fn create_temp(&self) -> io::Result<(File, CString)> {
        loop {
            let n = self.tmp_counter.fetch_add(1, Ordering::Relaxed);
            let name = CString::new(format!(".tmp{}-{n}", self.pid)).map_err(|_| einval())?;
            match open_at(
                self.root.as_raw_fd(),
                &name,
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                OBJECT_MODE,
            ) {
                Ok(fd) => return Ok((File::from(fd), name)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether `name` exists in the directory `dir` (without following a
/// symlink), as upstream checks before copying.
fn exists_at(dir: RawFd, name: &CStr) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: a valid C string and a buffer for one `struct stat`.
    unsafe {
        libc::fstatat(
            dir,
            name.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        ) == 0
    }
}
