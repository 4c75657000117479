// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The progress display: shown on a terminal (a pseudo-terminal here), on stderr only, and
//! never when stderr is not a terminal or with `--quiet`; the image and the store are the
//! same either way (and the same as the reference's). `CFS_PROGRESS_DELAY_MS=0` makes even
//! this short run show progress, so a silent run proves the terminal check, not the delay.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cfs_test_support::scratch;
use common::{assert_success, first_difference, ours, reference, run, Rng};

/// A pseudo-terminal: (master, slave).
fn openpty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two descriptors; the name, termios and winsize are optional.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(r, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// Where a stream of the child goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum To {
    Tty,
    Pipe,
}

/// What one run printed: on the terminal, on stdout and stderr when piped.
struct Run {
    tty: String,
    stdout: String,
    stderr: String,
}

/// Runs our mkcomposefs with `args`, stdout and stderr on a pseudo-terminal or a pipe.
fn run_on(args: &[&std::ffi::OsStr], stdout: To, stderr: To) -> Run {
    let (mut master, slave) = openpty();
    let stream = |to: To| -> Stdio {
        match to {
            To::Tty => Stdio::from(slave.try_clone().expect("dup slave")),
            To::Pipe => Stdio::piped(),
        }
    };
    let child = Command::new(ours())
        .args(args)
        .env("CFS_PROGRESS_DELAY_MS", "0")
        .stdin(Stdio::null())
        .stdout(stream(stdout))
        .stderr(stream(stderr))
        .spawn()
        .expect("spawn mkcomposefs");
    // Only the child holds the slave now: reading the master ends (EIO) once it exits.
    drop(slave);
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    });
    let out = child.wait_with_output().expect("wait for mkcomposefs");
    let tty = reader.join().expect("pty reader");
    assert!(
        out.status.success(),
        "mkcomposefs {args:?} (stdout {stdout:?}, stderr {stderr:?}) failed: {}{}",
        String::from_utf8_lossy(&tty),
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        tty: String::from_utf8_lossy(&tty).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A source tree: a few MiB in files of several sizes, some inline, one empty.
fn source_tree(dir: &Path) -> (PathBuf, usize) {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a/b")).expect("mkdir");
    let mut rng = Rng::new(11);
    let sizes = [0usize, 10, 64, 65, 4096, 5000, 300_000, 3 << 20, 9 << 20];
    for (i, size) in sizes.iter().enumerate() {
        let d = match i % 3 {
            0 => src.clone(),
            1 => src.join("a"),
            _ => src.join("a/b"),
        };
        std::fs::write(d.join(format!("f{i}")), rng.bytes(*size)).expect("write");
    }
    // Files read (those with data): what the display counts.
    (src, sizes.iter().filter(|s| **s > 0).count())
}

/// Object names and contents of a store.
fn store_listing(store: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read store").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let data = std::fs::read(&p).expect("read object");
                out.push((p.strip_prefix(store).expect("in store").to_path_buf(), data));
            }
        }
    }
    out.sort();
    out
}

/// The progress lines in `text`: the line is redrawn with `\r` and an erase-line sequence.
fn progress_lines(text: &str) -> Vec<&str> {
    text.split(['\r', '\n'])
        .filter_map(|l| l.strip_prefix("\x1b[K"))
        .collect()
}

#[test]
fn progress_only_on_a_terminal() {
    let dir = scratch("progress");
    let (src, n_files) = source_tree(&dir);

    // The reference image and store.
    let ref_img = dir.join("ref.cfs");
    let ref_store = dir.join("ref-store");
    let store_arg = format!("--digest-store={}", ref_store.display());
    let out = run(
        &reference(),
        &[store_arg.as_ref(), src.as_os_str(), ref_img.as_os_str()],
        None,
        &[],
    );
    assert_success("reference mkcomposefs", &out);
    let ref_img = std::fs::read(&ref_img).expect("reference image");
    let ref_store = store_listing(&ref_store);

    let cases: [(&str, &[&str], To, To, bool); 5] = [
        ("both on the terminal", &[], To::Tty, To::Tty, true),
        ("stdout piped", &[], To::Pipe, To::Tty, true),
        ("stderr piped", &[], To::Tty, To::Pipe, false),
        ("both piped", &[], To::Pipe, To::Pipe, false),
        (
            "--quiet on the terminal",
            &["--quiet"],
            To::Tty,
            To::Tty,
            false,
        ),
    ];
    for (i, (what, extra, stdout, stderr, shown)) in cases.iter().enumerate() {
        let img = dir.join(format!("img{i}"));
        let store = dir.join(format!("store{i}"));
        let store_arg = format!("--digest-store={}", store.display());
        let mut args: Vec<&std::ffi::OsStr> = extra.iter().map(|s| s.as_ref()).collect();
        args.extend([store_arg.as_ref(), src.as_os_str(), img.as_os_str()]);
        let run = run_on(&args, *stdout, *stderr);

        let lines = progress_lines(&run.tty);
        if *shown {
            // Progress goes to stderr only, and ends with a full count and a newline.
            assert!(
                !lines.is_empty(),
                "{what}: no progress on the terminal: {:?}",
                run.tty
            );
            let last = lines[lines.len() - 1];
            assert!(
                last.starts_with(&format!("reading: {n_files} files, 12.")),
                "{what}: last progress line {last:?} (expected {n_files} files, 12.x MiB)"
            );
            assert!(
                last.contains(" MiB (") && last.ends_with("/s)"),
                "{what}: {last:?}"
            );
            assert!(
                run.tty.ends_with('\n'),
                "{what}: progress line not ended: {:?}",
                run.tty
            );
            assert!(run.stdout.is_empty(), "{what}: stdout {:?}", run.stdout);
        } else {
            assert!(run.tty.is_empty(), "{what}: terminal got {:?}", run.tty);
            assert!(run.stderr.is_empty(), "{what}: stderr got {:?}", run.stderr);
            assert!(run.stdout.is_empty(), "{what}: stdout got {:?}", run.stdout);
        }
        let image = std::fs::read(&img).expect("image");
        assert!(
            image == ref_img,
            "{what}: image differs from the reference: {}",
            first_difference(&ref_img, &image)
        );
        assert!(
            store_listing(&store) == ref_store,
            "{what}: store differs from the reference"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
