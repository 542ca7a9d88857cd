//! The account plan for one order: which names share an account (an apex and its
//! wildcard), and which stored accounts would need more than the two TXT values acme-dns
//! keeps.

use super::{storage_key, Account};
use crate::model::name::InputName;
use std::collections::BTreeMap;

/// One account of a plan: the storage key, the identifiers it serves in one order (one,
/// or an apex and its wildcard), and where the CA looks for them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountPlan {
    pub key: String,
    pub identifiers: Vec<String>,
    pub challenge: crate::dns::Name,
}

/// Groups the names of one order into accounts: an apex and its wildcard share
/// `_acme-challenge.<host>` and so one account (two TXT values at once, which acme-dns
/// keeps); every other name gets its own. No account holds more than two values.
pub fn plan_accounts(names: &[InputName]) -> Vec<AccountPlan> {
    let mut plans: Vec<AccountPlan> = Vec::new();
    for n in names {
        let key = storage_key(n);
        match plans.iter_mut().find(|p| p.key == key) {
            Some(p) => {
                if !p.identifiers.contains(&n.identifier) {
                    p.identifiers.push(n.identifier.clone());
                }
            }
            None => plans.push(AccountPlan {
                key,
                identifiers: vec![n.identifier.clone()],
                challenge: n.challenge.clone(),
            }),
        }
    }
    plans
}

/// Names of one order whose accounts resolve to the same acme-dns subdomain with more
/// than two TXT values needed at once: acme-dns keeps only the two newest, so one of the
/// authorizations fails. The caller reports it as `ACMEDNS_TWO_VALUES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TwoValuesConflict {
    /// The shared `fulldomain` (lower case, no trailing dot).
    pub fulldomain: String,
    /// The storage keys that point at it.
    pub keys: Vec<String>,
    /// The identifiers that need a value there at the same time (more than two).
    pub identifiers: Vec<String>,
}

impl TwoValuesConflict {
    pub fn explain(&self) -> String {
        format!(
            "{} names of one order ({}) use the acme-dns account {} and need {} TXT values \
             there at once; acme-dns keeps only the two newest, so the CA would miss one \
             (fix: register a separate account for each name, an apex and its wildcard may \
             share one, or split the names into orders of at most two per account)",
            self.identifiers.len(),
            self.identifiers.join(", "),
            self.fulldomain,
            self.identifiers.len()
        )
    }
}

/// Pure check: for the names of one order and the stored accounts (keyed as in the
/// account file), the fulldomains that would have to hold more than two values.
pub fn two_values_conflicts(
    names: &[InputName],
    accounts: &BTreeMap<String, Account>,
) -> Vec<TwoValuesConflict> {
    let mut by_fulldomain: BTreeMap<String, TwoValuesConflict> = BTreeMap::new();
    for n in names {
        let key = storage_key(n);
        let Some(acct) = accounts.get(&key) else {
            continue;
        };
        let fd = acct.fulldomain.trim_end_matches('.').to_ascii_lowercase();
        let e = by_fulldomain
            .entry(fd.clone())
            .or_insert_with(|| TwoValuesConflict {
                fulldomain: fd,
                keys: Vec::new(),
                identifiers: Vec::new(),
            });
        if !e.keys.contains(&key) {
            e.keys.push(key);
        }
        if !e.identifiers.contains(&n.identifier) {
            e.identifiers.push(n.identifier.clone());
        }
    }
    by_fulldomain
        .into_values()
        .filter(|c| c.identifiers.len() > 2)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::{parse_all, parse_input};
    use crate::zones::acme_dns::tests::acct;

    #[test]
    fn plan_shares_apex_and_wildcard_only() {
        let names = parse_all(&[
            "example.com",
            "*.example.com",
            "www.example.com",
            "*.www.example.com",
            "api.example.com",
        ])
        .unwrap();
        let plan = plan_accounts(&names);
        let got: Vec<(String, Vec<String>)> = plan
            .iter()
            .map(|p| (p.key.clone(), p.identifiers.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "example.com".into(),
                    vec!["example.com".into(), "*.example.com".into()]
                ),
                (
                    "www.example.com".into(),
                    vec!["www.example.com".into(), "*.www.example.com".into()]
                ),
                ("api.example.com".into(), vec!["api.example.com".into()]),
            ]
        );
        assert!(plan.iter().all(|p| p.identifiers.len() <= 2));
        assert_eq!(plan[0].challenge.as_str(), "_acme-challenge.example.com.");
    }

    #[test]
    fn two_values_check() {
        let names = parse_all(&["example.com", "*.example.com", "www.example.com"]).unwrap();
        let shared = acct("u1", "sub1");
        let mut accounts = BTreeMap::new();
        accounts.insert("example.com".to_string(), shared.clone());
        // apex + wildcard on one account: two values, fine.
        assert!(two_values_conflicts(&names, &accounts).is_empty());
        // www pointed at the same account: three values at once.
        accounts.insert("www.example.com".to_string(), shared.clone());
        let c = two_values_conflicts(&names, &accounts);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].fulldomain, "sub1.acme.lab");
        assert_eq!(c[0].keys, vec!["example.com", "www.example.com"]);
        assert_eq!(c[0].identifiers.len(), 3);
        assert!(c[0].explain().contains("two newest"));
        // Same fulldomain written differently (case, trailing dot) is the same account.
        let mut other = acct("u2", "SUB1");
        other.fulldomain = "SUB1.acme.lab.".into();
        accounts.insert("www.example.com".to_string(), other);
        assert_eq!(two_values_conflicts(&names, &accounts).len(), 1);
        // A separate account: no conflict. A name without an account: ignored.
        accounts.insert("www.example.com".to_string(), acct("u3", "sub3"));
        assert!(two_values_conflicts(&names, &accounts).is_empty());
        let more = vec![parse_input("nothing.example.com").unwrap()];
        assert!(two_values_conflicts(&more, &accounts).is_empty());
    }
}
