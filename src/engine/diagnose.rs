//! `diagnose`: everything `check` gathers, plus the evidence the troubleshooter needs —
//! CAA up the tree at the CA's stand-in resolver, CD retries of SERVFAILs, the target
//! zone's signing status, a wildcard probe, and the issuing clients' configs.

use crate::clients::read::ClientKind;
use crate::clients::read::{self as clients, parse_client_config, ClientWrite};
use crate::dns::walk::Zone;
use crate::dns::{
    Caa, Exchange, Name, Outcome, QueryFlags, Question, RData, RecordType, Transport,
};
use crate::engine::check::{name_done, run_done, unfinished, CheckOptions};
use crate::engine::engine::Run;
use crate::engine::events::{CancellationToken, Event, EventSink};
use crate::engine::views::{Vantage, VantageKind};
use crate::findings::evidence::End;
use crate::findings::rules::chain::{merge_same, rules, NameEvidence};
use crate::findings::rules::diagnose::{
    caa_rules, chain_extra_rules, delegation_rules, dnssec_rules, soa_walk_rule, two_values_rule,
    type_rules, usable, CaaLookup, CdRetry, DiagnoseEvidence, ServerProbe, SoaWalk, TypeProbe,
    ZoneHealth, ZoneSigning,
};
use crate::findings::Code;
use crate::findings::{Finding, Severity};
use crate::model::name::InputName;
use crate::report::{self, Report};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

/// What to diagnose: the names, and how.
#[derive(Clone, Debug, Default)]
pub struct DiagnoseRequest {
    pub names: Vec<InputName>,
    pub options: DiagnoseOptions,
}

/// Options of one diagnose run.
#[derive(Clone, Debug)]
pub struct DiagnoseOptions {
    pub check: CheckOptions,
    /// The CA's CAA issuer domain (`letsencrypt.org`).
    pub ca: String,
    /// Issuing-client configs to read (`--client-config`).
    pub client_configs: Vec<PathBuf>,
}

impl Default for DiagnoseOptions {
    fn default() -> Self {
        DiagnoseOptions {
            check: CheckOptions::default(),
            ca: "letsencrypt.org".into(),
            client_configs: vec![],
        }
    }
}

impl<T: Transport> Run<T> {
    /// The resolver that stands in for the CA: the first configured one, else the system's.
    fn ca_vantage(&self) -> Option<&Vantage> {
        self.vantages()
            .iter()
            .find(|v| v.kind == VantageKind::Resolver)
            .or_else(|| self.vantages().first())
    }

    /// RFC 8659: the CAA set of the closest node at or above the host that has one.
    async fn caa_lookup(&self, host: &Name) -> CaaLookup {
        let mut out = CaaLookup::default();
        let Some(v) = self.ca_vantage() else {
            return out;
        };
        out.vantage = v.name.clone();
        let mut node = host.clone();
        while !node.is_root() {
            let ex = self
                .caa_nodes
                .get_or_init(node.clone(), || {
                    let q = Question::new(node.clone(), RecordType::CAA);
                    let t = self.walker().transport().clone();
                    let addr = v.addr;
                    async move { t.ask(addr, &q, QueryFlags::recursive()).await }
                })
                .await;
            out.exchanges.push(ex.clone());
            match &ex.outcome {
                Outcome::Answer(r) => {
                    let set: Vec<Caa> = r
                        .answers
                        .iter()
                        .filter_map(|a| match &a.data {
                            RData::CAA(c) => Some(c.clone()),
                            _ => None,
                        })
                        .collect();
                    if !set.is_empty() {
                        out.relevant = Some((node.clone(), set));
                        return out;
                    }
                }
                Outcome::NoData(_) | Outcome::NxDomain(_) => {}
                _ => {
                    out.failed = Some(ex);
                    return out;
                }
            }
            node = node.parent();
        }
        out
    }

    async fn cd_retries(&self, ev: &NameEvidence) -> Vec<CdRetry> {
        let mut out = Vec::new();
        for rv in &ev.resolvers {
            if !matches!(rv.exchange.outcome, Outcome::ServFail(_)) {
                continue;
            }
            let flags = QueryFlags {
                checking_disabled: true,
                ..QueryFlags::recursive()
            };
            let ex = self
                .walker()
                .transport()
                .ask(rv.vantage.addr, &rv.exchange.question, flags)
                .await;
            if usable(&ex) {
                let broken_zone = self.broken_zone(rv.vantage.addr, ev).await;
                out.push(CdRetry {
                    vantage: rv.vantage.name.clone(),
                    servfail: rv.exchange.clone(),
                    with_cd: ex,
                    broken_zone,
                });
            }
        }
        out
    }

    /// The first zone of the chain (in chain order) whose SOA `resolver` answers with
    /// SERVFAIL but answers with checking disabled: where its chain of trust breaks. None
    /// when no zone of the chain fails that way.
    async fn broken_zone(&self, resolver: std::net::SocketAddr, ev: &NameEvidence) -> Option<Name> {
        let mut zones: Vec<Name> = Vec::new();
        for s in &ev.chain.steps {
            if !s.zone.apex.is_root() && !zones.contains(&s.zone.apex) {
                zones.push(s.zone.apex.clone());
            }
        }
        let t = self.walker().transport();
        for z in zones {
            let q = Question::new(z.clone(), RecordType::SOA);
            let plain = t.ask(resolver, &q, QueryFlags::recursive()).await;
            if !matches!(plain.outcome, Outcome::ServFail(_)) {
                continue;
            }
            let cd = QueryFlags {
                checking_disabled: true,
                ..QueryFlags::recursive()
            };
            if usable(&t.ask(resolver, &q, cd).await) {
                return Some(z);
            }
        }
        None
    }

    /// The zones of the expected target and of every planned target: where the client
    /// writes.
    async fn write_zones(&self, ev: &NameEvidence, opts: &CheckOptions) -> Vec<Name> {
        let mut targets: Vec<Name> = ev.expect_target.iter().cloned().collect();
        targets.extend(opts.planned.values().cloned());
        targets.sort();
        targets.dedup();
        let mut zones = Vec::new();
        for t in targets {
            let z = self.walker().zone_of(t).await.zone.apex.clone();
            if !z.is_root() && !zones.contains(&z) {
                zones.push(z);
            }
        }
        zones
    }

    /// The zone of the first hop's target.
    async fn first_target_zone(&self, ev: &NameEvidence) -> Option<Name> {
        let first = ev.chain.hops.first()?;
        Some(
            self.walker()
                .zone_of(first.target.clone())
                .await
                .zone
                .apex
                .clone(),
        )
    }

    async fn wildcard_probe(&self, ev: &NameEvidence) -> Option<Exchange> {
        let first = ev.chain.steps.first()?;
        if ev.chain.hops.is_empty() {
            return None;
        }
        let label = format!("_acme-delegate-probe-{:08x}", rand::random::<u32>());
        let q = Question::new(ev.input.host.prepend(&label), RecordType::TXT);
        self.walker()
            .first_authoritative(&first.zone.servers, &q)
            .await
    }

    /// DNSKEY at the target's zone, DS at its parent: asked once per zone.
    async fn signing(&self, ev: &NameEvidence) -> Option<ZoneSigning> {
        if (ev.chain.hops.is_empty() && !ev.challenge_is_cut()) || ev.chain.steps.is_empty() {
            return None;
        }
        let zone = ev.chain.steps.last()?.zone.clone();
        if zone.apex.is_root() {
            return None;
        }
        let apex = zone.apex.clone();
        let signing = self.signing.get_or_init(apex.clone(), || async move {
            let w = self.walker();
            let has = |ex: Option<Exchange>, t: RecordType| {
                ex.and_then(|e| {
                    e.outcome
                        .reply()
                        .map(|r| r.answers.iter().any(|a| a.rtype() == t))
                })
                .unwrap_or(false)
            };
            let q = Question::new(apex.clone(), RecordType::DNSKEY);
            let has_dnskey = has(
                w.first_authoritative(&zone.servers, &q).await,
                RecordType::DNSKEY,
            );
            let has_ds = if has_dnskey {
                let parent = w.zone_of(apex.parent()).await;
                let q = Question::new(apex.clone(), RecordType::DS);
                has(
                    w.first_authoritative(&parent.zone.servers, &q).await,
                    RecordType::DS,
                )
            } else {
                false
            };
            ZoneSigning {
                zone: apex,
                has_dnskey,
                has_ds,
            }
        });
        Some(signing.await)
    }

    /// The delegation of one zone: its own NS set and name-server addresses, and each of
    /// its servers asked the SOA over UDP, TCP, without EDNS and in mixed case. Once per
    /// zone and run.
    async fn zone_health(&self, zone: Arc<Zone>) -> ZoneHealth {
        let apex = zone.apex.clone();
        self.health
            .get_or_init(apex.clone(), || async move {
                let w = self.walker();
                let soa = Question::new(apex.clone(), RecordType::SOA);
                let probes = zone.servers.iter().map(|s| {
                    let t = w.transport().clone();
                    let q = soa.clone();
                    async move {
                        let base = QueryFlags {
                            strict_edns: true,
                            ..QueryFlags::authoritative()
                        };
                        let (udp, tcp, mixed) = tokio::join!(
                            t.ask(s.addr, &q, base),
                            t.ask(s.addr, &q, QueryFlags { tcp: true, ..base }),
                            t.ask(
                                s.addr,
                                &q,
                                QueryFlags {
                                    mixed_case: true,
                                    ..base
                                }
                            ),
                        );
                        let plain = !udp.outcome.is_usable()
                            || udp.outcome.reply().is_some_and(|r| !r.edns);
                        let no_edns = if plain {
                            Some(
                                t.ask(
                                    s.addr,
                                    &q,
                                    QueryFlags {
                                        no_edns: true,
                                        ..base
                                    },
                                )
                                .await,
                            )
                        } else {
                            None
                        };
                        ServerProbe {
                            ns: s.name.clone(),
                            addr: s.addr,
                            udp,
                            tcp,
                            no_edns,
                            mixed,
                        }
                    }
                });
                let servers = futures::future::join_all(probes).await;
                let nsq = Question::new(apex.clone(), RecordType::NS);
                let child_ns = w
                    .first_authoritative(&zone.servers, &nsq)
                    .await
                    .and_then(|ex| {
                        let r = ex.outcome.reply()?;
                        let v: Vec<Name> = r
                            .answers
                            .iter()
                            .filter(|a| a.name == apex)
                            .filter_map(|a| match &a.data {
                                RData::NS(n) => Some(n.clone()),
                                _ => None,
                            })
                            .collect();
                        (!v.is_empty()).then_some(v)
                    });
                let mut glue_names: Vec<Name> = Vec::new();
                for (n, _) in &zone.glue {
                    if n.is_subdomain_of(&apex) && !glue_names.contains(n) {
                        glue_names.push(n.clone());
                    }
                }
                let mut child_addrs = Vec::new();
                for n in glue_names {
                    let mut ips: Vec<IpAddr> = Vec::new();
                    let mut answered = false;
                    for t in [RecordType::A, RecordType::AAAA] {
                        let q = Question::new(n.clone(), t);
                        if let Some(ex) = w.first_authoritative(&zone.servers, &q).await {
                            answered = true;
                            let r = ex.outcome.reply().expect("authoritative has a reply");
                            ips.extend(r.answers.iter().filter(|a| a.name == n).filter_map(|a| {
                                match a.data {
                                    RData::A(ip) => Some(IpAddr::V4(ip)),
                                    RData::AAAA(ip) => Some(IpAddr::V6(ip)),
                                    _ => None,
                                }
                            }));
                        }
                    }
                    if answered {
                        child_addrs.push((n, ips));
                    }
                }
                ZoneHealth {
                    zone,
                    child_ns,
                    child_addrs,
                    servers,
                }
            })
            .await
    }

    /// The health of every zone on the chain whose servers answered at all.
    async fn health(&self, ev: &NameEvidence) -> Vec<ZoneHealth> {
        let mut zones: Vec<Arc<Zone>> = Vec::new();
        for s in &ev.chain.steps {
            let answered = s.exchanges.iter().any(|(_, e)| e.outcome.is_usable());
            if answered && !s.zone.apex.is_root() && !zones.iter().any(|z| z.apex == s.zone.apex) {
                zones.push(s.zone.clone());
            }
        }
        futures::future::join_all(zones.into_iter().map(|z| self.zone_health(z))).await
    }

    /// `A <target>` of each server of the target's zone whose TXT answer said the name
    /// exists.
    async fn type_probe(&self, ev: &NameEvidence) -> Option<TypeProbe> {
        if ev.chain.hops.is_empty() && !ev.challenge_is_cut() {
            return None;
        }
        let owner = match &ev.chain.end {
            End::Txt { owner, .. } | End::NoData { owner, .. } => owner.clone(),
            _ => return None,
        };
        let step = ev.chain.steps.last()?;
        let q = Question::new(owner.clone(), RecordType::A);
        let asks = step
            .exchanges
            .iter()
            .filter(|(_, e)| matches!(e.outcome, Outcome::Answer(_) | Outcome::NoData(_)))
            .map(|(ns, e)| {
                let t = self.walker().transport().clone();
                let q = q.clone();
                let addr = e.server;
                let ns = ns.clone();
                async move { (ns, t.ask(addr, &q, QueryFlags::authoritative()).await) }
            });
        let asked = futures::future::join_all(asks).await;
        Some(TypeProbe { owner, asked })
    }

    /// lego's and cert-manager's zone discovery (`FindZoneByFqdn`) from the system
    /// resolver: SOA of the name where the TXT goes, then of each parent, until an answer
    /// holds an SOA record (a CNAME answer is skipped, NXDOMAIN and NODATA go on, any other
    /// answer ends the walk without a zone).
    async fn soa_walk(&self, ev: &NameEvidence) -> Option<SoaWalk> {
        let v = self
            .vantages()
            .iter()
            .find(|v| v.kind == VantageKind::System)?;
        if !matches!(
            ev.chain.end,
            End::Txt { .. } | End::NxDomain { .. } | End::NoData { .. }
        ) {
            return None;
        }
        let start = ev
            .chain
            .target()
            .cloned()
            .unwrap_or_else(|| ev.input.challenge.clone());
        let t = self.walker().transport().clone();
        let mut asked = Vec::new();
        let mut node = start.clone();
        let mut found = None;
        while !node.is_root() {
            let q = Question::new(node.clone(), RecordType::SOA);
            let ex = t.ask(v.addr, &q, QueryFlags::recursive()).await;
            let outcome = ex.outcome.clone();
            asked.push(ex);
            match &outcome {
                Outcome::Answer(r) => {
                    let cname = r.answers.iter().any(|a| matches!(a.data, RData::CNAME(_)));
                    let soa = r.answers.iter().find_map(|a| match a.data {
                        RData::SOA(_) => Some(a.name.clone()),
                        _ => None,
                    });
                    if let (false, Some(z)) = (cname, soa) {
                        found = Some(z);
                        break;
                    }
                }
                Outcome::NoData(_) | Outcome::NxDomain(_) => {}
                _ => break,
            }
            node = node.parent();
        }
        Some(SoaWalk {
            resolver: format!("{} ({})", v.name, v.addr),
            start,
            asked,
            found,
        })
    }

    /// Gathers the troubleshooter's evidence for one name, telling `events` each answer
    /// and hop of the chain.
    pub(crate) async fn diagnose_evidence(
        &self,
        input: &InputName,
        opts: &DiagnoseOptions,
        events: &EventSink,
    ) -> DiagnoseEvidence {
        let base = self.evidence(input, &opts.check, events).await;
        let (write_zones, first_target_zone) = tokio::join!(
            self.write_zones(&base, &opts.check),
            self.first_target_zone(&base)
        );
        let (caa, cd_retries, wildcard_probe, signing, health, type_probe, soa_walk) = tokio::join!(
            self.caa_lookup(&input.host),
            self.cd_retries(&base),
            self.wildcard_probe(&base),
            self.signing(&base),
            self.health(&base),
            self.type_probe(&base),
            self.soa_walk(&base)
        );
        DiagnoseEvidence {
            base,
            ca: opts.ca.clone(),
            caa,
            cd_retries,
            wildcard_probe,
            signing,
            health,
            type_probe,
            soa_walk,
            write_zones,
            first_target_zone,
            walk_client: None,
        }
    }

    /// Diagnoses every name concurrently in this run (names keep the input order),
    /// telling `events` what it learns while it works, until
    /// `cancel`. A name's findings are sent when it is done, except the few that compare
    /// names (acme-dns's two values), which are sent at the end.
    pub async fn diagnose(
        self: &Arc<Self>,
        req: &DiagnoseRequest,
        cancel: &CancellationToken,
        events: &EventSink,
    ) -> Report {
        let (names, opts) = (&req.names, &req.options);
        events.emit(|| Event::RunStarted { names: names.len() });
        let paths = opts.client_configs.clone();
        let clients = Arc::new(
            tokio::task::spawn_blocking(move || read_clients(&paths))
                .await
                .unwrap_or_default(),
        );
        let done = Arc::new(AtomicUsize::new(0));
        let total = names.len();
        let results = self
            .per_name(names, cancel, |me, n| {
                let opts = opts.clone();
                let events = events.clone();
                let clients = clients.clone();
                let done = done.clone();
                async move {
                    let mut ev = me.diagnose_evidence(&n, &opts, &events).await;
                    ev.base.system_client = system_client(&clients, &n, false);
                    ev.walk_client = system_client(&clients, &n, true);
                    let own = diagnose_rules(&ev);
                    let client = client_rules(&clients, &ev);
                    let all = merge_same(own.iter().chain(&client).cloned().collect());
                    events.findings(&n.identifier, &all);
                    let ok = !all.iter().any(|f| f.severity == Severity::Error);
                    name_done(&events, &done, total, &n.identifier, ok);
                    (ev, own, client)
                }
            })
            .await;
        // Names whose task failed (or was cancelled) still appear, in the input order.
        let mut evs = Vec::new();
        let mut rest = Vec::new();
        for r in results {
            match r {
                Some((ev, own, client)) => {
                    evs.push(ev);
                    rest.push(Some((own, client)));
                }
                None => rest.push(None),
            }
        }
        let two = two_values_rule(&evs);
        let mut evs = evs.iter();
        let mut out = Vec::new();
        for (r, n) in rest.into_iter().zip(names) {
            let Some(((mut findings, client), ev)) = r.and_then(|r| Some((r, evs.next()?))) else {
                out.push(unfinished(n, cancel, "diagnosing"));
                continue;
            };
            if let Some(f) = two.get(&ev.base.input.identifier) {
                events.findings(&n.identifier, std::slice::from_ref(f));
                findings.push(f.clone());
            }
            findings.extend(client);
            let mut findings = merge_same(findings);
            findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
            out.push(report::name_report(&ev.base, findings));
        }
        run_done(events, &out, cancel);
        Report {
            version: 1,
            names: out,
        }
    }
}

/// All rules for one name: `check`'s, with SERVFAILs that are DNSSEC failures reported as
/// such, plus the troubleshooter's.
pub(crate) fn diagnose_rules(ev: &DiagnoseEvidence) -> Vec<Finding> {
    let mut base = ev.base.clone();
    base.resolvers
        .retain(|rv| !ev.cd_retries.iter().any(|c| c.vantage == rv.vantage.name));
    let mut f = rules(&base);
    if f.iter()
        .any(|x| crate::findings::rules::chain::blinds(x.code))
    {
        // Nothing read from this network can be trusted: that one finding is the report.
        return f;
    }
    f.extend(dnssec_rules(ev));
    f.extend(caa_rules(ev));
    f.extend(chain_extra_rules(ev));
    f.extend(delegation_rules(ev));
    f.extend(type_rules(ev));
    f.extend(soa_walk_rule(ev));
    f
}

/// The issuing client, among the configs read, that follows the CNAME and checks
/// propagation with the system resolver (lego, cert-manager), for this name; with `walk`,
/// one that also finds its zone by an SOA walk there (none pinned; lego's rfc2136 provider
/// asks its own server instead).
fn system_client(configs: &ClientConfigs, input: &InputName, walk: bool) -> Option<String> {
    configs
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flatten()
        .filter(|w| clients::rules::applies_to(w, input))
        .find(|w| {
            matches!(w.client, ClientKind::Lego | ClientKind::CertManager)
                && (!walk
                    || (w.zone.is_none()
                        && !(w.client == ClientKind::Lego && w.method == "rfc2136")))
        })
        .map(|w| w.client.to_string())
}

type ClientConfigs = Vec<(
    PathBuf,
    Result<Vec<ClientWrite>, clients::ClientConfigError>,
)>;

fn read_clients(paths: &[PathBuf]) -> ClientConfigs {
    paths
        .iter()
        .map(|p| (p.clone(), parse_client_config(p)))
        .collect()
}

fn client_rules(configs: &ClientConfigs, ev: &DiagnoseEvidence) -> Vec<Finding> {
    let input = &ev.base.input;
    let chain = &ev.base.chain;
    let target = chain.target();
    let target_zone = (!chain.hops.is_empty())
        .then(|| chain.steps.last().map(|s| s.zone.apex.clone()))
        .flatten();
    let challenge_zone = chain.steps.first().map(|s| s.zone.apex.clone());
    let cut = ev.base.challenge_is_cut();
    let mut out = Vec::new();
    for (_, parsed) in configs {
        match parsed {
            Err(e) => out.push(clients::rules::unreadable_finding(e, input)),
            Ok(writes) => {
                for w in writes
                    .iter()
                    .filter(|w| clients::rules::applies_to(w, input))
                {
                    if cut && w.client == ClientKind::CertManager {
                        out.push(
                            Finding::new(
                                Code::ChallengeZoneCut,
                                &input.identifier,
                                format!(
                                    "{} is a zone of its own (delegated by NS), and the cert-manager solver in {} must write the TXT in it: cert-manager releases before the fix of its issue #3055 look for the zone above the cut and fail",
                                    input.challenge,
                                    w.source.display()
                                ),
                                format!("run a cert-manager release with the fix of issue #3055, or replace the NS delegation of {} with a CNAME into a validation zone", input.challenge),
                            )
                            .severity(Severity::Warning),
                        );
                    }
                    out.extend(clients::rules::client_findings(
                        w,
                        input,
                        target,
                        target_zone.as_ref(),
                        challenge_zone.as_ref(),
                    ));
                }
            }
        }
    }
    out
}
