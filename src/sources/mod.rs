//! Where bytes come from: the working tree, the index (staged), and git history.

mod git;
pub mod history;
mod index_file;
mod object_id;
mod pack;
pub mod progress;
pub mod staged;
pub mod tree;

pub use crate::model::ScanStats;
