// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Test helpers shared by the mkcomposefs integration tests: the reference tools (the oracle),
//! running both implementations on the same input, a seeded random generator and dump-file
//! escaping.

#![allow(dead_code)]

pub mod compare;
pub mod gen_dump;
pub mod gen_tree;

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cfs_test_support::oracle_dir;

/// The reference mkcomposefs (Debian's composefs 1.0.8).
pub fn reference() -> PathBuf {
    oracle_dir().join("mkcomposefs")
}

/// Our mkcomposefs, as built by cargo for this test.
pub fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mkcomposefs"))
}

/// Runs `bin` with `args`, `stdin` as its standard input and `env` added to its environment.
pub fn run(bin: &Path, args: &[&OsStr], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    use std::io::Write as _;
    let mut cmd = Command::new(bin);
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.env_remove("CFS_PARSE_STRICT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    if let Some(data) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        // The tool may stop reading early on bad input: a broken pipe is not an error here.
        let _ = pipe.write_all(data);
    }
    child.wait_with_output().expect("wait for tool")
}

/// Where two files first differ, for messages.
pub fn first_difference(a: &[u8], b: &[u8]) -> String {
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => format!("first difference at byte {i} (0x{i:x}), block {}", i / 4096),
        None => format!(
            "lengths differ: reference {} bytes, ours {} bytes",
            a.len(),
            b.len()
        ),
    }
}

/// Asserts that a tool run succeeded, with its stderr in the message if not.
pub fn assert_success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Checks the way a tool failed: exit code 1 and one line on stderr.
pub fn assert_clean_failure(what: &str, out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit status {:?}",
        out.status
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().count(),
        1,
        "{what}: expected a one-line message, got {err:?}"
    );
    assert!(
        err.ends_with('\n'),
        "{what}: message {err:?} not newline-terminated"
    );
}

/// A small deterministic generator (SplitMix64): the same seed gives the same inputs on
/// every machine, so a failure is reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_5EED)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// An index in `0..n` (`n` > 0).
    pub fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// True with probability `num`/`den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// One element of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.index(items.len())]
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Escapes bytes for a dump file the way upstream's writer does, with `=` escaped too when
/// `escape_equal` (xattr keys). `upper` writes hex escapes in upper case, which the parser
/// also accepts.
pub fn escape(bytes: &[u8], escape_equal: bool, upper: bool) -> String {
    let mut s = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            b'=' if escape_equal => s.push_str("\\x3d"),
            0x21..=0x7e => s.push(char::from(b)),
            _ if upper => {
                let _ = write!(s, "\\x{b:02X}");
            }
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

/// A dump field: `-` stays special only when written alone, so a lone dash value is escaped.
pub fn escape_field(bytes: &[u8]) -> String {
    if bytes == b"-" {
        "\\x2d".into()
    } else {
        escape(bytes, false, false)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
