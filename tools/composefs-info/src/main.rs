// SPDX-License-Identifier: GPL-2.0 OR MIT

//! composefs-info (work in progress).

fn main() {
    eprintln!("not yet implemented");
    std::process::exit(1);
}
