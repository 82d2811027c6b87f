//! The console's menu: one table that the Menu drawer, the tabs, the left
//! navigation and the breadcrumbs all read. Only pages that work are listed.

pub struct MenuItem {
    pub label: &'static str,
    pub path: &'static str,
}

/// A tab inside an area (e.g. "Admin Access" in Administration > System).
pub struct MenuGroup {
    pub label: &'static str,
    pub items: &'static [MenuItem],
}

/// An area of a section (e.g. "System" in Administration).
pub struct MenuArea {
    pub label: &'static str,
    pub groups: &'static [MenuGroup],
}

pub struct MenuSection {
    pub label: &'static str,
    pub areas: &'static [MenuArea],
}

pub const ADMINISTRATORS: &str = "/administration/system/admin-access/administrators";
pub const TRUSTED_CERTIFICATES: &str = "/administration/system/certificates/trusted-certificates";
pub const SYSTEM_CERTIFICATES: &str = "/administration/system/certificates/system-certificates";
pub const CERTIFICATE_SIGNING_REQUESTS: &str =
    "/administration/system/certificates/certificate-signing-requests";
pub const SMTP_SERVER: &str = "/administration/system/settings/smtp-server";
pub const PROXY: &str = "/administration/system/settings/proxy";
pub const API_SETTINGS: &str = "/administration/system/settings/api-settings";
pub const DEPLOYMENT: &str = "/administration/system/deployment/deployment";
pub const BACKUP_RESTORE: &str = "/administration/system/backup-restore/backup-restore";
pub const REPOSITORY: &str = "/administration/system/maintenance/repository";
pub const CHANGE_AUDIT: &str = "/operations/reports/audit/change-configuration-audit";
pub const DEBUG_LOG: &str = "/operations/troubleshoot/debug-wizard/debug-log-configuration";
pub const GUEST_EMAIL_SETTINGS: &str = "/work-centers/guest-access/settings/guest-email-settings";
pub const GUEST_TYPES: &str = "/work-centers/guest-access/portals-components/guest-types";
pub const GUEST_PORTALS: &str = "/work-centers/guest-access/portals-components/guest-portals";
pub const SPONSOR_GROUPS: &str = "/work-centers/guest-access/portals-components/sponsor-groups";
pub const DOWNLOAD_LOGS: &str = "/operations/troubleshoot/download-logs/debug-logs";
pub const MAIL_QUEUE: &str = "/operations/mail-queue/outbound-email/mail-queue";
pub const ALARMS: &str = "/operations/alarms/alarms/all-alarms";
pub const ALARM_SETTINGS: &str = "/administration/system/settings/alarm-settings";
pub const ADMIN_PASSWORD_POLICY: &str = "/administration/system/admin-access/password-policy";
pub const USERS: &str = "/administration/identity-management/identities/users";
pub const USER_PASSWORD_POLICY: &str =
    "/administration/identity-management/settings/user-password-policy";

pub const MENU: &[MenuSection] = &[
    MenuSection {
        label: "Administration",
        areas: &[
            MenuArea {
                label: "System",
                groups: &[
                    MenuGroup {
                        label: "Deployment",
                        items: &[MenuItem {
                            label: "Deployment",
                            path: DEPLOYMENT,
                        }],
                    },
                    MenuGroup {
                        label: "Certificates",
                        items: &[
                            MenuItem {
                                label: "System Certificates",
                                path: SYSTEM_CERTIFICATES,
                            },
                            MenuItem {
                                label: "Trusted Certificates",
                                path: TRUSTED_CERTIFICATES,
                            },
                            MenuItem {
                                label: "Certificate Signing Requests",
                                path: CERTIFICATE_SIGNING_REQUESTS,
                            },
                        ],
                    },
                    MenuGroup {
                        label: "Backup & Restore",
                        items: &[MenuItem {
                            label: "Backup & Restore",
                            path: BACKUP_RESTORE,
                        }],
                    },
                    MenuGroup {
                        label: "Maintenance",
                        items: &[MenuItem {
                            label: "Repository",
                            path: REPOSITORY,
                        }],
                    },
                    MenuGroup {
                        label: "Admin Access",
                        items: &[
                            MenuItem {
                                label: "Administrators",
                                path: ADMINISTRATORS,
                            },
                            MenuItem {
                                label: "Password Policy",
                                path: ADMIN_PASSWORD_POLICY,
                            },
                        ],
                    },
                    MenuGroup {
                        label: "Settings",
                        items: &[
                            MenuItem {
                                label: "Alarm Settings",
                                path: ALARM_SETTINGS,
                            },
                            MenuItem {
                                label: "API Settings",
                                path: API_SETTINGS,
                            },
                            MenuItem {
                                label: "Proxy",
                                path: PROXY,
                            },
                            MenuItem {
                                label: "SMTP Server",
                                path: SMTP_SERVER,
                            },
                        ],
                    },
                ],
            },
            MenuArea {
                label: "Identity Management",
                groups: &[
                    MenuGroup {
                        label: "Identities",
                        items: &[MenuItem {
                            label: "Users",
                            path: USERS,
                        }],
                    },
                    MenuGroup {
                        label: "Settings",
                        items: &[MenuItem {
                            label: "User Password Policy",
                            path: USER_PASSWORD_POLICY,
                        }],
                    },
                ],
            },
        ],
    },
    MenuSection {
        label: "Work Centers",
        areas: &[MenuArea {
            label: "Guest Access",
            groups: &[
                MenuGroup {
                    label: "Portals & Components",
                    items: &[
                        MenuItem {
                            label: "Guest Portals",
                            path: GUEST_PORTALS,
                        },
                        MenuItem {
                            label: "Guest Types",
                            path: GUEST_TYPES,
                        },
                        MenuItem {
                            label: "Sponsor Groups",
                            path: SPONSOR_GROUPS,
                        },
                    ],
                },
                MenuGroup {
                    label: "Settings",
                    items: &[MenuItem {
                        label: "Guest Email Settings",
                        path: GUEST_EMAIL_SETTINGS,
                    }],
                },
            ],
        }],
    },
    MenuSection {
        label: "Operations",
        areas: &[
            MenuArea {
                label: "Reports",
                groups: &[MenuGroup {
                    label: "Audit",
                    items: &[MenuItem {
                        label: "Change Configuration Audit",
                        path: CHANGE_AUDIT,
                    }],
                }],
            },
            MenuArea {
                label: "Alarms",
                groups: &[MenuGroup {
                    label: "Alarms",
                    items: &[MenuItem {
                        label: "All Alarms",
                        path: ALARMS,
                    }],
                }],
            },
            MenuArea {
                label: "Mail Queue",
                groups: &[MenuGroup {
                    label: "Outbound Email",
                    items: &[MenuItem {
                        label: "Mail Queue",
                        path: MAIL_QUEUE,
                    }],
                }],
            },
            MenuArea {
                label: "Troubleshoot",
                groups: &[
                    MenuGroup {
                        label: "Debug Wizard",
                        items: &[MenuItem {
                            label: "Debug Log Configuration",
                            path: DEBUG_LOG,
                        }],
                    },
                    MenuGroup {
                        label: "Download Logs",
                        items: &[MenuItem {
                            label: "Debug Logs",
                            path: DOWNLOAD_LOGS,
                        }],
                    },
                ],
            },
        ],
    },
];

/// Where a page sits in the menu.
pub struct Trail {
    pub section: &'static MenuSection,
    pub area: &'static MenuArea,
    pub group: &'static MenuGroup,
    pub item: &'static MenuItem,
}

impl Trail {
    pub fn labels(&self) -> [&'static str; 4] {
        [
            self.section.label,
            self.area.label,
            self.group.label,
            self.item.label,
        ]
    }
}

/// The menu entry whose page is `path` or contains it (`.../new` sits under its list).
pub fn trail(path: &str) -> Option<Trail> {
    MENU.iter().find_map(|section| {
        section.areas.iter().find_map(|area| {
            area.groups.iter().find_map(|group| {
                group
                    .items
                    .iter()
                    .find(|item| {
                        path == item.path
                            || path
                                .strip_prefix(item.path)
                                .is_some_and(|rest| rest.starts_with('/'))
                    })
                    .map(|item| Trail {
                        section,
                        area,
                        group,
                        item,
                    })
            })
        })
    })
}

/// The URL form of a menu label: lower case, words joined by '-', '&' dropped.
pub fn slug(label: &str) -> String {
    label
        .split(|c: char| c.is_whitespace())
        .filter(|word| !word.is_empty() && *word != "&")
        .map(|word| word.replace('&', "").to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_mirrors_its_menu_labels() {
        for section in MENU {
            for area in section.areas {
                for group in area.groups {
                    for item in group.items {
                        let expected = format!(
                            "/{}/{}/{}/{}",
                            slug(section.label),
                            slug(area.label),
                            slug(group.label),
                            slug(item.label)
                        );
                        assert_eq!(item.path, expected);
                    }
                }
            }
        }
    }

    #[test]
    fn slug_follows_the_url_rule() {
        assert_eq!(slug("Portals & Components"), "portals-components");
        assert_eq!(slug("SMTP Server"), "smtp-server");
    }

    #[test]
    fn sub_pages_find_their_list_page() {
        let t = trail(&format!("{ADMINISTRATORS}/new")).unwrap();
        assert_eq!(
            t.labels(),
            ["Administration", "System", "Admin Access", "Administrators"]
        );
        assert!(trail("/administration/system/admin-access/administratorsX").is_none());
    }
}
