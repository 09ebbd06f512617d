//! Rules as data: `rules/*.toml` embedded at build time, plus custom rules from the config file.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::model::{Confidence, Severity};

/// The built-in rule files, embedded so the binary needs nothing at run time.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[(
    "rules/tusky-keys.toml",
    include_str!("../../rules/tusky-keys.toml"),
)];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JudgeKind {
    /// The `body` group after a known prefix must look random.
    KeyBody,
    /// The `secret` group is a UUID that must not be a placeholder.
    Uuid,
    /// Report whatever the pattern captures (custom rules).
    None,
}

/// One rule as written in TOML.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default = "high_confidence")]
    pub confidence: Confidence,
    /// Literals of which one must occur for the rule to run (the prefilter).
    pub anchors: Vec<String>,
    /// Literals whose base64, percent-encoded and UTF-16 forms the prefilter also searches for,
    /// so that the rule runs on the decoded text: for rules whose anchors are too short to have
    /// rare encodings (`TUSKY_` for the `TUSKY` of `TUSKY_API_KEY=<uuid>`). Anchors of 6 bytes or
    /// more get these forms (and string-escape forms) anyway.
    #[serde(default)]
    pub encoded_anchors: Vec<String>,
    /// Regexes with a named group `secret` (or `body`, the random part after the anchor).
    pub patterns: Vec<String>,
    #[serde(default = "no_judge")]
    pub judge: JudgeKind,
    /// Bytes before / after an anchor hit searched by the patterns.
    #[serde(default)]
    pub window_before: Option<usize>,
    #[serde(default)]
    pub window_after: Option<usize>,
    pub remediation: String,
    #[serde(default)]
    pub examples: Vec<String>,
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

fn high_confidence() -> Confidence {
    Confidence::High
}

fn no_judge() -> JudgeKind {
    JudgeKind::None
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    rule: Vec<RuleDef>,
}

/// Parses one rule file; `origin` names it in errors.
pub fn parse_rule_file(text: &str, origin: &str) -> Result<Vec<RuleDef>> {
    let file: RuleFile = toml::from_str(text)
        .map_err(|e| anyhow::anyhow!("{origin}: invalid rule file: {}", e.message()))?;
    for rule in &file.rule {
        validate(rule).with_context(|| format!("{origin}: rule '{}'", rule.id))?;
    }
    Ok(file.rule)
}

pub fn validate(rule: &RuleDef) -> Result<()> {
    if rule.id.is_empty()
        || !rule
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        bail!("rule id must be non-empty and use only letters, digits and '-'");
    }
    if rule.anchors.is_empty() || rule.anchors.iter().any(|a| a.len() < 3) {
        bail!("every rule needs at least one literal anchor of 3 or more bytes (the prefilter)");
    }
    if rule.encoded_anchors.iter().any(|a| a.len() < 6) {
        bail!("every encoded anchor needs 6 or more bytes: shorter ones have no rare base64 form");
    }
    if rule.examples.is_empty() {
        bail!(
            "every rule needs at least one example that gives a finding (examples = [...]), so \
             that `tuskguard rules check` can prove it"
        );
    }
    if rule.patterns.is_empty() {
        bail!("a rule needs at least one pattern");
    }
    // Patterns are compiled once, by `compile_pattern` when the engine is built: compiling them
    // here too doubled the start-up of every scan (most of a pre-commit hook's time).
    Ok(())
}

/// Compiles one pattern of `rule`, checking it has the named group its judge reads.
pub fn compile_pattern(rule: &RuleDef, pattern: &str) -> Result<regex::bytes::Regex> {
    let regex = regex::bytes::Regex::new(&expand_pattern(pattern))
        .with_context(|| format!("rule {}: invalid pattern {pattern}", rule.id))?;
    let wanted = if rule.judge == JudgeKind::KeyBody {
        "body"
    } else {
        "secret"
    };
    if !regex.capture_names().flatten().any(|name| name == wanted) {
        bail!(
            "rule {}: pattern {pattern} needs a named group '{wanted}' (judge {:?})",
            rule.id,
            rule.judge
        );
    }
    Ok(regex)
}

/// The built-in rules, parsed once per process (every command needs them, some twice).
fn builtin_rules() -> Result<&'static [RuleDef]> {
    static BUILTIN: std::sync::OnceLock<Result<Vec<RuleDef>, String>> = std::sync::OnceLock::new();
    let parsed = BUILTIN.get_or_init(|| {
        let mut rules = Vec::new();
        for (origin, text) in BUILTIN_RULE_FILES {
            rules.extend(parse_rule_file(text, origin).map_err(|e| format!("{e:#}"))?);
        }
        Ok(rules)
    });
    match parsed {
        Ok(rules) => Ok(rules),
        Err(message) => bail!("{message}"),
    }
}

/// Whether `rule` is a built-in rule as shipped (a custom rule may reuse a built-in id).
pub fn is_builtin(rule: &RuleDef) -> bool {
    builtin_rules().is_ok_and(|rules| {
        rules.iter().any(|builtin| {
            builtin.id == rule.id
                && builtin.patterns == rule.patterns
                && builtin.judge == rule.judge
        })
    })
}

/// The ids of the built-in key rules.
pub fn builtin_rule_ids() -> Vec<String> {
    builtin_rules()
        .map(|rules| rules.iter().map(|rule| rule.id.clone()).collect())
        .unwrap_or_default()
}

/// A UUID as written in text, or the base64 of one (a Kubernetes `Secret`'s `data:` value, with or
/// without the newline `echo | base64` adds). The judge decodes the second form.
const UUID_PATTERN: &str = concat!(
    "(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "|[A-Za-z0-9+/]{48}(?:Cg==|DQo=)?)"
);

/// Rule patterns may write `{uuid}` for [`UUID_PATTERN`]: it would be an invalid repetition in a
/// regex otherwise, so the expansion cannot change a pattern that compiled before.
pub fn expand_pattern(pattern: &str) -> std::borrow::Cow<'_, str> {
    if pattern.contains("{uuid}") {
        pattern.replace("{uuid}", UUID_PATTERN).into()
    } else {
        pattern.into()
    }
}

/// The built-in rules, then custom ones (a custom rule replaces a built-in with the same id),
/// minus disabled ids.
pub fn load_rules(custom: &[RuleDef], disabled: &[String]) -> Result<Vec<RuleDef>> {
    let mut rules = builtin_rules()?.to_vec();
    for rule in custom {
        validate(rule).with_context(|| format!("custom rule '{}'", rule.id))?;
        match rules.iter_mut().find(|r| r.id == rule.id) {
            Some(existing) => *existing = rule.clone(),
            None => rules.push(rule.clone()),
        }
    }
    for id in disabled {
        if !rules.iter().any(|r| &r.id == id) {
            bail!("disabled_rules names '{id}', which is not a rule (see `tuskguard rules list`)");
        }
    }
    rules.retain(|r| !disabled.contains(&r.id));
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matcher::Engine;

    /// The engine compiles built-in patterns lazily, trusting this test.
    #[test]
    fn every_builtin_pattern_compiles_with_its_group() {
        let rules = builtin_rules().unwrap();
        assert!(!rules.is_empty());
        for rule in rules {
            assert!(is_builtin(rule));
            for pattern in &rule.patterns {
                compile_pattern(rule, pattern).unwrap();
            }
        }
    }

    /// An encoded anchor shorter than 6 bytes has no rare base64 form: refused, not searched.
    #[test]
    fn short_encoded_anchors_are_refused() {
        let mut rule = builtin_rules().unwrap()[0].clone();
        rule.encoded_anchors = vec!["TUSK".into()];
        let error = validate(&rule).expect_err("a 4-byte encoded anchor is refused");
        assert!(
            format!("{error:#}").contains("6 or more bytes"),
            "{error:#}"
        );
        rule.encoded_anchors = vec!["TUSKY_".into()];
        validate(&rule).unwrap();
    }

    #[test]
    fn a_custom_pattern_is_checked_when_the_engine_is_built() {
        let mut rule = builtin_rules().unwrap()[0].clone();
        rule.id = "custom-rule".into();
        rule.patterns = vec!["tsk_(?P<other>x)".into()];
        let error = Engine::new(load_rules(&[rule.clone()], &[]).unwrap())
            .err()
            .expect("a pattern without its group is refused");
        assert!(
            format!("{error:#}").contains("needs a named group"),
            "{error:#}"
        );
        rule.patterns = vec!["tsk_(?P<body>".into()];
        let error = Engine::new(load_rules(&[rule], &[]).unwrap())
            .err()
            .expect("an invalid pattern is refused");
        assert!(
            format!("{error:#}").contains("invalid pattern"),
            "{error:#}"
        );
    }

    #[test]
    fn a_custom_rule_reusing_a_builtin_id_is_not_builtin() {
        let mut rule = builtin_rules().unwrap()[0].clone();
        rule.patterns = vec!["tsk_live_(?P<body>[a-z]{40})".into()];
        assert!(!is_builtin(&rule));
    }
}
