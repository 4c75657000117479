// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Hostile composefs images.
//!
//! - [`walk`]: the reader walk shared by the libFuzzer target (`tools/fuzz`), the corpus
//!   regression test and `cfs-mutate check`.
//! - [`mutate`]: a deterministic generator of corrupt images from valid ones (bit flips and
//!   targeted field mutations), used by the guest test `selftests/test_corrupt.sh`.

#![forbid(unsafe_code)]

pub mod mutate;
pub mod walk;
