//! Work Centers > Guest Access > Portals & Components > Sponsor Groups:
//! each group's permissions and its members (the sponsor users).

use super::{Caller, ServiceError, audit};
use crate::domain::sponsor::{
    SponsorGroupSummary, SponsorGroupsPage, SponsorPermissions, SponsorUserForm, SponsorUserSummary,
};
use crate::domain::{Access, Secret};
use crate::server::AppState;
use crate::server::auth::hash_password_off_runtime;
use crate::server::db;

pub async fn page(app: &AppState, caller: &Caller) -> Result<SponsorGroupsPage, ServiceError> {
    caller.require(Access::View)?;
    let groups = db::sponsors::groups(&app.db).await?;
    let users = db::sponsors::users(&app.db).await?;
    Ok(SponsorGroupsPage {
        users: users
            .into_iter()
            .map(|u| SponsorUserSummary {
                id: u.id,
                group: groups
                    .iter()
                    .find(|g| g.id == u.group_id)
                    .map(|g| g.name.clone())
                    .unwrap_or_default(),
                username: u.username,
                full_name: u.full_name,
                email: u.email,
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| SponsorGroupSummary {
                permissions: g.permissions(),
                id: g.id,
                name: g.name,
                description: g.description,
                members: g.members,
            })
            .collect(),
    })
}

pub async fn save_group(
    app: &AppState,
    caller: &Caller,
    id: i64,
    permissions: &SponsorPermissions,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let group = db::sponsors::group(&mut *tx, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This sponsor group does not exist.".into()))?;
    db::sponsors::update_group(&mut *tx, id, permissions, now, &caller.name).await?;
    audit(
        &mut tx,
        caller,
        now,
        "update",
        &format!("Sponsor Group {}", group.name),
        "permissions",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_user(
    app: &AppState,
    caller: &Caller,
    form: &SponsorUserForm,
) -> Result<(), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let valid = form.validate()?;
    let now = app.now();
    let hash = hash_password_off_runtime(Secret::new(form.password.clone())).await?;
    let mut tx = db::begin_write(&app.db).await?;
    if db::sponsors::group(&mut *tx, valid.group_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::invalid(
            "group_id",
            "Choose a sponsor group that exists.",
        ));
    }
    if db::sponsors::by_name(&mut *tx, &valid.username)
        .await?
        .is_some()
    {
        return Err(ServiceError::invalid(
            "username",
            "A sponsor user with this name already exists.",
        ));
    }
    db::sponsors::insert_user(
        &mut *tx,
        &db::sponsors::NewSponsor {
            username: &valid.username,
            password_hash: &hash,
            full_name: &valid.full_name,
            email: valid.email.as_str(),
            group_id: valid.group_id,
        },
        now,
    )
    .await?;
    audit(
        &mut tx,
        caller,
        now,
        "create",
        &format!("Sponsor User {}", valid.username),
        "username, full_name, email, group, password",
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_users(
    app: &AppState,
    caller: &Caller,
    ids: &[i64],
) -> Result<u64, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    super::check_selection_size(ids, "sponsor user")?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let deleted = db::sponsors::delete_users(&mut *tx, ids).await?;
    audit(
        &mut tx,
        caller,
        now,
        "delete",
        "Sponsor Users",
        &format!("{deleted} deleted"),
    )
    .await?;
    tx.commit().await?;
    Ok(deleted)
}
