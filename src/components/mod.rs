//! Reusable widgets and the console frame.

pub mod confirm;
pub mod diagnosis;
pub mod form;
pub mod loaded;
pub mod menu;
pub mod shell;

pub use confirm::ConfirmBar;
pub use diagnosis::{DiagnosisPanel, TestEmailOutcome};
pub use form::{
    AddLanguage, Banner, BannerKind, CopyButton, Field, PageHeader, PemDownload, Switch,
    check_before_post, field_error, submitted_form_data,
};
pub use loaded::{Loaded, load};
pub use shell::{ConsoleLayout, CurrentAdmin, LeftNav, use_can};
