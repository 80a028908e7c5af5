//! Stage 4 — the one place rendering uses more than one thread.
//!
//! A render is a list of independent jobs (templates to render, then pieces of files to parse
//! back). [`map`] runs them on scoped threads that take the next job as they finish one, and
//! returns the results in job order, so neither the output nor which error is reported first
//! depends on scheduling.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// At most this many threads: a render is a few large jobs and many small ones, and more threads
/// than that only add start-up cost.
const MAX_THREADS: usize = 4;

/// How many threads a render uses: the cores this process may run on, at most [`MAX_THREADS`].
/// `FREDGEN_THREADS` overrides it (1 renders on the calling thread alone).
pub fn threads() -> usize {
    std::env::var("FREDGEN_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_THREADS)
        })
}

/// Applies `f` to every item, on up to [`threads`] threads (the caller's included), and returns
/// the results in item order. A panic in `f` is propagated to the caller.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if n <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            let result = f(item);
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..n {
            s.spawn(work);
        }
        work();
    });
    slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every job ran: a panicking job ends the scope before this")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_item_order_whatever_the_threads() {
        let items: Vec<u64> = (0..500).collect();
        // Uneven work, so threads finish out of order.
        let out = map(&items, |&i| {
            let spin = if i % 7 == 0 { 20_000 } else { 10 };
            (0..spin).fold(i, |acc, k| acc.wrapping_add(k % 3))
                - (0..spin).map(|k| k % 3).sum::<u64>()
        });
        assert_eq!(out, items);
        assert!(map(&[] as &[u8], |&b| b).is_empty());
    }
}
