//! Work Centers > Guest Access > Portals & Components > Guest Types.

use super::mail_queue::{TestSend, send_and_wait};
use super::{Caller, ServiceError, audit};
use crate::domain::Access;
use crate::domain::guest_type::{GuestTypeEdit, GuestTypeForm, GuestTypeSummary};
use crate::domain::mail::{MailKind, TestEmailResult};
use crate::domain::template::{Part, SampleValues, render};
use crate::server::AppState;
use crate::server::{db, guests, languages};

fn gone() -> ServiceError {
    ServiceError::NotFound("This guest type no longer exists.".into())
}

pub async fn list(app: &AppState, caller: &Caller) -> Result<Vec<GuestTypeSummary>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::guest_types::list(&app.db).await?;
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

pub async fn get(app: &AppState, caller: &Caller, id: i64) -> Result<GuestTypeEdit, ServiceError> {
    caller.require(Access::View)?;
    let row = db::guest_types::get(&app.db, id).await?.ok_or_else(gone)?;
    Ok(GuestTypeEdit {
        id: row.id,
        form: languages::guest_type(&app.db, &row).await?.to_form(),
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

/// Creates (no `id`) or updates a guest type; its id and name.
pub async fn save(
    app: &AppState,
    caller: &Caller,
    id: Option<i64>,
    form: &GuestTypeForm,
) -> Result<(i64, String), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let guest_type = form.validate()?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    if let Some(other) = db::guest_types::find_by_name(&mut *tx, &guest_type.name).await?
        && Some(other.id) != id
    {
        return Err(ServiceError::invalid(
            "name",
            format!("A guest type named '{}' already exists.", other.name),
        ));
    }
    let before = match id {
        Some(id) => match db::guest_types::get(&mut *tx, id).await? {
            Some(row) => Some(languages::guest_type(&mut *tx, &row).await?.to_form()),
            None => None,
        },
        None => None,
    };
    let saved = db::guest_types::save(&mut *tx, id, &guest_type, now, &caller.name)
        .await?
        .ok_or_else(gone)?;
    languages::save_guest_type_translations(&mut tx, saved, &guest_type, now, &caller.name).await?;
    let after = guest_type.to_form();
    let changed = match &before {
        None => "created".to_string(),
        Some(before) => changed_fields(before, &after).join(", "),
    };
    audit(
        &mut tx,
        caller,
        now,
        if before.is_some() { "update" } else { "create" },
        &format!("Guest Type {}", guest_type.name),
        &changed,
    )
    .await?;
    tx.commit().await?;
    Ok((saved, guest_type.name))
}

fn changed_fields(before: &GuestTypeForm, after: &GuestTypeForm) -> Vec<&'static str> {
    super::changed(&[
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
        (
            "notice_translations",
            before.notice_translations != after.notice_translations,
        ),
    ])
}

/// Deletes guest types that no account uses; refuses, naming them, when
/// any selected type is in use (ISE keeps a type while guests have it).
pub async fn delete(app: &AppState, caller: &Caller, ids: &[i64]) -> Result<u64, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    super::check_selection_size(ids, "guest type")?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let mut names = Vec::new();
    let mut in_use = Vec::new();
    for &id in ids {
        if let Some(row) = db::guest_types::get(&mut *tx, id).await? {
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
        return Err(ServiceError::Conflict(format!(
            "Guest types in use cannot be deleted: {}. Move or delete their guest accounts, or choose another type on the portal, first.",
            in_use.join(", ")
        )));
    }
    let deleted = db::guest_types::delete_unused(&mut *tx, ids).await?;
    for &id in ids {
        if db::guest_types::get(&mut *tx, id).await?.is_none() {
            languages::delete_guest_type_translations(&mut *tx, id).await?;
        }
    }
    for name in &names {
        audit(
            &mut tx,
            caller,
            now,
            "delete",
            &format!("Guest Type {name}"),
            "",
        )
        .await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// "Send test email to me at": the notification as the form stands (saved
/// or not), rendered with sample guest values, through the outbox.
pub async fn send_test_notice(
    app: &AppState,
    caller: &Caller,
    form: &GuestTypeForm,
    to: &str,
) -> Result<TestEmailResult, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let guest_type = form.validate()?;
    let settings = guests::email_settings(app).await?;
    send_and_wait(
        app,
        caller,
        TestSend {
            kind: MailKind::TestEmail,
            to_field: "test_to",
            to,
            sender: Some(settings.sender(None)),
            subject: render(&guest_type.notice.subject, &SampleValues, Part::Subject),
            text: render(&guest_type.notice.text, &SampleValues, Part::Text),
            html: None,
            language: None,
        },
    )
    .await
}
