//! Operations > Mail Queue > Outbound Email > Mail Queue: every email the
//! console sends, where it is, why it failed, and Retry / Discard for dead
//! letters. Filters and the page number live in the URL, so the table works
//! before the wasm loads and a filtered view can be bookmarked.

use crate::api::mail::{
    MailQueuePage, discard_mail, get_mail_detail, get_mail_queue, retry_mail, send_test_email,
};
use crate::components::menu::MAIL_QUEUE;
use crate::components::{
    Banner, BannerKind, ConfirmBar, DiagnosisPanel, Field, LeftNav, PageHeader, TestEmailOutcome,
    load, use_can,
};
use crate::domain::mail::{MailDetail, MailKind, MailStatus, QueueRow};
use crate::domain::{Access, percent_encode};
use crate::pages::format_time;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

fn time_ms(ms: i64) -> String {
    format_time(ms.div_euclid(1000))
}

/// The table's filter, as the URL carries it.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filter {
    status: String,
    kind: String,
    recipient: String,
    subject: String,
}

impl Filter {
    fn fields(&self) -> [(&'static str, &String); 4] {
        [
            ("status", &self.status),
            ("kind", &self.kind),
            ("recipient", &self.recipient),
            ("subject", &self.subject),
        ]
    }
}

/// The queue URL with this filter, this page and (optionally) a message open.
fn queue_href(filter: &Filter, page: i64, open: Option<i64>) -> String {
    let mut query: Vec<String> = filter
        .fields()
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", percent_encode(value)))
        .collect();
    if page > 1 {
        query.push(format!("page={page}"));
    }
    if let Some(id) = open {
        query.push(format!("id={id}"));
    }
    if query.is_empty() {
        MAIL_QUEUE.to_string()
    } else {
        format!("{MAIL_QUEUE}?{}", query.join("&"))
    }
}

fn status_class(status: MailStatus) -> &'static str {
    match status {
        MailStatus::Sent => "mail-status sent",
        MailStatus::Dead => "mail-status dead",
        MailStatus::Retrying => "mail-status retrying",
        MailStatus::Discarded => "mail-status discarded",
        MailStatus::Queued | MailStatus::Sending => "mail-status pending",
    }
}

#[component]
pub fn MailQueuePage() -> impl IntoView {
    let can_change = use_can(Access::ChangeSystemSettings);
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).unwrap_or_default();
    let filters = move || Filter {
        status: param("status"),
        kind: param("kind"),
        recipient: param("recipient"),
        subject: param("subject"),
    };
    let page_number = move || param("page").parse::<i64>().unwrap_or(1).max(1);
    let open_id = move || param("id").parse::<i64>().ok();

    let retry = Action::new(|id: &i64| retry_mail(*id));
    let discard = Action::new(|id: &i64| discard_mail(*id));
    let test_email = Action::new(|to: &String| send_test_email(to.clone()));
    // Bumped every second while a batch is on its way, for live progress.
    let tick = RwSignal::new(0u64);
    let queue = load(
        move || {
            (
                filters(),
                page_number(),
                tick.get(),
                retry.version().get(),
                discard.version().get(),
                test_email.version().get(),
            )
        },
        |(filter, page, ..)| {
            get_mail_queue(
                filter.status,
                filter.kind,
                filter.recipient,
                filter.subject,
                page,
            )
        },
    );
    let detail = load(
        move || {
            (
                open_id(),
                tick.get(),
                retry.version().get(),
                discard.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => Some(get_mail_detail(id).await),
                None => None,
            }
        },
    );
    let pacing = load(
        move || (tick.get(), test_email.version().get()),
        |_| crate::api::limits::get_sending_limits(),
    );
    let confirming = RwSignal::new(None::<(&'static str, i64)>);
    let sending = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(page)) = queue.get() {
            sending.set(page.counts.pending() > 0);
        }
    });
    // The open message too: the table and the detail are read apart, so
    // the table may already show nothing pending while the detail still
    // shows the message on its way.
    let open_pending = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Some(Ok(detail))) = detail.get() {
            open_pending.set(matches!(
                detail.row.status,
                MailStatus::Queued | MailStatus::Sending
            ));
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if sending.get_untracked() || open_pending.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }

    view! {
        <Title text="Mail Queue" />
        <LeftNav>
            <PageHeader title="Mail Queue" subtitle="Every email the console sends is written here first, then delivered over pooled connections. Temporary failures are retried with growing waits; permanent ones become dead letters with their diagnosis." />
            {move || match retry.value().get() {
                Some(Ok(())) => Some(view! { <Banner kind=BannerKind::Success>"The message is queued again."</Banner> }.into_any()),
                Some(Err(e)) => Some(view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            {move || match discard.value().get() {
                Some(Ok(())) => Some(view! { <Banner kind=BannerKind::Success>"The message was discarded."</Banner> }.into_any()),
                Some(Err(e)) => Some(view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any()),
                None => None,
            }}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    pacing.await.ok().map(|view| view! { <crate::pages::sending_limits::PacingPanel view /> })
                })}
            </Transition>
            <TestEmailPanel action=test_email can_send=can_change />
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match queue.await {
                        Ok(page) => view! { <QueueView page filters=filters() /> }.into_any(),
                        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                    }
                })}
            </Transition>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match detail.await {
                        Some(Ok(mail)) => view! { <MessageDetail mail retry discard can_change back=queue_href(&filters(), page_number(), None) confirming /> }.into_any(),
                        Some(Err(e)) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                        None => ().into_any(),
                    }
                })}
            </Transition>
        </LeftNav>
    }
}

#[component]
fn TestEmailPanel(
    action: Action<String, Result<crate::domain::mail::TestEmailResult, crate::api::ApiError>>,
    can_send: Signal<bool>,
) -> impl IntoView {
    let to = RwSignal::new(String::new());
    let field_error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .and_then(|e| e.field_message("to"))
    };
    view! {
        <details class="panel test-email">
            <summary>"Send Test Email"</summary>
            <form class="inline-form" on:submit=move |ev| {
                ev.prevent_default();
                action.dispatch(to.get_untracked());
            }>
                <Field label="To" for_id="test-email-to" hint="The message is sent from the SMTP Server page's mailbox through the queue; the result shows when its first attempt ends." error=Signal::derive(field_error)>
                    <input id="test-email-to" type="email" prop:value=to on:input=move |ev| to.set(event_target_value(&ev)) />
                </Field>
                <button type="submit" class="btn primary" disabled=move || !can_send.get() || action.pending().get()>
                    {move || if action.pending().get() { "Sending…" } else { "Send" }}
                </button>
            </form>
            {move || action.value().get().map(|result| view! { <TestEmailOutcome result /> })}
        </details>
    }
}

#[component]
fn QueueView(page: MailQueuePage, filters: Filter) -> impl IntoView {
    let Filter {
        status,
        kind,
        recipient,
        subject,
    } = filters.clone();
    let pages = ((page.total + page.page_size - 1) / page.page_size).max(1);
    let counts = page.counts.clone();
    view! {
        <div class="queue-counts" role="group" aria-label="Messages by status">
            {MailStatus::ALL.into_iter().map(|s| {
                let selected = status == s.as_str();
                let only = Filter { status: if selected { String::new() } else { s.as_str().to_string() }, ..Filter::default() };
                let href = queue_href(&only, 1, None);
                view! {
                    <a class=format!("count-card {}", s.as_str()) class:selected=selected href=href aria-label=format!("{}: {}", s.label(), counts.get(s))>
                        <span class="count">{counts.get(s)}</span>
                        <span class="count-label">{s.label()}</span>
                    </a>
                }
            }).collect_view()}
        </div>
        {page.batch.map(|(done, total)| {
            let percent = if total > 0 { done * 100 / total } else { 100 };
            view! {
                <div class="batch-progress" role="status">
                    <span>{format!("Sending: {done} of {total} delivered or settled ({percent}%)")}</span>
                    <progress max=total value=done aria-label="Batch progress"></progress>
                </div>
            }
        })}
        <Form method="GET" action=MAIL_QUEUE attr:class="filter-bar" attr:aria-label="Filter messages">
            <label>"Status"
                <select name="status">
                    <option value="" selected=status.is_empty()>"Any"</option>
                    {MailStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=status == s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Kind"
                <select name="kind">
                    <option value="" selected=kind.is_empty()>"Any"</option>
                    {MailKind::ALL.into_iter().map(|k| view! { <option value=k.as_str() selected=kind == k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>"Recipient"<input type="search" name="recipient" value=recipient /></label>
            <label>"Subject"<input type="search" name="subject" value=subject /></label>
            <button type="submit" class="btn">"Filter"</button>
            <a class="btn" href=MAIL_QUEUE>"Clear"</a>
        </Form>
        <table class="data-table compact" aria-label="Messages">
            <thead>
                <tr>
                    <th>"ID"</th><th>"Queued"</th><th>"Kind"</th><th>"Recipient"</th><th>"Subject"</th>
                    <th>"Status"</th><th>"Attempts"</th><th>"Last reply"</th><th>"Next attempt"</th>
                </tr>
            </thead>
            <tbody>
                {page.rows.iter().map(|row| view! { <QueueLine row=row.clone() filters=filters.clone() page=page.page /> }).collect_view()}
                {page.rows.is_empty().then(|| view! { <tr><td colspan="9" class="empty">"No messages match."</td></tr> })}
            </tbody>
            <tfoot><tr><td colspan="9">
                <nav class="pager" aria-label="Pages">
                    <span>{format!("{} message(s), page {} of {pages}", page.total, page.page)}</span>
                    {(page.page > 1).then(|| view! { <a class="btn small" href=queue_href(&filters, page.page - 1, None)>"‹ Previous"</a> })}
                    {(page.page < pages).then(|| view! { <a class="btn small" href=queue_href(&filters, page.page + 1, None)>"Next ›"</a> })}
                </nav>
            </td></tr></tfoot>
        </table>
    }
}

#[component]
fn QueueLine(row: QueueRow, filters: Filter, page: i64) -> impl IntoView {
    view! {
        <tr>
            <td><a href=queue_href(&filters, page, Some(row.id)) aria-label=format!("Open message {}", row.id)>{row.id}</a></td>
            <td class="nowrap">{time_ms(row.created_at)}</td>
            <td>{row.kind.label()}</td>
            <td>{row.recipients.replace(',', ", ")}</td>
            <td>{row.subject}</td>
            <td><span class=status_class(row.status)>{row.status.label()}</span></td>
            <td class="number">{row.attempts}</td>
            <td class="reply">{row.last_reply.unwrap_or_default()}</td>
            <td class="nowrap">{row.next_attempt_at.map(time_ms).unwrap_or_default()}</td>
        </tr>
    }
}

#[component]
fn MessageDetail(
    mail: MailDetail,
    retry: Action<i64, Result<(), crate::api::ApiError>>,
    discard: Action<i64, Result<(), crate::api::ApiError>>,
    can_change: Signal<bool>,
    back: String,
    /// Which action waits for its confirmation, on which message: kept by
    /// the page, as the detail is drawn again with each live refresh.
    confirming: RwSignal<Option<(&'static str, i64)>>,
) -> impl IntoView {
    let id = mail.row.id;
    let dead = mail.row.status == MailStatus::Dead;
    view! {
        <section class="panel message-detail" aria-label=format!("Message {id}")>
            <header class="panel-header">
                <h2>{format!("Message {id}")}</h2>
                <span class=status_class(mail.row.status)>{mail.row.status.label()}</span>
                <a class="btn small close" href=back>"Close"</a>
            </header>
            <dl class="facts">
                <dt>"Kind"</dt><dd>{mail.row.kind.label()}</dd>
                <dt>"Sent by persona"</dt><dd>{mail.persona.as_str()}</dd>
                <dt>"From"</dt><dd>{mail.sender.clone()}</dd>
                <dt>"To"</dt><dd>{mail.row.recipients.replace(',', ", ")}</dd>
                <dt>"Subject"</dt><dd>{mail.row.subject.clone()}</dd>
                <dt>"Message-ID"</dt><dd class="mono">{mail.message_id.clone()}</dd>
                <dt>"Queued by"</dt><dd>{format!("{} at {}", mail.created_by, time_ms(mail.row.created_at))}</dd>
                <dt>"Body"</dt><dd>{if mail.body_kept { "Kept encrypted until the message is delivered or discarded" } else { "Removed (delivered or discarded)" }}</dd>
            </dl>
            {mail.diagnosis.clone().filter(|_| mail.row.status != MailStatus::Sent).map(|diagnosis| view! { <DiagnosisPanel diagnosis /> })}
            {dead.then(|| view! {
                <div class="toolbar" role="toolbar" aria-label="Dead letter actions">
                    <button type="button" class="btn primary" disabled=move || !can_change.get() on:click=move |_| confirming.set(Some(("retry", id)))>"Retry"</button>
                    <button type="button" class="btn" disabled=move || !can_change.get() on:click=move |_| confirming.set(Some(("discard", id)))>"Discard"</button>
                </div>
                {move || confirming.get().filter(|(_, on)| *on == id).map(|(what, _)| {
                    let question = if what == "retry" {
                        format!("Send message {id} again, with a fresh set of attempts?")
                    } else {
                        format!("Discard message {id}? It will never be sent and its body is deleted.")
                    };
                    view! {
                        <ConfirmBar label="Confirm" question
                            confirm=if what == "retry" { "Yes, retry" } else { "Yes, discard" }
                            on_confirm=move |_| {
                                if what == "retry" { retry.dispatch(id); } else { discard.dispatch(id); }
                                confirming.set(None);
                            }
                            on_cancel=move |_| confirming.set(None) />
                    }
                })}
            })}
            <h3>"Attempts"</h3>
            <table class="data-table compact" aria-label="Attempts">
                <thead><tr><th>"#"</th><th>"Started"</th><th>"Duration"</th><th>"Outcome"</th><th>"Reply"</th></tr></thead>
                <tbody>
                    {mail.attempts.iter().map(|a| view! {
                        <tr>
                            <td>{a.attempt}</td>
                            <td class="nowrap">{time_ms(a.started_at)}</td>
                            <td class="number">{format!("{} ms", a.millis)}</td>
                            <td>{match a.outcome.as_str() { "sent" => "Delivered", "retry" => "Will retry", _ => "Dead letter" }}</td>
                            <td class="reply">{a.reply.clone()}</td>
                        </tr>
                    }).collect_view()}
                    {mail.attempts.is_empty().then(|| view! { <tr><td colspan="5" class="empty">"Not tried yet."</td></tr> })}
                </tbody>
            </table>
        </section>
    }
}
