//! The worker stage: one thread pool for the whole run, fed through one bounded queue.
//!
//! A source enumerates what there is to read (a file path, a blob id with its path) and sends
//! each descriptor into a [`Feed`]; the run's workers take them in batches, run the job on them
//! (admit → read → scan, decided by the caller) and send what they found to the one collector,
//! which runs on the calling thread. The pack reader's rebuilding of delta families runs on the
//! same pool ([`Workers::pool`]), so a run never has more than `--threads` worker threads (plus
//! the enumerating threads: the tree walker's, or the history walk's one thread).
//!
//! This module knows nothing about scanning: it moves jobs and results, keeps what each thread
//! reuses between jobs ([`Worker`]), bounds what is queued, and turns a failed or panicking job
//! into an error for the run. What a job does (admit → read → scan) is in [`jobs`].

pub mod jobs;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, TryLockError};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use crossbeam_channel::{bounded, select, tick};
use git2::Repository;

/// Batches queued and not yet finished: bounds the memory a fast source can queue ahead of the
/// workers (a source that gets ahead waits).
const BATCHES_IN_FLIGHT: usize = 64;
/// Every worker can rebuild a deep delta chain recursively (see `sources::pack`).
const WORKER_STACK: usize = 64 << 20;
/// How often the collector asks for the progress line to be redrawn.
const TICK: Duration = Duration::from_millis(125);

/// What one worker thread keeps between jobs.
#[derive(Default)]
pub struct Worker {
    /// A read buffer, reused for every file.
    pub buffer: Vec<u8>,
    /// This thread's own repository handle: git2 handles are not `Sync`.
    repository: Option<(PathBuf, Repository)>,
}

impl Worker {
    /// This thread's handle on the repository at `git_dir`, opened on first use.
    pub fn repository(&mut self, git_dir: &Path) -> Result<&Repository> {
        if self
            .repository
            .as_ref()
            .is_none_or(|(dir, _)| dir != git_dir)
        {
            let repo = Repository::open(git_dir)
                .with_context(|| format!("cannot open repository {}", git_dir.display()))?;
            self.repository = Some((git_dir.to_path_buf(), repo));
        }
        match &self.repository {
            Some((_, repo)) => Ok(repo),
            None => Err(anyhow!("cannot open repository {}", git_dir.display())),
        }
    }
}

/// The run's worker threads: built on first use (a staged scan of three files never starts
/// them), `threads` of them, each with its own [`Worker`].
pub struct Workers {
    threads: usize,
    pool: OnceLock<std::result::Result<rayon::ThreadPool, String>>,
    slots: Vec<Mutex<Worker>>,
}

impl Workers {
    pub fn new(threads: usize) -> Workers {
        let threads = threads.max(1);
        Workers {
            threads,
            pool: OnceLock::new(),
            slots: (0..threads).map(|_| Mutex::default()).collect(),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The run's pool, for work that splits itself (the pack reader's delta families).
    pub fn pool(&self) -> Result<&rayon::ThreadPool> {
        let built = self.pool.get_or_init(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(self.threads)
                .stack_size(WORKER_STACK)
                .thread_name(|index| format!("tuskguard-worker-{index}"))
                .build()
                .map_err(|err| err.to_string())
        });
        built
            .as_ref()
            .map_err(|err| anyhow!("cannot start {} worker threads: {err}", self.threads))
    }

    /// The slot of the pool thread running this code (jobs only run on pool threads).
    fn slot(&self) -> &Mutex<Worker> {
        let index = rayon::current_thread_index().unwrap_or(0);
        &self.slots[index % self.slots.len()]
    }

    /// Runs `produce` (on this thread) with a [`Feed`]; every job it sends runs `work` on a
    /// worker, in batches of `batch` jobs; each result goes to `collect` as it comes, on one
    /// collecting thread (which also calls `tick_every` every 125 ms, for a progress line).
    /// Returns what `produce` returned, once every job is done; or the first error a job
    /// returned (the feed then refuses further jobs, so the source stops early), or that a job
    /// or `collect` panicked.
    pub fn run<J, R, P>(
        &self,
        batch: usize,
        produce: impl FnOnce(&Feed<'_, J>) -> P,
        work: impl Fn(&mut Worker, J) -> Result<Option<R>> + Sync,
        mut collect: impl FnMut(R) + Send,
        tick_every: &(dyn Fn() + Sync),
    ) -> Result<P>
    where
        J: Send,
        R: Send,
    {
        let pool = self.pool()?;
        let (results, found) = bounded::<R>(256);
        let (permits, released) = bounded::<()>(BATCHES_IN_FLIGHT);
        let failed = AtomicBool::new(false);
        let failure: Mutex<Option<anyhow::Error>> = Mutex::new(None);
        let fail = |err: anyhow::Error| {
            failed.store(true, Ordering::Relaxed);
            if let Ok(mut first) = failure.lock() {
                first.get_or_insert(err);
            }
        };
        let (work, fail, failed, released) = (&work, &fail, &failed, &released);
        let (produced, collected) = pool.in_place_scope(|scope| {
            let submit = move |jobs: Vec<J>| -> bool {
                if failed.load(Ordering::Relaxed) || permits.send(()).is_err() {
                    return false;
                }
                let results = results.clone();
                scope.spawn(move |_| {
                    let ran = catch_unwind(AssertUnwindSafe(|| {
                        // A thread's slot is busy only if a job waited on the pool and this
                        // thread took another job meanwhile: that one gets a fresh worker rather
                        // than a deadlock.
                        let slot = self.slot();
                        let mut spare = None;
                        let mut held = match slot.try_lock() {
                            Ok(held) => Some(held),
                            Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
                            Err(TryLockError::WouldBlock) => None,
                        };
                        let worker: &mut Worker = match held.as_deref_mut() {
                            Some(worker) => worker,
                            None => spare.insert(Worker::default()),
                        };
                        for job in jobs {
                            if failed.load(Ordering::Relaxed) {
                                break;
                            }
                            match work(worker, job) {
                                Ok(Some(result)) => {
                                    let _ = results.send(result);
                                }
                                Ok(None) => {}
                                Err(err) => fail(err),
                            }
                        }
                    }));
                    if ran.is_err() {
                        fail(anyhow!("a worker thread panicked; the scan is incomplete"));
                    }
                    let _ = released.try_recv();
                });
                true
            };
            let feed = Feed {
                submit: Box::new(submit),
                batch: batch.max(1),
            };
            std::thread::scope(|threads| {
                let collector = threads.spawn(move || {
                    let ticks = tick(TICK);
                    loop {
                        select! {
                            recv(found) -> result => match result {
                                Ok(result) => collect(result),
                                Err(_) => break,
                            },
                            recv(ticks) -> _ => tick_every(),
                        }
                    }
                });
                let produced = produce(&feed);
                // With the feed gone and every job done, the result channel closes and the
                // collector ends.
                drop(feed);
                (produced, collector.join())
            })
        });
        if collected.is_err() {
            fail(anyhow!("the collector panicked; the scan is incomplete"));
        }
        if let Some(err) = failure.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(err);
        }
        Ok(produced)
    }
}

/// Where a source sends what there is to read. Each enumerating thread takes its own
/// [`FeedSender`], which batches.
pub struct Feed<'a, J> {
    submit: Box<dyn Fn(Vec<J>) -> bool + Send + Sync + 'a>,
    batch: usize,
}

impl<J> Feed<'_, J> {
    pub fn sender(&self) -> FeedSender<'_, J> {
        FeedSender {
            submit: &*self.submit,
            batch: Vec::with_capacity(self.batch),
            size: self.batch,
        }
    }
}

/// One thread's way into the feed: jobs go to the workers a batch at a time, and what is left
/// when it is dropped goes then.
pub struct FeedSender<'f, J> {
    submit: &'f (dyn Fn(Vec<J>) -> bool + Send + Sync),
    batch: Vec<J>,
    size: usize,
}

impl<J> FeedSender<'_, J> {
    /// Queues `job`; false once the run has failed (the source should stop).
    pub fn send(&mut self, job: J) -> bool {
        self.batch.push(job);
        if self.batch.len() < self.size {
            return true;
        }
        let full = std::mem::replace(&mut self.batch, Vec::with_capacity(self.size));
        (self.submit)(full)
    }
}

impl<J> Drop for FeedSender<'_, J> {
    fn drop(&mut self) {
        if !self.batch.is_empty() {
            (self.submit)(std::mem::take(&mut self.batch));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use assert_fs::TempDir;

    use super::*;

    /// Every job runs once, whatever the batching and however many threads send; results reach
    /// the collector on the calling thread.
    #[test]
    fn every_job_runs_once_whatever_the_batching() {
        let workers = Workers::new(3);
        for batch in [1, 7, 64] {
            let mut found = Vec::new();
            let produced = workers
                .run(
                    batch,
                    |feed| {
                        std::thread::scope(|threads| {
                            for part in 0..4 {
                                threads.spawn(move || {
                                    let mut sender = feed.sender();
                                    for job in (part * 100)..(part * 100 + 100) {
                                        assert!(sender.send(job));
                                    }
                                });
                            }
                        });
                        "produced"
                    },
                    |_, job: usize| Ok(job.is_multiple_of(3).then_some(job)),
                    |job| found.push(job),
                    &|| {},
                )
                .unwrap();
            assert_eq!(produced, "produced");
            found.sort();
            let expected: Vec<usize> = (0..400usize).filter(|job| job.is_multiple_of(3)).collect();
            assert_eq!(found, expected, "batch {batch}");
        }
    }

    /// Jobs run on the pool's threads, never more of them at once than `threads`, and each
    /// thread keeps its own worker state between jobs.
    #[test]
    fn jobs_run_on_the_pool_and_reuse_their_worker() {
        let workers = Workers::new(2);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut buffers = Vec::new();
        workers
            .run(
                1,
                |feed| {
                    let mut sender = feed.sender();
                    for job in 0..200 {
                        sender.send(job);
                    }
                },
                |worker, _job: i32| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    assert!(rayon::current_thread_index().is_some(), "not on the pool");
                    worker.buffer.push(1);
                    let seen = worker.buffer.len();
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok(Some(seen))
                },
                |seen| buffers.push(seen),
                &|| {},
            )
            .unwrap();
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(buffers.len(), 200);
        // 200 jobs on at most two workers: some worker saw at least 100 of them.
        assert!(buffers.iter().max().unwrap() >= &100, "{buffers:?}");
    }

    /// A job that fails stops the run with its error; the feed then refuses jobs, so the source
    /// can stop early. A job that panics is an error too, not a crash.
    #[test]
    fn a_failing_or_panicking_job_is_the_run_s_error() {
        let workers = Workers::new(2);
        let refused = AtomicBool::new(false);
        let result = workers.run(
            1,
            |feed| {
                let mut sender = feed.sender();
                for job in 0..10_000 {
                    if !sender.send(job) {
                        refused.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            },
            |_, job: i32| {
                if job == 5 {
                    return Err(anyhow!("job 5 failed"));
                }
                Ok(None::<()>)
            },
            |()| {},
            &|| {},
        );
        assert_eq!(result.unwrap_err().to_string(), "job 5 failed");
        assert!(refused.load(Ordering::SeqCst), "the feed kept taking jobs");

        let result = workers.run(
            4,
            |feed| {
                let mut sender = feed.sender();
                for job in 0..8 {
                    sender.send(job);
                }
            },
            |_, job: i32| {
                assert_ne!(job, 3, "a bug in a job");
                Ok(Some(job))
            },
            |_| {},
            &|| {},
        );
        let err = result.unwrap_err().to_string();
        assert!(err.contains("panicked"), "{err}");
    }

    #[test]
    fn a_repository_that_cannot_be_opened_is_an_error() {
        let dir = TempDir::new().unwrap();
        let mut worker = Worker::default();
        let err = match worker.repository(&dir.path().join("missing")) {
            Ok(_) => panic!("a missing repository opened"),
            Err(err) => err.to_string(),
        };
        assert!(err.contains("cannot open repository"), "{err}");
        let repo = Repository::init(dir.path()).unwrap();
        let opened = worker.repository(repo.path()).unwrap();
        assert_eq!(opened.path(), repo.path());
    }
}
