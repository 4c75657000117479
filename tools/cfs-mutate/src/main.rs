// SPDX-License-Identifier: GPL-2.0 OR MIT

//! cfs-mutate: corrupt composefs images for robustness tests.
//!
//! ```text
//! cfs-mutate gen [-s SEED] [-f FIRST] -n COUNT -o DIR BASE...
//!     write images FIRST..FIRST+COUNT of run SEED as DIR/<index>-<class>.cfs, one line
//!     "<file> <class> <description>" each on stdout; image i damages BASE[i % #BASE]
//! cfs-mutate check [-s SEED] [-f FIRST] -n COUNT BASE...
//!     generate the same images in memory and walk each with the shared reader; print
//!     per-class counts (opened / refused)
//! cfs-mutate walk FILE...
//!     walk each file with the shared reader (the fuzz target's walk) and print what it saw
//! cfs-mutate raw-overlay FILE...
//!     in place, make every inline user.overlay.* xattr the raw trusted.overlay.* one that
//!     mkcomposefs never writes (see `mutate::raw_overlay_xattrs`)
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use cfs_mutate::mutate::{mutant, raw_overlay_xattrs, Map};
use cfs_mutate::walk::walk;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cfs-mutate gen [-s SEED] [-f FIRST] -n COUNT -o DIR BASE...\n\
         \x20      cfs-mutate check [-s SEED] [-f FIRST] -n COUNT BASE...\n\
         \x20      cfs-mutate walk FILE...\n\
         \x20      cfs-mutate raw-overlay FILE..."
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    let (mut seed, mut first, mut count, mut out) = (1u64, 0u64, 100u64, None::<PathBuf>);
    let mut files = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let a = args[i].as_str();
        let val = || args.get(i + 1).cloned().unwrap_or_default();
        match a {
            "-s" | "-f" | "-n" => {
                let Ok(v) = val().parse::<u64>() else {
                    return usage();
                };
                match a {
                    "-s" => seed = v,
                    "-f" => first = v,
                    _ => count = v,
                }
                i += 2;
            }
            "-o" => {
                out = Some(PathBuf::from(val()));
                i += 2;
            }
            _ => {
                files.push(PathBuf::from(a));
                i += 1;
            }
        }
    }
    if files.is_empty() {
        return usage();
    }
    let mut bases = Vec::new();
    if cmd == "raw-overlay" {
        for f in &files {
            let done = std::fs::read(f).and_then(|mut d| {
                let n = Map::build(&d).map_or(0, |m| raw_overlay_xattrs(&mut d, &m));
                std::fs::write(f, &d).map(|()| n)
            });
            match done {
                Ok(n) => println!("{}: {n} raw overlay xattrs", f.display()),
                Err(e) => {
                    eprintln!("cfs-mutate: {}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    if cmd == "walk" {
        for f in &files {
            match std::fs::read(f) {
                Ok(d) => println!("{}: {:?}", f.display(), walk(&d)),
                Err(e) => {
                    eprintln!("cfs-mutate: {}: {e}", f.display());
                    return ExitCode::FAILURE;
                }
            }
        }
        return ExitCode::SUCCESS;
    }
    for f in &files {
        let data = match std::fs::read(f) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("cfs-mutate: {}: {e}", f.display());
                return ExitCode::FAILURE;
            }
        };
        let Some(map) = Map::build(&data) else {
            eprintln!("cfs-mutate: {}: not a valid image", f.display());
            return ExitCode::FAILURE;
        };
        bases.push((data, map));
    }
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for idx in first..first + count {
        let (base, map) = &bases[(idx % bases.len() as u64) as usize];
        let (class, desc, data) = mutant(base, map, seed, idx);
        match cmd.as_str() {
            "gen" => {
                let Some(dir) = &out else { return usage() };
                let name = dir.join(format!("{idx:06}-{}.cfs", class.name()));
                if let Err(e) = std::fs::write(&name, &data) {
                    eprintln!("cfs-mutate: {}: {e}", name.display());
                    return ExitCode::FAILURE;
                }
                println!("{} {} {desc}", name.display(), class.name());
            }
            "check" => {
                let st = walk(&data);
                let c = counts.entry(class.name()).or_default();
                if st.opened {
                    c.0 += 1;
                } else {
                    c.1 += 1;
                }
            }
            _ => return usage(),
        }
    }
    if cmd == "check" {
        for (class, (o, r)) in &counts {
            println!("{class}: {o} opened, {r} refused");
        }
    }
    ExitCode::SUCCESS
}
