//! Work Centers > Guest Access > Portals & Components > Guest Portals, and
//! the public Self-Registered Guest Portal itself.

use super::ApiError;
use crate::domain::mail::TestEmailResult;
use crate::domain::portal::{EmailTemplate, PortalForm, RegistrationForm};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where guests reach portal `id`.
pub fn public_path(id: i64) -> String {
    format!("/portal/{id}/self-registration")
}

/// Portal `id`, or the refusal that names it gone.
#[cfg(feature = "ssr")]
async fn existing_portal(
    db: impl sqlx::SqliteExecutor<'_>,
    id: i64,
) -> Result<crate::server::db::portals::PortalRow, ApiError> {
    use crate::server::{auth, db};
    db::portals::get(db, id)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(ApiError::Rejected(
                "This guest portal does not exist.".into(),
            ))
        })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub guest_type: String,
    pub email_credentials: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalPage {
    pub id: i64,
    pub form: PortalForm,
    /// (id, name) of every guest type, for the select.
    pub guest_types: Vec<(i64, String)>,
    pub updated_by: String,
    pub updated_at: i64,
}

#[server(endpoint = "list_guest_portals")]
pub async fn list_guest_portals() -> Result<Vec<PortalSummary>, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let portals = db::portals::list(&state.db).await.map_err(auth::internal)?;
    let types = db::guest_types::list(&state.db)
        .await
        .map_err(auth::internal)?;
    Ok(portals
        .into_iter()
        .map(|row| PortalSummary {
            id: row.id,
            guest_type: types
                .iter()
                .find(|t| t.id == row.guest_type_id)
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            name: row.name,
            description: row.description,
            email_credentials: row.email_credentials,
        })
        .collect())
}

#[server(endpoint = "get_guest_portal")]
pub async fn get_guest_portal(id: i64) -> Result<PortalPage, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let row = existing_portal(&state.db, id).await?;
    let guest_types = db::guest_types::list(&state.db)
        .await
        .map_err(auth::internal)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(PortalPage {
        id: row.id,
        form: row.settings().to_form(),
        guest_types,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

#[server(endpoint = "save_guest_portal")]
pub async fn save_guest_portal(id: i64, form: PortalForm) -> Result<(), ApiError> {
    use crate::domain::FieldError;
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let settings = form.validate().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    if db::guest_types::get(&mut *tx, settings.guest_type_id)
        .await
        .map_err(auth::internal)?
        .is_none()
    {
        return Err(auth::bad_request(FieldError::new(
            "guest_type_id",
            "Choose a guest type that exists.",
        )));
    }
    let before = existing_portal(&mut *tx, id).await?.settings().to_form();
    db::portals::update(&mut *tx, id, &settings, now, &caller.admin.name)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => auth::bad_request(
                FieldError::new("name", "Another guest portal has this name."),
            ),
            other => auth::internal(other),
        })?;
    let after = settings.to_form();
    let changed: Vec<&str> = [
        ("name", before.name != after.name),
        ("description", before.description != after.description),
        ("guest_type", before.guest_type_id != after.guest_type_id),
        ("max_per_hour", before.max_per_hour != after.max_per_hour),
        (
            "allowed_domains",
            before.allowed_domains != after.allowed_domains,
        ),
        (
            "blocked_domains",
            before.blocked_domains != after.blocked_domains,
        ),
        ("require_aup", before.require_aup != after.require_aup),
        ("aup_text", before.aup_text != after.aup_text),
        (
            "email_credentials",
            before.email_credentials != after.email_credentials,
        ),
        (
            "show_credentials",
            before.show_credentials != after.show_credentials,
        ),
        ("email_subject", before.email.subject != after.email.subject),
        ("email_text", before.email.text != after.email.text),
        ("email_html", before.email.html != after.email.html),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name)
    .collect();
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        &format!("Guest Portal {}", settings.name),
        &changed.join(", "),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

/// Settings > Send Test Email: the template as it stands (saved or not),
/// rendered with sample values, through the outbox.
#[server(endpoint = "send_portal_test_email")]
pub async fn send_portal_test_email(
    email: EmailTemplate,
    to: String,
) -> Result<TestEmailResult, ApiError> {
    use crate::domain::mail::MailKind;
    use crate::domain::template::SampleValues;
    use crate::server::{auth, guests};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let rendered = email
        .validate()
        .map_err(auth::bad_request)?
        .render(&SampleValues);
    let settings = guests::email_settings(&state)
        .await
        .map_err(auth::internal)?;
    super::mail::send_and_wait(
        &state,
        &caller.admin.name,
        super::mail::TestSend {
            kind: MailKind::TestEmail,
            to_field: "test_to",
            to: &to,
            sender: Some(settings.sender(None)),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
        },
    )
    .await
}

/// What the public portal shows before registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicPortal {
    pub id: i64,
    pub name: String,
    pub require_aup: bool,
    pub aup_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub username: String,
    /// Present when the portal shows credentials on its success page.
    pub password: Option<String>,
    pub valid_until: i64,
    /// The address the credentials were emailed to, if they were.
    pub emailed_to: Option<String>,
}

/// Public: no sign-in.
#[server(endpoint = "get_public_portal")]
pub async fn get_public_portal(id: i64) -> Result<PublicPortal, ApiError> {
    use crate::server::auth;
    let (state, _parts) = auth::context()?;
    let row = existing_portal(&state.db, id).await?;
    Ok(PublicPortal {
        id: row.id,
        name: row.name,
        require_aup: row.require_aup,
        aup_text: row.aup_text,
    })
}

/// Public: a guest registers. Limited per client address and hour; the
/// portal's domain lists apply; the account gets the portal's guest type
/// and its default duration, and the credentials email is queued in the
/// same transaction when the portal says so.
#[server(endpoint = "register_guest")]
pub async fn register_guest(portal: i64, form: RegistrationForm) -> Result<Registered, ApiError> {
    use crate::domain::FieldError;
    use crate::server::clock::unix;
    use crate::server::guests::{NewAccount, create_accounts};
    use crate::server::{auth, db};
    let (state, parts) = auth::context()?;
    let ip = auth::client_ip(&parts);
    let row = existing_portal(&state.db, portal).await?;
    let settings = row.settings();
    let registration = form
        .validate(settings.require_aup)
        .map_err(auth::bad_request)?;
    if let Some(refusal) = settings.refuses_domain(&registration.email) {
        return Err(auth::bad_request(FieldError::new("email", refusal)));
    }
    let now = unix(state.clock.now());
    let recent = db::guests::registrations_from(&state.db, &ip, now - 3600)
        .await
        .map_err(auth::internal)?;
    if recent >= i64::from(settings.max_per_hour) {
        tracing::warn!(target: "guestaccess", "Self-registration refused for {ip} on '{}': {recent} registrations in the last hour", settings.name);
        auth::set_status(http::StatusCode::TOO_MANY_REQUESTS);
        return Err(ApiError::Throttled(
            "Too many registrations from your network in the last hour. Try again later or ask the front desk."
                .into(),
        ));
    }
    let guest_type = db::guest_types::get(&state.db, settings.guest_type_id)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| auth::internal("the portal's guest type is gone"))?
        .guest_type();
    let valid_until = now + i64::from(guest_type.default_days) * 86_400;
    let account = NewAccount {
        first_name: registration.first_name,
        last_name: registration.last_name,
        email: Some(registration.email.clone()),
        company: registration.company,
        person_visited: registration.person_visited,
        guest_type_id: settings.guest_type_id,
        valid_from: now,
        valid_until,
        sponsor: None,
        portal: settings.name.clone(),
        registered_ip: Some(ip.clone()),
        username: None,
    };
    let template = settings.email_credentials.then_some(&settings.email);
    let created = create_accounts(&state, &[account], template, "self-registration")
        .await
        .map_err(auth::internal)?;
    let Some(created) = created.into_iter().next() else {
        return Err(auth::internal("no account was created"));
    };
    tracing::info!(target: "guestaccess", "Guest '{}' self-registered on '{}' from {ip}", created.username, settings.name);
    Ok(Registered {
        username: created.username,
        password: settings
            .show_credentials
            .then(|| created.password.expose().to_string()),
        valid_until,
        emailed_to: created
            .mail
            .map(|_| registration.email.as_str().to_string()),
    })
}

/// A guest signed in on the portal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestSignedIn {
    pub username: String,
    pub valid_until: i64,
}

/// Public: a guest signs in with the credentials it received, on any guest
/// portal (`portal` names the page it came from, for the log). The first
/// sign-in makes a Created account Active. Throttled like the admins'.
#[server(endpoint = "guest_login")]
pub async fn guest_login(
    portal: i64,
    username: String,
    password: String,
) -> Result<GuestSignedIn, ApiError> {
    use crate::domain::Secret;
    use crate::server::{auth, guests};
    let (state, parts) = auth::context()?;
    let ip = auth::client_ip(&parts);
    let account = guests::sign_in(&state, &username, &Secret::new(password), &ip)
        .await
        .map_err(auth::internal)?
        .map_err(|refusal| {
            auth::set_status(refusal.status());
            ApiError::Rejected(refusal.message())
        })?;
    tracing::debug!(target: "guestaccess", "Guest '{}' signed in on portal {portal}", account.username);
    Ok(GuestSignedIn {
        username: account.username,
        valid_until: account.valid_until,
    })
}

/// Public: the guest changes the password (ISE's "allow guests to change
/// password after login"). The sealed copy is dropped: from now on a
/// sponsor must use Reset Password, not Resend.
#[server(endpoint = "guest_change_password")]
pub async fn guest_change_password(
    portal: i64,
    username: String,
    current: String,
    new_password: String,
    confirm: String,
) -> Result<(), ApiError> {
    use crate::domain::{FieldError, Secret};
    use crate::server::{auth, guests};
    let (state, parts) = auth::context()?;
    let ip = auth::client_ip(&parts);
    if new_password != confirm {
        return Err(auth::bad_request(FieldError::new(
            "confirm",
            "The passwords do not match.",
        )));
    }
    let new_password = Secret::new(new_password);
    let length = new_password.expose().chars().count();
    if !(8..=64).contains(&length) || new_password.expose().eq_ignore_ascii_case(username.trim()) {
        return Err(auth::bad_request(FieldError::new(
            "new_password",
            "Use 8 to 64 characters, not your username.",
        )));
    }
    let account = guests::sign_in(&state, &username, &Secret::new(current), &ip)
        .await
        .map_err(auth::internal)?
        .map_err(|refusal| {
            auth::set_status(refusal.status());
            ApiError::Rejected(refusal.message())
        })?;
    guests::change_password(&state, account.id, &new_password)
        .await
        .map_err(auth::internal)?;
    tracing::info!(target: "guestaccess", "Guest '{}' changed the password on portal {portal}", account.username);
    Ok(())
}
