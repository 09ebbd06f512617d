//! `tuskguard scan` on directories.

use assert_fs::TempDir;
use assert_fs::prelude::*;

use crate::helpers::*;

#[test]
fn clean_directory_exits_zero() {
    let dir = TempDir::new().unwrap();
    dir.child("README.md").write_str("nothing here\n").unwrap();
    tuskguard().arg("scan").arg(dir.path()).assert().code(0);
}
