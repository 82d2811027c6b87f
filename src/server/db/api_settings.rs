use crate::domain::api::ApiSettings;
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct ApiSettingsRow {
    #[sqlx(try_from = "super::codec::Flag")]
    pub ers_enabled: bool,
    #[sqlx(try_from = "super::codec::Flag")]
    pub csrf_enabled: bool,
    pub updated_at: i64,
    pub updated_by: String,
}

impl ApiSettingsRow {
    pub fn settings(&self) -> ApiSettings {
        ApiSettings {
            ers_enabled: self.ers_enabled,
            csrf_enabled: self.csrf_enabled,
        }
    }
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<ApiSettingsRow>> {
    sqlx::query_as(
        "SELECT ers_enabled, csrf_enabled, updated_at, updated_by FROM api_settings WHERE id = 1",
    )
    .fetch_optional(db)
    .await
}

pub async fn put(
    db: impl AnyExecutor<'_>,
    settings: ApiSettings,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_settings (id, ers_enabled, csrf_enabled, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4) ON CONFLICT (id) DO UPDATE SET ers_enabled = excluded.ers_enabled, \
         csrf_enabled = excluded.csrf_enabled, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(settings.ers_enabled)
    .bind(settings.csrf_enabled)
    .bind(now)
    .bind(by)
    .execute(db)
    .await?;
    Ok(())
}
