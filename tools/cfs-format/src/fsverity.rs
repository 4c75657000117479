// SPDX-License-Identifier: GPL-2.0 OR MIT

//! fs-verity file digests computed in userspace.
//!
//! The digest is the one `FS_IOC_MEASURE_VERITY` reports for a file with fs-verity enabled
//! with 4096-byte Merkle tree blocks and no salt: the hash of the 256-byte
//! `fsverity_descriptor` that holds the root hash of the Merkle tree over the file data.
//!
//! An empty file has an all-zero root hash, as the kernel defines it
//! (`Documentation/filesystems/fsverity.rst`). Upstream composefs 1.0.8 hashes a zero-filled
//! block instead and so reports a different digest for empty files; this implementation follows
//! the kernel, which is what verification compares against.

use std::io::{self, Read};

use sha2::{Digest, Sha256, Sha512};

/// Merkle tree block size (and data block size).
pub const BLOCK_SIZE: usize = 4096;

/// An fs-verity hash algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// `FS_VERITY_HASH_ALG_SHA256` (1), 32-byte digests.
    Sha256,
    /// `FS_VERITY_HASH_ALG_SHA512` (2), 64-byte digests.
    Sha512,
}

impl HashAlg {
    /// The fs-verity algorithm number.
    pub fn id(self) -> u8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    /// Digest size in bytes.
    pub fn digest_size(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        match self {
            Self::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
            Self::Sha512 => {
                let mut h = Sha512::new();
                for p in parts {
                    h.update(p);
                }
                h.finalize().to_vec()
            }
        }
    }
}

/// Incremental fs-verity digest computation.
///
/// Feed the file contents with [`Hasher::update`] in any pieces, then call
/// [`Hasher::finish`]. Memory use is one digest per 4096-byte data block (under 1% of the
/// file size for sha256).
pub struct Hasher {
    alg: HashAlg,
    /// Hashes of the full data blocks so far (the tree's lowest level).
    leaves: Vec<u8>,
    /// Pending partial data block.
    buf: Vec<u8>,
    size: u64,
}

impl Hasher {
    /// A new hasher for `alg`.
    pub fn new(alg: HashAlg) -> Self {
        Self {
            alg,
            leaves: Vec::new(),
            buf: Vec::with_capacity(BLOCK_SIZE),
            size: 0,
        }
    }

    /// Feeds file data.
    pub fn update(&mut self, mut data: &[u8]) {
        self.size += data.len() as u64;
        while !data.is_empty() {
            if self.buf.is_empty() && data.len() >= BLOCK_SIZE {
                let (block, rest) = data.split_at(BLOCK_SIZE);
                let digest = self.alg.hash(&[block]);
                self.leaves.extend_from_slice(&digest);
                data = rest;
                continue;
            }
            let take = (BLOCK_SIZE - self.buf.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf.extend_from_slice(head);
            data = rest;
            if self.buf.len() == BLOCK_SIZE {
                let digest = self.alg.hash(&[&self.buf]);
                self.leaves.extend_from_slice(&digest);
                self.buf.clear();
            }
        }
    }

    /// Finishes and returns the fs-verity digest.
    pub fn finish(mut self) -> Vec<u8> {
        let ds = self.alg.digest_size();
        if !self.buf.is_empty() {
            // The last data block is zero-padded.
            self.buf.resize(BLOCK_SIZE, 0);
            let digest = self.alg.hash(&[&self.buf]);
            self.leaves.extend_from_slice(&digest);
        }
        let root = if self.size == 0 {
            // The kernel defines the root hash of an empty file as all zeroes.
            vec![0u8; ds]
        } else {
            // Pack each level's hashes into zero-padded blocks and hash those, until one
            // hash remains: the root hash (a one-block file's root hash is its block's hash).
            let mut level = self.leaves;
            let mut block = [0u8; BLOCK_SIZE];
            while level.len() > ds {
                let mut next = Vec::with_capacity(level.len().div_ceil(BLOCK_SIZE) * ds);
                for chunk in level.chunks(BLOCK_SIZE) {
                    block.fill(0);
                    block[..chunk.len()].copy_from_slice(chunk);
                    next.extend_from_slice(&self.alg.hash(&[&block]));
                }
                level = next;
            }
            level
        };
        // struct fsverity_descriptor: version, hash_algorithm, log_blocksize, salt_size,
        // reserved (4), data_size (le64), root_hash[64], salt[32], reserved[144].
        let mut desc = [0u8; 256];
        desc[0] = 1;
        desc[1] = self.alg.id();
        desc[2] = 12;
        desc[8..16].copy_from_slice(&self.size.to_le_bytes());
        desc[16..16 + ds].copy_from_slice(&root);
        self.alg.hash(&[&desc])
    }
}

/// The fs-verity digest of `data`.
pub fn digest_bytes(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    let mut h = Hasher::new(alg);
    h.update(data);
    h.finish()
}

/// The fs-verity digest of everything `r` yields.
pub fn digest_reader(alg: HashAlg, mut r: impl Read) -> io::Result<Vec<u8>> {
    let mut h = Hasher::new(alg);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // Values from upstream composefs' test-units.sh.
        assert_eq!(
            to_hex(&digest_bytes(HashAlg::Sha256, b"hello world\n")),
            "37061ef2ac4c21bec68489b56138c5780306a4ad7fe6676236ecdf2c9027cd92"
        );
        assert_eq!(
            to_hex(&digest_bytes(HashAlg::Sha256, b"foo bar baz\n")),
            "91e7d88cb7bc9cf6d8db3b0ecf89af4abf204bef5b3ade5113d5b62ef374e70b"
        );
    }

    #[test]
    fn incremental_matches_oneshot() {
        let data: Vec<u8> = (0..(4096 * 130 + 17))
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let one = digest_bytes(HashAlg::Sha256, &data);
        let mut h = Hasher::new(HashAlg::Sha256);
        for c in data.chunks(1000) {
            h.update(c);
        }
        assert_eq!(one, h.finish());
    }
}
