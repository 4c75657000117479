// SPDX-License-Identifier: GPL-2.0 OR MIT

//! fs-verity digest vectors: upstream composefs' known values, the empty file as the kernel
//! defines it, and Merkle trees of one, two and three levels (up to > 16384 data blocks)
//! compared with fsverity-utils' `fsverity digest` (an independent implementation), for
//! sha256 and sha512.

use std::path::{Path, PathBuf};
use std::process::Command;

use cfs_format::fsverity::{digest_bytes, digest_reader, to_hex, HashAlg, Hasher, BLOCK_SIZE};

fn hex(alg: HashAlg, data: &[u8]) -> String {
    to_hex(&digest_bytes(alg, data))
}

#[test]
fn upstream_vectors() {
    // From upstream composefs' tests/test-units.sh.
    assert_eq!(
        hex(HashAlg::Sha256, b"hello world\n"),
        "37061ef2ac4c21bec68489b56138c5780306a4ad7fe6676236ecdf2c9027cd92"
    );
    assert_eq!(
        hex(HashAlg::Sha256, b"foo bar baz\n"),
        "91e7d88cb7bc9cf6d8db3b0ecf89af4abf204bef5b3ade5113d5b62ef374e70b"
    );
}

#[test]
fn empty_file_has_all_zero_root_hash() {
    // `fsverity digest` (fsverity-utils 1.5) of an empty file, i.e. the digest of a
    // descriptor with size 0 and an all-zero root hash, which is what the kernel measures.
    assert_eq!(
        hex(HashAlg::Sha256, b""),
        "3d248ca542a24fc62d1c43b916eae5016878e2533c88238480b26128a1f1af95"
    );
    // The same from the definition: sha256 over the 256-byte descriptor.
    let mut desc = [0u8; 256];
    desc[0] = 1; // version
    desc[1] = 1; // sha256
    desc[2] = 12; // log2 of the block size
    assert_eq!(hex(HashAlg::Sha256, b""), sha256_hex(&desc));
    desc[1] = 2;
    assert_eq!(digest_bytes(HashAlg::Sha512, b""), sha512(&desc));
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    to_hex(&sha2::Sha256::digest(data))
}

fn sha512(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha512::digest(data).to_vec()
}

/// `fsverity digest` of a file, or None when fsverity-utils is not installed.
fn fsverity_tool(path: &Path, alg: &str) -> Option<String> {
    let out = Command::new("fsverity")
        .args(["digest", "--compact", &format!("--hash-alg={alg}")])
        .arg(path)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "fsverity digest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_string(),
    )
}

fn scratch() -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfs-format-fsverity-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("scratch");
    d
}

#[test]
fn multi_level_trees_match_fsverity_utils() {
    // Hashes per Merkle block: 128 for sha256, 64 for sha512. The sizes give one level, two
    // levels (> 64 or 128 blocks), three levels (> 4096 blocks for sha512, > 16384 for
    // sha256), and partial blocks.
    const B: usize = BLOCK_SIZE;
    let sizes = [
        0,
        1,
        B - 1,
        B,
        B + 1,
        64 * B,
        64 * B + 1,
        128 * B,
        128 * B + 1,
        4096 * B + 7,
        16384 * B + 1,
    ];
    let dir = scratch();
    let mut checked = 0;
    for (i, size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*size)
            .map(|k| (k.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let path = dir.join(format!("f{i}"));
        std::fs::write(&path, &data).expect("write");
        for (alg, name) in [(HashAlg::Sha256, "sha256"), (HashAlg::Sha512, "sha512")] {
            let ours = hex(alg, &data);
            // Streaming in odd pieces and from a reader agree with the one-shot digest.
            let mut h = Hasher::new(alg);
            for piece in data.chunks(B + 13) {
                h.update(piece);
            }
            assert_eq!(
                to_hex(&h.finish()),
                ours,
                "{size} bytes, {name}, incremental"
            );
            let from_reader =
                digest_reader(alg, std::fs::File::open(&path).expect("open")).expect("read");
            assert_eq!(to_hex(&from_reader), ours, "{size} bytes, {name}, reader");
            match fsverity_tool(&path, name) {
                Some(theirs) => {
                    assert_eq!(ours, theirs, "{size} bytes, {name}");
                    checked += 1;
                }
                None => eprintln!("fsverity-utils not installed: {size} bytes {name} checked only for self-consistency"),
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    eprintln!("{checked} digests compared with fsverity-utils");
    let _ = std::fs::remove_dir_all(&dir);
}
