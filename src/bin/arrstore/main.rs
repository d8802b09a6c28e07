//! The `arrstore` command: parses the command line, dispatches to one module per subcommand,
//! and prints errors with their cause chain (`error: ...`, exit 1, also for a bad flag value;
//! usage errors exit 2; a closed stdout exits 0 quietly).

mod append;
mod args;
mod demo;
mod fmt;
mod info;
mod progress;
mod read;
mod sql;
mod verify;
mod write;

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    let cli = match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // A bad value of a flag fails the command (exit 1, as every error of a command); a
            // malformed command line is a usage error (exit 2); help and version exit 0.
            return match e.kind() {
                ErrorKind::ValueValidation => ExitCode::FAILURE,
                _ => ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2)),
            };
        }
    };
    // A malformed page that makes the Parquet decoder panic is reported as an error naming the
    // file; the panic itself is not printed.
    arrstore::contain::quiet_contained_panics();
    if matches!(cli.command, args::Command::Write(_)) {
        tune_malloc();
    }
    let quiet = cli.quiet;
    let result = match cli.command {
        args::Command::Write(a) => write::run(&a, quiet),
        args::Command::Read(a) => read::run(&a, quiet),
        args::Command::Append(a) => append::run(&a, quiet),
        args::Command::Info(a) => info::run(&a),
        args::Command::Verify(a) => verify::run(&a),
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
            let _ = writeln!(std::io::stderr(), "error: {}", report(&e));
            ExitCode::FAILURE
        }
    }
}

/// Tunes glibc's malloc for `write` (no thread runs yet), each setting unless the environment
/// sets it (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`):
/// - One arena per core. glibc gives threads that allocate at once arenas of their own (up to
///   eight per core) and keeps what is freed in each, so threads that take turns allocating and
///   freeing large buffers (column samples, encoded pages) can hold several copies of the same
///   peak. Reads keep the default: their decoding threads hand every buffer to the thread
///   writing the output, and with fewer arenas than threads a streamed export is slower.
/// - Buffers up to 32 MiB (glibc's largest threshold) come from the heap, and freed memory is
///   kept for reuse rather than given back to the system: a write allocates and frees buffers
///   of the same few sizes for every row group and sample, and a buffer mapped afresh each time
///   costs a page fault per 4 KiB. The peak is what the write holds at once, as before; what is
///   freed after it stays with the process until it exits.
///
/// `DESIGN.md` gives the measurements behind both.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let settings = [
        ("MALLOC_ARENA_MAX", libc::M_ARENA_MAX, cores),
        ("MALLOC_MMAP_THRESHOLD_", libc::M_MMAP_THRESHOLD, 32 << 20),
        ("MALLOC_TRIM_THRESHOLD_", libc::M_TRIM_THRESHOLD, 1 << 30),
    ];
    for (variable, parameter, value) in settings {
        if std::env::var_os(variable).is_some() {
            continue;
        }
        let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets a parameter of the allocator; no other thread runs yet. Its
        // result (0 on failure) leaves the default in place, which is correct, only slower.
        unsafe {
            libc::mallopt(parameter, value);
        }
    }
}

/// Elsewhere the allocator is left as it is.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

/// True when the error is a closed stdout (`arrstore info x | head`): not worth a message.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// The error and its causes, `: `-separated, each message once: a cause whose message the
/// report already ends with (the library's errors show their source's message) is left out.
fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let message = cause.to_string();
        if out.ends_with(&message) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&message);
    }
    out
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
