//! Nodes sharing one database (PostgreSQL; on SQLite there is one node):
//! what a node does at start must not take what another node is doing.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{another_node, harness, node_named, post, sign_in};
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

    let released = db::outbox::release_leases(&h.state.db, Some("ise-psn-01/"), now)
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
        db::outbox::release_leases(&h.state.db, Some("ise-psn-0/"), now)
            .await
            .unwrap(),
        0
    );
    // The single node of an SQLite deployment takes back everything.
    assert_eq!(
        db::outbox::release_leases(&h.state.db, None, now)
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
    mailroom::server::deployment::spawn_settings_watcher(state_b.clone()).await;
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

    // Connection slots are renewed by their node's instance prefix, and a
    // node's restart gives up only its earlier processes' leases.
    use db::deployment::{release_earlier_leases, renew_connection_leases};
    for owner in ["a/1#0", "a/1#1", "a/10#0", "b/2#0"] {
        let job = format!("connection:test:{owner}");
        assert!(take_lease(db, &job, owner, t, t + 20_000).await.unwrap());
    }
    assert_eq!(
        renew_connection_leases(db, "a/1", t + 60_000)
            .await
            .unwrap(),
        2
    );
    // a/1's two slots and its jobs lease above; a/10's own slot stays.
    assert_eq!(
        release_earlier_leases(db, Some("a/"), "a/10")
            .await
            .unwrap(),
        3
    );
    assert!(
        !take_lease(
            db,
            "connection:test:a/10#0",
            "c/3#0",
            t + 10_000,
            t + 30_000
        )
        .await
        .unwrap(),
        "this process's slot stays"
    );
    assert!(
        !take_lease(db, "connection:test:b/2#0", "c/3#0", t + 10_000, t + 30_000)
            .await
            .unwrap(),
        "another node's slot stays"
    );

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

/// Exchange counts a mailbox's connections, not a machine's: two nodes
/// sending one paced batch from one mailbox together stay within its
/// limit of 3 (the peer answers a fourth with 432 4.3.2), every message
/// goes out once, and the two nodes ask the token endpoint once between
/// them.
#[tokio::test]
async fn two_nodes_share_the_connections_a_mailbox_allows() {
    use common::forms::configure_smtp;
    use serde_json::json;
    if !common::database::on_postgres() {
        // SQLite is one node by design: a node starting on it takes back
        // every lease, which is right for the one node it has.
        eprintln!("two sending nodes need PostgreSQL (run with MAILROOM_TEST_POSTGRES)");
        return;
    }
    let peers = Peers::start();
    let h = harness().await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, &[]).await;
    peers
        .control("/_limits", json!({"max_connections": 3}))
        .await;
    let body = form_body(&[
        ("max_connections", "3".into()),
        ("messages_per_minute", "6000".into()),
        ("recipients_per_day", "0".into()),
        ("recipients_per_message", "0".into()),
    ]);
    let saved = post(&h.app, "/api/save_sending_limits", &body, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let (_, state_a) = node_named(&h, "ise-psn-01").await;
    let (_, state_b) = node_named(&h, "ise-psn-02").await;
    let tokens_before = peers.stats().await["token_requests"].as_i64().unwrap();
    let queued = queue_guest_mail(&h.state, 240, "Shared limit").await;
    for node in [&state_a, &state_b] {
        // The heartbeat keeps each node's connection slots leased.
        mailroom::server::deployment::join(node).await.unwrap();
        mailroom::server::deployment::spawn_heartbeat(node.clone());
        mailroom::server::mail::worker::spawn(node.clone());
    }
    state_a.mailer.submitted(&queued);
    state_b.mailer.wake();

    let started = Instant::now();
    loop {
        let counts = db::outbox::counts(&h.state.db).await.unwrap();
        if counts.sent == 240 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not delivered: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stats = peers.stats().await;
    assert_eq!(stats["refused_432"].as_i64().unwrap_or(0), 0, "{stats}");
    let most_open = stats["max_open"].as_i64().unwrap();
    assert!((1..=3).contains(&most_open), "{stats}");
    let tokens = stats["token_requests"].as_i64().unwrap() - tokens_before;
    assert_eq!(tokens, 1, "one token for the deployment: {stats}");
    let messages = peers.messages().await;
    let mut ids: Vec<&str> = messages
        .iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((messages.len(), ids.len()), (240, 240), "each sent once");
    let dead = db::outbox::counts(&h.state.db).await.unwrap().dead;
    assert_eq!(dead, 0);
}

/// Administration > System > Deployment: the nodes with their role and
/// status; Edit Node changes what a node serves (applied at its next
/// heartbeat); the deployment keeps a node with each persona; a node that
/// stops beating shows Disconnected with its alarm, and Deregister removes
/// it (a connected node is refused) and clears the alarm.
#[tokio::test]
async fn the_deployment_page_edits_personas_and_deregisters_a_lost_node() {
    use mailroom::domain::alarm::AlarmCode;
    use mailroom::domain::deployment::{DeploymentView, Persona};
    use mailroom::server::deployment::{check_nodes, join, read_personas, runs_jobs};
    use tower::ServiceExt;
    let h = harness().await;
    let (_, pan) = node_named(&h, "ise-pan-01").await;
    let (psn_router, psn) = node_named(&h, "ise-psn-02").await;
    // (On SQLite a joining node takes back every earlier lease: both join
    // before either takes the jobs.)
    join(&pan).await.unwrap();
    join(&psn).await.unwrap();
    assert!(
        runs_jobs(&pan).await,
        "the first node asking takes the jobs"
    );
    assert!(!runs_jobs(&psn).await);
    let root = sign_in(&h.app, "root").await;
    let deployment = |cookie: String| {
        let app = h.app.clone();
        async move {
            let reply = post(&app, "/api/get_deployment", "", Some(&cookie)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<DeploymentView>(&reply.body).unwrap()
        }
    };
    let view = deployment(root.clone()).await;
    let roles: Vec<(&str, bool, bool)> = view
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.primary, n.connected))
        .collect();
    assert_eq!(
        roles,
        [("ise-pan-01", true, true), ("ise-psn-02", false, true)]
    );

    // The PSN loses Administration: it stops serving the console.
    let saved = post(
        &h.app,
        "/api/save_node_personas",
        "form%5Bnode%5D=ise-psn-02&form%5Bpolicy_service%5D=true",
        Some(&root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    read_personas(&psn).await.unwrap();
    assert!(!psn.has_persona(Persona::Administration) && psn.has_persona(Persona::PolicyService));
    let page = psn_router
        .clone()
        .oneshot(
            http::Request::get("/administration/system/deployment/deployment")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    let refused = post(&psn_router, "/api/list_admins", "", Some(&root)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("Administration persona"),
        "{}",
        refused.body
    );
    // The portals are still served there.
    let portal = psn_router
        .clone()
        .oneshot(
            http::Request::get("/sponsor/login")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(portal.status(), StatusCode::OK);

    // The last node with Administration keeps it; none without a persona.
    let last = post(
        &h.app,
        "/api/save_node_personas",
        "form%5Bnode%5D=ise-pan-01&form%5Bpolicy_service%5D=true",
        Some(&root),
    )
    .await;
    assert_eq!(last.status, StatusCode::BAD_REQUEST);
    assert!(
        last.body
            .contains("No other connected node has the Administration persona"),
        "{}",
        last.body
    );
    let none = post(
        &h.app,
        "/api/save_node_personas",
        "form%5Bnode%5D=ise-pan-01",
        Some(&root),
    )
    .await;
    assert!(none.body.contains("at least one persona"), "{}", none.body);
    // A connected node is not deregistered.
    let connected = post(
        &h.app,
        "/api/deregister_node",
        "node=ise-psn-02",
        Some(&root),
    )
    .await;
    assert_eq!(connected.status, StatusCode::BAD_REQUEST);
    assert!(
        connected.body.contains("is connected"),
        "{}",
        connected.body
    );

    // The PSN stops beating: Disconnected, and its alarm on the PRIMARY's check.
    let long_ago = h.state.now_ms() - 60_000;
    db::deployment::heartbeat(&h.state.db, "ise-psn-02", &psn.config.instance, long_ago)
        .await
        .unwrap();
    check_nodes(&pan).await.unwrap();
    check_nodes(&pan).await.unwrap();
    let view = deployment(root.clone()).await;
    assert!(!view.nodes[1].connected);
    let open = db::alarms::open_one(&h.state.db, AlarmCode::NodeDisconnected, "node:ise-psn-02")
        .await
        .unwrap()
        .expect("the node's alarm");
    assert_eq!(open.occurrences, 1, "raised once, not at every check");
    assert!(open.details.contains("ise-psn-02"), "{}", open.details);

    let gone = post(
        &h.app,
        "/api/deregister_node",
        "node=ise-psn-02",
        Some(&root),
    )
    .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.body);
    check_nodes(&pan).await.unwrap();
    assert!(
        db::alarms::open_one(&h.state.db, AlarmCode::NodeDisconnected, "node:ise-psn-02")
            .await
            .unwrap()
            .is_none(),
        "cleared once deregistered"
    );
    let names: Vec<String> = deployment(root)
        .await
        .nodes
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(names, ["ise-pan-01"]);
}

/// A database URL asking for TLS (`sslmode=require`, or `verify-full` with
/// the system's CAs or `sslrootcert`) gets an encrypted connection.
#[tokio::test]
async fn a_node_reaches_postgresql_over_tls_when_the_url_asks() {
    if !common::database::on_postgres() {
        eprintln!("TLS to PostgreSQL needs PostgreSQL (run with MAILROOM_TEST_POSTGRES)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let url = common::database::env_url(dir.path()).await.unwrap();
    let plain = db::open(&db::Location::Url(url.clone())).await.unwrap();
    let offered: String = sqlx::query_scalar("SELECT current_setting('ssl')")
        .fetch_one(&plain)
        .await
        .unwrap();
    if offered != "on" {
        eprintln!("this PostgreSQL server has ssl = {offered}: nothing to connect to over TLS");
        return;
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    let encrypted = db::open(&db::Location::Url(format!(
        "{url}{separator}sslmode=require"
    )))
    .await
    .unwrap();
    let over_tls: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&encrypted)
            .await
            .unwrap();
    assert!(over_tls);
}

/// Failed sign-ins count for the whole deployment: guesses spread over two
/// nodes behind a load balancer are throttled as if they hit one.
#[tokio::test]
async fn failed_sign_ins_on_one_node_throttle_the_others() {
    let h = harness().await;
    let (node_b, _) = another_node(&h).await;
    for attempt in 0..5 {
        let node = if attempt % 2 == 0 { &h.app } else { &node_b };
        let reply = post(
            node,
            "/api/login",
            "username=viewer&password=Wrong-Passw0rd",
            None,
        )
        .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = post(
        &node_b,
        "/api/login",
        &format!("username=viewer&password={}", common::app::PASSWORD),
        None,
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        reply.body
    );
    // Cleared in the one place (as a success clears it), it is cleared for every node.
    use mailroom::server::throttle::{user_client_key, user_key};
    // (The in-process router has no socket address: the client is "".)
    db::sign_in_failures::clear(&h.state.db, &user_client_key(&user_key("viewer"), ""))
        .await
        .unwrap();
    sign_in(&h.app, "viewer").await;
}

/// A certificate an admin gives node B the Admin usage of, on node A's
/// page, is what B's next TLS handshake presents: B reads it again within
/// its settings watch, without a restart.
#[tokio::test]
async fn a_certificate_assigned_on_one_node_is_served_by_the_node_it_is_for() {
    use mailroom::domain::system_certificate::{CertificateRequestForm, SubjectFields};
    use mailroom::server::https;
    use mailroom::server::service::{Caller, system_certificates};
    use sha2::{Digest, Sha256};
    let h = harness().await;
    let (_, node_b) = node_named(&h, "ise-psn-02").await;
    mailroom::server::deployment::join(&node_b).await.unwrap();
    https::ensure_node_certificate(&node_b).await.unwrap();
    node_b
        .tls
        .set(https::served_certificates(&node_b).await.unwrap());
    mailroom::server::deployment::spawn_settings_watcher(node_b.clone()).await;
    let served = || {
        let key = node_b.tls.for_name(Some("ise-psn-02")).unwrap();
        hex::encode(Sha256::digest(&key.cert[0]))
    };
    let first = served();

    let generated = system_certificates::generate_self_signed(
        &h.state,
        &Caller::command_line(),
        CertificateRequestForm {
            node: "ise-psn-02".into(),
            friendly_name: "PSN 2 admin".into(),
            subject: SubjectFields {
                common_name: "ise-psn-02".into(),
                ..Default::default()
            },
            sans: "ise-psn-02".into(),
            used_by_admin: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.node, "ise-psn-02");
    assert_ne!(generated.sha256, first);
    let deadline = Instant::now() + Duration::from_secs(15);
    while served() != generated.sha256 {
        assert!(
            Instant::now() < deadline,
            "node B still serves its first certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The usage moved: B's first certificate no longer has it.
    let rows = db::system_certificates::list(&h.state.db).await.unwrap();
    let admin: Vec<_> = rows
        .iter()
        .filter(|row| row.node == "ise-psn-02" && row.used_by_admin)
        .map(|row| row.friendly_name.as_str())
        .collect();
    assert_eq!(admin, vec!["PSN 2 admin"]);
}
