//! Administration > System > Settings > Proxy.

use super::ApiError;
use crate::domain::proxy::ProxyForm;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyPage {
    pub form: ProxyForm,
    pub password_set: bool,
}

#[server(endpoint = "get_proxy_settings")]
pub async fn get_proxy_settings() -> Result<ProxyPage, ApiError> {
    use crate::server::{auth, db, settings};
    let (state, _caller) = auth::require(crate::domain::Access::View).await?;
    let row = db::proxy::get(&state.db).await.map_err(auth::internal)?;
    let password_set = state
        .vault
        .contains(settings::PROXY_PASSWORD, settings::SINGLETON)
        .await
        .map_err(auth::internal)?;
    Ok(ProxyPage {
        form: row
            .map(|r| ProxyForm {
                host: r.host,
                port: r.port.to_string(),
                username: r.username,
                password: String::new(),
                bypass: r.bypass,
            })
            .unwrap_or_default(),
        password_set,
    })
}

#[server(endpoint = "save_proxy_settings")]
pub async fn save_proxy_settings(form: ProxyForm) -> Result<ProxyPage, ApiError> {
    use crate::domain::Secret;
    use crate::domain::proxy::ProxySettings;
    use crate::server::clock::unix;
    use crate::server::{auth, db, settings};
    let (state, caller) = auth::require(crate::domain::Access::ChangeSystemSettings).await?;
    let validated = form.validate().map_err(auth::bad_request)?;
    let before = db::proxy::get(&state.db).await.map_err(auth::internal)?;
    let now = unix(state.clock.now());
    let mut tx = crate::server::db::begin_write(&state.db)
        .await
        .map_err(auth::internal)?;
    let changed = match validated {
        ProxySettings::Direct => {
            db::proxy::clear(&mut *tx).await.map_err(auth::internal)?;
            db::vault::delete(&mut *tx, settings::PROXY_PASSWORD, settings::SINGLETON)
                .await
                .map_err(auth::internal)?;
            "host (proxy removed)".to_string()
        }
        ProxySettings::Proxy {
            host,
            port,
            username,
            new_password,
            bypass,
        } => {
            let bypass_text = bypass.join("\n");
            let mut fields: Vec<&str> = match &before {
                None => vec!["host", "port", "username", "bypass"],
                Some(old) => [
                    ("host", old.host != host.as_str()),
                    ("port", old.port != i64::from(port.get())),
                    (
                        "username",
                        old.username != username.clone().unwrap_or_default(),
                    ),
                    ("bypass", old.bypass != bypass_text),
                ]
                .into_iter()
                .filter(|(_, changed)| *changed)
                .map(|(name, _)| name)
                .collect(),
            };
            db::proxy::put(
                &mut *tx,
                &db::proxy::ProxyRow {
                    host: host.as_str().to_string(),
                    port: i64::from(port.get()),
                    username: username.clone().unwrap_or_default(),
                    bypass: bypass_text,
                    updated_at: now,
                    updated_by: caller.admin.name.clone(),
                },
            )
            .await
            .map_err(auth::internal)?;
            match (&username, new_password) {
                (None, _) => {
                    db::vault::delete(&mut *tx, settings::PROXY_PASSWORD, settings::SINGLETON)
                        .await
                        .map_err(auth::internal)?;
                }
                (Some(_), Some(password)) => {
                    state
                        .vault
                        .put_in(
                            &mut *tx,
                            settings::PROXY_PASSWORD,
                            settings::SINGLETON,
                            &Secret::new(password),
                            now,
                        )
                        .await
                        .map_err(auth::internal)?;
                    fields.push("password");
                }
                (Some(_), None) => {}
            }
            fields.join(", ")
        }
    };
    super::record_audit(&mut tx, &caller, now, "update", "Proxy", &changed).await?;
    tx.commit().await.map_err(auth::internal)?;
    state.mailer.settings_changed();
    get_proxy_settings().await
}
