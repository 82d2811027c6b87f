//! Guests' languages: the tags a portal's texts are kept in, choosing one
//! from a browser's `Accept-Language`, the texts Mailroom ships in English
//! and Spanish, and dates written the way each language writes them. Pure:
//! the portal editor's preview and the server share it.

use super::FieldError;
use super::portal::EmailTemplate;
use super::template::civil_from_days;
use serde::{Deserialize, Serialize};

/// English: the language of the portal's own template fields and the last
/// fallback of every other.
pub const ENGLISH: &str = "en";
pub const SPANISH: &str = "es";
/// The languages whose texts ship with Mailroom.
pub const SHIPPED: [&str; 2] = [ENGLISH, SPANISH];
/// The most languages one portal keeps.
pub const MAX_LANGUAGES: usize = 20;

/// A language's name in that language, for selectors; the tag otherwise.
pub fn display_name(tag: &str) -> String {
    let name = match primary(tag) {
        "en" => "English",
        "es" => "Español",
        "fr" => "Français",
        "de" => "Deutsch",
        "it" => "Italiano",
        "pt" => "Português",
        "nl" => "Nederlands",
        "ja" => "日本語",
        "zh" => "中文",
        _ => return tag.to_string(),
    };
    match tag.split_once('-') {
        Some((_, region)) => format!("{name} ({region})"),
        None => name.to_string(),
    }
}

/// ISE's ERS writes a guest's notification language by its English name.
const ERS_NAMES: [(&str, &str); 9] = [
    ("en", "English"),
    ("es", "Spanish"),
    ("fr", "French"),
    ("de", "German"),
    ("it", "Italian"),
    ("pt", "Portuguese"),
    ("nl", "Dutch"),
    ("ja", "Japanese"),
    ("zh", "Chinese"),
];

/// `guestInfo.notificationLanguage` as ISE writes it (`Spanish`), or the
/// tag for a language ISE has no name for here; English when unset.
pub fn ers_name(tag: &str) -> String {
    if tag.is_empty() {
        return "English".into();
    }
    ERS_NAMES
        .iter()
        .find(|(t, _)| *t == tag)
        .map_or_else(|| tag.to_string(), |(_, name)| name.to_string())
}

/// `guestInfo.notificationLanguage` as a client sends it: ISE's English
/// name (`Spanish`, any case) or a tag (`es`).
pub fn from_ers(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if let Some((tag, _)) = ERS_NAMES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(value))
    {
        return Ok(tag.to_string());
    }
    normalize_tag(field, value)
}

/// The primary subtag: `es` of `es-MX`.
pub fn primary(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// A language tag as typed (`es`, `ES-mx`, `pt_BR`) in its usual form
/// (`es`, `es-MX`, `pt-BR`): a 2 or 3 letter language, and optionally a
/// region (2 letters or 3 digits) or script (4 letters).
pub fn normalize_tag(field: &str, raw: &str) -> Result<String, FieldError> {
    let refuse = || {
        FieldError::new(
            field,
            "Enter a language tag such as es, fr or pt-BR (a 2 or 3 letter language, optionally a region).",
        )
    };
    let raw = raw.trim().replace('_', "-");
    let mut parts = raw.split('-');
    let language = parts.next().unwrap_or_default();
    if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(refuse());
    }
    let mut tag = language.to_ascii_lowercase();
    if let Some(sub) = parts.next() {
        let region = (sub.len() == 2 && sub.chars().all(|c| c.is_ascii_alphabetic()))
            || (sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit()));
        let script = sub.len() == 4 && sub.chars().all(|c| c.is_ascii_alphabetic());
        if region {
            tag.push('-');
            tag.push_str(&sub.to_ascii_uppercase());
        } else if script {
            tag.push('-');
            tag.push_str(&sub[..1].to_ascii_uppercase());
            tag.push_str(&sub[1..].to_ascii_lowercase());
        } else {
            return Err(refuse());
        }
    }
    if parts.next().is_some() {
        return Err(refuse());
    }
    Ok(tag)
}

/// The best of `offered` for a browser's `Accept-Language` (highest
/// weight first; `es-MX` takes `es` and `es` takes `es-ES`), else None.
pub fn negotiate(accept_language: &str, offered: &[String]) -> Option<String> {
    let mut wanted: Vec<(u16, usize, String)> = accept_language
        .split(',')
        .enumerate()
        .filter_map(|(position, item)| {
            let mut pieces = item.trim().split(';');
            let tag = pieces.next()?.trim();
            let weight = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // q=0 (or NaN) means "not this one".
            if tag.is_empty() || tag == "*" || weight.is_nan() || weight <= 0.0 {
                return None;
            }
            Some(((weight.min(1.0) * 1000.0) as u16, position, tag.to_string()))
        })
        .collect();
    wanted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, _, tag) in wanted {
        if let Some(exact) = offered.iter().find(|o| o.eq_ignore_ascii_case(&tag)) {
            return Some(exact.clone());
        }
        if let Some(near) = offered
            .iter()
            .find(|o| primary(o).eq_ignore_ascii_case(primary(&tag)))
        {
            return Some(near.clone());
        }
    }
    None
}

/// Which of a portal's emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GuestEmail {
    Credentials,
    ApprovalRequest,
    Denial,
}

impl GuestEmail {
    pub const ALL: [GuestEmail; 3] = [
        GuestEmail::Credentials,
        GuestEmail::ApprovalRequest,
        GuestEmail::Denial,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GuestEmail::Credentials => "credentials",
            GuestEmail::ApprovalRequest => "approval",
            GuestEmail::Denial => "denial",
        }
    }

    pub fn parse(text: &str) -> Option<GuestEmail> {
        GuestEmail::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The text Mailroom ships for this email in `tag`'s language, if any.
    pub fn shipped(self, tag: &str) -> Option<EmailTemplate> {
        match (self, primary(tag)) {
            (GuestEmail::Credentials, "en") => Some(EmailTemplate::ise_default()),
            (GuestEmail::ApprovalRequest, "en") => Some(EmailTemplate::approval_default()),
            (GuestEmail::Denial, "en") => Some(EmailTemplate::denial_default()),
            (GuestEmail::Credentials, "es") => Some(spanish(
                ES_CREDENTIALS_SUBJECT,
                ES_CREDENTIALS_TEXT,
                ES_CREDENTIALS_HTML,
            )),
            (GuestEmail::ApprovalRequest, "es") => Some(spanish(
                ES_APPROVAL_SUBJECT,
                ES_APPROVAL_TEXT,
                ES_APPROVAL_HTML,
            )),
            (GuestEmail::Denial, "es") => {
                Some(spanish(ES_DENIAL_SUBJECT, ES_DENIAL_TEXT, ES_DENIAL_HTML))
            }
            _ => None,
        }
    }
}

fn spanish(subject: &str, text: &str, html: &str) -> EmailTemplate {
    EmailTemplate {
        subject: subject.into(),
        text: text.into(),
        html: html.into(),
    }
}

/// The account expiration notice Mailroom ships for `tag`'s language
/// (subject, text), besides the guest type's own (English) one.
pub fn shipped_expiry_notice(tag: &str) -> Option<(&'static str, &'static str)> {
    match primary(tag) {
        "es" => Some((ES_EXPIRY_SUBJECT, ES_EXPIRY_TEXT)),
        _ => None,
    }
}

pub const ES_CREDENTIALS_SUBJECT: &str = "Sus credenciales de acceso como invitado";
pub const ES_CREDENTIALS_TEXT: &str = "Hola, $ui_first_name$:

Su cuenta de invitado para $ui_portal_name$ ya está lista.

Usuario: $ui_user_name$
Contraseña: $ui_password$
Válida desde el $ui_start_date_time$ hasta el $ui_end_date_time$.

Conéctese a la red Wi-Fi de invitados con estas credenciales.";
pub const ES_CREDENTIALS_HTML: &str = "<p>Hola, $ui_first_name$:</p>
<p>Su cuenta de invitado para <b>$ui_portal_name$</b> ya está lista.</p>
<table>
<tr><td>Usuario:</td><td><b>$ui_user_name$</b></td></tr>
<tr><td>Contraseña:</td><td><b>$ui_password$</b></td></tr>
<tr><td>Válida desde:</td><td>$ui_start_date_time$</td></tr>
<tr><td>Válida hasta:</td><td>$ui_end_date_time$</td></tr>
</table>
<p>Conéctese a la red Wi-Fi de invitados con estas credenciales.</p>";

pub const ES_APPROVAL_SUBJECT: &str =
    "Solicitud de acceso de invitado: $ui_first_name$ $ui_last_name$";
pub const ES_APPROVAL_TEXT: &str = "Hola:

$ui_first_name$ $ui_last_name$ ($ui_email_address$, $ui_company$) se ha registrado para obtener acceso de invitado en $ui_portal_name$ y espera su aprobación.

Aprobar: $ui_approve_link$
Denegar: $ui_deny_link$

Los enlaces caducan pronto y solo pueden usarse una vez.";
pub const ES_APPROVAL_HTML: &str = "<p>Hola:</p>
<p><b>$ui_first_name$ $ui_last_name$</b> ($ui_email_address$, $ui_company$) se ha registrado para obtener acceso de invitado en <b>$ui_portal_name$</b> y espera su aprobación.</p>
<p><a href=\"$ui_approve_link$\">Aprobar</a> &nbsp; <a href=\"$ui_deny_link$\">Denegar</a></p>
<p>Los enlaces caducan pronto y solo pueden usarse una vez.</p>";

pub const ES_DENIAL_SUBJECT: &str = "Su solicitud de acceso de invitado no ha sido aprobada";
pub const ES_DENIAL_TEXT: &str = "Hola, $ui_first_name$:

Su solicitud de acceso de invitado en $ui_portal_name$ no ha sido aprobada.

Póngase en contacto con la persona a la que visita.";
pub const ES_DENIAL_HTML: &str = "<p>Hola, $ui_first_name$:</p>
<p>Su solicitud de acceso de invitado en <b>$ui_portal_name$</b> no ha sido aprobada.</p>
<p>Póngase en contacto con la persona a la que visita.</p>";

pub const ES_EXPIRY_SUBJECT: &str = "Su cuenta de invitado va a caducar";
pub const ES_EXPIRY_TEXT: &str = "Su cuenta de invitado caduca el $ui_end_date_time$. Pida a su patrocinador que la amplíe cuanto antes para evitar interrupciones.";

/// How a moment is written in a guest's emails: the language, and the
/// portal's time zone at that moment (its offset and abbreviation), which
/// the server looks up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalTime {
    pub language: String,
    pub offset_seconds: i32,
    /// `CET`, `EDT`, `UTC`, or an offset such as `+0530`.
    pub zone: String,
}

const EN_MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const ES_MONTHS: [&str; 12] = [
    "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
];

impl LocalTime {
    /// `unix_seconds` in this language and zone: `Nov 30, 2026, 09:00 CET`
    /// in English, `30 nov 2026, 09:00 CET` in Spanish, ISO order in any
    /// other language.
    pub fn format(&self, unix_seconds: i64) -> String {
        let local = unix_seconds + i64::from(self.offset_seconds);
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let seconds = local.rem_euclid(86_400);
        let (hour, minute) = (seconds / 3600, seconds % 3600 / 60);
        let zone = if self.zone.is_empty() {
            "UTC"
        } else {
            &self.zone
        };
        let month_index = (month as usize).saturating_sub(1).min(11);
        match primary(&self.language) {
            "es" => format!(
                "{day} {} {year}, {hour:02}:{minute:02} {zone}",
                ES_MONTHS[month_index]
            ),
            "en" | "" => format!(
                "{} {day}, {year}, {hour:02}:{minute:02} {zone}",
                EN_MONTHS[month_index]
            ),
            _ => format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} {zone}"),
        }
    }
}

/// The self-registration pages' words in one language.
pub struct PortalWords {
    pub title: &'static str,
    pub lead: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub email: &'static str,
    pub company: &'static str,
    pub person_visited: &'static str,
    pub language: &'static str,
    pub aup: &'static str,
    pub agree: &'static str,
    pub register: &'static str,
    pub registering: &'static str,
    pub have_account: &'static str,
    pub sign_in: &'static str,
    pub limited: &'static str,
    pub request_sent: &'static str,
    pub waiting: &'static str,
    pub waiting_lead: &'static str,
    pub account_created: &'static str,
    /// "… valid until {date}."
    pub valid_until: &'static str,
    pub registered: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    /// "… sent to {address}."
    pub sent_to: &'static str,
    pub keep: &'static str,
    pub sign_in_now: &'static str,
    pub sign_in_title: &'static str,
    pub sign_in_lead: &'static str,
    pub sign_on: &'static str,
    pub no_account: &'static str,
    pub register_link: &'static str,
    pub welcome: &'static str,
    /// "… signed in as {user}." then the end of access.
    pub signed_in_as: &'static str,
    pub change_password: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub confirm_password: &'static str,
    pub password_changed: &'static str,
}

const ENGLISH_WORDS: PortalWords = PortalWords {
    title: "Guest Registration",
    lead: "Register for guest access. Your username and password are created for you.",
    first_name: "First name",
    last_name: "Last name",
    email: "Email address",
    company: "Company",
    person_visited: "Person being visited (email)",
    language: "Language",
    aup: "Acceptable Use Policy",
    agree: "I agree to the terms and conditions",
    register: "Register",
    registering: "Registering…",
    have_account: "Already have an account? ",
    sign_in: "Sign in",
    limited: ". Registrations are limited per network.",
    request_sent: "Request sent",
    waiting: "Your registration is waiting for approval.",
    waiting_lead: "The person you are visiting has been asked to approve your access. Your credentials will be sent to you by email once it is approved.",
    account_created: "Account created",
    valid_until: "Your guest access is valid until {}.",
    registered: "You are registered.",
    username: "Username",
    password: "Password",
    sent_to: "Your credentials were sent to {}.",
    keep: "Keep these credentials: they are not sent by email.",
    sign_in_now: "Sign in now",
    sign_in_title: "Guest Sign In",
    sign_in_lead: "Sign in with the username and password you received.",
    sign_on: "Sign On",
    no_account: "No account yet? ",
    register_link: "Register",
    welcome: "Welcome",
    signed_in_as: "You are signed in as {}.",
    change_password: "Change password",
    current_password: "Current password",
    new_password: "New password",
    confirm_password: "Confirm password",
    password_changed: "Your password was changed. Use it from now on.",
};

const SPANISH_WORDS: PortalWords = PortalWords {
    title: "Registro de invitados",
    lead: "Regístrese para obtener acceso como invitado. Su usuario y su contraseña se crean automáticamente.",
    first_name: "Nombre",
    last_name: "Apellidos",
    email: "Correo electrónico",
    company: "Empresa",
    person_visited: "Persona a la que visita (correo electrónico)",
    language: "Idioma",
    aup: "Política de uso aceptable",
    agree: "Acepto los términos y condiciones",
    register: "Registrarse",
    registering: "Registrando…",
    have_account: "¿Ya tiene una cuenta? ",
    sign_in: "Inicie sesión",
    limited: ". El número de registros por red es limitado.",
    request_sent: "Solicitud enviada",
    waiting: "Su registro está pendiente de aprobación.",
    waiting_lead: "Se ha pedido a la persona a la que visita que apruebe su acceso. Recibirá sus credenciales por correo electrónico en cuanto lo apruebe.",
    account_created: "Cuenta creada",
    valid_until: "Su acceso de invitado es válido hasta el {}.",
    registered: "Se ha registrado correctamente.",
    username: "Usuario",
    password: "Contraseña",
    sent_to: "Sus credenciales se han enviado a {}.",
    keep: "Guarde estas credenciales: no se envían por correo electrónico.",
    sign_in_now: "Iniciar sesión ahora",
    sign_in_title: "Acceso de invitados",
    sign_in_lead: "Inicie sesión con el usuario y la contraseña que ha recibido.",
    sign_on: "Iniciar sesión",
    no_account: "¿Aún no tiene cuenta? ",
    register_link: "Regístrese",
    welcome: "Bienvenido",
    signed_in_as: "Ha iniciado sesión como {}.",
    change_password: "Cambiar la contraseña",
    current_password: "Contraseña actual",
    new_password: "Contraseña nueva",
    confirm_password: "Confirme la contraseña",
    password_changed: "Su contraseña se ha cambiado. Úsela a partir de ahora.",
};

/// The self-registration pages' words in `tag`'s language (English for a
/// language they are not written in).
pub fn portal_words(tag: &str) -> &'static PortalWords {
    match primary(tag) {
        "es" => &SPANISH_WORDS,
        _ => &ENGLISH_WORDS,
    }
}

/// `template` with its `{}` replaced by `value`.
pub fn fill(template: &str, value: &str) -> String {
    template.replacen("{}", value, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_normalized_or_refused_by_their_field() {
        assert_eq!(normalize_tag("language", " ES ").unwrap(), "es");
        assert_eq!(normalize_tag("language", "pt_br").unwrap(), "pt-BR");
        assert_eq!(normalize_tag("language", "es-419").unwrap(), "es-419");
        assert_eq!(normalize_tag("language", "zh-hant").unwrap(), "zh-Hant");
        for bad in ["", "e", "english", "es-", "es-MX-x", "e5", "<b>"] {
            assert_eq!(
                normalize_tag("language", bad).unwrap_err().field,
                "language",
                "{bad}"
            );
        }
    }

    #[test]
    fn ers_names_languages_as_ise_does() {
        assert_eq!(from_ers("f", "Spanish").unwrap(), "es");
        assert_eq!(from_ers("f", "english").unwrap(), "en");
        assert_eq!(from_ers("f", "pt-br").unwrap(), "pt-BR");
        assert!(from_ers("f", "Klingon").is_err());
        assert_eq!(ers_name("es"), "Spanish");
        assert_eq!(ers_name(""), "English");
        assert_eq!(ers_name("pt-BR"), "pt-BR");
    }

    #[test]
    fn the_browser_language_picks_the_nearest_offered() {
        let offered = vec!["en".to_string(), "es".to_string(), "fr-CA".to_string()];
        assert_eq!(
            negotiate("es-MX,es;q=0.9,en;q=0.8", &offered).as_deref(),
            Some("es")
        );
        assert_eq!(negotiate("de, en;q=0.5", &offered).as_deref(), Some("en"));
        assert_eq!(negotiate("fr", &offered).as_deref(), Some("fr-CA"));
        assert_eq!(
            negotiate("en;q=0.2, es;q=0.9", &offered).as_deref(),
            Some("es")
        );
        assert_eq!(negotiate("de;q=0, ja", &offered), None);
        assert_eq!(negotiate("", &offered), None);
        assert_eq!(negotiate(";;,,q=", &offered), None);
    }

    #[test]
    fn every_shipped_email_names_only_known_placeholders() {
        for kind in GuestEmail::ALL {
            for tag in SHIPPED {
                let template = kind.shipped(tag).unwrap();
                assert!(template.unknown_placeholders().is_empty(), "{kind:?} {tag}");
            }
            assert_eq!(kind.shipped("es-MX"), kind.shipped("es"));
            assert_eq!(kind.shipped("fr"), None);
        }
        let (subject, text) = shipped_expiry_notice("es").unwrap();
        assert!(super::super::template::unknown_placeholders(subject).is_empty());
        assert!(super::super::template::unknown_placeholders(text).is_empty());
    }

    #[test]
    fn dates_are_written_per_language_in_the_zone() {
        // 2026-11-30 08:00 UTC is 09:00 in Madrid (CET, +1 h).
        let at = 1_795_996_800 + 8 * 3600;
        let madrid = |language: &str| LocalTime {
            language: language.into(),
            offset_seconds: 3600,
            zone: "CET".into(),
        };
        assert_eq!(madrid("en").format(at), "Nov 30, 2026, 09:00 CET");
        assert_eq!(madrid("es").format(at), "30 nov 2026, 09:00 CET");
        assert_eq!(madrid("fr").format(at), "2026-11-30 09:00 CET");
        // A negative offset crossing midnight goes back a day.
        let new_york = LocalTime {
            language: "en".into(),
            offset_seconds: -5 * 3600,
            zone: "EST".into(),
        };
        assert_eq!(new_york.format(1_795_996_800), "Nov 29, 2026, 19:00 EST");
        assert_eq!(LocalTime::default().format(0), "Jan 1, 1970, 00:00 UTC");
    }
}
