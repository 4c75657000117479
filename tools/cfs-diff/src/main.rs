// SPDX-License-Identifier: GPL-2.0 OR MIT

//! cfs-diff: a differential tester of composefs against the reference stack (EROFS from
//! the image file + overlayfs with the basedirs as data-only layers), run as root in the
//! test guest.
//!
//! ```text
//! cfs-diff [-s SEED] [-r FIRST_ROUND] [-n ROUNDS] [-t SECONDS] [-o MAX_OPS] [-w WORKDIR] [-v] [-d]
//! ```
//!
//! Each round, reproducible from (SEED, round) alone, generates a random tree, builds its
//! image with `mkcomposefs --from-file` (format v0 or v1; sometimes damaged with
//! cfs-mutate's generator or in its metacopy values), lays out a store whose objects are
//! in random states (missing, symlinks, directories, fifos, other sizes or digests,
//! without fs-verity, only in the second basedir behind a symlink, directory or
//! unreadable file in the first, unsearchable), mounts both stacks over the same image
//! and store with the same verity mode (sometimes by a mounter without
//! `CAP_DAC_OVERRIDE`/`CAP_DAC_READ_SEARCH`), runs the same random operations on both
//! (as root and as an unprivileged user) and compares every result and errno. Between
//! operations it also remounts, unmounts a basedir's own mount, mounts something
//! beneath a basedir, and removes or replaces objects while files are open.
//!
//! A divergence that no intended difference (`allow.rs`) covers is printed with its seed
//! and round; the run ends with `difftest: N rounds, N operations, N divergences` and
//! exits 1 if there was any divergence or setup error.

mod allow;
mod craft;
mod ops;
mod rng;
mod store;
mod sys;
mod tree;

use ops::Op;
use rng::Rng;
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use store::{State, Store};
use tree::{Kind, Tree};

/// Command-line settings.
struct Args {
    seed: u64,
    first: u64,
    rounds: Option<u64>,
    seconds: Option<u64>,
    max_ops: u64,
    workdir: PathBuf,
    verbose: bool,
    /// Only print the dump of round `first`'s tree (`-d`), to look at a divergence's tree.
    dump_only: bool,
}

fn parse_args() -> Option<Args> {
    let mut a = Args {
        seed: 1,
        first: 0,
        rounds: None,
        seconds: None,
        max_ops: 300,
        workdir: PathBuf::from("/scratch/cfs-diff"),
        verbose: false,
        dump_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        if arg == "-v" {
            a.verbose = true;
            continue;
        }
        if arg == "-d" {
            a.dump_only = true;
            continue;
        }
        let v = it.next()?;
        match arg.as_str() {
            "-s" => a.seed = v.parse().ok()?,
            "-r" => a.first = v.parse().ok()?,
            "-n" => a.rounds = Some(v.parse().ok()?),
            "-t" => a.seconds = Some(v.parse().ok()?),
            "-o" => a.max_ops = v.parse().ok()?,
            "-w" => a.workdir = PathBuf::from(v),
            _ => return None,
        }
    }
    if a.rounds.is_none() && a.seconds.is_none() {
        a.rounds = Some(1);
    }
    Some(a)
}

/// Counters of a run.
#[derive(Default)]
struct Stats {
    rounds: u64,
    ops: u64,
    divergences: u64,
    errors: u64,
    /// Per operation kind: (run, diverged).
    per_kind: BTreeMap<String, (u64, u64)>,
    /// Per store state: operations on files whose object was in it.
    per_state: BTreeMap<&'static str, u64>,
    /// Per intended difference: results it covered.
    allowed: BTreeMap<&'static str, u64>,
    /// Rounds with a divergence: (round, first divergence).
    diverged_rounds: Vec<u64>,
    /// Divergences by kind and what differs: count and the first round that showed it.
    signatures: BTreeMap<String, (u64, u64)>,
}

/// What differs between two results, in a few words: the names of the `key=value`
/// fields that differ, or the two results' first words.
fn signature(kind: &str, cfs: &str, reference: &str) -> String {
    let fields = |s: &str| -> Vec<(String, String)> {
        s.split(' ')
            .filter_map(|t| {
                t.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    };
    let (a, b) = (fields(cfs), fields(reference));
    if !a.is_empty() && !b.is_empty() {
        let mut keys: Vec<&str> = a
            .iter()
            .filter(|(k, v)| !b.iter().any(|(k2, v2)| k2 == k && v2 == v))
            .chain(
                b.iter()
                    .filter(|(k, v)| !a.iter().any(|(k2, v2)| k2 == k && v2 == v)),
            )
            .map(|(k, _)| k.as_str())
            .collect();
        keys.sort();
        keys.dedup();
        if !keys.is_empty() {
            return format!("{kind}: fields {}", keys.join(","));
        }
    }
    let head = |s: &str| s.split(' ').take(2).collect::<Vec<_>>().join(" ");
    format!("{kind}: {} | {}", head(cfs), head(reference))
}

/// What a round is about, for its report line and the predicates.
struct Round {
    seed: u64,
    index: u64,
    mutated: bool,
    diverged: bool,
    verbose: bool,
}

impl Round {
    /// Compares one operation's two results; counts and reports a divergence.
    fn compare(&mut self, st: &mut Stats, kind: &str, what: &str, cfs: &str, reference: &str) {
        st.ops += 1;
        let e = st.per_kind.entry(kind.to_string()).or_default();
        e.0 += 1;
        if self.verbose {
            println!("# {kind} {what}\n#   composefs: {cfs}\n#   reference: {reference}");
        }
        if cfs == reference {
            return;
        }
        let seen = allow::Seen {
            kind,
            what,
            mutated: self.mutated,
            cfs,
            reference,
        };
        if let Some(a) = allow::ALLOWED.iter().find(|a| (a.covers)(&seen)) {
            *st.allowed.entry(a.name).or_default() += 1;
            return;
        }
        e.1 += 1;
        st.divergences += 1;
        let sig = st
            .signatures
            .entry(signature(kind, cfs, reference))
            .or_insert((0, self.index));
        sig.0 += 1;
        if !self.diverged {
            self.diverged = true;
            st.diverged_rounds.push(self.index);
            println!(
                "# divergence: seed {} round {} (replay: cfs-diff -s {} -r {} -n 1 -v)\n#   {kind} {what}\n#   composefs: {cfs}\n#   reference: {reference}",
                self.seed, self.index, self.seed, self.index
            );
        }
    }
}

/// The mount points at or below `dir`, deepest last (from `/proc/self/mountinfo`).
fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().to_string();
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|m| *m == prefix || m.starts_with(&format!("{prefix}/")))
        .map(PathBuf::from)
        .collect()
}

/// The superblock options `/proc/self/mountinfo` shows for the mount at `target`, and
/// the options `/proc/mounts` shows (per-mount and superblock options together).
fn mount_options(target: &Path) -> Option<(String, String)> {
    let info = fs::read_to_string("/proc/self/mountinfo").ok()?;
    let t = target.to_string_lossy();
    let line = info
        .lines()
        .rev()
        .find(|l| l.split(' ').nth(4) == Some(&*t))?;
    let mount_opts = line.split(' ').nth(5)?.to_string();
    let (_, after) = line.split_once(" - ")?;
    let super_opts = after.split(' ').nth(2)?.to_string();
    let mut all: Vec<&str> = mount_opts.split(',').collect();
    for o in super_opts.split(',') {
        if !all.contains(&o) {
            all.push(o);
        }
    }
    Some((super_opts.clone(), all.join(",")))
}

/// Unmounts everything at or below `dir` and removes it.
fn clean(dir: &Path) {
    for m in mounts_under(dir).iter().rev() {
        let _ = sys::umount(m, libc::MNT_DETACH);
    }
    let _ = fs::remove_dir_all(dir);
}

fn res_text(r: sys::SysResult<()>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => format!("err {}", sys::errname(e)),
    }
}

/// Damages the metacopy value of one external file in `img` (its 4-byte header sits
/// right before the digest): nonzero flags, an unknown or mismatched algorithm, or a
/// length field that disagrees with the value's size.
fn damage_metacopy(r: &mut Rng, img: &mut [u8], t: &Tree) -> Option<String> {
    let digests: Vec<&Vec<u8>> = t
        .entries
        .iter()
        .filter_map(|e| match e.kind {
            Kind::External { obj, digest: true } => Some(&t.objects[obj].digest),
            _ => None,
        })
        .collect();
    if digests.is_empty() {
        return None;
    }
    let d = r.pick(&digests);
    let at = img.windows(d.len()).position(|w| w == &d[..])?;
    let hdr = at.checked_sub(4)?;
    if img[hdr..at] != [0, 36, 0, 1] {
        return None;
    }
    let (i, v, what) = match r.below(4) {
        0 => (hdr + 2, 1, "flags 1"),
        1 => (hdr + 3, 2, "algorithm sha512"),
        2 => (hdr + 3, 9, "algorithm 9"),
        _ => (hdr + 1, 4, "length 4"),
    };
    img[i] = v;
    Some(format!("metacopy of {}: {what}", ops::show(&d[..4])))
}

/// Mixed into the seed for the generator of crafted xattrs.
const CRAFT_STREAM: u64 = 0x6372_6166_7465_6421;

/// One round: generate, mount, compare, tear down.
fn round(a: &Args, index: u64, st: &mut Stats) -> Result<(), String> {
    let mut r = Rng::new(a.seed, index);
    if a.dump_only {
        let n = r.range(50, 500) as usize;
        use std::io::Write;
        let _ = std::io::stdout().write_all(&Tree::generate(&mut r, n).dump());
        return Ok(());
    }
    let w = a.workdir.join(format!("r{index}"));
    clean(&w);
    fs::create_dir_all(&w).map_err(|e| format!("workdir: {e}"))?;
    let n = r.range(50, 500) as usize;
    let t = Tree::generate(&mut r, n);
    let dump = w.join("tree.dump");
    fs::write(&dump, t.dump()).map_err(|e| format!("dump: {e}"))?;
    let version = r.below(2);
    let img = w.join("image.cfs");
    let out = Command::new("mkcomposefs")
        .arg("--from-file")
        .arg(format!("--min-version={version}"))
        .arg(&dump)
        .arg(&img)
        .output()
        .map_err(|e| format!("mkcomposefs: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "mkcomposefs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Sometimes a damaged image, so that error paths are compared too.
    let mut damage = String::new();
    match r.below(10) {
        0 | 1 => {
            let data = fs::read(&img).map_err(|e| format!("image: {e}"))?;
            if let Some(map) = cfs_mutate::mutate::Map::build(&data) {
                let (class, desc, bad) =
                    cfs_mutate::mutate::mutant(&data, &map, a.seed ^ index, r.next());
                fs::write(&img, bad).map_err(|e| format!("image: {e}"))?;
                damage = format!("{}: {desc}", class.name());
            }
        }
        2 => {
            let mut data = fs::read(&img).map_err(|e| format!("image: {e}"))?;
            if let Some(d) = damage_metacopy(&mut r, &mut data, &t) {
                fs::write(&img, data).map_err(|e| format!("image: {e}"))?;
                damage = d;
            }
        }
        _ => {}
    }
    // Sometimes raw overlay xattrs where an undamaged image has none, drawn from a
    // generator of their own so that every other draw of the round, and so every
    // round found before, stays as it was.
    let mut crafted = String::new();
    let mut cr = Rng::new(a.seed ^ CRAFT_STREAM, index);
    if damage.is_empty() && cr.chance(25) {
        let mut data = fs::read(&img).map_err(|e| format!("image: {e}"))?;
        if let Some(map) = cfs_mutate::mutate::Map::build(&data) {
            let mut done = Vec::new();
            for _ in 0..cr.range(1, 8) {
                done.extend(craft::raw_overlay_xattr(&mut cr, &mut data, &map));
            }
            if !done.is_empty() {
                fs::write(&img, data).map_err(|e| format!("image: {e}"))?;
                crafted = done.join("; ");
            }
        }
    }
    let store = Store::create(&mut r, &w, &t.objects).map_err(|e| format!("store: {e}"))?;
    let verity = *r.pick(&["off", "on", "require"]);
    let drop_caps = r.chance(20);
    let has_acl = fs::read(&img)
        .ok()
        .and_then(|d| d.get(8..12).map(|f| f[0] & 1 != 0))
        .unwrap_or(false);

    // Each stack gets its own bind mounts of the basedirs, so that unmounting or
    // mounting beneath one side's basedir shows what that side does.
    let side_bases = |tag: &str| [w.join(format!("{tag}1")), w.join(format!("{tag}2"))];
    let (cb, rb) = (side_bases("cb"), side_bases("rb"));
    for (dst, src) in cb
        .iter()
        .zip(&store.bases)
        .chain(rb.iter().zip(&store.bases))
    {
        fs::create_dir_all(dst).map_err(|e| format!("bind dir: {e}"))?;
        sys::mount(&sys::cpath(src), dst, c"none", libc::MS_BIND, None)
            .map_err(|e| format!("bind mount: {}", sys::errname(e)))?;
    }
    let (cfs_root, ref_root, erofs) = (w.join("cfs"), w.join("ref"), w.join("erofs"));
    for d in [&cfs_root, &ref_root, &erofs] {
        fs::create_dir_all(d).map_err(|e| format!("mount point: {e}"))?;
    }
    let cfs_opts = CString::new(format!(
        "basedir={}:{},verity={verity}",
        cb[0].display(),
        cb[1].display()
    ))
    .unwrap_or_default();
    let ref_opts = CString::new(format!(
        "metacopy=on,redirect_dir=on,verity={verity},lowerdir={}::{}::{}",
        erofs.display(),
        rb[0].display(),
        rb[1].display()
    ))
    .unwrap_or_default();
    let img_c = sys::cpath(&img);
    let mounted = sys::in_child(|| {
        if drop_caps {
            if let Err(e) = sys::drop_caps(&[sys::CAP_DAC_OVERRIDE, sys::CAP_DAC_READ_SEARCH]) {
                return format!("capset {}", sys::errname(e));
            }
        }
        let c = res_text(sys::mount(
            &img_c,
            &cfs_root,
            c"composefs",
            libc::MS_RDONLY,
            Some(&cfs_opts),
        ));
        let e = sys::mount(
            &img_c,
            &erofs,
            c"erofs",
            libc::MS_RDONLY,
            if has_acl { None } else { Some(c"noacl") },
        );
        let rf = match e {
            Err(e) => format!("err {} (erofs)", sys::errname(e)),
            Ok(()) => {
                let o = res_text(sys::mount(
                    c"composefs",
                    &ref_root,
                    c"overlay",
                    libc::MS_RDONLY,
                    Some(&ref_opts),
                ));
                let _ = sys::umount(&erofs, libc::MNT_DETACH);
                o
            }
        };
        format!("{c}|{rf}")
    });
    let (cfs_mount, ref_mount) = mounted.split_once('|').unwrap_or((&mounted, ""));
    let (cfs_mount, ref_mount) = (cfs_mount.to_string(), ref_mount.to_string());
    let states: Vec<&str> = {
        let mut v: Vec<&str> = store.states.iter().map(|s| s.name()).collect();
        v.sort();
        v.dedup();
        v
    };
    {
        println!(
            "# round {index}: v{version} image, {} entries, {} objects, verity={verity}{}{}, store states {:?}{}{}",
            t.entries.len(),
            t.objects.len(),
            if drop_caps { ", mounter without DAC capabilities" } else { "" },
            if has_acl { ", acl" } else { "" },
            states,
            if damage.is_empty() { String::new() } else { format!(", damaged: {damage}") },
            if crafted.is_empty() { String::new() } else { format!(", crafted: {crafted}") }
        );
    }
    let mut rd = Round {
        seed: a.seed,
        index,
        mutated: !damage.is_empty(),
        diverged: false,
        verbose: a.verbose,
    };
    let normalize = |s: &str| s.trim_end_matches(" (erofs)").to_string();
    rd.compare(st, "mount", "", &cfs_mount, &normalize(&ref_mount));
    if cfs_mount != "ok" || ref_mount != "ok" {
        clean(&w);
        return Ok(());
    }
    let roots = [cfs_root.clone(), ref_root.clone()];

    // Which object an external file's path names, for the per-state counts.
    let obj_of = |p: &[u8]| {
        t.entries
            .iter()
            .find(|e| e.path == p)
            .and_then(|e| match e.kind {
                Kind::External { obj, .. } => Some(obj),
                _ => None,
            })
    };
    let mut states_now = store.states.clone();
    let mut bases_mounted = true;
    let n_ops = r.range(a.max_ops.min(100), a.max_ops);
    for _ in 0..n_ops {
        match r.below(200) {
            // Remount as mount(8) does, with the options /proc/mounts shows, with the
            // superblock's options alone, with one option changed, to read-write, or
            // to change per-mount flags only.
            0 => {
                let variant = r.below(5);
                let res: Vec<String> = roots
                    .iter()
                    .map(|root| {
                        let (sup, all) = mount_options(root).unwrap_or_default();
                        let (flags, data) = match variant {
                            0 => (libc::MS_RDONLY, Some(all)),
                            1 => (libc::MS_RDONLY, Some(sup)),
                            2 => (libc::MS_RDONLY, Some(format!("{sup},verity=off"))),
                            3 => (0, None),
                            _ => (libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID, None),
                        };
                        let data = data.map(|d| CString::new(d).unwrap_or_default());
                        res_text(sys::remount(root, flags, data.as_deref()))
                    })
                    .collect();
                let what = [
                    "with /proc/mounts options",
                    "with superblock options",
                    "changing verity",
                    "read-write",
                    "per-mount flags",
                ][variant as usize];
                rd.compare(st, "remount", what, &res[0], &res[1]);
            }
            // Unmount each side's own mount of the first basedir.
            1 if bases_mounted => {
                let c = res_text(sys::umount(&cb[0], 0));
                let rf = res_text(sys::umount(&rb[0], 0));
                bases_mounted = false;
                // Whatever happened, both sides go on with the same view.
                let _ = sys::umount(&cb[0], libc::MNT_DETACH);
                let _ = sys::umount(&rb[0], libc::MNT_DETACH);
                rd.compare(st, "umount-basedir", "", &c, &rf);
            }
            // Mount an empty tmpfs over an object directory beneath each side's basedir.
            2 if bases_mounted && !t.objects.is_empty() => {
                let o = &t.objects[r.index(t.objects.len())];
                let sub = &o.rel[..2];
                let c = res_text(sys::mount(c"tmpfs", &cb[0].join(sub), c"tmpfs", 0, None));
                let rf = res_text(sys::mount(c"tmpfs", &rb[0].join(sub), c"tmpfs", 0, None));
                rd.compare(st, "mount-beneath-basedir", sub, &c, &rf);
            }
            // Remove an object, with one of its files open on both sides or not.
            3 | 4 if !t.objects.is_empty() => {
                let oi = r.index(t.objects.len());
                let o = &t.objects[oi];
                let user = t
                    .entries
                    .iter()
                    .find(|e| matches!(e.kind, Kind::External { obj, .. } if obj == oi));
                // The open's errno is kept: where composefs cannot open a file of a
                // damaged image, the result must say why.
                let open: Vec<Option<sys::SysResult<sys::Fd>>> = match user {
                    Some(e) if r.chance(60) => roots
                        .iter()
                        .map(|root| {
                            let mut p = root.as_os_str().as_encoded_bytes().to_vec();
                            p.extend_from_slice(&e.path);
                            Some(sys::open(&p, libc::O_RDONLY))
                        })
                        .collect(),
                    _ => vec![None, None],
                };
                let replace = r.chance(40);
                for b in &store.bases {
                    let p = b.join(&o.rel);
                    let _ = fs::remove_file(&p);
                }
                if replace {
                    // Another object at the same path (other contents, same size).
                    let mut d = o.data.clone();
                    match d.last_mut() {
                        Some(b) => *b ^= 0x55,
                        None => d.push(0),
                    }
                    let p = store.bases[0].join(&o.rel);
                    let _ = fs::create_dir_all(p.parent().unwrap_or(&w));
                    if fs::write(&p, &d).is_ok() {
                        let _ = sys::enable_verity(&p);
                    }
                    states_now[oi] = State::OtherDigest;
                } else {
                    states_now[oi] = State::Missing;
                }
                let what = format!("{} {}", if replace { "replace" } else { "remove" }, o.rel);
                let after: Vec<String> = open
                    .iter()
                    .map(|fd| match fd {
                        Some(Err(e)) => format!("open failed: err {}", sys::errname(*e)),
                        Some(Ok(fd)) => {
                            let v = sys::pread(fd, 0, 1 << 20);
                            match v {
                                Ok(v) => format!(
                                    "open file reads len={} hash={:x}",
                                    v.len(),
                                    ops::hash(&v)
                                ),
                                Err(e) => format!("open file reads: err {}", sys::errname(e)),
                            }
                        }
                        None => "not open".into(),
                    })
                    .collect();
                rd.compare(st, "object-removed", &what, &after[0], &after[1]);
            }
            _ => {
                let op = ops::random(&mut r, &t);
                let user = r.chance(30)
                    && matches!(
                        op,
                        Op::Access(..)
                            | Op::Open(..)
                            | Op::Read(..)
                            | Op::Getxattr(..)
                            | Op::Listxattr(..)
                            | Op::Readdir(..)
                            | Op::Lstat(..)
                    );
                if a.verbose {
                    println!("# > {} {}", op.kind(), ops::show(op.path()));
                }
                let res: Vec<String> = roots
                    .iter()
                    .map(|root| {
                        if user {
                            ops::run_as(&op, root, 1000)
                        } else {
                            ops::run(&op, root)
                        }
                    })
                    .collect();
                if let Some(oi) = obj_of(op.path()) {
                    *st.per_state.entry(states_now[oi].name()).or_default() += 1;
                }
                let kind = if user {
                    format!("{} (user)", op.kind())
                } else {
                    op.kind().to_string()
                };
                let what = match &op {
                    Op::SameInode(x, y) => format!("{} {}", ops::show(x), ops::show(y)),
                    Op::Getxattr(p, n, s) => format!("{} {} size {s}", ops::show(p), ops::show(n)),
                    other => format!("{} ({:?})", ops::show(other.path()), OpArgs(other)),
                };
                rd.compare(st, &kind, &what, &res[0], &res[1]);
            }
        }
    }
    clean(&w);
    Ok(())
}

/// An operation's arguments but the path, for reports.
struct OpArgs<'a>(&'a Op);

impl std::fmt::Debug for OpArgs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Op::Readdir(_, s) | Op::Readlink(_, s) | Op::Listxattr(_, s) | Op::Read(_, s) => {
                write!(f, "size {s}")
            }
            Op::Access(_, m, fl) => write!(f, "mode {m} flags {fl:#x}"),
            Op::Open(_, fl) => write!(f, "flags {fl:#o}"),
            Op::Pread(_, o, l) => write!(f, "off {o} len {l}"),
            Op::DirectRead(_, v) => {
                write!(f, "{}", if *v { "F_SETFL O_DIRECT" } else { "O_DIRECT" })
            }
            Op::Seek(_, o, w) => write!(f, "off {o} whence {w}"),
            Op::Handle(_, fl) => write!(f, "flags {fl:#x}"),
            _ => Ok(()),
        }
    }
}

fn main() -> ExitCode {
    let Some(a) = parse_args() else {
        eprintln!("usage: cfs-diff [-s SEED] [-r FIRST_ROUND] [-n ROUNDS] [-t SECONDS] [-o MAX_OPS] [-w WORKDIR] [-v] [-d]");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let mut st = Stats::default();
    let mut index = a.first;
    loop {
        if let Some(n) = a.rounds {
            if index >= a.first + n {
                break;
            }
        }
        if let Some(s) = a.seconds {
            if start.elapsed() >= Duration::from_secs(s) {
                break;
            }
        }
        if let Err(e) = round(&a, index, &mut st) {
            println!("# setup error: seed {} round {index}: {e}", a.seed);
            st.errors += 1;
            clean(&a.workdir.join(format!("r{index}")));
        }
        st.rounds += 1;
        index += 1;
    }
    println!("# per operation kind (run / diverged):");
    for (k, (n, d)) in &st.per_kind {
        println!("#   {k}: {n} / {d}");
    }
    println!("# operations on files per object state:");
    for (k, n) in &st.per_state {
        println!("#   {k}: {n}");
    }
    for a in allow::ALLOWED {
        println!(
            "# intended difference \"{}\" covered {} results",
            a.name,
            st.allowed.get(a.name).copied().unwrap_or(0)
        );
    }
    if !st.signatures.is_empty() {
        println!("# divergences by what differs (count, first round):");
        for (k, (n, r)) in &st.signatures {
            println!("#   {k}: {n}, round {r}");
        }
    }
    if !st.diverged_rounds.is_empty() {
        println!("# rounds with divergences: {:?}", st.diverged_rounds);
    }
    if st.errors > 0 {
        println!("# {} rounds could not be set up", st.errors);
    }
    println!(
        "difftest: {} rounds, {} operations, {} divergences ({} s)",
        st.rounds,
        st.ops,
        st.divergences,
        start.elapsed().as_secs()
    );
    if st.divergences > 0 || st.errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
