//! The pre-action gate: whether a posture allows a named sensitive action under the
//! configured policy. A pure function; the service supplies the posture and its age.

use std::time::Duration;

use crate::config::{ActionPolicy, Policy};
use crate::posture::PostureDoc;
use crate::scoring::Tier;

/// Allow or deny, with every reason that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allow: bool,
    pub reasons: Vec<String>,
}

/// The policy for an action: its own entry, else the default.
pub fn policy_for<'p>(policy: &'p Policy, action: &str) -> &'p ActionPolicy {
    policy.actions.get(action).unwrap_or(&policy.default)
}

/// Decides `action` on `posture`, which is `age` old. `min_tier` is an optional stricter
/// floor from the caller; it can only tighten the policy, never loosen it.
pub fn decide(
    policy: &Policy,
    action: &str,
    min_tier: Option<Tier>,
    posture: &PostureDoc,
    age: Duration,
) -> Decision {
    let p = policy_for(policy, action);
    let mut deny = Vec::new();
    let mut ok = Vec::new();
    let configured = Tier::parse(&p.min_tier).unwrap_or(Tier::High);
    let floor = min_tier.map_or(configured, |t| t.max(configured));
    if posture.trust_tier >= floor {
        ok.push(format!(
            "tier {} ({}) meets {} required for {action}",
            posture.trust_tier.id(),
            posture.overall_score,
            floor.id()
        ));
    } else {
        deny.push(format!(
            "tier {} ({}) is below {} required for {action}",
            posture.trust_tier.id(),
            posture.overall_score,
            floor.id()
        ));
    }
    for domain in &p.no_critical_in {
        let failing: Vec<&str> = posture
            .checks
            .iter()
            .filter(|c| c.domain.id() == domain && c.severity == crate::checks::Severity::Critical)
            .filter(|c| {
                matches!(
                    c.status,
                    crate::checks::Status::Fail | crate::checks::Status::Error
                )
            })
            .map(|c| c.id)
            .collect();
        if failing.is_empty() {
            ok.push(format!("no failing critical check in {domain}"));
        } else {
            deny.push(format!(
                "critical check(s) failing in {domain}: {}",
                failing.join(", ")
            ));
        }
    }
    let max_age = Duration::from_secs(p.max_age_secs);
    if age <= max_age {
        ok.push(format!(
            "posture is {} s old (at most {} s)",
            age.as_secs(),
            p.max_age_secs
        ));
    } else {
        deny.push(format!(
            "posture is {} s old, older than the {} s allowed",
            age.as_secs(),
            p.max_age_secs
        ));
    }
    let allow = deny.is_empty();
    Decision {
        allow,
        reasons: if allow { ok } else { deny },
    }
}
