//! The live end of a renewal: connect to a TLS endpoint, read the certificate it serves
//! and say whether it is expired, about to expire (renewal silently failing) or does not
//! cover the names.
//!
//! The handshake accepts ANY certificate on purpose: an expired or mismatched certificate
//! is exactly what we want to see and report, not a reason to abort.

use crate::engine::events::{CancellationToken, EventSink};
use crate::findings::Code;
use crate::findings::Finding;
use crate::model::clock::rfc3339;
use crate::model::name::InputName;
use crate::report::Report;
use serde::Serialize;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{
    verify_tls12_signature, verify_tls13_signature, CryptoProvider,
};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_rustls::TlsConnector;
use x509_parser::extensions::GeneralName;

/// Below this many days left a certificate is reported as expiring, whatever its lifetime.
pub const EXPIRING_DAYS: i64 = 14;

const DAY: i64 = 86_400;

/// The leaf certificate an endpoint served, as values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// The DNS names of the subjectAltName extension, as written in the certificate.
    pub san_dns: Vec<String>,
    /// RFC 3339, UTC.
    pub not_before: String,
    pub not_after: String,
    pub not_before_unix: i64,
    pub not_after_unix: i64,
    pub serial: String,
}

/// What one endpoint check found.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointReport {
    /// `HOST:PORT` as given.
    pub endpoint: String,
    /// The server name sent in the handshake (none for an IP address without names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// No error finding.
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertInfo>,
    /// Seconds of validity left at `now` (negative once expired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds_left: Option<i64>,
    pub findings: Vec<Finding>,
    pub ms: u64,
}

/// What to check: TLS endpoints (`HOST:PORT`), against the names, each bounded by
/// `timeout`; the certificates are judged at `at` (None: now).
#[derive(Clone, Debug, Default)]
pub struct EndpointRequest {
    pub endpoints: Vec<String>,
    pub names: Vec<InputName>,
    pub timeout: Duration,
    pub at: Option<SystemTime>,
}

/// Checks each endpoint of `req` in turn until `cancel` (the endpoints not checked then
/// are left out), telling `events` each finding (under the endpoint's name).
pub(crate) async fn check_endpoints(
    req: &EndpointRequest,
    cancel: &CancellationToken,
    events: &EventSink,
) -> Vec<EndpointReport> {
    let mut out = Vec::new();
    for ep in &req.endpoints {
        let now = req.at.unwrap_or_else(SystemTime::now);
        let one = check_endpoint(ep, None, &req.names, req.timeout, now);
        let r = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            r = one => r,
        };
        events.findings(&r.endpoint, &r.findings);
        out.push(r);
    }
    out
}

/// Files the endpoints' findings under the names they concern: a name mismatch under that
/// name, expiry and reachability under every name. Then settles each name's verdict (`ok`
/// is false once a name has an error finding).
pub fn attach_endpoints(report: &mut Report, endpoints: &[EndpointReport]) {
    for r in endpoints {
        attach(report, &r.findings);
    }
    report.settle();
}

fn attach(report: &mut Report, findings: &[Finding]) {
    for f in findings {
        for n in report.names.iter_mut() {
            if f.code == Code::CertNameMismatch && f.name != n.name {
                continue;
            }
            let mut g = f.clone();
            g.name = n.name.clone();
            n.findings.push(g);
            n.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
        }
    }
}

/// Connects to `endpoint` (`HOST:PORT`, `[v6]:PORT`), does a TLS handshake, reads the leaf
/// certificate and judges it against `names` at time `now`. Everything (connect and
/// handshake) is bounded by `timeout`; a failure is an `ENDPOINT_UNREACHABLE` finding,
/// never an error or a hang.
///
/// The server name sent: `sni` if given, else the endpoint's host if it is a name, else
/// the host of the first name, else none (an IP address is not sent as SNI).
///
/// Findings about the certificate as a whole (`CERT_EXPIRED`, `CERT_EXPIRING`,
/// `ENDPOINT_UNREACHABLE`) carry the endpoint as their name; `CERT_NAME_MISMATCH` carries
/// the identifier that is not covered.
async fn check_endpoint(
    endpoint: &str,
    sni: Option<&str>,
    names: &[InputName],
    timeout: Duration,
    now: SystemTime,
) -> EndpointReport {
    let start = Instant::now();
    let mut report = EndpointReport {
        endpoint: endpoint.to_string(),
        sni: None,
        ok: false,
        certificate: None,
        seconds_left: None,
        findings: vec![],
        ms: 0,
    };
    let unreachable = |why: String| {
        Finding::new(
            Code::EndpointUnreachable,
            endpoint,
            why,
            format!(
                "check that {endpoint} is the right host and port, that the service is running \
                 and speaks TLS there, and that no firewall is in the way"
            ),
        )
    };
    let (host, port) = match split_host_port(endpoint) {
        Ok(hp) => hp,
        Err(why) => {
            report.findings.push(unreachable(why.to_string()));
            report.ms = start.elapsed().as_millis() as u64;
            return report;
        }
    };
    let server_name = match pick_server_name(&host, sni, names) {
        Ok(sn) => sn,
        Err(why) => {
            report.findings.push(unreachable(why.to_string()));
            report.ms = start.elapsed().as_millis() as u64;
            return report;
        }
    };
    if let ServerName::DnsName(d) = &server_name {
        report.sni = Some(d.as_ref().to_string());
    }
    let fetched = tokio::time::timeout(timeout, fetch_leaf(&host, port, server_name)).await;
    report.ms = start.elapsed().as_millis() as u64;
    let der = match fetched {
        Err(_) => {
            report.findings.push(unreachable(format!(
                "no TLS handshake with {endpoint} within {} ms (connected but silent, or no \
                 answer to the connection attempt)",
                timeout.as_millis()
            )));
            return report;
        }
        Ok(Err(why)) => {
            report.findings.push(unreachable(why.to_string()));
            return report;
        }
        Ok(Ok(der)) => der,
    };
    let cert = match parse_cert(&der) {
        Ok(c) => c,
        Err(why) => {
            report.findings.push(unreachable(format!(
                "{endpoint} served a certificate that could not be parsed: {why}"
            )));
            return report;
        }
    };
    let now_unix = unix_seconds(now);
    report.seconds_left = Some(cert.not_after_unix - now_unix);
    report.findings = judge(endpoint, &cert, names, now_unix);
    report.certificate = Some(cert);
    report.ok = !report
        .findings
        .iter()
        .any(|f| f.severity == crate::findings::Severity::Error);
    report
}

/// The certificate findings at `now_unix` (seconds since the epoch).
pub(crate) fn judge(
    endpoint: &str,
    cert: &CertInfo,
    names: &[InputName],
    now_unix: i64,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let left = cert.not_after_unix - now_unix;
    let lifetime = (cert.not_after_unix - cert.not_before_unix).max(0);
    let renew_fix = |names: &[InputName]| {
        let list = if names.is_empty() {
            "NAME...".to_string()
        } else {
            names
                .iter()
                .map(|n| n.identifier.clone())
                .collect::<Vec<_>>()
                .join(" ")
        };
        format!(
            "check the renewal job (its timer/cron and its last log), run `acme-delegate diagnose \
             {list}` to find why DNS-01 validation fails, then renew now"
        )
    };
    if left < 0 {
        out.push(Finding::new(
            Code::CertExpired,
            endpoint,
            format!(
                "the certificate served by {endpoint} (subject {}) expired on {}, {} ago",
                cert.subject,
                cert.not_after,
                human_span(-left)
            ),
            renew_fix(names),
        ));
    } else if left < EXPIRING_DAYS * DAY || left * 3 < lifetime {
        out.push(Finding::new(
            Code::CertExpiring,
            endpoint,
            format!(
                "the certificate served by {endpoint} expires on {}: {} left of a {}-day \
                 lifetime (renewal normally happens with a third of the lifetime left)",
                cert.not_after,
                human_span(left),
                lifetime / DAY
            ),
            renew_fix(names),
        ));
    }
    for n in names {
        if !cert
            .san_dns
            .iter()
            .any(|san| san_covers(san, &n.identifier))
        {
            let sans = if cert.san_dns.is_empty() {
                "no DNS names (no subjectAltName)".to_string()
            } else {
                cert.san_dns.join(", ")
            };
            out.push(Finding::new(
                Code::CertNameMismatch,
                &n.identifier,
                format!(
                    "the certificate served by {endpoint} does not cover {}; its DNS names: {sans}",
                    n.identifier
                ),
                format!(
                    "add {} to the certificate's names in the issuing client and renew, or point \
                     the check at the endpoint (and SNI) that serves it",
                    n.identifier
                ),
            ));
        }
    }
    out
}

/// Whether a subjectAltName DNS entry covers an identifier (RFC 6125 6.4): case-insensitive,
/// trailing dot ignored; a SAN `*.example.com` covers exactly one label in place of `*`
/// (`www.example.com`, not `example.com` nor `a.b.example.com`); only a whole leftmost
/// `*` label is a wildcard. An identifier `*.example.com` is covered only by the same
/// wildcard SAN.
pub(crate) fn san_covers(san: &str, identifier: &str) -> bool {
    let san = san.trim_end_matches('.').to_ascii_lowercase();
    let id = identifier.trim_end_matches('.').to_ascii_lowercase();
    if san.is_empty() || id.is_empty() {
        return false;
    }
    if san == id {
        return true;
    }
    let Some(base) = san.strip_prefix("*.") else {
        return false;
    };
    if base.contains('*') || !base.contains('.') {
        // A wildcard must sit over at least two labels (no `*.com`).
        return false;
    }
    match id.split_once('.') {
        Some((first, rest)) => !first.is_empty() && first != "*" && rest == base,
        None => false,
    }
}

/// Why an endpoint could not be reached or read (the text of its ENDPOINT_UNREACHABLE).
#[derive(Debug, thiserror::Error)]
enum EndpointError {
    #[error("endpoint {endpoint:?} is not HOST:PORT: {why}")]
    NotHostPort {
        endpoint: String,
        why: HostPortProblem,
    },
    #[error("{name:?} is not a valid server name")]
    ServerName { name: String },
    #[error("TCP connection to {host} port {port} failed: {source}")]
    Connect {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("TLS setup: {0}")]
    TlsSetup(rustls::Error),
    #[error("TLS handshake with {host} port {port} failed: {source}")]
    Handshake {
        host: String,
        port: u16,
        source: std::io::Error,
    },
    #[error("{host} port {port} sent no certificate")]
    NoCertificate { host: String, port: u16 },
}

/// What is wrong with an endpoint that is not HOST:PORT.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
enum HostPortProblem {
    #[error("an IPv6 address is written [ADDR]:PORT")]
    Ipv6Unbracketed,
    #[error("no port (443 for HTTPS)")]
    NoPort,
    #[error("empty host")]
    EmptyHost,
    #[error("port {0:?} is not a number from 1 to 65535")]
    BadPort(String),
    #[error("port 0")]
    PortZero,
}

/// Why a served certificate could not be read.
#[derive(Debug, thiserror::Error)]
enum CertError {
    #[error(transparent)]
    Der(#[from] x509_parser::nom::Err<x509_parser::error::X509Error>),
    #[error("subjectAltName: {0}")]
    SubjectAltName(x509_parser::error::X509Error),
}

fn split_host_port(endpoint: &str) -> Result<(String, u16), EndpointError> {
    let bad = |why: HostPortProblem| EndpointError::NotHostPort {
        endpoint: endpoint.to_string(),
        why,
    };
    let (host, port) = if let Some(rest) = endpoint.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| bad(HostPortProblem::Ipv6Unbracketed))?;
        (h, p)
    } else {
        endpoint
            .rsplit_once(':')
            .ok_or_else(|| bad(HostPortProblem::NoPort))?
    };
    if host.is_empty() {
        return Err(bad(HostPortProblem::EmptyHost));
    }
    if host.contains(':') && !endpoint.starts_with('[') {
        return Err(bad(HostPortProblem::Ipv6Unbracketed));
    }
    let port: u16 = port
        .parse()
        .map_err(|_| bad(HostPortProblem::BadPort(port.to_string())))?;
    if port == 0 {
        return Err(bad(HostPortProblem::PortZero));
    }
    Ok((host.to_string(), port))
}

fn pick_server_name(
    host: &str,
    sni: Option<&str>,
    names: &[InputName],
) -> Result<ServerName<'static>, EndpointError> {
    let dns = |s: &str| {
        let name = s.trim_end_matches('.').to_string();
        ServerName::try_from(name.clone()).map_err(|_| EndpointError::ServerName { name })
    };
    if let Some(s) = sni {
        return dns(s);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        if let Some(n) = names.first() {
            return dns(&n.host.to_string());
        }
        return Ok(ServerName::IpAddress(ip.into()));
    }
    dns(host)
}

async fn fetch_leaf(
    host: &str,
    port: u16,
    server_name: ServerName<'static>,
) -> Result<Vec<u8>, EndpointError> {
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|source| EndpointError::Connect {
            host: host.to_string(),
            port,
            source,
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(EndpointError::TlsSetup)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        .with_no_client_auth();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .map_err(|source| EndpointError::Handshake {
            host: host.to_string(),
            port,
            source,
        })?;
    let (_, conn) = tls.get_ref();
    let leaf = conn
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or_else(|| EndpointError::NoCertificate {
            host: host.to_string(),
            port,
        })?;
    Ok(leaf.as_ref().to_vec())
}

fn parse_cert(der: &[u8]) -> Result<CertInfo, CertError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)?;
    let v = cert.validity();
    let nb = v.not_before.timestamp();
    let na = v.not_after.timestamp();
    let san_dns = match cert.subject_alternative_name() {
        Ok(Some(ext)) => ext
            .value
            .general_names
            .iter()
            .filter_map(|g| match g {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect(),
        Ok(None) => vec![],
        Err(e) => return Err(CertError::SubjectAltName(e)),
    };
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        san_dns,
        not_before: rfc3339(nb),
        not_after: rfc3339(na),
        not_before_unix: nb,
        not_after_unix: na,
        serial: cert.raw_serial_as_string(),
    })
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// `3 days 4 hours`, `5 hours 2 minutes`, `40 seconds`.
fn human_span(secs: i64) -> String {
    let s = secs.max(0);
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if s >= DAY {
        format!(
            "{} {}",
            plural(s / DAY, "day"),
            plural(s % DAY / 3600, "hour")
        )
    } else if s >= 3600 {
        format!(
            "{} {}",
            plural(s / 3600, "hour"),
            plural(s % 3600 / 60, "minute")
        )
    } else if s >= 60 {
        plural(s / 60, "minute")
    } else {
        plural(s, "second")
    }
}

/// Accepts any certificate (we judge it ourselves) but still checks the handshake
/// signatures, so the server holds the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::parse_input;

    #[test]
    fn wildcard_matching() {
        assert!(san_covers("www.example.test", "www.example.test"));
        assert!(san_covers("WWW.Example.Test.", "www.example.test"));
        assert!(san_covers("*.example.test", "www.example.test"));
        assert!(san_covers("*.example.test", "*.example.test"));
        assert!(!san_covers("*.example.test", "example.test"));
        assert!(!san_covers("*.example.test", "a.b.example.test"));
        assert!(!san_covers("www.example.test", "*.example.test"));
        assert!(!san_covers("*.test", "example.test"));
        assert!(!san_covers("w*.example.test", "www.example.test"));
        assert!(!san_covers("*.*.test", "a.b.test"));
        assert!(!san_covers("api.example.test", "www.example.test"));
    }

    #[test]
    fn spans() {
        assert_eq!(human_span(3 * DAY + 3600), "3 days 1 hour");
        assert_eq!(human_span(59), "59 seconds");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            split_host_port("example.com:443").unwrap(),
            ("example.com".into(), 443)
        );
        assert_eq!(split_host_port("[::1]:8443").unwrap(), ("::1".into(), 8443));
        let why = |e: &str| match split_host_port(e) {
            Err(EndpointError::NotHostPort { why, .. }) => why,
            other => panic!("{e}: {other:?}"),
        };
        assert_eq!(why("example.com"), HostPortProblem::NoPort);
        assert_eq!(why("::1:443"), HostPortProblem::Ipv6Unbracketed);
        assert_eq!(why("example.com:0"), HostPortProblem::PortZero);
        assert_eq!(why(":443"), HostPortProblem::EmptyHost);
        assert_eq!(why("example.com:x"), HostPortProblem::BadPort("x".into()));
        // The words of the finding are the ones users have always read.
        assert_eq!(
            split_host_port("example.com:99999").unwrap_err().to_string(),
            "endpoint \"example.com:99999\" is not HOST:PORT: port \"99999\" is not a number from 1 to 65535"
        );
    }

    fn cert(nb: i64, na: i64, sans: &[&str]) -> CertInfo {
        CertInfo {
            subject: "CN=x".into(),
            issuer: "CN=ca".into(),
            san_dns: sans.iter().map(|s| s.to_string()).collect(),
            not_before: rfc3339(nb),
            not_after: rfc3339(na),
            not_before_unix: nb,
            not_after_unix: na,
            serial: "01".into(),
        }
    }

    #[test]
    fn judging_lifetime() {
        let names = vec![parse_input("www.example.test").unwrap()];
        let c = cert(0, 90 * DAY, &["www.example.test"]);
        let codes = |now| {
            judge("e:443", &c, &names, now)
                .iter()
                .map(|f| f.code)
                .collect::<Vec<_>>()
        };
        assert!(codes(DAY).is_empty());
        assert!(codes(59 * DAY).is_empty());
        assert_eq!(codes(61 * DAY), [Code::CertExpiring]);
        assert_eq!(codes(91 * DAY), [Code::CertExpired]);
        // A short-lived (6-day) cert is judged by the 14-day floor... and by its third.
        let short = cert(0, 6 * DAY, &["www.example.test"]);
        let f = judge("e:443", &short, &names, 0);
        assert_eq!(f[0].code, Code::CertExpiring);
        assert_eq!(f[0].severity, crate::findings::Severity::Warning);
    }
}
