//! One module per console page, named after its ISE menu path.

pub mod administrators;
pub mod alarms;
pub mod api_settings;
pub mod backup_restore;
pub mod change_audit;
pub mod debug_log;
pub mod deployment;
pub mod download_logs;
pub mod guest_approval;
pub mod guest_email;
pub mod guest_portal_public;
pub mod guest_portals;
pub mod guest_types;
pub mod home;
pub mod identities;
pub mod login;
pub mod mail_queue;
pub mod not_found;
pub mod proxy;
pub mod repository;
pub mod sender_pool;
pub mod sending_limits;
pub mod smtp_server;
pub mod sponsor_groups;
pub mod sponsor_portal;
pub mod system_certificates;
pub mod trusted_certificates;

/// "2026-02-02 05:17:34 UTC" for a Unix timestamp.
pub fn format_time(unix: i64) -> String {
    let (year, month, day) = crate::domain::template::civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// "2026-02-02": the day of a Unix timestamp, for tables.
pub fn format_day(unix: i64) -> String {
    format_time(unix).chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_unix_times_as_utc_dates() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_770_009_454), "2026-02-02 05:17:34 UTC");
        assert_eq!(super::format_time(951_782_400), "2000-02-29 00:00:00 UTC");
    }
}
