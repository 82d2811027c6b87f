//! Administration > System > Admin Access > Administrators, the dashboard
//! summary, and the configuration-change audit.

use super::ApiError;
use crate::domain::AdminForm;
pub use crate::domain::admin::{
    AdminSummary, AuditEntry, DashboardAlarm, DashboardSummary, LAST_SUPER_ADMIN,
};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, admins};

#[server(endpoint = "list_admins")]
pub async fn list_admins() -> Result<Vec<AdminSummary>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    admins::list(&state, &caller).await.map_err(super::failed)
}

#[server(endpoint = "get_admin")]
pub async fn get_admin(id: i64) -> Result<AdminSummary, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    admins::get(&state, &caller, id)
        .await
        .map_err(super::failed)
}

/// The admin user form's Submit/Save: creates an admin user when `id` is
/// absent, else saves changes to that user. One server function serves both
/// so the browser build carries one form client, not two. Goes back to the
/// list, which names the saved admin in its success banner.
#[server(endpoint = "save_admin")]
pub async fn save_admin(id: Option<i64>, form: AdminForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    let saved = match id {
        None => admins::create(&state, &caller, form).await,
        Some(id) => admins::update(&state, &caller, id, form).await,
    }
    .map_err(super::failed)?;
    // Admin names contain only URL-safe characters.
    leptos_axum::redirect(&format!(
        "{}?saved={saved}",
        crate::components::menu::ADMINISTRATORS
    ));
    Ok(())
}

/// Enables or disables several admin users at once (the toolbar's Change Status).
#[server(endpoint = "set_admins_status")]
pub async fn set_admins_status(ids: Vec<i64>, enabled: bool) -> Result<usize, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    admins::set_status(&state, &caller, &ids, enabled)
        .await
        .map_err(super::failed)
}

#[server(endpoint = "get_dashboard")]
pub async fn get_dashboard() -> Result<DashboardSummary, ApiError> {
    use crate::server::auth::Visitor;
    use crate::server::service::sessions;
    let (state, caller) = super::caller::<Caller>().await?;
    let (_, visitor) = super::caller::<Visitor>().await?;
    let mut summary = admins::dashboard(&state, &caller)
        .await
        .map_err(super::failed)?;
    if let Some(token) = visitor.admin_token.as_deref() {
        summary.previous_sign_in = sessions::previous_sign_in(&state, token)
            .await
            .map_err(super::failed)?;
    }
    Ok(summary)
}

#[server(endpoint = "list_audit")]
pub async fn list_audit() -> Result<Vec<AuditEntry>, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    admins::audit_log(&state, &caller)
        .await
        .map_err(super::failed)
}
