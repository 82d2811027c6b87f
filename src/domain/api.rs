//! Administration > System > Settings > API Settings: whether the ERS API
//! answers, and whether its writes need ISE's CSRF token.

use serde::{Deserialize, Serialize};

/// Set to `on` at start-up to switch the ERS API on (scripted set-ups).
pub const ERS_ENV: &str = "MAILROOM_ERS";

/// Where the ERS API lives on the console's own listener.
pub const ERS_PREFIX: &str = "/ers/";

/// The form as posted: a switch that is off is absent, hence the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiSettings {
    /// "ERS (Read/Write)": off by default, as in ISE.
    pub ers_enabled: bool,
    /// Writes need the `X-CSRF-Token` fetched from `endpoint/versioninfo`.
    pub csrf_enabled: bool,
}

/// The page: the settings, who changed them last, and where the API is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSettingsPage {
    pub settings: ApiSettings,
    pub updated_by: String,
    pub updated_at: i64,
}
