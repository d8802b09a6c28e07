//! Panics of the Parquet decoder turned into errors.
//!
//! The decoders arrstore reads through (the `parquet` crate's, and DataFusion's scans over it)
//! check most of what they decode, yet a few malformed pages still reach an `assert!` or an
//! overflowing shift inside them: a variable-length integer of more than ten bytes in a
//! delta-encoded or run-length-encoded page, for example. Checksums keep such bytes away from the
//! decoder in a file of format 1.3 unless the file was forged; files of format 1.2 have no
//! checksums. Either way a read must end in an error that names the file, never in a panic, so
//! every call into a decoder runs inside a guard (an `async` one for SQL queries), which
//! catches the panic and returns [`Error::CorruptData`] with the decoder's message.
//!
//! The panic is still reported by the process's panic hook (by default a "thread panicked" line
//! on stderr) before it is caught. [`quiet_contained_panics`] installs a hook that stays silent
//! for panics that will be contained, and reports every other panic as before; the `arrstore`
//! binary installs it at start.

use std::any::Any;
use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;
use std::task::Poll;

use crate::error::{Error, Result};

thread_local! {
    /// How many [`contain`] calls this thread is inside, or `usize::MAX` for a thread whose every
    /// panic is contained by the code that awaits it ([`contain_panics_of_this_thread`]).
    static DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f`, a call into a Parquet decoder, turning a panic in it into [`Error::CorruptData`].
pub(crate) fn contain<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
    DEPTH.with(|d| d.set(d.get().saturating_add(1)));
    let out = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    out.unwrap_or_else(|p| {
        Err(panicked(
            "the Parquet decoder failed on the file's data",
            p.as_ref(),
        ))
    })
}

/// Awaits `f`, a query whose scans decode Parquet, turning a panic in it into
/// [`Error::CorruptData`]: a panic while `f` is polled, and one on another thread of the runtime
/// (DataFusion hands a panicked task's panic on to the task that awaits it). The message says
/// the query failed, not the decoder: the panic may come from any part of the query.
pub(crate) async fn contain_async<R>(f: impl Future<Output = Result<R>>) -> Result<R> {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(move |cx| {
        DEPTH.with(|d| d.set(d.get().saturating_add(1)));
        let out = catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx)));
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        out.unwrap_or_else(|p| {
            Poll::Ready(Err(panicked(
                "the query failed on a panic (a malformed file, or a bug)",
                p.as_ref(),
            )))
        })
    })
    .await
}

/// The error for a panic with `payload`, its message after `what`.
fn panicked(what: &str, payload: &(dyn Any + Send)) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    Error::CorruptData(format!("{what}: {message}"))
}

/// Installs (once per process) a panic hook that is silent for panics arrstore contains and
/// hands every other panic to the hook that was installed before.
///
/// ```
/// arrstore::contain::quiet_contained_panics();
/// ```
pub fn quiet_contained_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) == 0 {
                previous(info);
            }
        }));
    });
}

/// Marks the calling thread as one whose panics are all contained by the code that awaits its
/// work, so the hook of [`quiet_contained_panics`] stays silent for them: for the worker threads
/// of a runtime that runs arrstore's queries (whose panics reach the query's caller as errors).
///
/// ```
/// let runtime = tokio::runtime::Builder::new_multi_thread()
///     .on_thread_start(arrstore::contain::contain_panics_of_this_thread)
///     .build()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn contain_panics_of_this_thread() {
    DEPTH.with(|d| d.set(usize::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_corrupt_data() {
        let e = contain::<()>(|| panic!("Num of bytes exceed MAX_VLQ_BYTE_LEN (10)")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt data: the Parquet decoder failed on the file's data: Num of bytes exceed MAX_VLQ_BYTE_LEN (10)"
        );
        let e = contain::<()>(|| panic!("{} bytes", 11)).unwrap_err();
        assert!(e.to_string().ends_with(": 11 bytes"), "{e}");
        assert_eq!(DEPTH.with(Cell::get), 0);
        assert_eq!(contain(|| Ok(7)).unwrap(), 7);
    }

    #[test]
    fn a_panic_in_a_future_becomes_corrupt_data() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let e = runtime.block_on(contain_async::<()>(async { panic!("shift overflow") }));
        assert_eq!(
            e.unwrap_err().to_string(),
            "corrupt data: the query failed on a panic (a malformed file, or a bug): shift overflow"
        );
        assert_eq!(DEPTH.with(Cell::get), 0);
    }
}
