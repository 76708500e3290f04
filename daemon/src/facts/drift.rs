//! The approved baselines drift checks compare against, and what they observed.
//!
//! The baselines are set by the caller (read from ClawSec's own state directory) before
//! the assessment; checks only read them. What each drift check observed is deposited
//! here so the caller can record it as the first baseline, or approve it.

use std::collections::BTreeMap;

use super::Facts;
use crate::baseline::{Baselines, Items, Observed};

#[derive(Debug, Default)]
pub(super) struct DriftState {
    baselines: Option<Baselines>,
    observed: Observed,
}

impl Facts {
    /// Gives drift checks the approved baselines for this host. Without it every drift
    /// check behaves as on a first run.
    pub fn set_baselines(&mut self, baselines: Baselines) {
        self.drift.baselines = Some(baselines);
    }

    /// The approved items of a drift check, `None` before its first approval.
    pub fn baseline(&self, check: &str) -> Option<&Items> {
        self.drift.baselines.as_ref()?.get(check)
    }

    /// Records what a drift check observed in this assessment.
    pub fn observe(&self, check: &str, items: Items) {
        self.drift.observed.record(check, items);
    }

    /// Everything drift checks observed, by check id (drained).
    pub fn take_observed(&self) -> BTreeMap<String, Items> {
        self.drift.observed.take()
    }
}
