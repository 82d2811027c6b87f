//! Work Centers > Guest Access > Portals & Components > Sponsor Groups:
//! each group's permissions and its members (the sponsor users).

use super::ApiError;
use crate::domain::sponsor::{SponsorPermissions, SponsorUserForm};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorGroupSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub permissions: SponsorPermissions,
    pub members: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorUserSummary {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub group: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorGroupsPage {
    pub groups: Vec<SponsorGroupSummary>,
    pub users: Vec<SponsorUserSummary>,
}

#[server(endpoint = "get_sponsor_groups")]
pub async fn get_sponsor_groups() -> Result<SponsorGroupsPage, ApiError> {
    use crate::server::{auth, db};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let groups = db::sponsors::groups(&state.db)
        .await
        .map_err(auth::internal)?;
    let users = db::sponsors::users(&state.db)
        .await
        .map_err(auth::internal)?;
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

#[server(endpoint = "save_sponsor_group")]
pub async fn save_sponsor_group(id: i64, permissions: SponsorPermissions) -> Result<(), ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let group = db::sponsors::group(&mut *tx, id)
        .await
        .map_err(auth::internal)?
        .ok_or_else(|| {
            auth::bad_request(ApiError::Rejected(
                "This sponsor group does not exist.".into(),
            ))
        })?;
    db::sponsors::update_group(&mut *tx, id, &permissions, now, &caller.admin.name)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "update",
        &format!("Sponsor Group {}", group.name),
        "permissions",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

#[server(endpoint = "create_sponsor_user")]
pub async fn create_sponsor_user(form: SponsorUserForm) -> Result<(), ApiError> {
    use crate::domain::{FieldError, Secret};
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let valid = form.validate().map_err(auth::bad_request)?;
    let now = unix(state.clock.now());
    let hash = auth::hash_password(&Secret::new(form.password.clone())).map_err(auth::internal)?;
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    if db::sponsors::group(&mut *tx, valid.group_id)
        .await
        .map_err(auth::internal)?
        .is_none()
    {
        return Err(auth::bad_request(FieldError::new(
            "group_id",
            "Choose a sponsor group that exists.",
        )));
    }
    if db::sponsors::by_name(&mut *tx, &valid.username)
        .await
        .map_err(auth::internal)?
        .is_some()
    {
        return Err(auth::bad_request(FieldError::new(
            "username",
            "A sponsor user with this name already exists.",
        )));
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
    .await
    .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "create",
        &format!("Sponsor User {}", valid.username),
        "username, full_name, email, group, password",
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(())
}

#[server(endpoint = "delete_sponsor_users")]
pub async fn delete_sponsor_users(ids: Vec<i64>) -> Result<u64, ApiError> {
    use crate::server::clock::unix;
    use crate::server::{auth, db};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let deleted = db::sponsors::delete_users(&mut *tx, &ids)
        .await
        .map_err(auth::internal)?;
    super::record_audit(
        &mut tx,
        &caller,
        now,
        "delete",
        "Sponsor Users",
        &format!("{deleted} deleted"),
    )
    .await?;
    tx.commit().await.map_err(auth::internal)?;
    Ok(deleted)
}
