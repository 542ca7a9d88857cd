//! The DNS providers a provider-hosted validation zone may be at: lego's provider codes
//! (`lego dnshelp`), the vocabulary every client config acme-delegate writes uses. A code
//! outside the list is refused with the nearest known one.

/// lego's DNS provider codes (v4), sorted.
pub const PROVIDERS: &[&str] = &[
    "acme-dns",
    "alidns",
    "allinkl",
    "arvancloud",
    "auroradns",
    "autodns",
    "azure",
    "azuredns",
    "bindman",
    "bluecat",
    "brandit",
    "bunny",
    "checkdomain",
    "civo",
    "clouddns",
    "cloudflare",
    "cloudns",
    "cloudru",
    "cloudxns",
    "conoha",
    "constellix",
    "corenetworks",
    "cpanel",
    "derak",
    "desec",
    "designate",
    "digitalocean",
    "directadmin",
    "dnshomede",
    "dnsimple",
    "dnsmadeeasy",
    "dnspod",
    "dode",
    "domeneshop",
    "dreamhost",
    "duckdns",
    "dyn",
    "dynu",
    "easydns",
    "edgedns",
    "efficientip",
    "epik",
    "exec",
    "exoscale",
    "freemyip",
    "gandi",
    "gandiv5",
    "gcloud",
    "gcore",
    "glesys",
    "godaddy",
    "googledomains",
    "hetzner",
    "hostingde",
    "hosttech",
    "httpnet",
    "httpreq",
    "hurricane",
    "hyperone",
    "ibmcloud",
    "iij",
    "iijdpf",
    "infoblox",
    "infomaniak",
    "internetbs",
    "inwx",
    "ionos",
    "ipv64",
    "iwantmyname",
    "joker",
    "liara",
    "lightsail",
    "limacity",
    "linode",
    "liquidweb",
    "loopia",
    "luadns",
    "mailinabox",
    "metaname",
    "mijnhost",
    "mittwald",
    "mydnsjp",
    "mythicbeasts",
    "namecheap",
    "namedotcom",
    "namesilo",
    "nearlyfreespeech",
    "netcup",
    "netlify",
    "nicmanager",
    "nifcloud",
    "njalla",
    "nodion",
    "ns1",
    "oraclecloud",
    "otc",
    "ovh",
    "pdns",
    "plesk",
    "porkbun",
    "rackspace",
    "rcodezero",
    "regru",
    "rfc2136",
    "rimuhosting",
    "route53",
    "safedns",
    "sakuracloud",
    "scaleway",
    "selectel",
    "selectelv2",
    "selfhostde",
    "servercow",
    "shellrent",
    "simply",
    "sonic",
    "stackpath",
    "tencentcloud",
    "timewebcloud",
    "transip",
    "ultradns",
    "variomedia",
    "vegadns",
    "vercel",
    "versio",
    "vinyldns",
    "vkcloud",
    "vscale",
    "vultr",
    "webnames",
    "websupport",
    "wedos",
    "westcn",
    "yandex",
    "yandex360",
    "yandexcloud",
    "zoneee",
    "zonomi",
];

/// A `--provider` code lego does not know: the code given and the nearest known one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("--provider {code:?} is not a DNS provider code that lego knows; did you mean {nearest:?}? (`lego dnshelp` lists them all)")]
pub struct UnknownProvider {
    /// The code as given.
    pub code: String,
    /// The known code nearest to it (Damerau-Levenshtein distance).
    pub nearest: &'static str,
}

/// The known provider code `code` stands for (case ignored), or an error that names the
/// nearest known code and where the list comes from.
pub fn known_provider(code: &str) -> Result<String, UnknownProvider> {
    let lower = code.trim().to_ascii_lowercase();
    if PROVIDERS.contains(&lower.as_str()) {
        return Ok(lower);
    }
    let nearest = PROVIDERS
        .iter()
        .copied()
        .min_by_key(|p| strsim::damerau_levenshtein(&lower, p))
        .expect("the list is not empty");
    Err(UnknownProvider {
        code: code.to_string(),
        nearest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_unique() {
        assert!(PROVIDERS.windows(2).all(|w| w[0] < w[1]));
    }

    /// An unknown code is refused, naming the nearest known one (main accepted any).
    #[test]
    fn an_unknown_provider_is_refused_with_the_nearest() {
        assert_eq!(known_provider("Cloudflare").unwrap(), "cloudflare");
        assert_eq!(known_provider("pdns").unwrap(), "pdns");
        let e = known_provider("no such").unwrap_err().to_string();
        assert!(
            e.contains("\"no such\"") && e.contains("did you mean"),
            "{e}"
        );
        let e = known_provider("cloudfare").unwrap_err();
        assert_eq!(e.nearest, "cloudflare");
        assert!(e.to_string().contains("did you mean \"cloudflare\""), "{e}");
        let e = known_provider("route-53").unwrap_err();
        assert_eq!((e.code.as_str(), e.nearest), ("route-53", "route53"));
        assert!(e.to_string().contains("did you mean \"route53\""), "{e}");
    }
}
