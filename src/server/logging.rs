//! Logs in ISE's line format, to stdout and to component log files in the
//! data directory, with each component's level changeable at run time:
//!
//! `2026-02-02 05:17:34,608 INFO  [tokio-runtime-worker][[]] admin-access -::admin:::- message`
//!
//! Lines go through non-blocking writers (`tracing-appender`): the thread
//! that logs only hands the line to a writer thread, which appends it to a
//! file that rotates by size (`file-rotate`: `guest.log` becomes
//! `guest.log.1`, the oldest beyond the file's retention is deleted).

use file_rotate::compression::Compression;
use file_rotate::suffix::AppendCount;
use file_rotate::{ContentLimit, FileRotate};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_appender::non_blocking::{NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The main log, which receives every line.
pub const MAIN_LOG: &str = "mailroom.log";

/// The console's components: the tracing target each logs under and the
/// extra file it goes to (beside the main log), as ISE splits its logs.
pub const COMPONENTS: &[(&str, Option<&str>)] = &[
    ("system", None),
    ("admin-access", Some("admin-access.log")),
    ("vault", None),
    ("smtp", None),
    ("oauth", None),
    ("http", None),
    ("guest-access-admin", Some("guest.log")),
    ("guestaccess", Some("guest.log")),
];

/// ISE's level names. FATAL shows only the most severe lines (tracing has
/// no level above ERROR, so FATAL and ERROR both let ERROR through).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Fatal,
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Fatal,
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Fatal => "FATAL",
            LogLevel::Error => "ERROR",
            LogLevel::Warn => "WARN",
            LogLevel::Info => "INFO",
            LogLevel::Debug => "DEBUG",
            LogLevel::Trace => "TRACE",
        }
    }

    pub fn parse(name: &str) -> Option<LogLevel> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.name().eq_ignore_ascii_case(name.trim()))
    }

    fn admits(self, level: Level) -> bool {
        let needed = match level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        };
        needed <= self.max(LogLevel::Error)
    }
}

/// Per-component levels, read on every event so a change applies at once.
pub struct LogLevels {
    levels: RwLock<HashMap<String, LogLevel>>,
    /// Targets that are not console components (libraries) log at WARN.
    library_level: LogLevel,
}

impl Default for LogLevels {
    fn default() -> Self {
        let levels = COMPONENTS
            .iter()
            .map(|(name, _)| (name.to_string(), LogLevel::Info))
            .collect();
        LogLevels {
            levels: RwLock::new(levels),
            library_level: LogLevel::Warn,
        }
    }
}

impl LogLevels {
    pub fn get(&self, component: &str) -> Option<LogLevel> {
        self.levels
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(component)
            .copied()
    }

    /// Every component with its level, in the order of `COMPONENTS`.
    pub fn snapshot(&self) -> Vec<(&'static str, LogLevel)> {
        COMPONENTS
            .iter()
            .map(|(name, _)| (*name, self.get(name).unwrap_or(LogLevel::Info)))
            .collect()
    }

    /// Sets a component's level; false if there is no such component.
    pub fn set(&self, component: &str, level: LogLevel) -> bool {
        let mut levels = self.levels.write().unwrap_or_else(|e| e.into_inner());
        match levels.get_mut(component) {
            Some(slot) => {
                *slot = level;
                true
            }
            None => false,
        }
    }

    fn admits(&self, metadata: &Metadata<'_>) -> bool {
        let level = self.get(metadata.target()).unwrap_or(self.library_level);
        level.admits(*metadata.level())
    }
}

/// The log files: the main log and each component's, by file name.
pub const LOG_FILES: [&str; 3] = [MAIN_LOG, "admin-access.log", "guest.log"];

/// How a log file rotates: when it passes `max_bytes`, it is renamed
/// `NAME.1` (older ones shift up) and `keep` rotated files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub max_bytes: usize,
    pub keep: usize,
}

impl Retention {
    /// 10 MB a file, ten rotated files kept, for every log file.
    pub const DEFAULT: Retention = Retention {
        max_bytes: 10 * 1024 * 1024,
        keep: 10,
    };

    /// Each log file's retention: `MAILROOM_LOG_MAX_MB` (1-1024) sets the
    /// size of every file, `MAILROOM_LOG_KEEP` the number of rotated files,
    /// for all (`20`) or per component file (`guest=90,admin-access=90`,
    /// the file name without `.log`), 1-1000. Malformed entries are ignored.
    pub fn from_env(file: &str) -> Retention {
        Retention::parse(
            file,
            std::env::var("MAILROOM_LOG_MAX_MB").ok().as_deref(),
            std::env::var("MAILROOM_LOG_KEEP").ok().as_deref(),
        )
    }

    fn parse(file: &str, max_mb: Option<&str>, keep: Option<&str>) -> Retention {
        let mut retention = Retention::DEFAULT;
        if let Some(mb) = max_mb
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|mb| (1..=1024).contains(mb))
        {
            retention.max_bytes = mb * 1024 * 1024;
        }
        let stem = file.strip_suffix(".log").unwrap_or(file);
        for entry in keep.unwrap_or_default().split(',') {
            let (name, count) = match entry.split_once('=') {
                Some((name, count)) => (Some(name.trim()), count),
                None => (None, entry),
            };
            let Some(count) = count
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|c| (1..=1000).contains(c))
            else {
                continue;
            };
            match name {
                None => retention.keep = count,
                Some(name) if name == stem => retention.keep = count,
                Some(_) => {}
            }
        }
        retention
    }
}

/// Lines a writer thread holds before the next line waits for room. Each
/// slot is allocated up front (32 bytes): tracing-appender's default of
/// 128,000 kept 16 MB resident for the four writers, this 0.5 MB. Lines
/// are never dropped: a burst the disk cannot keep up with waits instead.
const LOG_BUFFER_LINES: usize = 4_096;

/// A non-blocking writer to `destination` and the guard that flushes it.
fn writer_thread<W: Write + Send + 'static>(destination: W) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_BUFFER_LINES)
        .lossy(false)
        .finish(destination)
}

/// Keeps the writer threads' buffers: dropping it (at the end of `main`)
/// writes out the lines still queued.
pub struct LogFlush {
    _guards: Vec<WorkerGuard>,
}

struct IseLayer {
    levels: Arc<LogLevels>,
    /// The writer of each log file, by file name.
    files: HashMap<&'static str, NonBlocking>,
    stdout: Option<NonBlocking>,
}

#[derive(Default)]
struct LineFields {
    message: String,
    user: String,
    rest: String,
}

impl Visit for LineFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "user" => self.user.push_str(value),
            name => {
                let _ = write!(self.rest, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "user" => {
                let _ = write!(self.user, "{value:?}");
            }
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

/// Formats one event as an ISE log line (without the newline).
pub fn format_line(
    now: time::OffsetDateTime,
    level: &Level,
    thread: &str,
    component: &str,
    user: &str,
    message: &str,
) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second],[subsecond digits:3]"
    );
    let stamp = now.format(&format).unwrap_or_default();
    let level = match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN ",
        Level::INFO => "INFO ",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    };
    // Line breaks in a message would forge extra log lines.
    let message = message.replace(['\r', '\n'], " ");
    format!("{stamp} {level} [{thread}][[]] {component} -::{user}:::- {message}")
}

impl IseLayer {
    /// Hands the line to the file's writer thread; never waits for a disk.
    fn write_to(&self, file_name: &str, line: &[u8]) {
        if let Some(writer) = self.files.get(file_name) {
            let _ = writer.clone().write_all(line);
        }
    }
}

impl<S: Subscriber> Layer<S> for IseLayer {
    fn register_callsite(
        &self,
        _metadata: &'static Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // Levels change at run time, so every call site is asked each time.
        tracing::subscriber::Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.levels.admits(metadata)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = LineFields::default();
        event.record(&mut fields);
        let component = event.metadata().target();
        let thread = std::thread::current();
        let message = format!("{}{}", fields.message, fields.rest);
        let mut line = format_line(
            time::OffsetDateTime::now_utc(),
            event.metadata().level(),
            thread.name().unwrap_or("main"),
            component,
            &fields.user,
            &message,
        );
        line.push('\n');
        if let Some(stdout) = &self.stdout {
            let _ = stdout.clone().write_all(line.as_bytes());
        }
        self.write_to(MAIN_LOG, line.as_bytes());
        if let Some((_, Some(file))) = COMPONENTS.iter().find(|(name, _)| *name == component) {
            self.write_to(file, line.as_bytes());
        }
    }
}

/// Installs the global subscriber; log files go to `<data_dir>/logs/`.
/// Where the log files are, inside the data directory.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// A log file: name, size in bytes, last change (unix seconds).
pub struct LogFile {
    pub name: String,
    pub size: u64,
    pub modified: i64,
}

/// The log files in `dir`, by name. Only plain `*.log` files are listed.
pub fn log_files(dir: &Path) -> std::io::Result<Vec<LogFile>> {
    let mut files = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata()?;
        if !meta.is_file() || !is_log_file(&name) {
            continue;
        }
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        files.push(LogFile {
            name,
            size: meta.len(),
            modified,
        });
    }
    files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(files)
}

fn is_log_file(name: &str) -> bool {
    name.ends_with(".log")
        || name.rsplit_once(".log.").is_some_and(|(stem, n)| {
            !stem.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        })
}

/// The log files of `dir` as one zip archive (deflated), for Download Logs.
pub fn zip_logs(dir: &Path) -> anyhow::Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut archive = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for file in log_files(dir)? {
        archive.start_file(file.name.as_str(), options)?;
        let mut source = File::open(dir.join(&file.name))?;
        std::io::copy(&mut source, &mut archive)?;
    }
    Ok(archive.finish()?.into_inner())
}

/// Installs the global subscriber; log files go to `<data_dir>/logs/`.
/// Keep the returned `LogFlush` until the process ends.
pub fn init(data_dir: Option<&Path>, to_stdout: bool) -> (Arc<LogLevels>, LogFlush) {
    let levels = Arc::new(LogLevels::default());
    let mut guards = Vec::new();
    let mut files = HashMap::new();
    if let Some(dir) = data_dir.map(log_dir)
        && std::fs::create_dir_all(&dir).is_ok()
    {
        for file in LOG_FILES {
            let retention = Retention::from_env(file);
            let rotating = FileRotate::new(
                dir.join(file),
                AppendCount::new(retention.keep),
                ContentLimit::BytesSurpassed(retention.max_bytes),
                Compression::None,
                None,
            );
            let (writer, guard) = writer_thread(rotating);
            files.insert(file, writer);
            guards.push(guard);
        }
    }
    let stdout = to_stdout.then(|| {
        let (writer, guard) = writer_thread(std::io::stdout());
        guards.push(guard);
        writer
    });
    let layer = IseLayer {
        levels: levels.clone(),
        files,
        stdout,
    };
    let _ = tracing_subscriber::registry().with(layer).try_init();
    (levels, LogFlush { _guards: guards })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_ise_format_and_cannot_be_split() {
        let at = time::macros::datetime!(2026-02-02 05:17:34.608 UTC);
        let line = format_line(
            at,
            &Level::INFO,
            "worker-1",
            "guestaccess",
            "sponsor1",
            "first\nsecond",
        );
        assert_eq!(
            line,
            "2026-02-02 05:17:34,608 INFO  [worker-1][[]] guestaccess -::sponsor1:::- first second"
        );
    }

    #[test]
    fn retention_is_set_for_all_files_or_per_component() {
        assert_eq!(
            Retention::parse("guest.log", None, None),
            Retention::DEFAULT
        );
        let all = Retention::parse("guest.log", Some("5"), Some("20"));
        assert_eq!((all.max_bytes, all.keep), (5 * 1024 * 1024, 20));
        let per = Some("3, guest=90, admin-access=0, mailroom=x");
        assert_eq!(Retention::parse("guest.log", None, per).keep, 90);
        assert_eq!(Retention::parse("admin-access.log", None, per).keep, 3);
        assert_eq!(
            Retention::parse("mailroom.log", Some("0"), per).max_bytes,
            10 << 20
        );
    }

    #[test]
    fn rotated_files_are_listed_with_the_logs() {
        assert!(is_log_file("guest.log") && is_log_file("guest.log.12"));
        assert!(!is_log_file("guest.log.tmp") && !is_log_file("notes.txt"));
        assert!(!is_log_file(".log.1") && !is_log_file("guest.log."));
    }

    #[test]
    fn lines_reach_the_file_through_the_writer_thread_and_rotate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("guest.log");
        let rotating = FileRotate::new(
            &path,
            AppendCount::new(2),
            ContentLimit::BytesSurpassed(64),
            Compression::None,
            None,
        );
        let (mut writer, guard) = writer_thread(rotating);
        for n in 0..40 {
            writer
                .write_all(format!("line {n:02} of the guest log\n").as_bytes())
                .unwrap();
        }
        drop(guard);
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.contains("line 39"), "{current}");
        assert!(dir.path().join("guest.log.1").exists());
        assert!(dir.path().join("guest.log.2").exists());
        assert!(
            !dir.path().join("guest.log.3").exists(),
            "two rotated files kept"
        );
        let listed: Vec<String> = log_files(dir.path())
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(listed, ["guest.log", "guest.log.1", "guest.log.2"]);
    }

    #[test]
    fn levels_filter_per_component_and_change_at_run_time() {
        let levels = LogLevels::default();
        assert!(LogLevel::Info.admits(Level::WARN));
        assert!(!LogLevel::Info.admits(Level::DEBUG));
        assert!(LogLevel::Fatal.admits(Level::ERROR));
        assert!(!LogLevel::Fatal.admits(Level::WARN));
        assert!(levels.set("guestaccess", LogLevel::Debug));
        assert_eq!(levels.get("guestaccess"), Some(LogLevel::Debug));
        assert!(!levels.set("no-such-component", LogLevel::Debug));
        assert_eq!(LogLevel::parse("trace"), Some(LogLevel::Trace));
    }
}
