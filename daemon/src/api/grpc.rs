//! `clawsec.v1` over gRPC: peer credentials in, service call, protobuf out.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::Arc;

use clawsec_proto::pb;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::uds::{CallGuard, Peer, Refusals};
use crate::attest::Format;
use crate::checks::{Domain, Severity, Status as CheckStatus};
use crate::posture::PostureDoc;
use crate::roles::Caller;
use crate::scoring::Tier;
use crate::service::{Service, ServiceError, Snapshot};

/// The gRPC face of the service.
#[derive(Debug, Clone)]
pub struct Api {
    service: Arc<Service>,
    refusals: Arc<Refusals>,
}

impl Api {
    pub fn new(service: Arc<Service>, refusals: Arc<Refusals>) -> Self {
        Api { service, refusals }
    }

    /// Logs who called what and how it ended (the audit trail's source). Calls that
    /// change something (Assess, Reload, RotateKey, ApproveBaseline) are INFO; reads,
    /// which agents and dashboards make all day, are DEBUG. Refusals go through the
    /// per-minute summary, so a flood of refused calls is a few lines.
    fn audit<T>(&self, rpc: &str, who: &Caller, result: &Result<T, Status>) {
        const CHANGES: [&str; 4] = ["Assess", "Reload", "RotateKey", "ApproveBaseline"];
        match result {
            Ok(_) if CHANGES.contains(&rpc) => {
                tracing::info!(rpc, uid = who.uid, pid = who.pid, "ok")
            }
            Ok(_) => tracing::debug!(rpc, uid = who.uid, pid = who.pid, "ok"),
            Err(s) => self.refusals.record(
                Some(who.uid),
                &format!("{rpc} refused ({:?})", s.code()),
                s.message(),
            ),
        }
    }
}

/// Every service error, mapped once to its gRPC status.
pub fn status(e: ServiceError) -> Status {
    let msg = e.to_string();
    match e {
        ServiceError::PermissionDenied { .. } => Status::permission_denied(msg),
        ServiceError::RateLimited { .. } => Status::resource_exhausted(msg),
        ServiceError::InvalidArgument(_) => Status::invalid_argument(msg),
        ServiceError::Unavailable(_) => Status::unavailable(msg),
        ServiceError::TooMany(_) => Status::resource_exhausted(msg),
        ServiceError::Internal(_) => Status::internal(msg),
    }
}

/// The caller, from the socket's peer credentials. No credentials, no service.
/// The caller, from the connection's peer credentials, and the guard that marks a
/// call in progress on its connection (so it is not closed as idle) until dropped.
fn caller<T>(req: &Request<T>) -> Result<(Caller, CallGuard), Status> {
    let peer = req
        .extensions()
        .get::<Peer>()
        .ok_or_else(|| Status::unauthenticated("no peer credentials on this connection"))?;
    if let Some(reason) = &peer.refused {
        return Err(Status::resource_exhausted(format!(
            "too many connections: {reason}"
        )));
    }
    let cred = peer
        .cred
        .ok_or_else(|| Status::unauthenticated("no peer credentials on this connection"))?;
    Ok((
        Caller::from_peer(cred.uid(), cred.gid(), cred.pid()),
        peer.call(),
    ))
}

fn tier(t: Tier) -> i32 {
    (match t {
        Tier::High => pb::TrustTier::High,
        Tier::Medium => pb::TrustTier::Medium,
        Tier::Low => pb::TrustTier::Low,
        Tier::Untrusted => pb::TrustTier::Untrusted,
    }) as i32
}

fn severity(s: Severity) -> i32 {
    (match s {
        Severity::Critical => pb::Severity::Critical,
        Severity::High => pb::Severity::High,
        Severity::Medium => pb::Severity::Medium,
        Severity::Low => pb::Severity::Low,
    }) as i32
}

fn check_status(s: CheckStatus) -> i32 {
    (match s {
        CheckStatus::Pass => pb::CheckStatus::Pass,
        CheckStatus::Fail => pb::CheckStatus::Fail,
        CheckStatus::Error => pb::CheckStatus::Error,
        CheckStatus::NotApplicable => pb::CheckStatus::NotApplicable,
        CheckStatus::Waived => pb::CheckStatus::Waived,
    }) as i32
}

/// The protobuf form of a posture document.
pub fn posture(doc: &PostureDoc) -> pb::Posture {
    pb::Posture {
        trust_tier: tier(doc.trust_tier),
        overall_score: doc.overall_score,
        domains: Domain::ALL
            .iter()
            .filter_map(|d| doc.domains.get(d.id()).map(|dd| (d, dd)))
            .map(|(d, dd)| pb::DomainPosture {
                domain: d.id().to_owned(),
                score: dd.score,
                counts: Some(pb::OutcomeCounts {
                    pass: dd.counts.pass,
                    fail: dd.counts.fail,
                    error: dd.counts.error,
                    not_applicable: dd.counts.not_applicable,
                    waived: dd.counts.waived,
                }),
                stale: false,
            })
            .collect(),
        checks: doc
            .checks
            .iter()
            .map(|c| pb::CheckResult {
                id: c.id.to_owned(),
                domain: c.domain.id().to_owned(),
                severity: severity(c.severity),
                status: check_status(c.status),
                title: c.title.to_owned(),
                evidence: c
                    .evidence
                    .iter()
                    .map(|e| pb::Evidence {
                        path: e.path().unwrap_or_default().to_owned(),
                        line: e.line_no(),
                        detail: e.detail().to_owned(),
                        fingerprint: e.fingerprint_text().unwrap_or_default(),
                    })
                    .collect(),
                remediation: c.remediation.to_owned(),
                reason: c.reason.clone().unwrap_or_default(),
            })
            .collect(),
        critical_failures: doc.critical_failures.clone(),
        waived: doc
            .waived
            .iter()
            .map(|w| pb::Waiver {
                check_id: w.check.clone(),
                reason: w.reason.clone(),
                expires: w.expires.clone(),
            })
            .collect(),
        assessed_at: doc.generated_at.clone(),
        catalog_digest: doc.catalog_digest.clone(),
        config_digest: doc.config_digest.clone(),
        checks_digest: doc.checks_digest.clone(),
        coverage: doc.coverage.mode.to_owned(),
        coverage_notes: doc.coverage.notes.clone(),
    }
}

fn counters(c: &crate::events::Counters) -> pb::EventCounters {
    use std::sync::atomic::Ordering::Relaxed;
    pb::EventCounters {
        watching: c.watching.load(Relaxed),
        events: c.events.load(Relaxed),
        targeted_runs: c.targeted_runs.load(Relaxed),
        overflows: c.overflows.load(Relaxed),
        lost_watches: c.lost_watches.load(Relaxed),
        full_rescans: c.full_rescans.load(Relaxed),
        process_runs: c.process_runs.load(Relaxed),
        process_events: c.process_events.load(Relaxed),
        process_events_relevant: c.process_events_relevant.load(Relaxed),
        kernel_process_events: c.kernel_process_events.load(Relaxed),
    }
}

fn parse_tier(t: i32) -> Option<Tier> {
    match pb::TrustTier::try_from(t).ok()? {
        pb::TrustTier::High => Some(Tier::High),
        pb::TrustTier::Medium => Some(Tier::Medium),
        pb::TrustTier::Low => Some(Tier::Low),
        pb::TrustTier::Untrusted => Some(Tier::Untrusted),
        pb::TrustTier::Unspecified => None,
    }
}

fn parse_format(f: &str) -> Result<Format, Status> {
    match f {
        "" | "json" => Ok(Format::Json),
        "jws" => Ok(Format::Jws),
        "dsse" => Ok(Format::Dsse),
        other => Err(Status::invalid_argument(format!(
            "format {other:?} is not json, jws or dsse"
        ))),
    }
}

/// A snapshot's posture (converted once per snapshot) with the domains that are stale now
/// marked: GetPosture and WatchPosture give the same answer.
fn with_stale(snap: &Snapshot, stale: &BTreeSet<Domain>) -> pb::Posture {
    let mut p = snap.proto.get_or_init(|| posture(&snap.posture)).clone();
    if !stale.is_empty() {
        for d in &mut p.domains {
            d.stale = Domain::parse(&d.domain).is_some_and(|d| stale.contains(&d));
        }
    }
    p
}

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::PostureEvent, Status>> + Send>>;

#[tonic::async_trait]
impl pb::claw_sec_server::ClawSec for Api {
    async fn get_posture(
        &self,
        req: Request<pb::GetPostureRequest>,
    ) -> Result<Response<pb::GetPostureResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let with_document = req.get_ref().with_document;
        let result =
            self.service
                .get_posture(&who)
                .map_err(status)
                .map(|snap| pb::GetPostureResponse {
                    posture: Some(with_stale(&snap, &self.service.stale_domains())),
                    age_ms: snap.age().as_millis() as u64,
                    events: Some(counters(&self.service.counters())),
                    document: if with_document {
                        self.service.posture_document(&snap)
                    } else {
                        String::new()
                    },
                });
        self.audit("GetPosture", &who, &result);
        result.map(Response::new)
    }

    async fn get_attestation(
        &self,
        req: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let r = req.into_inner();
        let result = match parse_format(&r.format) {
            Ok(format) => {
                let nonce = Some(r.nonce).filter(|n| !n.is_empty());
                self.service
                    .get_attestation(&who, nonce, format)
                    .await
                    .map_err(status)
                    .map(|(document_json, digest)| pb::GetAttestationResponse {
                        document_json,
                        digest,
                    })
            }
            Err(e) => Err(e),
        };
        self.audit("GetAttestation", &who, &result);
        result.map(Response::new)
    }

    async fn assess(
        &self,
        req: Request<pb::AssessRequest>,
    ) -> Result<Response<pb::AssessResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let started = std::time::Instant::now();
        let domains = req.into_inner().domains;
        let result = self
            .service
            .assess(&who, &domains)
            .await
            .map_err(status)
            .map(|snap| pb::AssessResponse {
                posture: Some(posture(&snap.posture)),
                duration_ms: started.elapsed().as_millis() as u64,
                document: self.service.posture_document(&snap),
            });
        self.audit("Assess", &who, &result);
        result.map(Response::new)
    }

    type WatchPostureStream = WatchStream;

    async fn watch_posture(
        &self,
        req: Request<pb::WatchPostureRequest>,
    ) -> Result<Response<Self::WatchPostureStream>, Status> {
        let (who, _call) = caller(&req)?;
        let result = self.service.open_watch(&who).map_err(status);
        self.audit("WatchPosture", &who, &result);
        let (rx, permit) = result?;
        let service = Arc::clone(&self.service);
        // The first event is the current posture (nothing "changed" in it); then one per
        // change of tier, score, any check's outcome or which domains are stale
        // (re-signing alone is not a change). `changed_checks` is relative to the previous
        // event this watcher got, not to the previous snapshot: a watcher that was slow
        // to read may skip snapshots, and must still hear every outcome that moved.
        let mut last: Option<(Tier, u32, String, BTreeSet<Domain>)> = None;
        let mut last_outcomes: Option<
            std::collections::HashMap<&'static str, crate::checks::Status>,
        > = None;
        let stream = tokio_stream::wrappers::WatchStream::new(rx).filter_map(move |snap| {
            // The stream owns the permit and the call: the watch stops counting, and
            // its connection may turn idle, when it is dropped.
            let _counted = (&permit, &_call);
            let stale = service.stale_domains();
            let key = (
                snap.posture.trust_tier,
                snap.posture.overall_score,
                snap.posture.checks_digest.clone(),
                stale.clone(),
            );
            if last.as_ref() == Some(&key) {
                return None;
            }
            last = Some(key);
            let outcomes: std::collections::HashMap<_, _> = snap
                .posture
                .checks
                .iter()
                .map(|c| (c.id, c.status))
                .collect();
            let changed_checks = match &last_outcomes {
                None => Vec::new(),
                Some(before) => {
                    let mut changed: Vec<String> = outcomes
                        .iter()
                        .filter(|(id, st)| before.get(*id) != Some(*st))
                        .map(|(id, _)| (*id).to_owned())
                        .collect();
                    changed.sort();
                    changed
                }
            };
            last_outcomes = Some(outcomes);
            Some(Ok(pb::PostureEvent {
                posture: Some(with_stale(&snap, &stale)),
                changed_checks,
                seq: snap.attestation.seq,
            }))
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_inventory(
        &self,
        req: Request<pb::GetInventoryRequest>,
    ) -> Result<Response<pb::GetInventoryResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let format = req.into_inner().format;
        let result = self
            .service
            .inventory(&who, &format)
            .await
            .map_err(status)
            .map(|document| pb::GetInventoryResponse { document });
        self.audit("GetInventory", &who, &result);
        result.map(Response::new)
    }

    async fn list_checks(
        &self,
        req: Request<pb::ListChecksRequest>,
    ) -> Result<Response<pb::ListChecksResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let result =
            self.service
                .list_checks(&who)
                .map_err(status)
                .map(|cat| pb::ListChecksResponse {
                    checks: cat
                        .iter()
                        .map(|c| pb::CheckInfo {
                            id: c.id.to_owned(),
                            domain: c.domain.id().to_owned(),
                            severity: severity(c.severity),
                            title: c.title.to_owned(),
                            rationale: c.rationale.to_owned(),
                            remediation: c.remediation.to_owned(),
                            references: c.references.iter().map(|r| (*r).to_owned()).collect(),
                            reads: c.reads().iter().map(|r| (*r).to_owned()).collect(),
                        })
                        .collect(),
                    catalog_digest: crate::checks::catalog_digest(cat),
                });
        self.audit("ListChecks", &who, &result);
        result.map(Response::new)
    }

    async fn authorize(
        &self,
        req: Request<pb::AuthorizeRequest>,
    ) -> Result<Response<pb::AuthorizeResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let r = req.into_inner();
        let result = self
            .service
            .authorize(&who, &r.action, parse_tier(r.min_tier))
            .map_err(status)
            .map(|(d, snap)| pb::AuthorizeResponse {
                allow: d.allow,
                reasons: d.reasons,
                attestation_digest: snap.attestation_digest.clone(),
                trust_tier: tier(snap.posture.trust_tier),
                overall_score: snap.posture.overall_score,
            });
        match &result {
            Ok(a) => tracing::info!(
                rpc = "Authorize",
                uid = who.uid,
                pid = who.pid,
                action = r.action,
                allow = a.allow,
                "decided"
            ),
            Err(_) => self.audit("Authorize", &who, &result),
        }
        result.map(Response::new)
    }

    async fn approve_baseline(
        &self,
        req: Request<pb::ApproveBaselineRequest>,
    ) -> Result<Response<pb::ApproveBaselineResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let ids = req.into_inner().check_ids;
        let result = self
            .service
            .approve_baseline(&who, ids)
            .await
            .map_err(status)
            .map(|approved| pb::ApproveBaselineResponse { approved });
        self.audit("ApproveBaseline", &who, &result);
        result.map(Response::new)
    }

    async fn reload(
        &self,
        req: Request<pb::ReloadRequest>,
    ) -> Result<Response<pb::ReloadResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let result = self
            .service
            .reload(&who)
            .map_err(status)
            .map(|r| pb::ReloadResponse {
                reloaded: true,
                config_digest: r.config_digest,
                restart_required: r.restart_required,
            });
        self.audit("Reload", &who, &result);
        result.map(Response::new)
    }

    async fn rotate_key(
        &self,
        req: Request<pb::RotateKeyRequest>,
    ) -> Result<Response<pb::RotateKeyResponse>, Status> {
        let (who, _call) = caller(&req)?;
        let result =
            self.service
                .rotate_key(&who)
                .await
                .map_err(status)
                .map(|(key_id, previous_key_id)| pb::RotateKeyResponse {
                    key_id,
                    previous_key_id,
                });
        self.audit("RotateKey", &who, &result);
        result.map(Response::new)
    }
}
