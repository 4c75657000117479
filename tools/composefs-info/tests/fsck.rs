// SPDX-License-Identifier: GPL-2.0 OR MIT

//! `composefs-info fsck` finds each injected fault and names the composefs path it affects:
//! a missing object, an object with the wrong contents, objects without fs-verity, a
//! truncated image, corrupted dirents. Images and stores come from the reference
//! mkcomposefs; a clean image passes with exit status 0.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cfs_test_support::{oracle_dir, scratch};

fn fsck(img: &Path, store: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_composefs-info"))
        .arg("fsck")
        .arg(img)
        .arg(format!("--basedir={}", store.display()))
        .output()
        .expect("run composefs-info fsck")
}

/// The report lines of `out`, each `IMAGE:PATH: message`, as (path, message).
fn report(img: &Path, out: &Output) -> Vec<(String, String)> {
    let prefix = format!("{}:", img.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let rest = l
                .strip_prefix(&prefix)
                .unwrap_or_else(|| panic!("report line without the image: {l}"));
            match rest.split_once(": ") {
                Some((p, m)) => (p.to_string(), m.to_string()),
                None => (String::new(), rest.to_string()),
            }
        })
        .collect()
}

/// A source tree: external files in subdirectories, inline files, and a directory whose
/// dirents fill data blocks (the last data blocks of the image).
fn source(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    for d in ["a", "b", "wide"] {
        std::fs::create_dir_all(src.join(d)).expect("mkdir");
    }
    std::fs::write(src.join("a/big1"), vec![1u8; 100_000]).expect("write");
    std::fs::write(src.join("b/big2"), vec![2u8; 5000]).expect("write");
    std::fs::write(src.join("b/same-as-big2"), vec![2u8; 5000]).expect("write");
    std::fs::write(src.join("small"), b"inline").expect("write");
    for i in 0..300 {
        std::fs::write(src.join(format!("wide/wideentry-{i:04}")), b"x").expect("write");
    }
    src
}

/// Builds `img` and fills `store` from `src` with the reference mkcomposefs.
fn build(src: &Path, img: &Path, store: &Path) {
    let out = Command::new(oracle_dir().join("mkcomposefs"))
        .arg(format!("--digest-store={}", store.display()))
        .arg(src)
        .arg(img)
        .output()
        .expect("run mkcomposefs");
    assert!(
        out.status.success(),
        "mkcomposefs: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The store path of the object for `file` (same fs-verity digest as the reference names it).
fn object_of(img: &Path, path_in_image: &str) -> String {
    let out = Command::new(oracle_dir().join("composefs-info"))
        .arg("dump")
        .arg(img)
        .output()
        .expect("dump");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.split(' ').next() == Some(path_in_image))
        .unwrap_or_else(|| panic!("{path_in_image} not in the image"));
    line.split(' ').nth(8).expect("payload").to_string()
}

/// Whether the store's filesystem can have fs-verity (then objects lacking it are a fault
/// the reference mkcomposefs did not cause, and a built image is clean).
fn objects_have_verity(report: &[(String, String)]) -> bool {
    !report
        .iter()
        .any(|(_, m)| m.contains("fs-verity") && !m.contains("digest"))
}

#[test]
fn clean_image_passes() {
    let dir = scratch("fsck-clean");
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("d")).expect("mkdir");
    std::fs::write(src.join("d/inline"), b"only inline files").expect("write");
    std::os::unix::fs::symlink("d/inline", src.join("link")).expect("symlink");
    let (img, store) = (dir.join("img"), dir.join("store"));
    build(&src, &img, &store);
    let out = fsck(&img, &store);
    assert!(
        out.status.success(),
        "fsck of a clean image: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stdout.is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn objects_without_verity_are_reported() {
    let dir = scratch("fsck-noverity");
    let src = source(&dir);
    let (img, store) = (dir.join("img"), dir.join("store"));
    build(&src, &img, &store);
    let out = fsck(&img, &store);
    let rep = report(&img, &out);
    if objects_have_verity(&rep) {
        eprintln!("the store's filesystem has fs-verity: objects may have it, nothing to report");
        return;
    }
    // The reference cannot enable verity here: every external file is reported, by path,
    // and nothing else (the contents are right).
    for path in ["/a/big1", "/b/big2", "/b/same-as-big2"] {
        assert!(
            rep.iter()
                .any(|(p, m)| p == path && m.contains("fs-verity")),
            "no fs-verity report for {path}: {rep:?}"
        );
    }
    assert_eq!(rep.len(), 3, "{rep:?}");
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_and_wrong_objects_are_reported() {
    let dir = scratch("fsck-objects");
    let src = source(&dir);
    let (img, store) = (dir.join("img"), dir.join("store"));
    build(&src, &img, &store);
    let missing = object_of(&img, "/a/big1");
    std::fs::remove_file(store.join(&missing)).expect("remove object");
    // Same size, other contents: only the digest tells.
    let wrong = object_of(&img, "/b/big2");
    std::fs::write(store.join(&wrong), vec![3u8; 5000]).expect("replace object");
    let out = fsck(&img, &store);
    assert!(!out.status.success());
    let rep = report(&img, &out);
    assert!(
        rep.iter()
            .any(|(p, m)| p == "/a/big1" && m.contains(&missing) && m.contains("not found")),
        "missing object not reported: {rep:?}"
    );
    for path in ["/b/big2", "/b/same-as-big2"] {
        assert!(
            rep.iter()
                .any(|(p, m)| p == path && m.contains(&wrong) && m.contains("image expects")),
            "wrong object of {path} not reported: {rep:?}"
        );
    }
    // The untouched objects draw no complaint beyond missing verity.
    assert!(!rep
        .iter()
        .any(|(p, m)| p == "/a/big1" && m.contains("image expects")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The offset of the dirent block holding `name`, and the index of its dirent there.
fn find_dirent(image: &[u8], name: &[u8]) -> (usize, usize) {
    let at = image
        .windows(name.len())
        .position(|w| w == name)
        .expect("name in the image");
    let block = at / 4096 * 4096;
    let u16_at = |o: usize| usize::from(u16::from_le_bytes([image[o], image[o + 1]]));
    let count = u16_at(block + 8) / 12;
    let index = (0..count)
        .find(|i| block + u16_at(block + 12 * i + 8) == at)
        .expect("dirent of the name");
    (block, index)
}

#[test]
fn truncated_image_and_corrupted_dirents_are_reported() {
    let dir = scratch("fsck-image");
    let src = source(&dir);
    let (img, store) = (dir.join("img"), dir.join("store"));
    build(&src, &img, &store);
    let image = std::fs::read(&img).expect("image");
    let check = |name: &str, data: &[u8], want_path: &str| {
        let bad = dir.join(name);
        std::fs::write(&bad, data).expect("write");
        let out = fsck(&bad, &store);
        assert!(!out.status.success(), "{name}: fsck passed");
        let rep = report(&bad, &out);
        assert!(
            rep.iter()
                .any(|(p, m)| p == want_path && !m.contains("fs-verity")),
            "{name}: no report for {want_path}: {rep:?}"
        );
    };

    // The last data block holds the tail of /wide's dirents (in inode order, it comes last).
    assert_eq!(image.len() % 4096, 0);
    check("truncated", &image[..image.len() - 4096], "/wide");
    check("truncated-odd", &image[..image.len() - 100], "/wide");

    // A dirent whose name offset points outside its block.
    let (block, index) = find_dirent(&image, b"wideentry-0299");
    let mut bad = image.clone();
    bad[block + 12 * index + 8..block + 12 * index + 10].copy_from_slice(&0xfff0u16.to_le_bytes());
    check("bad-nameoff", &bad, "/wide");

    // A dirent pointing at a nid beyond the image: the reader rejects the directory block.
    let mut bad = image.clone();
    bad[block + 12 * index..block + 12 * index + 8]
        .copy_from_slice(&0x00ff_ffff_ffffu64.to_le_bytes());
    check("bad-nid", &bad, "/wide");

    // A dirent whose file type disagrees with its inode.
    let mut bad = image.clone();
    bad[block + 12 * index + 10] = 2; // EROFS_FT_DIR for a regular file
    check("bad-ftype", &bad, "/wide/wideentry-0299");

    // Names out of order.
    let (block, index) = find_dirent(&image, b"wideentry-0298");
    let mut bad = image.clone();
    let name_at = block
        + usize::from(u16::from_le_bytes([
            image[block + 12 * index + 8],
            image[block + 12 * index + 9],
        ]));
    bad[name_at + 10] = b'9'; // wideentry-0298 -> wideentry-9298, before wideentry-0299
    check("unsorted", &bad, "/wide");
    let _ = std::fs::remove_dir_all(&dir);
}
