use crate::api::admins::get_dashboard;
use crate::components::menu::ALARMS;
use crate::components::{Banner, BannerKind, CurrentAdmin, load};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

/// The home dashboard: system summary, the signed-in admin, recent changes.
#[component]
pub fn HomePage() -> impl IntoView {
    let me = expect_context::<CurrentAdmin>().0;
    let summary = load(|| (), |_| get_dashboard());
    view! {
        <Title text="Home" />
        <h1 class="dashboard-title">"Summary"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let admin = me.await.ok().flatten();
                match summary.await {
                    Ok(summary) => view! {
                        <div class="dashlets">
                            <section class="dashlet wide" data-testid="alarms-dashlet">
                                <h2>"Alarms" <a class="dashlet-link" href=ALARMS>"Acknowledge or clear on All Alarms ›"</a></h2>
                                {if summary.alarms.is_empty() {
                                    view! { <p class="empty" data-testid="no-alarms">"No alarms. Everything the console watches is healthy."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table compact alarms" aria-label="Alarms">
                                            <thead><tr><th>"Severity"</th><th>"Name"</th><th>"Occurrences"</th><th>"Last Occurred"</th><th>"Status"</th></tr></thead>
                                            <tbody>
                                                {summary.alarms.iter().map(|a| view! {
                                                    <tr class:unacknowledged=a.status == "New">
                                                        <td><span class=format!("severity {}", a.severity)>{a.severity_label.clone()}</span></td>
                                                        <td>{a.name.clone()}</td>
                                                        <td class="number">{a.occurrences}</td>
                                                        <td>{format_time(a.last_at)}</td>
                                                        <td>{a.status.clone()}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </section>
                            <section class="dashlet">
                                <h2>"System Summary"</h2>
                                <dl class="facts">
                                    <dt>"Node"</dt><dd data-testid="node-name">{summary.node.clone()}</dd>
                                    <dt>"Version"</dt><dd data-testid="version">{summary.version.clone()}</dd>
                                    <dt>"Personas"</dt><dd>{summary.personas.clone()}</dd>
                                    <dt>"Admin users"</dt>
                                    <dd>{format!("{} enabled of {}", summary.admins_enabled, summary.admins_total)}</dd>
                                </dl>
                            </section>
                            <section class="dashlet" data-testid="last-sign-in">
                                <h2>"Signed In"</h2>
                                <dl class="facts">
                                    <dt>"Admin"</dt><dd>{admin.as_ref().map(|a| a.name.clone())}</dd>
                                    <dt>"Admin group"</dt><dd>{admin.as_ref().map(|a| a.role.label())}</dd>
                                    {last_sign_in_facts(summary.previous_sign_in.clone())}
                                </dl>
                            </section>
                            <section class="dashlet wide">
                                <h2>"Recent Configuration Changes"</h2>
                                {if summary.recent_changes.is_empty() {
                                    view! { <p class="empty">"No configuration changes yet."</p> }.into_any()
                                } else {
                                    view! {
                                        <table class="data-table compact">
                                            <thead><tr><th>"Time"</th><th>"Admin"</th><th>"Action"</th><th>"Object"</th><th>"Changed"</th></tr></thead>
                                            <tbody>
                                                {summary.recent_changes.iter().map(|c| view! {
                                                    <tr>
                                                        <td>{format_time(c.at)}</td>
                                                        <td>{c.admin.clone()}</td>
                                                        <td>{c.action.clone()}</td>
                                                        <td>{c.target.clone()}</td>
                                                        <td>{c.changed_fields.clone()}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                }}
                            </section>
                        </div>
                    }
                    .into_any(),
                    Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// ISE's last login details: the sign-in before this one, and the failed
/// attempts since (highlighted when there were any).
fn last_sign_in_facts(previous: Option<crate::domain::admin::PreviousSignIn>) -> impl IntoView {
    let Some(previous) = previous else {
        return view! { <dt>"Last sign-in"</dt><dd>"This is the first sign-in."</dd> }.into_any();
    };
    let last = if previous.at > 0 {
        format!(
            "{} from {}",
            format_time(previous.at),
            or_unknown(&previous.from)
        )
    } else {
        "This is the first sign-in.".to_string()
    };
    let failed = match previous.failed_attempts {
        0 => "None".to_string(),
        n => format!(
            "{n}, the last at {} from {}",
            format_time(previous.last_failed_at),
            or_unknown(&previous.last_failed_from)
        ),
    };
    let warn = previous.failed_attempts > 0;
    view! {
        <dt>"Last sign-in"</dt><dd data-testid="previous-sign-in">{last}</dd>
        <dt>"Failed attempts since"</dt>
        <dd data-testid="failed-attempts" class:attention=warn>{failed}</dd>
    }
    .into_any()
}

fn or_unknown(address: &str) -> String {
    if address.is_empty() {
        "an unknown address".into()
    } else {
        address.to_string()
    }
}
