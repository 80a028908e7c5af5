//! Stage 4 — the one place rendering uses more than one thread.
//!
//! A render is a list of independent jobs (templates to render). A job that produces a large
//! file hands each finished piece of it to [`Handoff::submit`], and a thread that has no job left
//! checks those pieces while the long job is still rendering. [`run`] returns the jobs' results
//! in job order and, of the errors the handed-off work found, the one with the smallest key, so
//! neither the output nor the error reported depends on scheduling.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};

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

/// Where handed-off work is ordered among the errors: the job, then the order it was submitted.
pub type Key = (usize, usize);

type Task<'s, E> = Box<dyn FnOnce() -> Result<(), E> + Send + 's>;

struct Queue<'s, E> {
    tasks: VecDeque<(Key, Task<'s, E>)>,
    /// Jobs not started yet are `next_job..`; `running` are under way.
    next_job: usize,
    running: usize,
    /// The first error (smallest key) handed-off work found.
    error: Option<(Key, E)>,
}

struct Shared<'s, E> {
    queue: Mutex<Queue<'s, E>>,
    wake: Condvar,
    /// More than one thread works: hand work off instead of doing it at once.
    parallel: bool,
}

impl<'s, E> Shared<'s, E> {
    fn lock(&self) -> MutexGuard<'_, Queue<'s, E>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn record(&self, key: Key, result: Result<(), E>) {
        if let Err(e) = result {
            let mut q = self.lock();
            if q.error.as_ref().is_none_or(|(k, _)| key < *k) {
                q.error = Some((key, e));
            }
        }
    }
}

/// Counts a job as under way until it is dropped, panicking or not: threads waiting for handed-off
/// work stop waiting when no job is left that could hand any.
struct Running<'a, 's, E>(&'a Shared<'s, E>);

impl<E> Drop for Running<'_, '_, E> {
    fn drop(&mut self) {
        let mut q = self.0.lock();
        q.running -= 1;
        if q.running == 0 {
            self.0.wake.notify_all();
        }
    }
}

/// What a job uses to hand work to other threads; see [`run`].
pub struct Handoff<'a, 's, E> {
    shared: &'a Shared<'s, E>,
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
        if self.shared.parallel {
            let mut q = self.shared.lock();
            if q.tasks.len() < MAX_WAITING {
                let text = text.to_owned();
                q.tasks.push_back((key, Box::new(move || work(&text))));
                drop(q);
                self.shared.wake.notify_one();
                return;
            }
        }
        self.shared.record(key, work(text));
    }
}

/// Runs `job` on every item, on up to [`threads`] threads (the caller's included). Returns the
/// results in item order, and the error with the smallest key that submitted work found. A panic
/// in a job or in submitted work is propagated to the caller.
pub fn run<'s, T: Sync, R: Send, E: Send + 's>(
    items: &'s [T],
    job: impl Fn(&'s T, &mut Handoff<'_, 's, E>) -> R + Sync,
) -> (Vec<R>, Option<E>) {
    let n = threads().min(items.len()).max(1);
    let shared = Shared {
        queue: Mutex::new(Queue {
            tasks: VecDeque::new(),
            next_job: 0,
            running: 0,
            error: None,
        }),
        wake: Condvar::new(),
        parallel: n > 1,
    };
    let slots: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        let mut q = shared.lock();
        loop {
            if q.next_job < items.len() {
                let i = q.next_job;
                q.next_job += 1;
                q.running += 1;
                drop(q);
                let mut handoff = Handoff {
                    shared: &shared,
                    job: i,
                    submitted: 0,
                };
                let running = Running(&shared);
                let result = job(&items[i], &mut handoff);
                *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                drop(running);
                q = shared.lock();
            } else if let Some((key, task)) = q.tasks.pop_front() {
                drop(q);
                shared.record(key, task());
                q = shared.lock();
            } else if q.running == 0 {
                return;
            } else {
                q = shared.wake.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..n {
            s.spawn(work);
        }
        work();
    });
    let results = slots
        .into_iter()
        .map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every job ran: a panicking job ends the scope before this")
        })
        .collect();
    let error = shared.lock().error.take().map(|(_, e)| e);
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
