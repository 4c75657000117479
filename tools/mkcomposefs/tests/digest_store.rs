// SPDX-License-Identifier: GPL-2.0 OR MIT

//! `--digest-store` behaviour on the host: objects named by their fs-verity digest (checked
//! with fsverity-utils' `fsverity digest` where installed), mode 0644, reuse of existing
//! objects, no partial object under a final name even when the tool is killed midway,
//! fs-verity enabled where the filesystem supports it, and `--hash=sha512`.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cfs_format::fsverity::{self, HashAlg};
use cfs_test_support::scratch;
use common::{assert_success, ours, run, Rng};

/// The fs-verity digest of `path` as hex: from the host's `fsverity digest` (an independent
/// implementation) when installed, else from cfs-format.
fn measure(path: &Path, hash: HashAlg) -> String {
    let alg = match hash {
        HashAlg::Sha256 => "sha256",
        HashAlg::Sha512 => "sha512",
    };
    if let Ok(out) = Command::new("fsverity")
        .args(["digest", "--compact", &format!("--hash-alg={alg}")])
        .arg(path)
        .output()
    {
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).trim().to_string();
        }
    }
    let data = std::fs::read(path).expect("read");
    fsverity::to_hex(&fsverity::digest_bytes(hash, &data))
}

/// Writes a source tree of files of `sizes` (mode 0600) with random contents.
fn source_tree(dir: &Path, sizes: &[usize], seed: u64) -> PathBuf {
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("sub")).expect("mkdir");
    let mut rng = Rng::new(seed);
    for (i, size) in sizes.iter().enumerate() {
        let p = if i % 2 == 0 {
            src.join(format!("f{i}"))
        } else {
            src.join("sub").join(format!("f{i}"))
        };
        std::fs::write(&p, rng.bytes(*size)).expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    src
}

/// Every file in the store: (relative path, full path).
fn store_files(store: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![store.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(store)
                        .expect("in store")
                        .to_string_lossy()
                        .into_owned(),
                    p,
                ));
            }
        }
    }
    out.sort();
    out
}

/// True for an object name `xx/yyyy...` of a digest of `digest_len` bytes.
fn is_object_name(name: &str, digest_len: usize) -> bool {
    let b = name.as_bytes();
    b.len() == 2 * digest_len + 1
        && b[2] == b'/'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 2 || matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

fn build(src: &Path, store: &Path, img: &Path, extra: &[&str]) -> std::process::Output {
    let store_arg = format!("--digest-store={}", store.display());
    let mut args: Vec<&std::ffi::OsStr> = extra.iter().map(|s| s.as_ref()).collect();
    args.extend([store_arg.as_ref(), src.as_os_str(), img.as_os_str()]);
    run(&ours(), &args, None, &[])
}

const SIZES: &[usize] = &[0, 10, 64, 65, 4096, 4097, 70_000, 300_000, 65];

#[test]
fn objects_are_named_by_digest_and_world_readable() {
    let dir = scratch("named");
    let src = source_tree(&dir, SIZES, 1);
    let store = dir.join("store");
    let out = build(&src, &store, &dir.join("img"), &[]);
    assert_success("mkcomposefs", &out);
    let files = store_files(&store);
    // Files > 64 bytes are external: 6 of them (the two 65-byte files differ in content).
    assert_eq!(
        files.len(),
        SIZES.iter().filter(|s| **s > 64).count(),
        "objects: {files:?}"
    );
    for (name, path) in &files {
        assert!(is_object_name(name, 32), "stray file in the store: {name}");
        assert_eq!(
            name.replace('/', ""),
            measure(path, HashAlg::Sha256),
            "{name}: named by its digest"
        );
        let mode = path.metadata().expect("stat").mode() & 0o7777;
        assert_eq!(mode, 0o644, "{name}: mode {mode:o}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn existing_objects_are_reused() {
    let dir = scratch("reuse");
    let src = source_tree(&dir, SIZES, 2);
    let store = dir.join("store");
    let img1 = dir.join("img1");
    assert!(build(&src, &store, &img1, &[]).status.success());
    let before: Vec<(String, u64, i64)> = store_files(&store)
        .iter()
        .map(|(n, p)| {
            let md = p.metadata().expect("stat");
            (n.clone(), md.ino(), md.mtime_nsec())
        })
        .collect();
    // A second build into the same store keeps every object (same inode: not rewritten), and
    // an object that was removed comes back.
    let (removed, removed_path) = store_files(&store)[0].clone();
    std::fs::remove_file(&removed_path).expect("remove");
    let img2 = dir.join("img2");
    assert!(build(&src, &store, &img2, &["--threads=1"])
        .status
        .success());
    assert_eq!(
        std::fs::read(&img1).expect("img1"),
        std::fs::read(&img2).expect("img2")
    );
    let after = store_files(&store);
    assert_eq!(after.len(), before.len());
    for ((name, ino, _), (name2, path)) in before.iter().zip(&after) {
        assert_eq!(name, name2);
        if *name != removed {
            assert_eq!(
                path.metadata().expect("stat").ino(),
                *ino,
                "{name} was rewritten"
            );
        } else {
            assert_eq!(name.replace('/', ""), measure(path, HashAlg::Sha256));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kills mkcomposefs while it copies large objects, polling the store meanwhile: a file under
/// an object name must always be complete (written under a temporary name, then renamed).
#[test]
fn no_partial_object_under_its_final_name() {
    let dir = scratch("partial");
    const BIG: usize = 12 << 20;
    let src = source_tree(&dir, &[BIG, BIG, BIG, BIG], 3);
    let store = dir.join("store");
    let store_arg = format!("--digest-store={}", store.display());
    let mut child = Command::new(ours())
        .args(["--threads=1", &store_arg])
        .arg(&src)
        .arg(dir.join("img"))
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    let (mut saw_temp, mut checks, mut killed) = (false, 0u64, false);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        for (name, path) in store_files(&store) {
            if !is_object_name(&name, 32) {
                saw_temp = true;
                continue;
            }
            if let Ok(md) = path.metadata() {
                checks += 1;
                assert_eq!(
                    md.len(),
                    BIG as u64,
                    "{name} visible with {} of {BIG} bytes",
                    md.len()
                );
            }
        }
        // Kill it once one object is complete and another is being copied.
        if saw_temp
            && store_files(&store)
                .iter()
                .any(|(n, _)| is_object_name(n, 32))
        {
            let _ = child.kill();
            killed = true;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("mkcomposefs did not finish");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = child.wait();
    eprintln!("saw a temporary file: {saw_temp}, killed midway: {killed}, {checks} object checks");
    for (name, path) in store_files(&store) {
        if is_object_name(&name, 32) {
            assert_eq!(
                name.replace('/', ""),
                measure(&path, HashAlg::Sha256),
                "{name}: complete and right"
            );
        }
    }
    // A new run completes the store.
    let out = build(&src, &store, &dir.join("img2"), &[]);
    assert_success("mkcomposefs", &out);
    let objects: Vec<_> = store_files(&store)
        .into_iter()
        .filter(|(n, _)| is_object_name(n, 32))
        .collect();
    assert_eq!(objects.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `FS_IOC_MEASURE_VERITY`: the digest of a verity file, None if verity is not enabled.
fn measure_verity(path: &Path) -> Option<Vec<u8>> {
    use std::os::fd::AsRawFd;
    const FS_IOC_MEASURE_VERITY: libc::c_ulong = 0xc004_6686;
    let f = std::fs::File::open(path).ok()?;
    let mut buf = [0u8; 4 + 64];
    buf[2..4].copy_from_slice(&64u16.to_ne_bytes());
    // SAFETY: the buffer is a `struct fsverity_digest` header followed by 64 bytes.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), FS_IOC_MEASURE_VERITY as _, buf.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    let len = usize::from(u16::from_ne_bytes([buf[2], buf[3]]));
    Some(buf[4..4 + len].to_vec())
}

/// Whether files in `dir` can get fs-verity; the reason if not.
fn verity_supported(dir: &Path) -> Result<(), String> {
    let probe = dir.join("verity-probe");
    std::fs::write(&probe, b"probe").map_err(|e| e.to_string())?;
    let out = Command::new("fsverity")
        .arg("enable")
        .arg(&probe)
        .output()
        .map_err(|e| format!("fsverity tool: {e}"))?;
    let _ = std::fs::remove_file(&probe);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Objects get fs-verity with the right digest where the store's filesystem supports it
/// (`CFS_VERITY_DIR` can point at such a filesystem); elsewhere the store is still filled.
#[test]
fn verity_is_enabled_where_supported() {
    let base = std::env::var_os("CFS_VERITY_DIR").map(PathBuf::from);
    let dir = match &base {
        Some(b) => {
            let d = b.join(format!("cfs-mkfs-verity-{}", std::process::id()));
            std::fs::create_dir_all(&d).expect("dir");
            d
        }
        None => scratch("verity"),
    };
    for hash in [HashAlg::Sha256, HashAlg::Sha512] {
        let name = if hash == HashAlg::Sha256 {
            "sha256"
        } else {
            "sha512"
        };
        let src = source_tree(&dir.join(name), &[5000, 100_000], 4);
        let store = dir.join(name).join("store");
        let out = build(
            &src,
            &store,
            &dir.join(name).join("img"),
            &[&format!("--hash={name}")],
        );
        assert_success("mkcomposefs", &out);
        let files = store_files(&store);
        assert_eq!(files.len(), 2);
        match verity_supported(&store) {
            Ok(()) => {
                for (obj, path) in &files {
                    let d = measure_verity(path).unwrap_or_else(|| panic!("{obj}: no fs-verity"));
                    assert_eq!(
                        fsverity::to_hex(&d),
                        obj.replace('/', ""),
                        "{obj}: measured digest"
                    );
                }
            }
            Err(why) => {
                eprintln!("skipping the fs-verity checks ({name}): the filesystem of {} cannot enable verity: {why}", store.display());
                for (obj, path) in &files {
                    assert!(measure_verity(path).is_none(), "{obj}");
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The image's metacopy xattr value for an object digest: version 0, length, flags 0, the
/// fs-verity algorithm number (1 sha256, 2 sha512), the digest.
fn metacopy(digest: &[u8], alg: u8) -> Vec<u8> {
    let mut v = vec![0, (4 + digest.len()) as u8, 0, alg];
    v.extend_from_slice(digest);
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn sha512_names_objects_and_writes_64_byte_metacopy() {
    let dir = scratch("sha512");
    let src = source_tree(&dir, SIZES, 5);
    let store = dir.join("store");
    let img = dir.join("img");
    let out = build(&src, &store, &img, &["--hash=sha512"]);
    assert_success("mkcomposefs", &out);
    let image = std::fs::read(&img).expect("image");
    let files = store_files(&store);
    assert_eq!(files.len(), SIZES.iter().filter(|s| **s > 64).count());
    for (name, path) in &files {
        assert!(is_object_name(name, 64), "object name {name}");
        let hex = measure(path, HashAlg::Sha512);
        assert_eq!(
            name.replace('/', ""),
            hex,
            "{name}: named by its sha512 fs-verity digest"
        );
        let digest = unhex(&hex);
        assert!(
            contains(&image, &metacopy(&digest, 2)),
            "{name}: no sha512 metacopy in the image"
        );
        let mut redirect = b"/".to_vec();
        redirect.extend_from_slice(name.as_bytes());
        assert!(
            contains(&image, &redirect),
            "{name}: no redirect in the image"
        );
    }
    // The same tree with sha256: other names, 32-byte metacopy digests.
    let img256 = dir.join("img256");
    assert!(build(&src, &dir.join("store256"), &img256, &[])
        .status
        .success());
    let image256 = std::fs::read(&img256).expect("image");
    for (name, path) in store_files(&dir.join("store256")) {
        assert!(is_object_name(&name, 32));
        assert!(contains(
            &image256,
            &metacopy(&unhex(&measure(&path, HashAlg::Sha256)), 1)
        ));
    }

    // From a dump: a 128-hex digest becomes a 64-byte metacopy with algorithm 2.
    let digest: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    let dump = dir.join("d.dump");
    std::fs::write(
        &dump,
        format!(
            "/ 4096 40755 2 0 0 0 0.0 - - -\n/x 70000 100644 1 0 0 0 0.0 ab/cd - {}\n",
            fsverity::to_hex(&digest)
        ),
    )
    .expect("dump");
    let dimg = dir.join("dump.img");
    let out = run(
        &ours(),
        &[
            "--hash=sha512".as_ref(),
            "--from-file".as_ref(),
            dump.as_os_str(),
            dimg.as_os_str(),
        ],
        None,
        &[],
    );
    assert_success("mkcomposefs", &out);
    assert!(contains(
        &std::fs::read(&dimg).expect("image"),
        &metacopy(&digest, 2)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}
