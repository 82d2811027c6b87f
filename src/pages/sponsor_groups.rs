//! Work Centers > Guest Access > Portals & Components > Sponsor Groups:
//! what each group's sponsors may do, and the sponsor users in them.

use crate::api::sponsor_groups::{
    CreateSponsorUser, SponsorGroupSummary, SponsorGroupsPage, delete_sponsor_users,
    get_sponsor_groups, save_sponsor_group,
};
use crate::components::{
    Banner, BannerKind, Field, LeftNav, PageHeader, check_before_post, field_error, load, use_can,
};
use crate::domain::sponsor::{ApproveScope, ManageScope, SponsorPermissions};
use crate::domain::{Access, AdminPassword, FieldError};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SponsorGroupsPage() -> impl IntoView {
    let create = ServerAction::<CreateSponsorUser>::new();
    let delete = Action::new(|id: &i64| delete_sponsor_users(vec![*id]));
    let page = load(
        move || (create.version().get(), delete.version().get()),
        |_| get_sponsor_groups(),
    );
    view! {
        <Title text="Sponsor Groups" />
        <LeftNav>
            <PageHeader title="Sponsor Groups" subtitle="What sponsors may do on the sponsor portal (create accounts, whose accounts they manage, resend, extend, suspend, delete), and the sponsor users who sign in there." />
            {move || match delete.value().get() {
                Some(Ok(_)) => Some(view! { <Banner kind=BannerKind::Success>"The sponsor user was deleted."</Banner> }.into_any()),
                Some(Err(e)) => Some(view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => view! { <Groups page create delete /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn Groups(
    page: SponsorGroupsPage,
    create: ServerAction<CreateSponsorUser>,
    delete: Action<i64, Result<u64, crate::api::ApiError>>,
) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let groups = page.groups.clone();
    view! {
        <div class="group-cards">
            {page.groups.into_iter().map(|group| view! { <GroupCard group can_change /> }).collect_view()}
        </div>
        <h2 class="section-title">"Sponsor Users"</h2>
        <table class="data-table" aria-label="Sponsor users">
            <thead><tr><th>"Username"</th><th>"Full Name"</th><th>"Email"</th><th>"Sponsor Group"</th><th></th></tr></thead>
            <tbody>
                {page.users.is_empty().then(|| view! { <tr><td colspan="5" class="empty">"No sponsor users yet: add one below."</td></tr> })}
                {page.users.into_iter().map(|user| {
                    let id = user.id;
                    view! {
                        <tr>
                            <td>{user.username.clone()}</td>
                            <td>{user.full_name}</td>
                            <td>{user.email}</td>
                            <td>{user.group}</td>
                            <td><button type="button" class="btn small" disabled=move || !can_change.get()
                                aria-label=format!("Delete {}", user.username)
                                on:click=move |_| { delete.dispatch(id); }>"Delete"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <NewSponsorUser groups create can_change />
    }
}

#[component]
fn GroupCard(group: SponsorGroupSummary, can_change: Signal<bool>) -> impl IntoView {
    let id = group.id;
    let permissions = RwSignal::new(group.permissions.clone());
    let save = Action::new(move |p: &SponsorPermissions| save_sponsor_group(id, p.clone()));
    let flag = move |label: &'static str,
                     get: fn(&SponsorPermissions) -> bool,
                     set: fn(&mut SponsorPermissions, bool)| {
        view! {
            <label class="checkbox">
                <input type="checkbox" prop:checked=move || get(&permissions.get())
                    on:change=move |ev| permissions.update(|p| set(p, event_target_checked(&ev))) />
                {label}
            </label>
        }
    };
    let scope = group.permissions.scope;
    let approve_scope = group.permissions.approve_scope;
    view! {
        <section class="panel group-card" aria-label=group.name.clone()>
            <div class="panel-header">
                <h2>{group.name.clone()}</h2>
                <span class="tag">{format!("{} member(s)", group.members)}</span>
            </div>
            <p class="hint">{group.description.clone()}</p>
            <fieldset class="permissions" disabled=move || !can_change.get()>
                {flag("Create accounts", |p| p.can_create, |p, v| p.can_create = v)}
                <label class="scope">
                    "Manage:"
                    <select aria-label=format!("{} manages", group.name) on:change=move |ev| {
                        let value = event_target_value(&ev);
                        permissions.update(|p| p.scope = ManageScope::parse(&value).unwrap_or_default());
                    }>
                        {ManageScope::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=s == scope>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                {flag("Resend credentials", |p| p.can_resend, |p, v| p.can_resend = v)}
                {flag("Reset passwords", |p| p.can_reset, |p, v| p.can_reset = v)}
                {flag("Extend access", |p| p.can_extend, |p, v| p.can_extend = v)}
                {flag("Suspend and reinstate", |p| p.can_suspend, |p, v| p.can_suspend = v)}
                {flag("Delete accounts", |p| p.can_delete, |p, v| p.can_delete = v)}
                {flag("Access guest accounts using the programmatic interface (Guest REST API)", |p| p.can_use_api, |p, v| p.can_use_api = v)}
                {flag("Approve and view requests from self-registering guests", |p| p.can_approve, |p, v| p.can_approve = v)}
                <label class="scope">
                    "Requests:"
                    <select aria-label=format!("{} approves", group.name) disabled=move || !permissions.get().can_approve on:change=move |ev| {
                        let value = event_target_value(&ev);
                        permissions.update(|p| p.approve_scope = ApproveScope::parse(&value).unwrap_or_default());
                    }>
                        {ApproveScope::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=s == approve_scope>{s.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
            </fieldset>
            <div class="form-actions compact">
                <button type="button" class="btn primary" disabled=move || !can_change.get() || save.pending().get()
                    on:click=move |_| { save.dispatch(permissions.get_untracked()); }>"Save"</button>
                {move || match save.value().get() {
                    Some(Ok(())) => Some(view! { <span class="saved" role="status">"Saved."</span> }.into_any()),
                    Some(Err(e)) => Some(view! { <span class="field-error" role="alert">{e.to_string()}</span> }.into_any()),
                    None => None,
                }}
            </div>
        </section>
    }
}

#[component]
fn NewSponsorUser(
    groups: Vec<SponsorGroupSummary>,
    create: ServerAction<CreateSponsorUser>,
    can_change: Signal<bool>,
) -> impl IntoView {
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: CreateSponsorUser| {
            data.form.validate()
        })
    };
    let error_for = move |field: &'static str| field_error(client_error, server_error, field);
    // A user added: the form is empty for the next one.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(())))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    view! {
        {move || matches!(create.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The sponsor user was added."</Banner> })}
        {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
        <ActionForm action=create node_ref=form attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
            <fieldset class="form-section" disabled=move || !can_change.get()>
                <legend>"Add Sponsor User"</legend>
                <Field label="Username" for_id="sponsor-username" required=true error=error_for("username")>
                    <input id="sponsor-username" name="form[username]" type="text" maxlength="64" autocomplete="off" />
                </Field>
                <Field label="Full name" for_id="sponsor-full-name" error=error_for("full_name")>
                    <input id="sponsor-full-name" name="form[full_name]" type="text" maxlength="128" />
                </Field>
                <Field label="Email" for_id="sponsor-email" required=true error=error_for("email")
                    hint="Guests' emails come from this address when Guest Email Settings use the sponsor's.">
                    <input id="sponsor-email" name="form[email]" type="email" maxlength="254" />
                </Field>
                <Field label="Password" for_id="sponsor-password" required=true error=error_for("password") hint=AdminPassword::RULES>
                    <input id="sponsor-password" name="form[password]" type="password" autocomplete="new-password" />
                </Field>
                <Field label="Sponsor group" for_id="sponsor-group" required=true error=error_for("group_id")>
                    <select id="sponsor-group" name="form[group_id]">
                        {groups.into_iter().map(|g| view! { <option value=g.id>{g.name}</option> }).collect_view()}
                    </select>
                </Field>
            </fieldset>
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || !can_change.get() || create.pending().get()>"Add"</button>
            </div>
        </ActionForm>
    }
}
