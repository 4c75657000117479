//! Small wrappers of the system calls the source walk and the digest store
//! make with directory descriptors, turning libc's conventions into
//! `io::Result`s.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The `EINVAL` error.
pub fn einval() -> io::Error {
    io::Error::from_raw_os_error(libc::EINVAL)
}

/// `path` as a C string (`EINVAL` if it holds a NUL).
pub fn cpath(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| einval())
}

/// Turns a libc return value into an `io::Result`.
pub fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Turns a libc size result into an `io::Result`.
pub fn cvt_size(r: isize) -> io::Result<usize> {
    usize::try_from(r).map_err(|_| io::Error::last_os_error())
}

/// `openat(2)` (with `O_CLOEXEC` added) returning an owned descriptor.
pub fn open_at(
    dir: RawFd,
    name: &CStr,
    flags: libc::c_int,
    mode: libc::mode_t,
) -> io::Result<OwnedFd> {
    // SAFETY: `name` is a valid C string; the result is a new descriptor we own.
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            libc::c_uint::from(mode),
        )
    })?;
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
