// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Running the reference mkcomposefs and ours on the same input and comparing the outcome.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::{assert_clean_failure, first_difference, ours, reference, run};

/// One build to run with both tools.
pub struct Case<'a> {
    /// A name for messages and file names (unique within `dir`).
    pub tag: String,
    /// Options before SOURCE.
    pub opts: Vec<OsString>,
    /// SOURCE (`-` for stdin).
    pub source: OsString,
    /// Data for stdin, if SOURCE is `-`.
    pub stdin: Option<&'a [u8]>,
    /// Write the image to stdout (`-`) instead of a file.
    pub image_to_stdout: bool,
    /// No IMAGE argument (`--print-digest-only`).
    pub no_image: bool,
    /// Extra environment (e.g. `CFS_PARSE_STRICT`).
    pub env: Vec<(&'static str, &'static str)>,
    /// A usage error: both print usage text, so a failure need not be one line.
    pub usage_error: bool,
}

impl<'a> Case<'a> {
    /// A `--from-file` build of the dump file at `dump` with `opts`.
    pub fn dump_file(tag: impl Into<String>, dump: &Path, opts: &[&str]) -> Self {
        let mut o: Vec<OsString> = opts.iter().map(OsString::from).collect();
        o.push("--from-file".into());
        Case {
            tag: tag.into(),
            opts: o,
            source: dump.into(),
            stdin: None,
            image_to_stdout: false,
            no_image: false,
            env: Vec::new(),
            usage_error: false,
        }
    }

    /// A build of the directory `src` with `opts`.
    pub fn directory(tag: impl Into<String>, src: &Path, opts: &[&str]) -> Self {
        Case {
            tag: tag.into(),
            opts: opts.iter().map(OsString::from).collect(),
            source: src.into(),
            stdin: None,
            image_to_stdout: false,
            no_image: false,
            env: Vec::new(),
            usage_error: false,
        }
    }
}

/// What both tools did with a case, when they agreed.
#[derive(Debug, PartialEq, Eq)]
pub enum Agreed {
    /// Both built the same image (its bytes; empty with `--print-digest-only`).
    Built(Vec<u8>),
    /// Both failed.
    Failed,
}

fn args_for(case: &Case<'_>, image: &Path) -> Vec<OsString> {
    let mut a = case.opts.clone();
    a.push(case.source.clone());
    if case.image_to_stdout {
        a.push("-".into());
    } else if !case.no_image {
        a.push(image.into());
    }
    a
}

/// Runs `case` with both tools in `dir`. Returns what they agreed on, or a description of
/// how they differ. Our failures must be clean: exit code 1 and a one-line message.
pub fn run_both(dir: &Path, case: &Case<'_>) -> Result<Agreed, String> {
    let ref_img = dir.join(format!("{}.ref.cfs", case.tag));
    let our_img = dir.join(format!("{}.our.cfs", case.tag));
    let _ = std::fs::remove_file(&ref_img);
    let _ = std::fs::remove_file(&our_img);
    let env = case.env.clone();
    let exec = |bin: PathBuf, img: &Path| {
        let args = args_for(case, img);
        let refs: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
        run(&bin, &refs, case.stdin, &env)
    };
    let theirs = exec(reference(), &ref_img);
    let mine = exec(ours(), &our_img);
    let tag = &case.tag;
    match (theirs.status.success(), mine.status.success()) {
        (true, true) => {}
        (false, false) => {
            let lines = String::from_utf8_lossy(&mine.stderr).lines().count();
            if mine.status.code() != Some(1) || (lines != 1 && !case.usage_error) {
                return Err(format!(
                    "{tag}: our failure is not clean: {:?}, stderr {:?}",
                    mine.status,
                    String::from_utf8_lossy(&mine.stderr)
                ));
            }
            if theirs.status.code() != Some(1) {
                return Err(format!("{tag}: reference failed with {:?}", theirs.status));
            }
            return Ok(Agreed::Failed);
        }
        (r, o) => {
            return Err(format!(
                "{tag}: reference {} ({}), ours {} ({})",
                if r { "succeeded" } else { "failed" },
                String::from_utf8_lossy(&theirs.stderr).trim(),
                if o { "succeeded" } else { "failed" },
                String::from_utf8_lossy(&mine.stderr).trim()
            ))
        }
    }
    // Not a terminal: no progress display, no chatter.
    if !mine.stderr.is_empty() && theirs.stderr.is_empty() {
        return Err(format!(
            "{tag}: unexpected stderr {:?}",
            String::from_utf8_lossy(&mine.stderr)
        ));
    }
    // Not a terminal: no progress display, no chatter.
    if !mine.stderr.is_empty() && theirs.stderr.is_empty() {
        return Err(format!(
            "{tag}: unexpected stderr {:?}",
            String::from_utf8_lossy(&mine.stderr)
        ));
    }
    if case.image_to_stdout {
        if theirs.stdout != mine.stdout {
            return Err(format!(
                "{tag}: images on stdout differ: {}",
                first_difference(&theirs.stdout, &mine.stdout)
            ));
        }
        return Ok(Agreed::Built(mine.stdout));
    }
    if theirs.stdout != mine.stdout {
        return Err(format!(
            "{tag}: stdout differs: reference {:?}, ours {:?}",
            String::from_utf8_lossy(&theirs.stdout),
            String::from_utf8_lossy(&mine.stdout)
        ));
    }
    if case.no_image {
        return Ok(Agreed::Built(Vec::new()));
    }
    let a = std::fs::read(&ref_img).map_err(|e| format!("{tag}: reference image: {e}"))?;
    let b = std::fs::read(&our_img).map_err(|e| format!("{tag}: our image: {e}"))?;
    if a != b {
        return Err(format!(
            "{tag}: images differ: {}",
            first_difference(&a, &b)
        ));
    }
    let _ = std::fs::remove_file(&ref_img);
    let _ = std::fs::remove_file(&our_img);
    Ok(Agreed::Built(b))
}

/// Collects disagreements so one test run reports all of them.
#[derive(Default)]
pub struct Failures(pub Vec<String>);

impl Failures {
    /// Records `r` if it is an error; returns the agreed outcome otherwise.
    pub fn note(&mut self, r: Result<Agreed, String>) -> Option<Agreed> {
        match r {
            Ok(a) => Some(a),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    /// Records a failure message.
    pub fn push(&mut self, msg: String) {
        self.0.push(msg);
    }

    /// Panics listing the disagreements, if any; the inputs stay in `dir` for a look (also
    /// on success with `CFS_TEST_KEEP` set).
    pub fn check(self, dir: &Path) {
        if !self.0.is_empty() {
            let shown: Vec<&String> = self.0.iter().take(20).collect();
            panic!(
                "{} disagreement(s) with the reference (inputs kept in {}):\n{}",
                self.0.len(),
                dir.display(),
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        if std::env::var_os("CFS_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Checks a failure of our tool alone (for options the reference lacks).
pub fn assert_our_failure(what: &str, out: &std::process::Output) {
    assert_clean_failure(what, out);
}
