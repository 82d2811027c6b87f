//! Work Centers > Guest Access > Settings > Guest Email Settings, and the
//! guests themselves on a portal: signing in (a Created account becomes
//! Active) and changing their password.

use super::sessions::Attempt;
use super::{Caller, ServiceError, audit};
use crate::domain::admin::INVALID_CREDENTIALS;
use crate::domain::guest::{GuestEmailForm, GuestEmailPage, GuestState};
use crate::domain::portal::GuestSignedIn;
use crate::domain::{Access, FieldError, Secret};
use crate::server::AppState;
use crate::server::db;
use crate::server::guests::{PASSWORD_PURPOSE, hash_guest_password};
use crate::server::throttle::user_key;

pub async fn email_settings(
    app: &AppState,
    caller: &Caller,
) -> Result<GuestEmailPage, ServiceError> {
    caller.require(Access::View)?;
    let form = db::guest_email::get(&app.db)
        .await?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    Ok(GuestEmailPage {
        form,
        oauth_mailbox: db::smtp::oauth_mailbox(&app.db).await?,
    })
}

pub async fn save_email_settings(
    app: &AppState,
    caller: &Caller,
    form: &GuestEmailForm,
) -> Result<GuestEmailPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let settings = form.validate()?;
    let before = db::guest_email::get(&app.db)
        .await?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    let after = GuestEmailForm {
        enabled: settings.enabled,
        default_from: settings.default_from.as_str().to_string(),
        from_sponsor: settings.from_sponsor,
    };
    let changed = super::changed(&[
        ("enabled", before.enabled != after.enabled),
        ("default_from", before.default_from != after.default_from),
        ("from_sponsor", before.from_sponsor != after.from_sponsor),
    ]);
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::guest_email::put(
        &mut *tx,
        &db::guest_email::GuestEmailRow {
            enabled: after.enabled,
            default_from: after.default_from,
            from_sponsor: after.from_sponsor,
            updated_at: now,
            updated_by: caller.name.clone(),
        },
    )
    .await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        "Guest Email Settings",
        &changed.join(", "),
    )
    .await?;
    tx.commit().await?;
    email_settings(app, caller).await
}

/// Why a guest may not sign in: 401 for a wrong name or password (one
/// message for both, and for another portal's guest), 403 for an account
/// that may not sign in now, or the service's own error (throttled).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestRefusal {
    Invalid,
    State(GuestState),
    NotYet(i64),
    Other(ServiceError),
}

impl From<ServiceError> for GuestRefusal {
    fn from(error: ServiceError) -> Self {
        GuestRefusal::Other(error)
    }
}

impl From<sqlx::Error> for GuestRefusal {
    fn from(error: sqlx::Error) -> Self {
        GuestRefusal::Other(error.into())
    }
}

impl GuestRefusal {
    pub fn message(&self) -> String {
        match self {
            GuestRefusal::Invalid => INVALID_CREDENTIALS.into(),
            GuestRefusal::State(GuestState::Suspended) => {
                "Your account is suspended. Contact your sponsor.".into()
            }
            GuestRefusal::State(GuestState::Expired) => {
                "Your account has expired. Ask your sponsor to extend it.".into()
            }
            GuestRefusal::State(state) => {
                format!("Your account cannot sign in: it is {}.", state.as_str())
            }
            GuestRefusal::NotYet(from) => format!(
                "Your access starts at {}.",
                crate::domain::template::format_utc(*from)
            ),
            GuestRefusal::Other(error) => error.to_string(),
        }
    }
}

/// A guest signs in with the credentials it received, on any guest portal
/// (`portal` names the page it came from, for the log), throttled per user
/// name and address. The first sign-in makes a Created account Active.
pub async fn sign_in(
    app: &AppState,
    portal: i64,
    username: &str,
    password: &Secret,
    client: &super::sessions::Client,
) -> Result<GuestSignedIn, GuestRefusal> {
    let account = check_credentials(app, username, password, client).await?;
    tracing::debug!(target: "guestaccess", "Guest '{}' signed in on portal {portal}", account.username);
    Ok(GuestSignedIn {
        username: account.username,
        valid_until: account.valid_until,
    })
}

struct Account {
    id: i64,
    username: String,
    valid_until: i64,
}

async fn check_credentials(
    app: &AppState,
    username: &str,
    password: &Secret,
    client: &super::sessions::Client,
) -> Result<Account, GuestRefusal> {
    let attempt = Attempt::start(app, format!("guest:{}", user_key(username)), client).await?;
    let now = attempt.now();
    let row = db::guests::credentials(&app.db, username.trim()).await?;
    let verified = attempt
        .verify(app, password, row.as_ref().map(|(_, hash)| hash.as_str()))
        .await;
    let Some((guest, _)) = row.filter(|_| verified) else {
        return Err(GuestRefusal::Invalid);
    };
    let guest_state = guest.state;
    if guest_state == GuestState::Expired || guest.valid_until <= now {
        return Err(GuestRefusal::State(GuestState::Expired));
    }
    if !guest_state.may_resend() {
        return Err(GuestRefusal::State(guest_state));
    }
    if guest.valid_from > now {
        return Err(GuestRefusal::NotYet(guest.valid_from));
    }
    if guest_state == GuestState::Created {
        db::guests::set_state(&app.db, guest.id, GuestState::Active, now).await?;
    }
    tracing::info!(target: "guestaccess", "Guest '{}' signed in", guest.username);
    Ok(Account {
        id: guest.id,
        username: guest.username,
        valid_until: guest.valid_until,
    })
}

/// The guest changes its password (ISE's "allow guests to change password
/// after login"). The sealed copy is dropped: from now on a sponsor must
/// use Reset Password, not Resend.
pub async fn change_password(
    app: &AppState,
    portal: i64,
    username: &str,
    current: &Secret,
    new_password: &Secret,
    confirm: &Secret,
    client: &super::sessions::Client,
) -> Result<(), GuestRefusal> {
    if new_password.expose() != confirm.expose() {
        return Err(
            ServiceError::from(FieldError::new("confirm", "The passwords do not match.")).into(),
        );
    }
    let length = new_password.expose().chars().count();
    if !(8..=64).contains(&length) || new_password.expose().eq_ignore_ascii_case(username.trim()) {
        return Err(ServiceError::from(FieldError::new(
            "new_password",
            "Use 8 to 64 characters, not your username.",
        ))
        .into());
    }
    let account = check_credentials(app, username, current, client).await?;
    let now = app.now();
    let password = new_password.clone();
    let hash = crate::server::auth::hashing(move || hash_guest_password(&password))
        .await
        .map_err(ServiceError::from)?
        .map_err(ServiceError::from)?;
    let mut tx = db::begin_write(&app.db).await?;
    db::guests::set_changed_password(&mut *tx, account.id, &hash, now).await?;
    db::vault::delete(&mut *tx, PASSWORD_PURPOSE, &account.id.to_string()).await?;
    tx.commit().await?;
    tracing::info!(target: "guestaccess", "Guest '{}' changed the password on portal {portal}", account.username);
    Ok(())
}
