use crate::api::admins::list_audit;
use crate::components::{Banner, BannerKind, LeftNav, PageHeader, load};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

/// Operations > Reports > Audit > Change Configuration Audit.
#[component]
pub fn ChangeAuditPage() -> impl IntoView {
    let entries = load(|| (), |_| list_audit());
    view! {
        <Title text="Change Configuration Audit" />
        <LeftNav>
            <PageHeader title="Change Configuration Audit" subtitle="Who changed which settings, newest first. Secret values are never recorded." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match entries.await {
                        Ok(entries) if entries.is_empty() => view! { <p class="empty">"No configuration changes yet."</p> }.into_any(),
                        Ok(entries) => view! {
                            <table class="data-table">
                                <thead><tr><th>"Logged At"</th><th>"Administrator"</th><th>"Client IP"</th><th>"Action"</th><th>"Object"</th><th>"Changed Fields"</th></tr></thead>
                                <tbody>
                                    {entries.into_iter().map(|e| view! {
                                        <tr>
                                            <td>{format_time(e.at)}</td>
                                            <td>{e.admin}</td>
                                            <td>{e.client_ip}</td>
                                            <td>{e.action}</td>
                                            <td>{e.target}</td>
                                            <td>{e.changed_fields}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}
