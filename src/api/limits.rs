//! The SMTP Server page's Sending Limits, and the paced mailbox's state
//! for the Mail Queue.

use super::ApiError;
use crate::domain::limits::{PacingView, SendingLimitsForm};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendingLimitsPage {
    pub form: SendingLimitsForm,
    /// Whether the limits were saved, or are the cloud's defaults.
    pub saved: bool,
    pub pacing: PacingView,
}

#[server(endpoint = "get_sending_limits")]
pub async fn get_sending_limits() -> Result<SendingLimitsPage, ApiError> {
    use crate::server::mail::pacing;
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let saved = db::pacing::limits(&state.db)
        .await
        .map_err(auth::internal)?
        .is_some();
    let pacing = pacing::view(&state).await.map_err(auth::internal)?;
    Ok(SendingLimitsPage {
        form: pacing.limits.form(),
        saved,
        pacing,
    })
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
