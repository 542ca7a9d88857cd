//! Issuing clients (lego, certbot, acme.sh, cert-manager, Caddy, Traefik, CertMate):
//! [`read`] finds where a client's config will write the TXT record.

pub mod read;
