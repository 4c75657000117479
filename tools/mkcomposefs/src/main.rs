//! `mkcomposefs`: build a composefs image from a directory or a composefs
//! dump file, byte-identical to upstream mkcomposefs 1.0.8.

mod dump;
mod erofs;
mod objects;
mod progress;
mod source;
mod store;
mod sys;
mod tree;

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use crate::dump::{c_strtol, DumpParser};
use crate::erofs::{write_image, WriteOptions};
use cfs_format::fsverity::{self, HashAlg};

/// Hash algorithm choice on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum HashArg {
    /// fs-verity sha256 (upstream's only choice).
    Sha256,
    /// fs-verity sha512 (as composefs-rs repositories use).
    Sha512,
}

/// Command line, with upstream's options.
#[derive(Debug, Parser)]
#[command(
    name = "mkcomposefs",
    about = "Build a composefs image from a directory or a composefs dump file",
    infer_long_args = true,
    disable_version_flag = true
)]
struct Cli {
    /// Store content files in this directory.
    #[arg(long, value_name = "PATH")]
    digest_store: Option<PathBuf>,
    /// Make all mtimes zero.
    #[arg(long)]
    use_epoch: bool,
    /// Don't store device nodes.
    #[arg(long)]
    skip_devices: bool,
    /// Don't store file xattrs.
    #[arg(long)]
    skip_xattrs: bool,
    /// Only store user.* xattrs.
    #[arg(long)]
    user_xattrs: bool,
    /// Print the digest of the image.
    #[arg(long)]
    print_digest: bool,
    /// Print the digest of the image, don't write image.
    #[arg(long)]
    print_digest_only: bool,
    /// The source is a dump file, not a directory.
    #[arg(long)]
    from_file: bool,
    /// Use this minimal format version (default=0).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    min_version: Option<String>,
    /// Use this maximum format version (default=1).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    max_version: Option<String>,
    /// Number of threads for computing digests and copying files (default: CPUs).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    threads: Option<String>,
    /// fs-verity hash of object digests and names.
    #[arg(long, value_enum, default_value = "sha256")]
    hash: HashArg,
    /// Don't show progress on a terminal.
    #[arg(long, short)]
    quiet: bool,
    /// Source directory, or dump file (`-` for stdin) with --from-file.
    source: PathBuf,
    /// Image file to write (`-` for stdout).
    image: Option<PathBuf>,
}

/// A fatal error: one line on stderr, exit status 1.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn fatal<T>(msg: impl Into<String>) -> Result<T, Fatal> {
    Err(Fatal(msg.into()))
}

/// Stack size of the worker threads: a thread that waits for stolen work
/// runs other directories' tasks nested on its stack.
const WORKER_STACK: usize = 16 << 20;

/// Number of CPUs this process may run on.
fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

fn parse_version(arg: &Option<String>, what: &str) -> Result<Option<i32>, Fatal> {
    match arg {
        None => Ok(None),
        Some(s) => match c_strtol(s) {
            Some(v) => Ok(Some(v as i32)),
            None => fatal(format!("Invalid {what} version {s}")),
        },
    }
}

/// Where the image goes.
enum Output {
    None,
    Stdout,
    File(File),
}

fn run(cli: Cli) -> Result<(), Fatal> {
    let min = parse_version(&cli.min_version, "min")?;
    let max = parse_version(&cli.max_version, "max")?;
    let (min_version, max_version) = match (min, max) {
        (None, None) => (0, 1),
        (a, b) => (a.unwrap_or(0), b.unwrap_or(0)),
    };
    let threads = match &cli.threads {
        None => cpu_count(),
        Some(s) => match c_strtol(s) {
            Some(n) if n > 0 => n as usize,
            Some(n) => return fatal(format!("Invalid threads count {n}")),
            None => return fatal(format!("Invalid threads count {s}")),
        },
    };
    let hash = match cli.hash {
        HashArg::Sha256 => HashAlg::Sha256,
        HashArg::Sha512 => HashAlg::Sha512,
    };
    if cli.source.as_os_str().is_empty() {
        return fatal("Empty source path specified");
    }
    let print_digest = cli.print_digest || cli.print_digest_only;
    let output = match (&cli.image, cli.print_digest_only) {
        (None, false) => return fatal("No destination path specified"),
        (Some(_), true) => {
            return fatal("Cannot specify destination path with --print-digest-only")
        }
        (None, true) => Output::None,
        (Some(p), false) if p.as_os_str() == "-" => {
            if io::stdout().is_terminal() {
                return fatal("stdout is a tty.  Refusing to use it");
            }
            Output::Stdout
        }
        (Some(p), false) => match File::create(p) {
            Ok(f) => Output::File(f),
            Err(e) => return fatal(format!("failed to open output file: {e}")),
        },
    };

    let progress = progress::Progress::new(!cli.quiet && io::stderr().is_terminal());
    let tree = if cli.from_file {
        let mut data = Vec::new();
        if cli.source.as_os_str() == "-" {
            io::stdin()
                .lock()
                .read_to_end(&mut data)
                .map_err(|e| Fatal(format!("Error reading from file: {e}")))?;
        } else {
            File::open(&cli.source)
                .and_then(|mut f| f.read_to_end(&mut data))
                .map_err(|e| Fatal(format!("open `{}`: {e}", cli.source.display())))?;
        }
        let strict = std::env::var_os("CFS_PARSE_STRICT").is_some();
        DumpParser::new(strict, hash.digest_size()).parse_all(&data)?
    } else {
        let flags = source::BuildFlags {
            use_epoch: cli.use_epoch,
            skip_devices: cli.skip_devices,
            skip_xattrs: cli.skip_xattrs,
            user_xattrs: cli.user_xattrs,
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .stack_size(WORKER_STACK)
            .build()
            .map_err(|e| Fatal(format!("cannot start threads: {e}")))?;
        let store = cli.digest_store.as_deref();
        pool.install(|| source::build(&cli.source, &flags, hash, store, &progress))?
    };
    progress.finish();

    let opts = WriteOptions {
        min_version,
        max_version,
        hash,
    };
    let mut tree = tree;
    let (image, _version) =
        write_image(&mut tree, &opts).map_err(|e| Fatal(format!("cannot write file: {e}")))?;
    // The process ends soon: freeing every node one by one would only add
    // to the single-threaded tail of the run.
    std::mem::forget(tree);

    match output {
        Output::None => {}
        Output::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(&image)
                .and_then(|()| out.flush())
                .map_err(|e| Fatal(format!("cannot write file: {e}")))?;
        }
        Output::File(mut f) => {
            f.write_all(&image)
                .map_err(|e| Fatal(format!("cannot write file: {e}")))?;
        }
    }
    if print_digest {
        let digest = fsverity::digest_bytes(hash, &image);
        println!("{}", fsverity::to_hex(&digest));
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Fatal(msg)) => {
            eprintln!("mkcomposefs: {msg}");
            ExitCode::FAILURE
        }
    }
}
