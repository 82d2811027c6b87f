//! The sponsor portal's sign-in (its own session cookie, separate from the
//! admin console's) and the Manage Accounts actions, each checked against
//! the sponsor group's permissions and ISE's state rules.

use crate::api::ApiError;
use crate::domain::Secret;
use crate::domain::guest::{GuestDetails, GuestState};
use crate::domain::sponsor::{ActionReport, GuestAction, ManageScope, SponsorPermissions};
use crate::server::AppState;
use crate::server::auth::{self, random_token, token_hash};
use crate::server::clock::{unix, unix_ms};
use crate::server::db;
use crate::server::db::guests::Scope;
use crate::server::db::sponsors::{GroupRow, SponsorRow};
use crate::server::guests::{
    PASSWORD_PURPOSE, SponsorRef, email_settings, generate_guest_password, hash_guest_password,
    queue_credentials, sponsor_template,
};
use http::HeaderValue;
use http::request::Parts;

pub const SPONSOR_COOKIE: &str = "mailroom_sponsor";
/// The portal name sponsor-created guests carry.
pub const SPONSOR_PORTAL: &str = "Sponsor Portal (default)";

pub struct Sponsor {
    pub user: SponsorRow,
    pub group: GroupRow,
    pub token_hash: String,
}

impl Sponsor {
    pub fn permissions(&self) -> SponsorPermissions {
        self.group.permissions()
    }

    pub fn scope(&self) -> Scope {
        match self.permissions().scope {
            ManageScope::All => Scope::All,
            ManageScope::Group => Scope::Group(self.group.id),
            ManageScope::Own => Scope::Own(self.user.id),
        }
    }

    pub fn reference(&self) -> SponsorRef {
        SponsorRef {
            id: self.user.id,
            group_id: self.group.id,
            username: self.user.username.clone(),
            email: self.user.email.clone(),
        }
    }
}

pub enum SponsorLogin {
    SignedIn { token: String },
    Refused,
    Throttled { wait_seconds: i64 },
}

/// Checks a sponsor's name and password, throttled like the admins'.
pub async fn sign_in(
    state: &AppState,
    name: &str,
    password: &Secret,
    client_ip: &str,
) -> anyhow::Result<SponsorLogin> {
    use crate::server::throttle::user_key;
    let attempt =
        match auth::Attempt::start(state, format!("sponsor:{}", user_key(name)), client_ip) {
            Ok(attempt) => attempt,
            Err(wait_seconds) => return Ok(SponsorLogin::Throttled { wait_seconds }),
        };
    let sponsor = db::sponsors::by_name(&state.db, name.trim())
        .await?
        .filter(|sponsor| sponsor.enabled);
    let hash = sponsor
        .as_ref()
        .map(|sponsor| sponsor.password_hash.as_str());
    if !attempt.verify(state, password, hash) {
        return Ok(SponsorLogin::Refused);
    }
    let Some(sponsor) = sponsor else {
        return Ok(SponsorLogin::Refused);
    };
    let token = random_token();
    db::sponsors::insert_session(&state.db, &token_hash(&token), sponsor.id, attempt.now()).await?;
    Ok(SponsorLogin::SignedIn { token })
}

pub fn cookie(token: &str, secure: bool) -> HeaderValue {
    auth::named_session_cookie(SPONSOR_COOKIE, token, secure)
}

pub fn clearing_cookie(secure: bool) -> HeaderValue {
    auth::clearing_named_cookie(SPONSOR_COOKIE, secure)
}

pub fn session_token(parts: &Parts) -> Option<String> {
    auth::cookie_value(parts, SPONSOR_COOKIE)
}

/// The sponsor signed in with this request's cookie, if the session is live.
pub async fn current(state: &AppState, parts: &Parts) -> anyhow::Result<Option<Sponsor>> {
    let Some(token) = session_token(parts) else {
        return Ok(None);
    };
    let hash = token_hash(&token);
    let Some((sponsor_id, last_seen)) = db::sponsors::find_session(&state.db, &hash).await? else {
        return Ok(None);
    };
    let now = unix(state.clock.now());
    if now - last_seen > state.config.session_idle.as_secs() as i64 {
        db::sponsors::delete_session(&state.db, &hash).await?;
        return Ok(None);
    }
    let Some(user) = db::sponsors::by_id(&state.db, sponsor_id)
        .await?
        .filter(|u| u.enabled)
    else {
        return Ok(None);
    };
    let Some(group) = db::sponsors::group(&state.db, user.group_id).await? else {
        return Ok(None);
    };
    if now - last_seen >= 30 {
        db::sponsors::touch_session(&state.db, &hash, now).await?;
    }
    Ok(Some(Sponsor {
        user,
        group,
        token_hash: hash,
    }))
}

/// The signed-in sponsor, or 401.
pub async fn require() -> Result<(AppState, Sponsor), ApiError> {
    let (state, parts) = auth::context()?;
    match current(&state, &parts).await.map_err(auth::internal)? {
        Some(sponsor) => Ok((state, sponsor)),
        None => {
            auth::set_status(http::StatusCode::UNAUTHORIZED);
            Err(ApiError::Unauthenticated)
        }
    }
}

pub fn forbidden(what: &str) -> ApiError {
    auth::set_status(http::StatusCode::FORBIDDEN);
    tracing::warn!(target: "guestaccess", "sponsor refused: {what}");
    ApiError::Forbidden
}

/// Applies `action` to the guests `ids` that the sponsor may manage, in
/// one transaction; credentials emails are queued in it.
pub async fn run_action(
    state: &AppState,
    sponsor: &Sponsor,
    ids: &[i64],
    action: GuestAction,
    extend_days: Option<u32>,
) -> anyhow::Result<ActionReport> {
    let now = unix(state.clock.now());
    let now_ms = unix_ms(state.clock.now());
    let settings = email_settings(state).await?;
    let template = sponsor_template(state)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no guest portal holds a credentials email"))?;
    let mut report = ActionReport::default();
    let mut queued = Vec::new();
    let mut tx = crate::server::db::begin_write(&state.db).await?;
    let rows = db::guests::managed_by_ids(&mut *tx, sponsor.scope(), ids).await?;
    for id in ids {
        if !rows.iter().any(|row| row.id == *id) {
            report.refused.push((
                format!("#{id}"),
                "Not found among the accounts you manage.".into(),
            ));
        }
    }
    for row in rows {
        let Some(guest_state) = GuestState::parse(&row.state) else {
            report
                .refused
                .push((row.username, "The account's state is unknown.".into()));
            continue;
        };
        if let Err(why) = action.check(guest_state, row.password_changed, !row.email.is_empty()) {
            report.refused.push((row.username, why));
            continue;
        }
        let mut details = GuestDetails {
            username: row.username.clone(),
            password: None,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            email: row.email.clone(),
            company: row.company.clone(),
            sponsor_name: row.sponsor.clone().unwrap_or_default(),
            person_visited: String::new(),
            portal_name: row.portal.clone(),
            valid_from: row.valid_from,
            valid_until: row.valid_until,
        };
        let record = row.id.to_string();
        match action {
            GuestAction::Resend | GuestAction::ResetPassword => {
                if !settings.enabled {
                    report.refused.push((
                        row.username,
                        "Guest email is turned off in Guest Email Settings.".into(),
                    ));
                    continue;
                }
                let password = if action == GuestAction::Resend {
                    match state.vault.get(PASSWORD_PURPOSE, &record).await? {
                        Some(password) => password,
                        None => {
                            report.refused.push((
                                row.username,
                                "The password is no longer kept: use Reset Password to send new credentials.".into(),
                            ));
                            continue;
                        }
                    }
                } else {
                    let password = generate_guest_password();
                    let hash = hash_guest_password(&password)?;
                    db::guests::set_password(&mut *tx, row.id, &hash, now).await?;
                    state
                        .vault
                        .put_in(&mut *tx, PASSWORD_PURPOSE, &record, &password, now)
                        .await?;
                    password
                };
                details.password = Some(password.expose().to_string());
                queued.extend(
                    queue_credentials(
                        state,
                        &mut tx,
                        &settings,
                        &template,
                        &details,
                        row.sponsor_email.as_deref(),
                        row.id,
                        &sponsor.user.username,
                        now_ms,
                    )
                    .await?,
                );
            }
            GuestAction::Extend => {
                let guest_type = db::guest_types::get(&mut *tx, row.guest_type_id)
                    .await?
                    .map(|t| t.guest_type());
                let (default_days, max_days) = guest_type
                    .map(|t| (t.default_days, t.max_days))
                    .unwrap_or((1, 1));
                let days = extend_days.unwrap_or(default_days);
                let until = row.valid_until.max(now) + i64::from(days) * 86_400;
                if until - row.valid_from > i64::from(max_days) * 86_400 {
                    report.refused.push((
                        row.username,
                        format!(
                            "Extending by {days} days would exceed {}'s maximum of {max_days} days.",
                            row.guest_type
                        ),
                    ));
                    continue;
                }
                db::guests::extend(&mut *tx, row.id, until, now).await?;
            }
            GuestAction::Suspend => {
                db::guests::set_state(&mut *tx, row.id, GuestState::Suspended, now).await?;
            }
            GuestAction::Reinstate => {
                db::guests::set_state(&mut *tx, row.id, GuestState::Active, now).await?;
            }
            GuestAction::Delete => {
                db::guests::delete(&mut *tx, row.id).await?;
                db::vault::delete(&mut *tx, PASSWORD_PURPOSE, &record).await?;
            }
        }
        tracing::info!(target: "guestaccess", "Sponsor '{}': {} guest '{}'", sponsor.user.username, action.label(), row.username);
        report.done.push(row.username);
    }
    tx.commit().await?;
    state.mailer.submitted(&queued);
    report.mail_ids = queued.iter().map(|q| q.id).collect();
    Ok(report)
}
