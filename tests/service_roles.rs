//! Calls every service operation that acts for an admin directly (no HTTP,
//! as the coming REST API and the command line do) as each admin role:
//! `Forbidden` for a role without the right, the operation's own answer
//! otherwise, and no change behind a refusal. The table must name every
//! such operation in `src/server/service`, so a new one cannot be added
//! without deciding who may call it.
#![cfg(feature = "ssr")]

mod common;

use common::app::{PASSWORD, admin_id, harness, only_the_super_admins_admin_changes_landed};
use mailroom::domain::alarm::{AlarmAction, AlarmSettingForm};
use mailroom::domain::deployment::PersonasForm;
use mailroom::domain::guest::GuestEmailForm;
use mailroom::domain::guest_type::GuestTypeForm;
use mailroom::domain::limits::{SenderMailboxForm, SendingLimitsForm};
use mailroom::domain::password_policy::{InternalUserForm, PasswordPolicyForm, PolicyScope};
use mailroom::domain::portal::EmailTemplate;
use mailroom::domain::proxy::ProxyForm;
use mailroom::domain::smtp::{NextSecretForm, SmtpSettingsForm};
use mailroom::domain::sponsor::{ManageScope, SponsorPermissions, SponsorUserForm};
use mailroom::domain::system_certificate::{
    CertificateEdit, CertificateRequestForm, SubjectFields,
};
use mailroom::domain::{AdminForm, Role, Secret};
use mailroom::server::AppState;
use mailroom::server::db;
use mailroom::server::service::{
    Caller, ServiceError, admins, alarms, api_settings, backup, certificates, deployment,
    guest_accounts, guest_types, guests, identities, limits, logs, mail_queue, portals, proxy,
    smtp, sponsor_groups, system_certificates, vault,
};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

type Outcome = Pin<Box<dyn Future<Output = Result<(), ServiceError>> + Send>>;
type Operation = Box<dyn Fn(AppState, Caller) -> Outcome>;

#[derive(Clone, Copy)]
enum Expect {
    /// Every role may call it.
    AnyAdmin,
    /// Only these roles may call it, and it succeeds for them.
    Only(&'static [Role]),
    /// Only these roles get past the role check; then the sample input
    /// meets this refusal (its kind, as `ServiceError`'s variant name).
    OnlyThen(&'static [Role], &'static str),
}

const SETTINGS_ROLES: &[Role] = &[Role::SuperAdmin, Role::SystemAdmin];
const SUPER_ADMIN: &[Role] = &[Role::SuperAdmin];
const ALL_ROLES: &[Role] = &Role::ALL;

/// One row: the operation's path in the service layer, and a call of it
/// with sample input, its result dropped.
macro_rules! row {
    ($name:literal, $expect:expr, |$app:ident, $caller:ident| $call:block) => {
        (
            $name,
            $expect,
            Box::new(move |$app: AppState, $caller: Caller| -> Outcome {
                Box::pin(async move { $call.map(|_| ()) })
            }) as Operation,
        )
    };
}

fn kind(error: &ServiceError) -> &'static str {
    match error {
        ServiceError::Unauthenticated => "Unauthenticated",
        ServiceError::Forbidden => "Forbidden",
        ServiceError::Invalid(_) => "Invalid",
        ServiceError::NotFound(_) => "NotFound",
        ServiceError::Conflict(_) => "Conflict",
        ServiceError::Throttled(_) => "Throttled",
        ServiceError::Unavailable(_) => "Unavailable",
        ServiceError::Internal => "Internal",
    }
}

/// A certificate not in use, for a node of the deployment.
fn spare_certificate_form() -> CertificateRequestForm {
    CertificateRequestForm {
        subject: SubjectFields {
            common_name: "spare".into(),
            ..Default::default()
        },
        sans: "spare.example.com".into(),
        ..Default::default()
    }
}

/// A Test Connection form that fails fast (nothing listens on port 9 here).
fn next_secret_form() -> NextSecretForm {
    NextSecretForm {
        next_client_secret: "Next~Secret".into(),
        next_secret_expiry: "2028-01-31".into(),
    }
}

fn quick_smtp_form(port: &str) -> SmtpSettingsForm {
    SmtpSettingsForm {
        smtp_server: "127.0.0.1".into(),
        smtp_port: port.into(),
        connection_timeout: "2".into(),
        ..Default::default()
    }
}

fn admin_form(name: &str, description: &str, password: &str) -> AdminForm {
    AdminForm {
        name: name.into(),
        email: "new@example.com".into(),
        role: "read_only_admin".into(),
        status: "enabled".into(),
        description: description.into(),
        password: password.into(),
        password_confirm: password.into(),
        ..Default::default()
    }
}

fn guest_type_form(name: &str) -> GuestTypeForm {
    GuestTypeForm {
        name: name.into(),
        max_days: "5".into(),
        default_days: "1".into(),
        notify_advance: "3".into(),
        notify_unit: "hours".into(),
        ..Default::default()
    }
}

fn policy_form() -> PasswordPolicyForm {
    PasswordPolicyForm {
        lifetime_enabled: false,
        lifetime_days: "45".into(),
        reminder_days: "30".into(),
        reminder_subject: "Expiring".into(),
        reminder_text: "Change it".into(),
    }
}

/// An expired guest account that is not in the database.
fn absent_guest() -> db::ers::ErsGuestRow {
    db::ers::ErsGuestRow {
        id: -1,
        ers_id: "00000000-0000-4000-a000-000000000000".into(),
        username: "absent".into(),
        state: mailroom::domain::guest::GuestState::Expired,
        first_name: String::new(),
        last_name: String::new(),
        email: String::new(),
        company: String::new(),
        phone: String::new(),
        person_visited: String::new(),
        reason_for_visit: String::new(),
        description: String::new(),
        location: String::new(),
        guest_type: "Daily (default)".into(),
        valid_from: 0,
        valid_until: 86_400,
        sponsor: None,
        sponsor_id: None,
        sponsor_group_id: None,
        portal: String::new(),
        created_at: 0,
        language: String::new(),
    }
}

/// A role's name without underscores, for names that must differ per role.
fn tag(caller: &Caller) -> String {
    caller.role.as_str().replace('_', "-")
}

#[tokio::test]
async fn every_service_operation_checks_the_callers_role() {
    let h = harness().await;
    let viewer_id = admin_id(&h, "viewer").await;
    let mut callers = Vec::new();
    for (name, role) in [
        ("root", Role::SuperAdmin),
        ("sysadmin", Role::SystemAdmin),
        ("viewer", Role::ReadOnlyAdmin),
    ] {
        callers.push(Caller {
            name: name.into(),
            role,
            admin_id: Some(admin_id(&h, name).await),
            client_ip: "192.0.2.10".into(),
            via_api: false,
        });
    }
    // Borrowed by every call of its row.
    let portal: &'static _ = Box::leak(Box::new(
        portals::get(&h.state, &callers[0], 1).await.unwrap().form,
    ));

    let table: Vec<(&str, Expect, Operation)> = vec![
        row!("admins::list", Expect::AnyAdmin, |app, caller| {
            admins::list(&app, &caller).await
        }),
        row!("admins::get", Expect::AnyAdmin, |app, caller| {
            admins::get(&app, &caller, viewer_id).await
        }),
        row!(
            "admins::create",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                let form = admin_form(
                    &format!("made-by-{}", tag(&caller)),
                    "x",
                    "New-Admin-Passw0rd",
                );
                admins::create(&app, &caller, form).await
            }
        ),
        row!(
            "admins::update",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                let form = admin_form("viewer", caller.role.as_str(), "");
                admins::update(&app, &caller, viewer_id, form).await
            }
        ),
        row!(
            "admins::set_status",
            Expect::Only(SUPER_ADMIN),
            |app, caller| { admins::set_status(&app, &caller, &[viewer_id], true).await }
        ),
        row!("admins::dashboard", Expect::AnyAdmin, |app, caller| {
            admins::dashboard(&app, &caller).await
        }),
        row!("admins::audit_log", Expect::AnyAdmin, |app, caller| {
            admins::audit_log(&app, &caller).await
        }),
        row!("smtp::get", Expect::AnyAdmin, |app, caller| {
            smtp::get(&app, &caller).await
        }),
        row!(
            "smtp::test_connection",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { smtp::test_connection(&app, &caller, &quick_smtp_form("9")).await }
        ),
        row!(
            "smtp::save",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::save(&app, &caller, &quick_smtp_form("10")).await }
        ),
        // Nothing is saved here, so a next secret has nothing to belong to.
        row!(
            "smtp::test_next_secret",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| {
                smtp::test_next_secret(&app, &caller, &next_secret_form(), false).await
            }
        ),
        row!(
            "smtp::stage_next_secret",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::stage_next_secret(&app, &caller, &next_secret_form()).await }
        ),
        row!(
            "smtp::switch_to_next_secret",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::switch_to_next_secret(&app, &caller).await }
        ),
        row!(
            "smtp::discard_next_secret",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| { smtp::discard_next_secret(&app, &caller).await }
        ),
        // Nor a next certificate.
        row!(
            "smtp::generate_next_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::generate_next_certificate(&app, &caller).await }
        ),
        row!(
            "smtp::upload_next_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| {
                smtp::upload_next_certificate(
                    &app,
                    &caller,
                    b"not a certificate",
                    &Secret::new("no key"),
                )
                .await
            }
        ),
        row!(
            "smtp::test_next_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::test_next_certificate(&app, &caller, true).await }
        ),
        row!(
            "smtp::switch_to_next_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| { smtp::switch_to_next_certificate(&app, &caller).await }
        ),
        row!(
            "smtp::discard_next_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| { smtp::discard_next_certificate(&app, &caller).await }
        ),
        row!(
            "smtp::generate_certificate",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { smtp::generate_certificate(&app, &caller).await }
        ),
        row!(
            "smtp::upload_certificate",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                smtp::upload_certificate(
                    &app,
                    &caller,
                    b"not a certificate",
                    &Secret::new("no key"),
                )
                .await
            }
        ),
        row!("certificates::list", Expect::AnyAdmin, |app, caller| {
            certificates::list(&app, &caller).await
        }),
        row!(
            "certificates::import",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let import = certificates::Import {
                    file: b"not a certificate".to_vec(),
                    friendly_name: String::new(),
                    description: String::new(),
                    trust_infrastructure: true,
                };
                certificates::import(&app, &caller, import).await
            }
        ),
        row!(
            "certificates::delete",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { certificates::delete(&app, &caller, &[999]).await }
        ),
        row!(
            "system_certificates::list",
            Expect::AnyAdmin,
            |app, caller| { system_certificates::list(&app, &caller).await }
        ),
        row!(
            "system_certificates::defaults",
            Expect::AnyAdmin,
            |app, caller| { system_certificates::defaults(&app, &caller).await }
        ),
        row!(
            "system_certificates::signing_requests",
            Expect::AnyAdmin,
            |app, caller| { system_certificates::signing_requests(&app, &caller).await }
        ),
        row!(
            "system_certificates::generate_self_signed",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                system_certificates::generate_self_signed(&app, &caller, spare_certificate_form())
                    .await
            }
        ),
        row!(
            "system_certificates::generate_signing_request",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                system_certificates::generate_signing_request(
                    &app,
                    &caller,
                    spare_certificate_form(),
                )
                .await
            }
        ),
        row!(
            "system_certificates::bind",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| {
                system_certificates::bind(&app, &caller, 999, b"x".to_vec(), "").await
            }
        ),
        row!(
            "system_certificates::import",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let import = system_certificates::Import {
                    node: String::new(),
                    friendly_name: String::new(),
                    certificate: b"not a certificate".to_vec(),
                    private_key: Vec::new(),
                    password: Secret::new(String::new()),
                    used_by_admin: false,
                    used_by_portal: false,
                };
                system_certificates::import(&app, &caller, import).await
            }
        ),
        row!(
            "system_certificates::edit",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| {
                let edit = CertificateEdit {
                    id: 999,
                    friendly_name: "x".into(),
                    used_by_admin: false,
                    used_by_portal: false,
                };
                system_certificates::edit(&app, &caller, edit).await
            }
        ),
        row!(
            "system_certificates::export_pkcs12",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let short = || Secret::new("short".to_string());
                system_certificates::export_pkcs12(&app, &caller, 999, short(), short(), short())
                    .await
            }
        ),
        row!(
            "system_certificates::delete",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { system_certificates::delete(&app, &caller, &[999]).await }
        ),
        row!(
            "system_certificates::delete_signing_requests",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                system_certificates::delete_signing_requests(&app, &caller, &[999]).await
            }
        ),
        row!("proxy::get", Expect::AnyAdmin, |app, caller| {
            proxy::get(&app, &caller).await
        }),
        row!(
            "proxy::save",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { proxy::save(&app, &caller, &ProxyForm::default()).await }
        ),
        row!("mail_queue::page", Expect::AnyAdmin, |app, caller| {
            mail_queue::page(
                &app,
                &caller,
                mail_queue::QueueQuery {
                    page: 1,
                    ..Default::default()
                },
            )
            .await
        }),
        row!(
            "mail_queue::detail",
            Expect::OnlyThen(ALL_ROLES, "NotFound"),
            |app, caller| { mail_queue::detail(&app, &caller, 1).await }
        ),
        row!(
            "mail_queue::act_on_dead_letter",
            Expect::OnlyThen(SETTINGS_ROLES, "Conflict"),
            |app, caller| {
                mail_queue::act_on_dead_letter(
                    &app,
                    &caller,
                    1,
                    mail_queue::DeadLetterAction::Retry,
                )
                .await
            }
        ),
        row!(
            "mail_queue::send_test_email",
            Expect::OnlyThen(SETTINGS_ROLES, "Unavailable"),
            |app, caller| { mail_queue::send_test_email(&app, &caller, "ops@example.com").await }
        ),
        row!("alarms::list", Expect::AnyAdmin, |app, caller| {
            alarms::list(&app, &caller, true).await
        }),
        row!(
            "alarms::act",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { alarms::act(&app, &caller, &[999], AlarmAction::Acknowledge).await }
        ),
        row!("alarms::settings", Expect::AnyAdmin, |app, caller| {
            alarms::settings(&app, &caller).await
        }),
        row!(
            "alarms::save_setting",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = AlarmSettingForm {
                    enabled: true,
                    severity: "warning".into(),
                    send_email: true,
                    suppress_hours: "12".into(),
                    ..Default::default()
                };
                alarms::save_setting(&app, &caller, "email-delivery-failed", &form).await
            }
        ),
        row!(
            "alarms::save_sender",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { alarms::save_sender(&app, &caller, "alarms@example.com").await }
        ),
        row!(
            "alarms::send_test_email",
            Expect::OnlyThen(SETTINGS_ROLES, "Unavailable"),
            |app, caller| { alarms::send_test_email(&app, &caller, "ops@example.com").await }
        ),
        row!("deployment::view", Expect::AnyAdmin, |app, caller| {
            deployment::view(&app, &caller).await.map(|_| ())
        }),
        row!(
            // No node named so is registered here.
            "deployment::set_personas",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| {
                let form = PersonasForm {
                    node: "ise-psn-09".into(),
                    administration: false,
                    policy_service: true,
                };
                deployment::set_personas(&app, &caller, &form).await
            }
        ),
        row!(
            "deployment::deregister",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| { deployment::deregister(&app, &caller, "ise-psn-09").await }
        ),
        row!("guest_types::list", Expect::AnyAdmin, |app, caller| {
            guest_types::list(&app, &caller).await
        }),
        row!("guest_types::get", Expect::AnyAdmin, |app, caller| {
            guest_types::get(&app, &caller, 1).await
        }),
        row!(
            "guest_types::save",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = guest_type_form(&format!("Visitor {}", tag(&caller)));
                guest_types::save(&app, &caller, None, &form).await
            }
        ),
        row!(
            "guest_types::delete",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { guest_types::delete(&app, &caller, &[999]).await }
        ),
        row!(
            "guest_types::send_test_notice",
            Expect::OnlyThen(SETTINGS_ROLES, "Unavailable"),
            |app, caller| {
                guest_types::send_test_notice(
                    &app,
                    &caller,
                    &guest_type_form("Visitor"),
                    "ops@example.com",
                )
                .await
            }
        ),
        row!("guests::email_settings", Expect::AnyAdmin, |app, caller| {
            guests::email_settings(&app, &caller).await
        }),
        row!(
            "guests::save_email_settings",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = GuestEmailForm {
                    enabled: true,
                    default_from: "ops@example.com".into(),
                    from_sponsor: false,
                };
                guests::save_email_settings(&app, &caller, &form).await
            }
        ),
        row!("portals::list", Expect::AnyAdmin, |app, caller| {
            portals::list(&app, &caller).await
        }),
        row!("portals::get", Expect::AnyAdmin, |app, caller| {
            portals::get(&app, &caller, 1).await
        }),
        row!(
            "portals::save",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { portals::save(&app, &caller, 1, portal).await }
        ),
        row!(
            "portals::send_test_email",
            Expect::OnlyThen(SETTINGS_ROLES, "Unavailable"),
            |app, caller| {
                let email = EmailTemplate {
                    subject: "Hi".into(),
                    text: "Hello".into(),
                    html: String::new(),
                };
                portals::send_test_email(&app, &caller, &email, "ops@example.com", "es").await
            }
        ),
        row!("identities::policy", Expect::AnyAdmin, |app, caller| {
            identities::policy(&app, &caller, PolicyScope::Admin).await
        }),
        row!(
            "identities::save_policy",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                identities::save_policy(&app, &caller, PolicyScope::Admin, &policy_form()).await
            }
        ),
        row!(
            "identities::save_policy",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                identities::save_policy(&app, &caller, PolicyScope::User, &policy_form()).await
            }
        ),
        row!("identities::users", Expect::AnyAdmin, |app, caller| {
            identities::users(&app, &caller).await
        }),
        row!(
            "identities::create_user",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = InternalUserForm {
                    name: format!("user-{}", tag(&caller)),
                    email: "u@example.com".into(),
                    password: "Net-User-Passw0rd".into(),
                    ..Default::default()
                };
                identities::create_user(&app, &caller, &form).await
            }
        ),
        row!(
            "identities::delete_users",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { identities::delete_users(&app, &caller, &[999]).await }
        ),
        row!("limits::view", Expect::AnyAdmin, |app, caller| {
            limits::view(&app, &caller).await
        }),
        row!(
            "limits::save",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = SendingLimitsForm {
                    max_connections: "3".into(),
                    messages_per_minute: "30".into(),
                    recipients_per_day: "10000".into(),
                    recipients_per_message: "500".into(),
                };
                limits::save(&app, &caller, &form).await
            }
        ),
        row!(
            "limits::add_mailbox",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let form = SenderMailboxForm {
                    mailbox: "guests1@contoso.com".into(),
                };
                limits::add_mailbox(&app, &caller, &form).await
            }
        ),
        row!(
            "limits::enable_mailbox",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| {
                limits::enable_mailbox(&app, &caller, "guests1@contoso.com", false).await
            }
        ),
        row!(
            "limits::remove_mailbox",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| { limits::remove_mailbox(&app, &caller, "guests1@contoso.com").await }
        ),
        row!(
            "limits::send_pool_test_email",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                limits::send_pool_test_email(&app, &caller, "guests1@contoso.com", "a@example.com")
                    .await
            }
        ),
        row!("logs::levels", Expect::AnyAdmin, |app, caller| {
            logs::levels(&app, &caller).await
        }),
        row!(
            "logs::set_level",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { logs::set_level(&app, &caller, "smtp", "DEBUG").await }
        ),
        row!(
            "logs::files",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { logs::files(&app, &caller).await }
        ),
        row!(
            "logs::download",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { logs::download(&app, &caller).await }
        ),
        row!("sponsor_groups::page", Expect::AnyAdmin, |app, caller| {
            sponsor_groups::page(&app, &caller).await
        }),
        row!(
            "sponsor_groups::save_group",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let permissions = SponsorPermissions {
                    scope: ManageScope::Own,
                    ..Default::default()
                };
                sponsor_groups::save_group(&app, &caller, 3, &permissions).await
            }
        ),
        row!(
            "sponsor_groups::create_user",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = SponsorUserForm {
                    username: format!("sponsor-{}", tag(&caller)),
                    email: "s@example.com".into(),
                    password: PASSWORD.into(),
                    group_id: "1".into(),
                    ..Default::default()
                };
                sponsor_groups::create_user(&app, &caller, &form).await
            }
        ),
        row!(
            "sponsor_groups::delete_users",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { sponsor_groups::delete_users(&app, &caller, &[999]).await }
        ),
        row!(
            "admins::reset_password",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                admins::reset_password(
                    &app,
                    &caller,
                    "viewer",
                    Some(Secret::new("Reset-Passw0rd-9")),
                )
                .await
            }
        ),
        row!("api_settings::get", Expect::AnyAdmin, |app, caller| {
            api_settings::get(&app, &caller).await
        }),
        row!(
            "api_settings::save",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| { api_settings::save(&app, &caller, Default::default()).await }
        ),
        // The guest operations of the ERS API: only Super Admin among the
        // console's roles (the ERS roles are the API's own).
        row!(
            "guest_accounts::get",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                guest_accounts::get(&app, &caller, None, "00000000-0000-4000-a000-000000000000")
                    .await
            }
        ),
        row!(
            "guest_accounts::get_by_name",
            Expect::Only(SUPER_ADMIN),
            |app, caller| { guest_accounts::get_by_name(&app, &caller, None, "nobody").await }
        ),
        row!(
            "guest_accounts::list",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                let query = db::ers::GuestQuery {
                    filters: Vec::new(),
                    any: false,
                    sort: None,
                    limit: 20,
                    offset: 0,
                    scope: None,
                };
                guest_accounts::list(&app, &caller, None, query).await
            }
        ),
        row!(
            "guest_accounts::create",
            Expect::OnlyThen(SUPER_ADMIN, "Invalid"),
            |app, caller| {
                guest_accounts::create(&app, &caller, None, &Default::default(), None).await
            }
        ),
        row!(
            "guest_accounts::update",
            Expect::OnlyThen(SUPER_ADMIN, "Invalid"),
            |app, caller| {
                let input = guest_accounts::GuestInput {
                    guest_type: Some("No such type".into()),
                    ..Default::default()
                };
                guest_accounts::update(&app, &caller, None, &absent_guest(), &input).await
            }
        ),
        row!(
            "guest_accounts::act",
            Expect::OnlyThen(SUPER_ADMIN, "Conflict"),
            |app, caller| {
                guest_accounts::act(
                    &app,
                    &caller,
                    None,
                    &absent_guest(),
                    mailroom::domain::sponsor::GuestAction::Reinstate,
                    None,
                )
                .await
            }
        ),
        row!(
            "guest_accounts::reset_password",
            Expect::OnlyThen(SUPER_ADMIN, "Conflict"),
            |app, caller| {
                guest_accounts::reset_password(&app, &caller, None, &absent_guest()).await
            }
        ),
        row!(
            "guest_accounts::decide",
            Expect::OnlyThen(SUPER_ADMIN, "Conflict"),
            |app, caller| {
                guest_accounts::decide(&app, &caller, None, &absent_guest(), true).await
            }
        ),
        row!(
            "backup::backup_now",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let dir = app.config.data_dir.clone();
                backup::backup_now(
                    &app,
                    &caller,
                    &dir,
                    "rolecheck",
                    &Secret::new("Role-Check-Key"),
                )
                .await
            }
        ),
        // Not a backup: refused before anything changes.
        row!(
            "backup::restore",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                backup::restore(
                    &app,
                    &caller,
                    b"not a backup".to_vec(),
                    "x.mrbak",
                    &Secret::new("Role-Check-Key"),
                )
                .await
            }
        ),
        row!(
            "backup::list_repositories",
            Expect::AnyAdmin,
            |app, caller| { backup::list_repositories(&app, &caller).await }
        ),
        // A name per role: each allowed caller adds its own.
        row!(
            "backup::save_repository",
            Expect::Only(SETTINGS_ROLES),
            |app, caller| {
                let form = mailroom::domain::backup::RepositoryForm {
                    name: format!("rc-{:?}", caller.role),
                    protocol: "DISK".into(),
                    path: "/rolecheck".into(),
                    ..Default::default()
                };
                backup::save_repository(&app, &caller, &form).await
            }
        ),
        row!(
            "backup::validate_repository",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| { backup::validate_repository(&app, &caller, "missing").await }
        ),
        row!(
            "backup::accept_host_key",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| { backup::accept_host_key(&app, &caller, "missing", "SHA256:x").await }
        ),
        row!(
            "backup::delete_repository",
            Expect::OnlyThen(SETTINGS_ROLES, "NotFound"),
            |app, caller| { backup::delete_repository(&app, &caller, "missing").await }
        ),
        row!("backup::backup_page", Expect::AnyAdmin, |app, caller| {
            backup::backup_page(&app, &caller).await
        }),
        row!(
            "backup::start_backup",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let form = mailroom::domain::backup::BackupNowForm {
                    name: "rolecheck".into(),
                    repository: "missing".into(),
                    encryption_key: "short".into(),
                    confirm_key: "short".into(),
                };
                backup::start_backup(&app, &caller, &form).await
            }
        ),
        row!(
            "backup::backup_to_repository",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                backup::backup_to_repository(
                    &app,
                    &caller,
                    "missing",
                    "rolecheck",
                    &Secret::new("Role-Check-Key"),
                )
                .await
            }
        ),
        row!(
            "backup::save_schedule",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                let form = mailroom::domain::backup::ScheduleForm {
                    name: "rolecheck".into(),
                    repository: "missing".into(),
                    frequency: "daily".into(),
                    time: "02:00".into(),
                    keep_last: "7".into(),
                    ..Default::default()
                };
                backup::save_schedule(&app, &caller, &form).await
            }
        ),
        row!(
            "backup::backup_files",
            Expect::OnlyThen(ALL_ROLES, "Invalid"),
            |app, caller| { backup::backup_files(&app, &caller, "missing").await }
        ),
        row!(
            "backup::restore_from_repository",
            Expect::OnlyThen(SETTINGS_ROLES, "Invalid"),
            |app, caller| {
                backup::restore_from_repository(
                    &app,
                    &caller,
                    "missing",
                    "x.mrbak",
                    &Secret::new("Role-Check-Key"),
                )
                .await
            }
        ),
        // Last: a rotated key leaves this state's vault with the old one.
        row!(
            "vault::rotate_key",
            Expect::Only(SUPER_ADMIN),
            |app, caller| {
                let dir = app.config.data_dir.clone();
                vault::rotate_key(&app, &caller, &dir).await
            }
        ),
    ];

    // Every operation in the service layer that acts for an admin has a row.
    let covered: BTreeSet<&str> = table.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        admin_operations(),
        covered.iter().map(|name| name.to_string()).collect(),
        "every service operation taking a Caller needs a row in this table"
    );

    for (name, expect, operation) in &table {
        for caller in &callers {
            let result = operation(h.state.clone(), caller.clone()).await;
            let (allowed, refusal) = match expect {
                Expect::AnyAdmin => (true, None),
                Expect::Only(roles) => (roles.contains(&caller.role), None),
                Expect::OnlyThen(roles, kind) => (roles.contains(&caller.role), Some(*kind)),
            };
            match (allowed, refusal, &result) {
                (false, _, Err(ServiceError::Forbidden)) => {}
                (true, None, Ok(())) => {}
                (true, Some(expected), Err(error)) if kind(error) == expected => {}
                _ => panic!(
                    "{name} as {:?}: expected {}, got {result:?}",
                    caller.role,
                    match (allowed, refusal) {
                        (false, _) => "Forbidden".to_string(),
                        (true, None) => "success".to_string(),
                        (true, Some(kind)) => kind.to_string(),
                    }
                ),
            }
        }
    }

    // Refused calls changed nothing; the allowed ones did.
    only_the_super_admins_admin_changes_landed(&h, viewer_id).await;
    let audit = db::audit::recent(&h.state.db, 500).await.unwrap();
    assert!(
        audit.iter().all(|row| row.admin != "viewer"),
        "the Read Only admin changed nothing"
    );
    assert!(
        audit
            .iter()
            .any(|row| row.admin == "sysadmin" && row.target == "Proxy"),
        "the System Admin's proxy save is audited with its name"
    );
}

/// `module::operation` for each `pub async fn` in `src/server/service/`
/// that takes `caller: &Caller`.
fn admin_operations() -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server/service");
    let mut operations = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_string_lossy().into_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        for (at, _) in source.match_indices("pub async fn ") {
            let rest = &source[at + "pub async fn ".len()..];
            let name = rest.split(['(', '<']).next().unwrap();
            let signature = &rest[..rest.find('{').unwrap()];
            if signature.contains("caller: &Caller") {
                operations.insert(format!("{module}::{name}"));
            }
        }
    }
    operations
}
