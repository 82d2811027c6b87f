//! The vault's master key: rotation from the command line.

use super::{Caller, ServiceError};
use crate::domain::Access;
use crate::server::AppState;
use crate::server::vault::Rotation;
use std::path::Path;

/// Re-encrypts every secret under a new master key kept in `data_dir`
/// (or returned, when the key came from the environment). Stop the
/// console first: a running server keeps the old key in memory.
pub async fn rotate_key(
    app: &AppState,
    caller: &Caller,
    data_dir: &Path,
) -> Result<Rotation, ServiceError> {
    caller.require(Access::ManageAdmins)?;
    let rotation = app.vault.rotate_key(data_dir, app.now()).await?;
    tracing::info!(target: "vault", user = %caller.name, "master key rotated; {} secrets re-encrypted", rotation.secrets);
    Ok(rotation)
}
