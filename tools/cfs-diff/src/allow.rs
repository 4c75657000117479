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

/// The `key=value` fields of a result.
fn fields(r: &str) -> Vec<(&str, &str)> {
    r.split(' ').filter_map(|t| t.split_once('=')).collect()
}

/// Whether two stat results differ in `blocks` alone.
fn only_blocks_differ(a: &str, b: &str) -> bool {
    let (fa, fb) = (fields(a), fields(b));
    fa.len() == fb.len()
        && fa
            .iter()
            .zip(&fb)
            .all(|((ka, va), (kb, vb))| ka == kb && (va == vb || *ka == "blocks"))
}

/// Whether a stat result's `blocks` is `round_up(size, 4096) >> 9`.
fn blocks_are_the_estimate(r: &str) -> bool {
    let f = fields(r);
    let get = |k: &str| {
        f.iter()
            .find(|(key, _)| *key == k)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    matches!((get("size"), get("blocks")), (Some(size), Some(blocks)) if size.div_ceil(4096) * 8 == blocks)
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
        // overlayfs without nfs_export only encodes handles (for fanotify); composefs
        // also decodes them, so that overlayfs index=on/nfs_export=on over a composefs
        // lower keeps working.
        name: "decodable file handles",
        covers: |s| {
            s.kind == "file-handle"
                && s.cfs.starts_with("handle; open ok")
                && (s.reference.starts_with("err EOPNOTSUPP")
                    || s.reference.starts_with("handle; open err"))
        },
    },
    Allowance {
        // Once overlayfs has opened a file's data it reports the data file's blocks;
        // composefs reports the estimate round_up(size, 4096) / 512 every time.
        name: "st_blocks after an open",
        covers: |s| {
            (s.kind.starts_with("lstat") || s.kind.starts_with("stat"))
                && only_blocks_differ(s.cfs, s.reference)
                && blocks_are_the_estimate(s.cfs)
        },
    },
    Allowance {
        // A damaged image: composefs validates every structure where it is used and may
        // refuse with EUCLEAN or EIO (and a kernel message) what EROFS reads without
        // checking; a mount that reads damage (the superblock, the root inode and where
        // its data lies) is refused with EINVAL, as EROFS refuses the images it does not
        // accept. Succeeding where the reference refuses is not covered.
        name: "stricter on a damaged image",
        covers: |s| {
            if s.kind == "same-inode" {
                return s.mutated && stricter_outcomes(s.cfs, s.reference);
            }
            s.mutated
                && (corrupt(s.cfs) || (s.kind == "mount" && s.cfs == "err EINVAL"))
                && !s.cfs.starts_with("ok")
                && s.cfs != s.reference
        },
    },
];

/// The outcomes of a result made of several (`ok` or `err ERRNO` each, as `same-inode`
/// gives when a path fails; `same=...`, its result when every path succeeded, is `ok`
/// for each of `parts`): `None` for any other result.
fn outcomes(r: &str, parts: usize) -> Option<Vec<String>> {
    if r.starts_with("same=") {
        return Some(vec!["ok".to_string(); parts]);
    }
    let mut out = Vec::new();
    let mut words = r.split(' ');
    while let Some(w) = words.next() {
        match w {
            "ok" => out.push(w.to_string()),
            "err" => out.push(format!("err {}", words.next()?)),
            _ => return None,
        }
    }
    Some(out)
}

/// Whether two results made of several outcomes differ only where composefs reports
/// corruption, as a single operation may (whatever the reference gave there).
fn stricter_outcomes(cfs: &str, reference: &str) -> bool {
    let Some(c) = outcomes(cfs, 0) else {
        return false;
    };
    match outcomes(reference, c.len()) {
        Some(r) if c.len() == r.len() && c != r => {
            c.iter().zip(&r).all(|(c, r)| c == r || corrupt(c))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn covered(
        kind: &str,
        what: &str,
        mutated: bool,
        cfs: &str,
        reference: &str,
    ) -> Option<&'static str> {
        let s = Seen {
            kind,
            what,
            mutated,
            cfs,
            reference,
        };
        ALLOWED.iter().find(|a| (a.covers)(&s)).map(|a| a.name)
    }

    #[test]
    fn blocks_after_open_only_when_composefs_reports_the_estimate() {
        let cfs = "mode=100644 size=5000 blocks=16 blksize=4096";
        assert_eq!(
            covered(
                "lstat",
                "",
                false,
                cfs,
                "mode=100644 size=5000 blocks=10 blksize=4096"
            ),
            Some("st_blocks after an open")
        );
        // Another field differing, or composefs not giving the estimate, is a divergence.
        assert_eq!(
            covered(
                "lstat",
                "",
                false,
                cfs,
                "mode=100600 size=5000 blocks=10 blksize=4096"
            ),
            None
        );
        assert_eq!(
            covered(
                "stat",
                "",
                false,
                "mode=100644 size=5000 blocks=10 blksize=4096",
                "mode=100644 size=5000 blocks=16 blksize=4096"
            ),
            None
        );
    }

    #[test]
    fn a_refused_mount_is_excused_only_on_damaged_images_and_only_as_einval() {
        assert_eq!(
            covered("mount", "", true, "err EINVAL", "ok"),
            Some("stricter on a damaged image")
        );
        assert_eq!(covered("mount", "", false, "err EINVAL", "ok"), None);
        assert_eq!(covered("mount", "", true, "err ENOENT", "ok"), None);
        assert_eq!(covered("read", "", true, "err EINVAL", "len=3 hash=1"), None);
    }

    #[test]
    fn corruption_is_excused_only_on_damaged_images_and_only_as_a_failure() {
        assert_eq!(
            covered("read", "", true, "err EUCLEAN", "len=3 hash=1"),
            Some("stricter on a damaged image")
        );
        assert_eq!(
            covered("read", "", false, "err EUCLEAN", "len=3 hash=1"),
            None
        );
        assert_eq!(
            covered("read", "", true, "len=3 hash=1", "err EUCLEAN"),
            None
        );
    }

    #[test]
    fn a_path_pair_is_excused_only_where_composefs_reports_corruption() {
        let pair = |cfs, reference| covered("same-inode", "", true, cfs, reference);
        assert_eq!(
            pair("ok err EUCLEAN", "ok err ENOENT"),
            Some("stricter on a damaged image")
        );
        // Where the reference succeeded, as a single operation may (seed 31207 round 117).
        assert_eq!(
            pair("err EIO err EUCLEAN", "err ENOENT ok"),
            Some("stricter on a damaged image")
        );
        assert_eq!(
            pair("ok err EUCLEAN", "same=false"),
            Some("stricter on a damaged image")
        );
        assert_eq!(pair("ok err ENOENT", "ok err EUCLEAN"), None);
        assert_eq!(pair("ok err ENOENT", "same=true"), None);
        assert_eq!(
            pair("same=false", "ok err ENOENT"),
            None,
            "composefs succeeding where the reference refuses"
        );
        assert_eq!(pair("same=false", "same=true"), None);
        assert_eq!(
            covered("same-inode", "", false, "ok err EUCLEAN", "ok err ENOENT"),
            None
        );
    }

    #[test]
    fn remount_changes_and_handles() {
        assert_eq!(
            covered("remount", "changing verity", false, "err EINVAL", "ok"),
            Some("remount refuses changed options")
        );
        assert_eq!(
            covered(
                "remount",
                "with /proc/mounts options",
                false,
                "err EINVAL",
                "ok"
            ),
            None
        );
        assert_eq!(
            covered(
                "file-handle",
                "",
                false,
                "handle; open ok mode=100644",
                "err EOPNOTSUPP"
            ),
            Some("decodable file handles")
        );
        assert_eq!(
            covered(
                "file-handle",
                "",
                false,
                "err EOPNOTSUPP",
                "handle; open ok mode=100644"
            ),
            None
        );
    }
}
