//! Work Centers > Guest Access > Portals & Components > Guest Portals, and
//! the public Self-Registered Guest Portal itself.

use super::mail_queue::{TestSend, send_and_wait};
use super::{Caller, ServiceError, audit};
use crate::domain::language::ENGLISH;
use crate::domain::mail::{MailKind, TestEmailResult};
use crate::domain::portal::{
    ApprovalSettings, Approver, EmailTemplate, PortalForm, PortalPage, PortalSummary, PublicPortal,
    Registered, RegistrationForm,
};
use crate::domain::template::SampleValues;
use crate::domain::{Access, FieldError};
use crate::server::AppState;
use crate::server::db;
use crate::server::guest_approval::ApprovalAsk;
use crate::server::guests::{self, NewAccount, create_accounts};
use crate::server::languages;

/// Portal `id`, or the refusal that names it gone.
async fn existing(
    db: impl sqlx::AnyExecutor<'_>,
    id: i64,
) -> Result<db::portals::PortalRow, ServiceError> {
    db::portals::get(db, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This guest portal does not exist.".into()))
}

pub async fn list(app: &AppState, caller: &Caller) -> Result<Vec<PortalSummary>, ServiceError> {
    caller.require(Access::View)?;
    let portals = db::portals::list(&app.db).await?;
    let types = db::guest_types::list(&app.db).await?;
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

pub async fn get(app: &AppState, caller: &Caller, id: i64) -> Result<PortalPage, ServiceError> {
    caller.require(Access::View)?;
    let row = existing(&app.db, id).await?;
    let guest_types = db::guest_types::list(&app.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let settings = languages::portal_settings(&app.db, &row).await?;
    Ok(PortalPage {
        id: row.id,
        form: settings.to_form(),
        guest_types,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
        node_time_zone: languages::node_time_zone(),
    })
}

pub async fn save(
    app: &AppState,
    caller: &Caller,
    id: i64,
    form: &PortalForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let settings = form.validate()?;
    if languages::time_zone(&settings.time_zone).is_none() {
        return Err(ServiceError::invalid(
            "time_zone",
            format!(
                "'{}' is not a time zone this node knows: use an IANA name such as Europe/Madrid.",
                settings.time_zone
            ),
        ));
    }
    let now = app.now();
    let before_row = existing(&app.db, id).await?;
    let before = languages::portal_settings(&app.db, &before_row)
        .await?
        .to_form();
    let mut tx = db::begin_write(&app.db).await?;
    if db::guest_types::get(&mut *tx, settings.guest_type_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::invalid(
            "guest_type_id",
            "Choose a guest type that exists.",
        ));
    }
    existing(&mut *tx, id).await?;
    db::portals::update(&mut *tx, id, &settings, now, &caller.name)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                ServiceError::invalid("name", "Another guest portal has this name.")
            }
            other => other.into(),
        })?;
    let after = settings.to_form();
    let changed = super::changed(&[
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
        (
            "default_language",
            before.default_language != after.default_language,
        ),
        ("time_zone", before.time_zone != after.time_zone),
        ("translations", before.translations != after.translations),
    ]);
    audit(
        &mut tx,
        caller,
        now,
        "update",
        &format!("Guest Portal {}", settings.name),
        &changed.join(", "),
    )
    .await?;
    languages::save_portal_translations(&mut tx, id, &settings, now, &caller.name).await?;
    tx.commit().await?;
    Ok(())
}

/// Settings > Send Test Email: the template as it stands (saved or not),
/// rendered with sample values, through the outbox.
pub async fn send_test_email(
    app: &AppState,
    caller: &Caller,
    email: &EmailTemplate,
    to: &str,
    language: &str,
) -> Result<TestEmailResult, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let language = match language.trim() {
        "" => ENGLISH.to_string(),
        raw => crate::domain::language::normalize_tag("language", raw)?,
    };
    let rendered = email
        .validate()?
        .render(&SampleValues::in_language(&language));
    let settings = guests::email_settings(app).await?;
    send_and_wait(
        app,
        caller,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "test_to",
            to,
            sender: Some(settings.sender(None)),
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            language: Some(language),
        },
    )
    .await
}

/// What the public portal shows before registration, with the language
/// the guest's browser prefers (`Accept-Language`). No sign-in.
pub async fn public(
    app: &AppState,
    id: i64,
    accept_language: &str,
) -> Result<PublicPortal, ServiceError> {
    let row = existing(&app.db, id).await?;
    let settings = languages::portal_settings(&app.db, &row).await?;
    let offered = settings.languages();
    let language = crate::domain::language::negotiate(accept_language, &offered)
        .unwrap_or_else(|| settings.default_language.clone());
    Ok(PublicPortal {
        id: row.id,
        name: row.name,
        require_aup: row.require_aup,
        aup_text: row.aup_text,
        languages: offered,
        language,
    })
}

/// A guest registers on portal `portal` from `client_ip`. Limited per
/// address and hour; the portal's domain lists apply; the account gets the
/// portal's guest type and its default duration, and the credentials email
/// is queued in the same transaction when the portal says so.
/// `console_url` is this console as the guest reached it, for the links of
/// an approval request.
pub async fn register(
    app: &AppState,
    portal: i64,
    form: &RegistrationForm,
    client_ip: &str,
    console_url: &str,
) -> Result<Registered, ServiceError> {
    let row = existing(&app.db, portal).await?;
    let settings = languages::portal_settings(&app.db, &row).await?;
    let registration = form.validate(settings.require_aup)?;
    if let Some(refusal) = settings.refuses_domain(&registration.email) {
        return Err(FieldError::new("email", refusal).into());
    }
    let now = app.now();
    let recent = db::guests::registrations_from(&app.db, client_ip, now - 3600).await?;
    if recent >= i64::from(settings.max_per_hour) {
        tracing::warn!(target: "guestaccess", "Self-registration refused for {client_ip} on '{}': {recent} registrations in the last hour", settings.name);
        return Err(ServiceError::Throttled(
            "Too many registrations from your network in the last hour. Try again later or ask the front desk."
                .into(),
        ));
    }
    let guest_type = db::guest_types::get(&app.db, settings.guest_type_id)
        .await?
        .ok_or_else(|| ServiceError::internal("the portal's guest type is gone"))?
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
        registered_ip: Some(client_ip.to_string()),
        username: None,
        password: None,
        extras: Default::default(),
        language: registration.language.clone(),
    };
    let approval = if settings.approval.required {
        Some(ApprovalAsk {
            portal: &settings,
            approvers: approvers(app, &settings.approval, &account.person_visited).await?,
            console_url: console_url.to_string(),
        })
    } else {
        None
    };
    let credentials = settings.email_credentials.then_some(&settings);
    let created = create_accounts(
        app,
        &[account],
        credentials,
        approval.as_ref(),
        "self-registration",
    )
    .await?;
    let Some(created) = created.into_iter().next() else {
        return Err(ServiceError::internal("no account was created"));
    };
    tracing::info!(target: "guestaccess", "Guest '{}' self-registered on '{}' from {client_ip}{}", created.username, settings.name, if approval.is_some() { ", pending approval" } else { "" });
    if approval.is_some() {
        return Ok(Registered {
            username: created.username,
            password: None,
            valid_until,
            emailed_to: None,
            pending_approval: true,
        });
    }
    Ok(Registered {
        username: created.username,
        password: settings
            .show_credentials
            .then(|| created.password.expose().to_string()),
        valid_until,
        emailed_to: created
            .mail
            .map(|_| registration.email.as_str().to_string()),
        pending_approval: false,
    })
}

/// Who approves a registration: the person being visited, who must be an
/// enabled sponsor user (by email address), or the portal's listed
/// sponsor addresses.
async fn approvers(
    app: &AppState,
    approval: &ApprovalSettings,
    person_visited: &str,
) -> Result<Vec<String>, ServiceError> {
    if approval.approver == Approver::Listed {
        return Ok(approval.approver_emails.clone());
    }
    let wanted = person_visited.trim().to_ascii_lowercase();
    let sponsor = db::sponsors::users(&app.db)
        .await?
        .into_iter()
        .find(|s| s.enabled && !wanted.is_empty() && s.email.trim().to_ascii_lowercase() == wanted);
    match sponsor {
        Some(sponsor) => Ok(vec![sponsor.email.trim().to_string()]),
        None => Err(FieldError::new(
            "person_visited",
            "Enter the email address of the person you are visiting: your request is sent to them for approval.",
        )
        .into()),
    }
}
