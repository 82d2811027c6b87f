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
    pub transport: String,
    pub graph_endpoint: String,
    pub next_secret_expiry: String,
    pub next_certificate_id: Option<i64>,
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
            transport: self.transport.clone(),
            graph_endpoint: self.graph_endpoint.clone(),
        }
    }
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<SmtpRow>> {
    sqlx::query_as(
        "SELECT smtp_server, smtp_port, connection_timeout, use_tls, use_authentication, auth_type, \
         username, cloud, custom_authority, client_id, tenant_id, credential, secret_expiry, \
         certificate_id, transport, graph_endpoint, next_secret_expiry, next_certificate_id, \
         updated_at, updated_by FROM smtp_settings WHERE id = 1",
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
         credential, secret_expiry, certificate_id, updated_at, updated_by, transport, \
         graph_endpoint) \
         VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18) \
         ON CONFLICT (id) DO UPDATE SET smtp_server = excluded.smtp_server, \
         smtp_port = excluded.smtp_port, connection_timeout = excluded.connection_timeout, \
         use_tls = excluded.use_tls, use_authentication = excluded.use_authentication, \
         auth_type = excluded.auth_type, username = excluded.username, cloud = excluded.cloud, \
         custom_authority = excluded.custom_authority, client_id = excluded.client_id, \
         tenant_id = excluded.tenant_id, credential = excluded.credential, \
         secret_expiry = excluded.secret_expiry, certificate_id = excluded.certificate_id, \
         updated_at = excluded.updated_at, \
         updated_by = excluded.updated_by, transport = excluded.transport, \
         graph_endpoint = excluded.graph_endpoint",
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
    .bind(if form.transport == "graph" {
        "graph"
    } else {
        "smtp"
    })
    .bind(form.graph_endpoint.trim())
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

/// Records the staged next secret's expiry date (blank: none staged).
pub async fn set_next_secret_expiry(
    db: impl AnyExecutor<'_>,
    expiry: &str,
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE smtp_settings SET next_secret_expiry = $1, updated_at = $2, updated_by = $3 \
         WHERE id = 1",
    )
    .bind(expiry)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?
    .rows_affected())
}

/// The staged secret becomes the current one: its expiry date moves over.
pub async fn adopt_next_secret(db: impl AnyExecutor<'_>, now: i64, by: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE smtp_settings SET secret_expiry = next_secret_expiry, next_secret_expiry = '', \
         updated_at = $1, updated_by = $2 WHERE id = 1 AND next_secret_expiry <> ''",
    )
    .bind(now)
    .bind(by)
    .execute(db)
    .await?
    .rows_affected())
}

/// Names the certificate staged as the next one (`None`: none staged).
pub async fn set_next_certificate(
    db: impl AnyExecutor<'_>,
    id: Option<i64>,
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE smtp_settings SET next_certificate_id = $1, updated_at = $2, updated_by = $3 \
         WHERE id = 1",
    )
    .bind(id)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?
    .rows_affected())
}

/// The staged certificate `next` becomes the current one; 0 rows when it
/// is no longer the staged one (another node or admin switched first).
pub async fn adopt_next_certificate(
    db: impl AnyExecutor<'_>,
    next: i64,
    now: i64,
    by: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE smtp_settings SET certificate_id = next_certificate_id, \
         next_certificate_id = NULL, updated_at = $2, updated_by = $3 \
         WHERE id = 1 AND next_certificate_id = $1",
    )
    .bind(next)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?
    .rows_affected())
}
