//! Plans, secrets and options shared by the writer tests (made-up values).

use super::{Secrets, WriteOptions};
use crate::dns::Name;
use crate::model::name::parse_input;
use crate::model::plan::{label_for, Plan, PlannedName, ZoneSpec};
use crate::zones::acme_dns::{Account, Password};
use crate::zones::rfc2136::{Secret, TsigAlgorithm, TsigKey};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const NAMES: [&str; 3] = ["www.example.com", "example.com", "*.example.com"];
pub const API: &str = "https://acme-dns.example.net";
pub const TSIG_B64: &str = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYnl0ZXM=";
pub const PASSWORDS: [&str; 2] = [
    "pw-www-KxF3z8Yq0jT7uVbN1mR4sLc9",
    "pw-apex-Qa7Wn2Eo5Ud8Ri1Ty6Pm3Zk0",
];

fn planned(zone_target: impl Fn(&str) -> Name) -> Vec<PlannedName> {
    NAMES
        .iter()
        .map(|n| {
            let i = parse_input(n).unwrap();
            PlannedName {
                name: i.identifier.clone(),
                challenge: i.challenge.clone(),
                target: zone_target(i.host.without_dot()),
                zone: Some(Name::from_ascii("example.com")),
            }
        })
        .collect()
}

pub fn rfc2136_plan() -> Plan {
    let zone = Name::from_ascii("acme.example.net");
    Plan {
        version: 1,
        zone: ZoneSpec::Rfc2136 {
            server: "192.0.2.53:53".into(),
            zone: zone.clone(),
            key_file: "/etc/acme-delegate/acme.key".into(),
        },
        names: planned(|h| zone.prepend(&label_for(&Name::from_ascii(h)))),
    }
}

fn fulldomain(host: &str) -> String {
    format!("{}.acme-dns.example.net", subdomain(host))
}

fn subdomain(host: &str) -> String {
    if host.starts_with("www") {
        "3f0e8a51-5b6c-4d7e-9f10-2a3b4c5d6e7f".into()
    } else {
        "7c1d2e3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f".into()
    }
}

pub fn acme_dns_plan() -> Plan {
    Plan {
        version: 1,
        zone: ZoneSpec::AcmeDns {
            api: API.into(),
            storage: None,
            allowfrom: vec![],
            domain: None,
        },
        names: planned(|h| Name::from_ascii(&fulldomain(h))),
    }
}

pub fn provider_plan() -> Plan {
    let domain = Name::from_ascii("delegated.example.net");
    Plan {
        version: 1,
        zone: ZoneSpec::Provider {
            provider: "cloudflare".into(),
            domain: domain.clone(),
            api: None,
            key_file: None,
        },
        names: planned(|h| domain.prepend(&label_for(&Name::from_ascii(h)))),
    }
}

pub const PDNS_KEY: &str = "pdns-api-key-Zq8Lr2Vn5Xc1Bm4Hs7Tw0Kd3";

/// A PowerDNS plan acme-delegate writes through the API (`--api`, `--key-file`).
pub fn pdns_plan() -> Plan {
    let domain = Name::from_ascii("pdns.example.net");
    Plan {
        version: 1,
        zone: ZoneSpec::Provider {
            provider: "pdns".into(),
            domain: domain.clone(),
            api: Some("http://192.0.2.8:8081".into()),
            key_file: Some("/etc/acme-delegate/pdns.apikey".into()),
        },
        names: planned(|h| domain.prepend(&label_for(&Name::from_ascii(h)))),
    }
}

pub fn hosted_plan() -> Plan {
    Plan {
        version: 1,
        zone: ZoneSpec::Hosted {
            target: Name::from_ascii("example-com.hosted.example.org"),
        },
        names: planned(|_| Name::from_ascii("example-com.hosted.example.org")),
    }
}

pub fn tsig_key(alg: TsigAlgorithm) -> TsigKey {
    TsigKey::new(
        Name::from_ascii("acme-delegate"),
        alg,
        Secret::from_base64(TSIG_B64).unwrap(),
    )
}

pub fn accounts() -> BTreeMap<String, Account> {
    let mk = |host: &str, pw: &str| Account {
        username: format!("user-{}", &subdomain(host)[..8]),
        password: Password::new(pw),
        fulldomain: fulldomain(host),
        subdomain: subdomain(host),
        allowfrom: vec![],
        server_url: None,
    };
    BTreeMap::from([
        (
            "www.example.com".to_string(),
            mk("www.example.com", PASSWORDS[0]),
        ),
        ("example.com".to_string(), mk("example.com", PASSWORDS[1])),
    ])
}

/// Options as for a non-root user, with every secret a plan can need.
pub fn opts() -> WriteOptions {
    WriteOptions {
        out: None,
        root: false,
        home: PathBuf::from("/home/user"),
        cwd: PathBuf::from("/srv/site"),
        exe: PathBuf::from("/usr/local/bin/acme-delegate"),
        plan_path: PathBuf::from("/home/user/.config/acme-delegate/plan.toml"),
        config_path: None,
        email: Some("ops@example.com".into()),
        server: None,
        resolvers: vec![],
        private_zone: false,
        secrets: Secrets {
            accounts: accounts(),
            tsig: Some(tsig_key(TsigAlgorithm::HmacSha256)),
            api_key: Some(crate::zones::provider::ApiKey::new(PDNS_KEY)),
        },
    }
}
