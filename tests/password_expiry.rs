//! Password expiry with the clock moved by hand: each admin and internal
//! user gets each threshold's reminder once (not again on another run or
//! after a restart), delivered to the peers' smtp-server; an expired
//! internal user is disabled and an expired admin must choose a new
//! password before signing in.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::build_state;
use common::app::{PASSWORD, harness_in, post, sign_in};
use common::forms::{MAILBOX, configure_smtp, encode, form_body};
use common::mail::{received_with_subject, settled};
use http::StatusCode;
use mailroom::api::auth::PASSWORD_EXPIRED;
use mailroom::domain::password_policy::InternalUserView;
use mailroom::server::clock::{Clock, ManualClock, unix};
use mailroom::server::mail::worker;
use mailroom::server::passwords::{ReminderRun, run_reminder_job};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn each_password_gets_each_reminder_once_then_expires() {
    let peers = Peers::start();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let h = harness_in(tempfile::tempdir().unwrap(), clock.clone(), None).await;
    let now = unix(clock.now());
    sqlx::query("UPDATE admins SET password_changed_at = $1, email = name || '@contoso.com'")
        .bind(now)
        .execute(&h.state.db)
        .await
        .unwrap();
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, &[]).await;
    let reply = post(
        &h.app,
        "/api/save_alarm_sender",
        &format!("sender={}", encode(MAILBOX)),
        Some(&root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);

    let policy = |lifetime: &str, reminders: &str| {
        form_body(&[
            ("lifetime_enabled", "true".into()),
            ("lifetime_days", lifetime.into()),
            ("reminder_days", reminders.into()),
            (
                "reminder_subject",
                "Your password expires in $days$ days".into(),
            ),
            (
                "reminder_text",
                "Hello $username$, change it before $expiry_date$.".into(),
            ),
        ])
    };
    // A System Admin may set the users' policy, not the admins'.
    let sysadmin = sign_in(&h.app, "sysadmin").await;
    let refused = post(
        &h.app,
        "/api/save_password_policy",
        &format!("scope=Admin&{}", policy("45", "30, 7, 1")),
        Some(&sysadmin),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // A reminder before the lifetime starts is refused next to its field.
    let invalid = post(
        &h.app,
        "/api/save_password_policy",
        &format!("scope=Admin&{}", policy("20", "30")),
        Some(&root),
    )
    .await;
    assert_eq!(invalid.status, StatusCode::BAD_REQUEST);
    assert!(invalid.body.contains("reminder_days"), "{}", invalid.body);
    for (scope, body) in [
        ("Admin", policy("45", "30, 7, 1")),
        ("User", policy("60", "14, 1")),
    ] {
        let reply = post(
            &h.app,
            "/api/save_password_policy",
            &format!("scope={scope}&{body}"),
            Some(&root),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let user = form_body(&[
        ("name", "alice".into()),
        ("email", "alice@contoso.com".into()),
        ("first_name", "Alice".into()),
        ("last_name", "Network".into()),
        ("password", "Net-User-Passw0rd".into()),
    ]);
    let reply = post(&h.app, "/api/create_internal_user", &user, Some(&root)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let taken = post(&h.app, "/api/create_internal_user", &user, Some(&root)).await;
    assert_eq!(taken.status, StatusCode::BAD_REQUEST);
    assert!(taken.body.contains("already exists"), "{}", taken.body);

    worker::spawn(h.state.clone());
    let run = || run_reminder_job(&h.state);
    assert_eq!(run().await.unwrap(), ReminderRun::default());

    let mut expected = 0;
    // (days to move, reminders due): the three admins at 30, 7 and 1 days
    // left, then alice at 14 and 1.
    for (advance, due) in [(15, 3), (23, 3), (6, 3), (2, 1), (13, 1)] {
        clock.advance(time::Duration::days(advance));
        let (a, b) = tokio::join!(run(), run());
        assert_eq!(a.unwrap().reminders + b.unwrap().reminders, due);
        assert_eq!(run().await.unwrap(), ReminderRun::default());
        expected += due;
        let received = received_with_subject(&peers, "Your password expires", expected).await;
        assert_eq!(received.len(), expected, "{received:#?}");
        settled(&h.state).await;
    }
    let received = received_with_subject(&peers, "Your password expires", expected).await;
    let alice: Vec<&Value> = received
        .iter()
        .filter(|m| m["to"][0] == "alice@contoso.com")
        .collect();
    assert_eq!(alice.len(), 2);
    assert_eq!(alice[0]["subject"], "Your password expires in 14 days");
    assert_eq!(alice[0]["from"], MAILBOX);
    assert!(
        alice[0]["raw"]
            .as_str()
            .unwrap()
            .contains("Hello alice, change it before"),
    );

    // A restart finds every mark: nothing again.
    let restarted = build_state(h.dir.path(), clock.clone()).await.unwrap();
    assert_eq!(
        run_reminder_job(&restarted).await.unwrap(),
        ReminderRun::default()
    );

    // Day 60: alice's password expires and her account is disabled.
    clock.advance(time::Duration::days(1));
    assert_eq!(
        run().await.unwrap(),
        ReminderRun {
            reminders: 0,
            disabled_users: vec!["alice".into()]
        }
    );

    // The admins' passwords expired on day 45: sign-in asks for a new one.
    let login = post(
        &h.app,
        "/api/login",
        &format!("username=viewer&password={PASSWORD}"),
        None,
    )
    .await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert!(login.body.contains(PASSWORD_EXPIRED), "{}", login.body);
    assert!(login.set_cookie.is_none());
    let change = |new: &str, confirm: &str| {
        format!("username=viewer&password={PASSWORD}&new_password={new}&confirm_password={confirm}")
    };
    let mismatch = post(
        &h.app,
        "/api/change_expired_password",
        &change("Fresh-Passw0rd-1", "Fresh-Passw0rd-2"),
        None,
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(mismatch.body.contains("confirm_password"));
    let same = post(
        &h.app,
        "/api/change_expired_password",
        &change(PASSWORD, PASSWORD),
        None,
    )
    .await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    let changed = post(
        &h.app,
        "/api/change_expired_password",
        &change("Fresh-Passw0rd-1", "Fresh-Passw0rd-1"),
        None,
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert!(changed.set_cookie.is_some());
    let login = post(
        &h.app,
        "/api/login",
        "username=viewer&password=Fresh-Passw0rd-1",
        None,
    )
    .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);

    // The Users page shows alice disabled, with her expiry date.
    let root = sign_in_after_change(&h).await;
    let reply = post(&h.app, "/api/list_internal_users", "", Some(&root)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let users: Vec<InternalUserView> = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(users.len(), 1);
    assert!(!users[0].enabled);
    assert_eq!(users[0].password_expires_at, Some(now + 60 * 86_400));
}

/// Root's password has expired too: it changes it, as the page would.
async fn sign_in_after_change(h: &common::app::Harness) -> String {
    let reply = post(
        &h.app,
        "/api/change_expired_password",
        &format!(
            "username=root&password={PASSWORD}&new_password=Chief-Passw0rd-2&confirm_password=Chief-Passw0rd-2"
        ),
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply
        .set_cookie
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}
