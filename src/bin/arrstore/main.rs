//! The `arrstore` command: parses the command line, dispatches to one module per subcommand,
//! and prints errors with their cause chain (`error: ...`, exit 1; usage errors exit 2).

mod args;
mod fmt;
mod info;
mod read;
mod sql;
mod write;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Write(a) => write::run(&a),
        args::Command::Read(a) => read::run(&a),
        args::Command::Info(a) => info::run(&a),
        args::Command::Sql(a) => sql::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// True when the error is a closed stdout (`arrstore info x | head`): not worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let io = c
            .downcast_ref::<std::io::Error>()
            .or_else(|| match c.downcast_ref::<arrstore::Error>() {
                Some(arrstore::Error::Io(io)) => Some(io),
                _ => None,
            });
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
