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

/// One node at a time holds the scheduled jobs; another takes them over
/// only once the holder stops renewing and its lease runs out, and at once
/// when the holder leaves cleanly. Nodes asking at the same moment: one wins.
#[tokio::test]
async fn the_scheduled_jobs_run_on_one_node_and_move_when_it_stops() {
    use db::deployment::{release_lease, take_lease};
    let h = harness().await;
    let db = &h.state.db;
    let job = "scheduled-jobs-test";
    let t = 1_000_000;
    assert!(take_lease(db, job, "a/1", t, t + 20_000).await.unwrap());
    assert!(
        !take_lease(db, job, "b/2", t + 1_000, t + 21_000)
            .await
            .unwrap()
    );
    assert!(
        take_lease(db, job, "a/1", t + 5_000, t + 25_000)
            .await
            .unwrap(),
        "renewed"
    );
    assert!(
        !take_lease(db, job, "b/2", t + 24_000, t + 44_000)
            .await
            .unwrap()
    );
    // A stopped beating: once its lease ran out, B takes the jobs over.
    assert!(
        take_lease(db, job, "b/2", t + 25_001, t + 45_001)
            .await
            .unwrap()
    );
    assert!(
        !take_lease(db, job, "a/1", t + 26_000, t + 46_000)
            .await
            .unwrap(),
        "B keeps them"
    );
    // B leaves cleanly: A takes them at once.
    release_lease(db, job, "b/2").await.unwrap();
    assert!(
        take_lease(db, job, "a/1", t + 27_000, t + 47_000)
            .await
            .unwrap()
    );

    let racers: Vec<_> = (0..8)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move {
                take_lease(&db, "race", &format!("node{n}/1"), t, t + 20_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if racer.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);

    // A lone node is the PRIMARY.
    assert!(mailroom::server::deployment::runs_jobs(&h.state).await);
    assert!(h.state.primary.load(std::sync::atomic::Ordering::SeqCst));
}

/// A node registers at start, beats, and leaves at a clean stop; a
/// restart replaces the old process's registration, whose beats and
/// departure then change nothing.
#[tokio::test]
async fn nodes_register_beat_and_leave() {
    use db::deployment::{deregister_node, heartbeat, nodes, register_node};
    let h = harness().await;
    let db = &h.state.db;
    register_node(db, "ise-psn-01", "ise-psn-01/10-aaaa", "0.1.0", 1_000)
        .await
        .unwrap();
    register_node(db, "ise-psn-02", "ise-psn-02/20-bbbb", "0.1.0", 1_000)
        .await
        .unwrap();
    assert!(
        heartbeat(db, "ise-psn-01", "ise-psn-01/10-aaaa", 6_000)
            .await
            .unwrap()
    );
    let listed = nodes(db).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].heartbeat_at, 6_000);
    assert_eq!(listed[0].personas, db::deployment::ALL_PERSONAS);

    register_node(db, "ise-psn-01", "ise-psn-01/11-cccc", "0.1.1", 7_000)
        .await
        .unwrap();
    assert!(
        !heartbeat(db, "ise-psn-01", "ise-psn-01/10-aaaa", 8_000)
            .await
            .unwrap()
    );
    assert!(
        !deregister_node(db, "ise-psn-01", "ise-psn-01/10-aaaa")
            .await
            .unwrap()
    );
    let restarted = nodes(db).await.unwrap();
    assert_eq!(restarted[0].instance, "ise-psn-01/11-cccc");
    assert_eq!(restarted[0].version, "0.1.1");
    assert!(
        deregister_node(db, "ise-psn-01", "ise-psn-01/11-cccc")
            .await
            .unwrap()
    );
    let left: Vec<String> = nodes(db)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(left, ["ise-psn-02"]);
}
