// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Regression tests for hostile images, run by `cargo test` (and so by `make check`) without
//! cargo-fuzz: every file of the fuzz corpus and every crash input the fuzzer ever found goes
//! through the fuzz target's walk, and every seed image through a few hundred mutants of the
//! guest test's generator.

use std::path::{Path, PathBuf};

use cfs_mutate::mutate::{mutant, Class, Map};
use cfs_mutate::walk::walk;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// The seed images of the walk corpus (`seed-*`).
fn seeds() -> Vec<PathBuf> {
    files(&fuzz_dir().join("corpus/walk"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect()
}

#[test]
fn seeds_walk_cleanly() {
    let seeds = seeds();
    assert!(seeds.len() >= 5, "seed images missing");
    for s in seeds {
        let st = walk(&std::fs::read(&s).unwrap());
        assert!(st.opened, "{}: does not open", s.display());
        assert_eq!(st.errors, 0, "{}: {st:?}", s.display());
        assert!(st.inodes > 200 && !st.limited, "{}: {st:?}", s.display());
    }
}

#[test]
fn corpus_and_crashes_do_not_panic() {
    let mut n = 0;
    for sub in ["corpus/walk", "crashes/walk"] {
        for f in files(&fuzz_dir().join(sub)) {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| walk(&data));
            assert!(r.is_ok(), "{}: the walk panicked", f.display());
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn mutants_do_not_panic() {
    let seeds = seeds();
    let mut opened = 0;
    let mut total = 0;
    for s in &seeds {
        let base = std::fs::read(s).unwrap();
        let map = Map::build(&base).expect("seed map");
        for idx in 0..(Class::ALL.len() as u64 * 4) {
            let (class, desc, data) = mutant(&base, &map, 7, idx);
            let r = std::panic::catch_unwind(|| walk(&data));
            match r {
                Ok(st) => opened += u32::from(st.opened),
                Err(_) => panic!(
                    "{}: mutant {idx} ({}: {desc}) panicked",
                    s.display(),
                    class.name()
                ),
            }
            total += 1;
        }
    }
    // Most targeted mutations leave the superblock intact, so most images still open and
    // the walk reaches the damaged structure.
    assert!(opened * 2 > total, "{opened} of {total} opened");
}

#[test]
fn mutants_are_deterministic() {
    let s = fuzz_dir().join("corpus/walk/seed-ref-basic.cfs");
    let base = std::fs::read(s).unwrap();
    let map = Map::build(&base).unwrap();
    for idx in 0..50 {
        assert_eq!(mutant(&base, &map, 3, idx), mutant(&base, &map, 3, idx));
    }
}

#[test]
fn mutants_corpus_and_crashes_do_not_panic() {
    let seeds = cfs_mutate::mutate::Seeds::load(&fuzz_dir().join("corpus/walk"));
    assert!(!seeds.0.is_empty());
    for sub in ["corpus/mutants", "crashes/mutants"] {
        for f in files(&fuzz_dir().join(sub)) {
            let data = std::fs::read(&f).unwrap();
            let r = std::panic::catch_unwind(|| cfs_mutate::mutate::fuzz_mutants(&seeds, &data));
            assert!(r.is_ok(), "{}: panicked", f.display());
        }
    }
    // A few fixed inputs, so the path runs even with an empty corpus.
    for k in 0u8..40 {
        let mut input = vec![k];
        for j in 0..4u64 {
            input.extend_from_slice(&((u64::from(k) << 20) | (j * 7 + u64::from(k))).to_le_bytes());
        }
        cfs_mutate::mutate::fuzz_mutants(&seeds, &input);
    }
}
