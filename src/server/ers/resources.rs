//! `guesttype`, `guestsmtpnotificationsettings`, the portals, the sponsor
//! groups and every resource's `versioninfo`.

use super::guest_users::updated_fields;
use super::wire::{Ctx, ErsError, Fields, Reply, Search, search_result, summary};
use super::{no_content, require_write};
use crate::domain::Access;
use crate::domain::guest::GuestEmailForm;
use crate::domain::guest_type::{GuestType, GuestTypeForm, TimeUnit};
use crate::domain::smtp::SmtpSettingsForm;
use crate::server::db;
use crate::server::db::ers::Named;
use crate::server::service::{guest_types as guest_type_service, guests, smtp};
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

/// The one sponsor portal's GUID (it is not a row: its settings are the
/// sponsor groups').
pub const SPONSOR_PORTAL_ID: &str = "2b5a3e24-1d1c-4c4f-9a6c-5f0d3a2e7b01";
/// The one SMTP settings record's GUID.
pub const SMTP_SETTINGS_ID: &str = "9ecb5340-8c47-11e6-996c-525400b48521";

fn read(ctx: &Ctx) -> Result<(), ErsError> {
    ctx.caller.require(Access::ErsRead).map_err(ErsError::from)
}

fn not_allowed(method: &Method, resource: &str) -> ErsError {
    ErsError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not an operation of {resource} at this path."),
        "Method not allowed",
    )
}

/// `GET /ers/config/{resource}/versioninfo` (also the SDK's CSRF fetch).
pub fn version_info(ctx: &Ctx, resource: &str) -> Result<Reply, ErsError> {
    read(ctx)?;
    if ctx.method != Method::GET {
        return Err(not_allowed(&ctx.method, resource));
    }
    let (current, supported) = match resource {
        "guestuser" => ("2.0", "1.0,1.1,2.0"),
        "guesttype"
        | "guestsmtpnotificationsettings"
        | "sponsorportal"
        | "selfregportal"
        | "sponsorgroup"
        | "endpoint" => ("1.0", "1.0"),
        other => {
            return Err(ErsError::not_found(format!(
                "ERS resource '{other}' is not served by this console."
            )));
        }
    };
    Ok(Reply::ok(json!({"VersionInfo": {
        "currentServerVersion": current,
        "supportedVersions": supported,
        "link": {"rel": "self", "href": ctx.href(resource), "type": "application/json"},
    }})))
}

/// Filters, sorts and pages a small collection in memory: each item's
/// fields by name, as `(id, name, description, fields)`.
fn page_of(
    ctx: &Ctx,
    resource: &str,
    mut items: Vec<(String, String, String, Map<String, Value>)>,
) -> Result<Reply, ErsError> {
    let search = Search::parse(&ctx.query)?;
    let field_text = |item: &(String, String, String, Map<String, Value>),
                      field: &str|
     -> Result<String, ErsError> {
        match field {
            "id" => Ok(item.0.clone()),
            "name" => Ok(item.1.clone()),
            "description" => Ok(item.2.clone()),
            other => match item.3.get(other) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(v) => Ok(v.to_string()),
                None => Err(ErsError::bad(format!(
                    "Unknown {resource} field '{other}': filter or sort by id, name or description."
                ))),
            },
        }
    };
    let mut kept = Vec::new();
    for item in items.drain(..) {
        let mut results = Vec::new();
        for (field, op, value) in &search.filters {
            results.push(op.matches(&field_text(&item, field)?, value));
        }
        let keep = results.is_empty()
            || if search.any {
                results.iter().any(|r| *r)
            } else {
                results.iter().all(|r| *r)
            };
        if keep {
            kept.push(item);
        }
    }
    if let Some((field, ascending)) = &search.sort {
        let mut keyed = Vec::new();
        for item in kept {
            keyed.push((field_text(&item, field)?.to_lowercase(), item));
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        if !ascending {
            keyed.reverse();
        }
        kept = keyed.into_iter().map(|(_, item)| item).collect();
    }
    let total = kept.len() as i64;
    let page = kept
        .iter()
        .skip(usize::try_from(search.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(search.size).unwrap_or(20))
        .map(|item| summary(ctx, resource, &item.0, &item.1, &item.2))
        .collect();
    Ok(Reply::ok(search_result(
        ctx, resource, &search, total, page,
    )))
}

// ---- guesttype ----

const GUEST_TYPE: &str = "guesttype";

pub async fn guest_types(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    read(ctx)?;
    match (ctx.method.clone(), rest) {
        (Method::GET, []) => {
            let guids = Guids::load(ctx, Named::GuestTypes).await?;
            let rows = db::guest_types::list(&ctx.app.db).await?;
            let items = rows
                .iter()
                .filter_map(|row| {
                    let guid = guids.of(row.id)?;
                    Some((guid, row.name.clone(), row.description.clone(), Map::new()))
                })
                .collect();
            page_of(ctx, GUEST_TYPE, items)
        }
        (Method::POST, []) => {
            require_write(&ctx.caller)?;
            let form = merged_guest_type(ctx, GuestType::ise_defaults().remove(1).to_form(), true)?;
            let (id, _) = guest_type_service::save(&ctx.app, &ctx.caller, None, &form).await?;
            let guid = guid_of(ctx, Named::GuestTypes, id).await?;
            Ok(Reply::Created(ctx.href(&format!("{GUEST_TYPE}/{guid}"))))
        }
        (Method::PUT, ["email", id]) => {
            require_write(&ctx.caller)?;
            let row_id = guest_type_id(ctx, id).await?;
            let form = guest_type_service::get(&ctx.app, &ctx.caller, row_id)
                .await?
                .form;
            let to = match ctx.additional("emailAddress")? {
                Some(to) => to,
                None => Fields(&ctx.body_object("GuestType")?)
                    .text("emailAddress")?
                    .unwrap_or_default(),
            };
            if to.trim().is_empty() {
                return Err(ErsError::bad(
                    "Name the address to send the test to: OperationAdditionalData.additionalData [{\"name\": \"emailAddress\", \"value\": \"you@example.com\"}].",
                ));
            }
            let result =
                guest_type_service::send_test_notice(&ctx.app, &ctx.caller, &form, &to).await?;
            if result.status != crate::domain::mail::MailStatus::Sent {
                let why = result
                    .diagnosis
                    .as_ref()
                    .map(|d| format!("{} {} {}", d.code, d.message, d.hint))
                    .or(result.reply.clone())
                    .unwrap_or_else(|| format!("it is {}", result.status.label()));
                return Err(ErsError::crud(format!(
                    "The test email was not delivered: {why}"
                )));
            }
            Ok(no_content())
        }
        (Method::GET, [id]) => {
            let row_id = guest_type_id(ctx, id).await?;
            let edit = guest_type_service::get(&ctx.app, &ctx.caller, row_id).await?;
            Ok(Reply::ok(show_guest_type(ctx, id, &edit.form).await?))
        }
        (Method::PUT, [id]) => {
            require_write(&ctx.caller)?;
            let row_id = guest_type_id(ctx, id).await?;
            let before = guest_type_service::get(&ctx.app, &ctx.caller, row_id)
                .await?
                .form;
            let after = merged_guest_type(ctx, before.clone(), false)?;
            guest_type_service::save(&ctx.app, &ctx.caller, Some(row_id), &after).await?;
            Ok(Reply::ok(updated_fields(guest_type_changes(
                &before, &after,
            ))))
        }
        (Method::DELETE, [id]) => {
            require_write(&ctx.caller)?;
            let row_id = guest_type_id(ctx, id).await?;
            guest_type_service::delete(&ctx.app, &ctx.caller, &[row_id]).await?;
            Ok(no_content())
        }
        (method, _) => Err(not_allowed(&method, GUEST_TYPE)),
    }
}

/// Row ids and their GUIDs in one table (guest types, portals and sponsor
/// groups are few).
struct Guids(Vec<(i64, String)>);

impl Guids {
    async fn load(ctx: &Ctx, named: Named) -> Result<Guids, ErsError> {
        Ok(Guids(db::ers::all_ids(&ctx.app.db, named).await?))
    }

    fn of(&self, id: i64) -> Option<String> {
        self.0
            .iter()
            .find(|(row, _)| *row == id)
            .map(|(_, guid)| guid.clone())
    }
}

async fn guid_of(ctx: &Ctx, named: Named, id: i64) -> Result<String, ErsError> {
    Guids::load(ctx, named)
        .await?
        .of(id)
        .ok_or_else(ErsError::internal)
}

async fn guest_type_id(ctx: &Ctx, guid: &str) -> Result<i64, ErsError> {
    db::ers::row_id(&ctx.app.db, Named::GuestTypes, guid)
        .await?
        .ok_or_else(|| ErsError::not_found(format!("Guest type with id '{guid}' not found.")))
}

/// Days from ISE's duration and unit (Mailroom keeps whole days).
fn to_days(amount: i64, unit: &str, field: &str) -> Result<String, ErsError> {
    let days = match unit.to_ascii_uppercase().as_str() {
        "DAYS" => amount,
        "HOURS" => (amount + 23) / 24,
        "MINUTES" => (amount + 1439) / 1440,
        "WEEKS" => amount.saturating_mul(7),
        _ => {
            return Err(ErsError::bad(format!(
                "Invalid accessTime.durationTimeUnit '{unit}': DAYS, HOURS or MINUTES."
            )));
        }
    };
    if amount < 0 {
        return Err(ErsError::bad(format!(
            "Invalid {field}: {amount} is negative."
        )));
    }
    Ok(days.to_string())
}

/// The GuestType body over `base`: fields the body does not name keep
/// their value.
fn merged_guest_type(
    ctx: &Ctx,
    base: GuestTypeForm,
    creating: bool,
) -> Result<GuestTypeForm, ErsError> {
    let object = ctx.body_object("GuestType")?;
    let f = Fields(&object);
    let mut form = base;
    if creating {
        form.name = String::new();
        form.description = String::new();
    }
    if let Some(name) = f.text("name")? {
        form.name = name;
    }
    if let Some(description) = f.text("description")? {
        form.description = description;
    }
    let unit = f
        .text("accessTime.durationTimeUnit")?
        .unwrap_or_else(|| "DAYS".into());
    if let Some(max) = f.integer("accessTime.maxAccountDuration")? {
        form.max_days = to_days(max, &unit, "accessTime.maxAccountDuration")?;
    }
    if let Some(default) = f.integer("accessTime.defaultDuration")? {
        form.default_days = to_days(default, &unit, "accessTime.defaultDuration")?;
    }
    if let Some(enabled) = f.boolean("expirationNotification.enableNotification")? {
        form.notify_enabled = enabled;
    }
    if let Some(send_email) = f.boolean("expirationNotification.sendEmailNotification")?
        && !send_email
    {
        form.notify_enabled = false;
    }
    if let Some(advance) = f.integer("expirationNotification.advanceNotificationDuration")? {
        form.notify_advance = advance.to_string();
    }
    if let Some(unit) = f.text("expirationNotification.advanceNotificationUnits")? {
        form.notify_unit = TimeUnit::parse(&unit.to_ascii_lowercase())
            .ok_or_else(|| {
                ErsError::bad(format!(
                    "Invalid expirationNotification.advanceNotificationUnits '{unit}': DAYS, HOURS or MINUTES."
                ))
            })?
            .as_str()
            .to_string();
    }
    if let Some(text) = f.text("expirationNotification.emailText")? {
        form.notify_text = text;
    }
    // Accepted for ISE compatibility; sponsor groups choose guest types
    // on their own page here.
    let _ = f.strings("sponsorGroups")?;
    Ok(form)
}

fn guest_type_changes(
    before: &GuestTypeForm,
    after: &GuestTypeForm,
) -> Vec<(&'static str, String, String)> {
    let mut changed = Vec::new();
    let mut compare = |field: &'static str, old: String, new: String| {
        if old != new {
            changed.push((field, old, new));
        }
    };
    compare("name", before.name.clone(), after.name.clone());
    compare(
        "description",
        before.description.clone(),
        after.description.clone(),
    );
    compare(
        "accessTime.maxAccountDuration",
        before.max_days.clone(),
        after.max_days.clone(),
    );
    compare(
        "accessTime.defaultDuration",
        before.default_days.clone(),
        after.default_days.clone(),
    );
    compare(
        "expirationNotification.enableNotification",
        before.notify_enabled.to_string(),
        after.notify_enabled.to_string(),
    );
    compare(
        "expirationNotification.advanceNotificationDuration",
        before.notify_advance.clone(),
        after.notify_advance.clone(),
    );
    compare(
        "expirationNotification.advanceNotificationUnits",
        before.notify_unit.to_ascii_uppercase(),
        after.notify_unit.to_ascii_uppercase(),
    );
    compare(
        "expirationNotification.emailText",
        before.notify_text.clone(),
        after.notify_text.clone(),
    );
    changed
}

async fn show_guest_type(ctx: &Ctx, guid: &str, form: &GuestTypeForm) -> Result<Value, ErsError> {
    let number = |s: &str| s.parse::<i64>().unwrap_or_default();
    let groups: Vec<String> = db::sponsors::groups(&ctx.app.db)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(json!({"GuestType": {
        "id": guid,
        "name": form.name,
        "description": form.description,
        "isDefaultType": form.name.ends_with("(default)"),
        "accessTime": {
            "fromFirstLogin": false,
            "maxAccountDuration": number(&form.max_days),
            "durationTimeUnit": "DAYS",
            "defaultDuration": number(&form.default_days),
            "allowAccessOnSpecificDaysTimes": false,
        },
        "loginOptions": {
            "limitSimultaneousLogins": false,
            "allowGuestPortalBypass": false,
        },
        "expirationNotification": {
            "enableNotification": form.notify_enabled,
            "advanceNotificationDuration": number(&form.notify_advance),
            "advanceNotificationUnits": form.notify_unit.to_ascii_uppercase(),
            "sendEmailNotification": form.notify_enabled,
            "sendSmsNotification": false,
            "emailText": form.notify_text,
        },
        "sponsorGroups": groups,
        "link": ctx.link(&format!("{GUEST_TYPE}/{guid}")),
    }}))
}

// ---- guestsmtpnotificationsettings ----

const SMTP: &str = "guestsmtpnotificationsettings";

pub async fn smtp(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    read(ctx)?;
    match (ctx.method.clone(), rest) {
        (Method::GET, []) => page_of(
            ctx,
            SMTP,
            vec![(
                SMTP_SETTINGS_ID.to_string(),
                "GuestSmtpNotificationSettings".to_string(),
                String::new(),
                Map::new(),
            )],
        ),
        (Method::POST, []) => {
            require_write(&ctx.caller)?;
            Err(ErsError::crud(format!(
                "The guest SMTP notification settings exist once: update them with PUT /ers/config/{SMTP}/{SMTP_SETTINGS_ID}."
            )))
        }
        (Method::GET, [id]) => {
            smtp_id(id)?;
            let (form, email) = smtp_current(ctx).await?;
            Ok(Reply::ok(show_smtp(ctx, &form, &email)))
        }
        (Method::PUT, [id]) => {
            require_write(&ctx.caller)?;
            smtp_id(id)?;
            update_smtp(ctx).await
        }
        (method, _) => Err(not_allowed(&method, SMTP)),
    }
}

fn smtp_id(id: &str) -> Result<(), ErsError> {
    if id.eq_ignore_ascii_case(SMTP_SETTINGS_ID) {
        Ok(())
    } else {
        Err(ErsError::not_found(format!(
            "Guest SMTP notification settings with id '{id}' not found (the one record is {SMTP_SETTINGS_ID})."
        )))
    }
}

async fn smtp_current(ctx: &Ctx) -> Result<(SmtpSettingsForm, GuestEmailForm), ErsError> {
    let page = smtp::get(&ctx.app, &ctx.caller).await?;
    let email = guests::email_settings(&ctx.app, &ctx.caller).await?.form;
    Ok((page.form, email))
}

fn show_smtp(ctx: &Ctx, form: &SmtpSettingsForm, email: &GuestEmailForm) -> Value {
    let password_auth = form.use_authentication && form.auth_type == "password";
    json!({"ERSGuestSmtpNotificationSettings": {
        "id": SMTP_SETTINGS_ID,
        "name": "GuestSmtpNotificationSettings",
        "description": "",
        "smtpServer": form.smtp_server,
        "smtpPort": form.smtp_port,
        "connectionTimeout": form.connection_timeout,
        "notificationEnabled": email.enabled,
        "useDefaultFromAddress": !email.from_sponsor,
        "defaultFromAddress": email.default_from,
        "useTLSorSSLEncryption": form.use_tls,
        "usePasswordAuthentication": password_auth,
        "userName": if password_auth { form.username.clone() } else { String::new() },
        "link": ctx.link(&format!("{SMTP}/{SMTP_SETTINGS_ID}")),
    }})
}

/// Connection fields change only after Test Connection passes with the
/// merged values (the page's rule); the guest email fields save directly.
async fn update_smtp(ctx: &Ctx) -> Result<Reply, ErsError> {
    let object = ctx.body_object("ERSGuestSmtpNotificationSettings")?;
    let f = Fields(&object);
    let (before, email_before) = smtp_current(ctx).await?;
    let mut form = before.clone();
    if let Some(server) = f.text("smtpServer")? {
        form.smtp_server = server;
    }
    if let Some(port) = f.integer("smtpPort")? {
        form.smtp_port = port.to_string();
    }
    if let Some(timeout) = f.integer("connectionTimeout")? {
        form.connection_timeout = timeout.to_string();
    }
    if let Some(tls) = f.boolean("useTLSorSSLEncryption")? {
        form.use_tls = tls;
    }
    if let Some(password_auth) = f.boolean("usePasswordAuthentication")? {
        if password_auth {
            form.use_authentication = true;
            form.auth_type = "password".into();
        } else if form.auth_type == "password" {
            form.use_authentication = false;
        }
    }
    if let Some(user) = f.text("userName")? {
        form.username = user;
    }
    let new_password = f.text("password")?.filter(|p| !p.is_empty());
    if let Some(password) = &new_password {
        form.password = password.clone();
    }
    let mut email = email_before.clone();
    if let Some(enabled) = f.boolean("notificationEnabled")? {
        email.enabled = enabled;
    }
    if let Some(from) = f.text("defaultFromAddress")? {
        email.default_from = from;
    }
    if let Some(use_default) = f.boolean("useDefaultFromAddress")? {
        email.from_sponsor = !use_default;
    }
    let connection_changed = form.smtp_server != before.smtp_server
        || form.smtp_port != before.smtp_port
        || form.connection_timeout != before.connection_timeout
        || form.use_tls != before.use_tls
        || form.use_authentication != before.use_authentication
        || form.auth_type != before.auth_type
        || form.username != before.username
        || new_password.is_some();
    let mut changed = Vec::new();
    let mut compare = |field: &'static str, old: String, new: String| {
        if old != new {
            changed.push((field, old, new));
        }
    };
    compare(
        "smtpServer",
        before.smtp_server.clone(),
        form.smtp_server.clone(),
    );
    compare("smtpPort", before.smtp_port.clone(), form.smtp_port.clone());
    compare(
        "connectionTimeout",
        before.connection_timeout.clone(),
        form.connection_timeout.clone(),
    );
    compare(
        "useTLSorSSLEncryption",
        before.use_tls.to_string(),
        form.use_tls.to_string(),
    );
    compare(
        "usePasswordAuthentication",
        (before.use_authentication && before.auth_type == "password").to_string(),
        (form.use_authentication && form.auth_type == "password").to_string(),
    );
    compare("userName", before.username.clone(), form.username.clone());
    compare(
        "notificationEnabled",
        email_before.enabled.to_string(),
        email.enabled.to_string(),
    );
    compare(
        "defaultFromAddress",
        email_before.default_from.clone(),
        email.default_from.clone(),
    );
    compare(
        "useDefaultFromAddress",
        (!email_before.from_sponsor).to_string(),
        (!email.from_sponsor).to_string(),
    );
    if new_password.is_some() {
        changed.push(("password", "********".into(), "********".into()));
    }
    if email != email_before {
        // Checked before anything is saved, so a bad address changes nothing.
        email
            .validate()
            .map_err(|e| ErsError::from(crate::server::service::ServiceError::Invalid(e)))?;
    }
    if connection_changed {
        let report = smtp::test_connection(&ctx.app, &ctx.caller, &form).await?;
        if !report.passed() {
            let diagnosis = report
                .diagnosis
                .as_ref()
                .map(|d| format!("{} {}: {} {}", d.step.label(), d.code, d.message, d.hint))
                .unwrap_or_else(|| report.summary.clone());
            return Err(ErsError::crud(format!(
                "Test Connection failed with the new values, so nothing was saved. {diagnosis}"
            )));
        }
        smtp::save(&ctx.app, &ctx.caller, &form).await?;
    }
    if email != email_before {
        guests::save_email_settings(&ctx.app, &ctx.caller, &email).await?;
    }
    Ok(Reply::ok(updated_fields(changed)))
}

// ---- portals and sponsor groups ----

pub async fn sponsor_portals(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    read(ctx)?;
    let name = crate::server::service::sponsors::SPONSOR_PORTAL;
    let description = "The sponsor portal: sponsors create and manage guest accounts.";
    match (ctx.method.clone(), rest) {
        (Method::GET, []) => page_of(
            ctx,
            "sponsorportal",
            vec![(
                SPONSOR_PORTAL_ID.into(),
                name.into(),
                description.into(),
                Map::new(),
            )],
        ),
        (Method::GET, [id]) if id.eq_ignore_ascii_case(SPONSOR_PORTAL_ID) => {
            Ok(Reply::ok(json!({"SponsorPortal": {
                "id": SPONSOR_PORTAL_ID,
                "name": name,
                "description": description,
                "portalType": "SPONSOR",
                "portalTestUrl": format!("{}/sponsor", ctx.base),
                "link": ctx.link(&format!("sponsorportal/{SPONSOR_PORTAL_ID}")),
            }})))
        }
        (Method::GET, [id]) => Err(ErsError::not_found(format!(
            "Sponsor portal with id '{id}' not found."
        ))),
        (method, _) => Err(not_allowed(&method, "sponsorportal")),
    }
}

pub async fn self_reg_portals(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    read(ctx)?;
    let guids = Guids::load(ctx, Named::GuestPortals).await?;
    let portals = db::portals::list(&ctx.app.db).await?;
    let guid = |id: i64| guids.of(id).unwrap_or_default();
    match (ctx.method.clone(), rest) {
        (Method::GET, []) => page_of(
            ctx,
            "selfregportal",
            portals
                .iter()
                .map(|p| {
                    (
                        guid(p.id),
                        p.name.clone(),
                        p.description.clone(),
                        Map::new(),
                    )
                })
                .collect(),
        ),
        (Method::GET, [id]) => {
            let portal = portals
                .iter()
                .find(|p| guid(p.id).eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    ErsError::not_found(format!("Self-registered portal with id '{id}' not found."))
                })?;
            let guid = guid(portal.id);
            Ok(Reply::ok(json!({"SelfRegPortal": {
                "id": guid,
                "name": portal.name,
                "description": portal.description,
                "portalType": "SELFREGGUEST",
                "portalTestUrl": format!("{}/portal/{}", ctx.base, portal.id),
                "link": ctx.link(&format!("selfregportal/{guid}")),
            }})))
        }
        (method, _) => Err(not_allowed(&method, "selfregportal")),
    }
}

pub async fn sponsor_groups(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    read(ctx)?;
    let guids = Guids::load(ctx, Named::SponsorGroups).await?;
    let groups = db::sponsors::groups(&ctx.app.db).await?;
    let guid = |id: i64| guids.of(id).unwrap_or_default();
    match (ctx.method.clone(), rest) {
        (Method::GET, []) => page_of(
            ctx,
            "sponsorgroup",
            groups
                .iter()
                .map(|g| {
                    (
                        guid(g.id),
                        g.name.clone(),
                        g.description.clone(),
                        Map::new(),
                    )
                })
                .collect(),
        ),
        (Method::GET, [id]) => {
            let group = groups
                .iter()
                .find(|g| guid(g.id).eq_ignore_ascii_case(id))
                .ok_or_else(|| {
                    ErsError::not_found(format!("Sponsor group with id '{id}' not found."))
                })?;
            let permissions = group.permissions();
            let guid = guid(group.id);
            Ok(Reply::ok(json!({"SponsorGroup": {
                "id": guid,
                "name": group.name,
                "description": group.description,
                "isEnabled": true,
                "isDefaultGroup": group.name.ends_with("(default)"),
                "otherPermissions": {
                    "canCreateRandomAccounts": permissions.can_create,
                    "canImportMultipleAccounts": permissions.can_create,
                    "canResetGuestPasswords": permissions.can_reset,
                    "canExtendGuestAccounts": permissions.can_extend,
                    "canSuspendGuestAccounts": permissions.can_suspend,
                    "canDeleteGuestAccounts": permissions.can_delete,
                    "canSendEmailNotifications": permissions.can_resend,
                },
                "link": ctx.link(&format!("sponsorgroup/{guid}")),
            }})))
        }
        (method, _) => Err(not_allowed(&method, "sponsorgroup")),
    }
}
