//! Streaming fs-verity digests (4096-byte blocks, no salt) for sha256 and
//! sha512, as the kernel computes them for `FS_IOC_MEASURE_VERITY`.

use std::io::{self, Read};

use sha2::{Digest, Sha256, Sha512};

/// fs-verity Merkle tree block size.
pub const BLOCK_SIZE: usize = 4096;
const LOG_BLOCK_SIZE: u8 = 12;

/// The hash algorithm of fs-verity digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    /// `FS_VERITY_HASH_ALG_SHA256` (1): 32-byte digests.
    Sha256,
    /// `FS_VERITY_HASH_ALG_SHA512` (2): 64-byte digests.
    Sha512,
}

impl HashAlg {
    /// Digest size in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlg::Sha256 => 32,
            HashAlg::Sha512 => 64,
        }
    }

    /// The kernel's `FS_VERITY_HASH_ALG_*` number.
    pub fn fsverity_id(self) -> u8 {
        match self {
            HashAlg::Sha256 => 1,
            HashAlg::Sha512 => 2,
        }
    }
}

/// An incremental fs-verity digest computation over one hash function.
struct Tree<D: Digest> {
    /// Partial data block.
    block: Vec<u8>,
    /// Pending (not yet full) hash block of each tree level.
    levels: Vec<Vec<u8>>,
    /// Number of hashes pushed into each level so far.
    pushed: Vec<u64>,
    total: u64,
    _d: std::marker::PhantomData<D>,
}

impl<D: Digest> Tree<D> {
    fn new() -> Self {
        Tree {
            block: Vec::with_capacity(BLOCK_SIZE),
            levels: Vec::new(),
            pushed: Vec::new(),
            total: 0,
            _d: std::marker::PhantomData,
        }
    }

    fn hash_block(data: &[u8]) -> Vec<u8> {
        let mut h = D::new();
        h.update(data);
        if data.len() < BLOCK_SIZE {
            h.update(&[0u8; BLOCK_SIZE][..BLOCK_SIZE - data.len()]);
        }
        h.finalize().to_vec()
    }

    /// Adds a hash to `level`, hashing full blocks upwards.
    fn push(&mut self, mut level: usize, mut hash: Vec<u8>) {
        loop {
            if self.levels.len() <= level {
                self.levels.push(Vec::with_capacity(BLOCK_SIZE));
                self.pushed.push(0);
            }
            self.levels[level].extend_from_slice(&hash);
            self.pushed[level] += 1;
            if self.levels[level].len() < BLOCK_SIZE {
                return;
            }
            hash = Self::hash_block(&self.levels[level]);
            self.levels[level].clear();
            level += 1;
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if !self.block.is_empty() {
            let n = (BLOCK_SIZE - self.block.len()).min(data.len());
            self.block.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.block.len() == BLOCK_SIZE {
                let h = Self::hash_block(&self.block);
                self.block.clear();
                self.push(0, h);
            }
        }
        while data.len() >= BLOCK_SIZE {
            let h = Self::hash_block(&data[..BLOCK_SIZE]);
            self.push(0, h);
            data = &data[BLOCK_SIZE..];
        }
        self.block.extend_from_slice(data);
    }

    fn finish(mut self, alg: HashAlg) -> Vec<u8> {
        let ds = <D as Digest>::output_size();
        let per_block = (BLOCK_SIZE / ds) as u64;
        let mut root = vec![0u8; 64];
        if self.total > 0 {
            if !self.block.is_empty() {
                let h = Self::hash_block(&self.block);
                self.block.clear();
                self.push(0, h);
            }
            let mut level = 0;
            loop {
                let blocks = self.pushed[level].div_ceil(per_block);
                if blocks == 1 {
                    let h = if self.levels[level].is_empty() {
                        // The single block was full and already hashed upwards.
                        self.levels[level + 1][..ds].to_vec()
                    } else {
                        Self::hash_block(&self.levels[level])
                    };
                    root[..ds].copy_from_slice(&h);
                    break;
                }
                if !self.levels[level].is_empty() {
                    let h = Self::hash_block(&self.levels[level]);
                    self.levels[level].clear();
                    // Counted as a hash of the next level, without re-hashing
                    // any level that just became full.
                    self.push(level + 1, h);
                }
                level += 1;
            }
        }
        let mut desc = [0u8; 256];
        desc[0] = 1;
        desc[1] = alg.fsverity_id();
        desc[2] = LOG_BLOCK_SIZE;
        desc[8..16].copy_from_slice(&self.total.to_le_bytes());
        desc[16..80].copy_from_slice(&root);
        D::digest(desc).to_vec()
    }
}

enum Inner {
    Sha256(Tree<Sha256>),
    Sha512(Tree<Sha512>),
}

/// Computes an fs-verity digest incrementally.
pub struct FsVerityHasher {
    alg: HashAlg,
    inner: Inner,
}

impl FsVerityHasher {
    /// A hasher for `alg`.
    pub fn new(alg: HashAlg) -> Self {
        let inner = match alg {
            HashAlg::Sha256 => Inner::Sha256(Tree::new()),
            HashAlg::Sha512 => Inner::Sha512(Tree::new()),
        };
        FsVerityHasher { alg, inner }
    }

    /// Feeds more file data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner::Sha256(t) => t.update(data),
            Inner::Sha512(t) => t.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Vec<u8> {
        match self.inner {
            Inner::Sha256(t) => t.finish(self.alg),
            Inner::Sha512(t) => t.finish(self.alg),
        }
    }
}

/// fs-verity digest of a byte slice.
pub fn digest_bytes(alg: HashAlg, data: &[u8]) -> Vec<u8> {
    let mut h = FsVerityHasher::new(alg);
    h.update(data);
    h.finish()
}

/// fs-verity digest of everything `r` yields; also returns the byte count.
pub fn digest_reader(alg: HashAlg, mut r: impl Read, buf: &mut [u8]) -> io::Result<(Vec<u8>, u64)> {
    let mut h = FsVerityHasher::new(alg);
    let mut n = 0u64;
    loop {
        let k = match r.read(buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finish(), n))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// The object path of a digest: `ab/cdef...`.
pub fn object_path(digest: &[u8]) -> String {
    let h = hex(digest);
    format!("{}/{}", &h[..2], &h[2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_sha256_digests() {
        // Values from upstream's unit tests (`composefs-info measure-file`).
        assert_eq!(
            hex(&digest_bytes(HashAlg::Sha256, b"hello world\n")),
            "37061ef2ac4c21bec68489b56138c5780306a4ad7fe6676236ecdf2c9027cd92"
        );
        assert_eq!(
            hex(&digest_bytes(HashAlg::Sha256, b"foo bar baz\n")),
            "91e7d88cb7bc9cf6d8db3b0ecf89af4abf204bef5b3ade5113d5b62ef374e70b"
        );
    }

    #[test]
    fn streaming_matches_one_shot() {
        let data: Vec<u8> = (0..(BLOCK_SIZE * 130 + 17)).map(|i| (i * 7 + i / 4096) as u8).collect();
        for alg in [HashAlg::Sha256, HashAlg::Sha512] {
            let one = digest_bytes(alg, &data);
            let mut h = FsVerityHasher::new(alg);
            for c in data.chunks(1000) {
                h.update(c);
            }
            assert_eq!(h.finish(), one);
        }
    }
}
