//! Operations > Troubleshoot > Download Logs > Debug Logs: the node's log
//! files, and all of them in one zip.

use crate::api::logs::{LOGS_ZIP_PATH, list_log_files};
use crate::components::menu::DEBUG_LOG;
use crate::components::{Banner, BannerKind, LeftNav, PageHeader, load};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;

fn size_text(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MB", bytes as f64 / 1_048_576.0),
    }
}

#[component]
pub fn DownloadLogsPage() -> impl IntoView {
    let files = load(|| (), |_| list_log_files());
    view! {
        <Title text="Download Logs" />
        <LeftNav>
            <PageHeader title="Debug Logs" subtitle="The log files of this node. The guest-access components write guest.log; every line also goes to mailroom.log. Raise a component's level on Debug Log Configuration to see more." />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match files.await {
                        Ok(files) => {
                            let total: u64 = files.iter().map(|f| f.size).sum();
                            view! {
                                <div class="toolbar" role="toolbar" aria-label="Log actions">
                                    <a class="btn primary" href=LOGS_ZIP_PATH download="mailroom-logs.zip" rel="external">"Download Logs (zip)"</a>
                                    <a class="btn" href=DEBUG_LOG>"Debug Log Configuration"</a>
                                    <span class="toolbar-count">{format!("{} file(s), {}", files.len(), size_text(total))}</span>
                                </div>
                                <table class="data-table" aria-label="Log files">
                                    <thead><tr><th>"Log file"</th><th>"Size"</th><th>"Last changed"</th></tr></thead>
                                    <tbody>
                                        {files.iter().map(|f| view! {
                                            <tr><td class="mono">{f.name.clone()}</td><td class="number">{size_text(f.size)}</td><td>{format_time(f.modified)}</td></tr>
                                        }).collect_view()}
                                        {files.is_empty().then(|| view! { <tr><td colspan="3" class="empty">"No log files yet."</td></tr> })}
                                    </tbody>
                                </table>
                            }.into_any()
                        }
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}
