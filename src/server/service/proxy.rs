//! Administration > System > Settings > Proxy: the proxy token requests go
//! through, its password in the vault.

use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::proxy::{ProxyForm, ProxyPage, ProxySettings};
use crate::domain::{Access, Secret};
use crate::server::AppState;
use crate::server::{db, settings};

pub async fn get(app: &AppState, caller: &Caller) -> Result<ProxyPage, ServiceError> {
    caller.require(Access::View)?;
    let row = db::proxy::get(&app.db).await?;
    let password_set = app
        .vault
        .contains(settings::PROXY_PASSWORD, settings::SINGLETON)
        .await?;
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

/// Saves the proxy (a blank host removes it); a blank password keeps the
/// stored one.
pub async fn save(
    app: &AppState,
    caller: &Caller,
    form: &ProxyForm,
) -> Result<ProxyPage, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let validated = form.validate()?;
    let before = db::proxy::get(&app.db).await?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let changed = match validated {
        ProxySettings::Direct => {
            db::proxy::clear(&mut *tx).await?;
            db::vault::delete(&mut *tx, settings::PROXY_PASSWORD, settings::SINGLETON).await?;
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
                Some(old) => super::changed(&[
                    ("host", old.host != host.as_str()),
                    ("port", old.port != i64::from(port.get())),
                    (
                        "username",
                        old.username != username.clone().unwrap_or_default(),
                    ),
                    ("bypass", old.bypass != bypass_text),
                ]),
            };
            db::proxy::put(
                &mut *tx,
                &db::proxy::ProxyRow {
                    host: host.as_str().to_string(),
                    port: i64::from(port.get()),
                    username: username.clone().unwrap_or_default(),
                    bypass: bypass_text,
                    updated_at: now,
                    updated_by: caller.name.clone(),
                },
            )
            .await?;
            match (&username, new_password) {
                (None, _) => {
                    db::vault::delete(&mut *tx, settings::PROXY_PASSWORD, settings::SINGLETON)
                        .await?;
                }
                (Some(_), Some(password)) => {
                    app.vault
                        .put_in(
                            &mut *tx,
                            settings::PROXY_PASSWORD,
                            settings::SINGLETON,
                            &Secret::new(password),
                            now,
                        )
                        .await?;
                    fields.push("password");
                }
                (Some(_), None) => {}
            }
            fields.join(", ")
        }
    };
    audit(&mut tx, caller, now, "update", "Proxy", &changed).await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    app.mailer.settings_changed();
    get(app, caller).await
}
