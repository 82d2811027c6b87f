//! Administration > System > Certificates > Trusted Certificates: the CA
//! certificates outbound TLS trusts besides the system roots.

use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::certificate::TrustedCertificate;
use crate::domain::{Access, FieldError, reject_line_breaks};
use crate::server::AppState;
use crate::server::{certs, db};

fn view(row: db::certificates::CertificateRow) -> TrustedCertificate {
    TrustedCertificate {
        pem: certs::to_pem(&row.der),
        id: row.id,
        friendly_name: row.friendly_name,
        subject: row.subject,
        issuer: row.issuer,
        serial: row.serial,
        not_before: row.not_before,
        not_after: row.not_after,
        sha256: row.sha256,
        trust_infrastructure: row.trust_infrastructure,
        description: row.description,
        added_at: row.added_at,
        added_by: row.added_by,
    }
}

pub async fn list(
    app: &AppState,
    caller: &Caller,
) -> Result<Vec<TrustedCertificate>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::certificates::list(&app.db).await?;
    Ok(rows.into_iter().map(view).collect())
}

/// A certificate to import, as the Import form gives it.
pub struct Import {
    /// PEM or DER.
    pub file: Vec<u8>,
    /// Blank: the certificate's subject.
    pub friendly_name: String,
    pub description: String,
    pub trust_infrastructure: bool,
}

pub async fn import(
    app: &AppState,
    caller: &Caller,
    import: Import,
) -> Result<TrustedCertificate, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let now = app.now();
    let parsed = certs::parse(&import.file, now)
        .map_err(|message| FieldError::new("certificate", message))?;
    let mut friendly_name = import.friendly_name.trim().to_string();
    let description = import.description.trim().to_string();
    for (field, value) in [
        ("friendly_name", &friendly_name),
        ("description", &description),
    ] {
        reject_line_breaks(field, value)?;
        if value.chars().count() > 256 {
            return Err(ServiceError::invalid(field, "At most 256 characters."));
        }
    }
    if friendly_name.is_empty() {
        friendly_name = parsed.subject.clone();
    }
    let mut tx = db::begin_write(&app.db).await?;
    if db::certificates::exists_with_sha256(&mut *tx, &parsed.sha256).await? {
        return Err(ServiceError::invalid(
            "certificate",
            "This certificate is already in the Trusted Certificates store.",
        ));
    }
    let mut row = db::certificates::CertificateRow {
        id: 0,
        friendly_name,
        der: parsed.der,
        sha256: parsed.sha256,
        subject: parsed.subject,
        issuer: parsed.issuer,
        serial: parsed.serial,
        not_before: parsed.not_before,
        not_after: parsed.not_after,
        trust_infrastructure: import.trust_infrastructure,
        description,
        added_at: now,
        added_by: caller.name.clone(),
    };
    row.id = db::certificates::insert(&mut *tx, &row).await?;
    let fields = if import.trust_infrastructure {
        "certificate, friendly_name, trust_infrastructure"
    } else {
        "certificate, friendly_name"
    };
    audit(
        &mut tx,
        caller,
        now,
        "import",
        &format!("Trusted Certificate {}", row.friendly_name),
        fields,
    )
    .await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    trust_changed(app);
    tracing::info!(target: "admin-access", user = %caller.name, "imported trusted certificate {} (sha256 {})", row.subject, row.sha256);
    Ok(view(row))
}

/// Deletes the selected certificates; how many were deleted.
pub async fn delete(app: &AppState, caller: &Caller, ids: &[i64]) -> Result<usize, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(ServiceError::Conflict(
            "Select the certificates to delete.".into(),
        ));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let mut deleted = 0;
    for &id in ids {
        let Some(row) = db::certificates::get(&mut *tx, id).await? else {
            continue;
        };
        db::certificates::delete(&mut *tx, id).await?;
        audit(
            &mut tx,
            caller,
            now,
            "delete",
            &format!("Trusted Certificate {}", row.friendly_name),
            "certificate",
        )
        .await?;
        deleted += 1;
    }
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    trust_changed(app);
    Ok(deleted)
}

/// The workers build their TLS settings again; expiry alarms look again.
fn trust_changed(app: &AppState) {
    app.mailer.settings_changed();
    crate::server::alarms::check_soon(app);
}
