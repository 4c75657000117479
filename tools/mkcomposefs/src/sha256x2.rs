//! SHA-256 of two fs-verity data blocks at once with the x86 SHA extensions.
//!
//! One SHA-256 stream is bound by the latency of `sha256rnds2`: each pair of rounds waits
//! for the previous one. The blocks of a Merkle tree level are independent, so hashing two
//! of them with their instructions interleaved keeps the unit busy and nearly doubles the
//! throughput of one core. The result is plain SHA-256 of each 4096-byte block; the tests
//! compare it with `cfs-format`'s one-stream hashing (the `sha2` crate).

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::*;
    use std::sync::OnceLock;

    use cfs_format::fsverity::BLOCK_SIZE;

    /// The SHA-256 round constants.
    static K: [u32; 64] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2,
    ];

    /// The initial hash value.
    static H0: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];

    /// The padding block of a 4096-byte message: 0x80, zeros, the length in bits (32768)
    /// as a big-endian 64-bit number.
    static PAD: [u8; 64] = {
        let mut b = [0u8; 64];
        b[0] = 0x80;
        b[62] = 0x80;
        b
    };

    /// Whether this CPU has the instructions.
    pub fn available() -> bool {
        static HAVE: OnceLock<bool> = OnceLock::new();
        *HAVE.get_or_init(|| {
            std::arch::is_x86_feature_detected!("sha")
                && std::arch::is_x86_feature_detected!("sse2")
                && std::arch::is_x86_feature_detected!("ssse3")
                && std::arch::is_x86_feature_detected!("sse4.1")
        })
    }

    /// Four rounds for both lanes: state words `abef`/`cdgh` and message words `w`.
    macro_rules! rounds4 {
        ($i:expr, $a_abef:ident, $a_cdgh:ident, $wa:expr, $b_abef:ident, $b_cdgh:ident, $wb:expr) => {{
            let k = _mm_loadu_si128(K.as_ptr().add(4 * $i).cast::<__m128i>());
            let ta = _mm_add_epi32($wa, k);
            let tb = _mm_add_epi32($wb, k);
            $a_cdgh = _mm_sha256rnds2_epu32($a_cdgh, $a_abef, ta);
            $b_cdgh = _mm_sha256rnds2_epu32($b_cdgh, $b_abef, tb);
            $a_abef = _mm_sha256rnds2_epu32($a_abef, $a_cdgh, _mm_shuffle_epi32(ta, 0x0E));
            $b_abef = _mm_sha256rnds2_epu32($b_abef, $b_cdgh, _mm_shuffle_epi32(tb, 0x0E));
        }};
    }

    /// The next four message words from the previous sixteen (`v0` oldest).
    #[inline(always)]
    unsafe fn schedule(v0: __m128i, v1: __m128i, v2: __m128i, v3: __m128i) -> __m128i {
        let t1 = _mm_sha256msg1_epu32(v0, v1);
        let t2 = _mm_alignr_epi8(v3, v2, 4);
        _mm_sha256msg2_epu32(_mm_add_epi32(t1, t2), v3)
    }

    /// Loads four big-endian message words.
    #[inline(always)]
    unsafe fn load(p: *const u8, mask: __m128i) -> __m128i {
        _mm_shuffle_epi8(_mm_loadu_si128(p.cast::<__m128i>()), mask)
    }

    /// One 64-byte block of each lane: `a` and `b` point at 64 readable bytes.
    #[inline(always)]
    unsafe fn compress2(st: &mut [__m128i; 4], a: *const u8, b: *const u8) {
        let mask = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        let [mut a_abef, mut a_cdgh, mut b_abef, mut b_cdgh] = *st;
        let (mut a0, mut a1, mut a2, mut a3) = (
            load(a, mask),
            load(a.add(16), mask),
            load(a.add(32), mask),
            load(a.add(48), mask),
        );
        let (mut b0, mut b1, mut b2, mut b3) = (
            load(b, mask),
            load(b.add(16), mask),
            load(b.add(32), mask),
            load(b.add(48), mask),
        );
        rounds4!(0, a_abef, a_cdgh, a0, b_abef, b_cdgh, b0);
        rounds4!(1, a_abef, a_cdgh, a1, b_abef, b_cdgh, b1);
        rounds4!(2, a_abef, a_cdgh, a2, b_abef, b_cdgh, b2);
        rounds4!(3, a_abef, a_cdgh, a3, b_abef, b_cdgh, b3);
        let mut i = 4;
        while i < 16 {
            a0 = schedule(a0, a1, a2, a3);
            b0 = schedule(b0, b1, b2, b3);
            rounds4!(i, a_abef, a_cdgh, a0, b_abef, b_cdgh, b0);
            a1 = schedule(a1, a2, a3, a0);
            b1 = schedule(b1, b2, b3, b0);
            rounds4!(i + 1, a_abef, a_cdgh, a1, b_abef, b_cdgh, b1);
            a2 = schedule(a2, a3, a0, a1);
            b2 = schedule(b2, b3, b0, b1);
            rounds4!(i + 2, a_abef, a_cdgh, a2, b_abef, b_cdgh, b2);
            a3 = schedule(a3, a0, a1, a2);
            b3 = schedule(b3, b0, b1, b2);
            rounds4!(i + 3, a_abef, a_cdgh, a3, b_abef, b_cdgh, b3);
            i += 4;
        }
        st[0] = _mm_add_epi32(st[0], a_abef);
        st[1] = _mm_add_epi32(st[1], a_cdgh);
        st[2] = _mm_add_epi32(st[2], b_abef);
        st[3] = _mm_add_epi32(st[3], b_cdgh);
    }

    /// The state in the instructions' layout: (`abef`, `cdgh`).
    #[inline(always)]
    unsafe fn initial() -> (__m128i, __m128i) {
        let dcba = _mm_loadu_si128(H0.as_ptr().cast::<__m128i>());
        let efgh = _mm_loadu_si128(H0.as_ptr().add(4).cast::<__m128i>());
        let cdab = _mm_shuffle_epi32(dcba, 0xB1);
        let efgh = _mm_shuffle_epi32(efgh, 0x1B);
        (
            _mm_alignr_epi8(cdab, efgh, 8),
            _mm_blend_epi16(efgh, cdab, 0xF0),
        )
    }

    /// Writes the digest of a state as 32 big-endian bytes.
    #[inline(always)]
    unsafe fn output(abef: __m128i, cdgh: __m128i, out: &mut [u8; 32]) {
        let feba = _mm_shuffle_epi32(abef, 0x1B);
        let dchg = _mm_shuffle_epi32(cdgh, 0xB1);
        let dcba = _mm_blend_epi16(feba, dchg, 0xF0);
        let hgef = _mm_alignr_epi8(dchg, feba, 8);
        // Words a..h in order; each becomes big-endian.
        let bswap = _mm_set_epi64x(0x0C0D_0E0F_0809_0A0B, 0x0405_0607_0001_0203);
        _mm_storeu_si128(
            out.as_mut_ptr().cast::<__m128i>(),
            _mm_shuffle_epi8(dcba, bswap),
        );
        _mm_storeu_si128(
            out.as_mut_ptr().add(16).cast::<__m128i>(),
            _mm_shuffle_epi8(hgef, bswap),
        );
    }

    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    unsafe fn hash2_inner(a: &[u8; BLOCK_SIZE], b: &[u8; BLOCK_SIZE]) -> ([u8; 32], [u8; 32]) {
        let (abef, cdgh) = initial();
        let mut st = [abef, cdgh, abef, cdgh];
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut off = 0;
        while off < BLOCK_SIZE {
            compress2(&mut st, pa.add(off), pb.add(off));
            off += 64;
        }
        compress2(&mut st, PAD.as_ptr(), PAD.as_ptr());
        let (mut da, mut db) = ([0u8; 32], [0u8; 32]);
        output(st[0], st[1], &mut da);
        output(st[2], st[3], &mut db);
        (da, db)
    }

    /// SHA-256 of two 4096-byte blocks. Call only if [`available`].
    pub fn hash2(a: &[u8; BLOCK_SIZE], b: &[u8; BLOCK_SIZE]) -> ([u8; 32], [u8; 32]) {
        debug_assert!(available());
        // SAFETY: the caller checked that the CPU has the instructions this
        // function is compiled for; the pointers stay within the arrays.
        unsafe { hash2_inner(a, b) }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use cfs_format::fsverity::BLOCK_SIZE;

    /// Never on this architecture.
    pub fn available() -> bool {
        false
    }

    /// Not reached: [`available`] is false.
    pub fn hash2(_: &[u8; BLOCK_SIZE], _: &[u8; BLOCK_SIZE]) -> ([u8; 32], [u8; 32]) {
        ([0; 32], [0; 32])
    }
}

pub use imp::{available, hash2};

#[cfg(test)]
mod tests {
    use super::*;
    use cfs_format::fsverity::{hash_blocks_into, HashAlg, BLOCK_SIZE};

    fn one(block: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        hash_blocks_into(HashAlg::Sha256, block, &mut out);
        out
    }

    #[test]
    fn matches_sha2() {
        if !available() {
            eprintln!("no SHA extensions on this CPU: nothing to test");
            return;
        }
        let mut a = [0u8; BLOCK_SIZE];
        let mut b = [0u8; BLOCK_SIZE];
        for seed in 0..20u32 {
            for (i, x) in a.iter_mut().enumerate() {
                *x = ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 11) as u8;
            }
            for (i, x) in b.iter_mut().enumerate() {
                *x = ((i as u32 ^ seed).wrapping_mul(40503) >> 5) as u8;
            }
            let (da, db) = hash2(&a, &b);
            assert_eq!(da, one(&a));
            assert_eq!(db, one(&b));
        }
    }
}
