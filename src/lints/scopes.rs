//! The Tusky scope vocabulary and what counts as broad, from `rules/scopes.toml`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopePolicy {
    /// action → actions it implies on the same resource.
    implies: BTreeMap<String, Vec<String>>,
    #[serde(rename = "resource")]
    resources: Vec<Resource>,
    suggest: SuggestPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Resource {
    name: String,
    generations: Vec<u8>,
    actions: Vec<String>,
    #[serde(default)]
    renamed_to: Option<String>,
    #[serde(default)]
    sensitive_write: bool,
    #[serde(default)]
    optional: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestPolicy {
    hint_window_lines: usize,
    least_privilege: String,
    hint: Vec<Hint>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Hint {
    words: Vec<String>,
    scopes: Vec<String>,
}

/// What a requested scope set grants, judged against the policy.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Names neither generation defines, as written.
    pub unknown: Vec<String>,
    /// Every scope of every (non-optional) resource, after write→read implication.
    pub every_scope: bool,
    /// Every write scope of every (non-optional) resource.
    pub every_write: bool,
    /// Write scopes on sensitive resources, as written.
    pub sensitive_writes: Vec<String>,
}

impl ScopePolicy {
    /// The built-in policy, parsed once.
    pub fn builtin() -> &'static ScopePolicy {
        static POLICY: OnceLock<ScopePolicy> = OnceLock::new();
        POLICY.get_or_init(|| {
            toml::from_str(include_str!("../../rules/scopes.toml"))
                .expect("rules/scopes.toml is valid (checked by a unit test)")
        })
    }

    fn resource(&self, name: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// The resource a name stands for today (`environments` → `volumes`).
    fn canonical<'a>(&'a self, name: &'a str) -> &'a str {
        self.resource(name)
            .and_then(|r| r.renamed_to.as_deref())
            .unwrap_or(name)
    }

    pub fn is_known(&self, scope: &str) -> bool {
        scope.split_once(':').is_some_and(|(resource, action)| {
            self.resource(resource)
                .is_some_and(|r| r.actions.iter().any(|a| a == action))
        })
    }

    /// Every scope either generation defines, e.g. for "did you mean".
    pub fn known_scopes(&self) -> Vec<String> {
        self.resources
            .iter()
            .flat_map(|r| r.actions.iter().map(move |a| format!("{}:{a}", r.name)))
            .collect()
    }

    /// Generations a scope belongs to (empty when unknown).
    pub fn generations_of(&self, scope: &str) -> &[u8] {
        scope
            .split_once(':')
            .and_then(|(resource, _)| self.resource(resource))
            .map_or(&[], |r| r.generations.as_slice())
    }

    pub fn assess(&self, requested: &[String]) -> Assessment {
        let mut assessment = Assessment::default();
        let mut granted: BTreeSet<(String, String)> = BTreeSet::new();
        for scope in requested {
            if !self.is_known(scope) {
                if !assessment.unknown.contains(scope) {
                    assessment.unknown.push(scope.clone());
                }
                continue;
            }
            let Some((resource, action)) = scope.split_once(':') else {
                continue;
            };
            let canonical = self.canonical(resource).to_owned();
            if action == "write"
                && self.resource(&canonical).is_some_and(|r| r.sensitive_write)
                && !assessment.sensitive_writes.contains(scope)
            {
                assessment.sensitive_writes.push(scope.clone());
            }
            for implied in self.implies.get(action).into_iter().flatten() {
                granted.insert((canonical.clone(), implied.clone()));
            }
            granted.insert((canonical, action.to_owned()));
        }
        let required: Vec<&Resource> = self
            .resources
            .iter()
            .filter(|r| r.renamed_to.is_none() && !r.optional)
            .collect();
        let holds = |r: &Resource, a: &str| granted.contains(&(r.name.clone(), a.to_owned()));
        assessment.every_scope = required
            .iter()
            .all(|r| r.actions.iter().all(|a| holds(r, a)));
        assessment.every_write = required
            .iter()
            .filter(|r| r.actions.iter().any(|a| a == "write"))
            .all(|r| holds(r, "write"));
        assessment
    }

    /// The closest known scope to a misspelt one, when it is close enough to be a typo.
    pub fn did_you_mean(&self, unknown: &str) -> Option<String> {
        self.known_scopes()
            .into_iter()
            .map(|known| (edit_distance(unknown, &known), known))
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, known)| known)
    }

    pub fn hint_window_lines(&self) -> usize {
        self.suggest.hint_window_lines
    }

    pub fn least_privilege_advice(&self) -> &str {
        &self.suggest.least_privilege
    }

    /// The narrowest scope set that fits what `context` appears to do, if any hint matches:
    /// minimal (a read implied by a write is dropped) and sorted.
    pub fn suggest(&self, context: &str) -> Option<Vec<String>> {
        let lower = context.to_ascii_lowercase();
        let mut scopes = BTreeSet::new();
        for hint in &self.suggest.hint {
            if hint
                .words
                .iter()
                .any(|word| contains_word(context, &lower, word))
            {
                scopes.extend(hint.scopes.iter().cloned());
            }
        }
        if scopes.is_empty() {
            return None;
        }
        let implied: BTreeSet<String> = scopes
            .iter()
            .filter_map(|s| s.split_once(':'))
            .flat_map(|(resource, action)| {
                self.implies
                    .get(action)
                    .into_iter()
                    .flatten()
                    .map(move |a| format!("{resource}:{a}"))
            })
            .collect();
        Some(
            scopes
                .into_iter()
                .filter(|s| !implied.contains(s))
                .collect(),
        )
    }
}

/// Case-insensitive `word` in `text` starting at a word start: after a non-letter, or as the
/// capitalised part of a camelCase name (`uploadFile`, `fileUpload`), but not inside `async`.
fn contains_word(text: &str, lower_text: &str, word: &str) -> bool {
    let lower_word = word.to_ascii_lowercase();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = lower_text[from..].find(&lower_word) {
        let at = from + found;
        let starts_word = at == 0 || {
            let before = bytes[at - 1];
            !before.is_ascii_alphanumeric()
                || (before.is_ascii_lowercase() && bytes[at].is_ascii_uppercase())
        };
        if starts_word {
            return true;
        }
        from = at + lower_word.len().max(1);
        if from >= lower_text.len() {
            break;
        }
    }
    false
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    fn policy() -> &'static ScopePolicy {
        ScopePolicy::builtin()
    }

    /// Every scope of the first generation.
    const GENERATION_1: [&str; 9] = [
        "environments:read",
        "environments:write",
        "files:read",
        "files:write",
        "members:read",
        "members:write",
        "account:read",
        "aggregators:read",
        "aggregators:write",
    ];

    #[test]
    fn vocabulary_covers_both_generations() {
        let second_only = [
            "volumes:read",
            "volumes:write",
            "publisher:read",
            "publisher:write",
        ];
        for scope in GENERATION_1.iter().chain(&second_only) {
            assert!(policy().is_known(scope), "{scope}");
        }
        for scope in ["file:write", "*", "files:*", "account:write", "files", ""] {
            assert!(!policy().is_known(scope), "{scope}");
        }
        assert_eq!(policy().generations_of("environments:read"), &[1]);
        assert_eq!(policy().generations_of("volumes:read"), &[2]);
    }

    #[test]
    fn every_scope_in_either_generation_with_or_without_publisher() {
        let gen1 = set(&GENERATION_1);
        let a = policy().assess(&gen1);
        assert!(a.every_scope && a.every_write);
        let mut gen2_with_publisher: Vec<String> = gen1
            .iter()
            .map(|s| s.replace("environments", "volumes"))
            .collect();
        gen2_with_publisher.extend(set(&["publisher:read", "publisher:write"]));
        assert!(policy().assess(&gen2_with_publisher).every_scope);
        // Write implies read: every write plus account:read is every scope.
        let writes_and_account = set(&[
            "volumes:write",
            "files:write",
            "members:write",
            "aggregators:write",
            "account:read",
        ]);
        assert!(policy().assess(&writes_and_account).every_scope);
    }

    #[test]
    fn every_write_without_every_scope() {
        let a = policy().assess(&set(&[
            "environments:write",
            "files:write",
            "members:write",
            "aggregators:write",
        ]));
        assert!(a.every_write && !a.every_scope);
        assert_eq!(
            a.sensitive_writes,
            set(&["environments:write", "members:write", "aggregators:write"])
        );
        let mixed = policy().assess(&set(&[
            "environments:write",
            "volumes:read",
            "files:write",
            "members:write",
        ]));
        assert!(!mixed.every_write);
    }

    #[test]
    fn narrow_and_all_read_sets_are_fine() {
        for scopes in [
            set(&["files:read", "volumes:read"]),
            set(&["files:write"]),
            set(&[
                "environments:read",
                "files:read",
                "members:read",
                "account:read",
                "aggregators:read",
                "publisher:read",
            ]),
            set(&[]),
        ] {
            let a = policy().assess(&scopes);
            assert_eq!(a, Assessment::default(), "{scopes:?}");
        }
    }

    #[test]
    fn unknown_names_and_typo_suggestions() {
        let a = policy().assess(&set(&["file:write", "*", "files:*", "files:read"]));
        assert_eq!(a.unknown, set(&["file:write", "*", "files:*"]));
        assert_eq!(
            policy().did_you_mean("file:write").as_deref(),
            Some("files:write")
        );
        assert_eq!(policy().did_you_mean("*"), None);
    }

    #[test]
    fn suggestions_follow_what_the_code_does() {
        assert_eq!(
            policy().suggest("await tusky.uploadFile(path)"),
            Some(set(&["files:write"]))
        );
        assert_eq!(
            policy().suggest("upload then download"),
            Some(set(&["files:write"]))
        );
        assert_eq!(policy().suggest("async function main() {}"), None);
        assert_eq!(
            policy().suggest("nightly backup job"),
            Some(set(&["files:read", "volumes:read"]))
        );
    }
}
