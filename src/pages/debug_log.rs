//! Operations > Troubleshoot > Debug Wizard > Debug Log Configuration.

use crate::api::logs::{LEVELS, get_log_levels, set_log_level};
use crate::components::{Banner, BannerKind, LeftNav, PageHeader, load, use_can};
use crate::domain::Access;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DebugLogPage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let set_level = Action::new(|(component, level): &(String, String)| {
        set_log_level(component.clone(), level.clone())
    });
    let levels = load(move || set_level.version().get(), |_| get_log_levels());
    view! {
        <Title text="Debug Log Configuration" />
        <LeftNav>
            <PageHeader title="Debug Log Configuration" subtitle="The level of each component's log, changed at once without a restart and kept across restarts. Every line goes to mailroom.log; some components also write their own file." />
            {move || match set_level.value().get() {
                Some(Ok(())) => Some(view! { <Banner kind=BannerKind::Success>"The log level was changed."</Banner> }.into_any()),
                Some(Err(e)) => Some(view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match levels.await {
                        Ok(rows) => view! {
                            <table class="data-table">
                                <thead><tr><th>"Component Name"</th><th>"Log Level"</th><th>"Log file"</th></tr></thead>
                                <tbody>
                                    {rows.into_iter().map(|row| {
                                        let component = row.component.clone();
                                        let current = row.level.clone();
                                        view! {
                                            <tr>
                                                <td>{row.component.clone()}</td>
                                                <td>
                                                    <select aria-label=format!("Log level of {}", row.component) disabled=move || !can_change.get()
                                                        on:change=move |ev| { set_level.dispatch((component.clone(), event_target_value(&ev))); }>
                                                        {LEVELS.into_iter().map(|level| view! {
                                                            <option value=level selected=current == level>{level}</option>
                                                        }).collect_view()}
                                                    </select>
                                                </td>
                                                <td>{row.log_file.map_or_else(|| "mailroom.log".to_string(), |f| format!("mailroom.log, {f}"))}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}
