//! The sponsor portal over HTTP with the real router: sponsor users made by
//! an admin sign in with their own session, import 50 guests whose
//! credentials reach the peers' smtp-server, resend to three, and meet
//! ISE's rules (Resend only for Created or Active, Reset after a password
//! change) and their group's permissions and scope, enforced on the server.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, add_sponsor, post, sign_in, sponsor_sign_in};
use common::forms::{encode, guest_mail_console};
use http::StatusCode;
use mailroom::api::sponsor::{CreatedBatch, DeliveryProgress, SponsoredPage};
use mailroom::api::sponsor_groups::SponsorGroupsPage;
use mailroom::domain::sponsor::ActionReport;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::{Duration, Instant};

struct Rig {
    h: Harness,
    root: String,
    peers: Peers,
}

async fn rig() -> Rig {
    let peers = Peers::start();
    let (h, root) = guest_mail_console(&peers, 3).await;
    Rig { h, root, peers }
}

fn json<T: DeserializeOwned>(reply: &common::app::Reply) -> T {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

impl Rig {
    async fn groups(&self) -> SponsorGroupsPage {
        json(&post(&self.h.app, "/api/get_sponsor_groups", "", Some(&self.root)).await)
    }

    async fn add_sponsor(&self, username: &str, group: &str) {
        let groups = self.groups().await;
        let group_id = groups.groups.iter().find(|g| g.name == group).unwrap().id;
        add_sponsor(&self.h.app, &self.root, username, group_id).await;
    }

    async fn sponsor_sign_in(&self, username: &str) -> String {
        sponsor_sign_in(&self.h.app, username).await
    }

    async fn guests(&self, sponsor: &str, search: &str) -> SponsoredPage {
        json(
            &post(
                &self.h.app,
                "/api/sponsor_guests",
                &format!("search={}&state=&page=1", encode(search)),
                Some(sponsor),
            )
            .await,
        )
    }

    async fn act(&self, sponsor: &str, ids: &[i64], action: &str) -> common::app::Reply {
        let ids: String = ids
            .iter()
            .enumerate()
            .map(|(n, id)| format!("ids%5B{n}%5D={id}&"))
            .collect();
        post(
            &self.h.app,
            "/api/sponsor_guest_action",
            &format!("{ids}action={action}"),
            Some(sponsor),
        )
        .await
    }

    async fn messages_to(&self, address: &str) -> Vec<Value> {
        let messages: Vec<Value> = self.peers.messages().await;
        messages
            .into_iter()
            .filter(|m| m["to"][0] == address)
            .collect()
    }

    async fn wait_for_messages(&self, address: &str, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let mine = self.messages_to(address).await;
            if mine.len() >= count || started.elapsed() > Duration::from_secs(30) {
                assert_eq!(mine.len(), count, "messages to {address}");
                return mine;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_sponsor_imports_fifty_guests_and_resends_to_three_under_ises_rules() {
    let rig = rig().await;
    rig.add_sponsor("sponsor1", "ALL_ACCOUNTS (default)").await;
    let sponsor = rig.sponsor_sign_in("sponsor1").await;

    // The admin console's session is not a sponsor's, and the other way round.
    let as_admin = post(
        &rig.h.app,
        "/api/sponsor_guests",
        "search=&state=&page=1",
        Some(&rig.root),
    )
    .await;
    assert_eq!(as_admin.status, StatusCode::UNAUTHORIZED);
    let as_sponsor = post(&rig.h.app, "/api/list_guest_types", "", Some(&sponsor)).await;
    assert_eq!(as_sponsor.status, StatusCode::UNAUTHORIZED);

    let info: Option<Value> =
        json(&post(&rig.h.app, "/api/current_sponsor", "", Some(&sponsor)).await);
    let info = info.unwrap();
    let weekly = info["guest_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Weekly (default)")
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let mut csv = String::from("First Name,Last Name,Email Address,Company\n");
    for n in 0..50 {
        csv.push_str(&format!("Guest,Number{n},bulk{n}@example.com,Acme\n"));
    }
    let import = |csv: String, days: &str| {
        let app = rig.h.app.clone();
        let sponsor = sponsor.clone();
        let body = format!(
            "form%5Bcsv%5D={}&form%5Bguest_type_id%5D={weekly}&form%5Bduration_days%5D={days}",
            encode(&csv)
        );
        async move { post(&app, "/api/sponsor_import_guests", &body, Some(&sponsor)).await }
    };
    // Longer than Weekly's 14 days is refused next to the field.
    let too_long = import(csv.clone(), "15").await;
    assert_eq!(too_long.status, StatusCode::BAD_REQUEST);
    assert!(too_long.body.contains("duration_days"), "{}", too_long.body);
    let batch: CreatedBatch = json(&import(csv, "7").await);
    assert_eq!(batch.guests.len(), 50);
    assert_eq!(batch.mail_ids.len(), 50);
    assert!(
        batch.guests.iter().all(|g| g.password.is_none()),
        "passwords go by email only"
    );

    let started = Instant::now();
    loop {
        let progress: DeliveryProgress = json(
            &post(
                &rig.h.app,
                "/api/sponsor_delivery",
                &batch
                    .mail_ids
                    .iter()
                    .enumerate()
                    .map(|(n, id)| format!("mail_ids%5B{n}%5D={id}"))
                    .collect::<Vec<_>>()
                    .join("&"),
                Some(&sponsor),
            )
            .await,
        );
        if progress.sent == 50 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "{progress:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = rig.wait_for_messages("bulk0@example.com", 1).await;
    assert!(
        first[0]["raw"]
            .as_str()
            .unwrap()
            .contains("Username: bulk0")
    );

    // Manage Accounts: the table shows the delivery state.
    let page = rig.guests(&sponsor, "bulk1").await;
    assert_eq!(page.total, 11, "bulk1 and bulk10..bulk19");
    assert!(
        page.rows
            .iter()
            .all(|r| r.delivery.as_deref() == Some("Sent")),
        "{:?}",
        page.rows
    );

    // Resend to three of them.
    let ids: Vec<i64> = batch.guests[..3].iter().map(|g| g.id).collect();
    let report: ActionReport = json(&rig.act(&sponsor, &ids, "Resend").await);
    assert_eq!(report.done.len(), 3, "{report:?}");
    for n in 0..3 {
        let mails = rig
            .wait_for_messages(&format!("bulk{n}@example.com"), 2)
            .await;
        assert_eq!(
            password_in(mails[0]["raw"].as_str().unwrap()),
            password_in(mails[1]["raw"].as_str().unwrap()),
            "Resend sends the same credentials"
        );
    }
    assert_eq!(
        rig.messages_to("bulk3@example.com").await.len(),
        1,
        "not resent"
    );

    // A Suspended account: Resend is refused with ISE's rule.
    let suspended = batch.guests[3].id;
    let report: ActionReport = json(&rig.act(&sponsor, &[suspended], "Suspend").await);
    assert_eq!(report.done, ["bulk3"]);
    let report: ActionReport = json(&rig.act(&sponsor, &[suspended], "Resend").await);
    assert!(report.done.is_empty());
    assert!(
        report.refused[0]
            .1
            .contains("only for Created or Active accounts; this account is Suspended"),
        "{report:?}"
    );
    let report: ActionReport = json(&rig.act(&sponsor, &[suspended], "Reinstate").await);
    assert_eq!(report.done, ["bulk3"]);

    // A guest who changed the password needs Reset Password instead.
    let changed = batch.guests[4].id;
    sqlx::query("UPDATE guest_accounts SET password_changed = TRUE WHERE id = $1")
        .bind(changed)
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    let report: ActionReport = json(&rig.act(&sponsor, &[changed], "Resend").await);
    assert!(
        report.refused[0].1.contains("use Reset Password"),
        "{report:?}"
    );
    let report: ActionReport = json(&rig.act(&sponsor, &[changed], "ResetPassword").await);
    assert_eq!(report.done, ["bulk4"]);
    let mails = rig.wait_for_messages("bulk4@example.com", 2).await;
    assert_ne!(
        password_in(mails[0]["raw"].as_str().unwrap()),
        password_in(mails[1]["raw"].as_str().unwrap()),
        "a new password"
    );

    // Extend within Weekly's 14 days, not beyond.
    let report: ActionReport = json(&rig.act(&sponsor, &[batch.guests[5].id], "Extend").await);
    assert_eq!(report.done, ["bulk5"], "7 + 7 days");
    let report: ActionReport = json(&rig.act(&sponsor, &[batch.guests[5].id], "Extend").await);
    assert!(
        report.refused[0].1.contains("maximum of 14 days"),
        "{report:?}"
    );

    // Delete drops the account and its sealed password.
    let report: ActionReport = json(&rig.act(&sponsor, &[batch.guests[6].id], "Delete").await);
    assert_eq!(report.done, ["bulk6"]);
    assert_eq!(rig.guests(&sponsor, "").await.total, 49);
}

#[tokio::test]
async fn permissions_and_scope_are_enforced_on_the_server() {
    let rig = rig().await;
    rig.add_sponsor("sponsor1", "ALL_ACCOUNTS (default)").await;
    rig.add_sponsor("limited", "OWN_ACCOUNTS (default)").await;
    // OWN_ACCOUNTS may not resend.
    let own = rig
        .groups()
        .await
        .groups
        .into_iter()
        .find(|g| g.name == "OWN_ACCOUNTS (default)")
        .unwrap();
    let body = format!(
        "id={}&permissions%5Bcan_create%5D=true&permissions%5Bscope%5D=Own&permissions%5Bcan_suspend%5D=true",
        own.id
    );
    let reply = post(
        &rig.h.app,
        "/api/save_sponsor_group",
        &body,
        Some(&rig.root),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let viewer = sign_in(&rig.h.app, "viewer").await;
    let refused = post(&rig.h.app, "/api/save_sponsor_group", &body, Some(&viewer)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a Read-Only admin");

    let sponsor = rig.sponsor_sign_in("sponsor1").await;
    let limited = rig.sponsor_sign_in("limited").await;
    let random = |cookie: String, prefix: &'static str| {
        let app = rig.h.app.clone();
        async move {
            let reply = post(
                &app,
                "/api/sponsor_create_random",
                &format!("form%5Bcount%5D=5&form%5Bprefix%5D={prefix}&form%5Bguest_type_id%5D=2&form%5Bduration_days%5D=1"),
                Some(&cookie),
            )
            .await;
            json::<CreatedBatch>(&reply)
        }
    };
    let mine = random(sponsor.clone(), "conf").await;
    let names: Vec<&str> = mine.guests.iter().map(|g| g.username.as_str()).collect();
    assert_eq!(
        names,
        ["conf001", "conf002", "conf003", "conf004", "conf005"]
    );
    assert!(
        mine.guests
            .iter()
            .all(|g| g.password.as_ref().is_some_and(|p| p.len() == 8)),
        "shown: no email"
    );
    assert!(mine.mail_ids.is_empty());
    let theirs = random(limited.clone(), "lim").await;

    // The limited sponsor sees only its own, cannot resend at all, and
    // cannot touch another sponsor's guest.
    let page = rig.guests(&limited, "").await;
    assert_eq!(page.total, 5);
    assert!(page.rows.iter().all(|r| r.sponsor == "limited"));
    let resend = rig.act(&limited, &[theirs.guests[0].id], "Resend").await;
    assert_eq!(resend.status, StatusCode::FORBIDDEN, "{}", resend.body);
    let report: ActionReport = json(&rig.act(&limited, &[mine.guests[0].id], "Suspend").await);
    assert!(report.done.is_empty());
    assert!(
        report.refused[0]
            .1
            .contains("Not found among the accounts you manage")
    );
    let delete = rig.act(&limited, &[theirs.guests[0].id], "Delete").await;
    assert_eq!(delete.status, StatusCode::FORBIDDEN);
    // ALL_ACCOUNTS sees both.
    assert_eq!(rig.guests(&sponsor, "").await.total, 10);

    // A wrong password is refused like the admins'; signing out ends it.
    let wrong = post(
        &rig.h.app,
        "/api/sponsor_login",
        "username=limited&password=nope",
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let out = post(&rig.h.app, "/api/sponsor_logout", "", Some(&limited)).await;
    assert!(
        out.status.is_success() || out.status.is_redirection(),
        "{}",
        out.status
    );
    let after = post(
        &rig.h.app,
        "/api/sponsor_guests",
        "search=&state=&page=1",
        Some(&limited),
    )
    .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

/// The password line of a credentials email's text part.
fn password_in(raw: &str) -> String {
    raw.lines()
        .find_map(|l| l.strip_prefix("Password: "))
        .expect("a Password line")
        .trim()
        .to_string()
}
