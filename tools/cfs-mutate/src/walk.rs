// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Walks an image with the shared reader the way the kernel module uses it.
//!
//! The fuzz target, the corpus regression test and `cfs-mutate check` all call [`walk`]: open
//! the image, then visit every inode reachable from the root once (directories by readdir,
//! whole and resumed from every position, and by lookup of every name), with stat fields,
//! every xattr (listed, then looked up by full name through the bloom filter, values read,
//! overlay helpers applied), inline data, data reads at the start, middle and end, chunk
//! indexes and symlink targets. Directory cycles, hard-linked directories and `..` entries
//! pointing anywhere are handled by visiting each nid once. Errors are fine; a panic (a
//! violated invariant or an overflow) is a bug in the reader.

use std::collections::{HashSet, VecDeque};

use cfs_format::format::layout::{xattr_split_name, NAME_MAX, PATH_MAX};
use cfs_format::format::overlay::{
    is_whiteout, parse_metacopy, redirect_object_path, xattr_visibility,
};
use cfs_format::format::reader::{DataLayout, XattrKey};
use cfs_format::format::{FormatError, Image, Inode, SliceSource};

/// What a walk saw; the counts let tests check that the walk got somewhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WalkStats {
    /// `Image::open` succeeded.
    pub opened: bool,
    /// Inodes decoded successfully.
    pub inodes: u64,
    /// Directory entries listed.
    pub dirents: u64,
    /// Xattrs listed.
    pub xattrs: u64,
    /// Data bytes read.
    pub bytes: u64,
    /// Operations that failed with a format error.
    pub errors: u64,
    /// The walk stopped at a limit.
    pub limited: bool,
}

/// Most inodes one walk visits (bounds the time per input).
pub const MAX_INODES: u64 = 20_000;
/// Most directory entries one walk lists.
pub const MAX_DIRENTS: u64 = 100_000;

type Img<'a> = Image<SliceSource<'a>>;

/// Opens `data` as an image and walks it.
pub fn walk(data: &[u8]) -> WalkStats {
    let mut st = WalkStats::default();
    let Ok(img) = Image::open(SliceSource::new(data)) else {
        return st;
    };
    st.opened = true;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut queue: VecDeque<u64> = VecDeque::new();
    queue.push_back(img.root_nid());
    // A few positions to seek a directory to, as lseek(2) on a directory can.
    let seeks: [u64; 8] = [1, 11, 12, 13, 4095, 4096, 4097 + 12, u64::MAX];
    while let Some(nid) = queue.pop_front() {
        if !seen.insert(nid) {
            continue;
        }
        if st.inodes >= MAX_INODES || st.dirents >= MAX_DIRENTS {
            st.limited = true;
            break;
        }
        let ino = match img.inode(nid) {
            Ok(i) => i,
            Err(_) => {
                st.errors += 1;
                continue;
            }
        };
        st.inodes += 1;
        check_inode(&ino);
        visit_xattrs(&img, &ino, &mut st);
        if ino.is_dir() {
            visit_dir(&img, &ino, &seeks, &mut queue, &mut st);
        } else {
            visit_data(&img, &ino, &mut st);
        }
        let _ = is_whiteout(&ino);
    }
    st
}

/// Invariants of a decoded inode.
fn check_inode(ino: &Inode) {
    assert!(ino.size() <= i64::MAX as u64, "size past i64");
    match ino.layout() {
        DataLayout::FlatInline => assert!(ino.tail_len() <= 4096, "tail longer than a block"),
        DataLayout::FlatPlain => assert_eq!(ino.tail_len(), 0),
        DataLayout::ChunkBased => {
            let c = ino.chunk_info().expect("chunk info");
            assert!(c.chunkbits <= 12 + 31);
        }
    }
    if ino.is_symlink() {
        assert!(ino.size() > 0 && ino.size() < PATH_MAX as u64);
    }
}

fn visit_xattrs(img: &Img<'_>, ino: &Inode, st: &mut WalkStats) {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let r = img.for_each_xattr(ino, |x| {
        st.xattrs += 1;
        assert!(x.index <= 6, "bad prefix index {}", x.index);
        assert!(x.suffix.len() <= NAME_MAX);
        let mut full = [0u8; 512];
        let n = x.full_name(&mut full)?;
        names.push(full[..n].to_vec());
        let mut v = vec![0u8; usize::from(x.value_len)];
        img.read_exact_at(x.value_offset, &mut v)?;
        st.bytes += v.len() as u64;
        let _ = xattr_visibility(x.index, x.suffix);
        if full[..n] == *b"trusted.overlay.metacopy" {
            if let Ok(Some(d)) = parse_metacopy(&v) {
                assert!(d.digest().len() <= 64);
            }
        }
        if full[..n] == *b"trusted.overlay.redirect" {
            if let Ok(p) = redirect_object_path(&v) {
                assert!(!p.is_empty() && p.len() < v.len());
            }
        }
        Ok(names.len() < 1000)
    });
    if r.is_err() {
        st.errors += 1;
    }
    // Look each listed name up again, as getxattr(2) does (bloom filter included).
    for name in names.iter().take(64) {
        let mut small = [0u8; 8];
        match img.get_xattr(ino, name, &mut []) {
            Ok(Some(len)) => {
                let mut v = vec![0u8; len];
                if len > 0 {
                    match img.get_xattr(ino, name, &mut v) {
                        Ok(Some(l2)) => assert_eq!(l2, len),
                        Ok(None) => panic!("xattr vanished between two lookups"),
                        Err(_) => st.errors += 1,
                    }
                }
                if len > small.len() {
                    assert!(matches!(
                        img.get_xattr(ino, name, &mut small),
                        Err(FormatError::BufferTooSmall) | Err(_)
                    ));
                }
            }
            Ok(None) => {}
            Err(_) => st.errors += 1,
        }
    }
    // Two-part keys, as the kernel builds for escaped overlay names ("overlay." + name).
    for name in names.iter().take(16) {
        let (index, suffix) = xattr_split_name(name);
        for cut in [0, suffix.len() / 2, suffix.len()] {
            let key = XattrKey {
                index,
                head: &suffix[..cut],
                tail: &suffix[cut..],
            };
            if img.find_xattr(ino, &key).is_err() {
                st.errors += 1;
            }
        }
    }
    let _ = img.get_xattr(ino, b"user.absent", &mut []);
    let _ = img.get_xattr(ino, b"trusted.overlay.metacopy", &mut []);
}

fn visit_dir(
    img: &Img<'_>,
    dir: &Inode,
    seeks: &[u64],
    queue: &mut VecDeque<u64>,
    st: &mut WalkStats,
) {
    // The whole directory in one go.
    let mut entries: Vec<(Vec<u8>, u64, u8)> = Vec::new();
    let full = img.readdir(dir, 0, |e, next| {
        assert!(next > 0);
        entries.push((e.name.to_vec(), e.nid, e.file_type));
        entries.len() < MAX_DIRENTS as usize
    });
    match full {
        Ok(end) => assert!(
            end >= dir.size() || entries.len() >= MAX_DIRENTS as usize,
            "readdir ended early"
        ),
        Err(_) => st.errors += 1,
    }
    st.dirents += entries.len() as u64;

    // Again, a few entries per call, resuming from the returned position as getdents does:
    // the same sequence, and every call makes progress.
    let mut resumed: Vec<(Vec<u8>, u64, u8)> = Vec::new();
    let mut pos = 0u64;
    let mut calls = 0usize;
    while resumed.len() <= entries.len() {
        calls += 1;
        assert!(
            calls <= entries.len() + 8,
            "resumed readdir does not progress"
        );
        let mut got = 0;
        let r = img.readdir(dir, pos, |e, _| {
            if got == 3 {
                return false;
            }
            got += 1;
            resumed.push((e.name.to_vec(), e.nid, e.file_type));
            true
        });
        match r {
            Ok(next) => {
                if got < 3 {
                    break;
                }
                assert!(next > pos, "readdir position did not advance");
                pos = next;
            }
            Err(_) => break,
        }
    }
    if full.is_ok() {
        assert_eq!(resumed, entries, "resumed readdir differs");
    }
    for &p in seeks {
        let _ = img.readdir(dir, p, |_, next| next <= p.saturating_add(4096 * 2));
    }

    // Lookups of every listed name (and of names that are not there).
    for (k, (name, nid, _ft)) in entries.iter().enumerate() {
        if k < 512 {
            match img.lookup(dir, name) {
                Ok(Some((n, _))) => {
                    // Duplicate names in different blocks may resolve to either entry.
                    let _ = n;
                }
                Ok(None) => {}
                Err(_) => st.errors += 1,
            }
        }
        if name != b"." && name != b".." {
            queue.push_back(*nid);
        } else {
            // '.' and '..' may point anywhere in a hostile image; the kernel ignores them
            // but the nids must still decode or fail cleanly.
            if img.inode(*nid).is_err() {
                st.errors += 1;
            }
        }
    }
    for probe in [&b"~~~~"[..], b"0", b"zz", &[0xffu8; 255][..]] {
        let _ = img.lookup(dir, probe);
    }
    let _ = img
        .lookup(dir, b"a/b")
        .expect_err("names with / are rejected");
    let _ = img.lookup(dir, b"").expect_err("empty names are rejected");
}

fn visit_data(img: &Img<'_>, ino: &Inode, st: &mut WalkStats) {
    if let Ok(Some(b)) = img.inline_data(ino) {
        assert_eq!(b.len(), ino.tail_len() as usize);
    }
    if ino.is_symlink() {
        let mut buf = [0u8; PATH_MAX];
        match img.symlink_target(ino, &mut buf) {
            Ok(n) => assert_eq!(n as u64, ino.size()),
            Err(_) => st.errors += 1,
        }
        return;
    }
    if !ino.is_reg() {
        return;
    }
    if ino.layout() == DataLayout::ChunkBased {
        if let Some(c) = ino.chunk_info() {
            for i in 0..c.count.min(4096) {
                if img.chunk_addr(ino, i).is_err() {
                    st.errors += 1;
                    break;
                }
            }
            let _ = img.chunk_addr(ino, c.count);
            if c.count <= 4096 {
                let _ = img.chunks_all_null(ino);
            }
        }
    }
    // Start, middle, end and past the end; page sized reads as the page cache does.
    let size = ino.size();
    let mut buf = vec![0u8; 4096];
    let mid = (size / 2) & !4095;
    let last = size.saturating_sub(1) & !4095;
    for pos in [
        0,
        1,
        mid,
        last,
        size.saturating_sub(3),
        size,
        size.saturating_add(4096),
    ] {
        match img.read_data(ino, pos, &mut buf) {
            Ok(n) => {
                assert!(n <= buf.len());
                let want = size.saturating_sub(pos).min(buf.len() as u64);
                assert_eq!(n as u64, want, "short read inside the file");
                st.bytes += n as u64;
            }
            Err(_) => st.errors += 1,
        }
    }
    // Small files: the whole content, read in odd pieces.
    if size <= 65536 {
        let mut p = 0u64;
        let mut piece = vec![0u8; 1000];
        while p < size {
            match img.read_data(ino, p, &mut piece) {
                Ok(0) => panic!("read made no progress inside the file"),
                Ok(n) => p += n as u64,
                Err(_) => {
                    st.errors += 1;
                    break;
                }
            }
        }
    }
}
