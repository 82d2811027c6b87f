//! Guest accounts managed through the ERS API (`guestuser`): created with
//! the caller's values, updated field by field, and acted on with the
//! sponsor portal's own rules (`sponsors::run_action`), every write
//! audited under the caller.
//!
//! The caller is an admin with an ERS role (every account), or a sponsor
//! (`sponsor` is set) whose group grants the Guest REST API: then the
//! group's permissions and scope apply, as on the sponsor portal.

use super::sponsors::{Actor, SponsorCaller, run_action};
use super::{Caller, ServiceError, audit};
use crate::domain::guest::GuestState;
use crate::domain::sponsor::{ActionReport, GuestAction, SponsorPermissions};
use crate::domain::{Access, EmailAddress, Secret};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::ers::ErsGuestRow;
use crate::server::db::guests::Scope;
use crate::server::guests::{
    GuestExtras, NewAccount, PASSWORD_PURPOSE, SponsorRef, create_accounts, hash_guest_password,
};

/// The portal name guests created through the API carry unless the
/// request names a portal.
pub const API_PORTAL: &str = crate::server::service::sponsors::SPONSOR_PORTAL;

/// A guest's fields as the API sends them: `None` keeps the stored value
/// (an update merges), or takes the default (a creation).
#[derive(Debug, Clone, Default)]
pub struct GuestInput {
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub company: Option<String>,
    pub phone: Option<String>,
    pub person_visited: Option<String>,
    pub reason_for_visit: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    /// `guestInfo.notificationLanguage`: ISE's name (`Spanish`) or a tag.
    pub language: Option<String>,
    /// The guest type's name.
    pub guest_type: Option<String>,
    /// Unix seconds.
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub valid_days: Option<i64>,
}

/// A credentials template and the portal name it belongs to.
#[derive(Debug, Clone)]
pub struct PortalTemplate {
    pub portal_name: String,
    /// Its texts in every language.
    pub template: crate::domain::portal::PortalSettings,
}

/// `guestInfo.notificationLanguage` as a tag; None when not sent.
fn notification_language(value: Option<&str>) -> Result<Option<String>, ServiceError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => Ok(Some(crate::domain::language::from_ers(
            "guestInfo.notificationLanguage",
            value,
        )?)),
    }
}

fn not_found() -> ServiceError {
    ServiceError::NotFound("Guest user not found.".into())
}

const MAX_FIELD: usize = 256;

fn text(value: Option<&String>, field: &str) -> Result<Option<String>, ServiceError> {
    match value {
        None => Ok(None),
        Some(v) if v.chars().count() > MAX_FIELD || v.contains(['\r', '\n']) => {
            Err(ServiceError::invalid(
                field,
                format!("{field} must be one line of at most {MAX_FIELD} characters."),
            ))
        }
        Some(v) => Ok(Some(v.trim().to_string())),
    }
}

fn email(value: Option<&String>) -> Result<Option<String>, ServiceError> {
    match value.map(|v| v.trim()) {
        None => Ok(None),
        Some("") => Ok(Some(String::new())),
        Some(v) => EmailAddress::parse("guestInfo.emailAddress", v)
            .map(|e| Some(e.as_str().to_string()))
            .map_err(|e| {
                ServiceError::invalid(
                    "guestInfo.emailAddress",
                    format!("Invalid guestInfo.emailAddress '{v}': {}", e.message),
                )
            }),
    }
}

/// The access window from the input's dates and days, checked against the
/// guest type's maximum. Without dates access starts now for the type's
/// default duration.
fn access_window(
    input: &GuestInput,
    now: i64,
    current: Option<(i64, i64)>,
    default_days: u32,
    max_days: u32,
) -> Result<(i64, i64), ServiceError> {
    let from = input.valid_from.or(current.map(|c| c.0)).unwrap_or(now);
    let until = match (input.valid_until, input.valid_days) {
        (Some(until), _) => until,
        (None, Some(days)) if input.valid_from.is_some() || current.is_none() => {
            from + days.clamp(0, 100_000) * 86_400
        }
        (None, _) => current
            .map(|c| c.1)
            .unwrap_or(from + i64::from(default_days) * 86_400),
    };
    if until <= from {
        return Err(ServiceError::invalid(
            "guestAccessInfo.toDate",
            "guestAccessInfo.toDate must be after guestAccessInfo.fromDate.",
        ));
    }
    let days = (until - from + 86_399) / 86_400;
    if let Some(valid_days) = input.valid_days
        && input.valid_from.is_some()
        && input.valid_until.is_some()
        && valid_days != days
    {
        return Err(ServiceError::invalid(
            "guestAccessInfo.validDays",
            format!(
                "guestAccessInfo.validDays is {valid_days}, but fromDate to toDate spans {days} day(s)."
            ),
        ));
    }
    if days > i64::from(max_days) {
        return Err(ServiceError::invalid(
            "guestAccessInfo.validDays",
            format!(
                "The access of {days} day(s) exceeds the guest type's maximum of {max_days} day(s)."
            ),
        ));
    }
    Ok((from, until))
}

async fn guest_type(
    app: &AppState,
    name: &str,
) -> Result<db::guest_types::GuestTypeRow, ServiceError> {
    db::guest_types::find_by_name(&app.db, name.trim())
        .await?
        .ok_or_else(|| {
            ServiceError::invalid(
                "guestType",
                format!("Guest type '{}' does not exist.", name.trim()),
            )
        })
}

fn check_username(name: &str) -> Result<(), ServiceError> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '+'));
    if valid {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "guestInfo.userName",
            "guestInfo.userName must be 1 to 64 letters, digits or . _ - @ +.",
        ))
    }
}

fn check_password(password: &Secret) -> Result<(), ServiceError> {
    let length = password.expose().chars().count();
    if (4..=128).contains(&length) && !password.expose().contains(['\r', '\n']) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "guestInfo.password",
            "guestInfo.password must be 4 to 128 characters on one line.",
        ))
    }
}

/// The sponsor portal's permission an operation needs.
type Needs = fn(&SponsorPermissions) -> bool;

/// Reading: an ERS role, or a sponsor group with the Guest REST API.
fn check_read(caller: &Caller, sponsor: Option<&SponsorCaller>) -> Result<(), ServiceError> {
    match sponsor {
        None => caller.require(Access::ErsRead),
        Some(s) => s.require(s.permissions().can_use_api, "use the Guest REST API"),
    }
}

/// Changing: ERS Admin (or Super Admin), or a sponsor whose group allows
/// both the API and this operation.
fn check_write(
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    needs: Needs,
    what: &str,
) -> Result<(), ServiceError> {
    match sponsor {
        None => caller.require(Access::ErsWrite),
        Some(s) => {
            check_read(caller, sponsor)?;
            s.require(needs(&s.permissions()), what)
        }
    }
}

/// The accounts the caller manages.
fn scope(sponsor: Option<&SponsorCaller>) -> Scope {
    sponsor.map_or(Scope::All, SponsorCaller::scope)
}

/// Whether `row` is among the accounts the caller manages.
fn sees(sponsor: Option<&SponsorCaller>, row: &ErsGuestRow) -> bool {
    match scope(sponsor) {
        Scope::All => true,
        Scope::Group(group) => row.sponsor_group_id == Some(group),
        Scope::Own(user) => row.sponsor_id == Some(user),
    }
}

/// The account named by its ERS id, if the caller manages it (another
/// sponsor's account is as unknown as a missing one).
pub async fn get(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    guid: &str,
) -> Result<Option<ErsGuestRow>, ServiceError> {
    check_read(caller, sponsor)?;
    Ok(db::ers::guest_by_guid(&app.db, guid)
        .await?
        .filter(|row| sees(sponsor, row)))
}

/// The account named `name`, if the caller manages it.
pub async fn get_by_name(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    name: &str,
) -> Result<Option<ErsGuestRow>, ServiceError> {
    check_read(caller, sponsor)?;
    Ok(db::ers::guest_by_name(&app.db, name)
        .await?
        .filter(|row| sees(sponsor, row)))
}

/// One page of the accounts the caller manages that match `query`.
pub async fn list(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    mut query: db::ers::GuestQuery,
) -> Result<(Vec<ErsGuestRow>, i64), ServiceError> {
    check_read(caller, sponsor)?;
    query.scope = Some(scope(sponsor));
    Ok(db::ers::guests(&app.db, &query).await?)
}

/// Audit records name a sponsor as such.
fn auditor(caller: &Caller, sponsor: Option<&SponsorCaller>) -> Caller {
    match sponsor {
        None => caller.clone(),
        Some(s) => Caller {
            name: format!("{} (sponsor)", s.user.username),
            role: crate::domain::Role::ReadOnlyAdmin,
            admin_id: None,
            client_ip: s.client_ip.clone(),
            via_api: true,
        },
    }
}

/// Creates one guest account; its credentials email is queued in the same
/// transaction when the guest has an address and guest email is on.
pub async fn create(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    input: &GuestInput,
    portal: Option<PortalTemplate>,
) -> Result<i64, ServiceError> {
    check_write(caller, sponsor, |p| p.can_create, "create accounts")?;
    let type_name = input.guest_type.as_deref().ok_or_else(|| {
        ServiceError::invalid("guestType", "guestType is required: name a guest type.")
    })?;
    let type_row = guest_type(app, type_name).await?;
    let kind = type_row.guest_type();
    let username = text(input.username.as_ref(), "guestInfo.userName")?;
    if let Some(name) = &username {
        check_username(name)?;
        if db::guests::username_taken(&app.db, name).await? {
            return Err(ServiceError::Conflict(format!(
                "Guest user '{name}' already exists."
            )));
        }
    }
    if let Some(password) = &input.password {
        check_password(password)?;
    }
    let email = email(input.email.as_ref())?.unwrap_or_default();
    let first_name = text(input.first_name.as_ref(), "guestInfo.firstName")?.unwrap_or_default();
    let last_name = text(input.last_name.as_ref(), "guestInfo.lastName")?.unwrap_or_default();
    if username.is_none() && email.is_empty() && first_name.is_empty() && last_name.is_empty() {
        return Err(ServiceError::invalid(
            "guestInfo.userName",
            "guestInfo needs a userName, an emailAddress or a name to make the user name from.",
        ));
    }
    let now = app.now();
    let (valid_from, valid_until) =
        access_window(input, now, None, kind.default_days, kind.max_days)?;
    let reference = match sponsor {
        Some(s) => SponsorRef {
            id: Some(s.user.id),
            group_id: Some(s.group.id),
            username: s.user.username.clone(),
            email: s.user.email.clone(),
        },
        None => SponsorRef {
            id: None,
            group_id: None,
            username: caller.name.clone(),
            email: match caller.admin_id {
                Some(id) => db::admins::by_id(&app.db, id)
                    .await?
                    .and_then(|a| a.email)
                    .unwrap_or_default(),
                None => String::new(),
            },
        },
    };
    let account = NewAccount {
        first_name,
        last_name,
        email: (!email.is_empty())
            .then(|| EmailAddress::parse("guestInfo.emailAddress", &email).ok())
            .flatten(),
        company: text(input.company.as_ref(), "guestInfo.company")?.unwrap_or_default(),
        person_visited: text(input.person_visited.as_ref(), "personBeingVisited")?
            .unwrap_or_default(),
        guest_type_id: type_row.id,
        valid_from,
        valid_until,
        sponsor: Some(reference.clone()),
        portal: portal
            .as_ref()
            .map_or_else(|| API_PORTAL.to_string(), |p| p.portal_name.clone()),
        registered_ip: None,
        username,
        password: input.password.clone(),
        extras: GuestExtras {
            phone: text(input.phone.as_ref(), "guestInfo.phoneNumber")?.unwrap_or_default(),
            location: text(input.location.as_ref(), "guestAccessInfo.location")?
                .unwrap_or_default(),
            reason_for_visit: text(input.reason_for_visit.as_ref(), "reasonForVisit")?
                .unwrap_or_default(),
            description: text(input.description.as_ref(), "description")?.unwrap_or_default(),
        },
        language: notification_language(input.language.as_deref())?.unwrap_or_default(),
    };
    let template = match portal {
        Some(portal) => Some(portal.template),
        None => crate::server::guests::sponsor_template(app).await?,
    };
    let created = create_accounts(
        app,
        &[account],
        template.as_ref(),
        None,
        &reference.username,
    )
    .await?;
    let created = created
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::internal("no guest account was created"))?;
    let mut tx = db::begin_write(&app.db).await?;
    audit(
        &mut tx,
        &auditor(caller, sponsor),
        now,
        "create",
        &format!("Guest {}", created.username),
        "created",
    )
    .await?;
    tx.commit().await?;
    Ok(created.id)
}

/// One changed field: its ERS name, old and new value.
pub type ChangedField = (&'static str, String, String);

/// Changes the named fields of an account; the changed fields, as
/// `UpdatedFieldsList` reports them. Names, password and state do not
/// change here (Reset Password, Suspend and Reinstate do).
pub async fn update(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    row: &ErsGuestRow,
    input: &GuestInput,
) -> Result<Vec<ChangedField>, ServiceError> {
    check_write(caller, sponsor, |p| p.can_create, "edit accounts")?;
    if !sees(sponsor, row) {
        return Err(not_found());
    }
    if let Some(name) = &input.username
        && !name.trim().eq_ignore_ascii_case(&row.username)
    {
        return Err(ServiceError::invalid(
            "guestInfo.userName",
            "guestInfo.userName cannot change: delete the guest and create it again.",
        ));
    }
    if input.password.is_some() {
        return Err(ServiceError::invalid(
            "guestInfo.password",
            "guestInfo.password cannot be set by an update: use resetpassword.",
        ));
    }
    let type_row = guest_type(app, input.guest_type.as_deref().unwrap_or(&row.guest_type)).await?;
    let kind = type_row.guest_type();
    let now = app.now();
    let window_changed = input.valid_from.is_some()
        || input.valid_until.is_some()
        || input.valid_days.is_some()
        || type_row.name != row.guest_type;
    let (valid_from, valid_until) = if window_changed {
        access_window(
            input,
            now,
            Some((row.valid_from, row.valid_until)),
            kind.default_days,
            kind.max_days,
        )?
    } else {
        (row.valid_from, row.valid_until)
    };
    let pick = |new: Option<String>, old: &str| new.unwrap_or_else(|| old.to_string());
    let details = db::ers::GuestDetailsUpdate {
        first_name: pick(
            text(input.first_name.as_ref(), "guestInfo.firstName")?,
            &row.first_name,
        ),
        last_name: pick(
            text(input.last_name.as_ref(), "guestInfo.lastName")?,
            &row.last_name,
        ),
        email: pick(email(input.email.as_ref())?, &row.email),
        company: pick(
            text(input.company.as_ref(), "guestInfo.company")?,
            &row.company,
        ),
        phone: pick(
            text(input.phone.as_ref(), "guestInfo.phoneNumber")?,
            &row.phone,
        ),
        person_visited: pick(
            text(input.person_visited.as_ref(), "personBeingVisited")?,
            &row.person_visited,
        ),
        reason_for_visit: pick(
            text(input.reason_for_visit.as_ref(), "reasonForVisit")?,
            &row.reason_for_visit,
        ),
        description: pick(
            text(input.description.as_ref(), "description")?,
            &row.description,
        ),
        location: pick(
            text(input.location.as_ref(), "guestAccessInfo.location")?,
            &row.location,
        ),
        language: pick(
            notification_language(input.language.as_deref())?,
            &row.language,
        ),
        guest_type_id: type_row.id,
        valid_from,
        valid_until,
    };
    let mut changed: Vec<ChangedField> = Vec::new();
    let mut compare = |field: &'static str, old: &str, new: &str| {
        if old != new {
            changed.push((field, old.to_string(), new.to_string()));
        }
    };
    compare("guestInfo.firstName", &row.first_name, &details.first_name);
    compare("guestInfo.lastName", &row.last_name, &details.last_name);
    compare("guestInfo.emailAddress", &row.email, &details.email);
    compare("guestInfo.company", &row.company, &details.company);
    compare("guestInfo.phoneNumber", &row.phone, &details.phone);
    compare(
        "personBeingVisited",
        &row.person_visited,
        &details.person_visited,
    );
    compare(
        "reasonForVisit",
        &row.reason_for_visit,
        &details.reason_for_visit,
    );
    compare("description", &row.description, &details.description);
    compare("guestAccessInfo.location", &row.location, &details.location);
    compare(
        "guestInfo.notificationLanguage",
        &row.language,
        &details.language,
    );
    compare("guestType", &row.guest_type, &type_row.name);
    compare(
        "guestAccessInfo.fromDate",
        &row.valid_from.to_string(),
        &valid_from.to_string(),
    );
    compare(
        "guestAccessInfo.toDate",
        &row.valid_until.to_string(),
        &valid_until.to_string(),
    );
    if changed.is_empty() {
        return Ok(changed);
    }
    let mut tx = db::begin_write(&app.db).await?;
    db::ers::update_guest(&mut *tx, row.id, &details, now).await?;
    let names: Vec<&str> = changed.iter().map(|c| c.0).collect();
    audit(
        &mut tx,
        &auditor(caller, sponsor),
        now,
        "update",
        &format!("Guest {}", row.username),
        &names.join(", "),
    )
    .await?;
    tx.commit().await?;
    Ok(changed)
}

/// Resend, suspend, reinstate or delete one account, with the sponsor
/// portal's rules; a refusal is a `Conflict` with ISE's reason.
pub async fn act(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    row: &ErsGuestRow,
    action: GuestAction,
    template: Option<crate::domain::portal::PortalSettings>,
) -> Result<ActionReport, ServiceError> {
    match sponsor {
        None => caller.require(Access::ErsWrite)?,
        Some(s) => {
            check_read(caller, sponsor)?;
            s.require(action.permitted(&s.permissions()), action.label())?;
        }
    }
    if action == GuestAction::Reinstate && row.state != GuestState::Suspended {
        return Err(ServiceError::Conflict(format!(
            "Guest user '{}' is {}, not suspended.",
            row.username,
            row.state.as_str()
        )));
    }
    let audit_as = auditor(caller, sponsor);
    let actor = Actor {
        scope: scope(sponsor),
        name: sponsor.map_or(&caller.name, |s| &s.user.username),
        template,
        audit_as: Some(&audit_as),
    };
    let report = run_action(app, &actor, &[row.id], action, None).await?;
    if let Some((_, why)) = report.refused.first() {
        return Err(ServiceError::Conflict(why.clone()));
    }
    if report.done.is_empty() {
        return Err(not_found());
    }
    Ok(report)
}

/// A new generated password for the account, returned to the caller (ISE's
/// `resetpassword`); it is kept sealed so that a later resend sends it.
pub async fn reset_password(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    row: &ErsGuestRow,
) -> Result<Secret, ServiceError> {
    check_write(caller, sponsor, |p| p.can_reset, "reset passwords")?;
    if !sees(sponsor, row) {
        return Err(not_found());
    }
    if matches!(row.state, GuestState::Expired | GuestState::Denied) {
        return Err(ServiceError::Conflict(format!(
            "Guest user '{}' is {}: its password cannot be reset.",
            row.username,
            row.state.as_str()
        )));
    }
    let password = crate::server::guests::generate_guest_password();
    let hash = {
        let password = password.clone();
        crate::server::auth::hashing(move || hash_guest_password(&password)).await??
    };
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    db::guests::set_password(&mut *tx, row.id, &hash, now).await?;
    app.vault
        .put_in(
            &mut *tx,
            PASSWORD_PURPOSE,
            &row.id.to_string(),
            &password,
            now,
        )
        .await?;
    audit(
        &mut tx,
        &auditor(caller, sponsor),
        now,
        "Reset Password",
        &format!("Guest {}", row.username),
        "password",
    )
    .await?;
    tx.commit().await?;
    Ok(password)
}

/// Approves or denies an account waiting in Pending Approval.
pub async fn decide(
    app: &AppState,
    caller: &Caller,
    sponsor: Option<&SponsorCaller>,
    row: &ErsGuestRow,
    approve: bool,
) -> Result<(), ServiceError> {
    check_write(
        caller,
        sponsor,
        |p| p.can_create,
        "approve or deny accounts",
    )?;
    if !sees(sponsor, row) {
        return Err(not_found());
    }
    if row.state != GuestState::PendingApproval {
        return Err(ServiceError::Conflict(format!(
            "Guest user '{}' is {}, not pending approval.",
            row.username,
            row.state.as_str()
        )));
    }
    let mut tx = db::begin_write(&app.db).await?;
    let Some(guest) = db::guests::get(&mut *tx, row.id).await? else {
        return Err(not_found());
    };
    let by = auditor(caller, sponsor);
    // The credentials email (or the denial notice) goes in the same
    // transaction; the approval links die with the decision.
    let Some(queued) =
        crate::server::guest_approval::decide_in(app, &mut tx, &guest, approve, &by.name).await?
    else {
        return Err(ServiceError::Conflict(format!(
            "Guest user '{}' was decided by someone else meanwhile.",
            row.username
        )));
    };
    audit(
        &mut tx,
        &by,
        app.now(),
        if approve { "Approve" } else { "Deny" },
        &format!("Guest {}", row.username),
        "state",
    )
    .await?;
    tx.commit().await?;
    app.mailer.submitted(&queued);
    Ok(())
}
