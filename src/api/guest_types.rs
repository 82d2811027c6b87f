//! Work Centers > Guest Access > Portals & Components > Guest Types.

use super::ApiError;
use crate::domain::guest_type::{GuestTypeForm, TimeUnit};
use crate::domain::mail::TestEmailResult;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub max_days: u32,
    pub default_days: u32,
    pub notice_enabled: bool,
    pub notice_advance: u32,
    pub notice_unit: TimeUnit,
    /// Guest accounts of this type: a type in use cannot be deleted.
    pub accounts: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestTypeEdit {
    pub id: i64,
    pub form: GuestTypeForm,
    pub updated_by: String,
    pub updated_at: i64,
}

#[server(endpoint = "list_guest_types")]
pub async fn list_guest_types() -> Result<Vec<GuestTypeSummary>, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let rows = db::guest_types::list(&state.db)
        .await
        .map_err(auth::internal)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let guest_type = row.guest_type();
            GuestTypeSummary {
                id: row.id,
                name: guest_type.name,
                description: guest_type.description,
                max_days: guest_type.max_days,
                default_days: guest_type.default_days,
                notice_enabled: guest_type.notice.enabled,
                notice_advance: guest_type.notice.advance,
                notice_unit: guest_type.notice.unit,
                accounts: row.accounts,
            }
        })
        .collect())
}

#[server(endpoint = "get_guest_type")]
pub async fn get_guest_type(id: i64) -> Result<GuestTypeEdit, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let row = db::guest_types::get(&state.db, id)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(ApiError::Rejected(
                "This guest type no longer exists.".into(),
            ))
        })?;
    Ok(GuestTypeEdit {
        id: row.id,
        form: row.guest_type().to_form(),
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

/// Creates (no `id`) or updates a guest type; returns its id.
#[server(endpoint = "save_guest_type")]
pub async fn save_guest_type(id: Option<i64>, form: GuestTypeForm) -> Result<i64, ApiError> {
    use crate::domain::FieldError;
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let guest_type = form.validate().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    if let Some(other) = db::guest_types::find_by_name(&mut *tx, &guest_type.name)
        .await
        .map_err(auth::internal)?
        && Some(other.id) != id
    {
        return Err(auth::bad_request(FieldError::new(
            "name",
            format!("A guest type named '{}' already exists.", other.name),
        )));
    }
    let before = match id {
        Some(id) => db::guest_types::get(&mut *tx, id)
            .await
            .map_err(auth::internal)?
            .map(|row| row.guest_type().to_form()),
        None => None,
    };
    let saved = db::guest_types::save(&mut *tx, id, &guest_type, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(ApiError::Rejected(
                "This guest type no longer exists.".into(),
            ))
        })?;
    let after = guest_type.to_form();
    let changed = match &before {
        None => "created".to_string(),
        Some(before) => changed_fields(before, &after).join(", "),
    };
    super::record_audit(
        &mut tx,
        &caller,
        now,
        if before.is_some() { "update" } else { "create" },
        &format!("Guest Type {}", guest_type.name),
        &changed,
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    leptos_axum::redirect(&format!(
        "{}?saved={}",
        crate::components::menu::GUEST_TYPES,
        crate::domain::percent_encode(&guest_type.name)
    ));
    Ok(saved)
}

#[cfg(feature = "ssr")]
fn changed_fields(before: &GuestTypeForm, after: &GuestTypeForm) -> Vec<&'static str> {
    [
        ("name", before.name != after.name),
        ("description", before.description != after.description),
        ("max_days", before.max_days != after.max_days),
        ("default_days", before.default_days != after.default_days),
        (
            "notify_enabled",
            before.notify_enabled != after.notify_enabled,
        ),
        (
            "notify_advance",
            before.notify_advance != after.notify_advance,
        ),
        ("notify_unit", before.notify_unit != after.notify_unit),
        (
            "notify_subject",
            before.notify_subject != after.notify_subject,
        ),
        ("notify_text", before.notify_text != after.notify_text),
    ]
    .into_iter()
    .filter(|(_, changed)| *changed)
    .map(|(name, _)| name)
    .collect()
}

/// Deletes guest types that no account uses; refuses, naming them, when
/// any selected type is in use (ISE keeps a type while guests have it).
#[server(endpoint = "delete_guest_types")]
pub async fn delete_guest_types(ids: Vec<i64>) -> Result<u64, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let mut names = Vec::new();
    let mut in_use = Vec::new();
    for id in &ids {
        if let Some(row) = db::guest_types::get(&mut *tx, *id)
            .await
            .map_err(auth::internal)?
        {
            if row.accounts > 0 {
                in_use.push(format!("{} ({} guest accounts)", row.name, row.accounts));
            } else if row.portals > 0 {
                in_use.push(format!(
                    "{} (the default of {} guest portal(s))",
                    row.name, row.portals
                ));
            }
            names.push(row.name);
        }
    }
    if !in_use.is_empty() {
        return Err(auth::bad_request(ApiError::Rejected(format!(
            "Guest types in use cannot be deleted: {}. Move or delete their guest accounts, or choose another type on the portal, first.",
            in_use.join(", ")
        ))));
    }
    let deleted = db::guest_types::delete_unused(&mut *tx, &ids)
        .await
        .map_err(auth::internal)?;
    for name in &names {
        super::record_audit(
            &mut tx,
            &caller,
            now,
            "delete",
            &format!("Guest Type {name}"),
            "",
        )
        .await?;
    }
    tx.commit().await.map_err(auth::internal)?;
    Ok(deleted)
}

/// "Send test email to me at": the notification as the form stands (saved
/// or not), rendered with sample guest values, through the outbox.
#[server(endpoint = "send_test_expiry_notice")]
pub async fn send_test_expiry_notice(
    form: GuestTypeForm,
    to: String,
) -> Result<TestEmailResult, ApiError> {
    use crate::domain::mail::MailKind;
    use crate::domain::template::{Part, SampleValues, render};
    use crate::server::{auth, guests};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let guest_type = form.validate().map_err(auth::bad_request)?;
    let settings = guests::email_settings(&state)
        .await
        .map_err(auth::internal)?;
    super::mail::send_and_wait(
        &state,
        &caller.admin.name,
        super::mail::TestSend {
            kind: MailKind::TestEmail,
            to_field: "test_to",
            to: &to,
            sender: Some(settings.sender(None)),
            subject: render(&guest_type.notice.subject, &SampleValues, Part::Subject),
            text: render(&guest_type.notice.text, &SampleValues, Part::Text),
            html: None,
        },
    )
    .await
}
