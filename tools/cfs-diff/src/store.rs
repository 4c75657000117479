// SPDX-License-Identifier: GPL-2.0 OR MIT

//! The object store of a round: two basedirs, each object in a state drawn at random.

use crate::rng::Rng;
use crate::sys;
use crate::tree::Object;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

/// What the store holds at an object's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// The object, with fs-verity, in the first basedir.
    Present,
    /// Nothing in either basedir.
    Missing,
    /// A symlink to a real copy of the object, in the first basedir.
    Symlink,
    /// A directory.
    Dir,
    /// A fifo.
    Fifo,
    /// A file of another size (with fs-verity).
    OtherSize,
    /// The object without fs-verity.
    NoVerity,
    /// A file of the same size with other contents (with fs-verity).
    OtherDigest,
    /// The object in the second basedir; the first has a symlink there.
    SecondBehindSymlink,
    /// The object in the second basedir; the first has a directory there.
    SecondBehindDir,
    /// The object in the second basedir; the first has it unreadable (mode 000).
    SecondBehindUnreadable,
    /// The object only in the second basedir.
    SecondOnly,
    /// The object, readable, in the first basedir, under a directory with mode 000.
    Unsearchable,
    /// The object with mode 000 in the first basedir only.
    Unreadable,
}

impl State {
    /// Every state.
    pub const ALL: [State; 14] = [
        State::Present,
        State::Missing,
        State::Symlink,
        State::Dir,
        State::Fifo,
        State::OtherSize,
        State::NoVerity,
        State::OtherDigest,
        State::SecondBehindSymlink,
        State::SecondBehindDir,
        State::SecondBehindUnreadable,
        State::SecondOnly,
        State::Unsearchable,
        State::Unreadable,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            State::Present => "present",
            State::Missing => "missing",
            State::Symlink => "symlink",
            State::Dir => "dir",
            State::Fifo => "fifo",
            State::OtherSize => "other-size",
            State::NoVerity => "no-verity",
            State::OtherDigest => "other-digest",
            State::SecondBehindSymlink => "second-behind-symlink",
            State::SecondBehindDir => "second-behind-dir",
            State::SecondBehindUnreadable => "second-behind-unreadable",
            State::SecondOnly => "second-only",
            State::Unsearchable => "unsearchable-dir",
            State::Unreadable => "unreadable",
        }
    }
}

/// The store of one round.
pub struct Store {
    /// The basedirs, in order.
    pub bases: [PathBuf; 2],
    /// Each object's state.
    pub states: Vec<State>,
}

/// Writes `data` to `path` (sparse where it is zero), with fs-verity if `verity`.
fn write_object(path: &Path, data: &[u8], verity: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut f = fs::File::create(path)?;
    let mut off = 0;
    while off < data.len() {
        let end = (off + 4096).min(data.len());
        let block = &data[off..end];
        if block.iter().any(|&b| b != 0) {
            std::os::unix::fs::FileExt::write_all_at(&f, block, off as u64)?;
        }
        off = end;
    }
    f.set_len(data.len() as u64)?;
    f.flush()?;
    drop(f);
    if verity {
        sys::enable_verity(path).map_err(std::io::Error::from_raw_os_error)?;
    }
    Ok(())
}

impl Store {
    /// Lays out `objects` under `dir`, each in a state drawn from `r`.
    pub fn create(r: &mut Rng, dir: &Path, objects: &[Object]) -> std::io::Result<Store> {
        let bases = [dir.join("b1"), dir.join("b2")];
        let elsewhere = dir.join("elsewhere");
        for d in bases.iter().chain([&elsewhere]) {
            fs::create_dir_all(d)?;
        }
        // A round's store: all present, all in one state, or mixed.
        let profile = r.below(10);
        let single = *r.pick(&State::ALL);
        let mut states = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            let state = match profile {
                0..=2 => State::Present,
                3 => single,
                _ if r.chance(60) => State::Present,
                _ => *r.pick(&State::ALL),
            };
            states.push(state);
            let first = bases[0].join(&o.rel);
            let second = bases[1].join(&o.rel);
            let real = elsewhere.join(format!("{i}"));
            match state {
                State::Present => write_object(&first, &o.data, true)?,
                State::Missing => {}
                State::Symlink => {
                    write_object(&real, &o.data, true)?;
                    fs::create_dir_all(first.parent().unwrap_or(dir))?;
                    symlink(&real, &first)?;
                }
                State::Dir => fs::create_dir_all(&first)?,
                State::Fifo => {
                    fs::create_dir_all(first.parent().unwrap_or(dir))?;
                    let p = sys::cpath(&first);
                    // SAFETY: `p` is a valid C string.
                    if unsafe { libc::mkfifo(p.as_ptr(), 0o644) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                State::OtherSize => {
                    let mut d = o.data.clone();
                    if d.is_empty() || r.chance(50) {
                        d.push(b'+');
                    } else {
                        d.pop();
                    }
                    write_object(&first, &d, true)?
                }
                State::NoVerity => write_object(&first, &o.data, false)?,
                State::OtherDigest => {
                    let mut d = o.data.clone();
                    match d.first_mut() {
                        Some(b) => *b ^= 0xff,
                        None => d.push(1),
                    }
                    write_object(&first, &d, true)?
                }
                State::SecondBehindSymlink => {
                    write_object(&second, &o.data, true)?;
                    write_object(&real, &o.data, true)?;
                    fs::create_dir_all(first.parent().unwrap_or(dir))?;
                    symlink(&real, &first)?;
                }
                State::SecondBehindDir => {
                    write_object(&second, &o.data, true)?;
                    fs::create_dir_all(&first)?;
                }
                State::SecondBehindUnreadable => {
                    write_object(&second, &o.data, true)?;
                    write_object(&first, &o.data, true)?;
                    fs::set_permissions(&first, fs::Permissions::from_mode(0o000))?;
                }
                State::SecondOnly => write_object(&second, &o.data, true)?,
                State::Unsearchable => {
                    write_object(&first, &o.data, true)?;
                    if r.chance(50) {
                        write_object(&second, &o.data, true)?;
                    }
                }
                State::Unreadable => {
                    write_object(&first, &o.data, true)?;
                    fs::set_permissions(&first, fs::Permissions::from_mode(0o000))?;
                }
            }
        }
        // Directory modes last, once everything beneath them is written.
        for (o, s) in objects.iter().zip(&states) {
            if *s == State::Unsearchable {
                if let Some(parent) = bases[0].join(&o.rel).parent() {
                    fs::set_permissions(parent, fs::Permissions::from_mode(0o000))?;
                }
            }
        }
        Ok(Store { bases, states })
    }
}
