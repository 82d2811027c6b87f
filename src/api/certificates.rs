//! Administration > System > Certificates > Trusted Certificates.

use super::ApiError;
use leptos::prelude::*;
use leptos::server_fn::codec::{MultipartData, MultipartFormData};
use serde::{Deserialize, Serialize};

pub const TRUST_INFRASTRUCTURE: &str =
    "Trust for authentication within the console and client-server communication (infrastructure)";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedCertificate {
    pub id: i64,
    pub friendly_name: String,
    pub subject: String,
    pub issuer: String,
    pub serial: String,
    pub not_before: i64,
    pub not_after: i64,
    pub sha256: String,
    pub trust_infrastructure: bool,
    pub description: String,
    pub added_at: i64,
    pub added_by: String,
    /// The certificate itself, PEM-encoded (public: a CA certificate).
    pub pem: String,
}

#[cfg(feature = "ssr")]
fn view(row: crate::server::db::certificates::CertificateRow) -> TrustedCertificate {
    TrustedCertificate {
        pem: crate::server::certs::to_pem(&row.der),
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

#[server(endpoint = "list_trusted_certificates")]
pub async fn list_trusted_certificates() -> Result<Vec<TrustedCertificate>, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let rows = db::certificates::list(&state.db)
        .await
        .map_err(auth::internal)?;
    Ok(rows.into_iter().map(view).collect())
}

/// Imports a certificate from a multipart form: `certificate` (the file),
/// `friendly_name`, `trust_infrastructure` ("true" when ticked), `description`.
#[server(input = MultipartFormData, endpoint = "import_trusted_certificate")]
pub async fn import_trusted_certificate(
    data: MultipartData,
) -> Result<TrustedCertificate, ApiError> {
    use crate::domain::{FieldError, reject_line_breaks};
    use crate::server::clock::unix;
    use crate::server::{auth, certs, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let mut fields = super::read_multipart(data, 128 * 1024).await?;
    let text = |name: &str| {
        fields
            .get(name)
            .map(|b| String::from_utf8_lossy(b).trim().to_string())
            .unwrap_or_default()
    };
    let mut friendly_name = text("friendly_name");
    let description = text("description");
    let trust_infrastructure = text("trust_infrastructure") == "true";
    let file = fields.remove("certificate").unwrap_or_default();
    let now = unix(state.clock.now());
    let parsed = certs::parse(&file, now)
        .map_err(|message| auth::bad_request(FieldError::new("certificate", message)))?;
    for (field, value) in [
        ("friendly_name", &friendly_name),
        ("description", &description),
    ] {
        reject_line_breaks(field, value).map_err(auth::bad_request)?;
        if value.chars().count() > 256 {
            return Err(auth::bad_request(FieldError::new(
                field,
                "At most 256 characters.",
            )));
        }
    }
    if friendly_name.is_empty() {
        friendly_name = parsed.subject.clone();
    }
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    if db::certificates::exists_with_sha256(&mut *tx, &parsed.sha256)
        .await
        .map_err(auth::internal)?
    {
        return Err(auth::bad_request(FieldError::new(
            "certificate",
            "This certificate is already in the Trusted Certificates store.",
        )));
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
        trust_infrastructure,
        description,
        added_at: now,
        added_by: caller.admin.name.clone(),
    };
    row.id = db::certificates::insert(&mut *tx, &row)
        .await
        .map_err(auth::internal)?;
    let fields = if trust_infrastructure {
        "certificate, friendly_name, trust_infrastructure"
    } else {
        "certificate, friendly_name"
    };
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "import",
        &format!("Trusted Certificate {}", row.friendly_name),
        fields,
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    state.mailer.settings_changed();
    crate::server::alarms::check_soon(&state);
    tracing::info!(target: "admin-access", user = %caller.admin.name, "imported trusted certificate {} (sha256 {})", row.subject, row.sha256);
    Ok(view(row))
}

#[server(endpoint = "delete_trusted_certificates")]
pub async fn delete_trusted_certificates(ids: Vec<i64>) -> Result<usize, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    if ids.is_empty() || ids.len() > 1000 {
        return Err(auth::bad_request(ApiError::Rejected(
            "Select the certificates to delete.".into(),
        )));
    }
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let mut deleted = 0;
    for id in ids {
        let Some(row) = db::certificates::get(&mut *tx, id)
            .await
            .map_err(auth::internal)?
        else {
            continue;
        };
        db::certificates::delete(&mut *tx, id)
            .await
            .map_err(auth::internal)?;
        super::record_audit(
            &mut tx,
            &caller,
            now,
            "delete",
            &format!("Trusted Certificate {}", row.friendly_name),
            "certificate",
        )
        .await?;
        deleted += 1;
    }
    tx.commit().await.map_err(auth::internal)?;
    state.mailer.settings_changed();
    crate::server::alarms::check_soon(&state);
    Ok(deleted)
}
