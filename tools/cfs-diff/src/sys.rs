// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Thin wrappers of the system calls the tester makes, each returning the errno the
//! kernel gave so that the two stacks' results can be compared.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A system call's result: a value or the errno.
pub type SysResult<T> = Result<T, i32>;

/// The errno of the last failed call.
pub fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// A C string of `b` (which holds no NUL: paths and names from the generator never do).
pub fn cstr(b: &[u8]) -> CString {
    CString::new(b.to_vec()).unwrap_or_default()
}

/// A C string of a path.
pub fn cpath(p: &Path) -> CString {
    cstr(p.as_os_str().as_bytes())
}

/// Checks a `-1 on error` return value.
fn check(r: libc::c_long) -> SysResult<libc::c_long> {
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// The symbolic name of an errno, for reports.
pub fn errname(e: i32) -> String {
    let n = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::EUCLEAN => "EUCLEAN",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ESTALE => "ESTALE",
        libc::EREMOTE => "EREMOTE",
        libc::ENOTBLK => "ENOTBLK",
        libc::ETXTBSY => "ETXTBSY",
        libc::EMFILE => "EMFILE",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::EBADMSG => "EBADMSG",
        _ => return format!("errno{e}"),
    };
    n.to_string()
}

/// `mount(2)`.
pub fn mount(
    src: &CStr,
    target: &Path,
    fstype: &CStr,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> SysResult<()> {
    let t = cpath(target);
    // SAFETY: every pointer is a valid NUL-terminated string or null for the call.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            t.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    check(r.into()).map(|_| ())
}

/// `mount(2)` with `MS_REMOUNT` (no source or type).
pub fn remount(target: &Path, flags: libc::c_ulong, data: Option<&CStr>) -> SysResult<()> {
    let t = cpath(target);
    // SAFETY: as in `mount`; a remount takes null source and type.
    let r = unsafe {
        libc::mount(
            std::ptr::null(),
            t.as_ptr(),
            std::ptr::null(),
            flags | libc::MS_REMOUNT,
            data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    check(r.into()).map(|_| ())
}

/// `umount2(2)`.
pub fn umount(target: &Path, flags: libc::c_int) -> SysResult<()> {
    let t = cpath(target);
    // SAFETY: `t` is a valid C string.
    check(unsafe { libc::umount2(t.as_ptr(), flags) }.into()).map(|_| ())
}

/// An open file descriptor, closed on drop.
pub struct Fd(pub libc::c_int);

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: the descriptor is owned by this value.
        unsafe { libc::close(self.0) };
    }
}

/// `openat(2)` relative to the current directory, always `O_NONBLOCK`: the trees hold
/// fifos, and opening one blocks until the other end is opened (a hang on both stacks);
/// on any other file type the flag changes nothing these operations see.
pub fn open(path: &[u8], flags: libc::c_int) -> SysResult<Fd> {
    let p = cstr(path);
    let flags = flags | libc::O_CLOEXEC | libc::O_NONBLOCK;
    // SAFETY: `p` is a valid C string; the mode is only used with O_CREAT.
    let fd = unsafe { libc::open(p.as_ptr(), flags, 0o644 as libc::c_uint) };
    check(fd.into()).map(|fd| Fd(fd as libc::c_int))
}

/// `statx(2)` of `path` with `flags` (`AT_*`), everything asked for.
pub fn statx(path: &[u8], flags: libc::c_int) -> SysResult<libc::statx> {
    let p = cstr(path);
    // SAFETY: all-zero is a valid `statx` value.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is a valid C string and `st` a writable buffer of the right type.
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            p.as_ptr(),
            flags,
            libc::STATX_ALL | libc::STATX_DIOALIGN,
            &mut st,
        )
    };
    check(r.into()).map(|_| st)
}

/// `fstat(2)`.
pub fn fstat(fd: &Fd) -> SysResult<libc::stat> {
    // SAFETY: all-zero is a valid `stat` value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a writable buffer of the right type.
    check(unsafe { libc::fstat(fd.0, &mut st) }.into()).map(|_| st)
}

/// `statfs(2)`.
pub fn statfs(path: &[u8]) -> SysResult<libc::statfs> {
    let p = cstr(path);
    // SAFETY: all-zero is a valid `statfs` value.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `p` is a valid C string, `st` a writable buffer of the right type.
    check(unsafe { libc::statfs(p.as_ptr(), &mut st) }.into()).map(|_| st)
}

/// `getdents64(2)` until the end (or an error) with a buffer of `bufsize` bytes:
/// `(d_type, name)` in order, or the errno (with what was read before it).
pub fn getdents(fd: &Fd, bufsize: usize) -> (Vec<(u8, Vec<u8>)>, Option<i32>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; bufsize];
    for _ in 0..100_000 {
        // SAFETY: `buf` is writable for `bufsize` bytes.
        let n = unsafe { libc::syscall(libc::SYS_getdents64, fd.0, buf.as_mut_ptr(), bufsize) };
        if n < 0 {
            return (out, Some(errno()));
        }
        if n == 0 {
            return (out, None);
        }
        let n = n as usize;
        let mut off = 0;
        while off + 19 <= n {
            let reclen = u16::from_ne_bytes([buf[off + 16], buf[off + 17]]) as usize;
            let dtype = buf[off + 18];
            let name_end = (off + 19..off + reclen.min(n - off))
                .find(|&i| buf[i] == 0)
                .unwrap_or(off + reclen);
            out.push((dtype, buf[off + 19..name_end.min(n)].to_vec()));
            if reclen == 0 {
                return (out, Some(-1));
            }
            off += reclen;
        }
    }
    (out, Some(-2))
}

/// `readlink(2)` into a buffer of `size` bytes.
pub fn readlink(path: &[u8], size: usize) -> SysResult<Vec<u8>> {
    let p = cstr(path);
    let mut buf = vec![0u8; size];
    // SAFETY: `buf` is writable for `size` bytes.
    let n = check(
        unsafe { libc::readlink(p.as_ptr(), buf.as_mut_ptr().cast(), size) } as libc::c_long,
    )?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// Calls an xattr system call `call(buf, size)` with a buffer of `size` bytes, or with a
/// null buffer to ask for the size when `size` is 0 (then the result is `size N`).
fn xattr_call(
    size: usize,
    call: impl FnOnce(*mut libc::c_void, usize) -> libc::ssize_t,
) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; size];
    let ptr = if size == 0 {
        std::ptr::null_mut()
    } else {
        buf.as_mut_ptr().cast()
    };
    let r = check(call(ptr, size) as libc::c_long)?;
    if size == 0 {
        return Ok(format!("size {r}").into_bytes());
    }
    buf.truncate(r as usize);
    Ok(buf)
}

/// `lgetxattr(2)` with a buffer of `size` bytes (0: ask for the size).
pub fn lgetxattr(path: &[u8], name: &[u8], size: usize) -> SysResult<Vec<u8>> {
    let (p, n) = (cstr(path), cstr(name));
    // SAFETY: `p` and `n` are C strings; `xattr_call` passes a buffer writable for `size`
    // bytes (or null with size 0).
    xattr_call(size, |buf, size| unsafe {
        libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf, size)
    })
}

/// `llistxattr(2)` with a buffer of `size` bytes (0: ask for the size).
pub fn llistxattr(path: &[u8], size: usize) -> SysResult<Vec<u8>> {
    let p = cstr(path);
    // SAFETY: as in `lgetxattr`.
    xattr_call(size, |buf, size| unsafe {
        libc::llistxattr(p.as_ptr(), buf.cast(), size)
    })
}

/// `faccessat2(2)`.
pub fn faccessat2(path: &[u8], mode: libc::c_int, flags: libc::c_int) -> SysResult<()> {
    let p = cstr(path);
    // SAFETY: `p` is a valid C string.
    check(unsafe {
        libc::syscall(
            libc::SYS_faccessat2,
            libc::AT_FDCWD,
            p.as_ptr(),
            mode,
            flags,
        )
    })
    .map(|_| ())
}

/// Reads `fd` to its end in chunks of `chunk` bytes: the bytes, or the errno and what
/// was read before it.
pub fn read_all(fd: &Fd, chunk: usize, limit: usize) -> (Vec<u8>, Option<i32>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; chunk];
    while out.len() < limit {
        // SAFETY: `buf` is writable for `chunk` bytes.
        let n = unsafe { libc::read(fd.0, buf.as_mut_ptr().cast(), chunk) };
        if n < 0 {
            return (out, Some(errno()));
        }
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    (out, None)
}

/// `pread(2)` of `len` bytes at `off`.
pub fn pread(fd: &Fd, off: i64, len: usize) -> SysResult<Vec<u8>> {
    let mut buf = vec![0u8; len];
    // SAFETY: `buf` is writable for `len` bytes.
    let n = check(unsafe { libc::pread(fd.0, buf.as_mut_ptr().cast(), len, off) } as libc::c_long)?;
    buf.truncate(n as usize);
    Ok(buf)
}

/// Reads `len` bytes at `off` with `O_DIRECT`-compatible alignment (4 KiB buffers).
pub fn pread_aligned(fd: &Fd, off: i64, len: usize) -> SysResult<Vec<u8>> {
    let layout =
        std::alloc::Layout::from_size_align(len.max(4096), 4096).map_err(|_| libc::EINVAL)?;
    // SAFETY: the layout has a nonzero size.
    let p = unsafe { std::alloc::alloc_zeroed(layout) };
    if p.is_null() {
        return Err(libc::ENOMEM);
    }
    // SAFETY: `p` is writable for `len` bytes.
    let n = unsafe { libc::pread(fd.0, p.cast(), len, off) };
    let r = if n < 0 {
        Err(errno())
    } else {
        // SAFETY: the kernel wrote `n` <= `len` bytes at `p`.
        Ok(unsafe { std::slice::from_raw_parts(p, n as usize) }.to_vec())
    };
    // SAFETY: `p` was allocated with `layout`.
    unsafe { std::alloc::dealloc(p, layout) };
    r
}

/// `fcntl(F_GETFL)` / `fcntl(F_SETFL)`: adds `flags` to the file's status flags.
pub fn add_fl(fd: &Fd, flags: libc::c_int) -> SysResult<()> {
    // SAFETY: plain fcntl calls on an open descriptor.
    let cur = check(unsafe { libc::fcntl(fd.0, libc::F_GETFL) }.into())?;
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd.0, libc::F_SETFL, cur as libc::c_int | flags) }.into())
        .map(|_| ())
}

/// `lseek(2)`.
pub fn lseek(fd: &Fd, off: i64, whence: libc::c_int) -> SysResult<i64> {
    // SAFETY: plain lseek on an open descriptor.
    let r = unsafe { libc::lseek(fd.0, off, whence) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// Maps `len` bytes of `fd` and copies them out. Touching a page past the end of the
/// file behind it raises SIGBUS: call this in a child ([`in_child`]).
pub fn mmap_read(fd: &Fd, len: usize) -> SysResult<Vec<u8>> {
    // SAFETY: a fresh private read-only mapping; no existing memory is affected.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_PRIVATE,
            fd.0,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(errno());
    }
    // SAFETY: the mapping is readable for `len` bytes (or the process gets SIGBUS).
    let v = unsafe { std::slice::from_raw_parts(p as *const u8, len) }.to_vec();
    // SAFETY: unmapping the mapping made above.
    unsafe { libc::munmap(p, len) };
    Ok(v)
}

/// `name_to_handle_at(2)`: the handle type and bytes.
pub fn name_to_handle(path: &[u8], flags: libc::c_int) -> SysResult<Vec<u8>> {
    let p = cstr(path);
    let mut buf = vec![0u8; 8 + 128];
    buf[..4].copy_from_slice(&128u32.to_ne_bytes());
    let mut mount_id: libc::c_int = 0;
    // SAFETY: `buf` is a `struct file_handle` with room for 128 bytes of handle.
    check(unsafe {
        libc::syscall(
            libc::SYS_name_to_handle_at,
            libc::AT_FDCWD,
            p.as_ptr(),
            buf.as_mut_ptr(),
            &mut mount_id,
            flags,
        )
    })?;
    let n = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    buf.truncate(8 + n.min(128));
    Ok(buf)
}

/// `open_by_handle_at(2)` with a handle from [`name_to_handle`].
pub fn open_by_handle(mount_fd: &Fd, handle: &[u8], flags: libc::c_int) -> SysResult<Fd> {
    let mut h = handle.to_vec();
    // SAFETY: `h` is a `struct file_handle` as `name_to_handle_at` wrote it.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount_fd.0,
            h.as_mut_ptr(),
            flags | libc::O_CLOEXEC,
        )
    })?;
    Ok(Fd(fd as libc::c_int))
}

/// Runs `f` in a forked child and returns what it printed (its result as text), or how
/// it died. The child's memory is its own: a SIGBUS or a capability change there does
/// not reach the tester.
pub fn in_child(f: impl FnOnce() -> String) -> String {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return format!("pipe failed: {}", errname(errno()));
    }
    // SAFETY: the tester is single-threaded, so the child may run arbitrary code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return format!("fork failed: {}", errname(errno()));
    }
    if pid == 0 {
        // SAFETY: closing the read end in the child.
        unsafe { libc::close(fds[0]) };
        let s = f();
        let mut off = 0;
        while off < s.len() {
            // SAFETY: writing from a live buffer.
            let n = unsafe { libc::write(fds[1], s.as_ptr().add(off).cast(), s.len() - off) };
            if n <= 0 {
                break;
            }
            off += n as usize;
        }
        // SAFETY: leaving the child without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
    // SAFETY: closing the write end in the parent.
    unsafe { libc::close(fds[1]) };
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        // SAFETY: `buf` is writable.
        let n = unsafe { libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            break;
        }
        out.extend_from_slice(&buf[..n as usize]);
    }
    // SAFETY: closing the read end.
    unsafe { libc::close(fds[0]) };
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    if libc::WIFSIGNALED(status) {
        return format!("killed by signal {}", libc::WTERMSIG(status));
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `CAP_DAC_OVERRIDE`.
pub const CAP_DAC_OVERRIDE: u32 = 1;
/// `CAP_DAC_READ_SEARCH`.
pub const CAP_DAC_READ_SEARCH: u32 = 2;

/// Drops the capabilities `caps` from the calling process's effective and permitted sets.
pub fn drop_caps(caps: &[u32]) -> SysResult<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: `h` and `d` are laid out as the version-3 capget arguments.
    check(unsafe { libc::syscall(libc::SYS_capget, &mut h, d.as_mut_ptr()) })?;
    for &c in caps {
        let (i, bit) = ((c / 32) as usize, 1u32 << (c % 32));
        d[i].effective &= !bit;
        d[i].permitted &= !bit;
    }
    // SAFETY: as above, for capset.
    check(unsafe { libc::syscall(libc::SYS_capset, &mut h, d.as_ptr()) }).map(|_| ())
}

/// Becomes the unprivileged user `uid` (group `uid`, no supplementary groups), which
/// drops every capability.
pub fn become_user(uid: u32) -> SysResult<()> {
    // SAFETY: plain credential calls on the current (child) process.
    unsafe {
        check(libc::setgroups(0, std::ptr::null()).into())?;
        check(libc::setresgid(uid, uid, uid).into())?;
        check(libc::setresuid(uid, uid, uid).into())?;
    }
    Ok(())
}

/// Enables fs-verity (sha256, 4 KiB blocks) on the file at `path`.
pub fn enable_verity(path: &Path) -> SysResult<()> {
    #[repr(C)]
    struct Arg {
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
    let arg = Arg {
        version: 1,
        hash_algorithm: 1,
        block_size: 4096,
        salt_size: 0,
        salt_ptr: 0,
        sig_size: 0,
        reserved1: 0,
        sig_ptr: 0,
        reserved2: [0; 11],
    };
    let fd = open(path.as_os_str().as_bytes(), libc::O_RDONLY)?;
    // SAFETY: `arg` is a `struct fsverity_enable_arg` without pointers.
    check(unsafe { libc::ioctl(fd.0, 0x4080_6685, &arg) }.into()).map(|_| ())
}
