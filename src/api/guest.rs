//! Work Centers > Guest Access > Settings > Guest Email Settings.

use super::ApiError;
use crate::domain::guest::GuestEmailForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestEmailPage {
    pub form: GuestEmailForm,
    /// The mailbox the SMTP Server page signs in to Exchange Online as,
    /// when it uses OAuth: the only sender Exchange accepts.
    pub oauth_mailbox: Option<String>,
}

#[server(endpoint = "get_guest_email_settings")]
pub async fn get_guest_email_settings() -> Result<GuestEmailPage, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let form = db::guest_email::get(&state.db)
        .await
        .map_err(auth::internal)?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    let oauth_mailbox = db::smtp::get(&state.db)
        .await
        .map_err(auth::internal)?
        .filter(|smtp| smtp.use_authentication && smtp.auth_type == "oauth")
        .map(|smtp| smtp.username);
    Ok(GuestEmailPage {
        form,
        oauth_mailbox,
    })
}

#[server(endpoint = "save_guest_email_settings")]
pub async fn save_guest_email_settings(form: GuestEmailForm) -> Result<GuestEmailPage, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let settings = form.validate().map_err(auth::bad_request)?;
    let before = db::guest_email::get(&state.db)
        .await
        .map_err(auth::internal)?
        .map(|row| row.form())
        .unwrap_or_else(GuestEmailForm::ise_defaults);
    let after = GuestEmailForm {
        enabled: settings.enabled,
        default_from: settings.default_from.as_str().to_string(),
        from_sponsor: settings.from_sponsor,
    };
    let changed: Vec<&str> = [
        ("enabled", before.enabled != after.enabled),
        ("default_from", before.default_from != after.default_from),
        ("from_sponsor", before.from_sponsor != after.from_sponsor),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name)
    .collect();
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    db::guest_email::put(
        &mut *tx,
        &db::guest_email::GuestEmailRow {
            enabled: after.enabled,
            default_from: after.default_from,
            from_sponsor: after.from_sponsor,
            updated_at: now,
            updated_by: caller.admin.name.clone(),
        },
    )
    .await
    .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        "Guest Email Settings",
        &changed.join(", "),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    get_guest_email_settings().await
}
