//! Issuing clients (lego, certbot, acme.sh, cert-manager, Caddy, Traefik, CertMate):
//! [`read`] finds where a client's config will write the TXT record; [`write`](mod@write) writes a
//! client's config for a plan (pure: plan -> files + the next command).

pub mod read;
pub mod write;

#[cfg(test)]
mod roundtrip;
