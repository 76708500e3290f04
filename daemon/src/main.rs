//! The `clawsecd` binary: parse arguments, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    clawsecd::cli::run(clawsecd::cli::Cli::parse())
}
