// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Differential tests of `mkcomposefs --from-file` against the reference mkcomposefs
//! (Debian's composefs 1.0.8): generated dumps must give byte-identical images for every
//! version option, and bad dumps must fail in both (exit code 1, one line on stderr).

mod common;

use std::fmt::Write as _;
use std::path::Path;

use cfs_test_support::{oracle_dir, scratch};
use common::compare::{run_both, Agreed, Case, Failures};
use common::gen_dump::{
    dir_of_dirent_bytes, DumpGen, EXTERNAL_SIZES, INLINE_SIZES, SYMLINK_LENGTHS,
};

/// The version options tried: defaults (0 with the bump to 1 on whiteouts), each version
/// alone, and the inconsistent combinations.
const VERSION_OPTS: &[&[&str]] = &[
    &[],
    &["--min-version=0", "--max-version=0"],
    &["--min-version=1", "--max-version=1"],
    &["--min-version=1"],
    &["--max-version=0"],
    &["--max-version=1"],
    &["--min-version=1", "--max-version=0"],
];

/// Number of generated dumps; each is built with several version options by both tools.
const SEEDS: u64 = 48;

fn write_dump(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write dump");
    p
}

#[test]
fn generated_dumps_match_reference() {
    let dir = scratch("gen");
    let mut failures = Failures::default();
    let mut built = 0;
    let mut v1_auto = 0;
    let mut round_trips = 0;
    for seed in 0..SEEDS {
        let text = DumpGen::new(seed).generate();
        let name = format!("seed{seed}.dump");
        let dump = write_dump(&dir, &name, &text);
        // All version options on some dumps, three of them on the others.
        let opts: Vec<&[&str]> = if seed < 6 {
            VERSION_OPTS.to_vec()
        } else {
            vec![
                VERSION_OPTS[0],
                VERSION_OPTS[2],
                VERSION_OPTS[(seed as usize) % VERSION_OPTS.len()],
            ]
        };
        for (k, o) in opts.iter().enumerate() {
            let mut case = Case::dump_file(format!("seed{seed}-o{k}"), &dump, o);
            // Generated dumps are valid in strict mode too; use it on every other build.
            if (seed + k as u64) % 2 == 0 {
                case.env.push(("CFS_PARSE_STRICT", "1"));
            }
            let outcome = failures.note(run_both(&dir, &case));
            if let Some(Agreed::Built(img)) = outcome {
                built += 1;
                // composefs_version in the header: count the automatic bumps to 1.
                if o.is_empty() && img.get(12..16) == Some(&[1, 0, 0, 0][..]) {
                    v1_auto += 1;
                }
                if k == 0 && round_trip(&dir, &format!("seed{seed}"), &img, &mut failures) {
                    round_trips += 1;
                }
            } else if std::env::var_os("CFS_TEST_VERBOSE").is_some() {
                eprintln!("seed {seed} options {o:?}: {outcome:?}");
            }
        }
    }
    eprintln!("{built} images built, {v1_auto} bumped to version 1, {round_trips} identical after a round trip through a dump");
    assert!(
        !failures.0.is_empty() || built >= SEEDS as usize * 2,
        "only {built} dumps built; the generator makes bad input"
    );
    assert!(
        !failures.0.is_empty() || v1_auto > 0,
        "no dump got the automatic version bump"
    );
    failures.check(&dir);
}

/// `composefs-info dump` (the reference's) of an image, fed back to both mkcomposefs from
/// stdin with the version the image has: both must build the same image. Returns whether
/// that is the original image.
fn round_trip(dir: &Path, tag: &str, img: &[u8], failures: &mut Failures) -> bool {
    let path = dir.join(format!("{tag}.rt.cfs"));
    std::fs::write(&path, img).expect("write image");
    let info = oracle_dir().join("composefs-info");
    let out = common::run(&info, &["dump".as_ref(), path.as_os_str()], None, &[]);
    if !out.status.success() {
        failures.push(format!("{tag}: composefs-info dump failed"));
        return false;
    }
    let version = if img.get(12..16) == Some(&[1, 0, 0, 0][..]) {
        "1"
    } else {
        "0"
    };
    let min = format!("--min-version={version}");
    let max = format!("--max-version={version}");
    let mut case = Case::dump_file(format!("{tag}-roundtrip"), Path::new("-"), &[&min, &max]);
    case.stdin = Some(&out.stdout);
    // Both must agree; the rebuilt image equals the original only for ordinary input (odd
    // xattr names, such as escaped overlay ones, do not survive a dump in upstream either).
    let same = match failures.note(run_both(dir, &case)) {
        Some(Agreed::Built(again)) => again == img,
        Some(Agreed::Failed) => {
            failures.push(format!("{tag}: the dump of the image is rejected"));
            false
        }
        None => false,
    };
    let _ = std::fs::remove_file(&path);
    same
}

/// Dumps aimed at one writer branch each, built with every version option.
fn edge_dumps() -> Vec<(String, String)> {
    let mut v = Vec::new();
    let root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";

    // Directory tails around "never inline more than half a block", and multi-block dirents.
    for bytes in [
        40,
        2047,
        2048,
        2049,
        4095,
        4096,
        4097,
        6144,
        6145,
        8192 + 2048,
        8192 + 2049,
        40_000,
    ] {
        let mut s = String::from(root);
        dir_of_dirent_bytes(&mut s, "/d", bytes);
        v.push((format!("dirent-{bytes}.dump"), s));
    }
    // The same in the root, where the 00..ff stubs join the entries.
    let mut s = String::new();
    dir_of_dirent_bytes(&mut s, "", 3000);
    v.push((
        "dirent-root.dump".into(),
        s.replacen(" 4096 40755", "/ 4096 40755", 1),
    ));

    // Every inline size, in one directory (so they shift each other over block boundaries)
    // and each alone after an inode with xattrs.
    let mut s = String::from(root);
    for (i, size) in INLINE_SIZES.iter().enumerate() {
        let content = "c".repeat(*size);
        let _ = writeln!(s, "/f{i:02} {size} 100644 1 0 0 0 0.0 - {content} -");
    }
    v.push(("inline-sizes.dump".into(), s));
    for size in INLINE_SIZES {
        let content = "q".repeat(*size);
        let xattr = "x".repeat(3000 - size.min(&2900));
        let s = format!("{root}/a 0 100644 1 0 0 0 0.0 - - - user.pad={xattr}\n/b {size} 100644 1 0 0 0 0.0 - {content} -\n");
        v.push((format!("inline-after-xattr-{size}.dump"), s));
    }
    // External sizes: chunk formats, compact/extended by size, the out-of-line chunk index.
    let mut s = String::from(root);
    for (i, size) in EXTERNAL_SIZES.iter().enumerate() {
        let _ = writeln!(
            s,
            "/e{i:02} {size} 100644 1 0 0 0 0.0 ab/{:062} - ab{:062}",
            i, i
        );
    }
    v.push(("external-sizes.dump".into(), s));
    // Symlink targets that fit inline, that force padding, and that go to a block.
    let mut s = String::from(root);
    for (i, len) in SYMLINK_LENGTHS.iter().enumerate() {
        let _ = writeln!(
            s,
            "/l{i:02} {len} 120777 1 0 0 0 0.0 {} - -",
            "t".repeat(*len)
        );
    }
    v.push(("symlinks.dump".into(), s));
    for len in [3000, 4000, 4060, 4095] {
        let s = format!(
            "{root}/a 0 100644 1 0 0 0 0.0 - - - user.pad={}\n/b {len} 120777 1 0 0 0 0.0 {} - - user.y=z\n",
            "p".repeat(500),
            "s".repeat(len)
        );
        v.push((format!("symlink-after-xattr-{len}.dump"), s));
    }
    // More than 127 shared xattrs on one inode: the rest are stored inline.
    let mut s = String::from(root);
    for f in 0..3 {
        let _ = write!(s, "/m{f} 0 100644 1 0 0 0 0.0 - - -");
        for k in 0..140 {
            let _ = write!(s, " user.m{k:03}=v{k}");
        }
        s.push('\n');
    }
    v.push(("many-shared-xattrs.dump".into(), s));
    // Shared-table order: same key with values of different lengths and bytes.
    let mut s = String::from(root);
    for (i, val) in ["b", "a", "ab", "ba", "", "aaa", "b"].iter().enumerate() {
        for j in 0..2 {
            let _ = writeln!(s, "/s{i}{j} 0 100644 1 0 0 0 0.0 - - - user.k={val} user.k{i}=x trusted.overlay.z={val}");
        }
    }
    v.push(("shared-order.dump".into(), s));
    // Whiteouts: in the root, in a subdirectory, hard-linked; stubs and a taken stub name;
    // root selinux label copied to the stubs.
    v.push((
        "whiteouts.dump".into(),
        "/ 4096 40755 2 0 0 0 5.5 - - - security.selinux=root_t\\x00\n\
         /00 4096 40700 2 7 7 0 5.5 - - -\n\
         /0a 0 100644 1 0 0 0 5.5 - - -\n\
         /ff 0 20644 1 0 0 0 5.5 - - -\n\
         /w 0 20000 1 0 0 0 5.5 - - -\n\
         /sub 4096 40755 2 0 0 0 5.5 - - -\n\
         /sub/w2 0 20644 1 0 0 0 5.5 - - - user.x=1\n\
         /sub/hw 0 @20644 1 0 0 0 5.5 /sub/w2 - -\n"
            .into(),
    ));
    v.push((
        "no-whiteouts.dump".into(),
        "/ 4096 40755 2 0 0 0 5.5 - - -\n/c 0 20644 1 0 0 3 5.5 - - -\n".into(),
    ));
    // Overlay xattrs in the input that collide with the ones the writer adds: upstream's
    // writer accounts xattr space from zero on its clone of the tree, so replacing one of
    // several xattrs fails with ERANGE while replacing a lone one works.
    for (i, (mode, xattrs)) in [
        ("20644", "trusted.overlay.whiteout=v"),
        ("20644", "a.b=1 trusted.overlay.whiteout=v"),
        ("20644", "a.b=1 user.overlay.whiteout=v"),
        (
            "20644",
            "trusted.overlay.whiteout=v a.b=1 user.c=12345678901234567890",
        ),
        ("20644", "a.b=1 trusted.overlay.overlay.whiteout=v"),
        ("100644", "a.b=1 trusted.overlay.whiteout=v"),
    ]
    .iter()
    .enumerate()
    {
        v.push((
            format!("overlay-collision-{i}.dump"),
            format!("{root}/w 0 {mode} 1 0 0 0 0.0 - - - {xattrs}\n"),
        ));
    }
    for (i, xattrs) in [
        "user.overlay.opaque=y",
        "user.overlay.opaque=y a.b=1",
        "trusted.overlay.opaque=y a.b=1",
        "trusted.overlay.whiteouts=v a.b=1",
    ]
    .iter()
    .enumerate()
    {
        v.push((
            format!("overlay-collision-dir-{i}.dump"),
            format!(
                "{root}/d 4096 40755 2 0 0 0 0.0 - - - {xattrs}\n/d/w 0 20644 1 0 0 0 0.0 - - -\n"
            ),
        ));
    }
    // Hard links: chains, forward references, to symlinks, devices, files in subdirectories.
    v.push((
        "hardlinks.dump".into(),
        "/ 4096 40755 2 0 0 0 0.0 - - -\n\
         /h1 0 @100644 1 0 0 0 0.0 /d/f - -\n\
         /d 4096 40755 2 0 0 0 0.0 - - -\n\
         /d/f 5 100600 3 1 2 0 7.0 - hello - user.a=b\n\
         /h2 0 @100644 9 9 9 9 9.9 /h1 - -\n\
         /l 3 120777 1 0 0 0 0.0 abc - -\n\
         /hl 0 @120777 1 0 0 0 0.0 /l - -\n\
         /c 0 20644 1 0 0 1025 0.0 - - -\n\
         /d/hc 0 @20644 1 0 0 0 0.0 /c - -\n\
         /x 4096 100644 1 0 0 0 0.0 ab/cd - abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd\n\
         /d/hx 0 @100644 1 0 0 0 0.0 //x - -\n"
            .into(),
    ));
    // Ids, link counts and times at the compact-inode limits.
    let mut s = String::from("/ 4096 40755 2 0 0 0 100.5 - - -\n");
    for (i, (uid, gid, nlink, mtime)) in [
        (65_535u64, 65_535u64, 65_535u64, "100.5"),
        (65_536, 0, 1, "100.5"),
        (0, 65_536, 1, "100.5"),
        (0, 0, 65_536, "100.5"),
        (4_294_967_295, 4_294_967_295, 4_294_967_295, "100.5"),
        (0, 0, 1, "100.6"),
        (0, 0, 1, "101.5"),
        (0, 0, 1, "-100.5"),
        (0, 0, 1, "8589934592.999999999"),
    ]
    .iter()
    .enumerate()
    {
        let _ = writeln!(s, "/n{i} 0 100644 {nlink} {uid} {gid} 0 {mtime} - - -");
    }
    v.push(("id-limits.dump".into(), s));
    // Escapes: odd bytes in names, symlink targets, xattrs; upper-case hex; a lone dash.
    v.push((
        "escapes.dump".into(),
        "/ 4096 40755 2 0 0 0 0.0 - - -\n\
         /\\x2d 1 100644 1 0 0 0 0.0 - \\x2d -\n\
         /sp\\x20ace\\ttab\\nnl\\rcr\\\\bs 0 100644 1 0 0 0 0.0 - - -\n\
         /hi\\xFF\\x80\\x01 0 100644 1 0 0 0 0.0 - - - user.\\x3d\\xff=\\x00\\x01= trusted.overlay.x=y\n\
         /lnk 4 120777 1 0 0 0 0.0 a\\x20b\\xff - -\n"
            .into(),
    ));
    // A lone root, and a root with everything on it.
    v.push(("root-only.dump".into(), root.into()));
    v.push((
        "root-attrs.dump".into(),
        "/ 4096 41777 2 70000 70000 0 -5.5 - - - trusted.overlay.opaque=x system.posix_acl_default=\\x02\\x00\\x00\\x00 user.a=b\n".into(),
    ));
    // A deep tree.
    let mut s = String::from(root);
    let mut p = String::new();
    for d in 0..200 {
        let _ = write!(p, "/{}", if d % 2 == 0 { "d" } else { "deeper" });
        let _ = writeln!(s, "{p} 4096 40755 2 0 0 0 {d}.0 - - - user.depth={d}");
    }
    v.push(("deep.dump".into(), s));
    v
}

#[test]
fn edge_dumps_match_reference() {
    let dir = scratch("edge");
    let mut failures = Failures::default();
    let mut cases = 0;
    for (name, text) in edge_dumps() {
        let dump = write_dump(&dir, &name, &text);
        for (k, o) in VERSION_OPTS.iter().enumerate() {
            let case = Case::dump_file(format!("{name}-o{k}"), &dump, o);
            match failures.note(run_both(&dir, &case)) {
                Some(Agreed::Built(_)) => cases += 1,
                Some(Agreed::Failed) if name.starts_with("overlay-collision") => cases += 1,
                Some(Agreed::Failed) => failures.push(format!(
                    "{name} {o:?}: both tools reject an edge dump meant to be valid"
                )),
                None => {}
            }
        }
    }
    assert!(!failures.0.is_empty() || cases > 100);
    failures.check(&dir);
}

/// Reading the dump from stdin, writing the image to stdout, and the digest options.
#[test]
fn stdin_stdout_and_digest_options_match_reference() {
    let dir = scratch("stdio");
    let mut failures = Failures::default();
    let text = DumpGen::new(1000).generate();
    let dump = write_dump(&dir, "in.dump", &text);
    let mut case = Case::dump_file("stdin", Path::new("-"), &[]);
    case.stdin = Some(text.as_bytes());
    failures.note(run_both(&dir, &case));
    let mut case = Case::dump_file("stdout", &dump, &["--min-version=1"]);
    case.image_to_stdout = true;
    failures.note(run_both(&dir, &case));
    for (tag, opts) in [
        ("print-digest", &["--print-digest"][..]),
        (
            "print-digest-v1",
            &["--print-digest", "--min-version=1"][..],
        ),
    ] {
        failures.note(run_both(&dir, &Case::dump_file(tag, &dump, opts)));
    }
    let mut case = Case::dump_file("print-digest-only", &dump, &["--print-digest-only"]);
    case.no_image = true;
    match failures.note(run_both(&dir, &case)) {
        Some(Agreed::Built(_)) | None => {}
        Some(Agreed::Failed) => failures.push("--print-digest-only failed in both".into()),
    }
    failures.check(&dir);
}

/// Inputs both tools must reject, each with exit code 1 and a one-line message.
fn bad_dumps() -> Vec<(&'static str, String)> {
    let root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    let long = "n".repeat(256);
    let mut v: Vec<(&'static str, String)> = vec![
        ("empty", String::new()),
        ("no-root", "/a 0 100644 1 0 0 0 0.0 - - -\n".into()),
        ("root-not-dir", "/ 0 100644 1 0 0 0 0.0 - - -\n".into()),
        ("two-roots", format!("{root}{root}")),
        (
            "mode-no-type",
            format!("{root}/x 0 644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "mode-bad-type",
            format!("{root}/x 0 170644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "mode-not-octal",
            format!("{root}/x 0 100648 1 0 0 0 0.0 - - -\n"),
        ),
        ("mode-text", format!("{root}/x 0 abc 1 0 0 0 0.0 - - -\n")),
        (
            "size-text",
            format!("{root}/x 1x 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "nlink-text",
            format!("{root}/x 0 100644 z 0 0 0 0.0 - - -\n"),
        ),
        ("uid-text", format!("{root}/x 0 100644 1 u 0 0 0.0 - - -\n")),
        (
            "gid-text-root-uid",
            format!("{root}/x 0 100644 1 0 g 0 0.0 - - -\n"),
        ),
        (
            "mtime-text",
            format!("{root}/x 0 100644 1 0 0 0 x.0 - - -\n"),
        ),
        (
            "nsec-text",
            format!("{root}/x 0 100644 1 0 0 0 1.x - - -\n"),
        ),
        (
            "escape-unknown",
            format!("{root}/x\\q 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "escape-short-hex",
            format!("{root}/x\\x4 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "escape-bad-hex",
            format!("{root}/x\\xzz 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "escape-trailing",
            format!("{root}/x 1 100644 1 0 0 0 0.0 - a\\ -\n"),
        ),
        (
            "escape-in-xattr",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - - user.a=\\y\n"),
        ),
        (
            "missing-parent",
            format!("{root}/a/b 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "parent-not-dir",
            format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\n/a/b 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "duplicate-path",
            format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "duplicate-dir",
            format!("{root}/a 4096 40755 2 0 0 0 0.0 - - -\n/a 4096 40755 2 0 0 0 0.0 - - -\n"),
        ),
        ("dot-name", format!("{root}/. 0 100644 1 0 0 0 0.0 - - -\n")),
        (
            "dotdot-name",
            format!("{root}/a 4096 40755 2 0 0 0 0.0 - - -\n/a/.. 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "name-too-long",
            format!("{root}/{long} 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "hardlink-nonexistent",
            format!("{root}/h 0 @100644 1 0 0 0 0.0 /nothing - -\n"),
        ),
        (
            "hardlink-no-target",
            format!("{root}/h 0 @100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "hardlink-self",
            format!("{root}/h 0 @100644 1 0 0 0 0.0 /h - -\n"),
        ),
        (
            "hardlink-dir",
            format!("{root}/d 4096 40755 2 0 0 0 0.0 - - -\n/h 0 @40755 1 0 0 0 0.0 /d - -\n"),
        ),
        (
            "hardlink-loop",
            format!("{root}/a 0 @100644 1 0 0 0 0.0 /b - -\n/b 0 @100644 1 0 0 0 0.0 /a - -\n"),
        ),
        (
            "inline-too-big",
            format!(
                "{root}/x 5001 100644 1 0 0 0 0.0 - {} -\n",
                "c".repeat(5001)
            ),
        ),
        (
            "content-size-mismatch",
            format!("{root}/x 4 100644 1 0 0 0 0.0 - abc -\n"),
        ),
        (
            "symlink-no-target",
            format!("{root}/l 0 120777 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "symlink-too-long",
            format!(
                "{root}/l 4096 120777 1 0 0 0 0.0 {} - -\n",
                "t".repeat(4096)
            ),
        ),
        (
            "payload-too-long",
            format!("{root}/x 10 100644 1 0 0 0 0.0 {} - -\n", "p".repeat(4096)),
        ),
        (
            "empty-xattr-key",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - - =v\n"),
        ),
        (
            "xattr-no-equal",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - - user.a\n"),
        ),
        (
            "xattr-key-too-long",
            format!(
                "{root}/x 0 100644 1 0 0 0 0.0 - - - user.{}=v\n",
                "k".repeat(251)
            ),
        ),
        (
            "xattr-value-too-long",
            format!(
                "{root}/x 0 100644 1 0 0 0 0.0 - - - user.a={}\n",
                "v".repeat(65_536)
            ),
        ),
        ("xattrs-too-big", {
            let mut s = format!("{root}/x 0 100644 1 0 0 0 0.0 - - -");
            for k in 0..20 {
                let _ = write!(s, " user.k{k}={}", "v".repeat(2000));
            }
            s + "\n"
        }),
        (
            "file-too-big",
            format!("{root}/x 10000000000000000000 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "embedded-nul",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - -\0\n"),
        ),
    ];
    v.push(("empty-path", format!("{root} 0 100644 1 0 0 0 0.0 - - -\n")));
    v
}

/// Inputs that only strict mode (`CFS_PARSE_STRICT`) rejects.
fn bad_strict_dumps() -> Vec<(&'static str, String)> {
    let root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    vec![
        ("no-newline", root.trim_end().to_string()),
        (
            "rdev-on-file",
            format!("{root}/x 0 100644 1 0 0 5 0.0 - - -\n"),
        ),
        (
            "symlink-size",
            format!("{root}/l 9 120777 1 0 0 0 0.0 abc - -\n"),
        ),
        (
            "symlink-content",
            format!("{root}/l 3 120777 1 0 0 0 0.0 abc abc -\n"),
        ),
    ]
}

#[test]
fn bad_dumps_fail_in_both() {
    let dir = scratch("bad");
    let mut failures = Failures::default();
    let mut check = |name: String, text: &str, strict: bool| {
        let dump = write_dump(&dir, &format!("{name}.dump"), text);
        let mut case = Case::dump_file(name.clone(), &dump, &[]);
        if strict {
            case.env.push(("CFS_PARSE_STRICT", "1"));
        }
        match failures.note(run_both(&dir, &case)) {
            Some(Agreed::Built(_)) => failures.push(format!("{name}: both tools accept it")),
            Some(Agreed::Failed) | None => {}
        }
    };
    for (name, text) in bad_dumps() {
        check(name.to_string(), &text, false);
    }
    for (name, text) in bad_strict_dumps() {
        check(format!("strict-{name}"), &text, true);
    }
    // Without strict mode the same inputs are accepted by both.
    for (name, text) in bad_strict_dumps() {
        let dump = write_dump(&dir, &format!("lenient-{name}.dump"), &text);
        let case = Case::dump_file(format!("lenient-{name}"), &dump, &[]);
        if let Some(Agreed::Failed) = failures.note(run_both(&dir, &case)) {
            failures.push(format!("lenient-{name}: rejected without strict mode"));
        }
    }
    // Bad options.
    let dump = write_dump(&dir, "ok.dump", "/ 4096 40755 2 0 0 0 0.0 - - -\n");
    for (k, opts) in [
        &["--min-version=2"][..],
        &["--max-version=2"][..],
        &["--min-version=abc"][..],
        &["--no-such-option"][..],
    ]
    .iter()
    .enumerate()
    {
        let mut case = Case::dump_file(format!("opt{k}"), &dump, opts);
        case.usage_error = opts[0] == "--no-such-option";
        if let Some(Agreed::Built(_)) = failures.note(run_both(&dir, &case)) {
            failures.push(format!("options {opts:?}: both tools accept them"));
        }
    }
    failures.check(&dir);
}

/// Odd but possibly valid inputs: whatever the reference does, we must do the same.
#[test]
fn lenient_parsing_matches_reference() {
    let root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    let inputs: Vec<(&str, String)> = vec![
        (
            "double-slash",
            format!("{root}/a 4096 40755 2 0 0 0 0.0 - - -\n//a//b 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "trailing-slash",
            format!("{root}/a/ 4096 40755 2 0 0 0 0.0 - - -\n"),
        ),
        (
            "no-leading-slash",
            format!("{root}a 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "nul-in-name",
            format!("{root}/a\\x00b 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "nul-in-symlink",
            format!("{root}/l 3 120777 1 0 0 0 0.0 ab\\x00c - -\n"),
        ),
        (
            "nul-in-xattr-key",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - - user.a\\x00b=1\n"),
        ),
        (
            "duplicate-xattr",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - - user.a=1 user.b=2 user.a=3\n"),
        ),
        (
            "plus-signs",
            format!("{root}/x +0 +100644 +1 +0 +0 +0 +1.+2 - - -\n"),
        ),
        (
            "negative-nlink",
            format!("{root}/x 0 100644 -1 0 0 0 0.0 - - -\n"),
        ),
        (
            "huge-uid",
            format!("{root}/x 0 100644 1 99999999999999999999 0 0 0.0 - - -\n"),
        ),
        (
            "bad-gid-nonroot",
            format!("{root}/x 0 100644 1 5 g r 0.0 - - -\n"),
        ),
        (
            "mtime-no-dot",
            format!("{root}/x 0 100644 1 0 0 0 7 - - -\n"),
        ),
        (
            "nsec-overflow",
            format!("{root}/x 0 100644 1 0 0 0 7.4294967297 - - -\n"),
        ),
        ("fields-missing", format!("{root}/x 0 100644 1 0 0 0 0.0\n")),
        (
            "hardlink-garbage-fields",
            format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\n/h x @100644 y z w v u /a q r\n"),
        ),
        (
            "chardev-size",
            format!("{root}/c 10 20644 1 0 0 5 0.0 - - -\n"),
        ),
        (
            "dir-with-content",
            format!("{root}/d 3 40755 2 0 0 0 0.0 - abc -\n"),
        ),
        (
            "fifo-with-payload",
            format!("{root}/p 0 10644 1 0 0 0 0.0 some/where - abcd\n"),
        ),
        (
            "long-digest",
            format!(
                "{root}/x 10 100644 1 0 0 0 0.0 ab/cd - {}\n",
                "ab".repeat(40)
            ),
        ),
        (
            "inline-with-digest",
            format!(
                "{root}/x 3 100644 1 0 0 0 0.0 p/q abc {}\n",
                "ab".repeat(32)
            ),
        ),
        ("crlf", "/ 4096 40755 2 0 0 0 0.0 - - -\r\n".to_string()),
        (
            "blank-line",
            format!("{root}\n/x 0 100644 1 0 0 0 0.0 - - -\n"),
        ),
        (
            "extra-spaces",
            format!("{root}/x 0 100644 1 0 0 0 0.0 - - -  user.a=b\n"),
        ),
    ];
    let dir = scratch("lenient");
    let mut failures = Failures::default();
    for (name, text) in inputs {
        let dump = write_dump(&dir, &format!("{name}.dump"), &text);
        for (k, o) in [&[][..], &["--min-version=1"][..]].iter().enumerate() {
            failures.note(run_both(
                &dir,
                &Case::dump_file(format!("{name}-{k}"), &dump, o),
            ));
        }
    }
    failures.check(&dir);
}

/// A digest field shorter than a digest, or with a bad hex pair: upstream parses hex pairs up
/// to the first bad one and leaves the rest of its buffer uninitialised (its images differ
/// from run to run), so it cannot be the oracle. Ours fills the rest with zeros: the image
/// must equal that of the zero-padded digest.
#[test]
fn short_digest_is_zero_padded() {
    let dir = scratch("short-digest");
    let root = "/ 4096 40755 2 0 0 0 0.0 - - -\n";
    let build = |name: &str, digest: &str| -> Vec<u8> {
        let dump = write_dump(
            &dir,
            name,
            &format!("{root}/x 10 100644 1 0 0 0 0.0 ab/cd - {digest}\n"),
        );
        let img = dir.join(format!("{name}.cfs"));
        let out = std::process::Command::new(common::ours())
            .arg("--from-file")
            .arg(&dump)
            .arg(&img)
            .output()
            .expect("run mkcomposefs");
        common::assert_success(name, &out);
        std::fs::read(&img).expect("image")
    };
    let padded = build("padded", &format!("abcd{}", "0".repeat(60)));
    assert_eq!(build("short", "abcd"), padded);
    assert_eq!(
        build("bad-pair", &format!("abcdzz{}", "1".repeat(58))),
        padded
    );
    assert_ne!(build("other", &format!("abce{}", "0".repeat(60))), padded);
    let _ = std::fs::remove_dir_all(&dir);
}
