//! The SMTP Server page's Sending Limits, and the paced mailbox's state
//! for the Mail Queue.

use super::ApiError;
use crate::domain::limits::{PacingView, SendingLimitsForm};
use leptos::prelude::*;

/// The limits in force (saved or the cloud's defaults) and the mailbox's
/// pacing: the Sending Limits section shows the first, the Mail Queue both.
#[server(endpoint = "get_sending_limits")]
pub async fn get_sending_limits() -> Result<PacingView, ApiError> {
    use crate::server::auth;
    use crate::server::mail::pacing;
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    pacing::view(&state).await.map_err(auth::internal)
}

#[server(endpoint = "save_sending_limits")]
pub async fn save_sending_limits(form: SendingLimitsForm) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let limits = form.validate().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = db::begin_write(&state.db).await.map_err(auth::internal)?;
    db::pacing::put_limits(&mut *tx, &limits, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(&mut tx, &caller, now, "update", "Sending Limits", "").await?;
    tx.commit().await.map_err(auth::internal)?;
    // The workers load the new limits before their next message.
    state.mailer.settings_changed();
    state.mailer.wake();
    Ok(())
}
