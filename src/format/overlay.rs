// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The composefs conventions layered on EROFS through overlayfs xattrs.
//!
//! A composefs image is read by overlayfs in the reference stack; these helpers say what that
//! stack makes of the overlay xattrs: the backing object of a file (`redirect` and
//! `metacopy`), whiteouts, and which xattrs are shown to userspace under which name.

use super::error::{FormatError, Result};
#[cfg(cfs_tools)]
use super::layout::digest_size;
use super::layout::{
    overlay_names, MetacopyHeader, FS_VERITY_HASH_ALG_SHA256, MAX_DIGEST_SIZE,
    METACOPY_HEADER_SIZE, S_IFCHR, XATTR_INDEX_TRUSTED,
};
use super::reader::Inode;

/// The fs-verity digest a `trusted.overlay.metacopy` value asks for.
#[cfg(cfs_tools)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetacopyDigest {
    /// `FS_VERITY_HASH_ALG_SHA256` (1) or `FS_VERITY_HASH_ALG_SHA512` (2).
    pub algo: u8,
    len: u8,
    bytes: [u8; MAX_DIGEST_SIZE],
}

#[cfg(cfs_tools)]
impl MetacopyDigest {
    /// The digest bytes (32 for sha256, 64 for sha512).
    pub fn digest(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Parses a `trusted.overlay.metacopy` value.
///
/// An empty value is a metacopy file without a digest (`Ok(None)`). Otherwise the value is
/// a 4-byte header (version 0, total length, flags 0, hash algorithm) followed by the digest,
/// and the length field must equal the value length and match the algorithm's digest size.
#[cfg(cfs_tools)]
pub fn parse_metacopy(value: &[u8]) -> Result<Option<MetacopyDigest>> {
    if value.is_empty() {
        return Ok(None);
    }
    let h = MetacopyHeader::parse(value).map_err(|_| FormatError::BadMetacopy)?;
    if h.version != 0 || h.flags != 0 || usize::from(h.len) != value.len() {
        return Err(FormatError::BadMetacopy);
    }
    let size = digest_size(h.digest_algo).ok_or(FormatError::BadMetacopy)?;
    let digest = value
        .get(METACOPY_HEADER_SIZE..)
        .ok_or(FormatError::BadMetacopy)?;
    if digest.len() != size {
        return Err(FormatError::BadMetacopy);
    }
    let mut bytes = [0u8; MAX_DIGEST_SIZE];
    for (d, s) in bytes.iter_mut().zip(digest) {
        *d = *s;
    }
    Ok(Some(MetacopyDigest {
        algo: h.digest_algo,
        len: h.len - METACOPY_HEADER_SIZE as u8,
        bytes,
    }))
}

/// What overlayfs checks of a `trusted.overlay.metacopy` value when a file is opened with
/// fs-verity checks on (`ovl_validate_verity` through `ovl_check_metacopy_xattr`,
/// fs/overlayfs/util.c), given a value of at most [`METACOPY_MAX_SIZE`] bytes: an empty value
/// or one of the header's size asks for no digest whatever it holds (overlayfs's lookup marks
/// a file as having one only if the value is longer: `OVL_HAS_DIGEST` in `ovl_lookup`,
/// fs/overlayfs/namei.c), nor does one whose algorithm is 0 (`Ok(None)`); otherwise the
/// version must be 0 and the length field equal the value's length (else `BadMetacopy`), and
/// the algorithm and the bytes after the header (of any number, the flags unchecked) are what
/// the object's fs-verity digest must be. At lookup overlayfs only refuses values of 1 to 3
/// bytes.
pub fn metacopy_digest_at_open(value: &[u8]) -> Result<Option<(u8, &[u8])>> {
    if value.is_empty() || value.len() == METACOPY_HEADER_SIZE {
        return Ok(None);
    }
    let h = MetacopyHeader::parse(value).map_err(|_| FormatError::BadMetacopy)?;
    if h.version != 0 || usize::from(h.len) != value.len() {
        return Err(FormatError::BadMetacopy);
    }
    if h.digest_algo == 0 {
        return Ok(None);
    }
    let digest = value
        .get(METACOPY_HEADER_SIZE..)
        .ok_or(FormatError::BadMetacopy)?;
    Ok(Some((h.digest_algo, digest)))
}

/// The two lower-case hex digits of each byte value.
// Indexing in const evaluation: an index out of range fails the build.
#[allow(clippy::indexing_slicing)]
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [DIGITS[i >> 4], DIGITS[i & 15]];
        i += 1;
    }
    t
};

/// The two lower-case hex digits of `b`, as digests are written in object paths and in the
/// `digest=` mount option.
pub fn hex_pair(b: u8) -> [u8; 2] {
    HEX_PAIRS.get(usize::from(b)).copied().unwrap_or_default()
}

/// Whether `rel` is the object path of the sha256 digest `d` as mkcomposefs writes it in
/// redirects, without the leading `/`: the digest in lower-case hex, split after its first
/// two digits (`xx/yyyy...`). Compares the digits in place: the kernel asks this of every
/// external file it reads an inode of.
pub fn is_object_path(rel: &[u8], d: &[u8; 32]) -> bool {
    let ([first, rest @ ..], Some((head, tail))) = (d, rel.split_first_chunk::<3>()) else {
        return false;
    };
    let [hi, lo] = hex_pair(*first);
    if tail.len() != 2 * rest.len() || [hi, lo, b'/'] != *head {
        return false;
    }
    // The digits of four bytes at a time, compared as one word (and not
    // through `memcmp`), then those of the last bytes pair by pair.
    let word = |b: u8| u64::from(u16::from_le_bytes(hex_pair(b)));
    let (mut bytes, mut digits): (&[u8], &[u8]) = (rest, tail);
    while let (Some((&[b0, b1, b2, b3], more_bytes)), Some((d, more_digits))) = (
        bytes.split_first_chunk::<4>(),
        digits.split_first_chunk::<8>(),
    ) {
        let want = word(b0) | word(b1) << 16 | word(b2) << 32 | word(b3) << 48;
        if want != u64::from_le_bytes(*d) {
            return false;
        }
        (bytes, digits) = (more_bytes, more_digits);
    }
    for b in bytes {
        let Some((p, more)) = digits.split_first_chunk::<2>() else {
            return false;
        };
        if *p != hex_pair(*b) {
            return false;
        }
        digits = more;
    }
    true
}

/// The sha256 digest of the metacopy value `meta` if it is the one mkcomposefs writes:
/// version 0, the whole length, no flags, sha256.
pub fn usual_sha256_metacopy(meta: &[u8]) -> Option<&[u8; 32]> {
    const USUAL_LEN: u8 = (METACOPY_HEADER_SIZE + 32) as u8;
    match meta.split_first_chunk::<{ METACOPY_HEADER_SIZE }>() {
        Some((&[0, USUAL_LEN, 0, FS_VERITY_HASH_ALG_SHA256], d)) => d.try_into().ok(),
        _ => None,
    }
}

/// The largest metacopy value overlayfs reads (`OVL_METACOPY_MAX_SIZE`: the header and a
/// 64-byte digest); it fails the read of a longer one with `ERANGE`.
pub const METACOPY_MAX_SIZE: usize = METACOPY_HEADER_SIZE + MAX_DIGEST_SIZE;

/// Validates a `trusted.overlay.redirect` value of a regular file and returns the object
/// path relative to a basedir (the value without its leading `/`).
///
/// The value must be absolute, shorter than 4096 bytes, free of NUL bytes, and made of
/// non-empty components none of which is `.` or `..` (so it cannot leave the basedir).
#[cfg(cfs_tools)]
pub fn redirect_object_path(value: &[u8]) -> Result<&[u8]> {
    if value.len() >= super::layout::PATH_MAX || value.contains(&0) {
        return Err(FormatError::BadRedirect);
    }
    let rel = value.strip_prefix(b"/").ok_or(FormatError::BadRedirect)?;
    if rel.is_empty() {
        return Err(FormatError::BadRedirect);
    }
    for comp in rel.split(|&c| c == b'/') {
        if comp.is_empty() || comp == b"." || comp == b".." {
            return Err(FormatError::BadRedirect);
        }
    }
    Ok(rel)
}

/// How overlayfs reads a `trusted.overlay.redirect` value for a data lookup.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redirect<'v> {
    /// An absolute redirect: the path to look up beneath each data layer (the value without
    /// its leading `/`). It may contain `.` and `..` components: the lookup itself must be
    /// confined (the kernel uses `LOOKUP_BENEATH`, which fails `..` at the top with `EXDEV`).
    Absolute(&'v [u8]),
    /// A relative redirect (a single name, no `/`): not a data-layer path.
    Relative(&'v [u8]),
}

/// Parses a `trusted.overlay.redirect` value with the rules overlayfs applies when it looks a
/// file up (`ovl_get_redirect_xattr`): the value must not be empty; the string ends at its
/// first NUL (so a value that starts with one is an empty relative redirect); an absolute
/// value must not contain an empty component (no `//`, no trailing `/`); a relative one must
/// not contain `/`. Anything else is [`FormatError::BadRedirect`], which overlayfs reports as
/// `EINVAL` on lookup. Its length is not limited here, as overlayfs does not limit it at
/// lookup: a path too long for a data lookup fails that lookup, at open.
pub fn parse_redirect(value: &[u8]) -> Result<Redirect<'_>> {
    if value.is_empty() {
        return Err(FormatError::BadRedirect);
    }
    let value = value.split(|&c| c == 0).next().unwrap_or(&[]);
    match value.strip_prefix(b"/") {
        Some(rel) => {
            if rel.split(|&c| c == b'/').any(|c| c.is_empty()) {
                return Err(FormatError::BadRedirect);
            }
            Ok(Redirect::Absolute(rel))
        }
        None if value.contains(&b'/') => Err(FormatError::BadRedirect),
        None => Ok(Redirect::Relative(value)),
    }
}

/// Whether `inode` is an overlay whiteout (a character device with device number 0/0).
///
/// Overlayfs hides whiteouts: lookups of them fail with `ENOENT` and they are not listed. The
/// 256 stubs `00`..`ff` that mkcomposefs adds to the root are such whiteouts.
pub fn is_whiteout(inode: &Inode) -> bool {
    inode.file_type() == S_IFCHR && inode.rdev() == 0
}

/// Whether `name` is one of the 256 two-hex-digit names (`00`..`ff`) of the whiteout stubs
/// mkcomposefs puts in the root directory.
#[cfg(cfs_tools)]
pub fn is_whiteout_stub_name(name: &[u8]) -> bool {
    matches!(name, [a, b] if is_lower_hex(*a) && is_lower_hex(*b))
}

#[cfg(cfs_tools)]
fn is_lower_hex(c: u8) -> bool {
    c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
}

/// How the reference stack (overlayfs over EROFS) presents a stored xattr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XattrVisibility<'n> {
    /// Shown unchanged.
    Plain,
    /// An escaped overlay xattr (`trusted.overlay.overlay.X`), shown as `trusted.` followed by
    /// this suffix (`overlay.X`).
    Unescaped(&'n [u8]),
    /// An overlayfs-private xattr (`trusted.overlay.X` other than escaped ones): hidden.
    Private,
}

/// Classifies a stored xattr by prefix index and suffix.
pub fn xattr_visibility(index: u8, suffix: &[u8]) -> XattrVisibility<'_> {
    if index != XATTR_INDEX_TRUSTED {
        return XattrVisibility::Plain;
    }
    // The suffixes after "trusted.".
    let private = overlay_names::PREFIX.get(8..).unwrap_or(b"overlay.");
    let escaped = overlay_names::ESCAPE_PREFIX
        .get(8..)
        .unwrap_or(b"overlay.overlay.");
    if suffix.starts_with(escaped) {
        XattrVisibility::Unescaped(suffix.get(private.len()..).unwrap_or(&[]))
    } else if suffix.starts_with(private) {
        XattrVisibility::Private
    } else {
        XattrVisibility::Plain
    }
}
