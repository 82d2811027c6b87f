use crate::domain::guest::GuestEmailForm;
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct GuestEmailRow {
    #[sqlx(try_from = "super::codec::Flag")]
    pub enabled: bool,
    pub default_from: String,
    #[sqlx(try_from = "super::codec::Flag")]
    pub from_sponsor: bool,
    pub updated_at: i64,
    pub updated_by: String,
}

impl GuestEmailRow {
    pub fn form(&self) -> GuestEmailForm {
        GuestEmailForm {
            enabled: self.enabled,
            default_from: self.default_from.clone(),
            from_sponsor: self.from_sponsor,
        }
    }
}

pub async fn get(db: impl AnyExecutor<'_>) -> sqlx::Result<Option<GuestEmailRow>> {
    sqlx::query_as(
        "SELECT enabled, default_from, from_sponsor, updated_at, updated_by \
         FROM guest_email_settings WHERE id = 1",
    )
    .fetch_optional(db)
    .await
}

pub async fn put(db: impl AnyExecutor<'_>, row: &GuestEmailRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO guest_email_settings (id, enabled, default_from, from_sponsor, updated_at, updated_by) \
         VALUES (1, $1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, \
         default_from = excluded.default_from, from_sponsor = excluded.from_sponsor, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )
    .bind(row.enabled)
    .bind(&row.default_from)
    .bind(row.from_sponsor)
    .bind(row.updated_at)
    .bind(&row.updated_by)
    .execute(db)
    .await?;
    Ok(())
}
