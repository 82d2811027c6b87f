//! The sponsor portal: what a signed-in sponsor may see and do, each
//! operation checked against the sponsor group's permissions and ISE's
//! guest state rules.

use super::ServiceError;
use crate::domain::guest::{GuestDetails, GuestState};
use crate::domain::portal::Registration;
use crate::domain::sponsor::{
    ActionReport, ApproveScope, CreatedBatch, CreatedGuest, DeliveryProgress, GuestAction,
    GuestTypeChoice, ImportGuestsForm, KnownGuestForm, ManageScope, PendingAccount,
    RandomGuestsForm, SendBudget, SponsorInfo, SponsorPermissions, SponsoredGuest, SponsoredPage,
    access_days, guest_type_id, parse_guest_csv,
};
use crate::domain::{EmailAddress, FieldError};
use crate::server::AppState;
use crate::server::db;
use crate::server::db::guests::{GuestRow, Scope};
use crate::server::db::sponsors::{GroupRow, SponsorRow};
use crate::server::guests::{
    NewAccount, PASSWORD_PURPOSE, SponsorRef, create_accounts, email_settings,
    generate_guest_password, hash_guest_password, queue_credentials, sponsor_template,
};
use crate::server::mail::pacing;

/// The portal name sponsor-created guests carry.
pub const SPONSOR_PORTAL: &str = "Sponsor Portal (default)";

/// A sponsor signed in to the sponsor portal, with its sponsor group.
#[derive(Debug, Clone)]
pub struct SponsorCaller {
    pub user: SponsorRow,
    pub group: GroupRow,
    pub client_ip: String,
}

impl SponsorCaller {
    pub fn permissions(&self) -> SponsorPermissions {
        self.group.permissions()
    }

    /// The guests this sponsor manages.
    pub fn scope(&self) -> Scope {
        match self.permissions().scope {
            ManageScope::All => Scope::All,
            ManageScope::Group => Scope::Group(self.group.id),
            ManageScope::Own => Scope::Own(self.user.id),
        }
    }

    fn reference(&self) -> SponsorRef {
        SponsorRef {
            id: Some(self.user.id),
            group_id: Some(self.group.id),
            username: self.user.username.clone(),
            email: self.user.email.clone(),
        }
    }

    /// Whether this sponsor may see and decide the pending request of
    /// `guest`, sent to `approvers` (comma-separated): the group's
    /// "Approve and view requests from self-registering guests", for any
    /// request or only those naming this sponsor.
    pub fn may_decide(&self, guest: &GuestRow, approvers: &str) -> bool {
        let permissions = self.permissions();
        if !permissions.can_approve {
            return false;
        }
        match permissions.approve_scope {
            ApproveScope::Any => true,
            ApproveScope::Assigned => {
                let mine = self.user.email.trim();
                !mine.is_empty()
                    && (guest.person_visited.trim().eq_ignore_ascii_case(mine)
                        || approvers
                            .split(',')
                            .any(|a| a.trim().eq_ignore_ascii_case(mine)))
            }
        }
    }

    /// `Forbidden` unless the sponsor group allows `what`.
    pub(crate) fn require(&self, allowed: bool, what: &str) -> Result<(), ServiceError> {
        if allowed {
            return Ok(());
        }
        tracing::warn!(target: "guestaccess", "sponsor '{}' refused: {what}", self.user.username);
        Err(ServiceError::Forbidden)
    }
}

/// The signed-in sponsor as the portal shows it, with the guest types it
/// may choose.
pub async fn info(app: &AppState, sponsor: &SponsorCaller) -> Result<SponsorInfo, ServiceError> {
    let guest_types = db::guest_types::list(&app.db)
        .await?
        .into_iter()
        .map(|row| {
            let t = row.guest_type();
            GuestTypeChoice {
                id: row.id,
                name: t.name,
                default_days: t.default_days,
                max_days: t.max_days,
            }
        })
        .collect();
    let languages = sponsor_template(app)
        .await?
        .map(|portal| portal.languages())
        .unwrap_or_else(|| vec![crate::domain::language::ENGLISH.to_string()]);
    Ok(SponsorInfo {
        languages,
        permissions: sponsor.permissions(),
        username: sponsor.user.username.clone(),
        full_name: sponsor.user.full_name.clone(),
        group: sponsor.group.name.clone(),
        guest_types,
    })
}

/// One guest to create, before the guest type's checks.
struct Draft {
    first_name: String,
    last_name: String,
    email: Option<EmailAddress>,
    company: String,
    person_visited: String,
    username: Option<String>,
    language: String,
}

impl From<Registration> for Draft {
    fn from(r: Registration) -> Self {
        Draft {
            first_name: r.first_name,
            last_name: r.last_name,
            email: Some(r.email),
            company: r.company,
            person_visited: r.person_visited,
            username: None,
            language: r.language,
        }
    }
}

/// Create Accounts > Known guest.
pub async fn create_known(
    app: &AppState,
    sponsor: &SponsorCaller,
    form: &KnownGuestForm,
) -> Result<CreatedBatch, ServiceError> {
    create(
        app,
        sponsor,
        &form.guest_type_id,
        &form.duration_days,
        || Ok(vec![form.guest.validate(false)?.into()]),
    )
    .await
}

/// Create Accounts > Random: `prefix001`... with generated passwords.
pub async fn create_random(
    app: &AppState,
    sponsor: &SponsorCaller,
    form: &RandomGuestsForm,
) -> Result<CreatedBatch, ServiceError> {
    create(
        app,
        sponsor,
        &form.guest_type_id,
        &form.duration_days,
        || {
            let (count, prefix) = form.validate()?;
            let language = optional_language(&form.language)?;
            let width = count.to_string().len().max(3);
            Ok((1..=count)
                .map(|n| Draft {
                    first_name: String::new(),
                    last_name: String::new(),
                    email: None,
                    company: form.company.trim().to_string(),
                    person_visited: String::new(),
                    username: Some(format!("{prefix}{n:0width$}")),
                    language: language.clone(),
                })
                .collect())
        },
    )
    .await
}

/// Create Accounts > Import: a CSV file in ISE's columns.
pub async fn import(
    app: &AppState,
    sponsor: &SponsorCaller,
    form: &ImportGuestsForm,
) -> Result<CreatedBatch, ServiceError> {
    create(
        app,
        sponsor,
        &form.guest_type_id,
        &form.duration_days,
        || {
            let language = optional_language(&form.language)?;
            Ok(parse_guest_csv(&form.csv)?
                .into_iter()
                .map(Draft::from)
                .map(|mut d| {
                    if d.language.is_empty() {
                        d.language = language.clone();
                    }
                    d
                })
                .collect())
        },
    )
    .await
}

/// A sponsor's language choice: a tag, or empty for the portal's default.
fn optional_language(raw: &str) -> Result<String, FieldError> {
    match raw.trim() {
        "" => Ok(String::new()),
        raw => crate::domain::language::normalize_tag("language", raw),
    }
}

/// Creates `drafts` for the sponsor with the chosen guest type and
/// duration; credentials go by email to those with an address.
async fn create(
    app: &AppState,
    sponsor: &SponsorCaller,
    guest_type: &str,
    duration_days: &str,
    drafts: impl FnOnce() -> Result<Vec<Draft>, FieldError>,
) -> Result<CreatedBatch, ServiceError> {
    sponsor.require(sponsor.permissions().can_create, "create accounts")?;
    let type_id = guest_type_id(guest_type)?;
    let guest_type = db::guest_types::get(&app.db, type_id)
        .await?
        .ok_or_else(|| ServiceError::invalid("guest_type_id", "Choose a guest type that exists."))?
        .guest_type();
    let days = access_days(duration_days, guest_type.max_days)?;
    let drafts = drafts()?;
    let now = app.now();
    let reference = sponsor.reference();
    let accounts: Vec<NewAccount> = drafts
        .into_iter()
        .map(|d| NewAccount {
            first_name: d.first_name,
            last_name: d.last_name,
            email: d.email,
            company: d.company,
            person_visited: d.person_visited,
            guest_type_id: type_id,
            valid_from: now,
            valid_until: now + i64::from(days) * 86_400,
            sponsor: Some(reference.clone()),
            portal: SPONSOR_PORTAL.into(),
            registered_ip: None,
            username: d.username,
            password: None,
            extras: Default::default(),
            language: d.language,
        })
        .collect();
    let template = sponsor_template(app).await?;
    let emails: Vec<String> = accounts
        .iter()
        .map(|a| {
            a.email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default()
        })
        .collect();
    let created = create_accounts(
        app,
        &accounts,
        template.as_ref(),
        None,
        &sponsor.user.username,
    )
    .await?;
    tracing::info!(target: "guestaccess", "Sponsor '{}' created {} guest account(s) of type '{}'", sponsor.user.username, created.len(), guest_type.name);
    let mail_ids = created
        .iter()
        .filter_map(|c| c.mail.as_ref().map(|m| m.0))
        .collect();
    Ok(CreatedBatch {
        guests: created
            .into_iter()
            .zip(emails)
            .map(|(c, email)| CreatedGuest {
                id: c.id,
                username: c.username,
                password: c.mail.is_none().then(|| c.password.expose().to_string()),
                email,
            })
            .collect(),
        mail_ids,
    })
}

/// How far the credentials emails of a batch (this sponsor's) have got.
pub async fn delivery(
    app: &AppState,
    sponsor: &SponsorCaller,
    mail_ids: &[i64],
) -> Result<DeliveryProgress, ServiceError> {
    super::check_selection_size(mail_ids, "email")?;
    let counts = db::outbox::statuses_created_by(&app.db, mail_ids, &sponsor.user.username).await?;
    let pending = counts.queued + counts.sending + counts.retrying;
    let mut progress = DeliveryProgress {
        sent: counts.sent,
        failed: counts.dead + counts.discarded,
        pending,
        per_minute: 0,
        eta_seconds: None,
        paused_until_ms: None,
    };
    if pending > 0 {
        let paced = pacing::current(app).await?;
        let now = app.now_ms();
        let (_, _, paused_until_ms, _) =
            db::pacing::usage(&mut *app.db.acquire().await?, &paced.mailbox, now).await?;
        progress.per_minute = paced.bulk_limits().messages_per_minute;
        progress.paused_until_ms = paused_until_ms;
        let last = mail_ids.iter().copied().max().unwrap_or(0);
        let ahead = db::outbox::waiting_through(&app.db, last).await?;
        let pause = paused_until_ms.map_or(0, |until| (until - now).max(0) / 1000);
        progress.eta_seconds = paced.bulk_limits().eta_seconds(ahead).map(|s| s + pause);
    }
    Ok(progress)
}

/// What the mailboxes can still send, shown before a batch. Guests'
/// credentials are bulk mail: the sender pool shares them.
pub async fn send_budget(
    app: &AppState,
    _sponsor: &SponsorCaller,
) -> Result<SendBudget, ServiceError> {
    let paced = pacing::current(app).await?;
    let now = app.now_ms();
    let mut recipients_today = 0;
    for mailbox in paced.mailboxes() {
        recipients_today += db::pacing::usage(&mut *app.db.acquire().await?, mailbox, now)
            .await?
            .1;
    }
    let limits = paced.bulk_limits();
    let daily = i64::from(limits.recipients_per_day);
    Ok(SendBudget {
        per_minute: limits.messages_per_minute,
        recipients_left: (daily > 0).then(|| (daily - recipients_today).max(0)),
    })
}

/// Manage Accounts: the guests the sponsor manages, searched and filtered.
pub async fn guests(
    app: &AppState,
    sponsor: &SponsorCaller,
    search: &str,
    state: &str,
    page: i64,
) -> Result<SponsoredPage, ServiceError> {
    const PAGE_SIZE: i64 = 50;
    let page = page.max(1);
    let state_filter = GuestState::parse(state);
    let (rows, total) = db::guests::managed_page(
        &app.db,
        sponsor.scope(),
        search,
        state_filter,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    Ok(SponsoredPage {
        rows: rows
            .into_iter()
            .map(|row| SponsoredGuest {
                id: row.id,
                username: row.username,
                state: row.state.as_str().to_string(),
                first_name: row.first_name,
                last_name: row.last_name,
                email: row.email,
                company: row.company,
                guest_type: row.guest_type,
                valid_until: row.valid_until,
                sponsor: row.sponsor.unwrap_or_default(),
                delivery: row.mail_status.map(|s| s.label().to_string()),
                delivery_reply: row.mail_reply,
                language: row.language,
            })
            .collect(),
        total,
        page,
        page_size: PAGE_SIZE,
    })
}

/// Manage Accounts' buttons. The whole request is refused when the sponsor
/// group lacks the permission; otherwise each guest is done or refused
/// with ISE's reason.
pub async fn act(
    app: &AppState,
    sponsor: &SponsorCaller,
    ids: &[i64],
    action: GuestAction,
    extend_days: Option<u32>,
) -> Result<ActionReport, ServiceError> {
    sponsor.require(action.permitted(&sponsor.permissions()), action.label())?;
    super::check_selection_size(ids, "guest account")?;
    if extend_days.is_some_and(|d| !(1..=999).contains(&d)) {
        return Err(ServiceError::invalid(
            "extend_days",
            "Enter a whole number of days from 1 to 999.",
        ));
    }
    let actor = Actor {
        scope: sponsor.scope(),
        name: &sponsor.user.username,
        template: None,
        audit_as: None,
    };
    Ok(run_action(app, &actor, ids, action, extend_days).await?)
}

/// Refuses the selected ids that are not among `rows` (the accounts the
/// caller manages).
fn refuse_unmanaged(report: &mut ActionReport, ids: &[i64], rows: &[db::guests::ManagedRow]) {
    for id in ids {
        if !rows.iter().any(|row| row.id == *id) {
            report.refused.push((
                format!("#{id}"),
                "Not found among the accounts you manage.".into(),
            ));
        }
    }
}

/// Who applies a guest action: the accounts it may touch, its name (logs,
/// and who queued the email), the credentials template to use (else the
/// sponsor portal's), and the admin to audit it under (the ERS API).
pub(crate) struct Actor<'a> {
    pub scope: Scope,
    pub name: &'a str,
    pub template: Option<crate::domain::portal::PortalSettings>,
    pub audit_as: Option<&'a super::Caller>,
}

/// Applies `action` to the guests `ids` within the actor's scope, in one
/// transaction; credentials emails are queued in it.
pub(crate) async fn run_action(
    state: &AppState,
    actor: &Actor<'_>,
    ids: &[i64],
    action: GuestAction,
    extend_days: Option<u32>,
) -> anyhow::Result<ActionReport> {
    let now = state.now();
    let now_ms = state.now_ms();
    let settings = email_settings(state).await?;
    let template = match &actor.template {
        Some(template) => template.clone(),
        None => sponsor_template(state)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no guest portal holds a credentials email"))?,
    };
    let mut report = ActionReport::default();
    let mut queued = Vec::new();
    let mut tx = crate::server::db::begin_write(&state.db).await?;
    let rows = db::guests::managed_by_ids(&mut *tx, actor.scope, ids).await?;
    refuse_unmanaged(&mut report, ids, &rows);
    for row in rows {
        if let Err(why) = action.check(row.state, row.password_changed, !row.email.is_empty()) {
            report.refused.push((row.username, why));
            continue;
        }
        let mut details = GuestDetails {
            username: row.username.clone(),
            password: None,
            first_name: row.first_name.clone(),
            last_name: row.last_name.clone(),
            email: row.email.clone(),
            company: row.company.clone(),
            sponsor_name: row.sponsor.clone().unwrap_or_default(),
            person_visited: String::new(),
            portal_name: row.portal.clone(),
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            dates: None,
        };
        let record = row.id.to_string();
        match action {
            GuestAction::Resend | GuestAction::ResetPassword => {
                if !settings.enabled {
                    report.refused.push((
                        row.username,
                        "Guest email is turned off in Guest Email Settings.".into(),
                    ));
                    continue;
                }
                let password = if action == GuestAction::Resend {
                    match state.vault.get(PASSWORD_PURPOSE, &record).await? {
                        Some(password) => password,
                        None => {
                            report.refused.push((
                                row.username,
                                "The password is no longer kept: use Reset Password to send new credentials.".into(),
                            ));
                            continue;
                        }
                    }
                } else {
                    let password = generate_guest_password();
                    let hash = {
                        let password = password.clone();
                        crate::server::auth::hashing(move || hash_guest_password(&password))
                            .await??
                    };
                    db::guests::set_password(&mut *tx, row.id, &hash, now).await?;
                    state
                        .vault
                        .put_in(&mut *tx, PASSWORD_PURPOSE, &record, &password, now)
                        .await?;
                    password
                };
                details.password = Some(password.expose().to_string());
                queued.extend(
                    queue_credentials(
                        state,
                        &mut tx,
                        &settings,
                        &template,
                        &row.language,
                        &details,
                        row.sponsor_email.as_deref(),
                        row.id,
                        actor.name,
                        now_ms,
                    )
                    .await?,
                );
            }
            GuestAction::Extend => {
                let guest_type = db::guest_types::get(&mut *tx, row.guest_type_id)
                    .await?
                    .map(|t| t.guest_type());
                let (default_days, max_days) = guest_type
                    .map(|t| (t.default_days, t.max_days))
                    .unwrap_or((1, 1));
                let days = extend_days.unwrap_or(default_days);
                let until = row.valid_until.max(now) + i64::from(days) * 86_400;
                if until - row.valid_from > i64::from(max_days) * 86_400 {
                    report.refused.push((
                        row.username,
                        format!(
                            "Extending by {days} days would exceed {}'s maximum of {max_days} days.",
                            row.guest_type
                        ),
                    ));
                    continue;
                }
                db::guests::extend(&mut *tx, row.id, until, now).await?;
            }
            GuestAction::Suspend => {
                db::guests::set_state(&mut *tx, row.id, GuestState::Suspended, now).await?;
            }
            GuestAction::Reinstate => {
                db::guests::set_state(&mut *tx, row.id, GuestState::Active, now).await?;
            }
            GuestAction::Delete => {
                db::guests::delete(&mut *tx, row.id).await?;
                db::vault::delete(&mut *tx, PASSWORD_PURPOSE, &record).await?;
            }
        }
        tracing::info!(target: "guestaccess", "'{}': {} guest '{}'", actor.name, action.label(), row.username);
        if let Some(caller) = actor.audit_as {
            super::audit(
                &mut tx,
                caller,
                now,
                action.label(),
                &format!("Guest {}", row.username),
                "",
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        report.done.push(row.username);
    }
    tx.commit().await?;
    state.mailer.submitted(&queued);
    report.mail_ids = queued.iter().map(|q| q.id).collect();
    Ok(report)
}

/// The most pending accounts the portal lists at once.
const PENDING_LIMIT: i64 = 500;

/// Pending Accounts: the self-registrations waiting for approval that
/// this sponsor may decide, oldest first.
pub async fn pending(
    app: &AppState,
    sponsor: &SponsorCaller,
) -> Result<Vec<PendingAccount>, ServiceError> {
    sponsor.require(
        sponsor.permissions().can_approve,
        "approve and view requests from self-registering guests",
    )?;
    let approvers = pending_approvers(app).await?;
    let rows = db::guests::pending(&app.db, PENDING_LIMIT).await?;
    Ok(rows
        .into_iter()
        .filter(|row| sponsor.may_decide(&row.guest, approvers_of(&approvers, row.guest.id)))
        .map(|row| PendingAccount {
            id: row.guest.id,
            username: row.guest.username,
            first_name: row.guest.first_name,
            last_name: row.guest.last_name,
            email: row.guest.email,
            company: row.guest.company,
            person_visited: row.guest.person_visited,
            guest_type: row.guest_type,
            portal: row.guest.portal,
            requested_at: row.created_at,
            deny_at: row.approval_deadline,
        })
        .collect())
}

async fn pending_approvers(app: &AppState) -> Result<Vec<(i64, String)>, ServiceError> {
    Ok(db::guest_approvals::approvers_of_pending(&app.db).await?)
}

fn approvers_of(approvers: &[(i64, String)], guest_id: i64) -> &str {
    approvers
        .iter()
        .find(|(id, _)| *id == guest_id)
        .map_or("", |(_, a)| a.as_str())
}

/// Pending Accounts' Approve and Deny: each guest decided (credentials or
/// the denial notice queued with it) or refused with the reason; the
/// audit says who, how (the sponsor portal) and why.
pub async fn decide_pending(
    app: &AppState,
    sponsor: &SponsorCaller,
    ids: &[i64],
    approve: bool,
    reason: &str,
) -> Result<ActionReport, ServiceError> {
    sponsor.require(
        sponsor.permissions().can_approve,
        "approve and view requests from self-registering guests",
    )?;
    super::check_selection_size(ids, "guest account")?;
    let reason = reason.trim();
    if reason.chars().count() > 200 {
        return Err(ServiceError::invalid(
            "reason",
            "Keep the reason to 200 characters.",
        ));
    }
    crate::domain::reject_line_breaks("reason", reason)?;
    let approvers = pending_approvers(app).await?;
    let by = format!("{} (sponsor portal)", sponsor.user.username);
    let mut report = ActionReport::default();
    let mut queued_all = Vec::new();
    for id in ids {
        let mut tx = db::begin_write(&app.db).await?;
        let row = db::guests::get(&mut *tx, *id).await?;
        let Some(row) = row.filter(|r| sponsor.may_decide(r, approvers_of(&approvers, r.id)))
        else {
            report.refused.push((
                format!("#{id}"),
                "Not found among the requests you may decide.".into(),
            ));
            continue;
        };
        if row.state != GuestState::PendingApproval {
            report.refused.push((
                row.username.clone(),
                format!("Already handled: the account is {}.", row.state.as_str()),
            ));
            continue;
        }
        let Some(queued) =
            crate::server::guest_approval::decide_in(app, &mut tx, &row, approve, &by).await?
        else {
            report.refused.push((
                row.username.clone(),
                "Already handled by someone else.".into(),
            ));
            continue;
        };
        db::audit::insert(
            &mut *tx,
            &db::audit::AuditRow {
                at: app.now(),
                admin: by.clone(),
                client_ip: sponsor.client_ip.clone(),
                action: if approve { "Approve" } else { "Deny" }.to_string(),
                target: format!("Guest {}", row.username),
                changed_fields: if reason.is_empty() {
                    "state".to_string()
                } else {
                    format!("state (reason: {reason})")
                },
            },
        )
        .await?;
        tx.commit().await?;
        app.mailer.submitted(&queued);
        queued_all.extend(queued);
        report.done.push(row.username);
    }
    report.mail_ids = queued_all.iter().map(|q| q.id).collect();
    Ok(report)
}

/// Manage Accounts' Set Language: the notification language of the
/// selected guests (empty: their portal's default), for the sponsors who
/// create accounts; the audit names each guest.
pub async fn set_language(
    app: &AppState,
    sponsor: &SponsorCaller,
    ids: &[i64],
    language: &str,
) -> Result<ActionReport, ServiceError> {
    sponsor.require(sponsor.permissions().can_create, "edit guest accounts")?;
    super::check_selection_size(ids, "guest account")?;
    let language = optional_language(language)?;
    let now = app.now();
    let mut report = ActionReport::default();
    let mut tx = db::begin_write(&app.db).await?;
    let rows = db::guests::managed_by_ids(&mut *tx, sponsor.scope(), ids).await?;
    refuse_unmanaged(&mut report, ids, &rows);
    for row in rows {
        if row.language != language {
            db::guests::set_language(&mut *tx, row.id, &language, now).await?;
            db::audit::insert(
                &mut *tx,
                &db::audit::AuditRow {
                    at: now,
                    admin: format!("{} (sponsor portal)", sponsor.user.username),
                    client_ip: sponsor.client_ip.clone(),
                    action: "update".to_string(),
                    target: format!("Guest {}", row.username),
                    changed_fields: "guestInfo.notificationLanguage".to_string(),
                },
            )
            .await?;
        }
        report.done.push(row.username);
    }
    tx.commit().await?;
    Ok(report)
}
