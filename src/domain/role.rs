use serde::{Deserialize, Serialize};

/// Admin roles, named as ISE names its admin groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    SuperAdmin,
    SystemAdmin,
    ReadOnlyAdmin,
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
}

impl Role {
    pub const ALL: [Role; 3] = [Role::SuperAdmin, Role::SystemAdmin, Role::ReadOnlyAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SuperAdmin => "super_admin",
            Role::SystemAdmin => "system_admin",
            Role::ReadOnlyAdmin => "read_only_admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::SuperAdmin => "Super Admin",
            Role::SystemAdmin => "System Admin",
            Role::ReadOnlyAdmin => "Read Only Admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }

    pub fn allows(self, access: Access) -> bool {
        match access {
            Access::View => true,
            Access::ChangeSystemSettings => matches!(self, Role::SuperAdmin | Role::SystemAdmin),
            Access::ManageAdmins => self == Role::SuperAdmin,
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
}
