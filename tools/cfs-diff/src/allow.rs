// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The intended differences from EROFS + overlayfs, as predicates on an operation and the
//! two results. Each is listed, with its reason, in composefs.rst ("Differences from
//! EROFS + overlayfs"); a divergence that none of them covers fails the run.

/// What a predicate sees of one compared operation.
pub struct Seen<'a> {
    /// The operation's kind (`Op::kind`, or a round-level action such as `remount`).
    pub kind: &'a str,
    /// What the operation was given (path, arguments or variant).
    pub what: &'a str,
    /// Whether the round's image was damaged on purpose.
    pub mutated: bool,
    /// composefs's result.
    pub cfs: &'a str,
    /// The reference stack's result.
    pub reference: &'a str,
}

/// An intended difference.
pub struct Allowance {
    /// Short name, as in the documentation.
    pub name: &'static str,
    /// Whether it covers a divergence.
    pub covers: fn(&Seen<'_>) -> bool,
}

/// Whether a result is a failure that reports corruption (or an I/O error).
fn corrupt(r: &str) -> bool {
    r.contains("err EUCLEAN") || r.contains("err EIO")
}

/// The intended differences.
pub const ALLOWED: &[Allowance] = &[
    Allowance {
        // overlayfs ignores the options of a legacy remount, whatever they say; composefs
        // accepts the options it already has (as mount(8) resends them) and refuses a
        // change rather than silently keeping the old value.
        name: "remount refuses changed options",
        covers: |s| {
            s.kind == "remount"
                && s.what == "changing verity"
                && s.cfs == "err EINVAL"
                && s.reference == "ok"
        },
    },
    Allowance {
        // A damaged image: composefs validates every structure where it is used and may
        // refuse with EUCLEAN or EIO (and a kernel message) what EROFS reads without
        // checking. Succeeding where the reference refuses is not covered.
        name: "stricter on a damaged image",
        covers: |s| s.mutated && corrupt(s.cfs) && !s.cfs.starts_with("ok") && s.cfs != s.reference,
    },
];
