use serde::{Deserialize, Serialize};

/// Admin roles, named as ISE names its admin groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    SuperAdmin,
    SystemAdmin,
    ReadOnlyAdmin,
    /// ISE's ERS Admin: reads and writes through the ERS API, no console.
    ErsAdmin,
    /// ISE's ERS Operator: reads through the ERS API, no console.
    ErsOperator,
}

/// What a server function needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any signed-in admin may read.
    View,
    /// Change system settings (SMTP, proxy, certificates, alarms...).
    ChangeSystemSettings,
    /// Create, edit and disable admin users.
    ManageAdmins,
    /// Read through the ERS API.
    ErsRead,
    /// Change through the ERS API.
    ErsWrite,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::SuperAdmin,
        Role::SystemAdmin,
        Role::ReadOnlyAdmin,
        Role::ErsAdmin,
        Role::ErsOperator,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::SystemAdmin => "system_admin",
            Role::ReadOnlyAdmin => "read_only_admin",
            Role::ErsAdmin => "ers_admin",
            Role::ErsOperator => "ers_operator",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super Admin",
            Role::SystemAdmin => "System Admin",
            Role::ReadOnlyAdmin => "Read Only Admin",
            Role::ErsAdmin => "ERS Admin",
            Role::ErsOperator => "ERS Operator",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    /// Whether the role signs in to the console (the ERS roles use only
    /// the API, as in ISE).
    pub fn uses_console(self) -> bool {
        !matches!(self, Role::ErsAdmin | Role::ErsOperator)
    }

    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::View => self.uses_console(),
            Access::ChangeSystemSettings => matches!(self, Role::SuperAdmin | Role::SystemAdmin),
            Access::ManageAdmins => self == Role::SuperAdmin,
            Access::ErsRead => {
                matches!(self, Role::SuperAdmin | Role::ErsAdmin | Role::ErsOperator)
            }
            Access::ErsWrite => matches!(self, Role::SuperAdmin | Role::ErsAdmin),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trips_every_role() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_super_admin_manages_admins_and_read_only_changes_nothing() {
        assert!(Role::SuperAdmin.allows(Access::ManageAdmins));
        assert!(!Role::SystemAdmin.allows(Access::ManageAdmins));
        assert!(Role::SystemAdmin.allows(Access::ChangeSystemSettings));
        assert!(!Role::ReadOnlyAdmin.allows(Access::ChangeSystemSettings));
        assert!(!Role::ReadOnlyAdmin.allows(Access::ManageAdmins));
        assert!(Role::ReadOnlyAdmin.allows(Access::View));
    }

    #[test]
    fn ers_roles_use_only_the_api_and_the_operator_only_reads() {
        for role in [Role::ErsAdmin, Role::ErsOperator] {
            assert!(!role.uses_console());
            assert!(!role.allows(Access::View));
            assert!(!role.allows(Access::ChangeSystemSettings));
            assert!(role.allows(Access::ErsRead));
        }
        assert!(Role::ErsAdmin.allows(Access::ErsWrite));
        assert!(!Role::ErsOperator.allows(Access::ErsWrite));
        assert!(Role::SuperAdmin.allows(Access::ErsWrite));
        assert!(!Role::SystemAdmin.allows(Access::ErsRead));
        assert!(!Role::ReadOnlyAdmin.allows(Access::ErsRead));
    }
}
