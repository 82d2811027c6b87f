//! Calls every server function over plain HTTP as each kind of caller and
//! checks the answer: 401 without a session, 403 for a role that lacks the
//! right, success otherwise, and no change behind a refusal.
#![cfg(feature = "ssr")]

mod common;

use common::app::{
    BOUNDARY, PASSWORD, admin_id, harness, harness_with_clock,
    only_the_super_admins_admin_changes_landed, post, sign_in,
};
use http::StatusCode;
use mailroom::domain::Role;
use mailroom::server::clock::ManualClock;
use mailroom::server::db;
use std::collections::BTreeSet;
use std::sync::Arc;

/// A multipart upload of a file that is not a certificate.
fn not_a_certificate_upload() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"x.pem\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nnot a certificate\r\n--{BOUNDARY}--\r\n"
    )
}

fn not_a_backup_upload() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.mrbak\"\r\n\
         Content-Type: application/octet-stream\r\n\r\nnot a backup\r\n--{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"encryption_key\"\r\n\r\nRole-Check-Key\r\n--{BOUNDARY}--\r\n"
    )
}

/// A Test Connection form that fails fast (nothing listens on port 9 here).
const NEXT_SECRET_FORM: &str =
    "form%5Bnext_client_secret%5D=Next~Secret&form%5Bnext_secret_expiry%5D=2028-01-31";
const QUICK_SMTP_FORM: &str = "form%5Bsmtp_server%5D=127.0.0.1&form%5Bsmtp_port%5D=9\
    &form%5Bconnection_timeout%5D=2";

fn admin_form(name: &str, description: &str) -> String {
    format!(
        "form%5Bname%5D={name}&form%5Bemail%5D=new%40example.com&form%5Brole%5D=read_only_admin\
         &form%5Bstatus%5D=enabled&form%5Bdescription%5D={description}\
         &form%5Bpassword%5D=New-Admin-Passw0rd&form%5Bpassword_confirm%5D=New-Admin-Passw0rd"
    )
}

#[derive(Clone, Copy)]
enum Expect {
    /// Every signed-in role may call it; anonymous callers get 401.
    AnyAdmin,
    /// Only these roles may call it.
    Only(&'static [Role]),
    /// Only these roles get past the role check, and then this status
    /// (a business rule or validation refuses the sample request).
    OnlyThen(&'static [Role], StatusCode),
}

const SETTINGS_ROLES: &[Role] = &[Role::SuperAdmin, Role::SystemAdmin];
const ALL_ROLES: &[Role] = &Role::ALL;

#[tokio::test]
async fn every_server_fn_checks_the_callers_role() {
    let h = harness().await;
    let viewer_id = admin_id(&h, "viewer").await;
    let cookies = [
        (Role::SuperAdmin, sign_in(&h.app, "root").await),
        (Role::SystemAdmin, sign_in(&h.app, "sysadmin").await),
        (Role::ReadOnlyAdmin, sign_in(&h.app, "viewer").await),
    ];

    // (path, body for the call, who may call it). The body varies per role
    // where a success would otherwise collide (a name can be created once).
    type BodyFor = Box<dyn Fn(Role) -> String>;
    let table: Vec<(&str, BodyFor, Expect)> = vec![
        (
            "/api/list_admins",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_admin",
            Box::new(move |_| format!("id={viewer_id}")),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_dashboard",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/list_audit",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_admin",
            Box::new(|role| {
                admin_form(&format!("made-by-{}", role.as_str().replace('_', "-")), "x")
            }),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/save_admin",
            Box::new(move |role| {
                format!("id={viewer_id}&{}", admin_form("viewer", role.as_str())).replace(
                "&form%5Bpassword%5D=New-Admin-Passw0rd&form%5Bpassword_confirm%5D=New-Admin-Passw0rd",
                "",
            )
            }),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/set_admins_status",
            Box::new(move |_| format!("ids%5B0%5D={viewer_id}&enabled=true")),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/get_smtp_settings",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/test_smtp_connection",
            Box::new(|_| QUICK_SMTP_FORM.to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // Refused without a passed Test Connection of the same values.
            "/api/save_smtp_settings",
            Box::new(|_| QUICK_SMTP_FORM.replace("port%5D=9", "port%5D=10")),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            // Nothing is saved here, so a next secret has nothing to belong to.
            "/api/test_next_client_secret",
            Box::new(|_| NEXT_SECRET_FORM.to_string() + "&whole_ladder=false"),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/stage_next_client_secret",
            Box::new(|_| NEXT_SECRET_FORM.to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/switch_to_next_client_secret",
            Box::new(|_| String::new()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/discard_next_client_secret",
            Box::new(|_| String::new()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            // Nor a next certificate.
            "/api/generate_next_oauth_certificate",
            Box::new(|_| String::new()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/upload_next_oauth_certificate",
            Box::new(|_| not_a_certificate_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/test_next_oauth_certificate",
            Box::new(|_| "whole_ladder=true".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/switch_to_next_oauth_certificate",
            Box::new(|_| String::new()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/discard_next_oauth_certificate",
            Box::new(|_| String::new()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/generate_oauth_certificate",
            Box::new(|_| String::new()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // The sample upload holds no certificate.
            "/api/upload_oauth_certificate",
            Box::new(|_| not_a_certificate_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/list_trusted_certificates",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/upload_trusted_certificate",
            Box::new(|_| not_a_certificate_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/delete_trusted_certificates",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/list_system_certificates",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/system_certificate_defaults",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/list_signing_requests",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/generate_self_signed_certificate",
            Box::new(|_| {
                "form%5Bsubject%5D%5Bcommon_name%5D=spare&form%5Bsans%5D=spare.example.com".into()
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/generate_signing_request",
            Box::new(|_| {
                "form%5Bsubject%5D%5Bcommon_name%5D=spare&form%5Bsans%5D=spare.example.com".into()
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No such certificate.
            "/api/edit_system_certificate",
            Box::new(|_| {
                "edit%5Bid%5D=999&edit%5Bfriendly_name%5D=x&edit%5Bused_by_admin%5D=false\
                 &edit%5Bused_by_portal%5D=false"
                    .into()
            }),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            // The export password is too short.
            "/api/export_system_certificate_key",
            Box::new(|_| {
                "id=999&admin_password=x&export_password=short&confirm_password=short".into()
            }),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/delete_system_certificates",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/delete_signing_requests",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No such signing request.
            "/api/upload_bound_certificate",
            Box::new(|_| not_a_certificate_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/upload_system_certificate",
            Box::new(|_| not_a_certificate_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/get_log_levels",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/set_log_level",
            Box::new(|_| "component=smtp&level=DEBUG".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_api_settings",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_api_settings",
            Box::new(|_| "form%5Bcsrf_enabled%5D=false".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_proxy_settings",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/list_repositories",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_repository",
            Box::new(|role| {
                format!("form%5Bname%5D=rc-{role:?}&form%5Bprotocol%5D=DISK&form%5Bpath%5D=%2Frc")
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/validate_repository",
            Box::new(|_| "name=missing".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/accept_host_key",
            Box::new(|_| "name=missing&fingerprint=SHA256%3Ax".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/delete_repository",
            Box::new(|_| "name=missing".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/get_backup_page",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/start_backup",
            Box::new(|_| {
                "form%5Bname%5D=rc&form%5Brepository%5D=missing\
                 &form%5Bencryption_key%5D=short&form%5Bconfirm_key%5D=short"
                    .to_string()
            }),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/save_backup_schedule",
            Box::new(|_| {
                "form%5Bname%5D=rc&form%5Brepository%5D=missing&form%5Bfrequency%5D=daily\
                 &form%5Btime%5D=02%3A00&form%5Bkeep_last%5D=7"
                    .to_string()
            }),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        // The repository the Super Admin's row above added.
        (
            "/api/list_backup_files",
            Box::new(|_| "repository=rc-SuperAdmin".to_string()),
            Expect::AnyAdmin,
        ),
        (
            "/api/restore_from_repository",
            Box::new(|_| "repository=missing&file_name=x.mrbak&encryption_key=k".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/upload_restore_backup",
            Box::new(|_| not_a_backup_upload()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/save_proxy_settings",
            Box::new(|_| "form%5Bhost%5D=".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_guest_email_settings",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_guest_email_settings",
            Box::new(|_| {
                "form%5Benabled%5D=true&form%5Bdefault_from%5D=ops%40example.com".to_string()
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/list_log_files",
            Box::new(|_| String::new()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_mail_queue",
            Box::new(|_| "status=&kind=&recipient=&subject=&page=1".to_string()),
            Expect::AnyAdmin,
        ),
        (
            // The queue is empty: every role gets past the check to "no such message".
            "/api/get_mail_detail",
            Box::new(|_| "id=1".to_string()),
            Expect::OnlyThen(ALL_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/retry_mail",
            Box::new(|_| "id=1".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/discard_mail",
            Box::new(|_| "id=1".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/list_guest_types",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_guest_type",
            Box::new(|_| "id=1".to_string()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_guest_type",
            Box::new(|role| guest_type_form(&format!("Visitor {role:?}"))),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/delete_guest_types",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No SMTP server is configured yet.
            "/api/send_test_expiry_notice",
            Box::new(|_| format!("{}&to=ops%40example.com", guest_type_form("Visitor"))),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/list_guest_portals",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/get_guest_portal",
            Box::new(|_| "id=1".to_string()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_guest_portal",
            Box::new(|_| format!("id=1&{}", common::forms::portal_body(2, &[]))),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No SMTP server is configured yet.
            "/api/send_portal_test_email",
            Box::new(|_| {
                "email%5Bsubject%5D=Hi&email%5Btext%5D=Hello&to=ops%40example.com".to_string()
            }),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/get_sponsor_groups",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_sponsor_group",
            Box::new(|_| "id=3&permissions%5Bscope%5D=Own".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/create_sponsor_user",
            Box::new(|role| {
                format!(
                    "form%5Busername%5D=sponsor{}&form%5Bemail%5D=s%40example.com&form%5Bpassword%5D={PASSWORD}&form%5Bgroup_id%5D=1",
                    role.as_str().len()
                )
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/delete_sponsor_users",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No SMTP server is configured yet.
            "/api/send_test_email",
            Box::new(|_| "to=ops%40example.com".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/list_alarms",
            Box::new(|_| "include_cleared=true".to_string()),
            Expect::AnyAdmin,
        ),
        (
            // No such alarm: nothing changes, but the role is checked first.
            "/api/act_on_alarms",
            Box::new(|_| "ids%5B0%5D=999&action=Acknowledge".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_alarm_settings",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_alarm_setting",
            Box::new(|_| {
                "code=email-delivery-failed&form%5Benabled%5D=true&form%5Bseverity%5D=warning\
                 &form%5Bsend_email%5D=true&form%5Bsuppress_hours%5D=12"
                    .to_string()
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/save_alarm_sender",
            Box::new(|_| "sender=alarms%40example.com".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No SMTP server is configured yet.
            "/api/send_test_alarm_email",
            Box::new(|_| "to=ops%40example.com".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/get_password_policy",
            Box::new(|_| "scope=Admin".to_string()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_password_policy",
            Box::new(|_| format!("scope=Admin&{PASSWORD_POLICY_FORM}")),
            Expect::Only(&[Role::SuperAdmin]),
        ),
        (
            "/api/save_password_policy",
            Box::new(|_| format!("scope=User&{PASSWORD_POLICY_FORM}")),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/get_deployment",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            // No node named so is registered here.
            "/api/save_node_personas",
            Box::new(|_| "form%5Bnode%5D=ise-psn-09&form%5Bpolicy_service%5D=true".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/deregister_node",
            Box::new(|_| "node=ise-psn-09".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/get_sending_limits",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/save_sending_limits",
            Box::new(|_| {
                "form%5Bmax_connections%5D=3&form%5Bmessages_per_minute%5D=30\
                 &form%5Brecipients_per_day%5D=10000&form%5Brecipients_per_message%5D=500"
                    .to_string()
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            // No SMTP server signs in with OAuth here: a pool is refused.
            "/api/add_sender_mailbox",
            Box::new(|_| "form%5Bmailbox%5D=guests1%40contoso.com".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/enable_sender_mailbox",
            Box::new(|_| "mailbox=guests1%40contoso.com&enabled=false".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/remove_sender_mailbox",
            Box::new(|_| "mailbox=guests1%40contoso.com".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/send_pool_test_email",
            Box::new(|_| "mailbox=guests1%40contoso.com&to=a%40example.com".to_string()),
            Expect::OnlyThen(SETTINGS_ROLES, StatusCode::BAD_REQUEST),
        ),
        (
            "/api/list_internal_users",
            Box::new(|_| String::new()),
            Expect::AnyAdmin,
        ),
        (
            "/api/create_internal_user",
            Box::new(|role| {
                format!(
                    "form%5Bname%5D=user-{}&form%5Bemail%5D=u%40example.com&form%5Bpassword%5D=Net-User-Passw0rd",
                    role.as_str().replace('_', "-")
                )
            }),
            Expect::Only(SETTINGS_ROLES),
        ),
        (
            "/api/delete_internal_users",
            Box::new(|_| "ids%5B0%5D=999".to_string()),
            Expect::Only(SETTINGS_ROLES),
        ),
    ];

    // The table must name every registered server function, so a new one
    // cannot be added without deciding who may call it. login, logout,
    // current_admin, the guest portal's two and the approval links' two are
    // the public ones, tested below, in guest_portal.rs and in
    // guest_approval.rs.
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    let mut covered: BTreeSet<String> = table.iter().map(|(path, _, _)| path.to_string()).collect();
    covered.extend(
        [
            "/api/login",
            "/api/change_expired_password",
            "/api/logout",
            "/api/current_admin",
            "/api/get_public_portal",
            "/api/register_guest",
            "/api/get_guest_approval",
            "/api/settle_guest_approval",
            "/api/guest_login",
            "/api/guest_change_password",
            "/api/sponsor_login",
            "/api/sponsor_logout",
            "/api/current_sponsor",
        ]
        .map(String::from),
    );
    covered.extend(SPONSOR_ONLY.map(|(path, _)| path.to_string()));
    assert_eq!(
        registered, covered,
        "every server fn needs a row in this table"
    );

    // The sponsor portal's own: no admin session opens them.
    for (path, body) in SPONSOR_ONLY {
        for cookie in [None, Some(cookies[0].1.as_str())] {
            let reply = post(&h.app, path, body, cookie).await;
            assert_eq!(
                reply.status,
                StatusCode::UNAUTHORIZED,
                "{path}: {}",
                reply.body
            );
        }
    }

    for (path, body, expect) in &table {
        let anonymous = post(&h.app, path, &body(Role::ReadOnlyAdmin), None).await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "anonymous {path}: {}",
            anonymous.body
        );
        assert!(
            anonymous.body.contains("Unauthenticated"),
            "{path}: {}",
            anonymous.body
        );
        for (role, cookie) in &cookies {
            let reply = post(&h.app, path, &body(*role), Some(cookie)).await;
            let (allowed, status) = match expect {
                Expect::AnyAdmin => (true, StatusCode::OK),
                Expect::Only(roles) => (roles.contains(role), StatusCode::OK),
                Expect::OnlyThen(roles, status) => (roles.contains(role), *status),
            };
            if allowed {
                assert_eq!(reply.status, status, "{role:?} {path}: {}", reply.body);
            } else {
                assert_eq!(
                    reply.status,
                    StatusCode::FORBIDDEN,
                    "{role:?} {path}: {}",
                    reply.body
                );
                assert!(reply.body.contains("Forbidden"), "{path}: {}", reply.body);
            }
        }
    }

    // Refused calls changed nothing; the allowed one did.
    only_the_super_admins_admin_changes_landed(&h, viewer_id).await;
}

#[tokio::test]
async fn public_functions_and_session_lifecycle() {
    let h = harness().await;
    let anonymous = post(&h.app, "/api/current_admin", "", None).await;
    assert_eq!(
        (anonymous.status, anonymous.body.as_str()),
        (StatusCode::OK, "null")
    );

    let unknown = post(
        &h.app,
        "/api/login",
        "username=ghost&password=Whatever-1",
        None,
    )
    .await;
    let wrong = post(
        &h.app,
        "/api/login",
        &format!("username=root&password={PASSWORD}x"),
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown.body, wrong.body,
        "the same answer for an unknown user and a wrong password"
    );
    assert!(unknown.set_cookie.is_none());

    let cookie = sign_in(&h.app, "root").await;
    let me = post(&h.app, "/api/current_admin", "", Some(&cookie)).await;
    assert!(
        me.body.contains("\"name\":\"root\"") && me.body.contains("SuperAdmin"),
        "{}",
        me.body
    );

    let out = post(&h.app, "/api/logout", "", Some(&cookie)).await;
    assert_eq!(out.status, StatusCode::OK);
    assert!(out.set_cookie.unwrap().contains("Max-Age=0"));
    let after = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the old cookie is dead after sign-out"
    );
}

#[tokio::test]
async fn sign_in_is_throttled_per_user() {
    let h = harness().await;
    for _ in 0..5 {
        let reply = post(
            &h.app,
            "/api/login",
            "username=viewer&password=Wrong-Passw0rd",
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password now waits: the account is throttled.
    let reply = post(
        &h.app,
        "/api/login",
        &format!("username=viewer&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    assert!(
        reply.body.contains("Too many failed sign-in attempts"),
        "{}",
        reply.body
    );
    // Another user is not affected.
    sign_in(&h.app, "root").await;
}

#[tokio::test]
async fn a_disabled_admin_is_signed_out_and_cannot_sign_in() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let viewer = sign_in(&h.app, "viewer").await;
    let viewer_id = admin_id(&h, "viewer").await;
    let reply = post(
        &h.app,
        "/api/set_admins_status",
        &format!("ids%5B0%5D={viewer_id}&enabled=false"),
        Some(&root),
    )
    .await;
    assert_eq!((reply.status, reply.body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(
        post(&h.app, "/api/list_admins", "", Some(&viewer))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    let again = post(
        &h.app,
        "/api/login",
        &format!("username=viewer&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    // The last enabled Super Admin cannot disable itself.
    let root_id = admin_id(&h, "root").await;
    let reply = post(
        &h.app,
        "/api/set_admins_status",
        &format!("ids%5B0%5D={root_id}&enabled=false"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("You cannot disable your own account"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn invalid_admin_input_names_the_field_and_saves_nothing() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let body = admin_form("bad-email", "x").replace("new%40example.com", "not-an-address");
    let reply = post(&h.app, "/api/save_admin", &body, Some(&root)).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("\"field\":\"email\""), "{}", reply.body);
    assert!(
        db::admins::by_name(&h.state.db, "bad-email")
            .await
            .unwrap()
            .is_none()
    );
    let duplicate = post(
        &h.app,
        "/api/save_admin",
        &admin_form("viewer", "x"),
        Some(&root),
    )
    .await;
    assert!(
        duplicate.body.contains("already exists"),
        "{}",
        duplicate.body
    );
}

#[tokio::test]
async fn no_password_or_hash_is_served_and_passwords_are_not_stored_in_clear() {
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    let reply = post(
        &h.app,
        "/api/save_admin",
        &admin_form("newbie", "x"),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let list = post(&h.app, "/api/list_admins", "", Some(&root)).await;
    assert!(
        !list.body.contains("argon2") && !list.body.contains("New-Admin-Passw0rd"),
        "{}",
        list.body
    );
    if !common::database::on_postgres() {
        // Into the main file, so that it is all read below.
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&h.state.db)
            .await
            .unwrap();
    }
    let stored = common::database::stored_bytes(&h.state, &h.state.config.data_dir).await;
    let text = String::from_utf8_lossy(&stored);
    assert!(!text.contains("New-Admin-Passw0rd") && !text.contains(PASSWORD));
    assert!(text.contains("$argon2id$"));
}

#[tokio::test]
async fn an_idle_session_expires() {
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = harness_with_clock(clock.clone()).await;
    let cookie = sign_in(&h.app, "viewer").await;
    clock.advance(time::Duration::minutes(29));
    let active = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        active.status,
        StatusCode::OK,
        "activity within the idle timeout"
    );
    // Activity moved the deadline: 29 more minutes are still inside it.
    clock.advance(time::Duration::minutes(29));
    assert_eq!(
        post(&h.app, "/api/list_admins", "", Some(&cookie))
            .await
            .status,
        StatusCode::OK
    );
    clock.advance(time::Duration::minutes(31));
    let idle = post(&h.app, "/api/list_admins", "", Some(&cookie)).await;
    assert_eq!(
        idle.status,
        StatusCode::UNAUTHORIZED,
        "31 idle minutes end the session"
    );
}

/// The sponsor portal's functions, which need a sponsor's session
/// (permissions per sponsor group: tests/sponsor_portal.rs).
const PASSWORD_POLICY_FORM: &str = "form%5Blifetime_enabled%5D=false&form%5Blifetime_days%5D=45\
    &form%5Breminder_days%5D=30&form%5Breminder_subject%5D=Expiring&form%5Breminder_text%5D=Change%20it";

const SPONSOR_ONLY: [(&str, &str); 10] = [
    ("/api/sponsor_send_budget", ""),
    ("/api/sponsor_create_known", "form%5Bguest_type_id%5D=1"),
    ("/api/sponsor_create_random", "form%5Bcount%5D=1"),
    ("/api/sponsor_import_guests", "form%5Bcsv%5D=email"),
    ("/api/sponsor_delivery", "mail_ids%5B0%5D=1"),
    ("/api/sponsor_guests", "search=&state=&page=1"),
    ("/api/sponsor_guest_action", "ids%5B0%5D=1&action=Resend"),
    ("/api/sponsor_pending_accounts", ""),
    (
        "/api/sponsor_decide_pending",
        "ids%5B0%5D=1&approve=true&reason=",
    ),
    ("/api/sponsor_set_language", "ids%5B0%5D=1&language=es"),
];

/// A valid Guest Type form named `name`.
fn guest_type_form(name: &str) -> String {
    format!(
        "form%5Bname%5D={}&form%5Bmax_days%5D=5&form%5Bdefault_days%5D=1&form%5Bnotify_advance%5D=3&form%5Bnotify_unit%5D=hours",
        mailroom::domain::percent_encode(name)
    )
}

/// A console page without a session answers with a redirect to sign-in
/// (HTML anyone can follow, not a blank page for the wasm to redirect),
/// keeping where the admin was going; signing in returns there, and only
/// to a path of this console. The portals and sign-in pages are not
/// redirected.
#[tokio::test]
async fn a_console_page_without_a_session_sends_the_browser_to_sign_in() {
    use tower::ServiceExt;
    let h = harness().await;
    let send = |request: http::Request<axum::body::Body>| {
        let app = h.app.clone();
        async move { app.oneshot(request).await.unwrap() }
    };
    let get = |path: &str, cookie: Option<&str>| {
        let mut request = http::Request::get(path);
        if let Some(cookie) = cookie {
            request = request.header(http::header::COOKIE, cookie);
        }
        request.body(axum::body::Body::empty()).unwrap()
    };
    let location = |response: &http::Response<axum::body::Body>| {
        response
            .headers()
            .get(http::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let queue = "/operations/mail-queue/outbound-email/mail-queue?status=dead";
    let page = send(get(queue, None)).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&page).as_deref(),
        Some(
            "/login?next=%2Foperations%2Fmail-queue%2Foutbound-email%2Fmail-queue%3Fstatus%3Ddead"
        )
    );
    assert_eq!(send(get("/", None)).await.status(), StatusCode::SEE_OTHER);
    for open in ["/login", "/sponsor/login"] {
        assert_eq!(
            send(get(open, None)).await.status(),
            StatusCode::OK,
            "{open}"
        );
    }
    let root = sign_in(&h.app, "root").await;
    assert_eq!(send(get(queue, Some(&root))).await.status(), StatusCode::OK);

    let sign_in_to = |next: &str| {
        let body = format!(
            "username=viewer&password={PASSWORD}&next={}",
            mailroom::domain::percent_encode(next)
        );
        http::Request::post("/api/login")
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let back = send(sign_in_to(queue)).await;
    assert_eq!(location(&back).as_deref(), Some(queue));
    for elsewhere in [
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let refused = send(sign_in_to(elsewhere)).await;
        assert_eq!(location(&refused).as_deref(), Some("/"), "{elsewhere}");
    }
}
