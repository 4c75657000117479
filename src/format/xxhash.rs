// SPDX-License-Identifier: GPL-2.0 OR MIT

//! xxHash32, used by the EROFS xattr name bloom filter.

use super::layout::{EROFS_XATTR_FILTER_BITS, EROFS_XATTR_FILTER_SEED};

const PRIME32_1: u32 = 0x9e37_79b1;
const PRIME32_2: u32 = 0x85eb_ca77;
const PRIME32_3: u32 = 0xc2b2_ae3d;
const PRIME32_4: u32 = 0x27d4_eb2f;
const PRIME32_5: u32 = 0x1656_67b1;

const fn round(acc: u32, input: u32) -> u32 {
    acc.wrapping_add(input.wrapping_mul(PRIME32_2))
        .rotate_left(13)
        .wrapping_mul(PRIME32_1)
}

const fn le32(b: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*b)
}

/// The xxHash32 of `input` with `seed` (a `const fn`: constant names are hashed at compile
/// time).
pub const fn xxh32(input: &[u8], seed: u32) -> u32 {
    let len = input.len();
    let mut rest = input;
    let mut h: u32;
    if len >= 16 {
        let mut v1 = seed.wrapping_add(PRIME32_1).wrapping_add(PRIME32_2);
        let mut v2 = seed.wrapping_add(PRIME32_2);
        let mut v3 = seed;
        let mut v4 = seed.wrapping_sub(PRIME32_1);
        while let Some((stripe, tail)) = rest.split_first_chunk::<16>() {
            let [a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3] = *stripe;
            v1 = round(v1, le32(&[a0, a1, a2, a3]));
            v2 = round(v2, le32(&[b0, b1, b2, b3]));
            v3 = round(v3, le32(&[c0, c1, c2, c3]));
            v4 = round(v4, le32(&[d0, d1, d2, d3]));
            rest = tail;
        }
        h = v1
            .rotate_left(1)
            .wrapping_add(v2.rotate_left(7))
            .wrapping_add(v3.rotate_left(12))
            .wrapping_add(v4.rotate_left(18));
    } else {
        h = seed.wrapping_add(PRIME32_5);
    }
    // The length is added modulo 2^32, as in the reference implementation.
    h = h.wrapping_add(len as u32);
    while let Some((word, tail)) = rest.split_first_chunk::<4>() {
        h = h
            .wrapping_add(le32(word).wrapping_mul(PRIME32_3))
            .rotate_left(17)
            .wrapping_mul(PRIME32_4);
        rest = tail;
    }
    while let Some((&byte, tail)) = rest.split_first() {
        h = h
            .wrapping_add((byte as u32).wrapping_mul(PRIME32_5))
            .rotate_left(11)
            .wrapping_mul(PRIME32_1);
        rest = tail;
    }
    h ^= h >> 15;
    h = h.wrapping_mul(PRIME32_2);
    h ^= h >> 13;
    h = h.wrapping_mul(PRIME32_3);
    h ^= h >> 16;
    h
}

/// The bloom filter bit (0..32) of an xattr with name index `index` and name suffix `suffix`.
pub const fn xattr_filter_bit(index: u8, suffix: &[u8]) -> u32 {
    xxh32(suffix, EROFS_XATTR_FILTER_SEED.wrapping_add(index as u32)) % EROFS_XATTR_FILTER_BITS
}
