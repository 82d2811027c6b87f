//! Self-registered guests approved by email, against the test SMTP server:
//! the approval request reaches the person being visited (a sponsor) with
//! working links; opening a link changes nothing; the click approves (the
//! guest's credentials arrive) or denies (the denial notice arrives);
//! reused, expired, tampered and already-handled links are refused with
//! nothing changed.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, add_sponsor, all_accounts_group, post, send, sponsor_sign_in};
use common::forms::{encode, guest_mail_console, portal_body};
use common::mail::plain_text as text_of;
use http::{Request, StatusCode};
use mailroom::api::portals::{ApprovalDone, ApprovalLink, PortalPage, Registered};
use mailroom::domain::guest::GuestState;
use mailroom::domain::sponsor::{ActionReport, ApproveScope, PendingAccount};
use mailroom::server::db;
use mailroom::server::guests::run_expiry_job;
use serde_json::Value;
use std::time::Duration;

const SPONSOR: &str = "host@contoso.com";

struct Rig {
    h: Harness,
    peers: Peers,
    root: String,
}

async fn rig(changes: &[(&str, &str)]) -> Rig {
    let peers = Peers::start();
    let (h, root) = guest_mail_console(&peers, 2).await;
    let all = all_accounts_group(&h.app, &root).await;
    add_sponsor(&h.app, &root, "host", all).await;
    let reply = post(&h.app, "/api/get_guest_portal", "id=1", Some(&root)).await;
    let portal: PortalPage = serde_json::from_str(&reply.body).unwrap();
    let guest_type: i64 = portal.form.guest_type_id.parse().unwrap();
    let mut all_changes = vec![("require_approval", "true")];
    all_changes.extend_from_slice(changes);
    let saved = post(
        &h.app,
        "/api/save_guest_portal",
        &format!("id=1&{}", portal_body(guest_type, &all_changes)),
        Some(&root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    Rig { h, peers, root }
}

impl Rig {
    async fn register(&self, first_name: &str, email: &str, visiting: &str) -> common::app::Reply {
        let body = format!(
            "portal=1&form%5Bfirst_name%5D={first_name}&form%5Blast_name%5D=Guest&form%5Bemail%5D={}\
             &form%5Bcompany%5D=Acme&form%5Bperson_visited%5D={}&form%5Baccept_aup%5D=true",
            encode(email),
            encode(visiting)
        );
        post(&self.h.app, "/api/register_guest", &body, None).await
    }

    /// The messages delivered to `address`, waiting for at least `count`.
    async fn received_by(&self, address: &str, count: usize) -> Vec<Value> {
        self.received_within(address, count, Duration::from_secs(20))
            .await
    }

    /// The same, waiting at most `limit`: for mail that must not come.
    async fn received_within(&self, address: &str, count: usize, limit: Duration) -> Vec<Value> {
        self.peers.received_within(address, count, limit).await
    }

    async fn state_of(&self, username: &str) -> GuestState {
        let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = $1")
            .bind(username)
            .fetch_one(&self.h.state.db)
            .await
            .unwrap();
        db::guests::get(&self.h.state.db, id)
            .await
            .unwrap()
            .unwrap()
            .state
    }

    async fn settle(&self, token: &str, reason: &str) -> common::app::Reply {
        post(
            &self.h.app,
            "/api/settle_guest_approval",
            &format!("token={}&reason={}", encode(token), encode(reason)),
            None,
        )
        .await
    }
}

/// The approve and deny tokens of an approval request.
fn tokens(text: &str) -> (String, String) {
    let token_after = |label: &str| {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line: {text}"));
        let (_, token) = line
            .rsplit_once("/sponsor/approval/")
            .unwrap_or_else(|| panic!("{line}"));
        token.trim().to_string()
    };
    (token_after("Approve:"), token_after("Deny:"))
}

#[tokio::test]
async fn a_guest_waits_for_the_visited_sponsor_who_approves_by_link_then_the_credentials_arrive() {
    let rig = rig(&[]).await;

    // The person being visited must be a sponsor: else refused by its
    // field, and no account is made.
    let refused = rig
        .register("Ann", "ann@example.com", "nobody@contoso.com")
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("person_visited"), "{}", refused.body);
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM guest_accounts")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    assert_eq!(accounts, 0);

    let reply = rig.register("Ann", "ann@example.com", SPONSOR).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let registered: Registered = serde_json::from_str(&reply.body).unwrap();
    assert!(registered.pending_approval);
    assert_eq!(registered.password, None, "no credentials before approval");
    assert_eq!(rig.state_of("ann").await, GuestState::PendingApproval);

    // Exactly one approval request, to the sponsor; nothing to the guest.
    let requests = rig.received_by(SPONSOR, 1).await;
    assert_eq!(requests.len(), 1, "{requests:?}");
    let text = text_of(&requests[0]);
    assert!(text.contains("Ann Guest (ann@example.com, Acme)"), "{text}");
    let (approve, deny) = tokens(&text);
    assert_ne!(approve, deny);
    assert!(
        rig.received_within("ann@example.com", 1, Duration::from_secs(2))
            .await
            .is_empty(),
        "the guest has nothing yet"
    );

    // Opening the link (as a mail scanner would) shows the guest and
    // changes nothing.
    let page = send(
        &rig.h.app,
        Request::get(format!("/sponsor/approval/{approve}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Approve guest access"), "{}", page.body);
    assert!(page.body.contains("ann@example.com"), "{}", page.body);
    assert_eq!(rig.state_of("ann").await, GuestState::PendingApproval);

    // A tampered token is refused and changes nothing.
    let mut tampered = approve.clone();
    tampered.replace_range(0..1, if tampered.starts_with('A') { "B" } else { "A" });
    let refused = rig.settle(&tampered, "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("not valid"), "{}", refused.body);
    assert_eq!(rig.state_of("ann").await, GuestState::PendingApproval);

    // The click approves: the account starts now and the credentials go.
    let before = rig.h.state.now();
    let done = rig.settle(&approve, "").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let done: ApprovalDone = serde_json::from_str(&done.body).unwrap();
    assert!(done.approved && done.emailed, "{done:?}");
    assert_eq!(rig.state_of("ann").await, GuestState::Created);
    let credentials = rig.received_by("ann@example.com", 1).await;
    assert_eq!(credentials.len(), 1);
    let text = text_of(&credentials[0]);
    assert!(text.contains("Username: ann"), "{text}");
    assert!(text.contains("Password: "), "{text}");
    let row: (i64, i64) =
        sqlx::query_as("SELECT valid_from, valid_until FROM guest_accounts WHERE username = 'ann'")
            .fetch_one(&rig.h.state.db)
            .await
            .unwrap();
    assert!(row.0 >= before, "the access starts at approval");
    assert_eq!(row.1 - row.0, 86_400);

    // Both links are spent: again, or the other one, changes nothing.
    for token in [&approve, &deny] {
        let again = rig.settle(token, "").await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
        assert!(again.body.contains("already"), "{}", again.body);
    }
    assert_eq!(rig.state_of("ann").await, GuestState::Created);
    assert_eq!(
        rig.received_within("ann@example.com", 2, Duration::from_secs(2))
            .await
            .len(),
        1,
        "no second email"
    );

    // The audit says who approved and how.
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "Approve" && a.admin == format!("{SPONSOR} (approval link)")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn a_denied_guest_gets_the_notice_and_an_expired_link_does_nothing() {
    let rig = rig(&[
        ("approver", "listed"),
        ("approver_emails", "desk@contoso.com\nsecurity@contoso.com"),
    ])
    .await;
    let reply = rig.register("Bob", "bob@example.com", "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Each listed sponsor address gets the request, with the same links.
    let desk = rig.received_by("desk@contoso.com", 1).await;
    let security = rig.received_by("security@contoso.com", 1).await;
    assert_eq!((desk.len(), security.len()), (1, 1));
    let (_, deny) = tokens(&text_of(&desk[0]));
    assert_eq!(tokens(&text_of(&security[0])).1, deny);

    let done = rig.settle(&deny, "Not expected today").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(rig.state_of("bob").await, GuestState::Denied);
    let notice = rig.received_by("bob@example.com", 1).await;
    assert_eq!(notice.len(), 1);
    assert_eq!(
        notice[0]["subject"],
        "Your guest access request was not approved"
    );
    assert!(!text_of(&notice[0]).contains("Password"));
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "Deny" && a.changed_fields.contains("Not expected today")),
        "{audit:?}"
    );

    // A link whose time is up (moved back here, as time passing would)
    // is refused and the guest stays pending.
    let reply = rig.register("Cy", "cy@example.com", "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let mail = rig.received_by("desk@contoso.com", 2).await;
    let newest = mail
        .iter()
        .find(|m| text_of(m).contains("cy@example.com"))
        .unwrap();
    let (approve, _) = tokens(&text_of(newest));
    sqlx::query("UPDATE guest_approval_links SET expires_at = $1")
        .bind(rig.h.state.now() - 1)
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    let expired = rig.settle(&approve, "").await;
    assert_eq!(expired.status, StatusCode::BAD_REQUEST);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    assert_eq!(rig.state_of("cy").await, GuestState::PendingApproval);

    // An admin approves Cy through the service the ERS API and the
    // sponsor portal use: the credentials go all the same, and Cy's links
    // die with the decision.
    let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = 'cy'")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    let row = db::ers::guest_by_id(&rig.h.state.db, id)
        .await
        .unwrap()
        .unwrap();
    mailroom::server::service::guest_accounts::decide(
        &rig.h.state,
        &mailroom::server::service::Caller::command_line(),
        None,
        &row,
        true,
    )
    .await
    .unwrap();
    assert_eq!(rig.state_of("cy").await, GuestState::Created);
    let credentials = rig.received_by("cy@example.com", 1).await;
    assert_eq!(credentials.len(), 1);
    assert!(text_of(&credentials[0]).contains("Username: cy"));
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM guest_approval_links WHERE guest_id = $1 AND used_at IS NULL",
    )
    .bind(id)
    .fetch_one(&rig.h.state.db)
    .await
    .unwrap();
    assert_eq!(open, 0);
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "Approve" && a.target == "Guest cy"),
        "{audit:?}"
    );
}

/// The id of the sponsor group named `name`.
async fn group_id(rig: &Rig, root: &str, name: &str) -> i64 {
    let reply = post(&rig.h.app, "/api/get_sponsor_groups", "", Some(root)).await;
    let groups: mailroom::api::sponsor_groups::SponsorGroupsPage =
        serde_json::from_str(&reply.body).unwrap();
    groups.groups.iter().find(|g| g.name == name).unwrap().id
}

async fn pending_for(rig: &Rig, cookie: &str) -> Vec<String> {
    let reply = post(
        &rig.h.app,
        "/api/sponsor_pending_accounts",
        "",
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let rows: Vec<PendingAccount> = serde_json::from_str(&reply.body).unwrap();
    rows.into_iter().map(|r| r.username).collect()
}

async fn decide(
    rig: &Rig,
    cookie: &str,
    username: &str,
    approve: bool,
    reason: &str,
) -> ActionReport {
    let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = $1")
        .bind(username)
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    let reply = post(
        &rig.h.app,
        "/api/sponsor_decide_pending",
        &format!(
            "ids%5B0%5D={id}&approve={approve}&reason={}",
            encode(reason)
        ),
        Some(cookie),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

/// Sponsor portal > Pending Accounts, under the group permission's two
/// options: "any pending accounts" sees and decides every request, "only
/// those assigned to this sponsor" only the ones naming it; a group
/// without the permission sees none.
#[tokio::test]
async fn pending_accounts_are_decided_on_the_sponsor_portal_under_both_permission_options() {
    let rig = rig(&[]).await;
    let root = rig.root.clone();
    let own_group = group_id(&rig, &root, "OWN_ACCOUNTS (default)").await;
    add_sponsor(&rig.h.app, &root, "desk", own_group).await;
    add_sponsor(&rig.h.app, &root, "lab", own_group).await;
    for (name, visiting) in [("Dee", "desk@contoso.com"), ("Eve", SPONSOR)] {
        let reply = rig
            .register(
                name,
                &format!("{}@example.com", name.to_lowercase()),
                visiting,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let host = sponsor_sign_in(&rig.h.app, "host").await;
    let desk = sponsor_sign_in(&rig.h.app, "desk").await;
    let lab = sponsor_sign_in(&rig.h.app, "lab").await;
    assert_eq!(
        pending_for(&rig, &host).await,
        ["dee", "eve"],
        "any pending account"
    );
    assert_eq!(
        pending_for(&rig, &desk).await,
        ["dee"],
        "only the one visiting desk"
    );
    assert!(pending_for(&rig, &lab).await.is_empty());

    // Lab may not decide Dee: refused, and nothing changes.
    let refused = decide(&rig, &lab, "dee", true, "").await;
    assert!(refused.done.is_empty());
    assert!(refused.refused[0].1.contains("Not found"), "{refused:?}");
    assert_eq!(rig.state_of("dee").await, GuestState::PendingApproval);
    // A reason with a line break is refused by its field.
    let id: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = 'dee'")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    let bad = post(
        &rig.h.app,
        "/api/sponsor_decide_pending",
        &format!("ids%5B0%5D={id}&approve=false&reason=a%0Ab"),
        Some(&desk),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert_eq!(rig.state_of("dee").await, GuestState::PendingApproval);

    // Desk denies Dee with a reason: the notice goes, the audit says who,
    // how and why, and Dee's links are spent.
    let denied = decide(&rig, &desk, "dee", false, "Visit cancelled").await;
    assert_eq!(denied.done, ["dee"], "{denied:?}");
    assert_eq!(rig.state_of("dee").await, GuestState::Denied);
    let notice = rig.received_by("dee@example.com", 1).await;
    assert_eq!(
        notice[0]["subject"],
        "Your guest access request was not approved"
    );
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "Deny"
            && a.admin == "desk (sponsor portal)"
            && a.target == "Guest dee"
            && a.changed_fields.contains("Visit cancelled")),
        "{audit:?}"
    );
    let desk_mail = rig.received_by("desk@contoso.com", 1).await;
    let (approve_dee, _) = tokens(&text_of(&desk_mail[0]));
    let late = rig.settle(&approve_dee, "").await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
    assert!(late.body.contains("already handled"), "{}", late.body);
    assert_eq!(rig.state_of("dee").await, GuestState::Denied);

    // Host approves Eve: the credentials arrive; deciding again is refused.
    let approved = decide(&rig, &host, "eve", true, "").await;
    assert_eq!(approved.done, ["eve"], "{approved:?}");
    assert_eq!(approved.mail_ids.len(), 1);
    assert_eq!(rig.state_of("eve").await, GuestState::Created);
    let credentials = rig.received_by("eve@example.com", 1).await;
    assert!(text_of(&credentials[0]).contains("Username: eve"));
    let again = decide(&rig, &host, "eve", false, "").await;
    assert!(again.refused[0].1.contains("Already handled"), "{again:?}");
    assert_eq!(rig.state_of("eve").await, GuestState::Created);
    assert!(pending_for(&rig, &host).await.is_empty());

    // Without the permission the tab's data is refused.
    let reply = post(&rig.h.app, "/api/get_sponsor_groups", "", Some(&root)).await;
    let groups: mailroom::api::sponsor_groups::SponsorGroupsPage =
        serde_json::from_str(&reply.body).unwrap();
    let own = groups.groups.iter().find(|g| g.id == own_group).unwrap();
    assert!(own.permissions.can_approve, "ISE's default groups approve");
    assert_eq!(own.permissions.approve_scope, ApproveScope::Assigned);
    let body = format!(
        "id={own_group}&permissions%5Bcan_create%5D=true&permissions%5Bscope%5D=Own&permissions%5Bcan_approve%5D=false"
    );
    let saved = post(&rig.h.app, "/api/save_sponsor_group", &body, Some(&root)).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let forbidden = post(&rig.h.app, "/api/sponsor_pending_accounts", "", Some(&desk)).await;
    assert_eq!(
        forbidden.status,
        StatusCode::FORBIDDEN,
        "{}",
        forbidden.body
    );
}

/// "Require sponsor to provide credentials for authentication": the link
/// shows nothing and does nothing until a sponsor allowed to decide signs
/// in, and the decision is that sponsor's.
#[tokio::test]
async fn a_link_that_requires_credentials_waits_for_a_permitted_sponsor() {
    let rig = rig(&[("approval_sign_in", "true")]).await;
    let root = rig.root.clone();
    let own_group = group_id(&rig, &root, "OWN_ACCOUNTS (default)").await;
    add_sponsor(&rig.h.app, &root, "lab", own_group).await;
    let reply = rig.register("Fay", "fay@example.com", SPONSOR).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (approve, _) = tokens(&text_of(&rig.received_by(SPONSOR, 1).await[0]));

    let open = |cookie: Option<String>| {
        let app = rig.h.app.clone();
        let approve = approve.clone();
        async move {
            let reply = post(
                &app,
                "/api/get_guest_approval",
                &format!("token={}", encode(&approve)),
                cookie.as_deref(),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<ApprovalLink>(&reply.body).unwrap()
        }
    };
    let anonymous = open(None).await;
    assert!(
        anonymous.sign_in && anonymous.guest.is_none(),
        "{anonymous:?}"
    );
    let refused = rig.settle(&approve, "").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Sign in"), "{}", refused.body);
    assert_eq!(rig.state_of("fay").await, GuestState::PendingApproval);

    // Signing in from the link returns to it, and only to a portal page.
    let path = format!("/sponsor/approval/{approve}");
    let login = post(
        &rig.h.app,
        "/api/sponsor_login",
        &format!(
            "username=host&password={}&next={}",
            common::app::PASSWORD,
            encode(&path)
        ),
        None,
    )
    .await;
    assert_eq!(login.headers.get("location").unwrap(), path.as_str());
    let elsewhere = post(
        &rig.h.app,
        "/api/sponsor_login",
        &format!(
            "username=host&password={}&next=https%3A%2F%2Fevil.example%2F",
            common::app::PASSWORD
        ),
        None,
    )
    .await;
    assert_eq!(elsewhere.headers.get("location").unwrap(), "/sponsor");

    // Lab (only requests assigned to it) may not use the link.
    let lab = sponsor_sign_in(&rig.h.app, "lab").await;
    let shown = open(Some(lab.clone())).await;
    assert!(shown.closed.unwrap().contains("does not allow"));
    assert!(shown.guest.is_none());
    let refused = post(
        &rig.h.app,
        "/api/settle_guest_approval",
        &format!("token={}&reason=", encode(&approve)),
        Some(&lab),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(rig.state_of("fay").await, GuestState::PendingApproval);

    // The person visited, signed in, approves under its own name.
    let host = sponsor_sign_in(&rig.h.app, "host").await;
    let shown = open(Some(host.clone())).await;
    assert!(shown.closed.is_none() && shown.guest.is_some(), "{shown:?}");
    let done = post(
        &rig.h.app,
        "/api/settle_guest_approval",
        &format!("token={}&reason=", encode(&approve)),
        Some(&host),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(rig.state_of("fay").await, GuestState::Created);
    assert_eq!(rig.received_by("fay@example.com", 1).await.len(), 1);
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "Approve" && a.admin == "host (approval link)"),
        "{audit:?}"
    );
}

/// A request nobody handles within the portal's limit ends Denied, with
/// the denial notice; one decided in time is untouched.
#[tokio::test]
async fn a_request_nobody_handles_in_time_ends_denied() {
    let rig = rig(&[("approval_deny_after_hours", "2")]).await;
    for name in ["Gus", "Hal"] {
        let reply = rig
            .register(
                name,
                &format!("{}@example.com", name.to_lowercase()),
                SPONSOR,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let host = sponsor_sign_in(&rig.h.app, "host").await;
    decide(&rig, &host, "hal", true, "").await;

    // Before the limit, the job leaves Gus waiting.
    let run = run_expiry_job(&rig.h.state).await.unwrap();
    assert_eq!(run.denied, 0);
    assert_eq!(rig.state_of("gus").await, GuestState::PendingApproval);

    // The deadline is two hours after the registration; time passing is
    // played by moving it back.
    let (created, deadline): (i64, i64) = sqlx::query_as(
        "SELECT created_at, approval_deadline FROM guest_accounts WHERE username = 'gus'",
    )
    .fetch_one(&rig.h.state.db)
    .await
    .unwrap();
    assert_eq!(deadline - created, 2 * 3600);
    sqlx::query("UPDATE guest_accounts SET approval_deadline = $1 WHERE username = 'gus'")
        .bind(rig.h.state.now())
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    let run = run_expiry_job(&rig.h.state).await.unwrap();
    assert_eq!(run.denied, 1);
    assert_eq!(rig.state_of("gus").await, GuestState::Denied);
    assert_eq!(rig.state_of("hal").await, GuestState::Created);
    let notice = rig.received_by("gus@example.com", 1).await;
    assert_eq!(
        notice[0]["subject"],
        "Your guest access request was not approved"
    );
    let again = run_expiry_job(&rig.h.state).await.unwrap();
    assert_eq!(again.denied, 0, "denied once");
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit.iter().any(|a| a.action == "Deny"
            && a.target == "Guest gus"
            && a.admin.starts_with("system")),
        "{audit:?}"
    );
}
