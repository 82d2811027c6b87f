//! The Exchange set-up helper: the PowerShell an Exchange admin runs so that
//! the Entra app may send as the mailbox, over SMTP AUTH or through
//! Microsoft Graph.

use super::smtp::{ClientId, TenantId};
use super::{EmailAddress, FieldError};

/// The object ID of the app's *Enterprise Application* (service principal),
/// a GUID. It is not the App registration's object ID.
pub fn parse_enterprise_object_id(field: &str, raw: &str) -> Result<String, FieldError> {
    ClientId::parse(field, raw).map(|id| id.as_str().to_string()).map_err(|_| {
        FieldError::new(
            field,
            "Enter the Object ID shown in Entra ID > Enterprise applications > (this app) > Overview: a GUID.",
        )
    })
}

/// Which object ID is which: shown beside the script.
pub const OBJECT_ID_NOTE: &str = "Use the Object ID from Entra ID > Enterprise applications (the service principal), \
not the Object ID on the App registrations page: the two differ, and New-ServicePrincipal with the wrong one makes \
Exchange answer 535 5.7.3.";

/// Connecting to Exchange Online and registering the app's service
/// principal: the start of both scripts. Every value here is a parsed GUID,
/// domain or address: none can carry a quote or a line break into the
/// script.
fn preamble(
    client_id: &ClientId,
    enterprise_object_id: &str,
    tenant: &TenantId,
    display_name: &str,
) -> String {
    let app = client_id.as_str();
    let tenant = tenant.as_str();
    format!(
        "# Run in PowerShell as an Exchange administrator.\n\
         Install-Module -Name ExchangeOnlineManagement -Scope CurrentUser\n\
         Connect-ExchangeOnline -Organization {tenant}\n\
         \n\
         # Register the Entra app in Exchange (AppId = Application (client) ID,\n\
         # ObjectId = the Enterprise Application's Object ID).\n\
         New-ServicePrincipal -AppId {app} -ObjectId {enterprise_object_id} -DisplayName \"{display_name}\"\n\
         \n"
    )
}

/// The lines to run in Exchange Online PowerShell, from the page's values.
pub fn setup_script(
    client_id: &ClientId,
    enterprise_object_id: &str,
    mailbox: &EmailAddress,
    tenant: &TenantId,
) -> String {
    let mailbox = mailbox.as_str();
    let start = preamble(client_id, enterprise_object_id, tenant, "Mailroom SMTP");
    format!(
        "{start}\
         # Let it send as the mailbox.\n\
         Add-MailboxPermission -Identity \"{mailbox}\" -User {enterprise_object_id} -AccessRights FullAccess\n\
         \n\
         # SMTP AUTH must be allowed for the mailbox.\n\
         Set-CASMailbox -Identity \"{mailbox}\" -SmtpClientAuthenticationDisabled $false\n\
         \n\
         # Check.\n\
         Get-ServicePrincipal -Identity {enterprise_object_id} | Format-List AppId,ObjectId,DisplayName\n\
         Get-MailboxPermission -Identity \"{mailbox}\" -User {enterprise_object_id}\n"
    )
}

/// The lines for the Graph transport: RBAC for Applications, which grants
/// the app "Application Mail.Send" on this mailbox only (a management
/// scope), instead of Mail.Send on every mailbox of the tenant. The
/// Application Access Policy it replaces is named for tenants that still
/// use one.
pub fn graph_setup_script(
    client_id: &ClientId,
    enterprise_object_id: &str,
    mailbox: &EmailAddress,
    tenant: &TenantId,
) -> String {
    let app = client_id.as_str();
    let mailbox = mailbox.as_str();
    let start = preamble(client_id, enterprise_object_id, tenant, "Mailroom Graph");
    format!(
        "{start}\
         # A scope holding only the sending mailbox.\n\
         New-ManagementScope -Name \"Mailroom sender\" -RecipientRestrictionFilter \"PrimarySmtpAddress -eq '{mailbox}'\"\n\
         \n\
         # Let the app send mail as the mailboxes in that scope, and no others.\n\
         New-ManagementRoleAssignment -App {enterprise_object_id} -Role \"Application Mail.Send\" -CustomResourceScope \"Mailroom sender\"\n\
         \n\
         # Check: the result must say InScope True.\n\
         Test-ServicePrincipalAuthorization -Identity {enterprise_object_id} -Resource \"{mailbox}\"\n\
         \n\
         # Older tenants restrict Mail.Send with an application access policy instead:\n\
         # New-ApplicationAccessPolicy -AppId {app} -PolicyScopeGroupId <group containing {mailbox}> -AccessRight RestrictAccess\n\
         # Test-ApplicationAccessPolicy -AppId {app} -Identity \"{mailbox}\"\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_names_the_app_the_service_principal_and_the_mailbox() {
        let client = ClientId::parse("client_id", "1b2c3d4e-0000-4000-8000-00000000abcd").unwrap();
        let tenant = TenantId::parse("tenant_id", "contoso.onmicrosoft.com").unwrap();
        let mailbox = EmailAddress::parse("username", "noreply@contoso.com").unwrap();
        let object_id =
            parse_enterprise_object_id("object_id", "AAAABBBB-0000-4000-8000-000000000001")
                .unwrap();
        let script = setup_script(&client, &object_id, &mailbox, &tenant);
        assert!(script.contains("Connect-ExchangeOnline -Organization contoso.onmicrosoft.com"));
        assert!(script.contains(
            "New-ServicePrincipal -AppId 1b2c3d4e-0000-4000-8000-00000000abcd -ObjectId aaaabbbb-0000-4000-8000-000000000001"
        ));
        assert!(script.contains(
            "Add-MailboxPermission -Identity \"noreply@contoso.com\" -User aaaabbbb-0000-4000-8000-000000000001 -AccessRights FullAccess"
        ));
    }

    #[test]
    fn object_id_must_be_a_guid() {
        let err = parse_enterprise_object_id("object_id", "Mailroom SMTP\"; Remove-Mailbox x")
            .unwrap_err();
        assert!(err.message.contains("Enterprise applications"));
    }

    #[test]
    fn the_graph_script_scopes_mail_send_to_the_mailbox() {
        let client = ClientId::parse("client_id", "1b2c3d4e-0000-4000-8000-00000000abcd").unwrap();
        let tenant = TenantId::parse("tenant_id", "contoso.onmicrosoft.com").unwrap();
        let mailbox = EmailAddress::parse("username", "noreply@contoso.com").unwrap();
        let object_id =
            parse_enterprise_object_id("object_id", "AAAABBBB-0000-4000-8000-000000000001")
                .unwrap();
        let script = graph_setup_script(&client, &object_id, &mailbox, &tenant);
        assert!(script.contains(
            "New-ManagementScope -Name \"Mailroom sender\" -RecipientRestrictionFilter \"PrimarySmtpAddress -eq 'noreply@contoso.com'\""
        ));
        assert!(script.contains(
            "New-ManagementRoleAssignment -App aaaabbbb-0000-4000-8000-000000000001 -Role \"Application Mail.Send\" -CustomResourceScope \"Mailroom sender\""
        ));
        assert!(
            !script.contains("Set-CASMailbox"),
            "SMTP AUTH plays no part"
        );
    }
}
