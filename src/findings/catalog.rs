//! Every finding code, with its default severity and a one-line meaning. Codes are a
//! contract: scripts match on them. Add codes; never rename one. [`Code`] serialises to the
//! string (`CNAME_MISSING`); [`CATALOG`] lists every code with its severity and meaning.

use super::Severity;
use serde::Serialize;
use std::fmt;

macro_rules! codes {
    ($($variant:ident = $code:literal, $sev:ident, $meaning:literal;)+) => {
        /// A finding's stable code. Each variant's doc is its catalog meaning, plain text
        /// (`<name>` there is the name asked, not HTML).
        #[allow(rustdoc::invalid_html_tags)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $(#[doc = concat!("`", $code, "`: ", $meaning)] $variant,)+
        }

        impl Code {
            /// Every code, in catalog order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)+];

            /// The code as scripts see it (`CNAME_MISSING`).
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)+ }
            }

            /// The severity a finding of this code has unless a rule grades it otherwise.
            pub const fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)+ }
            }

            /// One line: what the code means.
            pub const fn meaning(self) -> &'static str {
                match self { $(Code::$variant => $meaning,)+ }
            }
        }

        /// (code, default severity, meaning), in catalog order.
        pub const CATALOG: &[(&str, Severity, &str)] = &[$(($code, Severity::$sev, $meaning),)+];
    };
}

codes! {
    CnameMissing = "CNAME_MISSING", Error, "no CNAME at _acme-challenge.<name>";
    CnameDoubledZone = "CNAME_DOUBLED_ZONE", Error, "the CNAME sits at a name with the zone appended twice";
    CnameWrongTarget = "CNAME_WRONG_TARGET", Error, "the chain does not reach the expected target";
    ChainLoop = "CHAIN_LOOP", Error, "the CNAME chain comes back to a name it already passed";
    ChainTooLong = "CHAIN_TOO_LONG", Warning, "more than 8 hops (warning), more than 11 hops: past the resolvers' restart limit (error)";
    TargetZoneUndelegated = "TARGET_ZONE_UNDELEGATED", Error, "the zone of the CNAME target does not exist in the DNS";
    TargetZoneLame = "TARGET_ZONE_LAME", Error, "no server of the target's zone answers authoritatively";
    AuthDisagree = "AUTH_DISAGREE", Error, "authoritative servers of one zone give different answers";
    ServerTimeout = "SERVER_TIMEOUT", Error, "a server did not answer within the timeout";
    ServerRefused = "SERVER_REFUSED", Error, "a server answered REFUSED";
    ServerServfail = "SERVER_SERVFAIL", Error, "a server answered SERVFAIL";
    ServerUnreachable = "SERVER_UNREACHABLE", Error, "the network refused the query (port unreachable, no route)";
    ServerLame = "SERVER_LAME", Warning, "a server listed for a zone answers without authority";
    NegativeCached = "NEGATIVE_CACHED", Error, "a resolver still serves a cached NXDOMAIN/NODATA";
    ResolverStale = "RESOLVER_STALE", Warning, "a resolver serves a different (cached) chain than the authoritative servers";
    SplitHorizon = "SPLIT_HORIZON", Warning, "the system (inside) resolver sees a different chain than the outside";
    ClientNoCnameFollow = "CLIENT_NO_CNAME_FOLLOW", Error, "the issuing client writes the TXT at _acme-challenge.<name> instead of following the CNAME";
    ClientWrongZone = "CLIENT_WRONG_ZONE", Error, "the client's server, zone, alias or acme-dns account is not the CNAME target's";
    ClientProviderMissing = "CLIENT_PROVIDER_MISSING", Warning, "the issuing client on this machine does not have the DNS provider the written config uses";
    ClientWhere = "CLIENT_WHERE", Info, "where the issuing client will write the TXT, and whether the CA will find it";
    SecretFileMode = "SECRET_FILE_MODE", Error, "a file holding client secrets is readable by group or others";
    ClientConfigUnreadable = "CLIENT_CONFIG_UNREADABLE", Error, "the issuing client's config could not be read or understood";
    CertExpired = "CERT_EXPIRED", Error, "the certificate an endpoint serves has expired";
    CertExpiring = "CERT_EXPIRING", Warning, "the certificate an endpoint serves has less than a third of its lifetime or 14 days left: renewal is not happening";
    CertNameMismatch = "CERT_NAME_MISMATCH", Error, "the certificate an endpoint serves does not cover a name";
    EndpointUnreachable = "ENDPOINT_UNREACHABLE", Error, "the TLS endpoint could not be reached or the handshake failed within the timeout";
    WildcardCnameCapture = "WILDCARD_CNAME_CAPTURE", Error, "a wildcard CNAME answers for _acme-challenge.<name>";
    StaleTxt = "STALE_TXT", Error, "a TXT sits at _acme-challenge.<name> where the CNAME should be";
    ConflictingRecords = "CONFLICTING_RECORDS", Warning, "a server returns a CNAME together with other data at one name";
    TtlHigh = "TTL_HIGH", Warning, "the validation zone's negative TTL or TXT TTL keeps stale answers in caches for long";
    DnssecBogus = "DNSSEC_BOGUS", Error, "a validating resolver fails (SERVFAIL) where CD succeeds: broken signatures or DS";
    DnssecInsecureDelegation = "DNSSEC_INSECURE_DELEGATION", Info, "the target zone is signed but its parent has no DS";
    CaaForbidsCa = "CAA_FORBIDS_CA", Error, "the CAA set that applies does not allow the CA";
    CaaForbidsDns01 = "CAA_FORBIDS_DNS01", Error, "the CA's CAA record limits validationmethods and excludes dns-01";
    CaaLookupFailed = "CAA_LOOKUP_FAILED", Error, "a CAA lookup failed (SERVFAIL, timeout): the CA refuses to issue";
    CaaCriticalUnknown = "CAA_CRITICAL_UNKNOWN", Error, "a critical CAA property the CA does not know";
    CaaAccounturi = "CAA_ACCOUNTURI", Info, "CAA pins issuance to one ACME account";
    AcmednsTwoValues = "ACMEDNS_TWO_VALUES", Error, "more than two names of one order use one acme-dns record";
    TsigOverprivileged = "TSIG_OVERPRIVILEGED", Error, "the TSIG key may write more than TXT records in the validation zone";
    AcmednsUnhealthy = "ACMEDNS_UNHEALTHY", Error, "the acme-dns API does not answer GET /health";
    AcmednsBadResponse = "ACMEDNS_BAD_RESPONSE", Error, "the acme-dns API answered with a field that cannot be trusted (not one label, outside its zone, control characters, too long)";
    ProviderKeyRejected = "PROVIDER_KEY_REJECTED", Error, "the DNS provider's API refused the API key";
    ProviderZoneMissing = "PROVIDER_ZONE_MISSING", Error, "the DNS provider's API does not have the validation zone";
    ProviderUnreachable = "PROVIDER_UNREACHABLE", Error, "the DNS provider's API could not be reached or refused the TXT change";
    AcmednsPlainHttp = "ACMEDNS_PLAIN_HTTP", Warning, "the acme-dns API is reached over plain http on another host: its passwords cross the network in clear text";
    ProofPublishFailed = "PROOF_PUBLISH_FAILED", Error, "the test TXT could not be published in the validation zone";
    ProofNotPublished = "PROOF_NOT_PUBLISHED", Error, "an authoritative server of the target's zone never served the test TXT";
    ProofNotSeen = "PROOF_NOT_SEEN", Error, "a vantage point never saw the test TXT through the CNAME";
    ProofCancelled = "PROOF_CANCELLED", Error, "the proof was interrupted (the test TXT records were removed)";
    CheckFailed = "CHECK_FAILED", Error, "acme-delegate could not finish checking this name (an internal error)";
    DnsIntercepted = "DNS_INTERCEPTED", Info, "this network answers DNS queries itself (a proxy, captive portal or filter): the authoritative view cannot be read from here";
    AuthUnreachable = "AUTH_UNREACHABLE", Info, "no root server can be reached from here: only the resolvers' view is available, the verdict is inconclusive";
    ChallengeZoneCut = "CHALLENGE_ZONE_CUT", Info, "_acme-challenge.<name> is a zone of its own (delegated by NS): its servers serve the TXT";
    CnameParentOnly = "CNAME_PARENT_ONLY", Info, "no CNAME at _acme-challenge.<name>, but a parent name has one: it does not cover child names (context beside CNAME_MISSING)";
    NameCaseDiffers = "NAME_CASE_DIFFERS", Info, "a CNAME is published with capitals: names compare case-insensitively, some clients do not";
    TargetTypeNxdomain = "TARGET_TYPE_NXDOMAIN", Warning, "the target's servers answer NXDOMAIN to a non-TXT question at a name that has a TXT";
    ClientZoneWalk = "CLIENT_ZONE_WALK", Warning, "an SOA walk from the system resolver (as lego and cert-manager do) finds another zone than the target's";
    DelegationNsMismatch = "DELEGATION_NS_MISMATCH", Warning, "the parent's NS set for a zone on the chain differs from the zone's own";
    DelegationGlueMismatch = "DELEGATION_GLUE_MISMATCH", Warning, "the parent's glue for a name server differs from the zone's own A/AAAA";
    NsNameUnresolved = "NS_NAME_UNRESOLVED", Warning, "a name server of a zone on the chain has no address";
    ServerNoTcp = "SERVER_NO_TCP", Warning, "a server of a zone on the chain does not answer over TCP";
    ServerEdnsBroken = "SERVER_EDNS_BROKEN", Warning, "a server of a zone on the chain mishandles EDNS (FORMERR, no OPT, or drops the query)";
    ServerCaseFolded = "SERVER_CASE_FOLDED", Warning, "a server of a zone on the chain does not keep the query name's case (0x20)";
    CnameTargetDoubled = "CNAME_TARGET_DOUBLED", Error, "the CNAME target has the owner's zone appended (written without its trailing dot in a panel that appends the zone)";
    SoaSerialMismatch = "SOA_SERIAL_MISMATCH", Warning, "the servers of a zone on the chain return different SOA serials";
    PerspectivesDisagree = "PERSPECTIVES_DISAGREE", Error, "the delegation works from some networks and not from others (merge): error beyond the --quorum, warning within it";
}

impl Code {
    /// The code named by `s` (`"CNAME_MISSING"`), if there is one.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The catalog entry of a code.
pub fn lookup(code: &str) -> Option<&'static (&'static str, Severity, &'static str)> {
    CATALOG.iter().find(|(c, _, _)| *c == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_string() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(*c));
            assert_eq!(serde_json::to_string(c).unwrap(), format!("\"{c}\""));
        }
        assert_eq!(Code::ALL.len(), CATALOG.len());
        assert_eq!(Code::parse("NOT_A_CODE"), None);
    }
}
