//! The examples at the end of every `--help`. Each line that starts with `  tuskguard ` is a
//! command a test runs in a repository it builds (tests/integration/help.rs), and the README shows
//! every one of them, so help, README and behaviour cannot drift apart.

pub const TOP: &str = "\
Examples:
  tuskguard scan                                # this directory; exit 1 if it finds a key
  tuskguard install-hook                        # block keys at `git commit` in this clone
  tuskguard history                             # which keys leaked, where, since which commit
  tuskguard scan --format sarif -o tuskguard.sarif

Run `tuskguard help COMMAND` for the options and more examples of each command.";

pub const SCAN: &str = "\
Examples:
  tuskguard scan                                # this directory; exit 1 if it finds a key
  tuskguard scan src/ config.py                 # these directories and files
  tuskguard scan --staged                       # what the next commit would add (the hook runs this)
  tuskguard scan --staged a.py b/               # the staged content of these paths only
  tuskguard scan --format sarif -o tuskguard.sarif
  tuskguard scan --format json -o report.json   # a report for `verify` and `revoke` (it holds no key)
  tuskguard scan --baseline .tuskguard-baseline.json   # only findings the baseline does not hold
  tuskguard scan --verify                       # also ask the Tusky API which keys are live";

pub const HISTORY: &str = "\
Examples:
  tuskguard history                             # every ref of the repository containing .
  tuskguard history path/to/repo.git            # another repository; bare ones work too
  tuskguard history --since v1.2                # only commits after v1.2
  tuskguard history --since main..feature       # a range, e.g. a pull request
  tuskguard history --branch release --max-count 500
  tuskguard history --format json -o report.json
  tuskguard history --verify                    # also ask the Tusky API which keys are live";

pub const VERIFY: &str = "\
Examples:
  tuskguard scan --format json -o report.json   # save a report (it holds no key) ...
  tuskguard verify report.json                  # ... and check its keys later
  tuskguard verify report.json --access-map     # also show the scopes each live key holds
  tuskguard history --format json | tuskguard verify -";

pub const REVOKE: &str = "\
Examples:
  tuskguard revoke report.json                  # dry run: what would be revoked
  tuskguard revoke report.json --yes --audit-log revocations.jsonl
  tuskguard scan --verify --revoke --yes        # scan, verify and revoke in one step";

pub const BASELINE: &str = "\
Examples:
  tuskguard baseline                            # write .tuskguard-baseline.json here
  tuskguard scan --baseline .tuskguard-baseline.json   # later: report only new findings
  tuskguard baseline src -o baseline.json       # a subdirectory, to a file you name";

pub const RULES: &str = "\
Examples:
  tuskguard rules list
  tuskguard rules list --format json
  tuskguard rules check                         # prove every rule's examples
  tuskguard rules check --config .tuskguard.toml   # your custom rules too";

pub const INSTALL_HOOK: &str = "\
Examples:
  tuskguard install-hook                        # .git/hooks/pre-commit runs `tuskguard scan --staged`
  tuskguard install-hook --chain                # keep the existing hook: run it, then tuskguard
  tuskguard install-hook --uninstall            # remove it; a chained or replaced hook comes back";
