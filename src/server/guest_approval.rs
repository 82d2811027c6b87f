//! Approval of self-registered guests by email, as ISE's "Require
//! self-registered guests to be approved": the account waits in Pending
//! Approval, the approver gets an email with an Approve and a Deny link,
//! and the guest gets its credentials (or a denial notice) once someone
//! decides. The links are random tokens stored only as their SHA-256, one
//! per guest and action, spent together on first use, and they expire.
//! Opening a link changes nothing: its page asks for one click (a mail
//! scanner fetching links approves no one).

use crate::domain::guest::{
    ApprovalDone, ApprovalLink, ApprovalRequest, GuestDetails, GuestEmailSettings, GuestState,
    PendingGuest,
};
use crate::domain::language::GuestEmail;
use crate::domain::mail::MailKind;
use crate::domain::portal::PortalSettings;
use crate::server::AppState;
use crate::server::auth::{random_token, token_hash};
use crate::server::db;
use crate::server::db::guests::GuestRow;
use crate::server::guests::{PASSWORD_PURPOSE, email_settings, queue_credentials};
use crate::server::languages;
use crate::server::mail::{Outgoing, Queued};
use crate::server::service::sponsors::SponsorCaller;

use crate::domain::guest::APPROVAL_LINK_PATH as LINK_PATH;
const APPROVE: &str = "approve";
const DENY: &str = "deny";

/// A registration that must be approved: by whom, and where the links go.
pub struct ApprovalAsk<'a> {
    /// The portal registered on: its approval settings and texts.
    pub portal: &'a PortalSettings,
    pub approvers: Vec<String>,
    /// This console as the guest reached it (`https://host`).
    pub console_url: String,
}

/// Makes the guest's two links and queues the approval request to each
/// approver, in the transaction that creates the account.
#[allow(clippy::too_many_arguments)]
pub async fn queue_request(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    settings: &GuestEmailSettings,
    ask: &ApprovalAsk<'_>,
    guest_id: i64,
    details: &GuestDetails,
    created_by: &str,
    now: i64,
    now_ms: i64,
) -> anyhow::Result<Vec<Queued>> {
    let approval = &ask.portal.approval;
    let expires_at = now + i64::from(approval.link_minutes) * 60;
    let approvers = ask.approvers.join(", ");
    let link = |action: &'static str| {
        let token = random_token();
        let url = format!(
            "{}{LINK_PATH}/{token}",
            ask.console_url.trim_end_matches('/')
        );
        (token_hash(&token), action, url)
    };
    let (approve, deny) = (link(APPROVE), link(DENY));
    for (hash, action, _) in [&approve, &deny] {
        let link = db::guest_approvals::NewLink {
            token_hash: hash,
            guest_id,
            action,
            approver: &approvers,
            sign_in: approval.sign_in,
            expires_at,
        };
        db::guest_approvals::insert(&mut **tx, &link, now).await?;
    }
    // The approvers read it in the portal's default language.
    let (template, language) = ask
        .portal
        .email_in(GuestEmail::ApprovalRequest, &ask.portal.default_language);
    let mut details = details.clone();
    languages::localize(&mut details, &language, &ask.portal.time_zone);
    let rendered = template.render(&ApprovalRequest {
        guest: &details,
        approve_link: approve.2,
        deny_link: deny.2,
    });
    let mut queued = Vec::new();
    for approver in &ask.approvers {
        queued.extend(
            state
                .mailer
                .enqueue(
                    tx,
                    &state.vault,
                    &Outgoing {
                        kind: MailKind::SponsorNotice,
                        sender: settings.sender(None),
                        recipients: vec![approver.clone()],
                        subject: rendered.subject.clone(),
                        text: rendered.text.clone(),
                        html: rendered.html.clone(),
                        created_by: created_by.to_string(),
                        language: Some(language.clone()),
                    },
                    now_ms,
                )
                .await?,
        );
    }
    Ok(queued)
}

fn pending_guest(row: &GuestRow) -> PendingGuest {
    PendingGuest {
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        email: row.email.clone(),
        company: row.company.clone(),
        person_visited: row.person_visited.clone(),
        portal: row.portal.clone(),
    }
}

const UNKNOWN: &str =
    "This link is not valid: check that it was copied whole from the approval email.";

/// Why a link of a guest in `state` cannot act any more, if so.
fn closed(link: &db::guest_approvals::LinkRow, row: &GuestRow, now: i64) -> Option<String> {
    if row.state != GuestState::PendingApproval {
        return Some(format!(
            "This request was already handled: the account is {}.",
            row.state.as_str()
        ));
    }
    if link.used_at.is_some() {
        return Some("This link was already used.".into());
    }
    if link.expires_at <= now {
        return Some(
            "This link has expired: the request can no longer be decided from this email.".into(),
        );
    }
    None
}

/// What a link shows; changes nothing. A link that needs a signed-in
/// sponsor shows nothing of the guest until one is.
pub async fn open_link(
    state: &AppState,
    token: &str,
    sponsor: Option<&SponsorCaller>,
) -> anyhow::Result<ApprovalLink> {
    let refused = |approve: bool, why: String| ApprovalLink {
        approve,
        closed: Some(why),
        guest: None,
        sign_in: false,
    };
    let Some(link) = db::guest_approvals::get(&state.db, &token_hash(token)).await? else {
        return Ok(refused(false, UNKNOWN.into()));
    };
    let approve = link.action == APPROVE;
    if link.sign_in && sponsor.is_none() {
        return Ok(ApprovalLink {
            approve,
            closed: None,
            guest: None,
            sign_in: true,
        });
    }
    let Some(row) = db::guests::get(&state.db, link.guest_id).await? else {
        return Ok(refused(
            approve,
            "The guest account no longer exists.".into(),
        ));
    };
    if link.sign_in
        && let Some(sponsor) = sponsor
        && let Err(why) = sponsor_may_use(sponsor, &row, &link.approver)
    {
        return Ok(refused(approve, why));
    }
    Ok(ApprovalLink {
        approve,
        closed: closed(&link, &row, state.now()),
        guest: Some(pending_guest(&row)),
        sign_in: false,
    })
}

/// Whether the signed-in sponsor may decide through a link that requires
/// a sponsor's credentials: its group's permission and scope.
fn sponsor_may_use(sponsor: &SponsorCaller, row: &GuestRow, approvers: &str) -> Result<(), String> {
    if sponsor.may_decide(row, approvers) {
        Ok(())
    } else {
        Err(format!(
            "Your sponsor group ({}) does not allow you to approve or deny this guest's request.",
            sponsor.group.name
        ))
    }
}

/// Why a click on a link was refused.
#[derive(Debug, thiserror::Error)]
pub enum LinkRefused {
    #[error("{0}")]
    Closed(String),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// The click on a link's page: approves or denies the guest, spending
/// both of its links, in one transaction with the email it causes.
pub async fn settle_link(
    state: &AppState,
    token: &str,
    reason: &str,
    client_ip: &str,
    sponsor: Option<&SponsorCaller>,
) -> Result<ApprovalDone, LinkRefused> {
    let hash = token_hash(token);
    let now = state.now();
    let link = db::guest_approvals::get(&state.db, &hash)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| LinkRefused::Closed(UNKNOWN.into()))?;
    let mut tx = db::begin_write(&state.db)
        .await
        .map_err(anyhow::Error::from)?;
    let row = db::guests::get(&mut *tx, link.guest_id)
        .await
        .map_err(anyhow::Error::from)?
        .ok_or_else(|| LinkRefused::Closed("The guest account no longer exists.".into()))?;
    if let Some(why) = closed(&link, &row, now) {
        return Err(LinkRefused::Closed(why));
    }
    let by = if link.sign_in {
        let sponsor = sponsor.ok_or_else(|| {
            LinkRefused::Closed("Sign in to the sponsor portal to use this link.".into())
        })?;
        sponsor_may_use(sponsor, &row, &link.approver).map_err(LinkRefused::Closed)?;
        format!("{} (approval link)", sponsor.user.username)
    } else {
        format!("{} (approval link)", link.approver)
    };
    if !db::guest_approvals::spend(&mut *tx, &hash, now)
        .await
        .map_err(anyhow::Error::from)?
    {
        return Err(LinkRefused::Closed("This link was already used.".into()));
    }
    let approve = link.action == APPROVE;
    let Some(decided) = decide_in(state, &mut tx, &row, approve, &by).await? else {
        return Err(LinkRefused::Closed(
            "This request was already handled by someone else.".into(),
        ));
    };
    let reason = reason.trim();
    db::audit::insert(
        &mut *tx,
        &db::audit::AuditRow {
            at: now,
            admin: by,
            client_ip: client_ip.to_string(),
            action: if approve { "Approve" } else { "Deny" }.to_string(),
            target: format!("Guest {}", row.username),
            changed_fields: if reason.is_empty() {
                "state".to_string()
            } else {
                format!(
                    "state (reason: {})",
                    reason.chars().take(200).collect::<String>()
                )
            },
        },
    )
    .await
    .map_err(anyhow::Error::from)?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.mailer.submitted(&decided);
    Ok(ApprovalDone {
        approved: approve,
        guest: pending_guest(&row),
        emailed: !decided.is_empty(),
    })
}

/// The portal a guest registered on, for its templates (the first portal
/// when that one was renamed or deleted since).
async fn portal_of(state: &AppState, name: &str) -> anyhow::Result<PortalSettings> {
    let portals = db::portals::list(&state.db).await?;
    match portals.iter().find(|p| p.name == name).or(portals.first()) {
        Some(row) => Ok(languages::portal_settings(&state.db, row).await?),
        None => Err(anyhow::anyhow!("no guest portal holds the guest emails")),
    }
}

/// Approves (the account becomes Created, its time starting now, and the
/// credentials email is queued) or denies (Denied, and the portal's denial
/// notice) a pending guest in `tx`, spending its links; the mail queued,
/// recorded as caused by `by`. None, with nothing changed, when the
/// account is no longer pending (another decision came first). The caller
/// writes the audit record.
pub async fn decide_in(
    state: &AppState,
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    row: &GuestRow,
    approve: bool,
    by: &str,
) -> anyhow::Result<Option<Vec<Queued>>> {
    let now = state.now();
    let now_ms = state.now_ms();
    let settings = email_settings(state).await?;
    let portal = portal_of(state, &row.portal).await?;
    let mut details = row.details();
    let mut queued = Vec::new();
    if approve {
        // The account's time starts when it is approved.
        let duration = (row.valid_until - row.valid_from).max(60);
        details.valid_from = now;
        details.valid_until = now + duration;
        if !db::guests::start_access(&mut **tx, row.id, now, now + duration, now).await? {
            return Ok(None);
        }
        let password = state
            .vault
            .get(PASSWORD_PURPOSE, &row.id.to_string())
            .await?;
        details.password = password.map(|p| p.expose().to_string());
        if settings.enabled && !row.email.is_empty() && details.password.is_some() {
            queued = queue_credentials(
                state,
                tx,
                &settings,
                &portal,
                &row.language,
                &details,
                row.sponsor_email.as_deref(),
                row.id,
                by,
                now_ms,
            )
            .await?;
        }
    } else {
        if !db::guests::deny_pending(&mut **tx, row.id, now).await? {
            return Ok(None);
        }
        let (template, language) = portal.email_in(GuestEmail::Denial, &row.language);
        languages::localize(&mut details, &language, &portal.time_zone);
        if settings.enabled && !row.email.is_empty() {
            let rendered = template.render(&details);
            queued = state
                .mailer
                .enqueue(
                    tx,
                    &state.vault,
                    &Outgoing {
                        kind: MailKind::GuestDenial,
                        sender: settings.sender(row.sponsor_email.as_deref()),
                        recipients: vec![row.email.clone()],
                        subject: rendered.subject,
                        text: rendered.text,
                        html: rendered.html,
                        created_by: by.to_string(),
                        language: Some(language),
                    },
                    now_ms,
                )
                .await?;
        }
    }
    db::guest_approvals::spend_for_guest(&mut **tx, row.id, now).await?;
    tracing::info!(target: "guestaccess", "Guest '{}' {} by {by}", row.username, if approve { "approved" } else { "denied" });
    Ok(Some(queued))
}

/// Who denies the requests nobody handled in time, in the audit and the
/// Mail Queue.
pub const UNHANDLED: &str = "system (not approved in time)";

/// Denies the pending accounts nobody decided within their portal's limit
/// (or before the access they asked for would have ended), each with its
/// denial notice; returns how many. One transaction per guest, so a
/// sponsor deciding at the same moment wins cleanly.
pub async fn deny_unhandled(state: &AppState) -> anyhow::Result<usize> {
    let mut denied = 0;
    loop {
        let now = state.now();
        let rows = db::guests::unhandled_pending(&state.db, now, 100).await?;
        if rows.is_empty() {
            return Ok(denied);
        }
        let mut progressed = false;
        for row in &rows {
            let mut tx = db::begin_write(&state.db).await?;
            let Some(queued) = decide_in(state, &mut tx, row, false, UNHANDLED).await? else {
                continue;
            };
            db::audit::insert(
                &mut *tx,
                &db::audit::AuditRow {
                    at: now,
                    admin: UNHANDLED.to_string(),
                    client_ip: String::new(),
                    action: "Deny".to_string(),
                    target: format!("Guest {}", row.username),
                    changed_fields: "state (nobody approved the request in time)".to_string(),
                },
            )
            .await?;
            tx.commit().await?;
            state.mailer.submitted(&queued);
            denied += 1;
            progressed = true;
        }
        if !progressed {
            return Ok(denied);
        }
    }
}
