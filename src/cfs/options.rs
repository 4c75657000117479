// SPDX-License-Identifier: GPL-2.0

//! Mount options.

use crate::format::overlay::hex_pair;
use crate::vfs::{
    fs_context::{FsContext, FsParam, ParamValue},
    path::Path,
};
use kernel::{prelude::*, str::CString};

/// What fs-verity checks are made on backing objects.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verity {
    /// No checks.
    Off,
    /// Objects whose image entry carries a digest must match it.
    On,
    /// As `On`, and external files without a digest cannot be opened.
    Require,
}

/// An fs-verity digest given as a mount option.
#[derive(Clone, Copy)]
pub(crate) struct Digest {
    /// `FS_VERITY_HASH_ALG_*`.
    pub(crate) algo: u8,
    /// Digest length: 32 or 64.
    pub(crate) len: usize,
    /// The digest bytes.
    pub(crate) bytes: [u8; 64],
}

impl Digest {
    /// The digest bytes.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Parses 64 (sha256) or 128 (sha512) hex digits.
    fn parse(hex: &[u8]) -> Option<Self> {
        let (algo, len) = match hex.len() {
            64 => (crate::format::layout::FS_VERITY_HASH_ALG_SHA256, 32),
            128 => (crate::format::layout::FS_VERITY_HASH_ALG_SHA512, 64),
            _ => return None,
        };
        let mut bytes = [0u8; 64];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let &[hi, lo] = pair else { return None };
            *bytes.get_mut(i)? = (hex_val(hi)? << 4) | hex_val(lo)?;
        }
        Some(Self { algo, len, bytes })
    }
}

/// The value of one hex digit.
fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Writes `bytes` as lower-case hex digits, two per byte, to the start of
/// `out` (as far as it has room).
pub(super) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    // Indexed rather than zipped chunks: objtool cannot follow the zip
    // adapter's inlined assertions in a module.
    for (i, b) in bytes.iter().enumerate() {
        if let Some([hi, lo]) = out.get_mut(2 * i..2 * i + 2) {
            [*hi, *lo] = hex_pair(*b);
        }
    }
}

/// Options collected in a filesystem context.
#[derive(Default)]
pub(crate) struct Options {
    /// The `basedir=` value, `:`-separated absolute paths.
    pub(crate) basedir: Option<CString>,
    /// The directories given by `basedir+`, in order, resolved when given.
    pub(crate) basedir_add: KVec<Path>,
    /// Their names at that time, `:`-separated (as `basedir=` would list
    /// them), for `/proc/mounts`.
    pub(crate) basedir_add_names: KVec<u8>,
    /// The image, when the source was given as a file descriptor.
    pub(crate) source_file: Option<Path>,
    /// The `digest=` value.
    pub(crate) digest: Option<Digest>,
    /// The `verity=` choice, if one was given.
    pub(crate) verity: Option<Verity>,
    /// `acl` / `noacl`, if given.
    pub(crate) acl: Option<bool>,
}

/// Parses one mount parameter into `opts`.
pub(crate) fn parse(fc: &mut FsContext, opts: &mut Options, param: &FsParam<'_>) -> Result {
    let key = param.key.to_bytes();
    let string = match param.value {
        ParamValue::String(s) => Some(s),
        _ => None,
    };
    let flag = matches!(param.value, ParamValue::Flag);
    match key {
        b"basedir" => {
            let Some(v) = string else {
                fc.error(c"basedir needs a value");
                return Err(EINVAL);
            };
            if !opts.basedir_add.is_empty() {
                fc.error(c"basedir= cannot be combined with basedir+");
                return Err(EINVAL);
            }
            let b = v.to_bytes();
            if b.is_empty() || b.split(|&c| c == b':').any(|d| !d.starts_with(b"/")) {
                fc.error(c"basedir must be a list of absolute paths separated by ':'");
                return Err(EINVAL);
            }
            opts.basedir = Some(CString::try_from(v)?);
        }
        b"basedir+" => {
            if opts.basedir.is_some() {
                fc.error(c"basedir+ cannot be combined with basedir=");
                return Err(EINVAL);
            }
            let path = match &param.value {
                ParamValue::String(v) if !v.to_bytes().is_empty() => Path::lookup_dir(v)
                    .inspect_err(|_| fc.error_arg(c"cannot resolve basedir+", v))?,
                ParamValue::File(f) => {
                    let p = f.path();
                    if !p.is_dir() {
                        fc.error(c"basedir+ descriptor is not a directory");
                        return Err(ENOTDIR);
                    }
                    p
                }
                _ => {
                    fc.error(c"basedir+ needs a directory path or descriptor");
                    return Err(EINVAL);
                }
            };
            let name = path.name()?;
            if !opts.basedir_add_names.is_empty() {
                opts.basedir_add_names.push(b':', GFP_KERNEL)?;
            }
            opts.basedir_add_names
                .extend_from_slice(name.to_bytes(), GFP_KERNEL)?;
            opts.basedir_add.push(path, GFP_KERNEL)?;
        }
        // A source given as a file descriptor (`FSCONFIG_SET_FD`); a string
        // source is the VFS's.
        b"source" => {
            let ParamValue::File(f) = &param.value else {
                return Err(ENOPARAM);
            };
            let path = f.path();
            // Shown as the mount's source: the image's name when it was given.
            fc.set_source(&path.name()?)?;
            opts.source_file = Some(path);
        }
        b"digest" => {
            let d = string.and_then(|v| Digest::parse(v.to_bytes()));
            let Some(d) = d else {
                fc.error(c"digest must be 64 (sha256) or 128 (sha512) hex digits");
                return Err(EINVAL);
            };
            opts.digest = Some(d);
        }
        b"verity" => {
            opts.verity = Some(match string.map(|s| s.to_bytes()) {
                None if flag => Verity::Require,
                Some(b"off") => Verity::Off,
                Some(b"on") => Verity::On,
                Some(b"require") => Verity::Require,
                _ => {
                    fc.error(c"verity must be off, on or require");
                    return Err(EINVAL);
                }
            });
        }
        b"tryverity" if flag => opts.verity = Some(Verity::On),
        b"acl" if flag => opts.acl = Some(true),
        b"noacl" if flag => opts.acl = Some(false),
        b"upperdir" | b"workdir" => {
            fc.error(c"mounts are read-only: stack overlayfs on top for a writable layer");
            return Err(EINVAL);
        }
        b"idmap" => {
            fc.error(c"idmap is not an option: use an idmapped mount (mount_setattr)");
            return Err(EINVAL);
        }
        b"tryverity" | b"acl" | b"noacl" => {
            fc.error_arg(c"option takes no value", param.key);
            return Err(EINVAL);
        }
        // Per-mount flags that `/proc/mounts` lists among the options: taken
        // (and left to the mount flags) so that those options mount again.
        b"relatime" | b"noatime" | b"nodiratime" | b"strictatime" | b"nosuid" | b"nodev"
        | b"noexec"
            if flag => {}
        // Unknown: the VFS takes `source` and refuses the rest with a message.
        _ => return Err(ENOPARAM),
    }
    Ok(())
}
