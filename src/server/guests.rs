//! Guest accounts: creating them (with their credentials email, in the
//! same transaction), and the scheduled job (the PAN persona's) that sends
//! each guest its expiration notice once, as its guest type says, and
//! expires accounts at their end of access. Time comes from the injected
//! clock.

use crate::domain::guest::{GuestDetails, GuestEmailForm, GuestEmailSettings, GuestState};
use crate::domain::language::GuestEmail;
use crate::domain::mail::MailKind;
use crate::domain::portal::PortalSettings;
use crate::domain::template::{Part, render};
use crate::domain::{EmailAddress, Secret};
use crate::server::AppState;
use crate::server::db;
use crate::server::guest_approval::ApprovalAsk;
use crate::server::languages;
use crate::server::mail::{Outgoing, Queued};
use std::time::Duration;

/// The vault purpose of a guest's password while it may still be resent.
pub const PASSWORD_PURPOSE: &str = "guest.password";
/// Who the job's emails are recorded as created by.
const JOB: &str = "guest-expiry-job";
const BATCH: i64 = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryRun {
    pub notices: usize,
    pub expired: usize,
    /// Requests for approval nobody decided in time, now Denied.
    pub denied: usize,
}

/// One account to create.
pub struct NewAccount {
    pub first_name: String,
    pub last_name: String,
    pub email: Option<EmailAddress>,
    pub company: String,
    pub person_visited: String,
    pub guest_type_id: i64,
    pub valid_from: i64,
    pub valid_until: i64,
    /// None for self-registration.
    pub sponsor: Option<SponsorRef>,
    pub portal: String,
    pub registered_ip: Option<String>,
    /// A chosen user name (Random accounts); else one from the address.
    pub username: Option<String>,
    /// A chosen password (the ERS API); else one is generated.
    pub password: Option<Secret>,
    /// What the ERS API's GuestUser carries beyond the portal's fields.
    pub extras: GuestExtras,
    /// The notification language (a tag); empty: the portal's default.
    pub language: String,
}

/// A guest's phone, location, reason for visit and description (ERS).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestExtras {
    pub phone: String,
    pub location: String,
    pub reason_for_visit: String,
    pub description: String,
}

/// The sponsor of new accounts.
#[derive(Debug, Clone)]
pub struct SponsorRef {
    /// The sponsor user and its group; `None` for an admin through ERS.
    pub id: Option<i64>,
    pub group_id: Option<i64>,
    pub username: String,
    pub email: String,
}

pub struct CreatedAccount {
    pub id: i64,
    pub username: String,
    pub password: Secret,
    /// The credentials email, when one was queued.
    pub mail: Option<(i64, String)>,
}

/// ISE's guest passwords: 8 characters from letters and digits that cannot
/// be mistaken for one another (no 0/O, 1/l/I).
pub fn generate_guest_password() -> Secret {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let password: String = (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect();
    Secret::new(password)
}

/// Argon2id with 8 MiB and one pass: a random 8-character password from
/// 55 symbols (46 bits) needs no more, and a sponsor creating 1,000
/// guests must not wait a minute for hashing.
pub fn hash_guest_password(password: &Secret) -> anyhow::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let params =
        Params::new(8 * 1024, 1, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password failed: {e}"))?
        .to_string())
}

/// A user name from the guest's address (ISE's default username policy):
/// the local part, lowercased, letters, digits, dots, dashes, underscores.
fn username_base(account: &NewAccount) -> String {
    let source = match &account.email {
        Some(email) => email.as_str().split('@').next().unwrap_or("").to_string(),
        None => format!("{}.{}", account.first_name, account.last_name),
    };
    let base: String = source
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(40)
        .collect();
    let base = base.trim_matches('.').to_string();
    if base.is_empty() {
        "guest".into()
    } else {
        base
    }
}

/// Creates `accounts` in one transaction, with each guest's credentials
/// email (from `portal`'s texts, in the guest's language) queued in it
/// when there is a portal and the Guest Email Settings allow. Passwords
/// are hashed first, on blocking threads, two at a time per core.
pub async fn create_accounts(
    state: &AppState,
    accounts: &[NewAccount],
    portal: Option<&PortalSettings>,
    approval: Option<&ApprovalAsk<'_>>,
    created_by: &str,
) -> anyhow::Result<Vec<CreatedAccount>> {
    let passwords: Vec<Secret> = accounts
        .iter()
        .map(|a| a.password.clone().unwrap_or_else(generate_guest_password))
        .collect();
    let hashes = hash_all(&passwords).await?;
    let settings = email_settings(state).await?;
    let now = state.now();
    let now_ms = state.now_ms();
    let mut tx = crate::server::db::begin_write(&state.db).await?;
    let mut created = Vec::with_capacity(accounts.len());
    let mut queued: Vec<Queued> = Vec::new();
    for ((account, password), hash) in accounts.iter().zip(passwords).zip(hashes) {
        let base = account
            .username
            .clone()
            .unwrap_or_else(|| username_base(account));
        let mut username = base.clone();
        let mut suffix = 1;
        while db::guests::username_taken(&mut *tx, &username).await? {
            suffix += 1;
            username = format!("{base}{suffix}");
        }
        let sponsor = account.sponsor.as_ref();
        let sponsor_email = sponsor.map(|s| s.email.as_str()).filter(|e| !e.is_empty());
        let email = account.email.as_ref().map(|e| e.as_str()).unwrap_or("");
        let id = db::guests::insert(
            &mut *tx,
            &db::guests::NewGuest {
                username: &username,
                password_hash: &hash,
                state: if approval.is_some() {
                    GuestState::PendingApproval
                } else {
                    GuestState::Created
                },
                first_name: &account.first_name,
                last_name: &account.last_name,
                email,
                company: &account.company,
                person_visited: &account.person_visited,
                guest_type_id: account.guest_type_id,
                valid_from: account.valid_from,
                valid_until: account.valid_until,
                sponsor: sponsor.map(|s| s.username.as_str()),
                sponsor_email,
                portal: &account.portal,
                registered_ip: account.registered_ip.as_deref(),
                sponsor_id: sponsor.and_then(|s| s.id),
                sponsor_group_id: sponsor.and_then(|s| s.group_id),
                extras: &account.extras,
                approval_deadline: approval
                    .map(|ask| now + i64::from(ask.portal.approval.deny_after_hours) * 3600),
                language: &account.language,
            },
            now,
        )
        .await?;
        // Kept sealed while the credentials may be resent.
        state
            .vault
            .put_in(&mut *tx, PASSWORD_PURPOSE, &id.to_string(), &password, now)
            .await?;
        let mut mail = None;
        let details = GuestDetails {
            username: username.clone(),
            password: Some(password.expose().to_string()),
            first_name: account.first_name.clone(),
            last_name: account.last_name.clone(),
            email: email.to_string(),
            company: account.company.clone(),
            sponsor_name: sponsor.map(|s| s.username.clone()).unwrap_or_default(),
            person_visited: account.person_visited.clone(),
            portal_name: account.portal.clone(),
            valid_from: account.valid_from,
            valid_until: account.valid_until,
            dates: None,
        };
        if let Some(ask) = approval {
            // The approver sees who asks; the password goes out only on approval.
            let asking = GuestDetails {
                password: None,
                ..details.clone()
            };
            queued.extend(
                crate::server::guest_approval::queue_request(
                    state, &mut tx, &settings, ask, id, &asking, created_by, now, now_ms,
                )
                .await?,
            );
        } else if let Some(portal) = portal
            && settings.enabled
            && !email.is_empty()
        {
            let parts = queue_credentials(
                state,
                &mut tx,
                &settings,
                portal,
                &account.language,
                &details,
                sponsor_email,
                id,
                created_by,
                now_ms,
            )
            .await?;
            mail = parts.first().map(|one| (one.id, one.message_id.clone()));
            queued.extend(parts);
        }
        created.push(CreatedAccount {
            id,
            username,
            password,
            mail,
        });
    }
    tx.commit().await?;
    state.mailer.submitted(&queued);
    Ok(created)
}

/// Queues a guest's credentials email in `tx` and records it as the
/// guest's last, for the sponsor portal's delivery state.
#[allow(clippy::too_many_arguments)]
pub async fn queue_credentials(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    settings: &GuestEmailSettings,
    portal: &PortalSettings,
    language: &str,
    details: &GuestDetails,
    sponsor_email: Option<&str>,
    guest_id: i64,
    created_by: &str,
    now_ms: i64,
) -> anyhow::Result<Vec<Queued>> {
    let (template, language) = portal.email_in(GuestEmail::Credentials, language);
    let mut details = details.clone();
    languages::localize(&mut details, &language, &portal.time_zone);
    let rendered = template.render(&details);
    let queued = state
        .mailer
        .enqueue(
            tx,
            &state.vault,
            &Outgoing {
                kind: MailKind::GuestCredentials,
                sender: settings.sender(sponsor_email),
                recipients: vec![details.email.clone()],
                subject: rendered.subject,
                text: rendered.text,
                html: rendered.html,
                created_by: created_by.to_string(),
                language: Some(language),
            },
            now_ms,
        )
        .await?;
    if let Some(first) = queued.first() {
        db::guests::set_last_mail(&mut **tx, guest_id, first.id).await?;
    }
    Ok(queued)
}

/// Hashes in small batches, one per permit of `auth::hashing`: every core
/// works, and a sign-in waits at most one batch for its turn.
async fn hash_all(passwords: &[Secret]) -> anyhow::Result<Vec<String>> {
    const BATCH: usize = 16;
    let tasks: Vec<_> = passwords
        .chunks(BATCH)
        .map(|part| {
            let part = part.to_vec();
            tokio::spawn(crate::server::auth::hashing(move || {
                part.iter()
                    .map(hash_guest_password)
                    .collect::<anyhow::Result<Vec<_>>>()
            }))
        })
        .collect();
    let mut hashes = Vec::with_capacity(passwords.len());
    for task in tasks {
        hashes.extend(task.await???);
    }
    Ok(hashes)
}

/// The credentials email of accounts a sponsor creates or resends to: the
/// default portal's template (there is no sponsor portal template).
pub async fn sponsor_template(state: &AppState) -> anyhow::Result<Option<PortalSettings>> {
    match db::portals::first(&state.db).await? {
        Some(row) => Ok(Some(languages::portal_settings(&state.db, &row).await?)),
        None => Ok(None),
    }
}

/// The saved Guest Email Settings, or ISE's defaults before any save.
pub async fn email_settings(state: &AppState) -> anyhow::Result<GuestEmailSettings> {
    let form = db::guest_email::get(&state.db)
        .await?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    form.validate()
        .map_err(|e| anyhow::anyhow!("the saved guest email settings are invalid: {e}"))
}

/// One run: queue the notices that are due, then expire ended accounts.
/// Safe to run any number of times, on any node: a notice is marked in the
/// transaction that queues it, so it is queued at most once.
pub async fn run_expiry_job(state: &AppState) -> anyhow::Result<ExpiryRun> {
    let now = state.now();
    let settings = email_settings(state).await?;
    let mut run = ExpiryRun::default();
    // Guest Email Settings can turn guest email off: then no notices.
    let mut more = settings.enabled;
    let portals = db::portals::list(&state.db).await?;
    while more {
        let due = db::guests::due_notices(&state.db, now, BATCH).await?;
        let mut queued = Vec::with_capacity(due.len());
        let mut tx = crate::server::db::begin_write(&state.db).await?;
        for notice in &due {
            if !db::guests::mark_notice_sent(&mut *tx, notice.guest.id, now).await? {
                continue;
            }
            // In the guest's language (else its portal's default), dates
            // in its portal's time zone.
            let portal = portals.iter().find(|p| p.name == notice.guest.portal);
            let wanted = [
                notice.guest.language.as_str(),
                portal.map_or("", |p| p.default_language.as_str()),
            ];
            let (subject, text, language) = languages::expiry_notice(
                &state.db,
                notice.guest.guest_type_id,
                &wanted,
                (&notice.notify_subject, &notice.notify_text),
            )
            .await?;
            let mut details = notice.guest.details();
            languages::localize(
                &mut details,
                &language,
                portal.map_or("", |p| p.time_zone.as_str()),
            );
            let mail = Outgoing {
                kind: MailKind::GuestExpiryNotice,
                sender: settings.sender(notice.guest.sponsor_email.as_deref()),
                recipients: vec![notice.guest.email.clone()],
                subject: render(&subject, &details, Part::Subject),
                text: render(&text, &details, Part::Text),
                html: None,
                created_by: JOB.into(),
                language: Some(language),
            };
            queued.extend(
                state
                    .mailer
                    .enqueue(&mut tx, &state.vault, &mail, state.now_ms())
                    .await?,
            );
        }
        tx.commit().await?;
        run.notices += queued.len();
        state.mailer.submitted(&queued);
        more = due.len() as i64 == BATCH;
    }
    run.denied = crate::server::guest_approval::deny_unhandled(state).await?;
    let mut tx = crate::server::db::begin_write(&state.db).await?;
    let expired = db::guests::expire_ended(&mut *tx, now).await?;
    // An expired account's credentials are never resent: drop the copy.
    let ids: Vec<String> = expired.iter().map(|id| id.to_string()).collect();
    db::vault::delete_many(&mut *tx, PASSWORD_PURPOSE, &ids).await?;
    tx.commit().await?;
    run.expired = expired.len();
    if run != ExpiryRun::default() {
        tracing::info!(
            target: "guestaccess",
            "GuestExpiryJob: queued {} account expiration notice(s), expired {} guest account(s), denied {} request(s) nobody approved in time",
            run.notices,
            run.expired,
            run.denied
        );
    }
    Ok(run)
}

/// Runs the job every `MAILROOM_GUEST_JOB_INTERVAL_SECS` seconds (default 60).
pub fn spawn_expiry_scheduler(state: AppState) -> tokio::task::JoinHandle<()> {
    let every = std::env::var("MAILROOM_GUEST_JOB_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .unwrap_or(60);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs(every));
        loop {
            ticks.tick().await;
            // One node of a deployment runs the jobs (the PRIMARY).
            if !crate::server::deployment::runs_jobs(&state).await {
                continue;
            }
            if let Err(error) = run_expiry_job(&state).await {
                tracing::error!(target: "guestaccess", "GuestExpiryJob failed: {error:#}");
            }
        }
    })
}
