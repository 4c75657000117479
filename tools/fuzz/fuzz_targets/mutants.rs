// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Structure-aware fuzzing: libFuzzer chooses a seed image and a few of
//! cfs-mutate's targeted mutations (cfs_mutate::mutate::fuzz_mutants), the
//! result is walked as the kernel would. Any panic is a bug in src/format.
#![no_main]

use std::sync::OnceLock;

use cfs_mutate::mutate::{fuzz_mutants, Seeds};
use libfuzzer_sys::fuzz_target;

static SEEDS: OnceLock<Seeds> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let seeds = SEEDS.get_or_init(|| {
        Seeds::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/corpus/walk"
        )))
    });
    let _ = fuzz_mutants(seeds, data);
});
