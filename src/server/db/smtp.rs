use crate::domain::smtp::SmtpSettingsForm;
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct SmtpRow {
    pub smtp_server: String,
    pub smtp_port: i64,
    pub connection_timeout: i64,
    #[sqlx(try_from = "super::codec::Flag")]
    pub use_tls: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub use_authentication: bool,
    pub auth_type: String,
    pub username: String,
    pub cloud: String,
    pub custom_authority: String,
    pub client_id: String,
    pub tenant_id: String,
    pub credential: String,
    pub secret_expiry: String,
    pub certificate_id: Option<i64>,
    pub updated_at: i64,
    pub updated_by: String,
}

impl SmtpRow {
    /// The saved values as the page's form, with the write-only secrets blank.
    pub fn form(&self) -> SmtpSettingsForm {
        SmtpSettingsForm {
            smtp_server: self.smtp_server.clone(),
            smtp_port: self.smtp_port.to_string(),
            connection_timeout: self.connection_timeout.to_string(),
            use_tls: self.use_tls,
            use_authentication: self.use_authentication,
            auth_type: self.auth_type.clone(),
            username: self.username.clone(),
            password: String::new(),
            cloud: self.cloud.clone(),
            custom_authority: self.custom_authority.clone(),
            client_id: self.client_id.clone(),
            tenant_id: self.tenant_id.clone(),
            credential: self.credential.clone(),
            client_secret: String::new(),
            secret_expiry: self.secret_expiry.clone(),
            certificate_id: self
                .certificate_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
        }
    }
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<SmtpRow>> {
    sqlx::query_as(
        "SELECT smtp_server, smtp_port, connection_timeout, use_tls, use_authentication, auth_type, \
         username, cloud, custom_authority, client_id, tenant_id, credential, secret_expiry, \
         certificate_id, updated_at, updated_by FROM smtp_settings WHERE id = 1",
    )
    .fetch_optional(db)
    .await
}

/// Stores the validated form (its secrets are ignored: they go to the vault).
pub async fn put(
    db: impl AnyExecutor<'_>,
    form: &SmtpSettingsForm,
    port: u16,
    timeout: u32,
    certificate_id: Option<i64>,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO smtp_settings (id, smtp_server, smtp_port, connection_timeout, use_tls, \
         use_authentication, auth_type, username, cloud, custom_authority, client_id, tenant_id, \
         credential, secret_expiry, certificate_id, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (id) DO UPDATE SET smtp_server = excluded.smtp_server, \
         smtp_port = excluded.smtp_port, connection_timeout = excluded.connection_timeout, \
         use_tls = excluded.use_tls, use_authentication = excluded.use_authentication, \
         auth_type = excluded.auth_type, username = excluded.username, cloud = excluded.cloud, \
         custom_authority = excluded.custom_authority, client_id = excluded.client_id, \
         tenant_id = excluded.tenant_id, credential = excluded.credential, \
         secret_expiry = excluded.secret_expiry, certificate_id = excluded.certificate_id, \
         updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by",
    )
    .bind(form.smtp_server.trim())
    .bind(i64::from(port))
    .bind(i64::from(timeout))
    .bind(form.use_tls)
    .bind(form.use_authentication)
    .bind(&form.auth_type)
    .bind(form.username.trim())
    .bind(&form.cloud)
    .bind(form.custom_authority.trim())
    .bind(form.client_id.trim())
    .bind(form.tenant_id.trim())
    .bind(&form.credential)
    .bind(form.secret_expiry.trim())
    .bind(certificate_id)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}

/// The mailbox the saved settings sign in to Exchange Online as, when they
/// use OAuth: the only sender Exchange accepts.
pub async fn oauth_mailbox(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<String>> {
    Ok(get(db)
        .await?
        .filter(|smtp| smtp.use_authentication && smtp.auth_type == "oauth")
        .map(|smtp| smtp.username))
}
