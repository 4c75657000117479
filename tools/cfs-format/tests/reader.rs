// SPDX-License-Identifier: GPL-2.0 OR MIT

//! Reader tests: images built by the reference mkcomposefs are walked completely, and
//! damaged copies of them (truncated, bit-flipped) must give errors, never panics or hangs.

use std::collections::HashSet;

use cfs_format::format::layout::*;
use cfs_format::format::overlay::*;
use cfs_format::format::reader::{check_name, HashedXattrKey, LookupHint, XattrKey};
use cfs_format::format::xxhash::{xattr_filter_bit, xxh32};
use cfs_format::format::{FormatError, Image, SliceSource};
use cfs_test_support::oracle_mkcomposefs;

/// Builds an image from dump text with the reference mkcomposefs.
fn image(name: &str, dump: &str, extra: &[&str]) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("cfs-format-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let d = dir.join(format!("{name}.dump"));
    let i = dir.join(format!("{name}.cfs"));
    std::fs::write(&d, dump).expect("dump");
    oracle_mkcomposefs(&d, &i, extra);
    std::fs::read(&i).expect("image")
}

const DIGEST: &str = "35d02f81325122d77ec1d11baba655bc9bf8a891ab26119a41c50fa03ddfb408";

fn sample_dump() -> String {
    let mut s = format!(
        "/ 4096 40755 3 0 0 0 100.7 - - - user.root=1\n\
         /a 5 100644 1 0 0 0 100.7 - hello - user.x=y trusted.overlay.nested=z\n\
         /b 100 100644 1 0 0 0 200.0 35/{} - {DIGEST}\n\
         /c 100 100644 1 0 0 0 200.0 35/{} - {DIGEST}\n\
         /l 3 120777 1 0 0 0 0.0 foo - -\n\
         /w 0 20000 1 0 0 0 0.0 - - -\n\
         /d 4096 40755 2 70000 0 0 0.0 - - -\n",
        &DIGEST[2..],
        &DIGEST[2..]
    );
    for i in 0..400 {
        s.push_str(&format!(
            "/d/entry-with-a-fairly-long-name-{i:05} {} 100644 1 0 0 0 0.0 - {} -\n",
            i % 7,
            "q".repeat(i % 7)
        ));
    }
    s
}

/// Walks everything reachable from the root with the reader; returns the number of inodes.
/// Bounded: each directory is entered at most once.
fn walk(img: &Image<SliceSource<'_>>, max_lookups: usize) -> Result<usize, FormatError> {
    let mut seen = HashSet::new();
    let mut stack = vec![img.root_nid()];
    let mut count = 0;
    let mut buf = vec![0u8; 8192];
    while let Some(nid) = stack.pop() {
        let dir = img.inode(nid)?;
        if !seen.insert(nid) {
            continue;
        }
        let mut entries = Vec::new();
        let end = img.readdir(&dir, 0, |e, _| {
            entries.push((e.name.to_vec(), e.nid, e.file_type));
            true
        })?;
        assert!(end >= dir.size());
        for (k, (name, cnid, _ft)) in entries.into_iter().enumerate() {
            if k < max_lookups {
                if let Some((n, _)) = img.lookup(&dir, &name)? {
                    assert_eq!(n, cnid, "lookup disagrees with readdir");
                }
            }
            if name == b"." || name == b".." {
                continue;
            }
            let ino = img.inode(cnid)?;
            count += 1;
            img.for_each_xattr(&ino, |x| {
                let mut v = vec![0u8; usize::from(x.value_len)];
                img.read_exact_at(x.value_offset, &mut v)?;
                Ok(true)
            })?;
            if ino.is_dir() {
                stack.push(cnid);
            } else {
                img.read_data(&ino, 0, &mut buf)?;
            }
        }
    }
    Ok(count)
}

#[test]
fn walks_reference_images() {
    for extra in [&[][..], &["--min-version=1", "--max-version=1"][..]] {
        let data = image("walk", &sample_dump(), extra);
        let img = Image::open(SliceSource::new(&data)).expect("open");
        assert_eq!(img.header().magic, COMPOSEFS_MAGIC);
        // 6 root entries + 400 in /d + 256 whiteout stubs.
        assert_eq!(walk(&img, usize::MAX).expect("walk"), 6 + 400 + 256);

        let root = img.inode(img.root_nid()).expect("root");
        assert!(root.is_dir());
        assert_eq!(root.mtime(), 100);
        assert_eq!(root.mtime_nsec(), 7);

        let (anid, ft) = img.lookup(&root, b"a").expect("lookup").expect("a exists");
        assert_eq!(ft, EROFS_FT_REG_FILE);
        let a = img.inode(anid).expect("a");
        let mut buf = [0u8; 16];
        assert_eq!(img.read_data(&a, 0, &mut buf).expect("read"), 5);
        assert_eq!(&buf[..5], b"hello");
        assert_eq!(
            &*img.inline_data(&a).expect("inline").expect("some"),
            b"hello"
        );
        let mut v = [0u8; 8];
        assert_eq!(
            img.get_xattr(&a, b"user.x", &mut v).expect("xattr"),
            Some(1)
        );
        assert_eq!(&v[..1], b"y");
        assert_eq!(
            img.get_xattr(&a, b"user.nope", &mut v).expect("xattr"),
            None
        );
        assert_eq!(
            img.get_xattr(&a, b"trusted.overlay.overlay.nested", &mut v)
                .expect("xattr"),
            Some(1)
        );
        // The escaped name, looked up with its presented form split in two parts.
        let key = XattrKey {
            index: XATTR_INDEX_TRUSTED,
            head: b"overlay.",
            tail: b"overlay.nested",
        };
        assert!(img.find_xattr(&a, &key).expect("find").is_some());

        let (bnid, _) = img.lookup(&root, b"b").expect("lookup").expect("b");
        let b = img.inode(bnid).expect("b");
        assert_eq!(b.size(), 100);
        assert!(img.chunks_all_null(&b).expect("chunks"));
        let mut mc = [0u8; 64];
        let n = img
            .get_xattr(&b, overlay_names::METACOPY, &mut mc)
            .expect("mc")
            .expect("present");
        let d = parse_metacopy(&mc[..n]).expect("parse").expect("digest");
        assert_eq!(d.algo, FS_VERITY_HASH_ALG_SHA256);
        assert_eq!(cfs_format::fsverity::to_hex(d.digest()), DIGEST);
        let mut rd = [0u8; 128];
        let n = img
            .get_xattr(&b, overlay_names::REDIRECT, &mut rd)
            .expect("rd")
            .expect("present");
        assert_eq!(
            redirect_object_path(&rd[..n]).expect("path"),
            format!("35/{}", &DIGEST[2..]).as_bytes()
        );
        let mut zeros = [1u8; 100];
        assert_eq!(img.read_data(&b, 0, &mut zeros).expect("read"), 100);
        assert!(zeros.iter().all(|&z| z == 0));

        let (lnid, _) = img.lookup(&root, b"l").expect("lookup").expect("l");
        let mut t = [0u8; 16];
        let n = img
            .symlink_target(&img.inode(lnid).expect("l"), &mut t)
            .expect("target");
        assert_eq!(&t[..n], b"foo");

        let (stub, _) = img.lookup(&root, b"7f").expect("lookup").expect("stub");
        assert!(is_whiteout(&img.inode(stub).expect("stub")));
        assert!(is_whiteout_stub_name(b"7f"));

        let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
        let d = img.inode(dnid).expect("d");
        assert!(img.dir_blocks(&d).expect("blocks") > 1);
        assert!(d.is_extended(), "uid 70000 needs an extended inode");
        for i in [0, 1, 199, 200, 399] {
            let name = format!("entry-with-a-fairly-long-name-{i:05}");
            assert!(
                img.lookup(&d, name.as_bytes()).expect("lookup").is_some(),
                "{name}"
            );
        }
        assert!(img
            .lookup(&d, b"entry-with-a-fairly-long-name-00400")
            .expect("lookup")
            .is_none());
        assert!(img.lookup(&d, b"0").expect("lookup").is_none());
        assert!(img.lookup(&d, b"zzz").expect("lookup").is_none());

        // Resuming readdir at every returned position visits the same entries.
        let mut all = Vec::new();
        img.readdir(&d, 0, |e, _| {
            all.push(e.name.to_vec());
            true
        })
        .expect("readdir");
        let mut resumed = Vec::new();
        let mut pos = 0;
        loop {
            let mut got = None;
            let next = img
                .readdir(&d, pos, |e, _| {
                    got = Some(e.name.to_vec());
                    false
                })
                .expect("readdir");
            match got {
                Some(n) => {
                    resumed.push(n);
                    // Stopped before accepting: the returned position is the entry itself.
                    assert_eq!(next, pos.max(next));
                    let mut p2 = next;
                    img.readdir(&d, next, |_, after| {
                        p2 = after;
                        false
                    })
                    .expect("readdir");
                    pos = p2;
                }
                None => break,
            }
        }
        assert_eq!(all, resumed);
    }
}

#[test]
fn bloom_filter_matches_writer() {
    let data = image("bloom", &sample_dump(), &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let mut nids = vec![];
    img.readdir(&root, 0, |e, _| {
        nids.push(e.nid);
        true
    })
    .expect("readdir");
    for nid in nids {
        let ino = img.inode(nid).expect("inode");
        if ino.xattr_size() == 0 {
            continue;
        }
        let mut h = [0u8; 4];
        img.read_exact_at(ino.xattr_offset(), &mut h).expect("hdr");
        let filter = u32::from_le_bytes(h);
        img.for_each_xattr(&ino, |x| {
            assert_eq!(filter & (1 << xattr_filter_bit(x.index, x.suffix)), 0);
            Ok(true)
        })
        .expect("xattrs");
    }
}

#[test]
fn primitives() {
    assert_eq!(xxh32(b"", 0), 0x02cc_5d05);
    assert_eq!(xxh32(b"abc", 0), 0x32d1_53ff);
    assert_eq!(
        xxh32(b"Nobody inspects the spammish repetition", 0),
        0xe229_3b2f
    );
    // Computed at compile time, the same hash.
    const CONST_HASH: u32 = xxh32(b"Nobody inspects the spammish repetition", 0);
    assert_eq!(CONST_HASH, 0xe229_3b2f);
    for len in 0..40 {
        let input: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert_eq!(xxh32(&input, 7), xxh32_bytewise(&input, 7), "len {len}");
    }
    const META: HashedXattrKey<'static> =
        HashedXattrKey::new(XATTR_INDEX_TRUSTED, b"overlay.metacopy");
    assert_eq!(META.key().head, b"overlay.metacopy");

    // check_name tests names eight bytes at a time: every length and position.
    for len in 1..=40usize {
        let ok = vec![b'a'; len];
        assert_eq!(check_name(&ok), Ok(()), "len {len}");
        for pos in 0..len {
            for bad in [b'/', 0] {
                let mut n = ok.clone();
                n[pos] = bad;
                assert_eq!(check_name(&n), Err(FormatError::BadName), "{n:?}");
            }
            // Bytes next to the bad ones in value must pass.
            for good in [b'.', b'0', 1, 0x80, 0xff, 0x2e, 0x30] {
                let mut n = ok.clone();
                n[pos] = good;
                assert_eq!(check_name(&n), Ok(()), "{n:?}");
            }
        }
    }
    assert_eq!(check_name(b""), Err(FormatError::BadName));
    assert_eq!(check_name(&[b'a'; 256]), Err(FormatError::NameTooLong));

    // CRC-32C check value, before the final inversion.
    assert_eq!(!crc32c(!0, b"123456789"), 0xe306_9283);

    let sb = SuperBlock {
        magic: EROFS_SUPER_MAGIC,
        blkszbits: 12,
        root_nid: 36,
        inos: 9,
        ..Default::default()
    };
    assert_eq!(SuperBlock::parse(&sb.to_bytes()).expect("parse"), sb);
    let e = InodeExtended {
        i_format: 1,
        i_mode: 0o100644,
        i_size: 1 << 40,
        i_mtime: 5,
        i_nlink: 3,
        ..Default::default()
    };
    assert_eq!(InodeExtended::parse(&e.to_bytes()).expect("parse"), e);
    assert_eq!(InodeCompact::parse(&[0; 31]), Err(FormatError::Truncated));

    assert_eq!(parse_metacopy(b""), Ok(None));
    assert_eq!(
        parse_metacopy(&[0, 36, 0, 1]),
        Err(FormatError::BadMetacopy)
    );
    let mut v = vec![0, 68, 0, 2];
    v.extend([7u8; 64]);
    assert_eq!(
        parse_metacopy(&v).expect("ok").expect("some").digest(),
        &[7u8; 64][..]
    );
    v[1] = 36;
    assert_eq!(parse_metacopy(&v), Err(FormatError::BadMetacopy));

    // What overlayfs checks at open (ovl_check_metacopy_xattr, ovl_validate_verity): the
    // version and the length field; flags and unknown algorithms are left to the digest
    // comparison; algorithm 0 asks for no digest. A value of 0 or 4 bytes is never checked:
    // overlayfs's lookup marks a file as having a digest (OVL_HAS_DIGEST) only if its value
    // is longer than the header (ovl_lookup, fs/overlayfs/namei.c), and the open validates
    // only such files (ovl_maybe_validate_verity).
    assert_eq!(metacopy_digest_at_open(b""), Ok(None));
    assert_eq!(metacopy_digest_at_open(&[0, 4, 0, 0]), Ok(None));
    assert_eq!(metacopy_digest_at_open(&[0, 4, 0, 9]), Ok(None));
    assert_eq!(metacopy_digest_at_open(&[1, 4, 0, 1]), Ok(None));
    assert_eq!(
        metacopy_digest_at_open(&[0, 5, 7, 1, 3]),
        Ok(Some((1, &[3u8][..])))
    );
    assert_eq!(
        metacopy_digest_at_open(&[1, 5, 0, 0, 3]),
        Err(FormatError::BadMetacopy)
    );
    assert_eq!(metacopy_digest_at_open(&[0, 5, 0, 0]), Ok(None));
    assert_eq!(
        metacopy_digest_at_open(&[0, 6, 0, 1, 3]),
        Err(FormatError::BadMetacopy)
    );
    assert_eq!(
        metacopy_digest_at_open(&[0, 3, 0]),
        Err(FormatError::BadMetacopy)
    );

    assert_eq!(redirect_object_path(b"/ab/cd"), Ok(&b"ab/cd"[..]));
    for bad in [
        &b"ab/cd"[..],
        b"/",
        b"/a//b",
        b"/a/../b",
        b"/./a",
        b"/a/",
        b"/a\0b",
    ] {
        assert_eq!(
            redirect_object_path(bad),
            Err(FormatError::BadRedirect),
            "{bad:?}"
        );
    }
    // ovl_get_redirect_xattr (fs/overlayfs/util.c): an empty value is invalid; the rest is
    // read as a C string, so one that starts with NUL is an empty relative redirect.
    assert_eq!(parse_redirect(b"/a/b"), Ok(Redirect::Absolute(b"a/b")));
    assert_eq!(parse_redirect(b"/a/b\0//"), Ok(Redirect::Absolute(b"a/b")));
    assert_eq!(parse_redirect(b"rel"), Ok(Redirect::Relative(b"rel")));
    assert_eq!(parse_redirect(b"\0/x"), Ok(Redirect::Relative(b"")));
    for bad in [&b""[..], b"/", b"//a", b"/a/", b"a/b", b"/a//b"] {
        assert_eq!(parse_redirect(bad), Err(FormatError::BadRedirect), "{bad:?}");
    }
    // No length limit at lookup (the same function has none): a path too long for
    // getname_kernel fails the data lookup at open instead.
    let mut long = vec![b'a'; 5000];
    long[0] = b'/';
    assert_eq!(parse_redirect(&long), Ok(Redirect::Absolute(&long[1..])));
    long.push(b'/');
    assert_eq!(parse_redirect(&long), Err(FormatError::BadRedirect));
    assert_eq!(
        xattr_visibility(XATTR_INDEX_TRUSTED, b"overlay.overlay.x"),
        XattrVisibility::Unescaped(b"overlay.x")
    );
    assert_eq!(
        xattr_visibility(XATTR_INDEX_TRUSTED, b"overlay.metacopy"),
        XattrVisibility::Private
    );
    assert_eq!(
        xattr_visibility(XATTR_INDEX_USER, b"overlay.x"),
        XattrVisibility::Plain
    );
}

/// xxHash32 written the plain way, one byte at a time for the tail, as a check of the
/// `const fn` one.
fn xxh32_bytewise(input: &[u8], seed: u32) -> u32 {
    const P1: u32 = 0x9e37_79b1;
    const P2: u32 = 0x85eb_ca77;
    const P3: u32 = 0xc2b2_ae3d;
    const P4: u32 = 0x27d4_eb2f;
    const P5: u32 = 0x1656_67b1;
    let round = |acc: u32, x: u32| {
        acc.wrapping_add(x.wrapping_mul(P2))
            .rotate_left(13)
            .wrapping_mul(P1)
    };
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    let mut i = 0;
    let mut h = if input.len() >= 16 {
        let mut v = [
            seed.wrapping_add(P1).wrapping_add(P2),
            seed.wrapping_add(P2),
            seed,
            seed.wrapping_sub(P1),
        ];
        while i + 16 <= input.len() {
            for (k, acc) in v.iter_mut().enumerate() {
                *acc = round(*acc, le(&input[i + 4 * k..]));
            }
            i += 16;
        }
        v[0].rotate_left(1)
            .wrapping_add(v[1].rotate_left(7))
            .wrapping_add(v[2].rotate_left(12))
            .wrapping_add(v[3].rotate_left(18))
    } else {
        seed.wrapping_add(P5)
    };
    h = h.wrapping_add(input.len() as u32);
    while i + 4 <= input.len() {
        h = h
            .wrapping_add(le(&input[i..]).wrapping_mul(P3))
            .rotate_left(17)
            .wrapping_mul(P4);
        i += 4;
    }
    for &b in &input[i..] {
        h = h
            .wrapping_add(u32::from(b).wrapping_mul(P5))
            .rotate_left(11)
            .wrapping_mul(P1);
    }
    h ^= h >> 15;
    h = h.wrapping_mul(P2);
    h ^= h >> 13;
    h = h.wrapping_mul(P3);
    h ^ (h >> 16)
}

/// A lookup gives the same answer whatever hint it starts from, in directories of one and of
/// several blocks.
#[test]
fn lookup_hints() {
    let data = image("hints", &sample_dump(), &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
    for dir in [root, img.inode(dnid).expect("d")] {
        let blocks = dir.size().div_ceil(4096);
        let mut names = vec![];
        img.readdir(&dir, 0, |e, _| {
            names.push((e.name.to_vec(), e.nid));
            true
        })
        .expect("readdir");
        let mut hints = vec![None];
        for block in 0..=blocks {
            for index in [0, 1, 2, 50, 100, usize::MAX - 1, usize::MAX] {
                hints.push(Some(LookupHint { block, index }));
            }
        }
        let mut absent = vec![b"0".to_vec(), b"zzz".to_vec(), b"entry-with".to_vec()];
        absent.extend(names.iter().map(|(n, _)| [&n[..], b"~"].concat()));
        for hint in &hints {
            for (name, nid) in &names {
                let f = img
                    .lookup_near(&dir, name, *hint)
                    .expect("lookup")
                    .expect("found");
                assert_eq!(f.nid, *nid, "{name:?} {hint:?}");
                // Starting from what it found finds the next entry too.
                let again = img.lookup_near(
                    &dir,
                    name,
                    Some(LookupHint {
                        block: f.block,
                        index: f.index,
                    }),
                );
                assert_eq!(again.expect("lookup").expect("found").nid, *nid);
            }
            for name in &absent {
                if names.iter().all(|(n, _)| n != name) {
                    assert_eq!(img.lookup_near(&dir, name, *hint).expect("lookup"), None);
                }
            }
        }
        // In readdir order, each lookup starting from the previous one's entry.
        let mut hint = None;
        for (name, nid) in &names {
            let f = img
                .lookup_near(&dir, name, hint)
                .expect("lookup")
                .expect("found");
            assert_eq!(f.nid, *nid);
            hint = Some(LookupHint {
                block: f.block,
                index: f.index,
            });
        }
    }
}

/// Hints are only for well-formed directories: a valid image's directories are sorted, and
/// swapping two names of one block (as a corrupt image may) makes the directory unsorted.
#[test]
fn dir_is_sorted_detects_disorder() {
    let data = image("sorted", &sample_dump(), &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
    let d = img.inode(dnid).expect("d");
    assert!(img.dir_is_sorted(&root).expect("root"));
    assert!(img.dir_is_sorted(&d).expect("d"));
    // The names of two entries of the first block of "d", swapped in place.
    let mut names = vec![];
    img.readdir(&d, 0, |e, _| {
        names.push(e.name.to_vec());
        true
    })
    .expect("readdir");
    let (a, b) = names
        .iter()
        .enumerate()
        .skip(2)
        .find_map(|(i, n)| {
            names
                .iter()
                .skip(i + 1)
                .find(|m| m.len() == n.len() && m != &n)
                .map(|m| (n.clone(), m.clone()))
        })
        .expect("two names of one length");
    let mut bad = data.clone();
    let pa = bad.windows(a.len()).position(|w| w == &a[..]).expect("a");
    let pb = bad.windows(b.len()).position(|w| w == &b[..]).expect("b");
    bad[pa..pa + a.len()].copy_from_slice(&b);
    bad[pb..pb + b.len()].copy_from_slice(&a);
    let img = Image::open(SliceSource::new(&bad)).expect("open");
    let d = img.inode(dnid).expect("d");
    assert!(!img.dir_is_sorted(&d).expect("d"));
}

/// Every truncation and many single-bit flips of a reference image: the reader returns
/// errors or data, never panics, and terminates.
#[test]
fn hostile_images_do_not_panic() {
    let data = image("hostile", &sample_dump(), &[]);
    for len in (0..data.len())
        .step_by(97)
        .chain([0, 1, 31, 1023, 1151, 1152, 4095, 4096])
    {
        let cut = &data[..len.min(data.len())];
        if let Ok(img) = Image::open(SliceSource::new(cut)) {
            let _ = walk(&img, 4);
        }
    }
    let mut copy = data.clone();
    // Flip bits densely in the header, superblock and first inodes, sparsely in the rest.
    let dense = data.len().min(8192);
    let mut positions: Vec<usize> = (0..dense).step_by(7).collect();
    positions.extend((dense..data.len()).step_by(101));
    for (k, &pos) in positions.iter().enumerate() {
        let bit = 1u8 << (k % 8);
        copy[pos] ^= bit;
        if let Ok(img) = Image::open(SliceSource::new(&copy)) {
            let _ = walk(&img, 4);
        }
        copy[pos] ^= bit;
    }
    assert_eq!(copy, data);
}

/// Every file's inline xattrs come back whole, whether they lie in one block (read from one
/// slice) or cross into the next (read entry by entry), and an entry's value, when it is
/// handed out, is the bytes at its offset.
#[test]
fn inline_xattrs_in_and_across_blocks() {
    let mut dump = String::from("/ 4096 40755 2 0 0 0 0.0 - - -\n");
    let mut want = std::collections::HashMap::new();
    for i in 0..300 {
        // Distinct names and values, so nothing is shared; lengths vary so that areas
        // start at many positions in their block.
        let a = "v".repeat(1 + i * 7 % 90);
        let b = "w".repeat(1 + i * 13 % 40);
        dump.push_str(&format!(
            "/x{i:03} 0 100644 1 0 0 0 0.0 - - - user.a{i}={a} trusted.b{i}={b}\n"
        ));
        let mut x = vec![
            (format!("user.a{i}").into_bytes(), a.into_bytes()),
            (format!("trusted.b{i}").into_bytes(), b.into_bytes()),
        ];
        x.sort();
        want.insert(format!("x{i:03}").into_bytes(), x);
    }
    let data = image("inline-xattrs", &dump, &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let mut files = Vec::new();
    img.readdir(&root, 0, |e, _| {
        // Not the whiteout stubs (00..ff).
        if e.name.starts_with(b"x") {
            files.push((e.name.to_vec(), e.nid));
        }
        true
    })
    .expect("readdir");
    assert_eq!(files.len(), want.len());
    let (mut within, mut across) = (0, 0);
    for (name, nid) in files {
        let ino = img.inode(nid).expect("inode");
        // The inline entries follow the 12-byte header (no shared ids: nothing is shared).
        let start = ino.xattr_offset() + XATTR_IBODY_HEADER_SIZE as u64;
        let end = ino.xattr_offset() + u64::from(ino.xattr_size());
        if start / BLOCK_SIZE_U64 == (end - 1) / BLOCK_SIZE_U64 {
            within += 1;
        } else {
            across += 1;
        }
        let mut got = Vec::new();
        img.for_each_xattr(&ino, |x| {
            let mut v = vec![0u8; usize::from(x.value_len)];
            img.read_exact_at(x.value_offset, &mut v)?;
            if let Some(value) = x.value {
                assert_eq!(value, &v[..], "value handed out differs from the image");
            }
            got.push(([x.prefix(), x.suffix].concat(), v));
            Ok(true)
        })
        .expect("xattrs");
        got.sort();
        assert_eq!(
            Some(&got),
            want.get(&name),
            "xattrs of {}",
            String::from_utf8_lossy(&name)
        );
    }
    // Both ways of reading the inline entries were taken.
    assert!(
        within > 0 && across > 0,
        "{within} areas in one block, {across} across two"
    );
}

/// Every name a directory lists is found by a lookup, with names of every byte value (bytes
/// at and above 0x80 sort after ASCII, as EROFS compares them: unsigned) and of blocks of
/// many entries.
#[test]
fn lookup_finds_every_listed_name() {
    let mut s = String::from("/ 4096 40755 3 0 0 0 0.0 - - -\n/d 4096 40755 2 0 0 0 0.0 - - -\n");
    let mut names = Vec::new();
    let mut x: u32 = 12345;
    for i in 0..600 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        let mut n = format!("{:03x}", (x >> 8) & 0xfff).into_bytes();
        if i % 3 == 0 {
            n.insert(1, 0x80 + (x % 100) as u8);
        }
        if i % 5 == 0 {
            n.push(0x01 + (x % 30) as u8);
        }
        n.extend_from_slice(format!("-{i}").as_bytes());
        names.push(n);
    }
    for n in &names {
        let esc: String = n
            .iter()
            .map(|&c| {
                if c.is_ascii_alphanumeric() || c == b'-' {
                    (c as char).to_string()
                } else {
                    format!("\\x{c:02x}")
                }
            })
            .collect();
        s.push_str(&format!("/d/{esc} 0 100644 1 0 0 0 0.0 - - -\n"));
    }
    let data = image("bytes", &s, &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
    let dir = img.inode(dnid).expect("d");
    let mut listed = Vec::new();
    img.readdir(&dir, 0, |e, _| {
        listed.push((e.name.to_vec(), e.nid));
        true
    })
    .expect("readdir");
    assert_eq!(listed.len(), names.len() + 2);
    for (name, nid) in &listed {
        let found = img.lookup(&dir, name).expect("lookup");
        assert_eq!(
            found.map(|f| f.0),
            Some(*nid),
            "lookup of {:?}",
            String::from_utf8_lossy(name)
        );
    }
}

/// A directory whose data is inline ends where its tail ends: EROFS reads it through the
/// page cache, which holds zeros after the tail, so the last name ends there even when the
/// image bytes after it (the next inode, when the tail ends on an inode slot boundary) are
/// not zero. Directories with one file each, names of every length from 1 to 96 bytes, so
/// that some tails end on a 32-byte slot boundary followed by an inode (as in cfs-diff
/// seed 5).
#[test]
fn lookup_of_the_last_name_of_an_inline_directory() {
    let mut s = String::from("/ 4096 40755 98 0 0 0 0.0 - - -\n");
    for len in 1..=96 {
        s.push_str(&format!("/d{len:02} 0 40755 2 0 0 0 0.0 - - -\n"));
        let name: String = (0..len).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        s.push_str(&format!("/d{len:02}/{name} 0 100644 1 0 0 0 0.0 - - -\n"));
    }
    let data = image("inline-tail", &s, &[]);
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let mut tails_on_a_slot_boundary = 0;
    for len in 1..=96usize {
        let (dnid, _) = img
            .lookup(&root, format!("d{len:02}").as_bytes())
            .expect("lookup")
            .expect("dir");
        let dir = img.inode(dnid).expect("dir inode");
        let name: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
        let mut listed = None;
        img.readdir(&dir, 0, |e, _| {
            if e.name == &name[..] {
                listed = Some(e.nid);
            }
            true
        })
        .expect("readdir");
        let listed = listed.expect("listed");
        let found = img.lookup(&dir, &name).expect("lookup").map(|f| f.0);
        assert_eq!(found, Some(listed), "lookup of a {len}-byte name");
        let found = img.lookup_near(&dir, &name, None).expect("lookup").map(|f| f.nid);
        assert_eq!(found, Some(listed), "lookup_near of a {len}-byte name");
        // The dir's inline data: three entries and ".", ".." and the name.
        let end = dir.tail_offset() + u64::from(dir.tail_len());
        if dir.tail_len() as usize == 3 * 12 + 3 + len && end % 32 == 0 && data.get(end as usize) != Some(&0) {
            tails_on_a_slot_boundary += 1;
        }
    }
    // The case the test is about did occur.
    assert!(tails_on_a_slot_boundary > 0);
}

/// A directory entry whose nid is damaged (cfs-diff seed 7302026 round 20: set to
/// `u64::MAX`) ends a listing with an error, but a lookup of any other name does not read
/// it: `for_each_resolvable` (what the kernel's file-handle decoding accepts) yields every
/// other entry, those after the damaged one in its block and in later blocks included.
#[test]
fn a_damaged_entry_hides_only_itself_from_lookups() {
    let mut data = image("damaged-nid", &sample_dump(), &[]);
    let victim = b"entry-with-a-fairly-long-name-00100";
    let at = data
        .windows(victim.len())
        .position(|w| w == victim)
        .expect("name in the image");
    let block = at / 4096 * 4096;
    let nameoff = (at % 4096) as u16;
    let count = usize::from(u16::from_le_bytes([data[block + 8], data[block + 9]])) / 12;
    let slot = (0..count)
        .map(|i| block + i * 12)
        .find(|&d| u16::from_le_bytes([data[d + 8], data[d + 9]]) == nameoff)
        .expect("the victim's dirent");
    let original: Vec<(Vec<u8>, u64)> = {
        let img = Image::open(SliceSource::new(&data)).expect("open");
        let root = img.inode(img.root_nid()).expect("root");
        let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
        let mut v = vec![];
        img.readdir(&img.inode(dnid).expect("d"), 0, |e, _| {
            v.push((e.name.to_vec(), e.nid));
            true
        })
        .expect("readdir");
        v
    };
    // The victim is neither first nor last in its block.
    let index = (slot - block) / 12;
    assert!(index > 0 && index + 1 < count, "entry {index} of {count}");
    data[slot..slot + 8].copy_from_slice(&u64::MAX.to_le_bytes());

    let img = Image::open(SliceSource::new(&data)).expect("open");
    let root = img.inode(img.root_nid()).expect("root");
    let (dnid, _) = img.lookup(&root, b"d").expect("lookup").expect("d");
    let d = img.inode(dnid).expect("d");
    assert!(img.readdir(&d, 0, |_, _| true).is_err(), "the listing reads the damage");
    assert!(img.lookup(&d, victim).is_err(), "the victim's own lookup reads the damage");
    let mut resolvable = HashSet::new();
    assert!(img
        .for_each_resolvable(&d, |nid| {
            resolvable.insert(nid);
            true
        })
        .expect("walk"));
    let mut others = 0;
    for (name, nid) in &original {
        if name == victim {
            assert!(!resolvable.contains(nid), "the victim's inode is not resolvable");
        }
        if name == b"." || name == b".." || name == victim {
            continue;
        }
        others += 1;
        let found = img.lookup(&d, name).expect("lookup").map(|f| f.0);
        assert_eq!(found, Some(*nid), "lookup of {}", String::from_utf8_lossy(name));
        assert!(resolvable.contains(nid), "{} resolvable", String::from_utf8_lossy(name));
    }
    assert_eq!(others, 400 - 1);
    assert!(!resolvable.contains(&u64::MAX));
}

/// An xattr header whose shared ids would overrun the inode's xattr area fails every xattr
/// lookup on the inode, also of a name the bloom filter rules out: EROFS checks the header
/// before it consults the filter (`erofs_init_inode_xattrs`), and overlayfs's lookup, which
/// reads such a name of every inode it finds, then fails.
#[test]
fn a_damaged_xattr_header_fails_even_filtered_lookups() {
    let mut data = image("damaged-xattr-header", &sample_dump(), &[]);
    let metacopy = HashedXattrKey::new(XATTR_INDEX_TRUSTED, b"overlay.metacopy");
    let (nid, hdr) = {
        let img = Image::open(SliceSource::new(&data)).expect("open");
        let root = img.inode(img.root_nid()).expect("root");
        let (nid, _) = img.lookup(&root, b"a").expect("lookup").expect("a");
        let a = img.inode(nid).expect("a");
        assert!(a.xattr_size() > 12, "/a has inline xattrs");
        let hdr = a.xattr_offset() as usize;
        let filter = u32::from_le_bytes(data[hdr..hdr + 4].try_into().expect("4 bytes"));
        assert_ne!(filter & (1 << xattr_filter_bit(XATTR_INDEX_TRUSTED, b"overlay.metacopy")), 0, "the filter rules the name out");
        assert_eq!(img.find_xattr(&a, metacopy.key()), Ok(None));
        (nid, hdr)
    };
    data[hdr + 4] = 200;
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let a = img.inode(nid).expect("a");
    assert_eq!(img.find_xattr(&a, metacopy.key()), Err(FormatError::BadXattr));
    assert_eq!(
        img.for_each_xattr(&a, |_| Ok(true)),
        Err(FormatError::BadXattr)
    );
}

/// A device, fifo or socket with a chunk-based layout is read as EROFS reads it
/// (`erofs_read_inode`): its layout is not used, and only a chunk format with bits EROFS
/// does not know is refused. A whiteout so damaged is still a whiteout (difftest seed
/// 31207 round 287: overlayfs hid it from the root's listing, composefs listed it).
#[test]
fn a_device_with_a_chunk_based_layout() {
    let mut data = image("chunked-device", &sample_dump(), &[]);
    let nid = {
        let img = Image::open(SliceSource::new(&data)).expect("open");
        let root = img.inode(img.root_nid()).expect("root");
        // One of the root's whiteout stubs (00..ff), character devices 0:0.
        img.lookup(&root, b"03").expect("lookup").expect("03").0
    };
    let at = usize::try_from(nid * 32).expect("offset");
    let format = u16::from_le_bytes([data[at], data[at + 1]]);
    let chunked = (format & !0xe) | (u16::from(EROFS_INODE_CHUNK_BASED) << 1);
    data[at..at + 2].copy_from_slice(&chunked.to_le_bytes());
    {
        let img = Image::open(SliceSource::new(&data)).expect("open");
        let w = img.inode(nid).expect("a chunk-based whiteout loads");
        assert_eq!((w.file_type(), w.rdev()), (S_IFCHR, 0), "still a whiteout");
    }
    // A device number whose low 16 bits are not a chunk format EROFS knows.
    let u_at = at + 16;
    data[u_at..u_at + 4].copy_from_slice(&0x0103u32.to_le_bytes());
    let img = Image::open(SliceSource::new(&data)).expect("open");
    assert_eq!(img.inode(nid).err(), Some(FormatError::BadChunkFormat));
}

/// What a search for `key` among the xattrs of `ino` must answer, worked out from the plain
/// listing (`for_each_xattr`): the first entry with the key's name, else the error that ended
/// the listing, else none.
fn listed_answer(
    img: &Image<SliceSource<'_>>,
    ino: &cfs_format::format::Inode,
    key: &XattrKey<'_>,
) -> Result<Option<(u64, u16)>, FormatError> {
    let name = [key.head, key.tail].concat();
    let mut hit = None;
    let r = img.for_each_xattr(ino, |x| {
        if x.index == key.index && x.suffix == &name[..] {
            hit = Some((x.value_offset, x.value_len));
            return Ok(false);
        }
        Ok(true)
    });
    match (hit, r) {
        (Some(h), _) => Ok(Some(h)),
        (None, Err(e)) => Err(e),
        (None, Ok(())) => Ok(None),
    }
}

/// A search of several names at once (`find_xattrs`, and `inode_with_xattrs` for the names it
/// is asked for) gives each name what the plain listing of the inode's xattrs gives it, and
/// copies the values it finds; a name the inode's bloom filter rules out may be answered
/// `None` unread, as EROFS answers it. Checked on every inode of a reference image and of
/// copies with single bits flipped in the inodes and xattrs.
#[test]
fn searching_several_names_agrees_with_the_listing() {
    let data = image("search-several", &sample_dump(), &[]);
    let keys_owned = [
        XattrKey {
            index: XATTR_INDEX_TRUSTED,
            head: b"overlay.metacopy",
            tail: b"",
        },
        XattrKey {
            index: XATTR_INDEX_TRUSTED,
            head: b"overlay.redirect",
            tail: b"",
        },
        XattrKey {
            index: XATTR_INDEX_USER,
            head: b"x",
            tail: b"",
        },
        // The same name twice: both get the answer.
        XattrKey {
            index: XATTR_INDEX_USER,
            head: b"x",
            tail: b"",
        },
        XattrKey {
            index: XATTR_INDEX_TRUSTED,
            head: b"overlay.",
            tail: b"overlay.nested",
        },
        XattrKey {
            index: XATTR_INDEX_USER,
            head: b"root",
            tail: b"",
        },
        XattrKey {
            index: XATTR_INDEX_SECURITY,
            head: b"absent",
            tail: b"",
        },
    ];
    let hashed = [
        HashedXattrKey::new(XATTR_INDEX_TRUSTED, b"overlay.metacopy"),
        HashedXattrKey::new(XATTR_INDEX_TRUSTED, b"overlay.redirect"),
        HashedXattrKey::new(XATTR_INDEX_USER, b"x"),
        HashedXattrKey::new(XATTR_INDEX_USER, b"root"),
    ];
    let check = |img: &Image<SliceSource<'_>>, bytes: &[u8], nid: u64, checked: &mut usize| {
        let Ok(ino) = img.inode(nid) else { return };
        let filter = usize::try_from(ino.xattr_offset())
            .ok()
            .and_then(|at| bytes.get(at..at + 4))
            .map_or(0, |w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
        let ruled_out = |k: &XattrKey<'_>| {
            ino.xattr_size() > 0
                && filter & (1 << xattr_filter_bit(k.index, &[k.head, k.tail].concat())) != 0
        };
        let agrees = |k: &XattrKey<'_>, got: &Result<Option<(u64, u16)>, FormatError>| {
            let want = listed_answer(img, &ino, k);
            *got == want || (*got == Ok(None) && ruled_out(k))
        };
        let mut bufs = [[0u8; 64]; 7];
        let [b0, b1, b2, b3, b4, b5, b6] = &mut bufs;
        let keys = keys_owned.each_ref();
        let found = img.find_xattrs(
            &ino,
            keys,
            [
                &mut b0[..],
                &mut b1[..],
                &mut b2[..],
                &mut b3[..],
                &mut b4[..],
                &mut b5[..],
                &mut b6[..0],
            ],
        );
        for (i, (k, got)) in keys_owned.iter().zip(&found).enumerate() {
            assert!(agrees(k, got), "nid {nid} key {i}: {got:?}");
            if let (Ok(Some((off, len))), true) = (got, i < 6) {
                let len = usize::from(*len);
                if len <= 64 {
                    let mut v = vec![0u8; len];
                    img.read_exact_at(*off, &mut v).expect("value");
                    assert_eq!(&bufs[i][..len], &v[..], "nid {nid} key {i}: value");
                }
            }
            *checked += 1;
        }
        // Only the names asked for are looked for.
        let ask = [nid % 2 == 0, nid % 3 != 0, true, nid % 5 == 0];
        let mut v = [[0u8; 64]; 4];
        let [v0, v1, v2, v3] = &mut v;
        if let Ok((_, found)) = img.inode_with_xattrs(
            nid,
            |_| ask,
            &hashed,
            [&mut v0[..], &mut v1[..], &mut v2[..], &mut v3[..]],
        ) {
            for (i, (h, got)) in hashed.iter().zip(&found).enumerate() {
                if ask[i] {
                    assert!(agrees(h.key(), got), "nid {nid} hashed key {i}: {got:?}");
                } else {
                    assert_eq!(*got, Ok(None), "nid {nid} hashed key {i} was not asked for");
                }
            }
        }
    };
    let nids = |img: &Image<SliceSource<'_>>| {
        let mut out = vec![img.root_nid()];
        let mut stack = vec![img.root_nid()];
        while let Some(d) = stack.pop() {
            let Ok(dir) = img.inode(d) else { continue };
            let _ = img.readdir(&dir, 0, |e, _| {
                if e.name != b"." && e.name != b".." && out.len() < 2000 {
                    out.push(e.nid);
                    if e.file_type == 2 {
                        stack.push(e.nid);
                    }
                }
                true
            });
        }
        out
    };
    let img = Image::open(SliceSource::new(&data)).expect("open");
    let all = nids(&img);
    let mut checked = 0;
    for &nid in &all {
        check(&img, &data, nid, &mut checked);
    }
    let intact = checked;
    // Flip bits in the first inodes and their xattrs (the root, /a to /w and /d come first).
    let first = usize::try_from(img.root_nid() * 32).expect("offset");
    let mut copy = data.clone();
    for (k, pos) in (first..(first + 1536).min(data.len())).enumerate() {
        let bit = 1u8 << (k % 8);
        copy[pos] ^= bit;
        if let Ok(img) = Image::open(SliceSource::new(&copy)) {
            for &nid in all.iter().take(12) {
                check(&img, &copy, nid, &mut checked);
            }
        }
        copy[pos] ^= bit;
    }
    assert!(
        intact > 400 && checked > intact * 2,
        "{intact} intact, {checked} in all"
    );
}

/// `is_object_path` accepts exactly the object path mkcomposefs writes for a sha256 digest
/// (compared with one written here with `format!`), and `usual_sha256_metacopy` exactly the
/// metacopy value it writes: the kernel keeps only the digest of a file whose xattrs pass both.
#[test]
fn object_paths_and_usual_metacopy_values() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..200 {
        let mut d = [0u8; 32];
        for b in d.iter_mut() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        match round {
            0 => d = [0; 32],
            1 => d = [0xff; 32],
            _ => {}
        }
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        let path = format!("{}/{}", &hex[..2], &hex[2..]);
        let p = path.as_bytes();
        assert!(is_object_path(p, &d), "{path}");
        for i in 0..p.len() {
            let mut q = p.to_vec();
            q[i] = if q[i] == b'0' { b'1' } else { b'0' };
            assert!(!is_object_path(&q, &d), "{path} with byte {i} changed");
        }
        if path.bytes().any(|c| c.is_ascii_alphabetic()) {
            assert!(!is_object_path(path.to_uppercase().as_bytes(), &d), "{path} upper-case");
        }
        assert!(!is_object_path(&p[..p.len() - 1], &d), "{path} short");
        assert!(!is_object_path(format!("{path}0").as_bytes(), &d), "{path} long");
        assert!(!is_object_path(format!("/{path}").as_bytes(), &d), "/{path}");
        let mut m = vec![0u8, 36, 0, FS_VERITY_HASH_ALG_SHA256];
        m.extend_from_slice(&d);
        assert_eq!(usual_sha256_metacopy(&m), Some(&d));
        for (i, v) in [(0, 1u8), (1, 35), (2, 1), (3, FS_VERITY_HASH_ALG_SHA512)] {
            let mut n = m.clone();
            n[i] = v;
            assert_eq!(usual_sha256_metacopy(&n), None, "byte {i} = {v}");
        }
        assert_eq!(usual_sha256_metacopy(&m[..35]), None);
        m.push(0);
        assert_eq!(usual_sha256_metacopy(&m), None);
    }
}
