//! Object names of a digest store.

use cfs_format::fsverity::to_hex;

/// The object path of a digest: `ab/cdef...` (lowercase hex, a slash after
/// the first byte), as upstream's `digest_to_path` and composefs-rs name
/// objects.
pub fn object_path(digest: &[u8]) -> String {
    let h = to_hex(digest);
    match h.split_at_checked(2) {
        Some((a, b)) => format!("{a}/{b}"),
        None => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_path_layout() {
        assert_eq!(object_path(&[0xab, 0xcd, 0xef]), "ab/cdef");
    }
}
