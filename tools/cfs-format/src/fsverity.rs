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
        let mut out = [0u8; 64];
        let n = self.digest_size();
        self.hash_into(parts, &mut out[..n]);
        out[..n].to_vec()
    }

    /// Hashes the concatenation of `parts` into `out` (exactly one digest long).
    fn hash_into(self, parts: &[&[u8]], out: &mut [u8]) {
        match self {
            Self::Sha256 => {
                let mut h = Sha256::new();
                for p in parts {
                    h.update(p);
                }
                out.copy_from_slice(&h.finalize());
            }
            Self::Sha512 => {
                let mut h = Sha512::new();
                for p in parts {
                    h.update(p);
                }
                out.copy_from_slice(&h.finalize());
            }
        }
    }
}

/// Hashes whole data blocks: `blocks` holds `n` blocks of [`BLOCK_SIZE`] bytes and `out`
/// receives their `n` hashes (the lowest level of the Merkle tree), one digest each. Data
/// beyond the last whole block and digests beyond the `n`th are left alone.
///
/// With [`Hasher::update_with`], callers can hash the blocks of a large file in parallel.
pub fn hash_blocks_into(alg: HashAlg, blocks: &[u8], out: &mut [u8]) {
    let ds = alg.digest_size();
    for (block, digest) in blocks
        .chunks_exact(BLOCK_SIZE)
        .zip(out.chunks_exact_mut(ds))
    {
        alg.hash_into(&[block], digest);
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
    pub fn update(&mut self, data: &[u8]) {
        let alg = self.alg;
        self.update_with(data, |blocks, out| hash_blocks_into(alg, blocks, out));
    }

    /// Feeds file data like [`Hasher::update`], leaving the hashing of the whole data
    /// blocks it contains to `hash_blocks`, which is called at most once with a run of whole
    /// blocks and a zeroed buffer for their hashes; it must fill that buffer as
    /// [`hash_blocks_into`] does (for example in parallel over parts of the run).
    pub fn update_with(&mut self, mut data: &[u8], hash_blocks: impl FnOnce(&[u8], &mut [u8])) {
        self.size += data.len() as u64;
        if !self.buf.is_empty() {
            let take = (BLOCK_SIZE - self.buf.len()).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf.extend_from_slice(head);
            data = rest;
            if self.buf.len() < BLOCK_SIZE {
                return;
            }
            self.push_leaf_of_buf();
        }
        let whole = data.len() / BLOCK_SIZE * BLOCK_SIZE;
        let (blocks, tail) = data.split_at(whole);
        if !blocks.is_empty() {
            let ds = self.alg.digest_size();
            let start = self.leaves.len();
            self.leaves
                .resize(start + blocks.len() / BLOCK_SIZE * ds, 0);
            hash_blocks(blocks, &mut self.leaves[start..]);
        }
        self.buf.extend_from_slice(tail);
    }

    /// Hashes the pending block (zero-padded when partial) into the leaves and clears it.
    fn push_leaf_of_buf(&mut self) {
        self.buf.resize(BLOCK_SIZE, 0);
        let ds = self.alg.digest_size();
        let start = self.leaves.len();
        self.leaves.resize(start + ds, 0);
        self.alg.hash_into(&[&self.buf], &mut self.leaves[start..]);
        self.buf.clear();
    }

    /// Finishes and returns the fs-verity digest.
    pub fn finish(mut self) -> Vec<u8> {
        let ds = self.alg.digest_size();
        if !self.buf.is_empty() {
            // The last data block is zero-padded.
            self.push_leaf_of_buf();
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
                let mut next = vec![0u8; level.len().div_ceil(BLOCK_SIZE) * ds];
                for (chunk, digest) in level.chunks(BLOCK_SIZE).zip(next.chunks_exact_mut(ds)) {
                    block.fill(0);
                    block[..chunk.len()].copy_from_slice(chunk);
                    self.alg.hash_into(&[&block], digest);
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

    #[test]
    fn update_with_split_block_hashing_matches() {
        let data: Vec<u8> = (0..(4096 * 70 + 123))
            .map(|i| (i * 13 % 251) as u8)
            .collect();
        for alg in [HashAlg::Sha256, HashAlg::Sha512] {
            let one = digest_bytes(alg, &data);
            // Pieces that start and end inside blocks, hashed by a caller that splits the
            // run of whole blocks in two, as a parallel caller would.
            let mut h = Hasher::new(alg);
            for piece in [
                &data[..100],
                &data[100..4096 * 33 + 7],
                &data[4096 * 33 + 7..],
            ] {
                h.update_with(piece, |blocks, out| {
                    let ds = alg.digest_size();
                    let n = blocks.len() / BLOCK_SIZE;
                    let (b1, b2) = blocks.split_at(n / 2 * BLOCK_SIZE);
                    let (o1, o2) = out.split_at_mut(n / 2 * ds);
                    hash_blocks_into(alg, b2, o2);
                    hash_blocks_into(alg, b1, o1);
                });
            }
            assert_eq!(one, h.finish());
        }
    }
}
