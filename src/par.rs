//! Parallelism: the one place that decides how many threads work at once ([`threads`]), and
//! the scoped-thread helpers the writer, the encoding choice and the readers share.

use std::thread::ScopedJoinHandle;

/// How many threads a parallel step uses at most: one per core the process may use.
pub(crate) fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `(a(), b())`, `a` on a scoped thread of its own while `b` runs on the caller's; a panic in
/// either is passed on to the caller.
pub(crate) fn both<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|s| {
        let a = s.spawn(a);
        let b = b();
        (join(a), b)
    })
}

/// The result of a scoped thread; a panic in it is passed on to the caller's thread.
pub(crate) fn join<T>(handle: ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// `f(0..n)` on one worker per core (at most `n`), in order of index; the first error wins.
pub(crate) fn map_indices<T: Send>(
    n: usize,
    f: impl Fn(usize) -> crate::Result<T> + Sync,
) -> crate::Result<Vec<T>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let workers = threads().min(n);
    if workers <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Vec<Vec<(usize, crate::Result<T>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return mine;
                        }
                        let r = f(i);
                        let failed = r.is_err();
                        mine.push((i, r));
                        if failed {
                            // No new work: the others stop at their next index.
                            next.store(n, Ordering::Relaxed);
                            return mine;
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(join).collect()
    });
    let mut slots: Vec<Option<crate::Result<T>>> = (0..n).map(|_| None).collect();
    for (i, r) in done.into_iter().flatten() {
        slots[i] = Some(r);
    }
    // An error stops the workers early, so slots after it may be empty: the first error wins.
    let mut out = Vec::with_capacity(n);
    for r in slots.into_iter().flatten() {
        out.push(r?);
    }
    assert_eq!(
        out.len(),
        n,
        "map_indices: every index is computed unless one failed"
    );
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn results_come_back_in_index_order_and_the_first_error_wins() {
        let squares = map_indices(100, |i| Ok(i * i)).unwrap();
        assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
        assert!(map_indices(0, Ok).unwrap().is_empty());
        let e = map_indices(50, |i| {
            if i >= 7 {
                Err(Error::UnsupportedNpy(format!("index {i}")))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        // Index 7 fails first in index order, whichever worker reached it.
        assert!(e.to_string().contains("index 7"), "{e}");
    }
}
