//! The console frame: top bar, Menu drawer, tabs, left navigation, breadcrumbs.

use super::loaded::{Loaded, load};
use super::menu::{MENU, MenuGroup, trail};
use super::{Banner, BannerKind};
use crate::api::ApiError;
use crate::api::auth::{Logout, SignedInAdmin, current_admin};
use crate::domain::Access;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::use_location;

/// The signed-in admin, loaded once by the layout and read by every page.
#[derive(Clone, Copy)]
pub struct CurrentAdmin(pub Loaded<Result<Option<SignedInAdmin>, ApiError>>);

/// Whether the signed-in admin's role allows `access`; pages disable their
/// buttons with it. The server checks again: this is only for display.
pub fn use_can(access: Access) -> Signal<bool> {
    let me = expect_context::<CurrentAdmin>().0;
    Signal::derive(move || matches!(me.get(), Some(Ok(Some(admin))) if admin.role.allows(access)))
}

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let me = load(|| (), |_| current_admin());
    provide_context(CurrentAdmin(me));
    // Only the top bar waits for the admin. The page is outside this
    // Transition: a Suspense re-runs its children's closure while resolving
    // on the server, and a page inside it would be built (and would load
    // its data) once per re-run.
    view! {
        <Transition fallback=|| view! { <header class="topbar"></header> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(admin)) => view! { <TopBar admin=admin /> }.into_any(),
                    Ok(None) | Err(ApiError::Unauthenticated) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
        <div class="page">
            <Breadcrumbs />
            <Outlet />
        </div>
    }
}

#[component]
fn TopBar(admin: SignedInAdmin) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let initial = admin
        .name
        .chars()
        .next()
        .unwrap_or('?')
        .to_ascii_uppercase()
        .to_string();
    view! {
        <header class="topbar">
            <MenuDrawer />
            <a href="/" class="brand">
                <span class="brand-mark" aria-hidden="true">"✉"</span>
                <span class="brand-name">"Mailroom"</span>
                <span class="brand-sub">"Identity Services Email"</span>
            </a>
            <div class="topbar-spacer"></div>
            <span class="node" title="Node">{admin.node.clone()}</span>
            <span class="user" title=admin.role.label()>
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="user-name" data-testid="signed-in-user">{admin.name.clone()}</span>
                <span class="user-role">{admin.role.label()}</span>
            </span>
            <ActionForm action=logout attr:class="logout-form">
                <button type="submit" class="topbar-button">"Log Out"</button>
            </ActionForm>
        </header>
    }
}

/// The ☰ Menu drawer. A `<details>` element, so it opens without scripts too.
/// Its links are the same for every admin and page, so their HTML is built
/// once per process; one click handler on the drawer closes it when a link
/// is followed (the router takes the link itself).
#[component]
fn MenuDrawer() -> impl IntoView {
    let drawer = NodeRef::<leptos::html::Details>::new();
    let close_on_link = move |ev: leptos::ev::MouseEvent| {
        let on_link = event_target::<leptos::web_sys::Element>(&ev)
            .closest("a")
            .ok()
            .flatten()
            .is_some();
        if on_link && let Some(details) = drawer.get() {
            details.set_open(false);
        }
    };
    view! {
        <details class="menu" node_ref=drawer>
            <summary class="menu-button" aria-label="Menu">
                <span aria-hidden="true">"☰"</span>
                " Menu"
            </summary>
            <nav class="menu-drawer" aria-label="Main menu" on:click=close_on_link inner_html=menu_drawer_html()></nav>
        </details>
    }
}

/// The drawer's links: Home, then each section's areas, tabs and pages.
fn menu_drawer_html() -> &'static str {
    static HTML: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HTML.get_or_init(|| {
        use crate::domain::template::escape_html as esc;
        let mut html = String::from(r#"<a href="/" class="menu-home">Home</a>"#);
        for section in MENU.iter().filter(|section| !section.areas.is_empty()) {
            html.push_str(&format!(
                r#"<section class="menu-section"><h2>{}</h2>"#,
                esc(section.label)
            ));
            for area in section.areas {
                html.push_str(&format!(
                    r#"<div class="menu-area"><h3>{}</h3><ul>"#,
                    esc(area.label)
                ));
                for group in area.groups {
                    html.push_str(&format!(
                        r#"<li><a href="{}">{}</a><ul class="menu-items">"#,
                        esc(group.items[0].path),
                        esc(group.label)
                    ));
                    for item in group.items {
                        html.push_str(&format!(
                            r#"<li><a href="{}">{}</a></li>"#,
                            esc(item.path),
                            esc(item.label)
                        ));
                    }
                    html.push_str("</ul></li>");
                }
                html.push_str("</ul></div>");
            }
            html.push_str("</section>");
        }
        html
    })
}

/// "Administration › System › Admin Access › Administrators", plus the
/// current sub-page when there is one.
#[component]
fn Breadcrumbs() -> impl IntoView {
    let location = use_location();
    move || {
        let path = location.pathname.get();
        let Some(trail) = trail(&path) else {
            return view! { <nav class="breadcrumbs" aria-label="Breadcrumb"><span>"Home"</span></nav> }.into_any();
        };
        let [section, area, group, item] = trail.labels();
        let sub_page = path
            .strip_prefix(trail.item.path)
            .filter(|rest| !rest.is_empty())
            .map(|rest| match rest {
                "/new" => "New",
                "/import" => "Import",
                "/generate" => "Generate",
                "/bind" => "Bind Certificate",
                _ => "Edit",
            });
        view! {
            <nav class="breadcrumbs" aria-label="Breadcrumb">
                <span>{section}</span>
                <span class="sep">"›"</span>
                <span>{area}</span>
                <span class="sep">"›"</span>
                <span>{group}</span>
                <span class="sep">"›"</span>
                {match sub_page {
                    Some(sub) => view! {
                        <a href=trail.item.path>{item}</a>
                        <span class="sep">"›"</span>
                        <span aria-current="page">{sub}</span>
                    }
                    .into_any(),
                    None => view! { <span aria-current="page">{item}</span> }.into_any(),
                }}
            </nav>
        }
        .into_any()
    }
}

/// The tabs of the current area (ISE's second row) and the left navigation
/// of the current tab, around a page's content.
#[component]
pub fn LeftNav(children: Children) -> impl IntoView {
    let location = use_location();
    let path = location.pathname.get_untracked();
    let here = trail(&path);
    let tabs = here.as_ref().map(|t| t.area.groups).unwrap_or_default();
    let group: Option<&'static MenuGroup> = here.as_ref().map(|t| t.group);
    let current_group = group.map(|g| g.label);
    view! {
        <nav class="tabs" aria-label="Tabs">
            {tabs.iter().map(|tab| {
                let active = Some(tab.label) == current_group;
                view! { <a href=tab.items[0].path class=if active { "tab active" } else { "tab" }>{tab.label}</a> }
            }).collect_view()}
        </nav>
        <div class="with-left-nav">
            <aside class="left-nav" aria-label=group.map(|g| g.label).unwrap_or("Navigation")>
                <h2>{group.map(|g| g.label)}</h2>
                <ul>
                    {group.map(|g| g.items.iter().map(|item| {
                        let active = path == item.path || path.starts_with(&format!("{}/", item.path));
                        view! {
                            <li class:active=active>
                                <a href=item.path>{item.label}</a>
                            </li>
                        }
                    }).collect_view())}
                </ul>
            </aside>
            <section class="content">{children()}</section>
        </div>
    }
}
