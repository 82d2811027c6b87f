//! Administration > System > Settings > SMTP Server: read, Test Connection,
//! Save (refused without a passed test of exactly the values saved), and
//! the certificate credential.

use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::connection_test::ConnectionTestReport;
use crate::domain::smtp::{
    NextSecretForm, OAuthCertificateInfo, OAuthCredential, SAVE_NEEDS_TEST, SmtpAuth, SmtpPage,
    SmtpSettings, SmtpSettingsForm,
};
use crate::domain::{Access, FieldError, Secret};
use crate::server::AppState;
use crate::server::db;
use crate::server::oauth::certificate::KeyAndCertificate;
use crate::server::{certs, settings, smtp};

fn certificate_info(row: db::oauth_certificates::OAuthCertificateRow) -> OAuthCertificateInfo {
    OAuthCertificateInfo {
        x5t_s256: crate::server::oauth::certificate::x5t_s256(&row.der),
        pem: certs::to_pem(&row.der),
        id: row.id,
        subject: row.subject,
        sha256: row.sha256,
        not_before: row.not_before,
        not_after: row.not_after,
        origin: row.origin,
    }
}

/// The page's values. Secrets are never returned: only whether one is stored.
pub async fn get(app: &AppState, caller: &Caller) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::View)?;
    let row = db::smtp::get(&app.db).await?;
    let form = row
        .as_ref()
        .map(|r| r.form())
        .unwrap_or_else(settings::default_smtp_form);
    let (stored, next_secret_set) = settings::stored_secrets_and_next(app, &form).await?;
    let certificate = match row.as_ref().and_then(|r| r.certificate_id) {
        Some(id) => db::oauth_certificates::get(&app.db, id)
            .await?
            .map(certificate_info),
        None => None,
    };
    let next_certificate = match row.as_ref().and_then(|r| r.next_certificate_id) {
        Some(id) => db::oauth_certificates::get(&app.db, id)
            .await?
            .map(certificate_info),
        None => None,
    };
    Ok(SmtpPage {
        form,
        password_set: stored.password,
        client_secret_set: stored.client_secret,
        certificate,
        next_secret_set,
        next_secret_expiry: row
            .as_ref()
            .map(|r| r.next_secret_expiry.clone())
            .filter(|_| next_secret_set)
            .unwrap_or_default(),
        next_certificate,
        credential_missing: row
            .as_ref()
            .is_some_and(|r| settings::oauth_credential_missing(r, &stored)),
        updated_by: row.as_ref().map(|r| r.updated_by.clone()),
        updated_at: row.as_ref().map(|r| r.updated_at),
    })
}

/// The form checked against what is stored, and the password or client
/// secret it would use (typed, or the stored one).
async fn resolve(
    app: &AppState,
    form: &SmtpSettingsForm,
) -> Result<(SmtpSettings, Option<Secret>), ServiceError> {
    let stored = settings::stored_secrets(app, form).await?;
    let validated = form.validate(stored)?;
    let secret = settings::effective_secret(app, &validated).await?;
    Ok((validated, secret))
}

/// Test Connection: every rung from the token to QUIT. A pass lets this
/// admin save exactly these values.
pub async fn test_connection(
    app: &AppState,
    caller: &Caller,
    form: &SmtpSettingsForm,
) -> Result<ConnectionTestReport, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (validated, secret) = resolve(app, form).await?;
    match validated.graph_endpoint() {
        Some(endpoint) => {
            tracing::info!(target: "smtp", user = %caller.name, "Test Connection through Microsoft Graph at {endpoint}")
        }
        None => {
            tracing::info!(target: "smtp", user = %caller.name, "Test Connection to {}:{}", validated.host, validated.port.get())
        }
    }
    run_test(
        app,
        caller,
        settings::TestOf::Settings,
        &validated,
        secret,
        smtp::Reach::Everything,
    )
    .await
}

/// How far a test of a next credential goes: the token, or every rung.
fn reach(whole_ladder: bool) -> smtp::Reach {
    if whole_ladder {
        smtp::Reach::Everything
    } else {
        smtp::Reach::Token
    }
}

/// Runs a test of `settings` with `secret` up to `reach`, and remembers a
/// pass (which allows Save, or Switch Now) or forgets the last one.
async fn run_test(
    app: &AppState,
    caller: &Caller,
    test: settings::TestOf,
    tested: &SmtpSettings,
    secret: Option<Secret>,
    reach: smtp::Reach,
) -> Result<ConnectionTestReport, ServiceError> {
    let context = smtp::TestContext {
        secret: secret.clone(),
        assertion: settings::client_assertion(app, tested).await?,
        tls: settings::trust(app).await?,
        proxy: settings::proxy(app).await?,
        hello_name: app.config.node_name.clone(),
    };
    let report = smtp::test_until(tested, context, reach).await;
    let what = match test {
        settings::TestOf::Settings => "Test Connection",
        settings::TestOf::NextSecret => "Test with the next client secret",
        settings::TestOf::NextCertificate => "Test with the next certificate",
    };
    if report.passed() {
        settings::record_passed(app, test, &caller.name, tested, secret.as_ref()).await?;
        tracing::info!(target: "smtp", user = %caller.name, "{what}: {}", report.summary);
    } else {
        settings::forget_passed(app, test, &caller.name).await?;
        if let Some(d) = &report.diagnosis {
            tracing::warn!(target: "smtp", user = %caller.name, "{what} failed at {}: {} {}", d.step.label(), d.code, d.message);
        }
    }
    Ok(report)
}

/// Saves the settings this admin's last Test Connection passed with; the
/// workers load them before their next message.
pub async fn save(
    app: &AppState,
    caller: &Caller,
    form: &SmtpSettingsForm,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (validated, secret) = resolve(app, form).await?;
    if !settings::passed_test_allows(app, &caller.name, &validated, secret.as_ref()).await? {
        return Err(ServiceError::Conflict(SAVE_NEEDS_TEST.into()));
    }
    let now = app.now();
    let before_row = db::smtp::get(&app.db).await?;
    let before = before_row
        .as_ref()
        .map(|r| r.form())
        .unwrap_or_else(settings::default_smtp_form);
    let certificate_id = match &validated.auth {
        SmtpAuth::OAuth {
            credential: OAuthCredential::Certificate { id },
            ..
        } => Some(*id),
        _ => None,
    };
    let mut tx = db::begin_write(&app.db).await?;
    db::smtp::put(
        &mut *tx,
        form,
        validated.port.get(),
        validated.timeout.seconds(),
        certificate_id,
        now,
        &caller.name,
    )
    .await?;
    // A next certificate replaces a certificate credential: without one
    // (or once it is the one saved) it has nothing left to replace.
    let next_certificate = before_row.as_ref().and_then(|r| r.next_certificate_id);
    if next_certificate.is_some()
        && (certificate_id.is_none() || certificate_id == next_certificate)
    {
        db::smtp::set_next_certificate(&mut *tx, None, now, &caller.name).await?;
    }
    // Certificates no longer in use go, with their private keys.
    for id in db::oauth_certificates::unused(&mut *tx, certificate_id.unwrap_or(0)).await? {
        settings::forget_certificate(&mut tx, id).await?;
    }
    let new_secret = match &validated.auth {
        SmtpAuth::Password {
            new_password: Some(value),
            ..
        } => Some((settings::SMTP_PASSWORD, value)),
        SmtpAuth::OAuth {
            credential:
                OAuthCredential::Secret {
                    new_value: Some(value),
                    ..
                },
            ..
        } => Some((settings::SMTP_CLIENT_SECRET, value)),
        _ => None,
    };
    if let Some((purpose, value)) = new_secret {
        app.vault
            .put_in(
                &mut *tx,
                purpose,
                settings::SINGLETON,
                &Secret::new(value.clone()),
                now,
            )
            .await?;
    }
    let changed = settings::changed_fields(&before, form).join(", ");
    audit(&mut tx, caller, now, "update", "SMTP Server", &changed).await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    app.mailer.settings_changed();
    settings::release_credential_holds(app).await?;
    settings::forget_passed(app, settings::TestOf::Settings, &caller.name).await?;
    page_after_credential_change(app, caller).await
}

/// What a new certificate is for: the form's credential (used once the
/// settings naming it pass Test Connection and are saved), or the saved
/// settings' next certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CertificateFor {
    Form,
    Next,
}

/// Stores a new certificate and its private key (vault); as the next
/// certificate, it replaces any staged before.
async fn store_certificate(
    app: &AppState,
    caller: &Caller,
    pair: KeyAndCertificate,
    origin: &str,
    purpose: CertificateFor,
) -> Result<OAuthCertificateInfo, ServiceError> {
    let now = app.now();
    let parsed = certs::parse(&pair.certificate_der, now)
        .map_err(|message| FieldError::new("certificate", message))?;
    let mut row = db::oauth_certificates::OAuthCertificateRow {
        id: 0,
        der: parsed.der,
        sha256: parsed.sha256,
        subject: parsed.subject,
        not_before: parsed.not_before,
        not_after: parsed.not_after,
        origin: origin.into(),
        created_at: now,
        created_by: caller.name.clone(),
    };
    let mut tx = db::begin_write(&app.db).await?;
    row.id = db::oauth_certificates::insert(&mut *tx, &row).await?;
    app.vault
        .put_in(
            &mut *tx,
            settings::OAUTH_CERTIFICATE_KEY,
            &row.id.to_string(),
            &pair.private_key_pem,
            now,
        )
        .await?;
    let mut changed = "certificate, private_key".to_string();
    if purpose == CertificateFor::Next {
        let saved = db::smtp::get(&mut *tx).await?;
        let replaced = saved.as_ref().and_then(|r| r.next_certificate_id);
        db::smtp::set_next_certificate(&mut *tx, Some(row.id), now, &caller.name).await?;
        if let Some(replaced) =
            replaced.filter(|id| Some(*id) != saved.and_then(|r| r.certificate_id))
        {
            settings::forget_certificate(&mut tx, replaced).await?;
        }
        changed.push_str(", staged as the next certificate");
    }
    audit(
        &mut tx,
        caller,
        now,
        origin,
        &format!("SMTP OAuth certificate {}", row.id),
        &changed,
    )
    .await?;
    tx.commit().await?;
    Ok(certificate_info(row))
}

/// A key pair and a self-signed certificate made in the console.
async fn generated_pair(app: &AppState) -> Result<KeyAndCertificate, ServiceError> {
    let now = app.clock.now();
    let common_name = format!("Mailroom SMTP OAuth {}", app.config.node_name);
    // RSA key generation takes a moment: keep it off the async workers.
    tokio::task::spawn_blocking(move || {
        crate::server::oauth::certificate::generate(&common_name, now)
    })
    .await?
    .map_err(ServiceError::internal)
}

/// An uploaded certificate (PEM or DER) with its private key (PEM), which
/// must match it.
fn uploaded_pair(
    app: &AppState,
    certificate: &[u8],
    private_key: &Secret,
) -> Result<KeyAndCertificate, ServiceError> {
    let parsed = certs::parse(certificate, app.now())
        .map_err(|message| FieldError::new("certificate", message))?;
    let private_key_pem =
        crate::server::oauth::certificate::key_for_certificate(private_key.expose(), &parsed.der)
            .map_err(|message| FieldError::new("private_key", message))?;
    Ok(KeyAndCertificate {
        private_key_pem,
        certificate_der: parsed.der,
    })
}

/// Generates a key pair and a self-signed certificate in the console.
pub async fn generate_certificate(
    app: &AppState,
    caller: &Caller,
) -> Result<OAuthCertificateInfo, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let pair = generated_pair(app).await?;
    store_certificate(app, caller, pair, "generated", CertificateFor::Form).await
}

/// Stores an uploaded certificate (PEM or DER) with its private key (PEM).
pub async fn upload_certificate(
    app: &AppState,
    caller: &Caller,
    certificate: &[u8],
    private_key: &Secret,
) -> Result<OAuthCertificateInfo, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let pair = uploaded_pair(app, certificate, private_key)?;
    store_certificate(app, caller, pair, "uploaded", CertificateFor::Form).await
}

const NEXT_NEEDS_SAVED_SECRET: &str = "A next client secret belongs to saved settings that use MS Exchange Online OAuth with a client secret: save those first.";
const NEXT_NEEDS_SAVED_CERTIFICATE: &str = "A next certificate belongs to saved settings that use MS Exchange Online OAuth with a certificate: save those first.";

/// The saved settings, when they use OAuth with a client secret (which a
/// next secret replaces) or, with `certificate`, with a certificate.
async fn saved_with_credential(
    app: &AppState,
    certificate: bool,
) -> Result<(SmtpSettings, db::smtp::SmtpRow), ServiceError> {
    let conflict = || {
        ServiceError::Conflict(
            if certificate {
                NEXT_NEEDS_SAVED_CERTIFICATE
            } else {
                NEXT_NEEDS_SAVED_SECRET
            }
            .into(),
        )
    };
    let row = db::smtp::get(&app.db).await?.ok_or_else(conflict)?;
    let form = row.form();
    let stored = settings::stored_secrets(app, &form).await?;
    let saved = form.validate(stored).map_err(|_| conflict())?;
    match &saved.auth {
        SmtpAuth::OAuth { credential, .. }
            if matches!(credential, OAuthCredential::Certificate { .. }) == certificate =>
        {
            Ok((saved, row))
        }
        _ => Err(conflict()),
    }
}

async fn saved_with_client_secret(app: &AppState) -> Result<SmtpSettings, ServiceError> {
    Ok(saved_with_credential(app, false).await?.0)
}

async fn staged_next_secret(app: &AppState) -> Result<Option<Secret>, ServiceError> {
    Ok(app
        .vault
        .get(settings::SMTP_NEXT_CLIENT_SECRET, settings::SINGLETON)
        .await?)
}

/// Test Connection of the saved settings with the next client secret (the
/// one typed, else the staged one): the token only, or every rung. A pass
/// lets this admin Switch Now to that secret.
pub async fn test_next_secret(
    app: &AppState,
    caller: &Caller,
    form: &NextSecretForm,
    whole_ladder: bool,
) -> Result<ConnectionTestReport, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let saved = saved_with_client_secret(app).await?;
    let staged = staged_next_secret(app).await?;
    let next = form.validate(staged.is_some())?;
    let secret = match next.new_value {
        Some(value) => Secret::new(value),
        None => staged.expect("validate asks for a value when none is staged"),
    };
    run_test(
        app,
        caller,
        settings::TestOf::NextSecret,
        &saved,
        Some(secret),
        reach(whole_ladder),
    )
    .await
}

/// Stage: the next client secret is sealed in the vault with its expiry
/// date, beside the current one, until Switch Now or until delivery finds
/// the current one refused.
pub async fn stage_next_secret(
    app: &AppState,
    caller: &Caller,
    form: &NextSecretForm,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    saved_with_client_secret(app).await?;
    let staged = staged_next_secret(app).await?;
    let next = form.validate(staged.is_some())?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if let Some(value) = &next.new_value {
        app.vault
            .put_in(
                &mut *tx,
                settings::SMTP_NEXT_CLIENT_SECRET,
                settings::SINGLETON,
                &Secret::new(value.clone()),
                now,
            )
            .await?;
    }
    db::smtp::set_next_secret_expiry(&mut *tx, &next.expiry.to_string(), now, &caller.name).await?;
    let changed = if next.new_value.is_some() {
        "next_client_secret, next_secret_expiry"
    } else {
        "next_secret_expiry"
    };
    audit(&mut tx, caller, now, "stage", "SMTP Server", changed).await?;
    tx.commit().await?;
    page_after_credential_change(app, caller).await
}

/// Switch Now: the staged secret becomes the current one, after this admin
/// passed a test with it.
pub async fn switch_to_next_secret(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let saved = saved_with_client_secret(app).await?;
    let next = staged_next_secret(app).await?.ok_or_else(|| {
        ServiceError::Conflict("No next client secret is staged: stage one first.".into())
    })?;
    let test = settings::TestOf::NextSecret;
    if !settings::passed_allows(app, test, &caller.name, &saved, Some(&next)).await? {
        return Err(ServiceError::Conflict(
            "Test with the staged next secret first: the switch is made only after a passed test with it.".into(),
        ));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if !settings::adopt_next_secret(app, &mut tx, &next, &caller.name).await? {
        return Err(ServiceError::Conflict(
            "The staged secret is no longer there: it was switched or discarded meanwhile.".into(),
        ));
    }
    audit(
        &mut tx,
        caller,
        now,
        "switch",
        "SMTP Server",
        "client_secret, secret_expiry",
    )
    .await?;
    finish_switch(app, caller, tx, test).await
}

/// After Switch Now's changes: every node loads the new credential, the
/// mail held for the old one goes now, and the passed test is used up.
async fn finish_switch(
    app: &AppState,
    caller: &Caller,
    mut tx: sqlx::Transaction<'static, sqlx::Any>,
    test: settings::TestOf,
) -> Result<SmtpPage, ServiceError> {
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    app.mailer.settings_changed();
    settings::release_credential_holds(app).await?;
    settings::forget_passed(app, test, &caller.name).await?;
    page_after_credential_change(app, caller).await
}

/// Discards the staged next secret.
pub async fn discard_next_secret(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let removed = db::vault::delete(
        &mut *tx,
        settings::SMTP_NEXT_CLIENT_SECRET,
        settings::SINGLETON,
    )
    .await?;
    if !removed {
        return Err(ServiceError::NotFound(
            "No next client secret is staged.".into(),
        ));
    }
    db::smtp::set_next_secret_expiry(&mut *tx, "", now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "discard",
        "SMTP Server",
        "next_client_secret",
    )
    .await?;
    tx.commit().await?;
    page_after_credential_change(app, caller).await
}

/// The saved settings (certificate credential) and the same settings
/// signing with the staged next certificate.
async fn saved_and_next_certificate(
    app: &AppState,
) -> Result<(SmtpSettings, SmtpSettings), ServiceError> {
    let (saved, row) = saved_with_credential(app, true).await?;
    let next = row
        .next_certificate_id
        .and_then(|id| saved.with_certificate(id))
        .ok_or_else(|| {
            ServiceError::Conflict(
                "No next certificate is staged: generate or upload one first.".into(),
            )
        })?;
    Ok((saved, next))
}

/// Generates the next certificate in the console and stages it: Entra ID
/// knows it once the admin uploads it to the app registration.
pub async fn generate_next_certificate(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    saved_with_credential(app, true).await?;
    let pair = generated_pair(app).await?;
    store_certificate(app, caller, pair, "generated", CertificateFor::Next).await?;
    page_after_credential_change(app, caller).await
}

/// Stages an uploaded certificate and its private key as the next one.
pub async fn upload_next_certificate(
    app: &AppState,
    caller: &Caller,
    certificate: &[u8],
    private_key: &Secret,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    saved_with_credential(app, true).await?;
    let pair = uploaded_pair(app, certificate, private_key)?;
    store_certificate(app, caller, pair, "uploaded", CertificateFor::Next).await?;
    page_after_credential_change(app, caller).await
}

/// The page after a change of the credential, once the expiry alarms are
/// checked again: a renewed secret or a staged next credential that
/// outlives the current one clears its alarm, a discarded one brings it
/// back, before the page reloads.
async fn page_after_credential_change(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    if let Err(error) = crate::server::alarms::run_check(app).await {
        tracing::error!(target: "alarms", "alarm check failed: {error:#}");
    }
    get(app, caller).await
}

/// Test Connection of the saved settings signing with the staged next
/// certificate: the token only, or every rung. A pass lets this admin
/// Switch Now to it.
pub async fn test_next_certificate(
    app: &AppState,
    caller: &Caller,
    whole_ladder: bool,
) -> Result<ConnectionTestReport, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (_, next) = saved_and_next_certificate(app).await?;
    run_test(
        app,
        caller,
        settings::TestOf::NextCertificate,
        &next,
        None,
        reach(whole_ladder),
    )
    .await
}

/// Switch Now: the staged certificate becomes the certificate credential,
/// after this admin passed a test with it; the old one goes with its key.
pub async fn switch_to_next_certificate(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let (saved, next) = saved_and_next_certificate(app).await?;
    let test = settings::TestOf::NextCertificate;
    if !settings::passed_allows(app, test, &caller.name, &next, None).await? {
        return Err(ServiceError::Conflict(
            "Test with the staged next certificate first: the switch is made only after a passed test with it.".into(),
        ));
    }
    let (Some(replaced), Some(next_id)) = (saved.certificate_id(), next.certificate_id()) else {
        return Err(ServiceError::Conflict(NEXT_NEEDS_SAVED_CERTIFICATE.into()));
    };
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if !settings::adopt_next_certificate(app, &mut tx, replaced, next_id, &caller.name).await? {
        return Err(ServiceError::Conflict(
            "The staged certificate is no longer there: it was switched or discarded meanwhile."
                .into(),
        ));
    }
    audit(&mut tx, caller, now, "switch", "SMTP Server", "certificate").await?;
    finish_switch(app, caller, tx, test).await
}

/// Discards the staged next certificate and its private key.
pub async fn discard_next_certificate(
    app: &AppState,
    caller: &Caller,
) -> Result<SmtpPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let row = db::smtp::get(&mut *tx).await?;
    let current = row.as_ref().and_then(|r| r.certificate_id);
    let staged = row
        .and_then(|r| r.next_certificate_id)
        .ok_or_else(|| ServiceError::NotFound("No next certificate is staged.".into()))?;
    db::smtp::set_next_certificate(&mut *tx, None, now, &caller.name).await?;
    if Some(staged) != current {
        settings::forget_certificate(&mut tx, staged).await?;
    }
    audit(
        &mut tx,
        caller,
        now,
        "discard",
        "SMTP Server",
        "next_certificate",
    )
    .await?;
    tx.commit().await?;
    page_after_credential_change(app, caller).await
}
