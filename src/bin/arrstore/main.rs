//! The `arrstore` command: parses the command line, dispatches to one module per subcommand,
//! and prints errors with their cause chain (`error: ...`, exit 1; usage errors exit 2; a
//! closed stdout exits 0 quietly).

mod args;
mod demo;
mod fmt;
mod info;
mod progress;
mod read;
mod sql;
mod write;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let quiet = cli.quiet;
    let result = match cli.command {
        args::Command::Write(a) => write::run(&a, quiet),
        args::Command::Read(a) => read::run(&a, quiet),
        args::Command::Info(a) => info::run(&a),
        args::Command::Demo(a) => demo::run(&a, quiet),
        args::Command::Completions(a) => {
            clap_complete::generate(
                a.shell,
                &mut args::Cli::command(),
                "arrstore",
                &mut std::io::stdout(),
            );
            Ok(())
        }
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

/// Refuses an existing output unless `--force` was given, before any work is done (the writes
/// themselves are atomic and refuse it again).
fn refuse_existing(output: &Path, force: bool) -> anyhow::Result<()> {
    if !force && output.exists() {
        anyhow::bail!(
            "{}: output already exists (pass --force to replace it)",
            output.display()
        );
    }
    Ok(())
}
