// SPDX-License-Identifier: GPL-2.0 OR MIT
//! Test images written by composefs-rs.
//!
//! `cfsrs-mkimage DUMP IMAGE VERSION`: builds IMAGE from the composefs dump
//! file DUMP with composefs-rs's EROFS writer in format VERSION (0, 1 or 2;
//! 2 is composefs-rs's legacy layout, as older bootc deployments have it).
//!
//! `cfsrs-mkimage repo sha256|sha512 TREE REPO VERSION NAME`: imports the
//! directory TREE into the composefs-rs repository REPO (created if absent,
//! without requiring fs-verity on the host: the guest enables it), its files
//! stored as objects named by fs-verity digest under `REPO/objects/`, and
//! commits it as image NAME in format VERSION. Prints the image's object id
//! (its fs-verity digest with the repository's algorithm).

use std::{path::PathBuf, sync::Arc};

use anyhow::{bail, Context, Result};
use composefs::{
    dumpfile::dumpfile_to_validated_filesystem,
    erofs::{format::FormatVersion, writer::mkfs_erofs_versioned},
    fs::read_filesystem,
    fsverity::{Algorithm, FsVerityHashValue, Sha256HashValue, Sha512HashValue},
    repository::{Repository, RepositoryConfig},
};
use rustix::fs::CWD;

fn format_version(v: &str) -> Result<FormatVersion> {
    Ok(match v {
        "0" => FormatVersion::V0,
        "1" => FormatVersion::V1,
        "2" => FormatVersion::V2,
        v => bail!("unknown format version {v}"),
    })
}

fn from_dump(dump: &str, image: &str, version: &str) -> Result<()> {
    let version = format_version(version)?;
    let text = std::fs::read_to_string(dump).with_context(|| format!("reading {dump}"))?;
    let fs = dumpfile_to_validated_filesystem::<Sha256HashValue>(&text)
        .with_context(|| format!("parsing {dump}"))?;
    std::fs::write(image, mkfs_erofs_versioned(&fs, version))
        .with_context(|| format!("writing {image}"))?;
    Ok(())
}

fn into_repo<ObjectID: FsVerityHashValue>(
    tree: &str,
    repo: &str,
    version: &str,
    name: &str,
) -> Result<()> {
    let version = format_version(version)?;
    let config = RepositoryConfig::new(Algorithm::for_hash::<ObjectID>()).set_insecure();
    let (repo, _) = Repository::<ObjectID>::init_path(CWD, repo, config)
        .with_context(|| format!("creating repository {repo}"))?;
    let repo = Arc::new(repo);
    let dir = rustix::fs::open(
        tree,
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .with_context(|| format!("opening {tree}"))?;
    let runtime = tokio::runtime::Runtime::new().context("starting tokio")?;
    let fs = runtime
        .block_on(read_filesystem(dir, PathBuf::from("."), Some(Arc::clone(&repo))))
        .with_context(|| format!("importing {tree}"))?;
    let id = fs.commit_image_version(&repo, version, Some(name))?;
    repo.sync()?;
    println!("{}", id.to_hex());
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.as_slice() {
        [_, cmd, alg, tree, repo, version, name] if cmd == "repo" => match alg.as_str() {
            "sha256" => into_repo::<Sha256HashValue>(tree, repo, version, name),
            "sha512" => into_repo::<Sha512HashValue>(tree, repo, version, name),
            a => bail!("unknown algorithm {a}"),
        },
        [_, dump, image, version] => from_dump(dump, image, version),
        _ => bail!(
            "usage: cfsrs-mkimage DUMP IMAGE VERSION | \
             cfsrs-mkimage repo sha256|sha512 TREE REPO VERSION NAME"
        ),
    }
}
