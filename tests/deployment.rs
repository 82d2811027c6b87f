//! Nodes sharing one database (PostgreSQL; on SQLite there is one node):
//! what a node does at start must not take what another node is doing.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{another_node, harness, post, sign_in};
use common::forms::{form_body, smtp_fields, test_connection, trust_test_ca};
use common::mail::queue_guest_mail;
use http::StatusCode;
use mailroom::domain::mail::MailStatus;
use mailroom::server::db;
use mailroom::server::logging::LogLevel;
use std::time::{Duration, Instant};

/// A node restarting takes back the rows it had leased (it is sending
/// none of them now) and leaves another node's leases alone: that node may
/// be sending them, and only when their lease runs out are they due again.
#[tokio::test]
async fn a_starting_node_takes_back_only_its_own_leases() {
    let h = harness().await;
    let queued = queue_guest_mail(&h.state, 4, "Leases").await;
    let now = h.state.now_ms();
    let lease_until = now + 600_000;
    let a = db::outbox::claim(&h.state.db, "ise-psn-01/101-aaa", now, lease_until, 2)
        .await
        .unwrap();
    let b = db::outbox::claim(&h.state.db, "ise-psn-02/202-bbb", now, lease_until, 2)
        .await
        .unwrap();
    assert_eq!((a.len(), b.len()), (2, 2), "each node claimed its own rows");
    assert!(a.iter().all(|row| b.iter().all(|other| other.id != row.id)));

    let released = db::outbox::release_leases_at_start(&h.state.db, Some("ise-psn-01/"), now)
        .await
        .unwrap();
    assert_eq!(released, 2);
    for row in &a {
        let detail = db::outbox::get(&h.state.db, row.id).await.unwrap().unwrap();
        assert_eq!(detail.row.status, MailStatus::Queued);
    }
    for row in &b {
        let detail = db::outbox::get(&h.state.db, row.id).await.unwrap().unwrap();
        assert_eq!(
            detail.row.status,
            MailStatus::Sending,
            "another node's lease stays"
        );
    }
    // Names end at their slash: node ise-psn-0 is neither of the others.
    assert_eq!(
        db::outbox::release_leases_at_start(&h.state.db, Some("ise-psn-0/"), now)
            .await
            .unwrap(),
        0
    );
    // The single node of an SQLite deployment takes back everything.
    assert_eq!(
        db::outbox::release_leases_at_start(&h.state.db, None, now)
            .await
            .unwrap(),
        2
    );
    assert_eq!(queued.len(), 4);
}

/// Behind a load balancer each request may reach another node: a session
/// made on node A works on node B, a Test Connection passed on A lets B
/// save those values, and a setting saved on A is in force on B within
/// seconds.
#[tokio::test]
async fn a_session_a_passed_test_and_settings_carry_across_nodes() {
    let peers = Peers::start();
    let h = harness().await;
    let (node_b, state_b) = another_node(&h).await;
    mailroom::server::deployment::spawn_settings_watcher(state_b.clone());
    let root = sign_in(&h.app, "root").await;
    assert_eq!(
        post(&node_b, "/api/list_admins", "", Some(&root))
            .await
            .status,
        StatusCode::OK,
        "a session made on A is valid on B"
    );

    trust_test_ca(&h, &root, &peers).await;
    let body = form_body(&smtp_fields(&peers, &peers.text("client_secret")));
    let report = test_connection(&h, &root, &body).await;
    assert!(report.diagnosis.is_none(), "{:?}", report.diagnosis);
    let saved = post(&node_b, "/api/save_smtp_settings", &body, Some(&root)).await;
    assert_eq!(
        saved.status,
        StatusCode::OK,
        "saved on B after the test on A: {}",
        saved.body
    );
    // The pass was used up by the save, on every node.
    let again = post(&h.app, "/api/save_smtp_settings", &body, Some(&root)).await;
    assert_ne!(again.status, StatusCode::OK, "{}", again.body);

    assert_eq!(state_b.log_levels.get("smtp"), Some(LogLevel::Info));
    let set = post(
        &h.app,
        "/api/set_log_level",
        "component=smtp&level=DEBUG",
        Some(&root),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let started = Instant::now();
    while state_b.log_levels.get("smtp") != Some(LogLevel::Debug) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "node B still logs smtp at {:?}",
            state_b.log_levels.get("smtp")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Signing out on A ends the session on B too.
    let out = post(&h.app, "/api/logout", "", Some(&root)).await;
    assert!(
        out.status.is_success() || out.status.is_redirection(),
        "{}",
        out.status
    );
    assert_eq!(
        post(&node_b, "/api/list_admins", "", Some(&root))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
}
