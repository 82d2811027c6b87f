//! The HTML shell and the router.

use crate::components::ConsoleLayout;
use crate::pages::administrators::{
    AdministratorsPage, EditAdministratorPage, NewAdministratorPage,
};
use crate::pages::alarms::{AlarmSettingsPage, AlarmsPage};
use crate::pages::api_settings::ApiSettingsPage;
use crate::pages::backup_restore::BackupRestorePage;
use crate::pages::change_audit::ChangeAuditPage;
use crate::pages::debug_log::DebugLogPage;
use crate::pages::deployment::DeploymentPage;
use crate::pages::download_logs::DownloadLogsPage;
use crate::pages::guest_approval::GuestApprovalPage;
use crate::pages::guest_email::GuestEmailPage;
use crate::pages::guest_portal_public::{GuestLoginPage, SelfRegistrationPage};
use crate::pages::guest_portals::{EditGuestPortalPage, GuestPortalsPage};
use crate::pages::guest_types::{EditGuestTypePage, GuestTypesPage, NewGuestTypePage};
use crate::pages::home::HomePage;
use crate::pages::identities::{AdminPasswordPolicyPage, UserPasswordPolicyPage, UsersPage};
use crate::pages::login::{ChangeExpiredPasswordPage, LoginPage};
use crate::pages::mail_queue::MailQueuePage;
use crate::pages::not_found::NotFound;
use crate::pages::proxy::ProxyPage;
use crate::pages::repository::RepositoryPage;
use crate::pages::smtp_server::SmtpServerPage;
use crate::pages::sponsor_groups::SponsorGroupsPage;
use crate::pages::sponsor_portal::{SponsorLoginPage, SponsorPortalPage};
use crate::pages::system_certificates::{
    BindCertificatePage, GenerateSelfSignedPage, GenerateSigningRequestPage,
    ImportSystemCertificatePage, SigningRequestsPage, SystemCertificatesPage,
};
use crate::pages::trusted_certificates::{ImportCertificatePage, TrustedCertificatesPage};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

/// A route whose page is compiled into its own wasm chunk (with
/// `cargo leptos build --split`), fetched when the route is first shown, so
/// the bundle every page loads holds only the shell, sign-in and dashboard.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(this: Self) -> AnyView {
                let _: $route = this;
                view! { <$page /> }.into_any()
            }
        }
    };
}

lazy_page!(AdministratorsRoute, AdministratorsPage);
lazy_page!(NewAdministratorRoute, NewAdministratorPage);
lazy_page!(EditAdministratorRoute, EditAdministratorPage);
lazy_page!(TrustedCertificatesRoute, TrustedCertificatesPage);
lazy_page!(ImportCertificateRoute, ImportCertificatePage);
lazy_page!(SystemCertificatesRoute, SystemCertificatesPage);
lazy_page!(GenerateSelfSignedRoute, GenerateSelfSignedPage);
lazy_page!(ImportSystemCertificateRoute, ImportSystemCertificatePage);
lazy_page!(SigningRequestsRoute, SigningRequestsPage);
lazy_page!(GenerateSigningRequestRoute, GenerateSigningRequestPage);
lazy_page!(BindCertificateRoute, BindCertificatePage);
lazy_page!(SmtpServerRoute, SmtpServerPage);
lazy_page!(ProxyRoute, ProxyPage);
lazy_page!(ApiSettingsRoute, ApiSettingsPage);
lazy_page!(DeploymentRoute, DeploymentPage);
lazy_page!(BackupRestoreRoute, BackupRestorePage);
lazy_page!(RepositoryRoute, RepositoryPage);
lazy_page!(ChangeAuditRoute, ChangeAuditPage);
lazy_page!(DebugLogRoute, DebugLogPage);
lazy_page!(MailQueueRoute, MailQueuePage);
lazy_page!(DownloadLogsRoute, DownloadLogsPage);
lazy_page!(GuestEmailRoute, GuestEmailPage);
lazy_page!(GuestTypesRoute, GuestTypesPage);
lazy_page!(NewGuestTypeRoute, NewGuestTypePage);
lazy_page!(EditGuestTypeRoute, EditGuestTypePage);
lazy_page!(GuestPortalsRoute, GuestPortalsPage);
lazy_page!(EditGuestPortalRoute, EditGuestPortalPage);
lazy_page!(SelfRegistrationRoute, SelfRegistrationPage);
lazy_page!(GuestLoginRoute, GuestLoginPage);
lazy_page!(GuestApprovalRoute, GuestApprovalPage);
lazy_page!(SponsorGroupsRoute, SponsorGroupsPage);
lazy_page!(SponsorLoginRoute, SponsorLoginPage);
lazy_page!(SponsorPortalRoute, SponsorPortalPage);
lazy_page!(AlarmsRoute, AlarmsPage);
lazy_page!(ChangeExpiredPasswordRoute, ChangeExpiredPasswordPage);
lazy_page!(AlarmSettingsRoute, AlarmSettingsPage);
lazy_page!(AdminPasswordPolicyRoute, AdminPasswordPolicyPage);
lazy_page!(UserPasswordPolicyRoute, UserPasswordPolicyPage);
lazy_page!(UsersRoute, UsersPage);

/// Where the pages link the build's files from: the server's versioned
/// prefix (see `server::assets`), so the browser caches them for good.
fn asset_root() -> String {
    #[cfg(feature = "ssr")]
    {
        crate::server::assets::root().to_string()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// The options the hydration scripts get, minus where the split manifest
/// is: with it they add a `<link rel="preload">` to the page for each of the
/// route's wasm chunks (about 200 for the SMTP Server page), rendered one
/// by one on every request and adding 19 KB to the page. The chunks load
/// without them, in parallel, once the main wasm runs.
fn without_chunk_preloads(options: &LeptosOptions) -> LeptosOptions {
    let mut options = options.clone();
    // A folder that cannot exist: the manifest is not found.
    options.site_root = std::sync::Arc::from("/dev/null");
    options
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options=without_chunk_preloads(&options) root=asset_root() />
                // Static head tags live here, in the server-only shell, so
                // the browser build does not carry code to render them.
                <link id="leptos" rel="stylesheet" href=format!("{}/pkg/mailroom.css", asset_root()) />
                <link rel="icon" href=format!("{}/favicon.svg", asset_root()) type="image/svg+xml" />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Every page is rendered whole before it is sent (SsrMode::Async), so a
    // redirect to the sign-in page is a real 302 and pages work before the
    // wasm loads.
    view! {
        <Title formatter=|page: String| format!("{page} | Mailroom") />
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/expired-password") view={Lazy::<ChangeExpiredPasswordRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/portal/:id/self-registration") view={Lazy::<SelfRegistrationRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/portal/:id/login") view={Lazy::<GuestLoginRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/sponsor/login") view={Lazy::<SponsorLoginRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/sponsor/approval/:token") view={Lazy::<GuestApprovalRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/sponsor") view={Lazy::<SponsorPortalRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=ConsoleLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/admin-access/administrators") view={Lazy::<AdministratorsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/admin-access/administrators/new") view={Lazy::<NewAdministratorRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/admin-access/administrators/:id") view={Lazy::<EditAdministratorRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/trusted-certificates") view={Lazy::<TrustedCertificatesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/trusted-certificates/import") view={Lazy::<ImportCertificateRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/system-certificates") view={Lazy::<SystemCertificatesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/system-certificates/generate") view={Lazy::<GenerateSelfSignedRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/system-certificates/import") view={Lazy::<ImportSystemCertificateRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/certificate-signing-requests") view={Lazy::<SigningRequestsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/certificate-signing-requests/generate") view={Lazy::<GenerateSigningRequestRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/certificates/certificate-signing-requests/bind") view={Lazy::<BindCertificateRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/settings/smtp-server") view={Lazy::<SmtpServerRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/settings/proxy") view={Lazy::<ProxyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/backup-restore/backup-restore") view={Lazy::<BackupRestoreRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/maintenance/repository") view={Lazy::<RepositoryRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/settings/api-settings") view={Lazy::<ApiSettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/deployment/deployment") view={Lazy::<DeploymentRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/settings/alarm-settings") view={Lazy::<AlarmSettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/system/admin-access/password-policy") view={Lazy::<AdminPasswordPolicyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/identity-management/identities/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/administration/identity-management/settings/user-password-policy") view={Lazy::<UserPasswordPolicyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operations/alarms/alarms/all-alarms") view={Lazy::<AlarmsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operations/reports/audit/change-configuration-audit") view={Lazy::<ChangeAuditRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operations/troubleshoot/debug-wizard/debug-log-configuration") view={Lazy::<DebugLogRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operations/mail-queue/outbound-email/mail-queue") view={Lazy::<MailQueueRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/operations/troubleshoot/download-logs/debug-logs") view={Lazy::<DownloadLogsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/settings/guest-email-settings") view={Lazy::<GuestEmailRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/guest-portals") view={Lazy::<GuestPortalsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/guest-portals/:id") view={Lazy::<EditGuestPortalRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/sponsor-groups") view={Lazy::<SponsorGroupsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/guest-types") view={Lazy::<GuestTypesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/guest-types/new") view={Lazy::<NewGuestTypeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/work-centers/guest-access/portals-components/guest-types/:id") view={Lazy::<EditGuestTypeRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}
