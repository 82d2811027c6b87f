//! Guest emails in the guest's language, against the test SMTP server: a
//! guest registering in Spanish gets Spanish credentials and expiration
//! emails (decoded text and `Content-Language`), an English guest English
//! ones, a guest whose language has no texts the portal's default; the
//! portal's own translations and time zone apply; bad input changes
//! nothing.
#![cfg(feature = "ssr")]

mod common;

use common::Peers;
use common::app::{Harness, post, send};
use common::forms::{encode, guest_mail_console, portal_body};
use http::{Request, StatusCode, header};
use mailroom::api::portals::{PortalPage, PublicPortal};
use mailroom::server::guests::run_expiry_job;
use serde_json::Value;
use std::time::Duration;

struct Rig {
    h: Harness,
    peers: Peers,
    root: String,
    guest_type: i64,
}

async fn rig() -> Rig {
    let peers = Peers::start();
    let (h, root) = guest_mail_console(&peers, 2).await;
    let reply = post(&h.app, "/api/get_guest_portal", "id=1", Some(&root)).await;
    let portal: PortalPage = serde_json::from_str(&reply.body).unwrap();
    let guest_type = portal.form.guest_type_id.parse().unwrap();
    Rig {
        h,
        peers,
        root,
        guest_type,
    }
}

impl Rig {
    async fn save_portal(&self, changes: &[(&str, &str)]) -> common::app::Reply {
        post(
            &self.h.app,
            "/api/save_guest_portal",
            &format!("id=1&{}", portal_body(self.guest_type, changes)),
            Some(&self.root),
        )
        .await
    }

    async fn register(&self, name: &str, language: &str) {
        let body = format!(
            "portal=1&form%5Bfirst_name%5D={name}&form%5Blast_name%5D=Guest\
             &form%5Bemail%5D={}&form%5Bcompany%5D=Acme&form%5Baccept_aup%5D=true\
             &form%5Blanguage%5D={}",
            encode(&format!("{}@example.com", name.to_lowercase())),
            encode(language)
        );
        let reply = post(&self.h.app, "/api/register_guest", &body, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    /// The messages delivered to `address`, waiting for `count`.
    async fn received_by(&self, address: &str, count: usize) -> Vec<Value> {
        let mine = self
            .peers
            .received_within(address, count, Duration::from_secs(20))
            .await;
        assert!(mine.len() >= count, "{address}: {mine:?}");
        mine
    }

    async fn portal(&self) -> PortalPage {
        let reply = post(
            &self.h.app,
            "/api/get_guest_portal",
            "id=1",
            Some(&self.root),
        )
        .await;
        serde_json::from_str(&reply.body).unwrap()
    }
}

/// (Content-Language, subject, decoded text) of a delivered message.
fn read(message: &Value) -> (String, String, String) {
    use mailparse::MailHeaderMap;
    let raw = message["raw"].as_str().unwrap();
    let parsed = mailparse::parse_mail(raw.as_bytes()).unwrap();
    let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
    (
        header("Content-Language"),
        header("Subject"),
        common::mail::plain_text(message),
    )
}

#[tokio::test]
async fn each_guest_gets_its_emails_in_its_language_with_the_default_for_the_others() {
    let rig = rig().await;
    // The portal offers English and Spanish; the browser's preference
    // picks the form's default.
    let ask = |accept: &'static str| {
        let app = rig.h.app.clone();
        async move {
            let reply = send(
                &app,
                Request::post("/api/get_public_portal")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .header(header::ACCEPT_LANGUAGE, accept)
                    .body(axum::body::Body::from("id=1"))
                    .unwrap(),
            )
            .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            serde_json::from_str::<PublicPortal>(&reply.body).unwrap()
        }
    };
    let spanish = ask("es-MX,es;q=0.9,en;q=0.5").await;
    assert_eq!(spanish.languages, ["en", "es"]);
    assert_eq!(spanish.language, "es");
    assert_eq!(ask("de-DE, fr;q=0.8").await.language, "en", "the default");

    rig.register("Ana", "es").await;
    rig.register("Ben", "en").await;
    rig.register("Chloe", "fr").await;
    let (language, subject, text) = read(&rig.received_by("ana@example.com", 1).await[0]);
    assert_eq!(language, "es");
    assert_eq!(subject, "Sus credenciales de acceso como invitado");
    assert!(text.contains("Hola, Ana:"), "{text}");
    assert!(text.contains("Usuario: ana"), "{text}");
    assert!(text.contains("Contraseña: "), "{text}");
    // Dates in Spanish (the node's zone: UTC here).
    let months = [
        "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
    ];
    assert!(
        months.iter().any(|m| text.contains(&format!(" {m} 20"))),
        "{text}"
    );
    let (language, subject, text) = read(&rig.received_by("ben@example.com", 1).await[0]);
    assert_eq!(language, "en");
    assert_eq!(subject, "Your guest account credentials");
    assert!(text.contains("Username: ben"), "{text}");
    // French has no texts: the portal's default language, English.
    let (language, subject, _) = read(&rig.received_by("chloe@example.com", 1).await[0]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("en", "Your guest account credentials")
    );

    // With Spanish as the default, a French guest reads Spanish.
    let saved = rig.save_portal(&[("default_language", "es")]).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    rig.register("Dora", "fr").await;
    let (language, subject, _) = read(&rig.received_by("dora@example.com", 1).await[0]);
    assert_eq!(language, "es");
    assert_eq!(subject, "Sus credenciales de acceso como invitado");

    // The expiration notice follows the guest's language too.
    sqlx::query(
        "UPDATE guest_types SET notify_enabled = TRUE, notify_advance = 3, notify_unit = 'days'",
    )
    .execute(&rig.h.state.db)
    .await
    .unwrap();
    sqlx::query("UPDATE guest_accounts SET valid_until = $1")
        .bind(rig.h.state.now() + 3600)
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    let run = run_expiry_job(&rig.h.state).await.unwrap();
    assert_eq!(run.notices, 4);
    let (language, subject, text) = read(&rig.received_by("ana@example.com", 2).await[1]);
    assert_eq!(language, "es");
    assert_eq!(subject, "Su cuenta de invitado va a caducar");
    assert!(text.contains("caduca el "), "{text}");
    let (language, subject, _) = read(&rig.received_by("ben@example.com", 2).await[1]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("en", "Your guest account is going to expire")
    );
    // Chloe (French, registered with English as the default, now Spanish).
    let (language, _, _) = read(&rig.received_by("chloe@example.com", 2).await[1]);
    assert_eq!(language, "es");
}

#[tokio::test]
async fn a_portals_own_translation_and_time_zone_apply_and_bad_ones_change_nothing() {
    let rig = rig().await;
    let page = rig.portal().await;
    assert_eq!(page.form.translations.len(), 1, "Spanish ships");
    assert_eq!(page.form.translations[0].language, "es");

    // An unknown placeholder in the Spanish text is refused by the
    // languages' field, naming the language; an unknown zone by its own.
    let bad = rig
        .save_portal(&[
            ("translations.0.language", "es"),
            ("translations.0.email.subject", "Hola $ui_nombre$"),
            ("translations.0.email.text", "Usuario: $ui_user_name$"),
        ])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("translations"), "{}", bad.body);
    assert!(bad.body.contains("Español"), "{}", bad.body);
    let bad_zone = rig.save_portal(&[("time_zone", "Mars/Olympus")]).await;
    assert_eq!(
        bad_zone.status,
        StatusCode::BAD_REQUEST,
        "{}",
        bad_zone.body
    );
    assert!(bad_zone.body.contains("time_zone"), "{}", bad_zone.body);
    let bad_tag = rig
        .save_portal(&[("translations.0.language", "klingon!")])
        .await;
    assert_eq!(bad_tag.status, StatusCode::BAD_REQUEST, "{}", bad_tag.body);
    assert_eq!(rig.portal().await.form, page.form, "nothing changed");

    // A Spanish text of the admin's own, a Portuguese one added, and
    // dates in Madrid's time.
    let saved = rig
        .save_portal(&[
            ("time_zone", "Europe/Madrid"),
            ("translations.0.language", "es"),
            ("translations.0.email.subject", "Bienvenida a Contoso"),
            (
                "translations.0.email.text",
                "Usuario: $ui_user_name$ hasta el $ui_end_date_time$",
            ),
            ("translations.1.language", "pt-br"),
            ("translations.1.email.subject", "Suas credenciais"),
            ("translations.1.email.text", "Usuário: $ui_user_name$"),
        ])
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let page = rig.portal().await;
    let languages: Vec<&str> = page
        .form
        .translations
        .iter()
        .map(|t| t.language.as_str())
        .collect();
    assert_eq!(languages, ["es", "pt-BR"]);
    assert_eq!(page.form.time_zone, "Europe/Madrid");

    rig.register("Eva", "es").await;
    rig.register("Joao", "pt-BR").await;
    let (language, subject, text) = read(&rig.received_by("eva@example.com", 1).await[0]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("es", "Bienvenida a Contoso")
    );
    assert!(
        text.contains(" CET") || text.contains(" CEST"),
        "Madrid's time: {text}"
    );
    let (language, subject, text) = read(&rig.received_by("joao@example.com", 1).await[0]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("pt-BR", "Suas credenciais")
    );
    assert!(text.contains("Usuário: joao"), "{text}");

    // The audit names what changed.
    let audit = mailroom::server::db::audit::recent(&rig.h.state.db, 10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.changed_fields.contains("translations")
                && a.changed_fields.contains("time_zone")),
        "{audit:?}"
    );
}

/// A sponsor chooses the guests' language when creating them (a CSV
/// column per guest), and changes it in Manage Accounts: the emails
/// follow.
#[tokio::test]
async fn a_sponsor_sets_the_language_when_creating_and_in_manage_accounts() {
    let rig = rig().await;
    let all = common::app::all_accounts_group(&rig.h.app, &rig.root).await;
    common::app::add_sponsor(&rig.h.app, &rig.root, "host", all).await;
    let sponsor = common::app::sponsor_sign_in(&rig.h.app, "host").await;
    let info = post(&rig.h.app, "/api/current_sponsor", "", Some(&sponsor)).await;
    let info: Option<mailroom::api::sponsor::SponsorInfo> =
        serde_json::from_str(&info.body).unwrap();
    assert_eq!(info.unwrap().languages, ["en", "es"]);

    let known = format!(
        "form%5Bguest%5D%5Bfirst_name%5D=Rosa&form%5Bguest%5D%5Blast_name%5D=Diaz\
         &form%5Bguest%5D%5Bemail%5D=rosa%40example.com&form%5Bguest%5D%5Blanguage%5D=es\
         &form%5Bguest_type_id%5D={}&form%5Bduration_days%5D=1",
        rig.guest_type
    );
    let reply = post(
        &rig.h.app,
        "/api/sponsor_create_known",
        &known,
        Some(&sponsor),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let (language, subject, _) = read(&rig.received_by("rosa@example.com", 1).await[0]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("es", "Sus credenciales de acceso como invitado")
    );

    // The CSV column (a tag, or ISE's English name) wins over the form's
    // language, line by line.
    let csv = "First Name,Last Name,Email Address,Notification Language\n\
               Sam,Lee,sam@example.com,\n\
               Teo,Gil,teo@example.com,Klingon\n";
    let bad = post(
        &rig.h.app,
        "/api/sponsor_import_guests",
        &format!(
            "form%5Bcsv%5D={}&form%5Bguest_type_id%5D={}&form%5Bduration_days%5D=1",
            encode(csv),
            rig.guest_type
        ),
        Some(&sponsor),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("Line 3"), "{}", bad.body);
    let csv = csv.replace("Klingon", "Spanish");
    let reply = post(
        &rig.h.app,
        "/api/sponsor_import_guests",
        &format!(
            "form%5Bcsv%5D={}&form%5Bguest_type_id%5D={}&form%5Bduration_days%5D=1&form%5Blanguage%5D=en",
            encode(&csv),
            rig.guest_type
        ),
        Some(&sponsor),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        read(&rig.received_by("sam@example.com", 1).await[0]).0,
        "en"
    );
    assert_eq!(
        read(&rig.received_by("teo@example.com", 1).await[0]).0,
        "es"
    );

    // Manage Accounts shows the language and sets it; Resend follows.
    let sam: i64 = sqlx::query_scalar("SELECT id FROM guest_accounts WHERE username = 'sam'")
        .fetch_one(&rig.h.state.db)
        .await
        .unwrap();
    let bad = post(
        &rig.h.app,
        "/api/sponsor_set_language",
        &format!("ids%5B0%5D={sam}&language=not%20a%20tag"),
        Some(&sponsor),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    let set = post(
        &rig.h.app,
        "/api/sponsor_set_language",
        &format!("ids%5B0%5D={sam}&language=es"),
        Some(&sponsor),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    let page = post(
        &rig.h.app,
        "/api/sponsor_guests",
        "search=sam&state=&page=1",
        Some(&sponsor),
    )
    .await;
    let page: mailroom::api::sponsor::SponsoredPage = serde_json::from_str(&page.body).unwrap();
    assert_eq!(page.rows[0].language, "es");
    let resend = post(
        &rig.h.app,
        "/api/sponsor_guest_action",
        &format!("ids%5B0%5D={sam}&action=Resend"),
        Some(&sponsor),
    )
    .await;
    assert_eq!(resend.status, StatusCode::OK, "{}", resend.body);
    let (language, subject, _) = read(&rig.received_by("sam@example.com", 2).await[1]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("es", "Sus credenciales de acceso como invitado")
    );
}

/// A guest type's expiration notice in other languages: Spanish ships,
/// the admin adds French; a bad text is refused by its field with
/// nothing changed; a French guest gets the French notice.
#[tokio::test]
async fn a_guest_types_notice_is_kept_per_language() {
    let rig = rig().await;
    let id = rig.guest_type;
    let edit = post(
        &rig.h.app,
        "/api/get_guest_type",
        &format!("id={id}"),
        Some(&rig.root),
    )
    .await;
    let edit: mailroom::domain::guest_type::GuestTypeEdit =
        serde_json::from_str(&edit.body).unwrap();
    let languages: Vec<&str> = edit
        .form
        .notice_translations
        .iter()
        .map(|t| t.language.as_str())
        .collect();
    assert_eq!(languages, ["es"], "Spanish ships");
    let form = &edit.form;
    let body = |french_text: &str| {
        let fields: Vec<(&str, String)> = vec![
            ("name", form.name.clone()),
            ("description", form.description.clone()),
            ("max_days", form.max_days.clone()),
            ("default_days", form.default_days.clone()),
            ("notify_enabled", "true".into()),
            ("notify_advance", "3".into()),
            ("notify_unit", "days".into()),
            ("notify_subject", form.notify_subject.clone()),
            ("notify_text", form.notify_text.clone()),
            ("notice_translations%5D%5B0%5D%5Blanguage", "es".into()),
            (
                "notice_translations%5D%5B0%5D%5Bsubject",
                "Aviso para $ui_user_name$".into(),
            ),
            (
                "notice_translations%5D%5B0%5D%5Btext",
                "Caduca el $ui_end_date_time$.".into(),
            ),
            ("notice_translations%5D%5B1%5D%5Blanguage", "FR".into()),
            (
                "notice_translations%5D%5B1%5D%5Bsubject",
                "Votre compte va expirer".into(),
            ),
            ("notice_translations%5D%5B1%5D%5Btext", french_text.into()),
        ];
        format!("id={id}&{}", common::forms::form_body(&fields))
    };
    let bad = post(
        &rig.h.app,
        "/api/save_guest_type",
        &body("Il expire $ui_nope$"),
        Some(&rig.root),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(
        bad.body.contains("notice_translations") && bad.body.contains("Français"),
        "{}",
        bad.body
    );
    let unchanged = post(
        &rig.h.app,
        "/api/get_guest_type",
        &format!("id={id}"),
        Some(&rig.root),
    )
    .await;
    assert!(
        !unchanged.body.contains("Votre compte"),
        "{}",
        unchanged.body
    );

    let saved = post(
        &rig.h.app,
        "/api/save_guest_type",
        &body("Il expire le $ui_end_date_time$."),
        Some(&rig.root),
    )
    .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    rig.register("Zoe", "fr").await;
    rig.register("Ines", "es").await;
    // The credentials first, so that each notice is the second message.
    rig.received_by("zoe@example.com", 1).await;
    rig.received_by("ines@example.com", 1).await;
    sqlx::query("UPDATE guest_accounts SET valid_until = $1")
        .bind(rig.h.state.now() + 3600)
        .execute(&rig.h.state.db)
        .await
        .unwrap();
    assert_eq!(run_expiry_job(&rig.h.state).await.unwrap().notices, 2);
    let (language, subject, text) = read(&rig.received_by("zoe@example.com", 2).await[1]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("fr", "Votre compte va expirer")
    );
    assert!(text.starts_with("Il expire le "), "{text}");
    let (language, subject, _) = read(&rig.received_by("ines@example.com", 2).await[1]);
    assert_eq!(
        (language.as_str(), subject.as_str()),
        ("es", "Aviso para ines")
    );
}
