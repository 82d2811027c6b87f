//! Administration > System > Certificates > System Certificates and
//! Certificate Signing Requests: the certificates each node serves HTTPS
//! with. Keys are generated, read and checked off the async runtime; they
//! are sealed in the vault and never returned, except inside a PKCS#12
//! export encrypted with a password the admin chose.

use super::{Caller, ServiceError, audit, settings_changed_everywhere};
use crate::domain::system_certificate::{
    CertificateDefaults, CertificateEdit, CertificateRequestForm, CertificateStatus, KeyType,
    Pkcs12Export, SigningRequest, SubjectFields, SystemCertificate, file_stem, split_names,
    used_by_label,
};
use crate::domain::{Access, FieldError, Secret, reject_line_breaks};
use crate::server::db::system_certificates::{
    NewSystemCertificate, SigningRequestRow, SystemCertificateRow,
};
use crate::server::{AppState, db, https, pki};

/// The vault purpose of a pending signing request's key.
pub const CSR_KEY_PURPOSE: &str = "csr-key";
/// Most names one certificate may carry.
const MAX_SANS: usize = 100;
/// ISE's longest validity for a generated certificate: five years.
const MAX_VALIDITY_DAYS: i64 = 5 * 365;

fn view(row: SystemCertificateRow, now: i64) -> SystemCertificate {
    let facts = pki::read_chain(row.certificate_pem.as_bytes())
        .ok()
        .and_then(|chain| chain.first().and_then(|leaf| pki::facts(leaf).ok()));
    SystemCertificate {
        status: CertificateStatus::at(row.valid_from, row.valid_to, now),
        serial: facts.as_ref().map(|f| f.serial.clone()).unwrap_or_default(),
        sans: facts.as_ref().map(|f| f.sans.clone()).unwrap_or_default(),
        key_type: facts
            .as_ref()
            .map(|f| f.key_type.clone())
            .unwrap_or_default(),
        sha256: facts.as_ref().map(|f| f.sha256.clone()).unwrap_or_default(),
        self_signed: facts.as_ref().is_some_and(|f| f.self_signed),
        id: row.id,
        node: row.node,
        friendly_name: row.friendly_name,
        used_by_admin: row.used_by_admin,
        used_by_portal: row.used_by_portal,
        issued_to: row.issued_to,
        issued_by: row.issued_by,
        valid_from: row.valid_from,
        valid_to: row.valid_to,
        certificate_pem: row.certificate_pem,
        created_at: row.created_at,
        created_by: row.created_by,
    }
}

fn request_view(row: SigningRequestRow) -> SigningRequest {
    SigningRequest {
        id: row.id,
        node: row.node,
        friendly_name: row.friendly_name,
        subject: row.subject,
        sans: row.sans.lines().map(str::to_string).collect(),
        key_type: row.key_type,
        used_by_admin: row.used_by_admin,
        used_by_portal: row.used_by_portal,
        csr_pem: row.csr_pem,
        created_at: row.created_at,
        created_by: row.created_by,
    }
}

pub async fn list(app: &AppState, caller: &Caller) -> Result<Vec<SystemCertificate>, ServiceError> {
    caller.require(Access::View)?;
    let now = app.now();
    let rows = db::system_certificates::list(&app.db).await?;
    Ok(rows.into_iter().map(|row| view(row, now)).collect())
}

pub async fn signing_requests(
    app: &AppState,
    caller: &Caller,
) -> Result<Vec<SigningRequest>, ServiceError> {
    caller.require(Access::View)?;
    let rows = db::system_certificates::signing_requests(&app.db).await?;
    Ok(rows.into_iter().map(request_view).collect())
}

pub async fn defaults(
    app: &AppState,
    caller: &Caller,
) -> Result<CertificateDefaults, ServiceError> {
    caller.require(Access::View)?;
    let this_node = app.config.node_name.clone();
    Ok(CertificateDefaults {
        nodes: nodes(app).await?,
        default_sans: https::default_sans(&https::host_name(&this_node)),
        this_node,
    })
}

/// The deployment's nodes, this one first.
async fn nodes(app: &AppState) -> Result<Vec<String>, ServiceError> {
    let mut nodes = vec![app.config.node_name.clone()];
    for node in db::deployment::nodes(&app.db).await? {
        if !nodes.contains(&node.name) {
            nodes.push(node.name);
        }
    }
    Ok(nodes)
}

/// The names a browser may use for `node`: for this node its host name,
/// the loopback names, `MAILROOM_TLS_SANS` and the public origins; for
/// another node its name.
fn node_names(app: &AppState, node: &str) -> Vec<String> {
    let mut names = vec![node.to_ascii_lowercase()];
    if node == app.config.node_name {
        names.extend(https::default_sans(&https::host_name(node)));
        for origin in &app.config.edge.public_origins {
            let host = origin
                .split("://")
                .nth(1)
                .unwrap_or(origin)
                .trim_end_matches('/');
            let host = if let Some(v6) = host.strip_prefix('[') {
                v6.split(']').next().unwrap_or_default()
            } else {
                host.split(':').next().unwrap_or_default()
            };
            names.push(host.to_ascii_lowercase());
        }
    }
    names
}

fn check_text(field: &str, value: &str, max: usize) -> Result<String, ServiceError> {
    reject_line_breaks(field, value)?;
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ServiceError::invalid(
            field,
            format!("At most {max} characters."),
        ));
    }
    Ok(value.to_string())
}

fn check_subject(subject: &SubjectFields) -> Result<SubjectFields, ServiceError> {
    let common_name = check_text("common_name", &subject.common_name, 64)?;
    if common_name.is_empty() {
        return Err(ServiceError::invalid(
            "common_name",
            "Enter the Common Name (CN), usually the node's fully qualified name.",
        ));
    }
    let country = check_text("country", &subject.country, 2)?.to_ascii_uppercase();
    if !country.is_empty()
        && (country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()))
    {
        return Err(ServiceError::invalid(
            "country",
            "Two letters (ISO 3166), such as US or ES, or leave it blank.",
        ));
    }
    Ok(SubjectFields {
        common_name,
        organizational_unit: check_text("organizational_unit", &subject.organizational_unit, 64)?,
        organization: check_text("organization", &subject.organization, 64)?,
        locality: check_text("locality", &subject.locality, 128)?,
        state: check_text("state", &subject.state, 128)?,
        country,
    })
}

/// The SAN field's names, each a DNS name (a leading `*.` allowed) or an
/// IP address.
fn check_sans(text: &str) -> Result<Vec<String>, ServiceError> {
    let names = split_names(text);
    if names.is_empty() {
        return Err(ServiceError::invalid(
            "sans",
            "Enter at least one name: browsers check the Subject Alternative Names, not the Common Name.",
        ));
    }
    if names.len() > MAX_SANS {
        return Err(ServiceError::invalid(
            "sans",
            format!("At most {MAX_SANS} names."),
        ));
    }
    for name in &names {
        if name.parse::<std::net::IpAddr>().is_ok() {
            continue;
        }
        let host = name.strip_prefix("*.").unwrap_or(name);
        let valid = !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !valid {
            return Err(ServiceError::invalid(
                "sans",
                format!("'{name}' is neither a DNS name nor an IP address."),
            ));
        }
    }
    Ok(names)
}

fn check_node(nodes: &[String], node: &str) -> Result<String, ServiceError> {
    let node = node.trim();
    if node.is_empty() {
        return Ok(nodes[0].clone());
    }
    nodes
        .iter()
        .find(|n| n.as_str() == node)
        .cloned()
        .ok_or_else(|| ServiceError::invalid("node", "Choose a node of this deployment."))
}

/// Refuses a certificate for the Admin or Portal usage that does not name
/// the node: browsers would refuse it.
fn check_names_node(
    app: &AppState,
    node: &str,
    sans: &[String],
    field: &str,
    usages: bool,
) -> Result<(), ServiceError> {
    if !usages {
        return Ok(());
    }
    let names = node_names(app, node);
    if pki::names_node(sans, &names) {
        return Ok(());
    }
    Err(ServiceError::invalid(
        field,
        format!(
            "No Subject Alternative Name matches node '{node}' (its names: {}): browsers would refuse this certificate for the Admin or Portal usage.",
            names.join(", ")
        ),
    ))
}

fn check_dates(field: &str, facts: &pki::Facts, now: i64) -> Result<(), ServiceError> {
    let day = |unix: i64| {
        time::OffsetDateTime::from_unix_timestamp(unix)
            .map(|t| t.date().to_string())
            .unwrap_or_default()
    };
    if facts.not_after <= now {
        return Err(ServiceError::invalid(
            field,
            format!(
                "This certificate expired on {}: ask the CA for a new one.",
                day(facts.not_after)
            ),
        ));
    }
    if facts.not_before > now {
        return Err(ServiceError::invalid(
            field,
            format!(
                "This certificate is not valid until {}: check the node's clock, or bind it then.",
                day(facts.not_before)
            ),
        ));
    }
    Ok(())
}

fn friendly_name_or(field_value: &str, default: &str) -> Result<String, ServiceError> {
    let name = check_text("friendly_name", field_value, 256)?;
    Ok(if name.is_empty() {
        default.to_string()
    } else {
        name
    })
}

fn parse_validity(text: &str) -> Result<i64, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(365);
    }
    match text.parse::<i64>() {
        Ok(days) if (1..=MAX_VALIDITY_DAYS).contains(&days) => Ok(days),
        _ => Err(ServiceError::invalid(
            "validity_days",
            format!("A number of days from 1 to {MAX_VALIDITY_DAYS} (five years)."),
        )),
    }
}

/// A Generate form's fields, checked: the same rules for a self-signed
/// certificate and a signing request.
struct CheckedRequest {
    node: String,
    subject: SubjectFields,
    /// As typed (IP addresses become IP SANs).
    sans: Vec<String>,
    /// `DNS:` and `IP:` entries.
    tagged: Vec<String>,
    friendly_name: String,
}

async fn check_request(
    app: &AppState,
    form: &CertificateRequestForm,
) -> Result<CheckedRequest, ServiceError> {
    let node = check_node(&nodes(app).await?, &form.node)?;
    let subject = check_subject(&form.subject)?;
    let sans = check_sans(&form.sans)?;
    let friendly_name = friendly_name_or(&form.friendly_name, &subject.common_name)?;
    let tagged: Vec<String> = sans.iter().map(|n| tag(n)).collect();
    check_names_node(
        app,
        &node,
        &tagged,
        "sans",
        form.used_by_admin || form.used_by_portal,
    )?;
    Ok(CheckedRequest {
        node,
        subject,
        sans,
        tagged,
        friendly_name,
    })
}

/// Generate Self Signed Certificate.
pub async fn generate_self_signed(
    app: &AppState,
    caller: &Caller,
    form: CertificateRequestForm,
) -> Result<SystemCertificate, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let checked = check_request(app, &form).await?;
    let days = parse_validity(&form.validity_days)?;
    let now = app.clock.now();
    let key_type = form.key_type;
    let (subject, sans) = (checked.subject.clone(), checked.sans.clone());
    let (chain_pem, key) = tokio::task::spawn_blocking(move || {
        let key = pki::generate_key(key_type)?;
        let params = pki::certificate_params(&subject, &sans, now, days)?;
        Ok::<_, String>((pki::self_signed(&params, &key)?, key))
    })
    .await?
    .map_err(|e| ServiceError::invalid("sans", e))?;
    let chain = pki::read_chain(chain_pem.as_bytes()).map_err(ServiceError::internal)?;
    let row = store(
        app,
        caller,
        Stored {
            node: &checked.node,
            friendly_name: &checked.friendly_name,
            chain: &chain,
            key: &key,
            used_by_admin: form.used_by_admin,
            used_by_portal: form.used_by_portal,
            action: "generate",
            drop_request: None,
        },
    )
    .await?;
    Ok(view(row, app.now()))
}

fn tag(name: &str) -> String {
    if name.parse::<std::net::IpAddr>().is_ok() {
        format!("IP:{name}")
    } else {
        format!("DNS:{name}")
    }
}

/// Generate Certificate Signing Request: the key waits in the vault.
pub async fn generate_signing_request(
    app: &AppState,
    caller: &Caller,
    form: CertificateRequestForm,
) -> Result<SigningRequest, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let checked = check_request(app, &form).await?;
    let now = app.clock.now();
    let key_type = form.key_type;
    let (subject, sans) = (checked.subject.clone(), checked.sans.clone());
    let (csr_pem, key) = tokio::task::spawn_blocking(move || {
        let key = pki::generate_key(key_type)?;
        let params = pki::certificate_params(&subject, &sans, now, 365)?;
        Ok::<_, String>((pki::signing_request(&params, &key)?, key))
    })
    .await?
    .map_err(|e| ServiceError::invalid("sans", e))?;
    let mut row = SigningRequestRow {
        id: 0,
        node: checked.node,
        friendly_name: checked.friendly_name,
        subject: distinguished_name(&checked.subject),
        sans: checked.tagged.join("\n"),
        key_type: key_type.label().to_string(),
        used_by_admin: form.used_by_admin,
        used_by_portal: form.used_by_portal,
        csr_pem,
        created_at: now.unix_timestamp(),
        created_by: caller.name.clone(),
    };
    let mut tx = db::begin_write(&app.db).await?;
    row.id = db::system_certificates::insert_signing_request(&mut *tx, &row).await?;
    app.vault
        .put_in(
            &mut *tx,
            CSR_KEY_PURPOSE,
            &row.id.to_string(),
            &key,
            row.created_at,
        )
        .await?;
    audit(
        &mut tx,
        caller,
        row.created_at,
        "generate",
        &format!(
            "Certificate Signing Request {} ({})",
            row.friendly_name, row.node
        ),
        "subject, sans, key_type, usages",
    )
    .await?;
    tx.commit().await?;
    Ok(request_view(row))
}

fn distinguished_name(subject: &SubjectFields) -> String {
    [
        ("CN", &subject.common_name),
        ("OU", &subject.organizational_unit),
        ("O", &subject.organization),
        ("L", &subject.locality),
        ("ST", &subject.state),
        ("C", &subject.country),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={v}"))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Bind Certificate: the CA-signed certificate (and its chain) for a
/// pending signing request. Returns the certificate and the verified path.
pub async fn bind(
    app: &AppState,
    caller: &Caller,
    request_id: i64,
    file: Vec<u8>,
    friendly_name: &str,
) -> Result<(SystemCertificate, Vec<String>), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let request = db::system_certificates::signing_request(&app.db, request_id)
        .await?
        .ok_or_else(|| {
            ServiceError::NotFound(
                "This signing request no longer exists: it was bound or deleted.".into(),
            )
        })?;
    let friendly_name = friendly_name_or(friendly_name, &request.friendly_name)?;
    let key = app
        .vault
        .get(CSR_KEY_PURPOSE, &request_id.to_string())
        .await?
        .ok_or_else(|| {
            ServiceError::internal("a signing request's key is missing from the vault")
        })?;
    let anchors = trust_anchors(app).await?;
    let now = app.now();
    let checked = tokio::task::spawn_blocking(move || {
        let chain = pki::read_chain(&file)?;
        let facts = pki::facts(&chain[0])?;
        if facts.public_key != pki::public_key_of(&key)? {
            return Err("This certificate was not issued for this signing request: its public key is not the request's. Bind it to the request it was issued for.".to_string());
        }
        Ok((chain, facts, key))
    })
    .await?
    .map_err(|e| ServiceError::invalid("certificate", e))?;
    let (chain, facts, key) = checked;
    check_dates("certificate", &facts, now)?;
    check_names_node(
        app,
        &request.node,
        &facts.sans,
        "certificate",
        request.used_by_admin || request.used_by_portal,
    )?;
    let path = verify(&chain, anchors, now).await?;
    let row = store(
        app,
        caller,
        Stored {
            node: &request.node,
            friendly_name: &friendly_name,
            chain: &chain,
            key: &key,
            used_by_admin: request.used_by_admin,
            used_by_portal: request.used_by_portal,
            action: "bind",
            drop_request: Some(request_id),
        },
    )
    .await?;
    Ok((view(row, app.now()), path))
}

/// The Trusted Certificates store and the system roots.
async fn trust_anchors(app: &AppState) -> Result<Vec<Vec<u8>>, ServiceError> {
    let mut anchors: Vec<Vec<u8>> = db::certificates::list(&app.db)
        .await?
        .into_iter()
        .map(|row| row.der)
        .collect();
    anchors.extend(
        crate::server::tls::system_roots()
            .iter()
            .map(|der| der.to_vec()),
    );
    Ok(anchors)
}

/// A self-signed certificate stands alone; any other must chain to a
/// trusted CA (ISE's rule for binding and importing system certificates).
async fn verify(
    chain: &[Vec<u8>],
    anchors: Vec<Vec<u8>>,
    now: i64,
) -> Result<Vec<String>, ServiceError> {
    let chain = chain.to_vec();
    tokio::task::spawn_blocking(move || {
        let facts = pki::facts(&chain[0])?;
        if facts.self_signed && chain.len() == 1 {
            return Ok(vec![facts.subject]);
        }
        pki::verify_chain(&chain, &anchors, now)
    })
    .await?
    .map_err(|e| ServiceError::invalid("certificate", e))
}

/// Import: a certificate with its private key, or a PKCS#12 bundle.
pub struct Import {
    pub node: String,
    pub friendly_name: String,
    /// PEM or DER certificate (and chain), or a PKCS#12 bundle.
    pub certificate: Vec<u8>,
    /// Empty with a PKCS#12 bundle.
    pub private_key: Vec<u8>,
    /// The key's or the bundle's password.
    pub password: Secret,
    pub used_by_admin: bool,
    pub used_by_portal: bool,
}

pub async fn import(
    app: &AppState,
    caller: &Caller,
    import: Import,
) -> Result<(SystemCertificate, Vec<String>), ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let node = check_node(&nodes(app).await?, &import.node)?;
    let anchors = trust_anchors(app).await?;
    let now = app.now();
    let certificate = import.certificate;
    let private_key = import.private_key;
    let password = import.password;
    let read = tokio::task::spawn_blocking(move || {
        if certificate.is_empty() {
            return Err(FieldError::new(
                "certificate",
                "Choose the certificate file (or a PKCS#12 bundle).",
            ));
        }
        let (chain, key) = if private_key.is_empty() && pki::read_chain(&certificate).is_err() {
            // No key file and not a certificate: a PKCS#12 bundle.
            pki::read_pkcs12(&certificate, &password).map_err(|e| {
                let field = if e.field() == "password" {
                    "password"
                } else {
                    "certificate"
                };
                FieldError::new(field, e.message())
            })?
        } else {
            let chain = pki::read_chain(&certificate)
                .map_err(|e| FieldError::new("certificate", e))?;
            if private_key.is_empty() {
                return Err(FieldError::new(
                    "private_key",
                    "Choose the certificate's private key file (or import a PKCS#12 bundle as the certificate file).",
                ));
            }
            let key = pki::read_private_key(&private_key, &password)
                .map_err(|e| FieldError::new(e.field(), e.message()))?;
            (chain, key)
        };
        let facts =
            pki::facts(&chain[0]).map_err(|e| FieldError::new("certificate", e))?;
        let public_key =
            pki::public_key_of(&key).map_err(|e| FieldError::new("private_key", e))?;
        if facts.public_key != public_key {
            return Err(FieldError::new(
                "private_key",
                "This private key does not belong to the certificate: choose the key the certificate was issued for.",
            ));
        }
        Ok((chain, facts, key))
    })
    .await?;
    let (chain, facts, key) = read.map_err(ServiceError::Invalid)?;
    check_dates("certificate", &facts, now)?;
    check_names_node(
        app,
        &node,
        &facts.sans,
        "certificate",
        import.used_by_admin || import.used_by_portal,
    )?;
    let path = verify(&chain, anchors, now).await?;
    let friendly_name = friendly_name_or(&import.friendly_name, &facts.subject)?;
    let row = store(
        app,
        caller,
        Stored {
            node: &node,
            friendly_name: &friendly_name,
            chain: &chain,
            key: &key,
            used_by_admin: import.used_by_admin,
            used_by_portal: import.used_by_portal,
            action: "import",
            drop_request: None,
        },
    )
    .await?;
    Ok((view(row, app.now()), path))
}

struct Stored<'a> {
    node: &'a str,
    friendly_name: &'a str,
    chain: &'a [Vec<u8>],
    key: &'a Secret,
    used_by_admin: bool,
    used_by_portal: bool,
    action: &'a str,
    drop_request: Option<i64>,
}

/// Stores a checked certificate and its key in one transaction, takes its
/// usages from the node's other certificates, and serves it at once.
async fn store(
    app: &AppState,
    caller: &Caller,
    stored: Stored<'_>,
) -> Result<SystemCertificateRow, ServiceError> {
    let facts = pki::facts(&stored.chain[0]).map_err(ServiceError::internal)?;
    let certificate_pem = pki::chain_pem(stored.chain);
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let new = NewSystemCertificate {
        node: stored.node,
        friendly_name: stored.friendly_name,
        used_by_admin: stored.used_by_admin,
        used_by_portal: stored.used_by_portal,
        certificate_pem: &certificate_pem,
        issued_to: &facts.subject,
        issued_by: &facts.issuer,
        valid_from: facts.not_before,
        valid_to: facts.not_after,
        created_by: &caller.name,
    };
    let id = db::system_certificates::insert(&mut *tx, &new, now).await?;
    app.vault
        .put_in(
            &mut *tx,
            https::KEY_PURPOSE,
            &id.to_string(),
            stored.key,
            now,
        )
        .await?;
    db::system_certificates::release_usages(
        &mut tx,
        stored.node,
        id,
        stored.used_by_admin,
        stored.used_by_portal,
    )
    .await?;
    if let Some(request_id) = stored.drop_request {
        db::system_certificates::delete_signing_request(&mut *tx, request_id).await?;
        db::vault::delete(&mut *tx, CSR_KEY_PURPOSE, &request_id.to_string()).await?;
    }
    audit(
        &mut tx,
        caller,
        now,
        stored.action,
        &format!(
            "System Certificate {} ({})",
            stored.friendly_name, stored.node
        ),
        &usage_fields(stored.used_by_admin, stored.used_by_portal),
    )
    .await?;
    settings_changed_everywhere(&mut tx).await?;
    tx.commit().await?;
    certificates_changed(app).await;
    db::system_certificates::get(&app.db, id)
        .await?
        .ok_or_else(|| ServiceError::internal("a stored certificate vanished"))
}

fn usage_fields(admin: bool, portal: bool) -> String {
    let mut fields = vec!["certificate", "private_key", "friendly_name"];
    if admin {
        fields.push("used_by_admin");
    }
    if portal {
        fields.push("used_by_portal");
    }
    fields.join(", ")
}

/// This node serves its new certificates from the next handshake; the
/// others within their settings watch; expiry alarms look again.
async fn certificates_changed(app: &AppState) {
    https::reload(app).await;
    crate::server::alarms::check_soon(app);
}

/// Edit: the friendly name and the Admin and Portal usages.
pub async fn edit(
    app: &AppState,
    caller: &Caller,
    edit: CertificateEdit,
) -> Result<SystemCertificate, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    let friendly_name = check_text("friendly_name", &edit.friendly_name, 256)?;
    if friendly_name.is_empty() {
        return Err(ServiceError::invalid(
            "friendly_name",
            "Enter a friendly name.",
        ));
    }
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let row = db::system_certificates::get(&mut *tx, edit.id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This certificate no longer exists.".into()))?;
    if row.used_by_admin && !edit.used_by_admin {
        return Err(ServiceError::invalid(
            "used_by_admin",
            "The node must serve the console with a certificate: give another certificate of this node the Admin usage, and this one loses it.",
        ));
    }
    let takes_usage =
        (edit.used_by_admin && !row.used_by_admin) || (edit.used_by_portal && !row.used_by_portal);
    if takes_usage {
        let facts = pki::read_chain(row.certificate_pem.as_bytes())
            .and_then(|chain| pki::facts(&chain[0]))
            .map_err(ServiceError::internal)?;
        let field = if edit.used_by_admin && !row.used_by_admin {
            "used_by_admin"
        } else {
            "used_by_portal"
        };
        check_dates(field, &facts, now)?;
        check_names_node(app, &row.node, &facts.sans, field, true)?;
    }
    db::system_certificates::update(
        &mut *tx,
        edit.id,
        &friendly_name,
        edit.used_by_admin,
        edit.used_by_portal,
    )
    .await?;
    db::system_certificates::release_usages(
        &mut tx,
        &row.node,
        edit.id,
        edit.used_by_admin && !row.used_by_admin,
        edit.used_by_portal && !row.used_by_portal,
    )
    .await?;
    let fields = super::changed(&[
        ("friendly_name", friendly_name != row.friendly_name),
        ("used_by_admin", edit.used_by_admin != row.used_by_admin),
        ("used_by_portal", edit.used_by_portal != row.used_by_portal),
    ]);
    if !fields.is_empty() {
        audit(
            &mut tx,
            caller,
            now,
            "update",
            &format!("System Certificate {} ({})", friendly_name, row.node),
            &fields.join(", "),
        )
        .await?;
        settings_changed_everywhere(&mut tx).await?;
    }
    tx.commit().await?;
    if edit.used_by_admin != row.used_by_admin || edit.used_by_portal != row.used_by_portal {
        tracing::info!(target: "admin-access", user = %caller.name, "system certificate '{friendly_name}' of {} is now used by: {}", row.node, used_by_label(edit.used_by_admin, edit.used_by_portal));
        certificates_changed(app).await;
    }
    let row = db::system_certificates::get(&app.db, edit.id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This certificate no longer exists.".into()))?;
    Ok(view(row, now))
}

/// Deletes certificates not in use; one in use for Admin or Portal is
/// refused with the reason, and nothing is deleted.
pub async fn delete(app: &AppState, caller: &Caller, ids: &[i64]) -> Result<usize, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if ids.is_empty() {
        return Err(ServiceError::Conflict(
            "Select the certificates to delete.".into(),
        ));
    }
    super::check_selection_size(ids, "certificates")?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let mut rows = Vec::new();
    for &id in ids {
        if let Some(row) = db::system_certificates::get(&mut *tx, id).await? {
            if row.used_by_admin || row.used_by_portal {
                return Err(ServiceError::Conflict(format!(
                    "'{}' is in use for {} on {}: give that usage to another certificate first (Edit), then delete this one.",
                    row.friendly_name,
                    used_by_label(row.used_by_admin, row.used_by_portal),
                    row.node
                )));
            }
            rows.push(row);
        }
    }
    for row in &rows {
        db::system_certificates::delete(&mut *tx, row.id).await?;
        db::vault::delete(&mut *tx, https::KEY_PURPOSE, &row.id.to_string()).await?;
        audit(
            &mut tx,
            caller,
            now,
            "delete",
            &format!("System Certificate {} ({})", row.friendly_name, row.node),
            "certificate, private_key",
        )
        .await?;
    }
    tx.commit().await?;
    crate::server::alarms::check_soon(app);
    Ok(rows.len())
}

pub async fn delete_signing_requests(
    app: &AppState,
    caller: &Caller,
    ids: &[i64],
) -> Result<usize, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if ids.is_empty() {
        return Err(ServiceError::Conflict(
            "Select the signing requests to delete.".into(),
        ));
    }
    super::check_selection_size(ids, "signing requests")?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    let mut deleted = 0;
    for &id in ids {
        let Some(row) = db::system_certificates::signing_request(&mut *tx, id).await? else {
            continue;
        };
        db::system_certificates::delete_signing_request(&mut *tx, id).await?;
        db::vault::delete(&mut *tx, CSR_KEY_PURPOSE, &id.to_string()).await?;
        audit(
            &mut tx,
            caller,
            now,
            "delete",
            &format!(
                "Certificate Signing Request {} ({})",
                row.friendly_name, row.node
            ),
            "csr, private_key",
        )
        .await?;
        deleted += 1;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Export with the private key: a PKCS#12 bundle encrypted with
/// `export_password`, after the admin proved who they are again.
pub async fn export_pkcs12(
    app: &AppState,
    caller: &Caller,
    id: i64,
    admin_password: Secret,
    export_password: Secret,
    confirm_password: Secret,
) -> Result<Pkcs12Export, ServiceError> {
    caller.require(Access::ChangeSystemSettings)?;
    if export_password.expose().chars().count() < 8 {
        return Err(ServiceError::invalid(
            "export_password",
            "At least 8 characters: it is all that protects the private key in the file.",
        ));
    }
    if export_password.expose() != confirm_password.expose() {
        return Err(ServiceError::invalid(
            "confirm_password",
            "The two export passwords differ.",
        ));
    }
    let hash = match caller.admin_id {
        Some(admin_id) => db::admins::by_id(&app.db, admin_id)
            .await?
            .map(|admin| admin.password_hash),
        None => None,
    };
    if !crate::server::auth::verify_password_off_runtime(admin_password, hash).await {
        tracing::warn!(target: "admin-access", user = %caller.name, "export of a private key refused: wrong admin password");
        return Err(ServiceError::invalid(
            "admin_password",
            "This is not your password: the private key was not exported.",
        ));
    }
    let row = db::system_certificates::get(&app.db, id)
        .await?
        .ok_or_else(|| ServiceError::NotFound("This certificate no longer exists.".into()))?;
    let key = app
        .vault
        .get(https::KEY_PURPOSE, &id.to_string())
        .await?
        .ok_or_else(|| ServiceError::internal("a system certificate's key is missing"))?;
    let chain_pem = row.certificate_pem.clone();
    let friendly_name = row.friendly_name.clone();
    let bundle = tokio::task::spawn_blocking(move || {
        let chain = pki::read_chain(chain_pem.as_bytes())?;
        pki::to_pkcs12(&chain, &key, &friendly_name, &export_password)
    })
    .await?
    .map_err(ServiceError::internal)?;
    let now = app.now();
    let mut tx = db::begin_write(&app.db).await?;
    audit(
        &mut tx,
        caller,
        now,
        "export",
        &format!("System Certificate {} ({})", row.friendly_name, row.node),
        "certificate, private_key",
    )
    .await?;
    tx.commit().await?;
    use base64::Engine;
    Ok(Pkcs12Export {
        file_name: format!("{}.p12", file_stem(&row.friendly_name)),
        base64: base64::engine::general_purpose::STANDARD.encode(bundle),
    })
}

/// The key types offered by the forms, for the API's validation.
pub fn parse_key_type(value: &str) -> Result<KeyType, ServiceError> {
    KeyType::parse(value.trim())
        .ok_or_else(|| ServiceError::invalid("key_type", "Choose a key type from the list."))
}
