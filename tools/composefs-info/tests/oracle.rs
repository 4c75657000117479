// SPDX-License-Identifier: GPL-2.0 OR MIT

//! composefs-info output must equal the reference composefs-info's, byte for byte.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use cfs_test_support::{oracle_dir, oracle_mkcomposefs, scratch};
use common::*;

fn ours() -> &'static str {
    env!("CARGO_BIN_EXE_composefs-info")
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .expect("run composefs-info")
}

fn compare(args: &[&str]) {
    let theirs = run(&oracle_dir().join("composefs-info"), args);
    let mine = run(Path::new(ours()), args);
    assert_eq!(
        mine.status.success(),
        theirs.status.success(),
        "exit status of {args:?}"
    );
    if mine.stdout != theirs.stdout {
        let a = String::from_utf8_lossy(&theirs.stdout);
        let b = String::from_utf8_lossy(&mine.stdout);
        let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
        panic!(
            "output of {args:?} differs at line {first:?}:\nreference: {:?}\nours:      {:?}",
            first.and_then(|i| a.lines().nth(i)),
            first.and_then(|i| b.lines().nth(i))
        );
    }
}

#[test]
fn commands_match_reference() {
    let dir = scratch("cmds");
    let store = dir.join("store");
    std::fs::create_dir_all(store.join("35")).expect("store");
    std::fs::write(
        store.join("35/d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408"),
        b"x",
    )
    .expect("object");
    let store_arg = format!("--basedir={}", store.display());
    let mut checked = 0;
    for (name, dump) in all_dumps(&dir) {
        for (tag, opts) in [
            ("v0", &[][..]),
            ("v1", &["--min-version=1", "--max-version=1"][..]),
        ] {
            let img = dir.join(format!("{name}.{tag}.cfs"));
            oracle_mkcomposefs(&dump, &img, opts);
            let img = img.to_str().expect("utf-8 path");
            for cmd in ["ls", "dump", "objects"] {
                compare(&[cmd, img]);
            }
            compare(&[&store_arg, "missing-objects", img]);
            compare(&["--filter=dev", "--filter=sub", "--filter=big", "dump", img]);
            compare(&["ls", "--filter=a space", img]);
            checked += 1;
        }
    }
    // Several images in one invocation share the objects list.
    let imgs: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .flatten()
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".cfs"))
        .collect();
    let mut args = vec!["objects"];
    args.extend(imgs.iter().map(String::as_str));
    compare(&args);
    assert!(checked >= 8);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn measure_file_matches_reference() {
    let dir = scratch("measure");
    let mut files = Vec::new();
    for (i, len) in [
        1usize,
        12,
        4095,
        4096,
        4097,
        8192,
        128 * 4096,
        128 * 4096 + 1,
        129 * 128 * 4096 + 3,
    ]
    .iter()
    .enumerate()
    {
        let p = dir.join(format!("f{i}"));
        let data: Vec<u8> = (0..*len).map(|k| (k * 131 % 253) as u8).collect();
        std::fs::write(&p, data).expect("write");
        files.push(p.to_string_lossy().into_owned());
    }
    let mut args = vec!["measure-file"];
    args.extend(files.iter().map(String::as_str));
    compare(&args);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn measure_empty_file_follows_kernel() {
    let dir = scratch("empty");
    let p = dir.join("empty");
    std::fs::write(&p, b"").expect("write");
    let out = run(
        Path::new(ours()),
        &["measure-file", p.to_str().expect("path")],
    );
    assert!(out.status.success());
    // The kernel's (and fsverity-utils') digest of an empty file: all-zero root hash.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95"
    );
    let out = run(
        Path::new(ours()),
        &["measure-file", "--hash=sha512", p.to_str().expect("path")],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 128);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fsck_accepts_good_images_and_reports_missing_objects() {
    let dir = scratch("fsck");
    let store = dir.join("store");
    std::fs::create_dir_all(&store).expect("store");
    for (name, dump) in all_dumps(&dir) {
        let img = dir.join(format!("{name}.cfs"));
        oracle_mkcomposefs(&dump, &img, &[]);
        let out = run(
            Path::new(ours()),
            &[
                "fsck",
                img.to_str().expect("path"),
                &format!("--basedir={}", store.display()),
            ],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        // The only problems in a well-formed image are its missing objects.
        for line in text.lines() {
            assert!(
                line.contains("not found in any basedir"),
                "{name}: unexpected fsck report: {line}"
            );
        }
        let has_objects = !run(Path::new(ours()), &["objects", img.to_str().expect("path")])
            .stdout
            .is_empty();
        assert_eq!(
            out.status.success(),
            !has_objects,
            "{name}: fsck exit status"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
