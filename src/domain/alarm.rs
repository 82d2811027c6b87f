//! The alarm catalogue: what Mailroom raises, how bad it is by default,
//! and what the admin should do about it. The editable part (enabled,
//! severity, email, suppression, thresholds) is stored per code.

use super::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::Warning => "Warning",
            Severity::Info => "Info",
        }
    }

    pub fn parse(value: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmCode {
    SecretExpiring,
    SecretExpired,
    CertificateCredentialExpiring,
    CertificateCredentialExpired,
    TokenAcquisitionFailed,
    SmtpUnreachable,
    DeliveryFailed,
    TrustedCertificateExpiring,
    SendingQuotaExceeded,
    MailboxFull,
    NodeDisconnected,
    SystemCertificateExpiring,
    NextSecretAdopted,
    NextCertificateAdopted,
    ScheduledBackupFailed,
}

/// One entry of the catalogue, with its defaults.
pub struct AlarmDefinition {
    pub code: AlarmCode,
    pub name: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub action: &'static str,
    /// Days before an expiry at which the alarm is raised again, Warning
    /// then Critical; empty for alarms that are not about a date.
    pub warning_days: &'static [u32],
    pub critical_days: &'static [u32],
}

impl AlarmCode {
    pub const ALL: [AlarmCode; 15] = [
        AlarmCode::SecretExpiring,
        AlarmCode::SecretExpired,
        AlarmCode::CertificateCredentialExpiring,
        AlarmCode::CertificateCredentialExpired,
        AlarmCode::TokenAcquisitionFailed,
        AlarmCode::SmtpUnreachable,
        AlarmCode::DeliveryFailed,
        AlarmCode::TrustedCertificateExpiring,
        AlarmCode::SendingQuotaExceeded,
        AlarmCode::MailboxFull,
        AlarmCode::NodeDisconnected,
        AlarmCode::SystemCertificateExpiring,
        AlarmCode::NextSecretAdopted,
        AlarmCode::NextCertificateAdopted,
        AlarmCode::ScheduledBackupFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlarmCode::SecretExpiring => "smtp-oauth-secret-expiring",
            AlarmCode::SecretExpired => "smtp-oauth-secret-expired",
            AlarmCode::CertificateCredentialExpiring => "smtp-oauth-certificate-expiring",
            AlarmCode::CertificateCredentialExpired => "smtp-oauth-certificate-expired",
            AlarmCode::TokenAcquisitionFailed => "oauth-token-failed",
            AlarmCode::SmtpUnreachable => "smtp-unreachable",
            AlarmCode::DeliveryFailed => "email-delivery-failed",
            AlarmCode::TrustedCertificateExpiring => "trusted-certificate-expiring",
            AlarmCode::SendingQuotaExceeded => "sending-quota-exceeded",
            AlarmCode::MailboxFull => "sending-mailbox-full",
            AlarmCode::NodeDisconnected => "node-disconnected",
            AlarmCode::SystemCertificateExpiring => "system-certificate-expiring",
            AlarmCode::NextSecretAdopted => "smtp-oauth-next-secret-adopted",
            AlarmCode::NextCertificateAdopted => "smtp-oauth-next-certificate-adopted",
            AlarmCode::ScheduledBackupFailed => "configuration-backup-failed",
        }
    }

    pub fn parse(value: &str) -> Option<AlarmCode> {
        AlarmCode::ALL.into_iter().find(|c| c.as_str() == value)
    }

    /// Whether the alarm counts down to a date (and so has thresholds).
    pub fn has_thresholds(self) -> bool {
        !self.definition().warning_days.is_empty() || !self.definition().critical_days.is_empty()
    }

    pub fn definition(self) -> AlarmDefinition {
        let d =
            |name, severity, description, action, warning_days, critical_days| AlarmDefinition {
                code: self,
                name,
                severity,
                description,
                action,
                warning_days,
                critical_days,
            };
        match self {
            AlarmCode::SecretExpiring => d(
                "SMTP OAuth client secret about to expire",
                Severity::Warning,
                "The client secret of the Entra ID app that signs in to the SMTP server expires soon; after that no email can be sent.",
                "In the Entra admin center, open the app registration > Certificates & secrets, add a new client secret, then on Administration > System > Settings > SMTP Server stage it as the Next Client Secret with its expiry date (next secret staged: this alarm clears, and delivery switches to it by itself when Entra ID refuses the current one), or paste it as the Client Secret and save.",
                &[30, 15],
                &[7, 1],
            ),
            AlarmCode::SecretExpired => d(
                "SMTP OAuth client secret expired",
                Severity::Critical,
                "The client secret's expiry date has passed: Entra ID answers AADSTS7000222 and no email is sent.",
                "Create a new client secret for the app in the Entra admin center, paste its Value and expiry date on the SMTP Server page and save, then Test Connection.",
                &[],
                &[],
            ),
            AlarmCode::CertificateCredentialExpiring => d(
                "SMTP OAuth certificate credential about to expire",
                Severity::Warning,
                "The certificate the app signs its token requests with expires soon.",
                "On the SMTP Server page, generate or upload a Next Certificate and upload it to the app registration > Certificates & secrets > Certificates (next certificate staged: this alarm clears, and delivery switches to it by itself when Entra ID refuses the current one), then Test and Switch Now.",
                &[30, 15],
                &[7, 1],
            ),
            AlarmCode::CertificateCredentialExpired => d(
                "SMTP OAuth certificate credential expired",
                Severity::Critical,
                "The certificate credential has expired: Entra ID refuses the signed assertion and no email is sent.",
                "Generate a new certificate on the SMTP Server page, upload it to the app registration, select it and save.",
                &[],
                &[],
            ),
            AlarmCode::TokenAcquisitionFailed => d(
                "OAuth token acquisition failed",
                Severity::Critical,
                "Mailroom could not get an access token from Entra ID for the SMTP mailbox.",
                "Open Operations > Mail Queue, select a failed message and follow its diagnosis, or run Test Connection on the SMTP Server page.",
                &[],
                &[],
            ),
            AlarmCode::SmtpUnreachable => d(
                "SMTP server unreachable",
                Severity::Critical,
                "Mailroom could not open a connection to the SMTP server; email waits in the queue.",
                "Check the SMTP server name and port (smtp.office365.com:587), the proxy and firewall rules, then run Test Connection.",
                &[],
                &[],
            ),
            AlarmCode::DeliveryFailed => d(
                "Email delivery failed",
                Severity::Warning,
                "A message was moved to dead letters: the SMTP server refused it permanently or every retry failed.",
                "Open Operations > Mail Queue > Dead letters, read the message's diagnosis, fix the cause and press Retry.",
                &[],
                &[],
            ),
            AlarmCode::TrustedCertificateExpiring => d(
                "Trusted certificate about to expire",
                Severity::Warning,
                "A certificate in the Trusted Certificates store expires soon (or has expired); TLS to servers it anchors will fail.",
                "Import the renewed certificate on Administration > System > Certificates > Trusted Certificates and delete the old one.",
                &[30],
                &[7],
            ),
            AlarmCode::SystemCertificateExpiring => d(
                "System certificate about to expire",
                Severity::Warning,
                "A certificate a node serves HTTPS with (Admin or Portal) expires soon or has expired: browsers will refuse the console or the guest portals.",
                "On Administration > System > Certificates, generate a Certificate Signing Request for the node, have the CA sign it and Bind it (or Import a renewed certificate with its key) with the same usages; the next connection gets it, and the alarm clears.",
                &[30, 15],
                &[7, 1],
            ),
            AlarmCode::NextSecretAdopted => d(
                "SMTP OAuth switched to the next client secret",
                Severity::Info,
                "Entra ID refused the current client secret (AADSTS7000215 or AADSTS7000222) and the staged next secret worked: delivery uses it from now on, with its expiry date.",
                "Remove the old secret from the app registration > Certificates & secrets in Entra ID, and stage a new next secret before this one expires.",
                &[],
                &[],
            ),
            AlarmCode::NextCertificateAdopted => d(
                "SMTP OAuth switched to the next certificate",
                Severity::Info,
                "Entra ID refused the current certificate credential (AADSTS700027: not registered on the app any more, or expired) and the staged next certificate worked: delivery signs with it from now on.",
                "Check that the old certificate was meant to go from the app registration > Certificates & secrets > Certificates, and stage a new next certificate before this one expires.",
                &[],
                &[],
            ),
            AlarmCode::ScheduledBackupFailed => d(
                "Configuration backup failed",
                Severity::Critical,
                "A scheduled configuration backup did not complete: the repository refused the file (its folder cannot be made, the disk is full or read-only) or no Encryption Key is stored for the schedule. Until a backup succeeds, a lost database cannot be brought back from a recent one.",
                "Read the failed run's details in the history on Administration > System > Backup & Restore, fix the repository (Maintenance > Repository > Validate) or the schedule's key, then press Backup Now; the alarm clears when a backup succeeds.",
                &[],
                &[],
            ),
            AlarmCode::SendingQuotaExceeded => d(
                "Sending quota exceeded",
                Severity::Warning,
                "Exchange Online refused a message with 554 5.2.0 SubmissionQuotaExceededException: the mailbox's daily recipient quota is used up. Its messages stay queued and sending resumes when the rolling 24 hours free up.",
                "Lower Recipients per day on the SMTP Server page's Sending Limits to what the mailbox may send (10,000 for Exchange Online, shared with anything else that sends as it), or spread bulk guest mail over more time.",
                &[],
                &[],
            ),
            AlarmCode::MailboxFull => d(
                "Sending mailbox full",
                Severity::Critical,
                "Exchange Online refused a message with 554 5.2.2: the sending mailbox is over its storage quota, usually because every message sent is kept in its Sent Items.",
                "Empty the mailbox's Sent Items, and stop keeping copies of messages sent over SMTP: set a retention policy on Sent Items, or in Exchange Online PowerShell run Set-Mailbox with -MessageCopyForSentAsEnabled $false and -MessageCopyForSendOnBehalfEnabled $false. Messages wait in the queue meanwhile.",
                &[],
                &[],
            ),
            AlarmCode::NodeDisconnected => d(
                "Node is disconnected",
                Severity::Critical,
                "A node of the deployment stopped sending heartbeats without leaving cleanly: it crashed, lost its network or cannot reach the database. The other nodes take over its mail and jobs once its leases run out.",
                "Check the node's host and its Mailroom service, and its connection to PostgreSQL. If the node is gone for good, Deregister it on Administration > System > Deployment; the alarm clears when it reconnects or is deregistered.",
                &[],
                &[],
            ),
        }
    }
}

/// The editable settings of one catalogue entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSetting {
    pub code: AlarmCode,
    pub enabled: bool,
    pub severity: Severity,
    pub send_email: bool,
    pub suppress_hours: u32,
    pub warning_days: Vec<u32>,
    pub critical_days: Vec<u32>,
}

impl AlarmSetting {
    pub fn default_for(code: AlarmCode) -> Self {
        let definition = code.definition();
        AlarmSetting {
            code,
            enabled: true,
            severity: definition.severity,
            send_email: true,
            suppress_hours: 24,
            warning_days: definition.warning_days.to_vec(),
            critical_days: definition.critical_days.to_vec(),
        }
    }

    /// The threshold an expiry `days_left` away has reached, and its
    /// severity: the smallest threshold at or above `days_left`.
    pub fn threshold_for(&self, days_left: i64) -> Option<(u32, Severity)> {
        let critical = self
            .critical_days
            .iter()
            .filter(|d| i64::from(**d) >= days_left)
            .min()
            .map(|d| (*d, Severity::Critical));
        let warning = self
            .warning_days
            .iter()
            .filter(|d| i64::from(**d) >= days_left)
            .min()
            .map(|d| (*d, Severity::Warning));
        match (critical, warning) {
            (Some(c), Some(w)) => Some(if w.0 < c.0 { w } else { c }),
            (c, w) => c.or(w),
        }
    }
}

/// The Alarm Settings row as posted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AlarmSettingForm {
    pub enabled: bool,
    pub severity: String,
    pub send_email: bool,
    pub suppress_hours: String,
    pub warning_days: String,
    pub critical_days: String,
}

/// "30, 15" as days, largest first; each 1 to 365, at most 6.
pub fn parse_days(field: &str, value: &str) -> Result<Vec<u32>, FieldError> {
    let mut days = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<u32>() {
            Ok(d) if (1..=365).contains(&d) => days.push(d),
            _ => {
                return Err(FieldError::new(
                    field,
                    format!("'{part}' is not a number of days from 1 to 365."),
                ));
            }
        }
    }
    days.sort_unstable_by(|a, b| b.cmp(a));
    days.dedup();
    if days.len() > 6 {
        return Err(FieldError::new(field, "At most 6 thresholds."));
    }
    Ok(days)
}

pub fn format_days(days: &[u32]) -> String {
    days.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl AlarmSettingForm {
    pub fn validate(&self, code: AlarmCode) -> Result<AlarmSetting, FieldError> {
        let severity = Severity::parse(&self.severity)
            .ok_or_else(|| FieldError::new("severity", "Choose Critical, Warning or Info."))?;
        let suppress_hours = self
            .suppress_hours
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|h| *h <= 720)
            .ok_or_else(|| {
                FieldError::new("suppress_hours", "Enter a number of hours from 0 to 720.")
            })?;
        let (warning_days, critical_days) = if code.has_thresholds() {
            let warning = parse_days("warning_days", &self.warning_days)?;
            let critical = parse_days("critical_days", &self.critical_days)?;
            if warning.is_empty() && critical.is_empty() {
                return Err(FieldError::new(
                    "warning_days",
                    "Enter at least one threshold, in Warning or Critical days.",
                ));
            }
            if let Some(day) = critical.iter().find(|d| warning.contains(d)) {
                return Err(FieldError::new(
                    "critical_days",
                    format!("{day} days is both a Warning and a Critical threshold."),
                ));
            }
            (warning, critical)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(AlarmSetting {
            code,
            enabled: self.enabled,
            severity,
            send_email: self.send_email,
            suppress_hours,
            warning_days,
            critical_days,
        })
    }
}

/// An alarm as the dashboard and Operations > Alarms show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmView {
    pub id: i64,
    pub code: AlarmCode,
    pub name: String,
    pub severity: Severity,
    pub details: String,
    pub action: String,
    pub occurrences: i64,
    pub first_at: i64,
    pub last_at: i64,
    pub acknowledged_by: Option<String>,
    pub cleared_at: Option<i64>,
    pub cleared_by: Option<String>,
}

impl AlarmView {
    /// "New", "Acknowledged by ..." or "Cleared by ...".
    pub fn status(&self) -> String {
        match (&self.cleared_by, &self.acknowledged_by) {
            (Some(by), _) => format!("Cleared by {by}"),
            (None, Some(by)) => format!("Acknowledged by {by}"),
            (None, None) => "New".to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmAction {
    Acknowledge,
    Clear,
}

/// One catalogue row as Alarm Settings shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSettingRow {
    pub setting: AlarmSetting,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmSettingsPage {
    pub rows: Vec<AlarmSettingRow>,
    /// The saved Alarm Notification sender ("" when none).
    pub sender: String,
    /// The SMTP mailbox, when the SMTP Server page signs in with OAuth.
    pub oauth_mailbox: Option<String>,
    /// How many admins receive alarm emails.
    pub recipients: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_alarm_escalates_through_its_default_thresholds() {
        let setting = AlarmSetting::default_for(AlarmCode::SecretExpiring);
        assert_eq!(setting.threshold_for(31), None);
        assert_eq!(setting.threshold_for(30), Some((30, Severity::Warning)));
        assert_eq!(setting.threshold_for(16), Some((30, Severity::Warning)));
        assert_eq!(setting.threshold_for(15), Some((15, Severity::Warning)));
        assert_eq!(setting.threshold_for(7), Some((7, Severity::Critical)));
        assert_eq!(setting.threshold_for(1), Some((1, Severity::Critical)));
        assert_eq!(setting.threshold_for(0), Some((1, Severity::Critical)));
    }

    #[test]
    fn thresholds_are_validated_next_to_their_field() {
        let mut form = AlarmSettingForm {
            enabled: true,
            severity: "warning".into(),
            send_email: true,
            suppress_hours: "24".into(),
            warning_days: "45, 20".into(),
            critical_days: "5".into(),
        };
        let valid = form.validate(AlarmCode::SecretExpiring).unwrap();
        assert_eq!(valid.warning_days, vec![45, 20]);
        form.warning_days = "0".into();
        assert_eq!(
            form.validate(AlarmCode::SecretExpiring).unwrap_err().field,
            "warning_days"
        );
        form.warning_days = "5".into();
        assert_eq!(
            form.validate(AlarmCode::SecretExpiring).unwrap_err().field,
            "critical_days"
        );
        form.suppress_hours = "x".into();
        assert_eq!(
            form.validate(AlarmCode::SecretExpiring).unwrap_err().field,
            "suppress_hours"
        );
        form.suppress_hours = "1".into();
        form.severity = "bad".into();
        assert_eq!(
            form.validate(AlarmCode::DeliveryFailed).unwrap_err().field,
            "severity"
        );
    }
}
