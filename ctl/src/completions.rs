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
    // Rendered into memory first: the generators panic on a failed write, and a reader
    // that went away (`| head`) must end us quietly.
    let mut text = Vec::new();
    if args.man {
        if let Err(e) = clap_mangen::Man::new(cmd).render(&mut text) {
            eprintln!("clawsecctl: {e}");
            return ExitCode::from(1);
        }
    } else if let Some(shell) = args.shell {
        clap_complete::generate(shell, &mut cmd, "clawsecctl", &mut text);
    }
    match std::io::Write::write_all(&mut std::io::stdout(), &text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(clawsec_proto::output::BROKEN_PIPE_STATUS as u8)
        }
        Err(e) => {
            eprintln!("clawsecctl: standard output: {e}");
            ExitCode::from(1)
        }
    }
}
