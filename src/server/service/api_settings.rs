//! Administration > System > Settings > API Settings.

use super::{Caller, ServiceError, audit};
use crate::domain::Access;
use crate::domain::api::{ApiSettings, ApiSettingsPage};
use crate::server::AppState;
use crate::server::db;

pub async fn get(app: &AppState, caller: &Caller) -> Result<ApiSettingsPage, ServiceError> {
    caller.require(Access::View)?;
    Ok(match db::api_settings::get(&app.db).await? {
        Some(row) => ApiSettingsPage {
            settings: row.settings(),
            updated_by: row.updated_by,
            updated_at: row.updated_at,
        },
        None => ApiSettingsPage {
            settings: ApiSettings::default(),
            updated_by: String::new(),
            updated_at: 0,
        },
    })
}

pub async fn save(
    app: &AppState,
    caller: &Caller,
    settings: ApiSettings,
) -> Result<ApiSettingsPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let before = get(app, caller).await?.settings;
    let changed = super::changed(&[
        ("ers_enabled", before.ers_enabled != settings.ers_enabled),
        ("csrf_enabled", before.csrf_enabled != settings.csrf_enabled),
    ]);
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::api_settings::put(&mut *tx, settings, now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        "API Settings",
        &changed.join(", "),
    )
    .await?;
    tx.commit().await?;
    if before.ers_enabled != settings.ers_enabled {
        tracing::info!(target: "admin-access", "ERS API turned {} by {}", if settings.ers_enabled { "on" } else { "off" }, caller.name);
    }
    get(app, caller).await
}

/// What the ERS API answers with now (read on every request, so that a
/// change on any node applies everywhere at once).
pub async fn current(app: &AppState) -> Result<ApiSettings, ServiceError> {
    Ok(db::api_settings::get(&app.db)
        .await?
        .map(|row| row.settings())
        .unwrap_or_default())
}

/// `MAILROOM_ERS=on` at start-up switches the API on (kept afterwards;
/// the page can switch it off again).
pub async fn apply_environment(app: &AppState) -> Result<(), ServiceError> {
    let wanted = std::env::var(crate::domain::api::ERS_ENV)
        .is_ok_and(|v| v.eq_ignore_ascii_case("on") || v == "1" || v.eq_ignore_ascii_case("true"));
    if !wanted {
        return Ok(());
    }
    let mut settings = current(app).await?;
    if settings.ers_enabled {
        return Ok(());
    }
    settings.ers_enabled = true;
    save(app, &Caller::command_line(), settings).await?;
    Ok(())
}
