// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Differential tests of `mkcomposefs DIRECTORY IMAGE` against the reference mkcomposefs on
//! generated trees, with every source option, and of the digest stores both fill.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use cfs_test_support::{oracle_dir, scratch};
use common::compare::{run_both, Agreed, Case, Failures};
use common::{assert_success, gen_tree, reference, run};

/// Options tried on every tree.
const OPTIONS: &[&[&str]] = &[
    &[],
    &["--use-epoch"],
    &["--skip-xattrs"],
    &["--user-xattrs"],
    &["--skip-devices"],
    &["--min-version=1"],
    &["--max-version=0"],
    &["--print-digest"],
    &["--threads=1"],
    &["--use-epoch", "--user-xattrs", "--skip-devices"],
    &["--skip-xattrs", "--user-xattrs"],
];

#[test]
fn directory_images_match_reference() {
    let dir = scratch("dirs");
    let mut failures = Failures::default();
    let mut built = 0;
    for seed in 0..2u64 {
        let src = dir.join(format!("tree{seed}"));
        let info = gen_tree::build(&src, seed);
        eprintln!("tree {seed}: {info:?}");
        if !info.devices {
            eprintln!("not root: device nodes and whiteouts not covered");
        }
        for (k, opts) in OPTIONS.iter().enumerate() {
            let case = Case::directory(format!("tree{seed}-o{k}"), &src, opts);
            if let Some(Agreed::Built(img)) = failures.note(run_both(&dir, &case)) {
                built += 1;
                if k == 0 {
                    round_trip(&dir, &format!("tree{seed}"), &img, &mut failures);
                }
            }
        }
        let mut case = Case::directory(
            format!("tree{seed}-digest-only"),
            &src,
            &["--print-digest-only"],
        );
        case.no_image = true;
        failures.note(run_both(&dir, &case));
        // A single file as the source.
        let one = src.join("file4-0");
        failures.note(run_both(
            &dir,
            &Case::directory(format!("tree{seed}-file"), &one, &[]),
        ));
    }
    failures.note(run_both(
        &dir,
        &Case::directory("missing", &dir.join("does-not-exist"), &[]),
    ));
    assert!(
        !failures.0.is_empty() || built >= 18,
        "only {built} images built"
    );
    failures.check(&dir);
}

/// The dump of an image (by the reference composefs-info) must build the same image again
/// with our mkcomposefs, from stdin.
fn round_trip(dir: &Path, tag: &str, img: &[u8], failures: &mut Failures) {
    let path = dir.join(format!("{tag}.rt.cfs"));
    std::fs::write(&path, img).expect("write image");
    let info = oracle_dir().join("composefs-info");
    let dump = run(&info, &["dump".as_ref(), path.as_os_str()], None, &[]);
    assert!(dump.status.success(), "composefs-info dump");
    let out = run(
        &common::ours(),
        &["--from-file".as_ref(), "-".as_ref(), "-".as_ref()],
        Some(&dump.stdout),
        &[],
    );
    if !out.status.success() {
        failures.push(format!(
            "{tag}: the dump is rejected: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    } else if out.stdout != img {
        failures.push(format!(
            "{tag}: the dump builds another image: {}",
            common::first_difference(img, &out.stdout)
        ));
    }
}

/// Every file under `root` by relative path, with its mode and contents.
fn listing(root: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read store").flatten() {
            let p = e.path();
            let md = p.symlink_metadata().expect("stat");
            if md.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.insert(
                    rel,
                    (md.mode() & 0o7777, std::fs::read(&p).expect("read object")),
                );
            }
        }
    }
    out
}

#[test]
fn digest_store_matches_reference() {
    let dir = scratch("store");
    let src = dir.join("tree");
    gen_tree::build(&src, 7);
    let mut images = Vec::new();
    for (tag, bin) in [("ref", reference()), ("our", common::ours())] {
        let store = dir.join(format!("store-{tag}"));
        let img = dir.join(format!("{tag}.cfs"));
        let store_arg = format!("--digest-store={}", store.display());
        let out = run(
            &bin,
            &[store_arg.as_ref(), src.as_os_str(), img.as_os_str()],
            None,
            &[],
        );
        assert_success(tag, &out);
        images.push((std::fs::read(&img).expect("image"), listing(&store)));
    }
    let (ref_img, ref_store) = &images[0];
    let (our_img, our_store) = &images[1];
    assert!(
        ref_img == our_img,
        "images differ: {}",
        common::first_difference(ref_img, our_img)
    );
    assert!(!ref_store.is_empty(), "the reference stored no objects");
    let names = |s: &BTreeMap<String, (u32, Vec<u8>)>| s.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(our_store), names(ref_store), "object names");
    for (name, (mode, data)) in our_store {
        let (ref_mode, ref_data) = &ref_store[name];
        assert_eq!(mode, ref_mode, "{name}: mode");
        assert_eq!(*mode, 0o644, "{name}: mode");
        assert!(data == ref_data, "{name}: contents");
    }
    // Every object the image names is in the store.
    let info = oracle_dir().join("composefs-info");
    let img = dir.join("our.cfs");
    let out = run(&info, &["objects".as_ref(), img.as_os_str()], None, &[]);
    assert!(out.status.success());
    let objects = String::from_utf8(out.stdout).expect("utf-8");
    assert!(objects.lines().count() > 0);
    for o in objects.lines() {
        assert!(
            our_store.contains_key(o),
            "object {o} named by the image is not in the store"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
