//! The worker stage for git blobs read through libgit2, shared by the staged scan and the history
//! audit: a producer sends jobs, in batches, over one bounded channel; each worker opens its own
//! repository (git2 handles are not `Sync`) and runs `work` on every job it receives; the results
//! go back to the caller, the one collector.
//!
//! These threads are not the pack reader's rayon pool on purpose: running both on one pool (each
//! pool thread keeping its own repository handle) was built and measured, and a full audit of
//! `bench/history.sh`'s repository took 2–4% longer (interleaved A/B runs), up to 13% beside a
//! walk that reads its trees through libgit2.

use std::path::Path;

use anyhow::{Context, Result};
use crossbeam_channel::bounded;
use git2::{Odb, Repository};

/// Jobs per channel message: one hand-off per blob costs more than reading a small blob.
const JOB_BATCH: usize = 64;
/// Batches in flight: bounds the memory a fast producer can queue ahead of the workers.
const BATCHES_IN_FLIGHT: usize = 64;

/// Runs `produce` with a sender; `threads` workers run `work` on each job sent. The sender
/// returns `false` once every worker has stopped (the producer should stop too). `label` names
/// the workers in errors.
pub fn run_git_workers<J: Send, R: Send>(
    git_dir: &Path,
    threads: usize,
    label: &str,
    produce: impl FnOnce(&mut dyn FnMut(J) -> bool),
    work: impl Fn(&Odb<'_>, J) -> Option<R> + Sync,
) -> Result<Vec<R>> {
    let (sender, receiver) = bounded::<Vec<J>>(BATCHES_IN_FLIGHT);
    let work = &work;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                let receiver = receiver.clone();
                scope.spawn(move || -> Result<Vec<R>> {
                    let repo = Repository::open(git_dir)
                        .with_context(|| format!("cannot open repository {}", git_dir.display()))?;
                    let odb = repo.odb()?;
                    Ok(receiver
                        .iter()
                        .flatten()
                        .filter_map(|job| work(&odb, job))
                        .collect())
                })
            })
            .collect();
        drop(receiver);
        let stopped = || anyhow::anyhow!("every {label} worker stopped");
        let mut send_error = None;
        let mut batch: Vec<J> = Vec::with_capacity(JOB_BATCH);
        let mut send = |job: J| {
            batch.push(job);
            if batch.len() >= JOB_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(JOB_BATCH));
                if sender.send(full).is_err() {
                    send_error = Some(stopped());
                    return false;
                }
            }
            true
        };
        produce(&mut send);
        if !batch.is_empty() && send_error.is_none() && sender.send(batch).is_err() {
            send_error = Some(stopped());
        }
        drop(sender);
        let mut results = Vec::new();
        let mut worker_error = None;
        for worker in workers {
            match worker.join() {
                Ok(Ok(mut found)) => results.append(&mut found),
                Ok(Err(err)) => worker_error = Some(err),
                Err(_) => worker_error = Some(anyhow::anyhow!("a {label} worker panicked")),
            }
        }
        match worker_error.or(send_error) {
            Some(err) => Err(err),
            None => Ok(results),
        }
    })
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
        let mut found = run_git_workers(
            repo.path(),
            4,
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

    #[test]
    fn a_repository_that_cannot_be_opened_is_an_error() {
        let dir = TempDir::new().unwrap();
        let result = run_git_workers(
            &dir.path().join("missing"),
            2,
            "test",
            |send| while send(()) {},
            |_, ()| Some(()),
        );
        let err = result.unwrap_err().to_string();
        assert!(err.contains("cannot open repository"), "{err}");
    }
}
