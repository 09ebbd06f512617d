//! Where bytes come from: the working tree, the index (staged), git history, and (to get the keys
//! of a saved report back) the locations a report names.

pub mod admit;
pub mod anchor;
pub mod budget;
pub(crate) mod git;
pub mod history;
pub(crate) mod index_file;
mod object_id;
pub(crate) mod pack;
pub mod progress;
pub mod recover;
pub mod staged;
pub mod tree;

pub use crate::model::ScanStats;
