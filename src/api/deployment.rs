//! Administration > System > Deployment.

use super::ApiError;
use crate::domain::deployment::{DeploymentView, PersonasForm};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::server::service::{Caller, deployment};

#[server(endpoint = "get_deployment")]
pub async fn get_deployment() -> Result<DeploymentView, ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    deployment::view(&state, &caller)
        .await
        .map_err(super::failed)
}

/// Edit Node: the personas the node applies at its next heartbeat.
#[server(endpoint = "save_node_personas")]
pub async fn save_node_personas(form: PersonasForm) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    deployment::set_personas(&state, &caller, &form)
        .await
        .map_err(super::failed)
}

/// Removes a Disconnected node from the deployment.
#[server(endpoint = "deregister_node")]
pub async fn deregister_node(node: String) -> Result<(), ApiError> {
    let (state, caller) = super::caller::<Caller>().await?;
    deployment::deregister(&state, &caller, &node)
        .await
        .map_err(super::failed)
}
