//! Debug Log Configuration and Download Logs, as the pages show them.

use serde::{Deserialize, Serialize};

/// ISE's level names, most severe first.
pub const LEVELS: [&str; 6] = ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentLevel {
    pub component: String,
    pub level: String,
    /// The file its lines go to besides the main log, if any.
    pub log_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFileInfo {
    pub name: String,
    pub size: u64,
    /// Unix seconds.
    pub modified: i64,
}

/// Where Download Logs gets the zip of every log file.
pub const LOGS_ZIP_PATH: &str = "/download/mailroom-logs.zip";
