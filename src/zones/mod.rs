//! Validation zones: where the TXT records live. One trait ([`kinds::ValidationZone`]) for
//! the four kinds: acme-dns, RFC 2136 + TSIG, a provider-hosted zone, a hosted service.

pub mod acme_dns;
pub mod keystore;
pub mod kinds;
pub mod provider;
pub mod rfc2136;

/// The wire part (signed UPDATE messages) lives with the other hickory code.
pub use crate::dns::update;
