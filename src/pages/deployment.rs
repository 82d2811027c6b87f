//! Administration > System > Deployment: the nodes sharing the database,
//! their personas and roles, Edit Node and Deregister.

use crate::api::deployment::{SaveNodePersonas, deregister_node, get_deployment};
use crate::components::{
    Banner, BannerKind, ConfirmBar, Field, LeftNav, PageHeader, check_before_post, field_error,
    load, use_can,
};
use crate::domain::deployment::{DeploymentView, NodeView, Persona};
use crate::domain::{Access, FieldError};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DeploymentPage() -> impl IntoView {
    let save = ServerAction::<SaveNodePersonas>::new();
    let deregister = Action::new(|node: &String| deregister_node(node.clone()));
    let refresh = RwSignal::new(0u32);
    let page = load(
        move || {
            (
                save.version().get(),
                deregister.version().get(),
                refresh.get(),
            )
        },
        |_| get_deployment(),
    );
    view! {
        <Title text="Deployment" />
        <LeftNav>
            <PageHeader title="Deployment Nodes" subtitle="The nodes that share this console's database. The PRIMARY runs the scheduled jobs; nodes with the Policy Service persona serve the guest and sponsor portals and send mail." />
            {move || deregister.value().get().and_then(|r| r.err()).map(|e| view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> })}
            {move || matches!(deregister.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The node was deregistered."</Banner> })}
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <Banner kind=BannerKind::Success>"The personas were saved: the node applies them within a few seconds."</Banner> })}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(view) => view! { <NodesTable view save deregister refresh /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

fn status(node: &NodeView) -> (&'static str, &'static str) {
    if node.connected {
        ("enabled", "Connected")
    } else {
        ("disabled", "Disconnected")
    }
}

#[component]
fn NodesTable(
    view: DeploymentView,
    save: ServerAction<SaveNodePersonas>,
    deregister: Action<String, Result<(), crate::api::ApiError>>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let editing = RwSignal::new(None::<NodeView>);
    let confirming = RwSignal::new(None::<String>);
    let count = view.nodes.len();
    let after = view.disconnected_after_seconds;
    view! {
        <div class="toolbar">
            <button type="button" class="btn small" on:click=move |_| refresh.update(|n| *n += 1)>"Refresh"</button>
            <span class="toolbar-count">{format!("Database: {}. {count} node(s); Disconnected after {after} s without a heartbeat.", view.database)}</span>
        </div>
        <table class="data-table" aria-label="Deployment nodes">
            <thead>
                <tr>
                    <th>"Hostname"</th>
                    <th>"Personas"</th>
                    <th>"Role"</th>
                    <th>"Version"</th>
                    <th>"Node Status"</th>
                    <th>"Last Heartbeat"</th>
                    <th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {view.nodes.into_iter().map(|node| {
                    let (class, text) = status(&node);
                    let name = node.name.clone();
                    let (edit_node, gone_name) = (node.clone(), name.clone());
                    let connected = node.connected;
                    view! {
                        <tr>
                            <td>
                                {node.name.clone()}
                                {node.this_node.then(|| view! { <span class="tag">"this node"</span> })}
                            </td>
                            <td>{node.personas.labels()}</td>
                            <td>{if node.primary { "PRIMARY" } else { "SECONDARY" }}</td>
                            <td>{node.version.clone()}</td>
                            <td title=format!("Started {}", format_time(node.started_at_ms / 1000))><span class=format!("status {class}")>{text}</span></td>
                            <td>{format_time(node.heartbeat_at_ms / 1000)}</td>
                            <td class="row-actions">
                                <button type="button" class="btn small" aria-label=format!("Edit {name}")
                                    disabled=move || !can_change.get()
                                    on:click=move |_| editing.set(Some(edit_node.clone()))>"Edit"</button>
                                <button type="button" class="btn small" aria-label=format!("Deregister {name}")
                                    title=if connected { "Stop the node first: only a Disconnected node can be deregistered." } else { "" }
                                    disabled=move || !can_change.get() || connected || deregister.pending().get()
                                    on:click=move |_| confirming.set(Some(gone_name.clone()))>"Deregister"</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {move || confirming.get().map(|node| {
            let question = format!("Deregister {node}? It leaves the deployment and its personas are forgotten; if it starts again it joins with every persona.");
            view! {
                <ConfirmBar label="Confirm deregister" confirm="Deregister" question
                    on_confirm=move |_| {
                        confirming.set(None);
                        deregister.dispatch(node.clone());
                    }
                    on_cancel=move |_| confirming.set(None) />
            }
        })}
        {move || editing.get().map(|node| view! { <EditNode node save editing /> })}
    }
}

/// Edit Node: the node's personas.
#[component]
fn EditNode(
    node: NodeView,
    save: ServerAction<SaveNodePersonas>,
    editing: RwSignal<Option<NodeView>>,
) -> impl IntoView {
    let client_error = RwSignal::new(None::<FieldError>);
    let server_error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        check_before_post(&ev, client_error, |data: SaveNodePersonas| {
            data.form.validate().map(|_| ())
        })
    };
    // Closes once saved.
    Effect::new(move |_| {
        if matches!(save.value().get(), Some(Ok(()))) {
            editing.set(None);
        }
    });
    let personas = node.personas;
    let has = move |persona| personas.has(persona);
    view! {
        <section class="panel edit-node" aria-label="Edit node">
            <h2 class="section-title">{format!("Edit Node: {}", node.name)}</h2>
            {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <ActionForm action=save attr:class="settings-form" attr:novalidate=true on:submit:capture=on_submit>
                <input type="hidden" name="form[node]" value=node.name.clone() />
                <Field label="Personas" for_id="persona-administration" error=field_error(client_error, server_error, "personas")
                    hint="Administration serves the admin console and runs the scheduled jobs; Policy Service serves the guest and sponsor portals and sends mail.">
                    <div class="persona-choices">
                        <label>
                            <input id="persona-administration" name="form[administration]" type="checkbox" value="true" checked=has(Persona::Administration) />
                            "Administration"
                        </label>
                        <label>
                            <input id="persona-policy-service" name="form[policy_service]" type="checkbox" value="true" checked=has(Persona::PolicyService) />
                            "Policy Service"
                        </label>
                    </div>
                </Field>
                <div class="form-actions">
                    <button type="submit" class="btn primary" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" class="btn" on:click=move |_| editing.set(None)>"Cancel"</button>
                </div>
            </ActionForm>
        </section>
    }
}
