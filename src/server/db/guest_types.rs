use super::DbExecutor;
use crate::domain::guest_type::{ExpiryNotice, GuestType, TimeUnit};
use sqlx::{AnyExecutor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct GuestTypeRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub max_days: i64,
    pub default_days: i64,
    #[sqlx(try_from = "super::codec::Flag")]
    pub notify_enabled: bool,
    pub notify_advance: i64,
    pub notify_unit: String,
    pub notify_subject: String,
    pub notify_text: String,
    pub updated_at: i64,
    pub updated_by: String,
    /// Guest accounts of this type (any state).
    pub accounts: i64,
    /// Guest portals that give new accounts this type.
    pub portals: i64,
}

impl GuestTypeRow {
    pub fn guest_type(&self) -> GuestType {
        GuestType {
            name: self.name.clone(),
            description: self.description.clone(),
            max_days: self.max_days.clamp(0, i64::from(u32::MAX)) as u32,
            default_days: self.default_days.clamp(0, i64::from(u32::MAX)) as u32,
            notice: ExpiryNotice {
                enabled: self.notify_enabled,
                advance: self.notify_advance.clamp(0, i64::from(u32::MAX)) as u32,
                unit: TimeUnit::parse(&self.notify_unit).unwrap_or_default(),
                subject: self.notify_subject.clone(),
                text: self.notify_text.clone(),
            },
            // Kept in their own table: `languages::guest_type`.
            notice_translations: Vec::new(),
        }
    }
}

const SELECT: &str = "SELECT t.id, t.name, t.description, t.max_days, t.default_days, t.notify_enabled, \
     t.notify_advance, t.notify_unit, t.notify_subject, t.notify_text, t.updated_at, t.updated_by, \
     (SELECT COUNT(*) FROM guest_accounts a WHERE a.guest_type_id = t.id) AS accounts, \
     (SELECT COUNT(*) FROM guest_portals p WHERE p.guest_type_id = t.id) AS portals \
     FROM guest_types t";

pub async fn list(db: impl AnyExecutor<'_>) -> sqlx::Result<Vec<GuestTypeRow>> {
    sqlx::query_as(&format!("{SELECT} ORDER BY lower(t.name)"))
        .fetch_all(db)
        .await
}

pub async fn get(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<GuestTypeRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn find_by_name(
    db: impl AnyExecutor<'_>,
    name: &str,
) -> sqlx::Result<Option<GuestTypeRow>> {
    sqlx::query_as(&format!("{SELECT} WHERE lower(t.name) = lower($1)"))
        .bind(name)
        .fetch_optional(db)
        .await
}

/// Inserts when `id` is None; returns the row's id, or None when `id`
/// names no row.
pub async fn save(
    db: impl AnyExecutor<'_>,
    id: Option<i64>,
    guest_type: &GuestType,
    now: i64,
    by: &str,
) -> sqlx::Result<Option<i64>> {
    let notice = &guest_type.notice;
    let query = match id {
        None => sqlx::query_scalar(
            "INSERT INTO guest_types (name, description, max_days, default_days, notify_enabled, \
             notify_advance, notify_unit, notify_subject, notify_text, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        ),
        Some(_) => sqlx::query_scalar(
            "UPDATE guest_types SET name = $1, description = $2, max_days = $3, default_days = $4, \
             notify_enabled = $5, notify_advance = $6, notify_unit = $7, notify_subject = $8, \
             notify_text = $9, updated_at = $10, updated_by = $11 WHERE id = $12 RETURNING id",
        ),
    };
    query
        .bind(&guest_type.name)
        .bind(&guest_type.description)
        .bind(i64::from(guest_type.max_days))
        .bind(i64::from(guest_type.default_days))
        .bind(notice.enabled)
        .bind(i64::from(notice.advance))
        .bind(notice.unit.as_str())
        .bind(&notice.subject)
        .bind(&notice.text)
        .bind(now)
        .bind(by)
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Deletes the types no account or portal uses; returns the number deleted.
pub async fn delete_unused(db: impl DbExecutor<'_>, ids: &[i64]) -> sqlx::Result<u64> {
    super::delete_listed(
        db,
        "guest_types",
        ids,
        "AND NOT EXISTS (SELECT 1 FROM guest_accounts a WHERE a.guest_type_id = guest_types.id) \
         AND NOT EXISTS (SELECT 1 FROM guest_portals p WHERE p.guest_type_id = guest_types.id)",
    )
    .await
}
