use crate::domain::portal::{
    ApprovalSettings, Approver, DEFAULT_AUP, DEFAULT_PORTAL_NAME, EmailTemplate, PortalSettings,
};
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct PortalRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub guest_type_id: i64,
    pub max_per_hour: i64,
    pub allowed_domains: String,
    pub blocked_domains: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub require_aup: bool,
    pub aup_text: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub email_credentials: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub show_credentials: bool,
    pub email_subject: String,
    pub email_text: String,
    pub email_html: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub require_approval: bool,
    pub approver: String,
    pub approver_emails: String,
    pub approval_link_minutes: i64,
    #[sqlx(try_from = "super::codec::Flag")]
    pub approval_sign_in: bool,
    pub approval_deny_after_hours: i64,
    pub approval_subject: String,
    pub approval_text: String,
    pub approval_html: String,
    pub denial_subject: String,
    pub denial_text: String,
    pub denial_html: String,
    pub default_language: String,
    pub time_zone: String,
    pub updated_at: i64,
    pub updated_by: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

impl PortalRow {
    pub fn settings(&self) -> PortalSettings {
        PortalSettings {
            name: self.name.clone(),
            description: self.description.clone(),
            guest_type_id: self.guest_type_id,
            max_per_hour: self.max_per_hour.clamp(1, i64::from(u32::MAX)) as u32,
            allowed_domains: lines(&self.allowed_domains),
            blocked_domains: lines(&self.blocked_domains),
            require_aup: self.require_aup,
            aup_text: self.aup_text.clone(),
            email_credentials: self.email_credentials,
            show_credentials: self.show_credentials,
            email: EmailTemplate {
                subject: self.email_subject.clone(),
                text: self.email_text.clone(),
                html: self.email_html.clone(),
            },
            approval: ApprovalSettings {
                required: self.require_approval,
                approver: Approver::parse(&self.approver).unwrap_or(Approver::PersonVisited),
                approver_emails: lines(&self.approver_emails),
                link_minutes: self.approval_link_minutes.clamp(1, i64::from(u32::MAX)) as u32,
                sign_in: self.approval_sign_in,
                deny_after_hours: self.approval_deny_after_hours.clamp(1, i64::from(u32::MAX))
                    as u32,
                request_email: stored_or(
                    &self.approval_subject,
                    &self.approval_text,
                    &self.approval_html,
                    EmailTemplate::approval_default,
                ),
                denial_email: stored_or(
                    &self.denial_subject,
                    &self.denial_text,
                    &self.denial_html,
                    EmailTemplate::denial_default,
                ),
            },
            default_language: self.default_language.clone(),
            time_zone: self.time_zone.clone(),
            // Kept in their own table: `languages::portal_settings`.
            translations: Vec::new(),
        }
    }
}

/// A template as stored; the default until the portal is saved with one.
fn stored_or(
    subject: &str,
    text: &str,
    html: &str,
    default: fn() -> EmailTemplate,
) -> EmailTemplate {
    if subject.is_empty() && text.is_empty() {
        default()
    } else {
        EmailTemplate {
            subject: subject.to_string(),
            text: text.to_string(),
            html: html.to_string(),
        }
    }
}

const SELECT: &str = "SELECT id, name, description, guest_type_id, max_per_hour, allowed_domains, \
     blocked_domains, require_aup, aup_text, email_credentials, show_credentials, email_subject, \
     email_text, email_html, require_approval, approver, approver_emails, approval_link_minutes, \
     approval_sign_in, approval_deny_after_hours, approval_subject, approval_text, approval_html, denial_subject, denial_text, denial_html, \
     default_language, time_zone, updated_at, updated_by FROM guest_portals";

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<PortalRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY lower(name)"))
        .fetch_all(db)
        .await
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<PortalRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// The first portal created: the Self-Registered Guest Portal (default).
pub async fn first(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<PortalRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY id LIMIT 1"))
        .fetch_optional(db)
        .await
}

/// Creates ISE's Self-Registered Guest Portal (default) on a database
/// that has no portal yet, with the Daily guest type as ISE does.
pub async fn ensure_default(db: impl AnyExecutor<'_>, now: i64) -> sqlx::Result<()> {
    let email = EmailTemplate::ise_default();
    sqlx::query(
        "INSERT INTO guest_portals (name, description, guest_type_id, max_per_hour, allowed_domains, \
         blocked_domains, require_aup, aup_text, email_credentials, show_credentials, email_subject, \
         email_text, email_html, updated_at, updated_by) \
         SELECT $1, $2, t.id, 10, '', '', TRUE, $3, TRUE, TRUE, $4, $5, $6, $7, 'system' \
         FROM guest_types t WHERE NOT EXISTS (SELECT 1 FROM guest_portals) \
         ORDER BY t.name <> 'Daily (default)', t.id LIMIT 1 ON CONFLICT DO NOTHING",
    )
    .bind(DEFAULT_PORTAL_NAME)
    .bind("Guests register themselves and receive their credentials by email.")
    .bind(DEFAULT_AUP)
    .bind(&email.subject)
    .bind(&email.text)
    .bind(&email.html)
    .bind(now)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn update(
    db: impl AnyExecutor<'_>,
    id: i64,
    settings: &PortalSettings,
    now: i64,
    by: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE guest_portals SET name = $1, description = $2, guest_type_id = $3, max_per_hour = $4, \
         allowed_domains = $5, blocked_domains = $6, require_aup = $7, aup_text = $8, \
         email_credentials = $9, show_credentials = $10, email_subject = $11, email_text = $12, \
         email_html = $13, updated_at = $14, updated_by = $15, require_approval = $17, \
         approver = $18, approver_emails = $19, approval_link_minutes = $20, approval_subject = $21, \
         approval_text = $22, approval_html = $23, denial_subject = $24, denial_text = $25, \
         denial_html = $26, approval_sign_in = $27, approval_deny_after_hours = $28, \
         default_language = $29, time_zone = $30 WHERE id = $16",
    )
    .bind(&settings.name)
    .bind(&settings.description)
    .bind(settings.guest_type_id)
    .bind(i64::from(settings.max_per_hour))
    .bind(settings.allowed_domains.join("\n"))
    .bind(settings.blocked_domains.join("\n"))
    .bind(settings.require_aup)
    .bind(&settings.aup_text)
    .bind(settings.email_credentials)
    .bind(settings.show_credentials)
    .bind(&settings.email.subject)
    .bind(&settings.email.text)
    .bind(&settings.email.html)
    .bind(now)
    .bind(by)
    .bind(id)
    .bind(settings.approval.required)
    .bind(settings.approval.approver.as_str())
    .bind(settings.approval.approver_emails.join("\n"))
    .bind(i64::from(settings.approval.link_minutes))
    .bind(&settings.approval.request_email.subject)
    .bind(&settings.approval.request_email.text)
    .bind(&settings.approval.request_email.html)
    .bind(&settings.approval.denial_email.subject)
    .bind(&settings.approval.denial_email.text)
    .bind(&settings.approval.denial_email.html)
    .bind(settings.approval.sign_in)
    .bind(i64::from(settings.approval.deny_after_hours))
    .bind(&settings.default_language)
    .bind(&settings.time_zone)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}
