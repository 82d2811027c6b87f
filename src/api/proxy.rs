//! Administration > System > Settings > Proxy.

use super::ApiError;
use crate::domain::proxy::ProxyForm;
pub use crate::domain::proxy::ProxyPage;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, proxy};

#[server(endpoint = "get_proxy_settings")]
pub async fn get_proxy_settings() -> Result<ProxyPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    proxy::get(&state, &caller).await.map_err(super::failed)
}

#[server(endpoint = "save_proxy_settings")]
pub async fn save_proxy_settings(form: ProxyForm) -> Result<ProxyPage, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    proxy::save(&state, &caller, &form)
        .await
        .map_err(super::failed)
}
