// SPDX-License-Identifier: GPL-2.0 OR MIT

//! `composefs-info`: inspect composefs images.
//!
//! `ls`, `dump`, `objects`, `missing-objects` and `measure-file` print exactly what upstream
//! composefs-info 1.0.8 prints, except that `measure-file` of an empty file gives the digest
//! the kernel defines (all-zero root hash) where upstream 1.0.8 hashes a zero block, and that
//! `measure-file` takes `--hash=sha512`. `fsck` checks an image and its objects.

mod fsck;
mod print;
mod tree;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cfs_format::format::{Image, SliceSource};
use cfs_format::fsverity::{self, HashAlg};
use clap::{Parser, ValueEnum};

/// Hash algorithms for `measure-file`.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Hash {
    Sha256,
    Sha512,
}

/// Inspect composefs images.
#[derive(Parser, Debug)]
#[command(
    name = "composefs-info",
    override_usage = "composefs-info [--basedir=path] [--filter=name]... [ls|objects|dump|missing-objects|measure-file|fsck] IMAGES..."
)]
struct Cli {
    /// Object store directory (for fsck: a colon-separated list).
    #[arg(long)]
    basedir: Option<PathBuf>,
    /// Only show these entries of the root directory (repeatable).
    #[arg(long)]
    filter: Vec<String>,
    /// Hash algorithm of measure-file.
    #[arg(long, value_enum, default_value = "sha256")]
    hash: Hash,
    /// The command: ls, dump, objects, missing-objects, measure-file or fsck.
    command: Option<String>,
    /// Images (or files, for measure-file).
    paths: Vec<PathBuf>,
}

fn usage() {
    eprintln!(
        "usage: composefs-info [--basedir=path] [ls|objects|dump|missing-objects|measure-file|fsck] IMAGES..."
    );
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    let _ = io::stdout().flush();
    eprintln!("composefs-info: {msg}");
    ExitCode::FAILURE
}

fn measure_files(cli: &Cli) -> ExitCode {
    if cli.paths.is_empty() {
        eprintln!("No files specified");
        usage();
        return ExitCode::FAILURE;
    }
    let alg = match cli.hash {
        Hash::Sha256 => HashAlg::Sha256,
        Hash::Sha512 => HashAlg::Sha512,
    };
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for path in &cli.paths {
        let f = match File::open(path) {
            Ok(f) => f,
            Err(e) => {
                return fail(format_args!(
                    "Failed to open '{}': {}",
                    path.display(),
                    io_msg(&e)
                ))
            }
        };
        match fsverity::digest_reader(alg, f) {
            Ok(d) => {
                if writeln!(out, "{}", fsverity::to_hex(&d)).is_err() {
                    return ExitCode::FAILURE;
                }
            }
            Err(e) => {
                let _ = out.flush();
                eprint!("failed to measure '{}': {}", path.display(), io_msg(&e));
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// The C library's wording of an I/O error (without Rust's " (os error N)").
fn io_msg(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(p) => s[..p].to_string(),
        None => s,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(command) = cli.command.clone() else {
        eprintln!("No command specified");
        usage();
        return ExitCode::FAILURE;
    };
    for f in &cli.filter {
        if f.contains('/') {
            return fail(format_args!("Filter must be a single name: {f}"));
        }
    }
    match command.as_str() {
        "ls" | "dump" | "objects" | "missing-objects" => {}
        "measure-file" => return measure_files(&cli),
        "fsck" => return fsck::run(&cli.paths, cli.basedir.as_deref()),
        other => return fail(format_args!("Unknown command '{other}'\n")),
    }
    if cli.paths.is_empty() {
        eprintln!("No image path specified");
        usage();
        return ExitCode::FAILURE;
    }
    if let Some(b) = &cli.basedir {
        if !b.is_dir() {
            return fail(format_args!("Can't open basedir `{}`\n", b.display()));
        }
    }
    let filter: Vec<Vec<u8>> = cli.filter.iter().map(|f| f.as_bytes().to_vec()).collect();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut objects: BTreeSet<Vec<u8>> = BTreeSet::new();
    for path in &cli.paths {
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) => {
                let _ = out.flush();
                return fail(format_args!(
                    "Failed to open '{}': {}",
                    path.display(),
                    io_msg(&e)
                ));
            }
        };
        let tree = match Image::open(SliceSource::new(&data))
            .map_err(tree::LoadError)
            .and_then(|img| tree::load(&img, &filter))
        {
            Ok(t) => t,
            Err(e) => {
                let _ = out.flush();
                return fail(format_args!("Failed to load '{}': {}", path.display(), e.0));
            }
        };
        let res = match command.as_str() {
            "ls" => print::ls(&mut out, &tree),
            "dump" => print::dump(&mut out, &tree),
            "objects" => {
                objects.extend(print::objects(&tree));
                Ok(())
            }
            _ => {
                for o in print::objects(&tree) {
                    if !object_exists(cli.basedir.as_deref(), &o) {
                        objects.insert(o);
                    }
                }
                Ok(())
            }
        };
        if res.is_err() {
            return ExitCode::FAILURE;
        }
    }
    for o in &objects {
        if out.write_all(o).and_then(|_| out.write_all(b"\n")).is_err() {
            return ExitCode::FAILURE;
        }
    }
    if out.flush().is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Whether object `payload` exists under `basedir` (following symlinks, as `fstatat`).
///
/// Without a basedir upstream stats relative to file descriptor 0, which fails: every object
/// is missing.
fn object_exists(basedir: Option<&Path>, payload: &[u8]) -> bool {
    let Some(base) = basedir else { return false };
    let mut rel = payload;
    while let Some(r) = rel.strip_prefix(b"/") {
        rel = r;
    }
    if rel.is_empty() {
        return true;
    }
    base.join(std::ffi::OsStr::from_bytes(rel))
        .metadata()
        .is_ok()
}
