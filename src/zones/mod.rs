//! Writing to DNS zones: RFC 2136 dynamic updates signed with TSIG, and acme-dns.

pub mod rfc2136;

/// The wire part (signed UPDATE messages) lives with the other hickory code.
pub use crate::dns::update;
