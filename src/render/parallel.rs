//! Stage 4 — the one place rendering uses more than one thread: rayon's work-stealing pool.
//!
//! A render is a list of independent jobs (templates to render), run as a parallel iterator. A
//! job that produces a large file hands each finished piece of it to [`Handoff::submit`], which
//! spawns its check as a task of the same scope: a thread that has no job left steals those
//! pieces while the long job is still rendering. [`run`] returns the jobs' results in job order
//! and, of the errors the handed-off work found, the one with the smallest key, so neither the
//! output nor the error reported depends on scheduling.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;

/// At most this many threads: a render is a few large jobs and many small ones, and more threads
/// than that only add start-up cost.
const MAX_THREADS: usize = 4;

/// Handed-off work waiting for a thread, at most: past this, a job does its own (which bounds the
/// memory the copies take when the other threads are busy).
const MAX_WAITING: usize = 8;

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

/// The pool renders run on, of [`threads`] threads, built on first use and kept for the process
/// (`render --all` renders many targets). `None` when one thread is asked for, or when the pool
/// cannot be built: the caller's thread then does everything.
fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| match threads() {
        1 => None,
        n => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("fredgen-render-{i}"))
            .build()
            .ok(),
    })
    .as_ref()
}

/// Where handed-off work is ordered among the errors: the job, then the order it was submitted.
pub type Key = (usize, usize);

/// What the handed-off work shares: the first error (smallest key) it found, and how much of it
/// waits for a thread.
struct Found<E> {
    error: Mutex<Option<(Key, E)>>,
    waiting: AtomicUsize,
}

impl<E> Found<E> {
    fn record(&self, key: Key, result: Result<(), E>) {
        if let Err(e) = result {
            let mut first = self.error.lock().unwrap_or_else(|e| e.into_inner());
            if first.as_ref().is_none_or(|(k, _)| key < *k) {
                *first = Some((key, e));
            }
        }
    }
}

/// What a job uses to hand work to other threads; see [`run`].
pub struct Handoff<'a, 's, E> {
    /// The scope to spawn in; `None` on one thread.
    scope: Option<&'a rayon::Scope<'s>>,
    found: &'a Arc<Found<E>>,
    job: usize,
    submitted: usize,
}

impl<'s, E: Send + 's> Handoff<'_, 's, E> {
    /// Runs `work` on `text`: on a free thread (with its own copy of `text`) when one may take
    /// it, else here and now. Its error is kept with the key (this job, submission order).
    pub fn submit<F>(&mut self, text: &str, work: F)
    where
        F: FnOnce(&str) -> Result<(), E> + Send + 's,
    {
        let key = (self.job, self.submitted);
        self.submitted += 1;
        if let Some(scope) = self.scope
            && self.found.waiting.fetch_add(1, Ordering::Relaxed) < MAX_WAITING
        {
            let found = Arc::clone(self.found);
            let text = text.to_owned();
            scope.spawn(move |_| {
                found.waiting.fetch_sub(1, Ordering::Relaxed);
                found.record(key, work(&text));
            });
            return;
        }
        if self.scope.is_some() {
            self.found.waiting.fetch_sub(1, Ordering::Relaxed);
        }
        self.found.record(key, work(text));
    }
}

/// Runs `job` on every item, on up to [`threads`] threads. Returns the results in item order,
/// and the error with the smallest key that submitted work found. A panic in a job or in
/// submitted work is propagated to the caller.
pub fn run<'s, T: Sync, R: Send, E: Send + 's>(
    items: &'s [T],
    job: impl Fn(&'s T, &mut Handoff<'_, 's, E>) -> R + Sync,
) -> (Vec<R>, Option<E>) {
    let found = Arc::new(Found {
        error: Mutex::new(None),
        waiting: AtomicUsize::new(0),
    });
    let handoff = |i: usize, scope: Option<&rayon::Scope<'s>>| -> R {
        let mut handoff = Handoff {
            scope,
            found: &found,
            job: i,
            submitted: 0,
        };
        job(&items[i], &mut handoff)
    };
    let results = match pool() {
        Some(pool) if items.len() > 1 => pool.install(|| {
            rayon::scope(|s| {
                (0..items.len())
                    .into_par_iter()
                    .map(|i| handoff(i, Some(s)))
                    .collect()
            })
        }),
        _ => (0..items.len()).map(|i| handoff(i, None)).collect(),
    };
    let error = found
        .error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
        .map(|(_, e)| e);
    (results, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Work that takes long for some items, so threads finish out of order.
    fn uneven(i: u64) -> u64 {
        let spin = if i.is_multiple_of(7) { 20_000 } else { 10 };
        std::hint::black_box((0..spin).fold(0u64, |a, k| a.wrapping_add(k)));
        i
    }

    #[test]
    fn results_come_back_in_item_order_whatever_the_threads() {
        let items: Vec<u64> = (0..500).collect();
        let (results, error) = run::<_, _, ()>(&items, |&i, _| uneven(i));
        assert_eq!((results, error), (items, None));
        assert!(run::<u8, u8, ()>(&[], |&b, _| b).0.is_empty());
    }

    #[test]
    fn submitted_work_all_runs_and_the_error_with_the_smallest_key_wins() {
        let items: Vec<u64> = (0..60).collect();
        let ran = AtomicUsize::new(0);
        let ran = &ran;
        let (results, error) = run(&items, |&i, handoff| {
            for piece in 0..5u64 {
                handoff.submit(&format!("{i}/{piece}"), move |text: &str| {
                    uneven(i * 5 + piece);
                    ran.fetch_add(1, Ordering::Relaxed);
                    // Items 17 and 41 fail at their third and first piece.
                    match (i, piece) {
                        (17, 2) | (41, 0) => Err(text.to_string()),
                        _ => Ok(()),
                    }
                });
            }
            i * 2
        });
        assert_eq!(ran.load(Ordering::Relaxed), 300);
        assert_eq!(results, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(error.as_deref(), Some("17/2"));
    }
}
