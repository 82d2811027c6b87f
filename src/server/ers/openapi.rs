//! The OpenAPI 3 document of the ERS endpoints this console serves, at
//! `/ers/openapi.json`. `tests/ers_openapi.rs` calls every operation it
//! lists to check that the router serves it, and runs schemathesis
//! against it.

use serde_json::{Map, Value, json};

/// One operation: method, path template, summary, request body schema (a
/// name under `components/schemas`), success status and its schema.
pub type Operation = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    Option<&'static str>,
);

/// Every operation the router serves.
pub const OPERATIONS: &[Operation] = &[
    (
        "get",
        "/ers/config/guestuser",
        "List guest users",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "post",
        "/ers/config/guestuser",
        "Create a guest user (its credentials email is queued)",
        Some("GuestUserRequest"),
        201,
        None,
    ),
    (
        "get",
        "/ers/config/guestuser/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/guestuser/{id}",
        "Get a guest user by id",
        None,
        200,
        Some("GuestUserResponse"),
    ),
    (
        "put",
        "/ers/config/guestuser/{id}",
        "Update a guest user by id (fields absent keep their value)",
        Some("GuestUserRequest"),
        200,
        Some("UpdatedFieldsList"),
    ),
    (
        "delete",
        "/ers/config/guestuser/{id}",
        "Delete a guest user by id",
        None,
        204,
        None,
    ),
    (
        "get",
        "/ers/config/guestuser/name/{name}",
        "Get a guest user by name",
        None,
        200,
        Some("GuestUserResponse"),
    ),
    (
        "put",
        "/ers/config/guestuser/name/{name}",
        "Update a guest user by name",
        Some("GuestUserRequest"),
        200,
        Some("UpdatedFieldsList"),
    ),
    (
        "delete",
        "/ers/config/guestuser/name/{name}",
        "Delete a guest user by name",
        None,
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/email/{id}/portalId/{portalId}",
        "Resend the credentials email with the portal's template",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/suspend/{id}",
        "Suspend a guest user",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/reinstate/{id}",
        "Reinstate a suspended guest user",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/suspend/name/{name}",
        "Suspend a guest user by name",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/reinstate/name/{name}",
        "Reinstate a guest user by name",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/resetpassword/{id}",
        "Reset a guest user's password; the new one is returned",
        Some("OperationRequest"),
        200,
        Some("OperationResult"),
    ),
    (
        "put",
        "/ers/config/guestuser/approve/{id}",
        "Approve a guest user pending approval",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guestuser/deny/{id}",
        "Deny a guest user pending approval",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "get",
        "/ers/config/guesttype",
        "List guest types",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "post",
        "/ers/config/guesttype",
        "Create a guest type",
        Some("GuestTypeRequest"),
        201,
        None,
    ),
    (
        "get",
        "/ers/config/guesttype/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/guesttype/{id}",
        "Get a guest type",
        None,
        200,
        Some("GuestTypeResponse"),
    ),
    (
        "put",
        "/ers/config/guesttype/{id}",
        "Update a guest type (fields absent keep their value)",
        Some("GuestTypeRequest"),
        200,
        Some("UpdatedFieldsList"),
    ),
    (
        "delete",
        "/ers/config/guesttype/{id}",
        "Delete a guest type no account uses",
        None,
        204,
        None,
    ),
    (
        "put",
        "/ers/config/guesttype/email/{id}",
        "Send the type's expiry notice as a test to emailAddress",
        Some("OperationRequest"),
        204,
        None,
    ),
    (
        "get",
        "/ers/config/guestsmtpnotificationsettings",
        "List the guest SMTP settings (one record)",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "post",
        "/ers/config/guestsmtpnotificationsettings",
        "Refused: the one record exists",
        Some("SmtpSettingsRequest"),
        201,
        None,
    ),
    (
        "get",
        "/ers/config/guestsmtpnotificationsettings/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/guestsmtpnotificationsettings/{id}",
        "Get the guest SMTP settings",
        None,
        200,
        Some("SmtpSettingsResponse"),
    ),
    (
        "put",
        "/ers/config/guestsmtpnotificationsettings/{id}",
        "Update them: connection changes must pass Test Connection first",
        Some("SmtpSettingsRequest"),
        200,
        Some("UpdatedFieldsList"),
    ),
    (
        "get",
        "/ers/config/sponsorportal",
        "List sponsor portals",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "get",
        "/ers/config/sponsorportal/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/sponsorportal/{id}",
        "Get a sponsor portal",
        None,
        200,
        Some("PortalResponse"),
    ),
    (
        "get",
        "/ers/config/selfregportal",
        "List self-registration portals",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "get",
        "/ers/config/selfregportal/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/selfregportal/{id}",
        "Get a self-registration portal",
        None,
        200,
        Some("PortalResponse"),
    ),
    (
        "get",
        "/ers/config/sponsorgroup",
        "List sponsor groups",
        None,
        200,
        Some("SearchResult"),
    ),
    (
        "get",
        "/ers/config/sponsorgroup/versioninfo",
        "Resource version",
        None,
        200,
        Some("VersionInfo"),
    ),
    (
        "get",
        "/ers/config/sponsorgroup/{id}",
        "Get a sponsor group",
        None,
        200,
        Some("SponsorGroupResponse"),
    ),
    (
        "get",
        "/ers/config/endpoint/versioninfo",
        "Version; with X-CSRF-Token: fetch, returns a CSRF token",
        None,
        200,
        Some("VersionInfo"),
    ),
];

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": reference("ERSResponse")}}})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn integer() -> Value {
    json!({"type": "integer"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

fn object(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn envelope(name: &str, inner: Value) -> Value {
    let mut properties = Map::new();
    properties.insert(name.into(), inner);
    json!({"type": "object", "properties": properties, "required": [name]})
}

/// Strings or integers (ERS sends ports and timeouts as strings).
fn number_or_text() -> Value {
    json!({"oneOf": [{"type": "string"}, {"type": "integer"}]})
}

fn link() -> Value {
    object(json!({"rel": string(), "href": string(), "type": string()}))
}

fn schemas() -> Value {
    let guest_user = object(json!({
        "id": string(), "name": string(), "description": string(), "guestType": string(),
        "status": string(), "statusReason": string(), "reasonForVisit": string(),
        "personBeingVisited": string(), "sponsorUserName": string(), "sponsorUserId": string(),
        "portalId": string(), "customFields": {"type": "object"},
        "guestInfo": object(json!({
            "userName": string(), "firstName": string(), "lastName": string(),
            "emailAddress": string(), "company": string(), "phoneNumber": string(),
            "password": string(), "creationTime": string(), "enabled": boolean(),
            "notificationLanguage": string(),
        })),
        "guestAccessInfo": object(json!({
            "validDays": integer(), "fromDate": string(), "toDate": string(), "location": string(),
        })),
        "link": link(),
    }));
    let guest_type = object(json!({
        "id": string(), "name": string(), "description": string(), "isDefaultType": boolean(),
        "accessTime": object(json!({
            "fromFirstLogin": boolean(), "maxAccountDuration": integer(),
            "durationTimeUnit": string(), "defaultDuration": integer(),
            "allowAccessOnSpecificDaysTimes": boolean(),
        })),
        "loginOptions": {"type": "object"},
        "expirationNotification": object(json!({
            "enableNotification": boolean(), "advanceNotificationDuration": integer(),
            "advanceNotificationUnits": string(), "sendEmailNotification": boolean(),
            "sendSmsNotification": boolean(), "emailText": string(),
        })),
        "sponsorGroups": {"type": "array", "items": string()},
        "link": link(),
    }));
    let smtp = object(json!({
        "id": string(), "name": string(), "description": string(), "smtpServer": string(),
        "smtpPort": number_or_text(), "connectionTimeout": number_or_text(),
        "notificationEnabled": boolean(), "useDefaultFromAddress": boolean(),
        "defaultFromAddress": string(), "useTLSorSSLEncryption": boolean(),
        "usePasswordAuthentication": boolean(), "userName": string(),
        "password": {"type": "string", "writeOnly": true}, "link": link(),
    }));
    let portal = object(json!({
        "id": string(), "name": string(), "description": string(), "portalType": string(),
        "portalTestUrl": string(), "link": link(),
    }));
    let summary =
        object(json!({"id": string(), "name": string(), "description": string(), "link": link()}));
    json!({
        "GuestUserRequest": envelope("GuestUser", guest_user.clone()),
        "GuestUserResponse": envelope("GuestUser", guest_user),
        "GuestTypeRequest": envelope("GuestType", guest_type.clone()),
        "GuestTypeResponse": envelope("GuestType", guest_type),
        "SmtpSettingsRequest": envelope("ERSGuestSmtpNotificationSettings", smtp.clone()),
        "SmtpSettingsResponse": envelope("ERSGuestSmtpNotificationSettings", smtp),
        "PortalResponse": {"type": "object", "minProperties": 1, "maxProperties": 1,
            "additionalProperties": portal},
        "SponsorGroupResponse": envelope("SponsorGroup", object(json!({
            "id": string(), "name": string(), "description": string(), "isEnabled": boolean(),
            "isDefaultGroup": boolean(), "otherPermissions": {"type": "object"}, "link": link(),
        }))),
        "OperationRequest": object(json!({
            "OperationAdditionalData": object(json!({
                "additionalData": {"type": "array", "items": object(json!({"name": string(), "value": string()}))},
            })),
        })),
        "OperationResult": envelope("OperationResult", object(json!({
            "resultValue": {"type": "array", "items": object(json!({"name": string(), "value": string()}))},
        }))),
        "UpdatedFieldsList": envelope("UpdatedFieldsList", object(json!({
            "updatedField": {"type": "array", "items": object(json!({
                "field": string(), "oldValue": string(), "newValue": string(),
            }))},
        }))),
        "SearchResult": envelope("SearchResult", {
            let mut search = object(json!({
                "total": integer(),
                "resources": {"type": "array", "items": summary},
                "nextPage": link(),
                "previousPage": link(),
            }));
            search["required"] = json!(["total", "resources"]);
            search
        }),
        "VersionInfo": envelope("VersionInfo", object(json!({
            "currentServerVersion": string(), "supportedVersions": string(), "link": link(),
        }))),
        "ERSResponse": envelope("ERSResponse", object(json!({
            "operation": string(),
            "messages": {"type": "array", "items": object(json!({
                "title": string(), "type": string(), "code": string(),
            }))},
            "link": link(),
        }))),
    })
}

fn parameters(path: &str, method: &str) -> Vec<Value> {
    let mut parameters: Vec<Value> = path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": string()}))
        .collect();
    let is_list = method == "get" && path.matches('/').count() == 3;
    if is_list {
        parameters.extend([
            json!({"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}}),
            json!({"name": "size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}),
            json!({"name": "filter", "in": "query", "style": "form", "explode": true,
                   "schema": {"type": "array", "items": {"type": "string"}},
                   "description": "field.OPERATOR.value (EQ, NEQ, GT, LT, STARTSW, NSTARTSW, ENDSW, NENDSW, CONTAINS, NCONTAINS), split on the first two dots"}),
            json!({"name": "filterType", "in": "query", "schema": {"type": "string", "enum": ["and", "or"]}}),
            json!({"name": "sortasc", "in": "query", "schema": string()}),
            json!({"name": "sortdsc", "in": "query", "schema": string()}),
        ]);
    }
    if path.ends_with("endpoint/versioninfo") {
        parameters.push(json!({"name": "X-CSRF-Token", "in": "header", "schema": string()}));
    }
    parameters
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for (method, path, summary, request, status, response) in OPERATIONS {
        let mut responses = Map::new();
        let success = match (status, response) {
            (201, _) => json!({"description": "Created: the new resource's URL is in Location",
                "headers": {"Location": {"schema": string()}}}),
            (_, Some(schema)) => json!({"description": "Done",
                "content": {"application/json": {"schema": reference(schema)}}}),
            (_, None) => json!({"description": "Done"}),
        };
        responses.insert(status.to_string(), success);
        for (code, description) in [
            ("400", "Bad request or a rule refused it; nothing changed"),
            ("401", "Basic credentials missing or wrong"),
            ("403", "The ERS API is off, or the caller may not do this"),
            ("404", "No such resource"),
            ("405", "Not an operation at this path"),
            ("415", "Not application/json"),
            ("429", "Too many requests: retry after Retry-After"),
        ] {
            responses.insert(code.into(), error_response(description));
        }
        let mut operation = json!({
            "summary": summary,
            "operationId": format!("{method}{}", path.replace(['/', '{', '}'], "_")),
            "parameters": parameters(path, method),
            "responses": responses,
        });
        if let Some(schema) = request {
            operation["requestBody"] = json!({"required": false,
                "content": {"application/json": {"schema": reference(schema)}}});
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|entry| entry.insert(method.to_string(), operation));
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Mailroom ERS API",
            "version": crate::server::VERSION,
            "description": "ISE's External RESTful Services for guest email, as Cisco's ciscoisesdk calls them. Basic authentication on every request: an admin with the ERS Admin (read and write), ERS Operator (read) or Super Admin role, or a sponsor whose group grants the Guest REST API (guestuser only). Collections also answer with a trailing slash.",
        },
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
            "schemas": schemas(),
        },
    })
}
