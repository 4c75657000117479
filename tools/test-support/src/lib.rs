// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Support shared by the integration tests of the tools (a dev-dependency only): where the
//! reference tools of upstream composefs 1.0.8 (the oracle) are, building images with the
//! reference mkcomposefs, and scratch directories.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Directory of the reference tools: `$CFS_ORACLE_DIR`, else what `scripts/fetch-oracle.sh`
/// prints (it downloads them on a fresh machine).
pub fn oracle_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("CFS_ORACLE_DIR") {
            return PathBuf::from(d);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fetch-oracle.sh");
        let out = Command::new("bash")
            .arg(&script)
            .output()
            .expect("run fetch-oracle.sh");
        assert!(
            out.status.success(),
            "fetch-oracle.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let s = String::from_utf8(out.stdout).expect("utf-8 path");
        PathBuf::from(s.lines().last().expect("oracle dir").trim())
    })
    .clone()
}

/// A fresh scratch directory unique to this test process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cfs-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

/// Builds `image` from the dump file `dump` with the reference mkcomposefs and `extra`
/// options; panics with its error message if it fails.
pub fn oracle_mkcomposefs(dump: &Path, image: &Path, extra: &[&str]) {
    let out = Command::new(oracle_dir().join("mkcomposefs"))
        .args(extra)
        .arg("--from-file")
        .arg(dump)
        .arg(image)
        .output()
        .expect("run mkcomposefs");
    assert!(
        out.status.success(),
        "mkcomposefs {}: {}",
        dump.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}
