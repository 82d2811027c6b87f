//! `/ers/config/guestuser`: ISE's GuestUser resource.

use super::no_content;
use super::wire::{
    Ctx, ErsError, Fields, Reply, Search, format_date, parse_date, search_result, summary,
};
use crate::domain::guest::GuestState;
use crate::domain::sponsor::GuestAction;
use crate::server::db;
use crate::server::db::ers::{ErsGuestRow, GuestColumn, GuestFilter, GuestQuery};
use crate::server::service::guest_accounts::{self, GuestInput, PortalTemplate};
use http::{Method, StatusCode};
use serde_json::{Value, json};

const RESOURCE: &str = "guestuser";

pub async fn route(ctx: &Ctx, rest: &[&str]) -> Result<Reply, ErsError> {
    let method = ctx.method.clone();
    match (method, rest) {
        (Method::GET, []) => list(ctx).await,
        (Method::POST, []) => create(ctx).await,
        (Method::GET, ["name", name]) => Ok(Reply::ok(show(ctx, &by_name(ctx, name).await?))),
        (Method::PUT, ["name", name]) => update(ctx, by_name(ctx, name).await?).await,
        (Method::DELETE, ["name", name]) => {
            act(ctx, by_name(ctx, name).await?, GuestAction::Delete, None).await
        }
        (Method::PUT, ["email", id, "portalId", portal]) => {
            let template = portal_template(ctx, portal).await?;
            act(
                ctx,
                by_id(ctx, id).await?,
                GuestAction::Resend,
                Some(template),
            )
            .await
        }
        (Method::PUT, ["suspend", "name", name]) => {
            act(ctx, by_name(ctx, name).await?, GuestAction::Suspend, None).await
        }
        (Method::PUT, ["reinstate", "name", name]) => {
            act(ctx, by_name(ctx, name).await?, GuestAction::Reinstate, None).await
        }
        (Method::PUT, ["suspend", id]) => {
            act(ctx, by_id(ctx, id).await?, GuestAction::Suspend, None).await
        }
        (Method::PUT, ["reinstate", id]) => {
            act(ctx, by_id(ctx, id).await?, GuestAction::Reinstate, None).await
        }
        (Method::PUT, ["resetpassword", id]) => reset_password(ctx, by_id(ctx, id).await?).await,
        (Method::PUT, ["approve", id]) => decide(ctx, by_id(ctx, id).await?, true).await,
        (Method::PUT, ["deny", id]) => decide(ctx, by_id(ctx, id).await?, false).await,
        (Method::GET, [id]) => Ok(Reply::ok(show(ctx, &by_id(ctx, id).await?))),
        (Method::PUT, [id]) => update(ctx, by_id(ctx, id).await?).await,
        (Method::DELETE, [id]) => act(ctx, by_id(ctx, id).await?, GuestAction::Delete, None).await,
        (method, _) => Err(ErsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not an operation of guestuser at this path."),
            "Method not allowed",
        )),
    }
}

async fn by_id(ctx: &Ctx, id: &str) -> Result<ErsGuestRow, ErsError> {
    guest_accounts::get(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), id)
        .await?
        .ok_or_else(|| ErsError::not_found(format!("Guest user with id '{id}' not found.")))
}

async fn by_name(ctx: &Ctx, name: &str) -> Result<ErsGuestRow, ErsError> {
    guest_accounts::get_by_name(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), name)
        .await?
        .ok_or_else(|| ErsError::not_found(format!("Guest user '{name}' not found.")))
}

/// Writes by an admin need an ERS role that writes; a sponsor's are
/// checked against its group by the service.
fn require_write(ctx: &Ctx) -> Result<(), ErsError> {
    match ctx.sponsor {
        Some(_) => Ok(()),
        None => super::require_write(&ctx.caller),
    }
}

/// ISE's spelling of an account state.
pub fn status(state: GuestState) -> &'static str {
    match state {
        GuestState::Created => "AWAITING_INITIAL_LOGIN",
        GuestState::Active => "ACTIVE",
        GuestState::PendingApproval => "PENDING_APPROVAL",
        GuestState::Suspended => "SUSPENDED",
        GuestState::Expired => "EXPIRED",
        GuestState::Denied => "DENIED",
    }
}

fn state_of(status_text: &str) -> Option<GuestState> {
    GuestState::ALL.into_iter().find(|s| {
        status(*s).eq_ignore_ascii_case(status_text) || s.as_str().eq_ignore_ascii_case(status_text)
    })
}

fn show(ctx: &Ctx, row: &ErsGuestRow) -> Value {
    let days = ((row.valid_until - row.valid_from) + 86_399) / 86_400;
    json!({"GuestUser": {
        "id": row.ers_id,
        "name": row.username,
        "description": row.description,
        "guestType": row.guest_type,
        "status": status(row.state),
        "statusReason": "",
        "reasonForVisit": row.reason_for_visit,
        "personBeingVisited": row.person_visited,
        "sponsorUserName": row.sponsor.clone().unwrap_or_default(),
        "sponsorUserId": row.sponsor_id.map(|id| id.to_string()).unwrap_or_default(),
        "portalId": "",
        "customFields": {},
        "guestInfo": {
            "userName": row.username,
            "firstName": row.first_name,
            "lastName": row.last_name,
            "emailAddress": row.email,
            "company": row.company,
            "phoneNumber": row.phone,
            "creationTime": format_date(row.created_at),
            "enabled": matches!(row.state, GuestState::Created | GuestState::Active),
            "notificationLanguage": crate::domain::language::ers_name(&row.language),
        },
        "guestAccessInfo": {
            "validDays": days,
            "fromDate": format_date(row.valid_from),
            "toDate": format_date(row.valid_until),
            "location": row.location,
        },
        "link": ctx.link(&format!("{RESOURCE}/{}", row.ers_id)),
    }})
}

fn column(field: &str) -> Result<GuestColumn, ErsError> {
    Ok(match field {
        "name" | "userName" | "guestInfo.userName" => GuestColumn::Name,
        "firstName" | "guestInfo.firstName" => GuestColumn::FirstName,
        "lastName" | "guestInfo.lastName" => GuestColumn::LastName,
        "emailAddress" | "guestInfo.emailAddress" => GuestColumn::Email,
        "company" | "guestInfo.company" => GuestColumn::Company,
        "phoneNumber" | "guestInfo.phoneNumber" => GuestColumn::Phone,
        "sponsorUserName" => GuestColumn::Sponsor,
        "guestType" => GuestColumn::GuestType,
        "status" => GuestColumn::Status,
        "personBeingVisited" => GuestColumn::PersonVisited,
        "location" | "guestAccessInfo.location" => GuestColumn::Location,
        other => {
            return Err(ErsError::bad(format!(
                "Unknown guestuser field '{other}': filter or sort by name, firstName, lastName, emailAddress, company, phoneNumber, sponsorUserName, guestType, status, personBeingVisited or location."
            )));
        }
    })
}

async fn list(ctx: &Ctx) -> Result<Reply, ErsError> {
    let search = Search::parse(&ctx.query)?;
    let mut filters = Vec::new();
    for (field, op, value) in &search.filters {
        let column = column(field)?;
        let value = if column == GuestColumn::Status {
            state_of(value).map_or_else(|| value.clone(), |s| s.as_str().to_string())
        } else {
            value.clone()
        };
        filters.push(GuestFilter {
            column,
            op: *op,
            value,
        });
    }
    let sort = match &search.sort {
        Some((field, ascending)) => Some((column(field)?, *ascending)),
        None => None,
    };
    let (rows, total) = guest_accounts::list(
        &ctx.app,
        &ctx.caller,
        ctx.sponsor.as_ref(),
        GuestQuery {
            filters,
            any: search.any,
            sort,
            limit: search.size,
            offset: search.offset(),
            scope: None,
        },
    )
    .await?;
    let items = rows
        .iter()
        .map(|row| summary(ctx, RESOURCE, &row.ers_id, &row.username, &row.description))
        .collect();
    Ok(Reply::ok(search_result(
        ctx, RESOURCE, &search, total, items,
    )))
}

/// The GuestUser body's fields (`None` where the body is silent).
fn input(ctx: &Ctx) -> Result<(GuestInput, Option<String>), ErsError> {
    let object = ctx.body_object("GuestUser")?;
    let f = Fields(&object);
    let from = f
        .text("guestAccessInfo.fromDate")?
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_date("guestAccessInfo.fromDate", &s))
        .transpose()?;
    let until = f
        .text("guestAccessInfo.toDate")?
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse_date("guestAccessInfo.toDate", &s))
        .transpose()?;
    let username = match f.text("guestInfo.userName")? {
        Some(name) => Some(name),
        None => f.text("name")?,
    };
    let input = GuestInput {
        username,
        password: f
            .text("guestInfo.password")?
            .filter(|p| !p.is_empty())
            .map(crate::domain::Secret::new),
        first_name: f.text("guestInfo.firstName")?,
        last_name: f.text("guestInfo.lastName")?,
        email: f.text("guestInfo.emailAddress")?,
        company: f.text("guestInfo.company")?,
        phone: f.text("guestInfo.phoneNumber")?,
        person_visited: f.text("personBeingVisited")?,
        reason_for_visit: f.text("reasonForVisit")?,
        description: f.text("description")?,
        location: f.text("guestAccessInfo.location")?,
        guest_type: f.text("guestType")?,
        valid_from: from,
        valid_until: until,
        valid_days: f.integer("guestAccessInfo.validDays")?,
        language: f.text("guestInfo.notificationLanguage")?,
    };
    Ok((input, f.text("portalId")?.filter(|p| !p.is_empty())))
}

async fn create(ctx: &Ctx) -> Result<Reply, ErsError> {
    require_write(ctx)?;
    let (input, portal) = input(ctx)?;
    let portal = match portal {
        Some(id) => Some(portal_template(ctx, &id).await?),
        None => None,
    };
    let id =
        guest_accounts::create(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), &input, portal).await?;
    let row = db::ers::guest_by_id(&ctx.app.db, id)
        .await?
        .ok_or_else(ErsError::internal)?;
    Ok(Reply::Created(
        ctx.href(&format!("{RESOURCE}/{}", row.ers_id)),
    ))
}

async fn update(ctx: &Ctx, row: ErsGuestRow) -> Result<Reply, ErsError> {
    require_write(ctx)?;
    let (input, _) = input(ctx)?;
    let changed =
        guest_accounts::update(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), &row, &input).await?;
    Ok(Reply::ok(updated_fields(changed)))
}

/// `UpdatedFieldsList`, as resource updates answer.
pub fn updated_fields(changed: Vec<(&'static str, String, String)>) -> Value {
    let fields: Vec<Value> = changed
        .into_iter()
        .map(|(field, old, new)| json!({"field": field, "oldValue": old, "newValue": new}))
        .collect();
    json!({"UpdatedFieldsList": {"updatedField": fields}})
}

async fn act(
    ctx: &Ctx,
    row: ErsGuestRow,
    action: GuestAction,
    template: Option<PortalTemplate>,
) -> Result<Reply, ErsError> {
    require_write(ctx)?;
    if action == GuestAction::Resend {
        // ISE's senderEmail; the From is Guest Email Settings' rule.
        let _ = ctx.additional("senderEmail")?;
    }
    guest_accounts::act(
        &ctx.app,
        &ctx.caller,
        ctx.sponsor.as_ref(),
        &row,
        action,
        template.map(|t| t.template),
    )
    .await?;
    Ok(no_content())
}

async fn reset_password(ctx: &Ctx, row: ErsGuestRow) -> Result<Reply, ErsError> {
    require_write(ctx)?;
    let password =
        guest_accounts::reset_password(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), &row).await?;
    Ok(Reply::ok(json!({"OperationResult": {"resultValue": [
        {"value": password.expose(), "name": "password"}
    ]}})))
}

async fn decide(ctx: &Ctx, row: ErsGuestRow, approve: bool) -> Result<Reply, ErsError> {
    require_write(ctx)?;
    guest_accounts::decide(&ctx.app, &ctx.caller, ctx.sponsor.as_ref(), &row, approve).await?;
    Ok(no_content())
}

/// The credentials template of the portal `id` names: the sponsor portal
/// (its own GUID) or a self-registration portal.
pub async fn portal_template(ctx: &Ctx, id: &str) -> Result<PortalTemplate, ErsError> {
    if id.eq_ignore_ascii_case(super::resources::SPONSOR_PORTAL_ID) {
        let template = crate::server::guests::sponsor_template(&ctx.app)
            .await
            .map_err(|e| ErsError::from(crate::server::service::ServiceError::from(e)))?
            .ok_or_else(|| ErsError::crud("No portal holds a credentials email template."))?;
        return Ok(PortalTemplate {
            portal_name: crate::server::service::sponsors::SPONSOR_PORTAL.into(),
            template,
        });
    }
    let row_id = db::ers::row_id(&ctx.app.db, db::ers::Named::GuestPortals, id)
        .await?
        .ok_or_else(|| ErsError::not_found(format!("Portal with id '{id}' not found.")))?;
    let portal = db::portals::get(&ctx.app.db, row_id)
        .await?
        .ok_or_else(|| ErsError::not_found(format!("Portal with id '{id}' not found.")))?;
    let settings = crate::server::languages::portal_settings(&ctx.app.db, &portal).await?;
    Ok(PortalTemplate {
        portal_name: settings.name.clone(),
        template: settings,
    })
}
