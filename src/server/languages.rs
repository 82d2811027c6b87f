//! Guest emails in the guest's language: a portal's texts in every
//! language (its own English fields, the translations saved, the Spanish
//! Mailroom ships), and dates in the portal's time zone.

use crate::domain::guest::{GuestDates, GuestDetails};
use crate::domain::language::{ENGLISH, GuestEmail, LocalTime, SPANISH, shipped_expiry_notice};
use crate::domain::portal::{EmailTemplate, PortalSettings, PortalTranslation};
use crate::server::db::portals::PortalRow;
use sqlx::{AnyExecutor, FromRow};

/// The rows of a portal's translations are owned by `portal:ID`.
fn portal_owner(id: i64) -> String {
    format!("portal:{id}")
}

/// A guest type's expiration notices by `guest_type:ID`.
fn guest_type_owner(id: i64) -> String {
    format!("guest_type:{id}")
}

const EXPIRY: &str = "expiry";

#[derive(FromRow)]
struct TranslationRow {
    kind: String,
    language: String,
    subject: String,
    text: String,
    html: String,
}

/// Portal `row`'s settings with its texts in every language: the
/// translations saved, and Spanish as shipped until one is saved.
pub async fn portal_settings(
    db: impl AnyExecutor<'_>,
    row: &PortalRow,
) -> sqlx::Result<PortalSettings> {
    let rows: Vec<TranslationRow> = sqlx::query_as(
        "SELECT kind, language, subject, text, html FROM guest_email_translations \
         WHERE owner = $1 ORDER BY language",
    )
    .bind(portal_owner(row.id))
    .fetch_all(db)
    .await?;
    let mut settings = row.settings();
    let mut translations: Vec<PortalTranslation> = Vec::new();
    for stored in rows {
        let Some(kind) = GuestEmail::parse(&stored.kind) else {
            continue;
        };
        let index = match translations
            .iter()
            .position(|t| t.language == stored.language)
        {
            Some(index) => index,
            None => {
                translations.push(PortalTranslation::shipped(&stored.language));
                translations.len() - 1
            }
        };
        let template = EmailTemplate {
            subject: stored.subject,
            text: stored.text,
            html: stored.html,
        };
        let translation = &mut translations[index];
        match kind {
            GuestEmail::Credentials => translation.email = template,
            GuestEmail::ApprovalRequest => translation.approval_email = template,
            GuestEmail::Denial => translation.denial_email = template,
        }
    }
    if !translations.iter().any(|t| t.language == SPANISH) {
        translations.push(PortalTranslation::shipped(SPANISH));
    }
    translations.sort_by(|a, b| a.language.cmp(&b.language));
    settings.translations = translations;
    Ok(settings)
}

/// Replaces portal `id`'s translations with `settings`' (a text equal to
/// the one Mailroom ships is not stored, so it follows the shipped one).
pub async fn save_portal_translations(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    settings: &PortalSettings,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    let owner = portal_owner(id);
    sqlx::query("DELETE FROM guest_email_translations WHERE owner = $1")
        .bind(&owner)
        .execute(&mut **tx)
        .await?;
    for translation in &settings.translations {
        for kind in GuestEmail::ALL {
            let template = translation.get(kind);
            if kind.shipped(&translation.language).as_ref() == Some(template) {
                continue;
            }
            sqlx::query(
                "INSERT INTO guest_email_translations (owner, kind, language, subject, text, html, \
                 updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&owner)
            .bind(kind.as_str())
            .bind(&translation.language)
            .bind(&template.subject)
            .bind(&template.text)
            .bind(&template.html)
            .bind(now)
            .bind(by)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// Guest type `row` with its expiration notice in every language: the
/// translations saved, and Spanish as shipped until one is saved.
pub async fn guest_type(
    db: impl AnyExecutor<'_>,
    row: &crate::server::db::guest_types::GuestTypeRow,
) -> sqlx::Result<crate::domain::guest_type::GuestType> {
    use crate::domain::guest_type::NoticeTranslation;
    let stored: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT language, subject, text FROM guest_email_translations \
         WHERE owner = $1 AND kind = $2 ORDER BY language",
    )
    .bind(guest_type_owner(row.id))
    .bind(EXPIRY)
    .fetch_all(db)
    .await?;
    let mut guest_type = row.guest_type();
    let mut translations: Vec<NoticeTranslation> = stored
        .into_iter()
        .map(|(language, subject, text)| NoticeTranslation {
            language,
            subject,
            text,
        })
        .collect();
    if !translations.iter().any(|t| t.language == SPANISH) {
        translations.push(NoticeTranslation::shipped(SPANISH));
    }
    translations.sort_by(|a, b| a.language.cmp(&b.language));
    guest_type.notice_translations = translations;
    Ok(guest_type)
}

/// Replaces guest type `id`'s notice translations (one equal to the
/// shipped text is not stored, so it follows the shipped one).
pub async fn save_guest_type_translations(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: i64,
    guest_type: &crate::domain::guest_type::GuestType,
    now: i64,
    by: &str,
) -> sqlx::Result<()> {
    delete_guest_type_translations(&mut **tx, id).await?;
    for t in &guest_type.notice_translations {
        if shipped_expiry_notice(&t.language) == Some((t.subject.as_str(), t.text.as_str())) {
            continue;
        }
        sqlx::query(
            "INSERT INTO guest_email_translations (owner, kind, language, subject, text, html, \
             updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, '', $6, $7)",
        )
        .bind(guest_type_owner(id))
        .bind(EXPIRY)
        .bind(&t.language)
        .bind(&t.subject)
        .bind(&t.text)
        .bind(now)
        .bind(by)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// A deleted guest type's notices go with it.
pub async fn delete_guest_type_translations(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM guest_email_translations WHERE owner = $1 AND kind = $2")
        .bind(guest_type_owner(id))
        .bind(EXPIRY)
        .execute(db)
        .await?;
    Ok(())
}

/// A guest type's expiration notice (subject, text) in the first of
/// `wanted` (the guest's language, then its portal's default) that has
/// one: saved for the type, or shipped with Mailroom; else the type's own
/// (English). Also the language chosen.
pub async fn expiry_notice(
    db: &sqlx::AnyPool,
    guest_type_id: i64,
    wanted: &[&str],
    own: (&str, &str),
) -> sqlx::Result<(String, String, String)> {
    let english = || (own.0.to_string(), own.1.to_string(), ENGLISH.to_string());
    for language in wanted.iter().copied().filter(|l| !l.is_empty()) {
        if language == ENGLISH {
            return Ok(english());
        }
        let primary = crate::domain::language::primary(language);
        let stored: Option<(String, String, String)> = sqlx::query_as(
            "SELECT subject, text, language FROM guest_email_translations \
             WHERE owner = $1 AND kind = $2 AND language IN ($3, $4) \
             ORDER BY CASE WHEN language = $3 THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(guest_type_owner(guest_type_id))
        .bind(EXPIRY)
        .bind(language)
        .bind(primary)
        .fetch_optional(db)
        .await?;
        if let Some(found) = stored {
            return Ok(found);
        }
        if let Some((subject, text)) = shipped_expiry_notice(language) {
            return Ok((subject.into(), text.into(), primary.into()));
        }
    }
    Ok(english())
}

/// The time zone named `name` (IANA), or this node's when empty.
pub fn time_zone(name: &str) -> Option<jiff::tz::TimeZone> {
    if name.trim().is_empty() {
        Some(jiff::tz::TimeZone::try_system().unwrap_or(jiff::tz::TimeZone::UTC))
    } else {
        jiff::tz::TimeZone::get(name.trim()).ok()
    }
}

/// This node's time zone's name, for the portal editor's hint.
pub fn node_time_zone() -> String {
    jiff::tz::TimeZone::try_system()
        .ok()
        .and_then(|zone| zone.iana_name().map(str::to_string))
        .unwrap_or_else(|| "UTC".into())
}

/// How `at` is written in `language` and `zone`.
fn local_time(language: &str, zone: &jiff::tz::TimeZone, at: i64) -> LocalTime {
    let timestamp = jiff::Timestamp::from_second(at).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let info = zone.to_offset_info(timestamp);
    let offset_seconds = info.offset().seconds();
    let abbreviation = info.abbreviation();
    // Zones without a letter abbreviation (many of Asia and South America)
    // have their offset there, as +0530.
    let zone = if abbreviation.chars().any(|c| c.is_ascii_alphabetic()) {
        abbreviation.to_string()
    } else {
        let sign = if offset_seconds < 0 { '-' } else { '+' };
        let minutes = offset_seconds.unsigned_abs() / 60;
        format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
    };
    LocalTime {
        language: language.to_string(),
        offset_seconds,
        zone,
    }
}

/// `at` as a guest email writes it in `language` and the time zone named
/// `zone_name` (empty: the node's).
pub fn format_in(language: &str, zone_name: &str, at: i64) -> String {
    let zone = time_zone(zone_name).unwrap_or(jiff::tz::TimeZone::UTC);
    local_time(language, &zone, at).format(at)
}

/// Writes `details`' dates in `language` and the portal's time zone.
pub fn localize(details: &mut GuestDetails, language: &str, portal_zone: &str) {
    let zone = time_zone(portal_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    details.dates = Some(GuestDates {
        from: local_time(language, &zone, details.valid_from),
        until: local_time(language, &zone, details.valid_until),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_follow_the_zone_and_its_summer_time() {
        let madrid = time_zone("Europe/Madrid").unwrap();
        // 2026-11-30 08:00 UTC: winter, CET.
        let winter = local_time("es", &madrid, 1_795_996_800 + 8 * 3600);
        assert_eq!(
            winter.format(1_795_996_800 + 8 * 3600),
            "30 nov 2026, 09:00 CET"
        );
        // 2026-07-01 08:00 UTC: summer, CEST.
        let july = 1_782_864_000 + 8 * 3600;
        assert_eq!(
            local_time("en", &madrid, july).format(july),
            "Jul 1, 2026, 10:00 CEST"
        );
        let kolkata = time_zone("Asia/Kolkata").unwrap();
        assert_eq!(local_time("en", &kolkata, 0).zone, "IST");
        assert!(time_zone("Mars/Olympus").is_none());
        assert!(time_zone("").is_some());
    }
}
