//! `clawsecctl completions SHELL` and `clawsecctl completions --man`: generated from the
//! clap definitions, so they never drift from the real flags.

use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shell to generate completions for.
    #[arg(value_enum, required_unless_present = "man")]
    shell: Option<Shell>,
    /// Print the man page (roff) instead.
    #[arg(long)]
    man: bool,
}

pub fn run(args: Args) -> ExitCode {
    let mut cmd = crate::Cli::command();
    let mut out = std::io::stdout();
    if args.man {
        return match clap_mangen::Man::new(cmd).render(&mut out) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clawsecctl: {e}");
                ExitCode::from(1)
            }
        };
    }
    if let Some(shell) = args.shell {
        clap_complete::generate(shell, &mut cmd, "clawsecctl", &mut out);
    }
    ExitCode::SUCCESS
}
