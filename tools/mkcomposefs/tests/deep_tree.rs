// SPDX-License-Identifier: GPL-2.0 OR MIT

//! A source tree deeper than `PATH_MAX`: the reference mkcomposefs cannot read it (it opens
//! directories by their full path), ours reads every directory relative to its parent. The
//! expected image is built by the reference from a dump the test writes from what it created.

mod common;

use std::ffi::CString;
use std::fmt::Write as _;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use cfs_test_support::{oracle_mkcomposefs, scratch};
use common::{assert_success, first_difference, ours, run};

/// Levels of directories, and the length of each one's name: their path is over 5,000 bytes.
const DEPTH: usize = 20;
const NAME_LEN: usize = 250;

/// Fails the test with the OS error of a libc call that returned `r`.
fn check(r: libc::c_int, what: &str) -> libc::c_int {
    assert!(r >= 0, "{what}: {}", std::io::Error::last_os_error());
    r
}

fn c(s: &[u8]) -> CString {
    CString::new(s).expect("no NUL")
}

/// Creates directory `name` in `dir` with mode 0755 and opens it.
fn mkdir_open(dir: RawFd, name: &[u8]) -> OwnedFd {
    let n = c(name);
    // SAFETY: valid descriptor and C string.
    check(unsafe { libc::mkdirat(dir, n.as_ptr(), 0o700) }, "mkdirat");
    // SAFETY: as above; the result is a new descriptor we own.
    let fd = check(
        unsafe { libc::openat(dir, n.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) },
        "openat",
    );
    // SAFETY: just opened, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // Set explicitly: the mode must not depend on the umask.
    // SAFETY: valid descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), 0o755) }, "fchmod");
    fd
}

/// Creates the file `name` in `dir` with mode 0644 and `content`.
fn create_file(dir: RawFd, name: &[u8], content: &[u8]) {
    let n = c(name);
    // SAFETY: valid descriptor and C string; the result is a new descriptor we own.
    let fd = check(
        unsafe {
            libc::openat(
                dir,
                n.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                0o600,
            )
        },
        "create",
    );
    // SAFETY: just opened, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: valid descriptor and buffer.
    let w = unsafe { libc::write(fd.as_raw_fd(), content.as_ptr().cast(), content.len()) };
    assert_eq!(usize::try_from(w).ok(), Some(content.len()), "write");
    // SAFETY: valid descriptor.
    check(unsafe { libc::fchmod(fd.as_raw_fd(), 0o644) }, "fchmod");
}

#[test]
fn tree_deeper_than_path_max() {
    let dir = scratch("deep");
    let src = dir.join("src");
    std::fs::create_dir(&src).expect("mkdir src");
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod src");
    // SAFETY: trivial calls.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    let content = b"at the bottom\n";

    // Each level: a directory holding the next one (nlink 3), the last one a file (nlink 2).
    // mtimes are not set: both builds use the epoch.
    let mut dump = format!("/ 4096 40755 3 {uid} {gid} 0 0.0 - - -\n");
    let mut path = String::new();
    let root = std::fs::File::open(&src).expect("open src");
    let mut fd: OwnedFd = root.into();
    for level in 0..DEPTH {
        let mut name = format!("d{level:02}");
        while name.len() < NAME_LEN {
            name.push(char::from(b'a' + (level % 26) as u8));
        }
        fd = mkdir_open(fd.as_raw_fd(), name.as_bytes());
        let _ = write!(path, "/{name}");
        let nlink = if level + 1 == DEPTH { 2 } else { 3 };
        let _ = writeln!(dump, "{path} 4096 40755 {nlink} {uid} {gid} 0 0.0 - - -");
    }
    create_file(fd.as_raw_fd(), b"leaf", content);
    let _ = writeln!(
        dump,
        "{path}/leaf {} 100644 1 {uid} {gid} 0 0.0 - {} -",
        content.len(),
        common::escape_field(content)
    );
    assert!(path.len() > 4096, "the tree is not deeper than PATH_MAX");

    let dump_file = dir.join("deep.dump");
    std::fs::write(&dump_file, &dump).expect("write dump");
    let expected = dir.join("expected.cfs");
    oracle_mkcomposefs(&dump_file, &expected, &[]);

    let image = dir.join("deep.cfs");
    let out = run(
        &ours(),
        &["--use-epoch".as_ref(), src.as_os_str(), image.as_os_str()],
        None,
        &[],
    );
    assert_success("mkcomposefs on the deep tree", &out);
    let want = std::fs::read(&expected).expect("read expected image");
    let got = std::fs::read(&image).expect("read image");
    assert!(
        want == got,
        "image of the deep tree differs from the reference's from its dump: {}",
        first_difference(&want, &got)
    );
    // std's removal works relative to descriptors, so it copes with the depth.
    std::fs::remove_dir_all(&dir).expect("remove the deep tree");
}
