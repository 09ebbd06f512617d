//! The worker stage of a git run: one thread pool for the whole run (`Workers`), which the pack
//! reader rebuilds objects on and which reads and scans blobs through libgit2, for the staged
//! scan and the history audit.
//!
//! git2 handles are not `Sync`: each pool thread opens the repository once, on its first git job
//! of the run, and keeps it for the rest. A producer (the history walk, the staged entries)
//! sends jobs in batches; a batch is a task on the pool, and at most `BATCHES_IN_FLIGHT` of them
//! wait or run at once, so a fast producer waits for the workers instead of queueing without
//! bound. The results go back to the caller, the one collector.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use crossbeam_channel::bounded;
use git2::{Odb, Repository};

/// Jobs per batch: one task per blob costs more than reading a small blob.
const JOB_BATCH: usize = 64;
/// Batches queued or running: bounds the memory a fast producer can queue ahead of the workers.
const BATCHES_IN_FLIGHT: usize = 64;

/// Stack for pool threads: the pack reader resolves a delta chain by recursion, one frame per
/// link (see `pack::MAX_DELTA_DEPTH`).
const WORKER_STACK: usize = 64 << 20;

thread_local! {
    /// This pool thread's repository, opened on its first git job (by git directory).
    static REPOSITORY: RefCell<Option<(PathBuf, Repository)>> = const { RefCell::new(None) };
}

/// The one thread pool of a run.
pub struct Workers {
    pool: rayon::ThreadPool,
}

impl Workers {
    /// A pool of `threads` threads (at least one).
    pub fn new(threads: usize) -> Result<Self> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .stack_size(WORKER_STACK)
            .build()
            .with_context(|| format!("cannot start {threads} worker threads"))?;
        Ok(Workers { pool })
    }

    pub fn pool(&self) -> &rayon::ThreadPool {
        &self.pool
    }

    /// Runs `produce` (on the calling thread) with a sender; the pool runs `work` on each job
    /// sent, with that thread's handle on the repository at `git_dir`. The sender returns
    /// `false` once a worker failed (the producer should stop too). `label` names the workers
    /// in errors.
    pub fn run_git_jobs<J: Send, R: Send>(
        &self,
        git_dir: &Path,
        label: &str,
        produce: impl FnOnce(&mut dyn FnMut(J) -> bool),
        work: impl Fn(&Odb<'_>, J) -> Option<R> + Sync,
    ) -> Result<Vec<R>> {
        let results = Mutex::new(Vec::new());
        let failure = Mutex::new(None);
        let failed = AtomicBool::new(false);
        // One token per batch in flight: the producer waits here while the pool is behind.
        let (tokens, returned) = bounded::<()>(BATCHES_IN_FLIGHT);
        let run_batch = |batch: Vec<J>| {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                with_odb(git_dir, |odb| {
                    batch
                        .into_iter()
                        .filter_map(|job| work(odb, job))
                        .collect::<Vec<R>>()
                })
            }))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("a {label} worker panicked")));
            match outcome {
                Ok(mut found) => lock(&results).append(&mut found),
                Err(err) => {
                    failed.store(true, Ordering::Relaxed);
                    lock(&failure).get_or_insert(err);
                }
            }
            // Cannot block: this batch's own token is in the channel.
            let _ = returned.recv();
        };
        self.pool.in_place_scope(|scope| {
            let dispatch = |batch: Vec<J>| {
                if failed.load(Ordering::Relaxed) || tokens.send(()).is_err() {
                    return false;
                }
                let run_batch = &run_batch;
                scope.spawn(move |_| run_batch(batch));
                true
            };
            let mut batch: Vec<J> = Vec::with_capacity(JOB_BATCH);
            let mut send = |job: J| {
                batch.push(job);
                if batch.len() < JOB_BATCH {
                    return true;
                }
                dispatch(std::mem::replace(&mut batch, Vec::with_capacity(JOB_BATCH)))
            };
            produce(&mut send);
            if !batch.is_empty() {
                dispatch(batch);
            }
        });
        match lock(&failure).take() {
            Some(err) => Err(err),
            None => Ok(std::mem::take(&mut *lock(&results))),
        }
    }
}

/// Runs `work` with this thread's object database for `git_dir`, opening the repository the
/// first time.
fn with_odb<T>(git_dir: &Path, work: impl FnOnce(&Odb<'_>) -> T) -> Result<T> {
    REPOSITORY.with(|slot| {
        let mut slot = slot.borrow_mut();
        let opened = match slot.take() {
            Some((dir, repo)) if dir == git_dir => repo,
            _ => Repository::open(git_dir)
                .with_context(|| format!("cannot open repository {}", git_dir.display()))?,
        };
        let odb = opened.odb();
        let result = odb.map(|odb| work(&odb));
        *slot = Some((git_dir.to_path_buf(), opened));
        Ok(result?)
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use assert_fs::TempDir;

    use super::*;

    #[test]
    fn every_job_is_worked_once_whatever_the_batching() {
        let dir = TempDir::new().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"content").unwrap();
        // More jobs than one batch, on more workers than jobs in the last batch.
        let jobs = 3 * JOB_BATCH + 5;
        let workers = Workers::new(4).unwrap();
        let mut found = workers
            .run_git_jobs(
                repo.path(),
                "test",
                |send| {
                    for job in 0..jobs {
                        assert!(send(job));
                    }
                },
                |odb, job| (job % 2 == 0).then(|| (job, odb.read(blob).unwrap().len())),
            )
            .unwrap();
        found.sort();
        let expected: Vec<_> = (0..jobs).filter(|j| j % 2 == 0).map(|j| (j, 7)).collect();
        assert_eq!(found, expected);
    }

    /// Jobs run on the run's pool, and a producer faster than the pool waits for it: at most
    /// `BATCHES_IN_FLIGHT` batches (plus the one being filled) are ever sent and not yet worked.
    #[test]
    fn jobs_run_on_the_pool_and_a_fast_producer_waits_for_it() {
        use std::sync::atomic::AtomicUsize;
        let dir = TempDir::new().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let workers = Workers::new(2).unwrap();
        let done = AtomicUsize::new(0);
        let most_ahead = AtomicUsize::new(0);
        let jobs = 200 * JOB_BATCH;
        let found = workers
            .run_git_jobs(
                repo.path(),
                "test",
                |send| {
                    for job in 0..jobs {
                        let ahead = job - done.load(Ordering::SeqCst);
                        most_ahead.fetch_max(ahead, Ordering::SeqCst);
                        assert!(send(job));
                    }
                },
                |_, _job| {
                    let on_the_pool = workers.pool().current_thread_index().is_some();
                    done.fetch_add(1, Ordering::SeqCst);
                    Some(on_the_pool)
                },
            )
            .unwrap();
        assert_eq!(found.len(), jobs);
        assert!(found.iter().all(|on_the_pool| *on_the_pool));
        let bound = (BATCHES_IN_FLIGHT + 1) * JOB_BATCH;
        assert!(most_ahead.into_inner() <= bound);
    }

    #[test]
    fn a_repository_that_cannot_be_opened_is_an_error() {
        let dir = TempDir::new().unwrap();
        let workers = Workers::new(2).unwrap();
        let result = workers.run_git_jobs(
            &dir.path().join("missing"),
            "test",
            |send| while send(()) {},
            |_, ()| Some(()),
        );
        let err = result.unwrap_err().to_string();
        assert!(err.contains("cannot open repository"), "{err}");
    }
}
