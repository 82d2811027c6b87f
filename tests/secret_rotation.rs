//! The next client secret and the next certificate: staged beside the
//! current one, tested, made current by Switch Now after a passed test,
//! and taken over by delivery itself when Entra ID (the peers' token
//! endpoint, its AADSTS answers) refuses the current credential mid-batch.
//! Without a staged secret the same refusal holds the mail with the token
//! alarm: no dead letters.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, harness_with_mail, open_alarms, post, sign_in, wait_for_open_alarm};
use common::forms::{
    GOOD_APP, certificate_and_key, configure_smtp, encode, form_body, smtp_fields, test_connection,
};
use common::mail::queue_guest_mail;
use http::StatusCode;
use mailroom::domain::alarm::AlarmCode;
use mailroom::domain::connection_test::ConnectionTestReport;
use mailroom::domain::diagnosis::Step;
use mailroom::domain::mail::{MailStatus, QueueRow, RetryPolicy};
use mailroom::domain::smtp::{OAuthCertificateInfo, SmtpPage};
use mailroom::server::db;
use mailroom::server::mail::{MailConfig, worker};
use serde_json::json;
use std::time::{Duration, Instant};

const NEXT_SECRET: &str = "Next~Secret.Value_456";
const NEXT_EXPIRY: &str = "2028-01-31";

struct Rig {
    h: Harness,
    root: String,
    peers: Peers,
}

async fn rig(overrides: &[(&'static str, String)]) -> Rig {
    let peers = Peers::start();
    let h = harness_with_mail(MailConfig {
        pool_size: 4,
        retry: RetryPolicy {
            max_attempts: 3,
            base_ms: 200,
            max_ms: 2000,
        },
        lease: Duration::from_secs(60),
        ..MailConfig::default()
    })
    .await;
    let root = sign_in(&h.app, "root").await;
    configure_smtp(&h, &root, &peers, overrides).await;
    Rig { h, root, peers }
}

fn next_form(value: &str, expiry: &str) -> String {
    format!(
        "form%5Bnext_client_secret%5D={}&form%5Bnext_secret_expiry%5D={}",
        encode(value),
        encode(expiry)
    )
}

impl Rig {
    async fn call(&self, function: &str, body: &str) -> (StatusCode, String) {
        let reply = post(
            &self.h.app,
            &format!("/api/{function}"),
            body,
            Some(&self.root),
        )
        .await;
        (reply.status, reply.body)
    }

    async fn page(&self) -> SmtpPage {
        let (status, body) = self.call("get_smtp_settings", "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn stage(&self, value: &str, expiry: &str) -> SmtpPage {
        let (status, body) = self
            .call("stage_next_client_secret", &next_form(value, expiry))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn test_next(&self, value: &str, whole: bool) -> ConnectionTestReport {
        let body = format!("{}&whole_ladder={whole}", next_form(value, NEXT_EXPIRY));
        let (status, body) = self.call("test_next_client_secret", &body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Entra ID accepts only these secrets of the app from now on.
    async fn app_secrets(&self, secrets: &[&str], expired: &[&str]) {
        self.peers
            .control(
                &format!("/_apps/{GOOD_APP}/secrets"),
                json!({"secrets": secrets, "expired": expired}),
            )
            .await;
    }

    /// Delivery runs: `count` messages go out with a token that dies two
    /// seconds later (Entra still says an hour). Then Entra accepts only
    /// `accepted` of the app's secrets, and the sessions are cut, so the
    /// next messages need a new token.
    async fn revoke_mid_delivery(&self, count: usize, accepted: &str) {
        self.deliver_with_short_lived_token(count).await;
        self.app_secrets(&[accepted], &[]).await;
        self.force_new_token().await;
    }

    /// `count` messages go out with a token that dies two seconds later
    /// (Entra still says an hour).
    async fn deliver_with_short_lived_token(&self, count: usize) {
        worker::spawn(self.h.state.clone());
        self.peers
            .control(
                "/_faults",
                json!({"at": "token", "action": "expired", "lifetime": 2}),
            )
            .await;
        let first = self.queue(count, "Before").await;
        self.wait_until(&first, |s| s == MailStatus::Sent, "sent")
            .await;
    }

    /// The cached token dies soon and every signed-in session is cut, so
    /// the next messages sign in again with a new token.
    async fn force_new_token(&self) {
        tokio::time::sleep(Duration::from_millis(2200)).await;
        self.peers.control("/_smtp/down", json!({})).await;
        self.peers.control("/_smtp/up", json!({})).await;
    }

    async fn queue(&self, count: usize, tag: &str) -> Vec<i64> {
        let queued = queue_guest_mail(&self.h.state, count, tag).await;
        self.h.state.mailer.submitted(&queued);
        queued.iter().map(|q| q.id).collect()
    }

    async fn wait_until<F: Fn(MailStatus) -> bool>(&self, ids: &[i64], wanted: F, what: &str) {
        self.wait_rows(ids, |row| wanted(row.status), what).await
    }

    async fn wait_rows<F: Fn(&QueueRow) -> bool>(&self, ids: &[i64], wanted: F, what: &str) {
        let started = Instant::now();
        for id in ids {
            loop {
                let row = db::outbox::get(&self.h.state.db, *id)
                    .await
                    .unwrap()
                    .unwrap()
                    .row;
                if wanted(&row) {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "message {id} is not {what}: {row:?}"
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    }
}

#[tokio::test]
async fn a_secret_revoked_mid_batch_gives_way_to_the_staged_one() {
    let rig = rig(&[]).await;
    let staged = rig.stage(NEXT_SECRET, NEXT_EXPIRY).await;
    assert!(staged.next_secret_set);
    assert_eq!(staged.next_secret_expiry, NEXT_EXPIRY);
    let page_json = serde_json::to_string(&staged).unwrap();
    assert!(!page_json.contains(NEXT_SECRET), "write-only: {page_json}");

    // The current secret is revoked in Entra ID; only the next one works.
    rig.revoke_mid_delivery(40, NEXT_SECRET).await;
    let second = rig.queue(40, "After").await;
    rig.wait_until(&second, |s| s == MailStatus::Sent, "sent")
        .await;

    let counts = db::outbox::counts(&rig.h.state.db).await.unwrap();
    assert_eq!((counts.sent, counts.dead), (80, 0), "{counts:?}");
    let page = rig.page().await;
    assert!(
        !page.next_secret_set,
        "the next secret is now the current one"
    );
    assert_eq!(page.form.secret_expiry, NEXT_EXPIRY);
    assert!(page.client_secret_set);
    let switched = wait_for_open_alarm(&rig.h, &rig.root, AlarmCode::NextSecretAdopted).await;
    assert!(switched.details.contains("AADSTS7000215"), "{switched:?}");
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|row| row.action == "switch" && row.admin == "system (delivery)"),
        "{audit:?}"
    );
    // Test Connection with the saved settings now passes with the stored
    // (formerly next) secret.
    let report = rig.test_next(NEXT_SECRET, false).await;
    assert!(report.passed(), "{report:#?}");
}

#[tokio::test]
async fn without_a_staged_secret_a_revoked_one_holds_the_mail_with_the_alarm() {
    let rig = rig(&[]).await;
    rig.revoke_mid_delivery(5, "Another~Secret").await;
    let held = rig.queue(5, "Held").await;
    // A message may first meet a session the cut broke (a quick retry);
    // then Entra's refusal holds it.
    rig.wait_rows(
        &held,
        |row| {
            row.status == MailStatus::Retrying
                && row
                    .last_reply
                    .as_deref()
                    .is_some_and(|r| r.starts_with("AADSTS7000215"))
        },
        "held for the refused secret",
    )
    .await;
    // Held well past the retry policy's three attempts: never a dead letter.
    for id in &held {
        let detail = db::outbox::get(&rig.h.state.db, *id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(detail.row.status, MailStatus::Retrying);
        assert!(
            detail.row.next_attempt_at >= Some(rig.h.state.now_ms() + 20_000),
            "waits for the settings: {:?}",
            detail.row
        );
    }
    let counts = db::outbox::counts(&rig.h.state.db).await.unwrap();
    assert_eq!(counts.dead, 0, "{counts:?}");
    let token = wait_for_open_alarm(&rig.h, &rig.root, AlarmCode::TokenAcquisitionFailed).await;
    assert!(token.details.contains("AADSTS7000215"), "{token:?}");
    assert!(token.details.contains("Invalid Client Secret"), "{token:?}");

    // The admin enters the new secret, tests and saves: the held mail goes
    // at once, not at its next retry half a minute or more away.
    let body = form_body(&smtp_fields(&rig.peers, "Another~Secret"));
    let report = test_connection(&rig.h, &rig.root, &body).await;
    assert!(report.passed(), "{report:#?}");
    let saved = post(
        &rig.h.app,
        "/api/save_smtp_settings",
        &body,
        Some(&rig.root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let fixed = Instant::now();
    rig.wait_until(&held, |s| s == MailStatus::Sent, "sent")
        .await;
    assert!(
        fixed.elapsed() < Duration::from_secs(15),
        "released by the save, not by the retry timer: {:?}",
        fixed.elapsed()
    );
}

#[tokio::test]
async fn switch_now_needs_a_passed_test_with_the_staged_secret() {
    let rig = rig(&[]).await;
    // Bad input: nothing staged, nothing changed.
    let (status, body) = rig
        .call("stage_next_client_secret", &next_form("", NEXT_EXPIRY))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("next_client_secret"), "{body}");
    let (status, body) = rig
        .call(
            "stage_next_client_secret",
            &next_form(NEXT_SECRET, "2028-02-30"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("next_secret_expiry"), "{body}");
    assert!(!rig.page().await.next_secret_set);

    // Entra does not know the next secret yet: its test fails at the token.
    rig.stage(NEXT_SECRET, NEXT_EXPIRY).await;
    let report = rig.test_next("", false).await;
    assert_eq!(report.diagnosis.as_ref().unwrap().code, "AADSTS7000215");
    let (status, body) = rig.call("switch_to_next_client_secret", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("Test with the staged next secret first"),
        "{body}"
    );

    // Added to the app in Entra: token only, then the whole ladder.
    rig.app_secrets(
        &[rig.peers.text("client_secret").as_str(), NEXT_SECRET],
        &[],
    )
    .await;
    let token_only = rig.test_next("", false).await;
    assert!(token_only.passed(), "{token_only:#?}");
    let steps: Vec<Step> = token_only.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, [Step::Token, Step::TokenClaims]);
    let whole = rig.test_next("", true).await;
    assert!(whole.passed(), "{whole:#?}");
    assert_eq!(whole.steps.last().unwrap().step, Step::Quit);

    let (status, body) = rig.call("switch_to_next_client_secret", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: SmtpPage = serde_json::from_str(&body).unwrap();
    assert!(!page.next_secret_set);
    assert_eq!(page.form.secret_expiry, NEXT_EXPIRY);
    // The old secret may now go from Entra: mail still flows.
    rig.app_secrets(&[NEXT_SECRET], &[]).await;
    worker::spawn(rig.h.state.clone());
    let ids = rig.queue(3, "Switched").await;
    rig.wait_until(&ids, |s| s == MailStatus::Sent, "sent")
        .await;
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|row| row.action == "switch" && row.admin == "root"),
        "{audit:?}"
    );
    assert!(audit.iter().any(|row| row.action == "stage"), "{audit:?}");
    // Nothing staged any more: nothing to switch to or discard.
    let (status, _) = rig.call("switch_to_next_client_secret", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = rig.call("discard_next_client_secret", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_staged_secret_that_outlives_the_current_one_clears_its_expiry_alarm() {
    let soon = (rig_today() + time::Duration::days(5)).to_string();
    let rig = rig(&[("secret_expiry", soon.clone())]).await;
    mailroom::server::alarms::run_check(&rig.h.state)
        .await
        .unwrap();
    let expiring = |alarms: &[mailroom::domain::alarm::AlarmView]| {
        alarms.iter().any(|a| a.code == AlarmCode::SecretExpiring)
    };
    assert!(expiring(&open_alarms(&rig.h, &rig.root).await));
    // A next secret that expires sooner than the current one does not help.
    rig.stage(
        NEXT_SECRET,
        &(rig_today() + time::Duration::days(2)).to_string(),
    )
    .await;
    assert!(expiring(&open_alarms(&rig.h, &rig.root).await));
    rig.stage("", NEXT_EXPIRY).await;
    assert!(!expiring(&open_alarms(&rig.h, &rig.root).await));
    // Discarded: the alarm is back.
    let (status, body) = rig.call("discard_next_client_secret", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(expiring(&open_alarms(&rig.h, &rig.root).await));
}

fn rig_today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The rig, with the saved settings signing with a certificate generated
/// in the console and registered on the app.
async fn certificate_rig() -> (Rig, OAuthCertificateInfo) {
    let rig = rig(&[]).await;
    let (status, body) = rig.call("generate_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let current: OAuthCertificateInfo = serde_json::from_str(&body).unwrap();
    rig.peers.register_certificate(GOOD_APP, &current.pem).await;
    let mut fields = smtp_fields(&rig.peers, "");
    fields.retain(|(name, _)| !matches!(*name, "client_secret" | "secret_expiry" | "credential"));
    fields.push(("credential", "certificate".into()));
    fields.push(("certificate_id", current.id.to_string()));
    let body = form_body(&fields);
    let report = test_connection(&rig.h, &rig.root, &body).await;
    assert!(report.passed(), "{report:#?}");
    let (status, body) = rig.call("save_smtp_settings", &body).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (rig, current)
}

impl Rig {
    /// Generates the next certificate in the console (staged at once).
    async fn generate_next_certificate(&self) -> OAuthCertificateInfo {
        let (status, body) = self.call("generate_next_oauth_certificate", "").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let page: SmtpPage = serde_json::from_str(&body).unwrap();
        assert!(
            !body.contains("PRIVATE KEY"),
            "the private key never leaves"
        );
        page.next_certificate.expect("staged")
    }

    async fn test_next_certificate(&self, whole: bool) -> ConnectionTestReport {
        let (status, body) = self
            .call(
                "test_next_oauth_certificate",
                &format!("whole_ladder={whole}"),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Whether the certificate and its private key are still stored.
    async fn certificate_kept(&self, id: i64) -> bool {
        let row = db::oauth_certificates::get(&self.h.state.db, id)
            .await
            .unwrap();
        let key = self
            .h
            .state
            .vault
            .contains("oauth.certificate_key", &id.to_string())
            .await
            .unwrap();
        assert_eq!(row.is_some(), key, "a certificate goes with its key");
        key
    }
}

#[tokio::test]
async fn a_certificate_removed_from_the_app_mid_batch_gives_way_to_the_staged_one() {
    let (rig, current) = certificate_rig().await;
    let next = rig.generate_next_certificate().await;
    assert_ne!(next.id, current.id);
    rig.peers.register_certificate(GOOD_APP, &next.pem).await;

    // The current certificate is deleted from the app registration while
    // mail flows: Entra answers AADSTS700027 to its assertions.
    rig.deliver_with_short_lived_token(40).await;
    rig.peers
        .unregister_certificate(GOOD_APP, &current.x5t_s256)
        .await;
    rig.force_new_token().await;
    let second = rig.queue(40, "After").await;
    rig.wait_until(&second, |s| s == MailStatus::Sent, "sent")
        .await;

    let counts = db::outbox::counts(&rig.h.state.db).await.unwrap();
    assert_eq!((counts.sent, counts.dead), (80, 0), "{counts:?}");
    let page = rig.page().await;
    assert_eq!(page.certificate.as_ref().map(|c| c.id), Some(next.id));
    assert_eq!(page.form.certificate_id, next.id.to_string());
    assert!(page.next_certificate.is_none());
    assert!(
        !rig.certificate_kept(current.id).await,
        "the refused certificate goes with its private key"
    );
    let switched = wait_for_open_alarm(&rig.h, &rig.root, AlarmCode::NextCertificateAdopted).await;
    assert!(switched.details.contains("AADSTS700027"), "{switched:?}");
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit.iter().any(|row| row.action == "switch"
            && row.admin == "system (delivery)"
            && row.changed_fields.starts_with("certificate")),
        "{audit:?}"
    );
}

#[tokio::test]
async fn switch_now_to_the_next_certificate_needs_a_passed_test_with_it() {
    let (rig, current) = certificate_rig().await;
    // Nothing staged: nothing to test, switch to or discard.
    let (status, body) = rig
        .call("test_next_oauth_certificate", "whole_ladder=false")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("No next certificate is staged"), "{body}");
    let (status, _) = rig.call("discard_next_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Not uploaded to the app yet: its test fails at the token.
    let next = rig.generate_next_certificate().await;
    let report = rig.test_next_certificate(false).await;
    assert_eq!(report.diagnosis.as_ref().unwrap().code, "AADSTS700027");
    let (status, body) = rig.call("switch_to_next_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body.contains("Test with the staged next certificate first"),
        "{body}"
    );

    // Uploaded: token only, then the whole ladder.
    rig.peers.register_certificate(GOOD_APP, &next.pem).await;
    let token_only = rig.test_next_certificate(false).await;
    assert!(token_only.passed(), "{token_only:#?}");
    let steps: Vec<Step> = token_only.steps.iter().map(|s| s.step).collect();
    assert_eq!(steps, [Step::Token, Step::TokenClaims]);
    let whole = rig.test_next_certificate(true).await;
    assert!(whole.passed(), "{whole:#?}");
    assert_eq!(whole.steps.last().unwrap().step, Step::Quit);

    let (status, body) = rig.call("switch_to_next_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let page: SmtpPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page.certificate.as_ref().map(|c| c.id), Some(next.id));
    assert!(page.next_certificate.is_none());
    assert!(!rig.certificate_kept(current.id).await);
    // The old certificate may now go from the app: mail still flows.
    rig.peers
        .unregister_certificate(GOOD_APP, &current.x5t_s256)
        .await;
    worker::spawn(rig.h.state.clone());
    let ids = rig.queue(3, "Switched").await;
    rig.wait_until(&ids, |s| s == MailStatus::Sent, "sent")
        .await;
    let audit = db::audit::recent(&rig.h.state.db, 20).await.unwrap();
    assert!(
        audit.iter().any(|row| row.action == "switch"
            && row.admin == "root"
            && row.changed_fields == "certificate"),
        "{audit:?}"
    );
    let (status, _) = rig.call("switch_to_next_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_next_certificate_upload_with_the_wrong_key_stages_nothing() {
    let (rig, current) = certificate_rig().await;
    let other = rig.generate_next_certificate().await;
    // The CA's key does not belong to the generated certificate.
    let ca_key = std::fs::read_to_string(
        std::path::Path::new(&rig.peers.text("ca_pem")).with_file_name("test-ca.key"),
    )
    .unwrap();
    let refused = post(
        &rig.h.app,
        "/api/upload_next_oauth_certificate",
        &certificate_and_key(&current.pem, &ca_key),
        Some(&rig.root),
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("private_key"), "{}", refused.body);
    // The one staged before is still the one staged.
    let page = rig.page().await;
    assert_eq!(page.next_certificate.map(|c| c.id), Some(other.id));
}

#[tokio::test]
async fn a_next_certificate_that_outlives_the_current_one_clears_its_expiry_alarm() {
    let (rig, current) = certificate_rig().await;
    // The current certificate runs out in five days.
    let soon = rig.h.state.now() + 5 * 86_400;
    sqlx::query("UPDATE oauth_certificates SET not_after = $1 WHERE id = $2")
        .bind(soon)
        .bind(current.id)
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    mailroom::server::alarms::run_check(&rig.h.state)
        .await
        .unwrap();
    let expiring = |alarms: &[mailroom::domain::alarm::AlarmView]| {
        alarms
            .iter()
            .any(|a| a.code == AlarmCode::CertificateCredentialExpiring)
    };
    assert!(expiring(&open_alarms(&rig.h, &rig.root).await));
    let next = rig.generate_next_certificate().await;
    assert!(next.not_after > soon);
    assert!(!expiring(&open_alarms(&rig.h, &rig.root).await));
    // Discarded: the alarm is back, and the next certificate is gone.
    let (status, body) = rig.call("discard_next_oauth_certificate", "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(expiring(&open_alarms(&rig.h, &rig.root).await));
    assert!(!rig.certificate_kept(next.id).await);
    assert!(rig.certificate_kept(current.id).await);
}
