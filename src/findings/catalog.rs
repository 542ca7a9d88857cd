//! Every finding code, with its default severity and a one-line meaning. Codes are a
//! contract: scripts match on them. Add codes; never rename one.

use super::Severity;

/// (code, default severity, meaning)
pub const CATALOG: &[(&str, Severity, &str)] = &[
    ("CNAME_MISSING", Severity::Error, "no CNAME at _acme-challenge.<name>"),
    ("CNAME_DOUBLED_ZONE", Severity::Error, "the CNAME sits at a name with the zone appended twice"),
    ("CNAME_WRONG_TARGET", Severity::Error, "the chain does not reach the expected target"),
    ("CHAIN_LOOP", Severity::Error, "the CNAME chain comes back to a name it already passed"),
    ("CHAIN_TOO_LONG", Severity::Warning, "more than 8 hops (warning), more than 32 (error)"),
    ("TARGET_ZONE_UNDELEGATED", Severity::Error, "the zone of the CNAME target does not exist in the DNS"),
    ("TARGET_ZONE_LAME", Severity::Error, "no server of the target's zone answers authoritatively"),
    ("AUTH_DISAGREE", Severity::Error, "authoritative servers of one zone give different answers"),
    ("SERVER_TIMEOUT", Severity::Error, "a server did not answer within the timeout"),
    ("SERVER_REFUSED", Severity::Error, "a server answered REFUSED"),
    ("SERVER_SERVFAIL", Severity::Error, "a server answered SERVFAIL"),
    ("SERVER_UNREACHABLE", Severity::Error, "the network refused the query (port unreachable, no route)"),
    ("SERVER_LAME", Severity::Warning, "a server listed for a zone answers without authority"),
    ("NEGATIVE_CACHED", Severity::Error, "a resolver still serves a cached NXDOMAIN/NODATA"),
    ("RESOLVER_STALE", Severity::Warning, "a resolver serves a different (cached) chain than the authoritative servers"),
    ("SPLIT_HORIZON", Severity::Warning, "the system (inside) resolver sees a different chain than the outside"),
    ("CLIENT_NO_CNAME_FOLLOW", Severity::Error, "the issuing client writes the TXT at _acme-challenge.<name> instead of following the CNAME"),
    ("CLIENT_WRONG_ZONE", Severity::Error, "the client's server, zone, alias or acme-dns account is not the CNAME target's"),
    ("CLIENT_WHERE", Severity::Info, "where the issuing client will write the TXT, and whether the CA will find it"),
    ("SECRET_FILE_MODE", Severity::Error, "a file holding client secrets is readable by group or others"),
    ("CLIENT_CONFIG_UNREADABLE", Severity::Error, "the issuing client's config could not be read or understood"),
    ("CERT_EXPIRED", Severity::Error, "the certificate an endpoint serves has expired"),
    ("CERT_EXPIRING", Severity::Warning, "the certificate an endpoint serves has less than a third of its lifetime or 14 days left: renewal is not happening"),
    ("CERT_NAME_MISMATCH", Severity::Error, "the certificate an endpoint serves does not cover a name"),
    ("ENDPOINT_UNREACHABLE", Severity::Error, "the TLS endpoint could not be reached or the handshake failed within the timeout"),
    ("WILDCARD_CNAME_CAPTURE", Severity::Error, "a wildcard CNAME answers for _acme-challenge.<name>"),
    ("STALE_TXT", Severity::Error, "a TXT sits at _acme-challenge.<name> where the CNAME should be"),
    ("CONFLICTING_RECORDS", Severity::Error, "a server returns a CNAME together with other data at one name"),
    ("TTL_HIGH", Severity::Warning, "the validation zone's negative TTL or TXT TTL keeps stale answers in caches for long"),
    ("DNSSEC_BOGUS", Severity::Error, "a validating resolver fails (SERVFAIL) where CD succeeds: broken signatures or DS"),
    ("DNSSEC_INSECURE_DELEGATION", Severity::Info, "the target zone is signed but its parent has no DS"),
    ("CAA_FORBIDS_CA", Severity::Error, "the CAA set that applies does not allow the CA"),
    ("CAA_FORBIDS_DNS01", Severity::Error, "the CA's CAA record limits validationmethods and excludes dns-01"),
    ("CAA_LOOKUP_FAILED", Severity::Error, "a CAA lookup failed (SERVFAIL, timeout): the CA refuses to issue"),
    ("CAA_CRITICAL_UNKNOWN", Severity::Error, "a critical CAA property the CA does not know"),
    ("CAA_ACCOUNTURI", Severity::Info, "CAA pins issuance to one ACME account"),
    ("ACMEDNS_TWO_VALUES", Severity::Error, "more than two names of one order use one acme-dns record"),
    ("TSIG_OVERPRIVILEGED", Severity::Error, "the TSIG key may write more than TXT records in the validation zone"),
    ("ACMEDNS_UNHEALTHY", Severity::Error, "the acme-dns API does not answer GET /health"),
    ("PROOF_PUBLISH_FAILED", Severity::Error, "the test TXT could not be published in the validation zone"),
    ("PROOF_NOT_PUBLISHED", Severity::Error, "an authoritative server of the target's zone never served the test TXT"),
    ("PROOF_NOT_SEEN", Severity::Error, "a vantage point never saw the test TXT through the CNAME"),
    ("PROOF_CANCELLED", Severity::Error, "the proof was interrupted (the test TXT records were removed)"),
    ("CHECK_FAILED", Severity::Error, "acme-delegate could not finish checking this name (an internal error)"),
];

/// The catalog entry of a code.
pub fn lookup(code: &str) -> Option<&'static (&'static str, Severity, &'static str)> {
    CATALOG.iter().find(|(c, _, _)| *c == code)
}
