//! The console frame: top bar, Menu drawer, tabs, left navigation, breadcrumbs.

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
pub struct CurrentAdmin(pub Resource<Result<Option<SignedInAdmin>, ApiError>>);

/// Whether the signed-in admin's role allows `access`; pages disable their
/// buttons with it. The server checks again: this is only for display.
pub fn use_can(access: Access) -> Signal<bool> {
    let me = expect_context::<CurrentAdmin>().0;
    Signal::derive(move || matches!(me.get(), Some(Ok(Some(admin))) if admin.role.allows(access)))
}

#[component]
pub fn ConsoleLayout() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_admin());
    provide_context(CurrentAdmin(me));
    view! {
        <Transition fallback=|| view! { <div class="loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(admin)) => view! {
                        <TopBar admin=admin />
                        <div class="page">
                            <Breadcrumbs />
                            <Outlet />
                        </div>
                    }
                    .into_any(),
                    Ok(None) | Err(ApiError::Unauthenticated) => view! { <Redirect path="/login" /> }.into_any(),
                    Err(error) => view! {
                        <div class="page">
                            <Banner kind=BannerKind::Error>{error.to_string()}</Banner>
                        </div>
                    }
                    .into_any(),
                }
            })}
        </Transition>
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
#[component]
fn MenuDrawer() -> impl IntoView {
    let drawer = NodeRef::<leptos::html::Details>::new();
    let close = move |_| {
        if let Some(details) = drawer.get() {
            details.set_open(false);
        }
    };
    view! {
        <details class="menu" node_ref=drawer>
            <summary class="menu-button" aria-label="Menu">
                <span aria-hidden="true">"☰"</span>
                " Menu"
            </summary>
            <nav class="menu-drawer" aria-label="Main menu">
                <a href="/" class="menu-home" on:click=close>"Home"</a>
                {MENU
                    .iter()
                    .filter(|section| !section.areas.is_empty())
                    .map(|section| view! {
                        <section class="menu-section">
                            <h2>{section.label}</h2>
                            {section.areas.iter().map(|area| view! {
                                <div class="menu-area">
                                    <h3>{area.label}</h3>
                                    <ul>
                                        {area.groups.iter().map(|group| view! {
                                            <li>
                                                <a href=group.items[0].path on:click=close>{group.label}</a>
                                                <ul class="menu-items">
                                                    {group.items.iter().map(|item| view! {
                                                        <li><a href=item.path on:click=close>{item.label}</a></li>
                                                    }).collect_view()}
                                                </ul>
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                </div>
                            }).collect_view()}
                        </section>
                    })
                    .collect_view()}
            </nav>
        </details>
    }
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
            .map(|rest| {
                if rest == "/new" {
                    "New Administrator"
                } else {
                    "Edit"
                }
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
