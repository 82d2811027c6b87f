//! The result of a Test Connection: one rung per step, green or red with
//! its duration, the diagnosis of the failing rung, and the redacted
//! transcript.

use super::diagnosis::{Diagnosis, Step};
use super::transcript::TranscriptLine;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    Passed,
    Failed,
    /// Not reached because an earlier step failed.
    NotRun,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutcome {
    pub step: Step,
    pub status: StepStatus,
    pub millis: u64,
    /// What the step saw: the server's reply, where the token came from...
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionTestReport {
    pub steps: Vec<StepOutcome>,
    pub diagnosis: Option<Diagnosis>,
    pub transcript: Vec<TranscriptLine>,
    /// "Successfully connected to smtp.office365.com." on success.
    pub summary: String,
    /// Whether the token request went through the proxy.
    pub token_via_proxy: bool,
    pub total_millis: u64,
}

impl ConnectionTestReport {
    pub fn passed(&self) -> bool {
        self.diagnosis.is_none() && self.steps.iter().all(|s| s.status == StepStatus::Passed)
    }
}
