// SPDX-License-Identifier: GPL-2.0 OR MIT
//! `cfsrs-mkimage DUMP IMAGE VERSION`: builds IMAGE from the composefs dump
//! file DUMP with composefs-rs's EROFS writer in format VERSION (0, 1 or 2;
//! 2 is composefs-rs's legacy layout, as older bootc deployments have it).

use anyhow::{bail, Context, Result};
use composefs::{
    dumpfile::dumpfile_to_validated_filesystem,
    erofs::{format::FormatVersion, writer::mkfs_erofs_versioned},
    fsverity::Sha256HashValue,
};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dump, image, version] = args.as_slice() else {
        bail!("usage: cfsrs-mkimage DUMP IMAGE VERSION");
    };
    let version = match version.as_str() {
        "0" => FormatVersion::V0,
        "1" => FormatVersion::V1,
        "2" => FormatVersion::V2,
        v => bail!("unknown format version {v}"),
    };
    let text = std::fs::read_to_string(dump).with_context(|| format!("reading {dump}"))?;
    let fs = dumpfile_to_validated_filesystem::<Sha256HashValue>(&text)
        .with_context(|| format!("parsing {dump}"))?;
    std::fs::write(image, mkfs_erofs_versioned(&fs, version))
        .with_context(|| format!("writing {image}"))?;
    Ok(())
}
