//! What the ERS API reads: the GUIDs it names resources by, and guest
//! accounts filtered, sorted and paged as `SearchResult` asks.

use crate::domain::guest::GuestState;
use sqlx::{AnyExecutor, FromRow};

/// The tables whose rows carry an ERS GUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    GuestAccounts,
    GuestTypes,
    GuestPortals,
    SponsorGroups,
}

impl Named {
    fn table(self) -> &'static str {
        match self {
            Named::GuestAccounts => "guest_accounts",
            Named::GuestTypes => "guest_types",
            Named::GuestPortals => "guest_portals",
            Named::SponsorGroups => "sponsor_groups",
        }
    }
}

/// The row id of the resource named `guid`.
pub async fn row_id(
    db: impl AnyExecutor<'_>,
    named: Named,
    guid: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM {} WHERE ers_id = $1",
        named.table()
    ))
    .bind(guid.to_ascii_lowercase())
    .fetch_optional(db)
    .await
}

/// Every row's id and GUID in `named` (guest types, portals and sponsor
/// groups are few).
pub async fn all_ids(db: impl AnyExecutor<'_>, named: Named) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(&format!(
        "SELECT id, ers_id FROM {} ORDER BY id",
        named.table()
    ))
    .fetch_all(db)
    .await
}

/// A guest account as ERS's GuestUser shows it.
#[derive(Debug, Clone, FromRow)]
pub struct ErsGuestRow {
    pub id: i64,
    pub ers_id: String,
    pub username: String,
    pub state: GuestState,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub phone: String,
    pub person_visited: String,
    pub reason_for_visit: String,
    pub description: String,
    pub location: String,
    pub guest_type: String,
    pub valid_from: i64,
    pub valid_until: i64,
    pub sponsor: Option<String>,
    pub sponsor_id: Option<i64>,
    pub sponsor_group_id: Option<i64>,
    pub portal: String,
    pub created_at: i64,
    pub language: String,
}

const GUEST: &str = "SELECT g.id, g.ers_id, g.username, g.state, g.first_name, g.last_name, g.email, \
     g.company, g.phone, g.person_visited, g.reason_for_visit, g.description, g.location, \
     t.name AS guest_type, g.valid_from, g.valid_until, g.sponsor, g.sponsor_id, g.sponsor_group_id, \
     g.portal, g.created_at, g.language FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id";

pub async fn guest_by_guid(
    db: impl AnyExecutor<'_>,
    guid: &str,
) -> sqlx::Result<Option<ErsGuestRow>> {
    sqlx::query_as(&format!("{GUEST} WHERE g.ers_id = $1"))
        .bind(guid.to_ascii_lowercase())
        .fetch_optional(db)
        .await
}

pub async fn guest_by_name(
    db: impl AnyExecutor<'_>,
    name: &str,
) -> sqlx::Result<Option<ErsGuestRow>> {
    sqlx::query_as(&format!("{GUEST} WHERE LOWER(g.username) = LOWER($1)"))
        .bind(name)
        .fetch_optional(db)
        .await
}

pub async fn guest_by_id(db: impl AnyExecutor<'_>, id: i64) -> sqlx::Result<Option<ErsGuestRow>> {
    sqlx::query_as(&format!("{GUEST} WHERE g.id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// A guest column a filter or sort may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestColumn {
    Name,
    FirstName,
    LastName,
    Email,
    Company,
    Phone,
    Sponsor,
    GuestType,
    Status,
    PersonVisited,
    Location,
}

impl GuestColumn {
    fn sql(self) -> &'static str {
        match self {
            GuestColumn::Name => "g.username",
            GuestColumn::FirstName => "g.first_name",
            GuestColumn::LastName => "g.last_name",
            GuestColumn::Email => "g.email",
            GuestColumn::Company => "g.company",
            GuestColumn::Phone => "g.phone",
            GuestColumn::Sponsor => "g.sponsor",
            GuestColumn::GuestType => "t.name",
            GuestColumn::Status => "g.state",
            GuestColumn::PersonVisited => "g.person_visited",
            GuestColumn::Location => "g.location",
        }
    }
}

/// ERS's filter operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Neq,
    Gt,
    Lt,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Contains,
    NotContains,
}

impl Op {
    pub fn parse(text: &str) -> Option<Op> {
        Some(match text.to_ascii_uppercase().as_str() {
            "EQ" => Op::Eq,
            "NEQ" => Op::Neq,
            "GT" => Op::Gt,
            "LT" => Op::Lt,
            "STARTSW" => Op::StartsWith,
            "NSTARTSW" => Op::NotStartsWith,
            "ENDSW" => Op::EndsWith,
            "NENDSW" => Op::NotEndsWith,
            "CONTAINS" => Op::Contains,
            "NCONTAINS" => Op::NotContains,
            _ => return None,
        })
    }

    /// Whether `value` passes `field OP operand` (case-insensitive, as ISE).
    pub fn matches(self, value: &str, operand: &str) -> bool {
        let value = value.to_lowercase();
        let operand = operand.to_lowercase();
        match self {
            Op::Eq => value == operand,
            Op::Neq => value != operand,
            Op::Gt => value > operand,
            Op::Lt => value < operand,
            Op::StartsWith => value.starts_with(&operand),
            Op::NotStartsWith => !value.starts_with(&operand),
            Op::EndsWith => value.ends_with(&operand),
            Op::NotEndsWith => !value.ends_with(&operand),
            Op::Contains => value.contains(&operand),
            Op::NotContains => !value.contains(&operand),
        }
    }
}

/// One `field.OP.value` condition on guest accounts.
#[derive(Debug, Clone)]
pub struct GuestFilter {
    pub column: GuestColumn,
    pub op: Op,
    pub value: String,
}

/// One page of guest accounts.
#[derive(Debug, Clone)]
pub struct GuestQuery {
    pub filters: Vec<GuestFilter>,
    /// `filterType=or`.
    pub any: bool,
    pub sort: Option<(GuestColumn, bool)>,
    pub limit: i64,
    pub offset: i64,
    /// The sponsor's scope (`None`: every account).
    pub scope: Option<super::guests::Scope>,
}

fn like_escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
        .to_lowercase()
}

/// The matching accounts' page and their total.
pub async fn guests(
    db: &sqlx::AnyPool,
    query: &GuestQuery,
) -> sqlx::Result<(Vec<ErsGuestRow>, i64)> {
    let mut conditions = Vec::new();
    let mut binds: Vec<String> = Vec::new();
    for filter in &query.filters {
        let column = format!("LOWER(COALESCE({}, ''))", filter.column.sql());
        let slot = format!("${}", binds.len() + 1);
        let value = filter.value.clone();
        let (condition, bound) = match filter.op {
            Op::Eq => (format!("{column} = {slot}"), value.to_lowercase()),
            Op::Neq => (format!("{column} <> {slot}"), value.to_lowercase()),
            Op::Gt => (format!("{column} > {slot}"), value.to_lowercase()),
            Op::Lt => (format!("{column} < {slot}"), value.to_lowercase()),
            Op::StartsWith => (
                format!("{column} LIKE {slot} ESCAPE '\\'"),
                format!("{}%", like_escaped(&value)),
            ),
            Op::NotStartsWith => (
                format!("{column} NOT LIKE {slot} ESCAPE '\\'"),
                format!("{}%", like_escaped(&value)),
            ),
            Op::EndsWith => (
                format!("{column} LIKE {slot} ESCAPE '\\'"),
                format!("%{}", like_escaped(&value)),
            ),
            Op::NotEndsWith => (
                format!("{column} NOT LIKE {slot} ESCAPE '\\'"),
                format!("%{}", like_escaped(&value)),
            ),
            Op::Contains => (
                format!("{column} LIKE {slot} ESCAPE '\\'"),
                format!("%{}%", like_escaped(&value)),
            ),
            Op::NotContains => (
                format!("{column} NOT LIKE {slot} ESCAPE '\\'"),
                format!("%{}%", like_escaped(&value)),
            ),
        };
        conditions.push(condition);
        binds.push(bound);
    }
    let mut clause = if conditions.is_empty() {
        "1 = 1".to_string()
    } else {
        format!(
            "({})",
            conditions.join(if query.any { " OR " } else { " AND " })
        )
    };
    let mut scope_id = None;
    if let Some(scope) = query.scope {
        let slot = format!("${}", binds.len() + 1);
        let (condition, id) = match scope {
            super::guests::Scope::All => ("1 = 1".to_string(), None),
            super::guests::Scope::Group(id) => (format!("g.sponsor_group_id = {slot}"), Some(id)),
            super::guests::Scope::Own(id) => (format!("g.sponsor_id = {slot}"), Some(id)),
        };
        clause = format!("{clause} AND {condition}");
        scope_id = id;
    }
    let order = match query.sort {
        Some((column, ascending)) => format!(
            "LOWER(COALESCE({}, '')) {}, g.id",
            column.sql(),
            if ascending { "ASC" } else { "DESC" }
        ),
        None => "g.id".to_string(),
    };
    let count_sql = format!(
        "SELECT COUNT(*) FROM guest_accounts g JOIN guest_types t ON t.id = g.guest_type_id WHERE {clause}"
    );
    let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
    for bind in &binds {
        count = count.bind(bind.clone());
    }
    if let Some(id) = scope_id {
        count = count.bind(id);
    }
    let total = count.fetch_one(db).await?;
    let next = binds.len() + usize::from(scope_id.is_some()) + 1;
    let page_sql = format!(
        "{GUEST} WHERE {clause} ORDER BY {order} LIMIT ${next} OFFSET ${}",
        next + 1
    );
    let mut page = sqlx::query_as::<_, ErsGuestRow>(&page_sql);
    for bind in &binds {
        page = page.bind(bind.clone());
    }
    if let Some(id) = scope_id {
        page = page.bind(id);
    }
    let rows = page
        .bind(query.limit)
        .bind(query.offset)
        .fetch_all(db)
        .await?;
    Ok((rows, total))
}

/// The fields an ERS update may change on an account.
#[derive(Debug, Clone)]
pub struct GuestDetailsUpdate {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
    pub phone: String,
    pub person_visited: String,
    pub reason_for_visit: String,
    pub description: String,
    pub location: String,
    pub language: String,
    pub guest_type_id: i64,
    pub valid_from: i64,
    pub valid_until: i64,
}

pub async fn update_guest(
    db: impl AnyExecutor<'_>,
    id: i64,
    details: &GuestDetailsUpdate,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE guest_accounts SET first_name = $1, last_name = $2, email = $3, company = $4, \
         phone = $5, person_visited = $6, reason_for_visit = $7, description = $8, location = $9, \
         guest_type_id = $10, valid_from = $11, valid_until = $12, updated_at = $13, \
         language = $15 WHERE id = $14",
    )
    .bind(&details.first_name)
    .bind(&details.last_name)
    .bind(&details.email)
    .bind(&details.company)
    .bind(&details.phone)
    .bind(&details.person_visited)
    .bind(&details.reason_for_visit)
    .bind(&details.description)
    .bind(&details.location)
    .bind(details.guest_type_id)
    .bind(details.valid_from)
    .bind(details.valid_until)
    .bind(now)
    .bind(id)
    .bind(&details.language)
    .execute(db)
    .await?;
    Ok(())
}
