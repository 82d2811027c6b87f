//! The sponsor portal's server functions. Sponsors sign in with their own
//! session (not an admin's); every function checks the sponsor group's
//! permissions on the server.

use super::ApiError;
use crate::domain::sponsor::{
    ActionReport, GuestAction, ImportGuestsForm, KnownGuestForm, RandomGuestsForm,
    SponsorPermissions,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeChoice {
    pub id: i64,
    pub name: String,
    pub default_days: u32,
    pub max_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorInfo {
    pub username: String,
    pub full_name: String,
    pub group: String,
    pub permissions: SponsorPermissions,
    pub guest_types: Vec<GuestTypeChoice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedGuest {
    pub id: i64,
    pub username: String,
    /// Shown to the sponsor only when no email carries it.
    pub password: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedBatch {
    pub guests: Vec<CreatedGuest>,
    /// The credentials emails, for the progress bar.
    pub mail_ids: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryProgress {
    pub sent: i64,
    pub failed: i64,
    pub pending: i64,
    /// The mailbox's pace (messages a minute; 0: not paced).
    pub per_minute: u32,
    /// Seconds until the batch's last email should go, when paced: it
    /// waits behind what was queued before it and what goes first.
    pub eta_seconds: Option<i64>,
    /// The mailbox is paused (its quota) until then, unix ms.
    pub paused_until_ms: Option<i64>,
}

/// What the mailbox can still send, shown before a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendBudget {
    /// Messages a minute (0: not paced).
    pub per_minute: u32,
    /// Recipients left in the rolling 24 hours, when the day is limited.
    pub recipients_left: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredGuest {
    pub id: i64,
    pub username: String,
    pub state: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub guest_type: String,
    pub valid_until: i64,
    pub sponsor: String,
    /// The last credentials email's status label, if one was sent.
    pub delivery: Option<String>,
    pub delivery_reply: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsoredPage {
    pub rows: Vec<SponsoredGuest>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

pub const SPONSOR_HOME: &str = "/sponsor";
pub const SPONSOR_LOGIN: &str = "/sponsor/login";

#[server(endpoint = "sponsor_login")]
pub async fn sponsor_login(username: String, password: String) -> Result<(), ApiError> {
    use crate::domain::Secret;
    use crate::server::auth;
    use crate::server::sponsors::{self, SponsorLogin};
    let (state, parts) = auth::context()?;
    let ip = auth::client_ip(&parts);
    match sponsors::sign_in(&state, &username, &Secret::new(password), &ip)
        .await
        .map_err(auth::internal)?
    {
        SponsorLogin::SignedIn { token } => {
            let response = expect_context::<leptos_axum::ResponseOptions>();
            response.insert_header(
                http::header::SET_COOKIE,
                sponsors::cookie(&token, auth::over_tls(&parts)),
            );
            tracing::info!(target: "guestaccess", "sponsor '{}' signed in from {ip}", username.trim());
            leptos_axum::redirect(SPONSOR_HOME);
            Ok(())
        }
        SponsorLogin::Refused => {
            tracing::warn!(target: "guestaccess", "failed sponsor sign-in for '{}' from {ip}", username.replace(['\r', '\n'], " "));
            auth::set_status(http::StatusCode::UNAUTHORIZED);
            Err(ApiError::Rejected(super::auth::INVALID_CREDENTIALS.into()))
        }
        SponsorLogin::Throttled { wait_seconds } => {
            auth::set_status(http::StatusCode::TOO_MANY_REQUESTS);
            Err(ApiError::Throttled(format!(
                "Too many failed sign-in attempts. Try again in {wait_seconds} seconds."
            )))
        }
    }
}

#[server(endpoint = "sponsor_logout")]
pub async fn sponsor_logout() -> Result<(), ApiError> {
    use crate::server::{auth, db, sponsors};
    let (state, parts) = auth::context()?;
    if let Some(token) = sponsors::session_token(&parts) {
        db::sponsors::delete_session(&state.db, &auth::token_hash(&token))
            .await
            .map_err(auth::internal)?;
    }
    let response = expect_context::<leptos_axum::ResponseOptions>();
    response.insert_header(
        http::header::SET_COOKIE,
        sponsors::clearing_cookie(auth::over_tls(&parts)),
    );
    leptos_axum::redirect(SPONSOR_LOGIN);
    Ok(())
}

/// The signed-in sponsor, or None (the portal then shows its sign-in).
#[server(endpoint = "current_sponsor")]
pub async fn current_sponsor() -> Result<Option<SponsorInfo>, ApiError> {
    use crate::server::{auth, db, sponsors};
    let (state, parts) = auth::context()?;
    let Some(sponsor) = sponsors::current(&state, &parts)
        .await
        .map_err(auth::internal)?
    else {
        return Ok(None);
    };
    let guest_types = db::guest_types::list(&state.db)
        .await
        .map_err(auth::internal)?
        .into_iter()
        .map(|row| {
            let t = row.guest_type();
            GuestTypeChoice {
                id: row.id,
                name: t.name,
                default_days: t.default_days,
                max_days: t.max_days,
            }
        })
        .collect();
    Ok(Some(SponsorInfo {
        permissions: sponsor.permissions(),
        username: sponsor.user.username,
        full_name: sponsor.user.full_name,
        group: sponsor.group.name,
        guest_types,
    }))
}

/// One guest to create, before the guest type's checks.
#[cfg(feature = "ssr")]
struct Draft {
    first_name: String,
    last_name: String,
    email: Option<crate::domain::EmailAddress>,
    company: String,
    person_visited: String,
    username: Option<String>,
}

#[cfg(feature = "ssr")]
impl From<crate::domain::portal::Registration> for Draft {
    fn from(r: crate::domain::portal::Registration) -> Self {
        Draft {
            first_name: r.first_name,
            last_name: r.last_name,
            email: Some(r.email),
            company: r.company,
            person_visited: r.person_visited,
            username: None,
        }
    }
}

/// Creates `drafts` for the signed-in sponsor with the chosen guest type
/// and duration; credentials go by email to those with an address.
#[cfg(feature = "ssr")]
async fn create_for_sponsor(
    guest_type_id: &str,
    duration_days: &str,
    drafts: impl FnOnce() -> Result<Vec<Draft>, crate::domain::FieldError>,
) -> Result<CreatedBatch, ApiError> {
    use crate::domain::sponsor::{access_days, guest_type_id as parse_type};
    use crate::server::clock::unix;
    use crate::server::guests::{NewAccount, create_accounts, sponsor_template};
    use crate::server::sponsors::{self, SPONSOR_PORTAL};
    use crate::server::{auth, db};
    let (state, sponsor) = sponsors::require().await?;
    if !sponsor.permissions().can_create {
        return Err(sponsors::forbidden("create accounts"));
    }
    let type_id = parse_type(guest_type_id).map_err(auth::bad_request)?;
    let guest_type = db::guest_types::get(&state.db, type_id)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(crate::domain::FieldError::new(
                "guest_type_id",
                "Choose a guest type that exists.",
            ))
        })?
        .guest_type();
    let days = access_days(duration_days, guest_type.max_days).map_err(auth::bad_request)?;
    let drafts = drafts().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let reference = sponsor.reference();
    let accounts: Vec<NewAccount> = drafts
        .into_iter()
        .map(|d| NewAccount {
            first_name: d.first_name,
            last_name: d.last_name,
            email: d.email,
            company: d.company,
            person_visited: d.person_visited,
            guest_type_id: type_id,
            valid_from: now,
            valid_until: now + i64::from(days) * 86_400,
            sponsor: Some(reference.clone()),
            portal: SPONSOR_PORTAL.into(),
            registered_ip: None,
            username: d.username,
        })
        .collect();
    let template = sponsor_template(&state).await.map_err(auth::internal)?;
    let emails: Vec<String> = accounts
        .iter()
        .map(|a| {
            a.email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default()
        })
        .collect();
    let created = create_accounts(&state, &accounts, template.as_ref(), &sponsor.user.username)
        .await
        .map_err(auth::internal)?;
    tracing::info!(target: "guestaccess", "Sponsor '{}' created {} guest account(s) of type '{}'", sponsor.user.username, created.len(), guest_type.name);
    let mail_ids = created
        .iter()
        .filter_map(|c| c.mail.as_ref().map(|m| m.0))
        .collect();
    Ok(CreatedBatch {
        guests: created
            .into_iter()
            .zip(emails)
            .map(|(c, email)| CreatedGuest {
                id: c.id,
                username: c.username,
                password: c.mail.is_none().then(|| c.password.expose().to_string()),
                email,
            })
            .collect(),
        mail_ids,
    })
}

#[server(endpoint = "sponsor_create_known")]
pub async fn sponsor_create_known(form: KnownGuestForm) -> Result<CreatedBatch, ApiError> {
    create_for_sponsor(&form.guest_type_id, &form.duration_days, || {
        Ok(vec![form.guest.validate(false)?.into()])
    })
    .await
}

#[server(endpoint = "sponsor_create_random")]
pub async fn sponsor_create_random(form: RandomGuestsForm) -> Result<CreatedBatch, ApiError> {
    create_for_sponsor(&form.guest_type_id, &form.duration_days, || {
        let (count, prefix) = form.validate()?;
        let width = count.to_string().len().max(3);
        Ok((1..=count)
            .map(|n| Draft {
                first_name: String::new(),
                last_name: String::new(),
                email: None,
                company: form.company.trim().to_string(),
                person_visited: String::new(),
                username: Some(format!("{prefix}{n:0width$}")),
            })
            .collect())
    })
    .await
}

#[server(endpoint = "sponsor_import_guests")]
pub async fn sponsor_import_guests(form: ImportGuestsForm) -> Result<CreatedBatch, ApiError> {
    use crate::domain::sponsor::parse_guest_csv;
    create_for_sponsor(&form.guest_type_id, &form.duration_days, || {
        Ok(parse_guest_csv(&form.csv)?
            .into_iter()
            .map(Draft::from)
            .collect())
    })
    .await
}

/// How far the credentials emails of a batch have got.
#[server(endpoint = "sponsor_delivery")]
pub async fn sponsor_delivery(mail_ids: Vec<i64>) -> Result<DeliveryProgress, ApiError> {
    use crate::server::{auth, db, sponsors};
    let (state, sponsor) = sponsors::require().await?;
    use crate::server::mail::pacing;
    let counts = db::outbox::statuses_created_by(&state.db, &mail_ids, &sponsor.user.username)
        .await
        .map_err(auth::internal)?;
    let pending = counts.queued + counts.sending + counts.retrying;
    let mut progress = DeliveryProgress {
        sent: counts.sent,
        failed: counts.dead + counts.discarded,
        pending,
        per_minute: 0,
        eta_seconds: None,
        paused_until_ms: None,
    };
    if pending > 0 {
        let paced = pacing::current(&state).await.map_err(auth::internal)?;
        let now = crate::server::clock::unix_ms(state.clock.now());
        let (_, _, paused_until_ms, _) = db::pacing::usage(&state.db, &paced.mailbox, now)
            .await
            .map_err(auth::internal)?;
        progress.per_minute = paced.bulk_limits().messages_per_minute;
        progress.paused_until_ms = paused_until_ms;
        let last = mail_ids.iter().copied().max().unwrap_or(0);
        let ahead = db::outbox::waiting_through(&state.db, last)
            .await
            .map_err(auth::internal)?;
        let pause = paused_until_ms.map_or(0, |until| (until - now).max(0) / 1000);
        progress.eta_seconds = paced.bulk_limits().eta_seconds(ahead).map(|s| s + pause);
    }
    Ok(progress)
}

#[server(endpoint = "sponsor_send_budget")]
pub async fn sponsor_send_budget() -> Result<SendBudget, ApiError> {
    use crate::server::mail::pacing;
    use crate::server::{auth, db, sponsors};
    let (state, _sponsor) = sponsors::require().await?;
    let paced = pacing::current(&state).await.map_err(auth::internal)?;
    let now = crate::server::clock::unix_ms(state.clock.now());
    // Guests' credentials are bulk mail: the sender pool shares them.
    let mut recipients_today = 0;
    for mailbox in paced.mailboxes() {
        recipients_today += db::pacing::usage(&state.db, mailbox, now)
            .await
            .map_err(auth::internal)?
            .1;
    }
    let limits = paced.bulk_limits();
    let daily = i64::from(limits.recipients_per_day);
    Ok(SendBudget {
        per_minute: limits.messages_per_minute,
        recipients_left: (daily > 0).then(|| (daily - recipients_today).max(0)),
    })
}

#[server(endpoint = "sponsor_guests")]
pub async fn sponsor_guests(
    search: String,
    state: String,
    page: i64,
) -> Result<SponsoredPage, ApiError> {
    use crate::domain::guest::GuestState;
    use crate::domain::mail::MailStatus;
    use crate::server::{auth, db, sponsors};
    let (app, sponsor) = sponsors::require().await?;
    const PAGE_SIZE: i64 = 50;
    let page = page.max(1);
    let state_filter = GuestState::parse(&state).map(|s| s.as_str());
    let (rows, total) = db::guests::managed_page(
        &app.db,
        sponsor.scope(),
        &search,
        state_filter,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await
    .map_err(auth::internal)?;
    Ok(SponsoredPage {
        rows: rows
            .into_iter()
            .map(|row| SponsoredGuest {
                id: row.id,
                username: row.username,
                state: row.state,
                first_name: row.first_name,
                last_name: row.last_name,
                email: row.email,
                company: row.company,
                guest_type: row.guest_type,
                valid_until: row.valid_until,
                sponsor: row.sponsor.unwrap_or_default(),
                delivery: row
                    .mail_status
                    .as_deref()
                    .and_then(MailStatus::parse)
                    .map(|s| s.label().to_string()),
                delivery_reply: row.mail_reply,
            })
            .collect(),
        total,
        page,
        page_size: PAGE_SIZE,
    })
}

/// Manage Accounts' buttons. The whole request is refused when the
/// sponsor group lacks the permission; otherwise each guest is done or
/// refused with ISE's reason.
#[server(endpoint = "sponsor_guest_action")]
pub async fn sponsor_guest_action(
    ids: Vec<i64>,
    action: GuestAction,
    extend_days: Option<u32>,
) -> Result<ActionReport, ApiError> {
    use crate::server::{auth, sponsors};
    let (state, sponsor) = sponsors::require().await?;
    if !action.permitted(&sponsor.permissions()) {
        return Err(sponsors::forbidden(action.label()));
    }
    if extend_days.is_some_and(|d| !(1..=999).contains(&d)) {
        return Err(auth::bad_request(crate::domain::FieldError::new(
            "extend_days",
            "Enter a whole number of days from 1 to 999.",
        )));
    }
    sponsors::run_action(&state, &sponsor, &ids, action, extend_days)
        .await
        .map_err(auth::internal)
}
