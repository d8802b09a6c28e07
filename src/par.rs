//! Scoped-thread helpers shared by the writer, the encoding choice and the reader.

use std::thread::ScopedJoinHandle;

/// The result of a scoped thread; a panic in it is passed on to the caller's thread.
pub(crate) fn join<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}
