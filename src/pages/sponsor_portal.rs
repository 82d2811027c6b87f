//! The sponsor portal (Sponsor Portal (default)): its own sign-in, Create
//! Accounts (known guests, random accounts, CSV import) with a delivery
//! progress bar, and Manage Accounts.

use crate::api::ApiError;
use crate::api::sponsor::{
    CreatedBatch, GuestTypeChoice, PendingAccount, SPONSOR_HOME, SPONSOR_LOGIN, SponsorInfo,
    SponsorLogin, SponsorLogout, SponsoredPage, current_sponsor, sponsor_create_known,
    sponsor_create_random, sponsor_decide_pending, sponsor_delivery, sponsor_guest_action,
    sponsor_guests, sponsor_pending_accounts, sponsor_set_language,
};
use crate::components::{Banner, BannerKind, ConfirmBar, load};
use crate::domain::FieldError;
use crate::domain::guest::GuestState;
use crate::domain::language::display_name;
use crate::domain::portal::RegistrationForm;
use crate::domain::sponsor::{GuestAction, KnownGuestForm, RandomGuestsForm};
use crate::domain::template::format_utc;
use crate::pages::login::LoginCard;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

#[component]
pub fn SponsorLoginPage() -> impl IntoView {
    let login = ServerAction::<SponsorLogin>::new();
    // An approval link that needs a sponsor's credentials comes back here.
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Sponsor Portal Sign In" />
        <LoginCard screen_class="login-screen sponsor" title="Sponsor Portal"
            tagline="Create guest accounts and send their credentials"
            foot="Sponsor accounts are created by your administrator.">
                <ActionForm action=login attr:class="login-form">
                    {move || error().map(|e| view! { <Banner kind=BannerKind::Error>{e}</Banner> })}
                    {move || (!next().is_empty()).then(|| view! {
                        <p class="hint">"Sign in to approve or deny the guest's request."</p>
                        <input type="hidden" name="next" value=next() />
                    })}
                    <label for="sponsor-username">"Username"</label>
                    <input id="sponsor-username" name="username" type="text" autocomplete="username" required autofocus />
                    <label for="sponsor-password">"Password"</label>
                    <input id="sponsor-password" name="password" type="password" autocomplete="current-password" required />
                    <button type="submit" class="btn primary wide" disabled=move || login.pending().get()>
                        {move || if login.pending().get() { "Signing in…" } else { "Sign On" }}
                    </button>
                </ActionForm>
        </LoginCard>
    }
}

#[component]
pub fn SponsorPortalPage() -> impl IntoView {
    let me = load(|| (), |_| current_sponsor());
    view! {
        <Title text="Sponsor Portal" />
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(info)) => view! { <SponsorShell info /> }.into_any(),
                    Ok(None) | Err(ApiError::Unauthenticated) => view! { <Redirect path=SPONSOR_LOGIN /> }.into_any(),
                    Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn SponsorShell(info: SponsorInfo) -> impl IntoView {
    let query = use_query_map();
    let tab = move || query.read().get("tab").unwrap_or_default();
    let managing = move || tab() == "manage";
    let reviewing = move || tab() == "pending";
    let creating = move || !managing() && !reviewing();
    let can_approve = info.permissions.can_approve;
    let logout = ServerAction::<SponsorLogout>::new();
    let info = StoredValue::new(info);
    view! {
        <header class="sponsor-bar">
            <span class="brand-mark" aria-hidden="true">"✉"</span>
            <strong>"Sponsor Portal"</strong>
            <span class="sponsor-who">{move || info.with_value(|i| format!("{} ({})", if i.full_name.is_empty() { i.username.clone() } else { i.full_name.clone() }, i.group))}</span>
            <ActionForm action=logout attr:class="sponsor-logout">
                <button type="submit" class="btn small">"Sign Out"</button>
            </ActionForm>
        </header>
        <main class="sponsor-page">
            <nav class="sub-tabs" aria-label="Sponsor portal">
                <a href=SPONSOR_HOME class:active=creating aria-current=move || creating().then_some("page")>"Create Accounts"</a>
                <a href=format!("{SPONSOR_HOME}?tab=manage") class:active=managing aria-current=move || managing().then_some("page")>"Manage Accounts"</a>
                {can_approve.then(|| view! {
                    <a href=format!("{SPONSOR_HOME}?tab=pending") class:active=reviewing aria-current=move || reviewing().then_some("page")>"Pending Accounts"</a>
                })}
            </nav>
            {move || if managing() {
                view! { <ManageAccounts info=info.get_value() /> }.into_any()
            } else if reviewing() {
                view! { <PendingAccounts /> }.into_any()
            } else {
                view! { <CreateAccounts info=info.get_value() /> }.into_any()
            }}
        </main>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Known,
    Random,
    Import,
}

type CreateResult = Result<CreatedBatch, ApiError>;

#[component]
fn CreateAccounts(info: SponsorInfo) -> impl IntoView {
    if !info.permissions.can_create {
        return view! { <Banner kind=BannerKind::Info>"Your sponsor group does not create guest accounts; use Manage Accounts."</Banner> }.into_any();
    }
    let mode = RwSignal::new(Mode::Known);
    let types = StoredValue::new(info.guest_types.clone());
    let first = info.guest_types.first().cloned();
    let guest_type = RwSignal::new(first.as_ref().map(|t| t.id.to_string()).unwrap_or_default());
    let duration = RwSignal::new(
        first
            .as_ref()
            .map(|t| t.default_days.to_string())
            .unwrap_or_default(),
    );
    let chosen = move || -> Option<GuestTypeChoice> {
        types.with_value(|types| {
            types
                .iter()
                .find(|t| t.id.to_string() == guest_type.get())
                .cloned()
        })
    };
    let known = RwSignal::new(RegistrationForm::default());
    let count = RwSignal::new("10".to_string());
    let prefix = RwSignal::new("guest".to_string());
    let company = RwSignal::new(String::new());
    let csv = RwSignal::new(String::new());
    // The guests' notification language; empty: the portal's default.
    let language = RwSignal::new(String::new());
    let client_error = RwSignal::new(None::<FieldError>);
    // What the mailbox can still send, read once in the browser.
    let budget = Action::new(|_: &()| crate::api::sponsor::sponsor_send_budget());
    Effect::new(move |_| {
        budget.dispatch(());
    });
    let batch_notice = move || -> Option<(bool, String)> {
        let budget = budget.value().get()?.ok()?;
        let emails = match mode.get() {
            Mode::Known => 1,
            Mode::Random => return None,
            Mode::Import => crate::domain::sponsor::parse_guest_csv(&csv.get())
                .ok()?
                .len() as i64,
        };
        if emails == 0 {
            return None;
        }
        if let Some(left) = budget.recipients_left.filter(|left| *left < emails) {
            return Some((
                true,
                format!(
                    "This batch sends {emails} credentials email(s) but the mailbox may send only {left} more in the rolling 24 hours: the rest will wait in the queue until the quota frees up."
                ),
            ));
        }
        (budget.per_minute > 0 && emails > 1).then(|| {
            let seconds = crate::domain::limits::SendingLimits {
                messages_per_minute: budget.per_minute,
                ..crate::domain::limits::SendingLimits::UNLIMITED
            }
            .eta_seconds(emails)
            .unwrap_or(0);
            (
                false,
                format!(
                    "The mailbox sends {} emails a minute: these {emails} take {}.",
                    budget.per_minute,
                    duration_text(seconds)
                ),
            )
        })
    };
    let create = Action::new(move |mode: &Mode| {
        let (guest_type_id, duration_days) = (guest_type.get_untracked(), duration.get_untracked());
        let mode = *mode;
        async move {
            match mode {
                Mode::Known => {
                    sponsor_create_known(KnownGuestForm {
                        guest: RegistrationForm {
                            language: language.get_untracked(),
                            ..known.get_untracked()
                        },
                        guest_type_id,
                        duration_days,
                    })
                    .await
                }
                Mode::Random => {
                    sponsor_create_random(RandomGuestsForm {
                        count: count.get_untracked(),
                        prefix: prefix.get_untracked(),
                        company: company.get_untracked(),
                        guest_type_id,
                        duration_days,
                        language: language.get_untracked(),
                    })
                    .await
                }
                Mode::Import => {
                    crate::api::sponsor::sponsor_import_guests(
                        crate::domain::sponsor::ImportGuestsForm {
                            csv: csv.get_untracked(),
                            guest_type_id,
                            duration_days,
                            language: language.get_untracked(),
                        },
                    )
                    .await
                }
            }
        }
    });
    let server_error =
        Signal::derive(move || create.value().get().and_then(|r: CreateResult| r.err()));
    let error_for = move |field: &'static str| {
        crate::components::field_error(client_error, server_error, field)
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // The browser checks what it can with the server's rules first.
        let checked = match mode.get_untracked() {
            Mode::Known => known.get_untracked().validate(false).map(|_| ()),
            Mode::Random => RandomGuestsForm {
                count: count.get_untracked(),
                prefix: prefix.get_untracked(),
                ..RandomGuestsForm::default()
            }
            .validate()
            .map(|_| ()),
            Mode::Import => {
                crate::domain::sponsor::parse_guest_csv(&csv.get_untracked()).map(|_| ())
            }
        };
        match checked {
            Ok(()) => {
                client_error.set(None);
                create.dispatch(mode.get_untracked());
            }
            Err(error) => client_error.set(Some(error)),
        }
    };
    let text_field = move |id: &'static str,
                           label: &'static str,
                           get: fn(&RegistrationForm) -> String,
                           set: fn(&mut RegistrationForm, String)| {
        let error = error_for(id);
        view! {
            <div class="field" class:has-error=move || error.get().is_some()>
                <label for=format!("guest-{id}")>{label}</label>
                <div class="control">
                    <input id=format!("guest-{id}") type="text" maxlength="254" prop:value=move || get(&known.get())
                        on:input=move |ev| known.update(|k| set(k, event_target_value(&ev))) />
                    {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                </div>
            </div>
        }
    };
    let mode_radio = move |value: Mode, label: &'static str| {
        view! {
            <label class="radio">
                <input type="radio" name="mode" checked=move || mode.get() == value on:change=move |_| { mode.set(value); client_error.set(None); } />
                {label}
            </label>
        }
    };
    view! {
        <form class="settings-form sponsor-create" novalidate on:submit=submit>
            <fieldset class="form-section">
                <legend>"Guest Type and Access"</legend>
                <div class="field">
                    <label for="sponsor-guest-type">"Guest type"</label>
                    <div class="control">
                        <select id="sponsor-guest-type" on:change=move |ev| {
                            guest_type.set(event_target_value(&ev));
                            if let Some(t) = chosen() { duration.set(t.default_days.to_string()); }
                        }>
                            {info.guest_types.iter().map(|t| view! { <option value=t.id>{t.name.clone()}</option> }).collect_view()}
                        </select>
                    </div>
                </div>
                <div class="field" class:has-error=move || error_for("duration_days").get().is_some()>
                    <label for="sponsor-duration">"Duration (days)"</label>
                    <div class="control">
                        <input id="sponsor-duration" type="text" inputmode="numeric" class="short" prop:value=duration on:input=move |ev| duration.set(event_target_value(&ev)) />
                        <p class="hint">{move || chosen().map(|t| format!("At most {} days for {}.", t.max_days, t.name))}</p>
                        {move || error_for("duration_days").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                    </div>
                </div>
                <div class="field" class:has-error=move || error_for("language").get().is_some()>
                    <label for="sponsor-language">"Notification language"</label>
                    <div class="control">
                        <select id="sponsor-language" on:change=move |ev| language.set(event_target_value(&ev))>
                            <option value="">"The portal's default"</option>
                            {info.languages.iter().map(|tag| view! { <option value=tag.clone()>{display_name(tag)}</option> }).collect_view()}
                        </select>
                        <p class="hint">"The guests' emails are written in this language; a CSV file's Notification Language column overrides it per guest."</p>
                        {move || error_for("language").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                    </div>
                </div>
            </fieldset>
            <fieldset class="form-section">
                <legend>"Create"</legend>
                <div class="field">
                    <span class="radio-label">"Accounts"</span>
                    <div class="control radios" role="radiogroup" aria-label="Accounts">
                        {mode_radio(Mode::Known, "Known guest")}
                        {mode_radio(Mode::Random, "Random accounts")}
                        {mode_radio(Mode::Import, "Import (CSV)")}
                    </div>
                </div>
                <div hidden=move || mode.get() != Mode::Known>
                    {text_field("first_name", "First name", |k| k.first_name.clone(), |k, v| k.first_name = v)}
                    {text_field("last_name", "Last name", |k| k.last_name.clone(), |k, v| k.last_name = v)}
                    {text_field("email", "Email address", |k| k.email.clone(), |k, v| k.email = v)}
                    {text_field("company", "Company", |k| k.company.clone(), |k, v| k.company = v)}
                    {text_field("person_visited", "Person being visited", |k| k.person_visited.clone(), |k, v| k.person_visited = v)}
                </div>
                <div hidden=move || mode.get() != Mode::Random>
                    <div class="field" class:has-error=move || error_for("count").get().is_some()>
                        <label for="sponsor-count">"Number of accounts"</label>
                        <div class="control">
                            <input id="sponsor-count" type="text" inputmode="numeric" class="short" prop:value=count on:input=move |ev| count.set(event_target_value(&ev)) />
                            {move || error_for("count").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        </div>
                    </div>
                    <div class="field" class:has-error=move || error_for("prefix").get().is_some()>
                        <label for="sponsor-prefix">"Username prefix"</label>
                        <div class="control">
                            <input id="sponsor-prefix" type="text" maxlength="20" prop:value=prefix on:input=move |ev| prefix.set(event_target_value(&ev)) />
                            <p class="hint">"Accounts are named prefix001, prefix002… Their passwords are shown here: there is no address to email them to."</p>
                            {move || error_for("prefix").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        </div>
                    </div>
                    <div class="field">
                        <label for="sponsor-random-company">"Company"</label>
                        <div class="control"><input id="sponsor-random-company" type="text" maxlength="64" prop:value=company on:input=move |ev| company.set(event_target_value(&ev)) /></div>
                    </div>
                </div>
                <div hidden=move || mode.get() != Mode::Import>
                    <div class="field" class:has-error=move || error_for("csv").get().is_some()>
                        <label for="sponsor-csv">"Guests (CSV)"</label>
                        <div class="control">
                            <CsvFile csv />
                            <textarea id="sponsor-csv" rows="8" class="code" placeholder="First Name,Last Name,Email Address,Company,Person Being Visited"
                                prop:value=csv on:input=move |ev| csv.set(event_target_value(&ev))></textarea>
                            <p class="hint">"Choose a CSV file or paste it: a header line (First Name, Last Name, Email Address, Company, Person Being Visited), then one guest per line, up to 1,000. Each guest gets the credentials by email."</p>
                            {move || error_for("csv").get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                        </div>
                    </div>
                </div>
            </fieldset>
            {move || batch_notice().map(|(over, text)| if over {
                view! { <Banner kind=BannerKind::Warning>{text}</Banner> }.into_any()
            } else {
                view! { <p class="hint" data-testid="batch-pace">{text}</p> }.into_any()
            })}
            {move || server_error.get().and_then(|e| e.banner()).map(|text| view! { <Banner kind=BannerKind::Error>{text}</Banner> })}
            <div class="form-actions">
                <button type="submit" class="btn primary" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create" }}
                </button>
            </div>
        </form>
        {move || create.value().get().and_then(|r| r.ok()).map(|batch| view! { <CreatedView batch /> })}
    }
    .into_any()
}

/// Reads a chosen CSV file into the text area, in the browser.
#[component]
fn CsvFile(csv: RwSignal<String>) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let input = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
            if let Some(file) = input.and_then(|i| i.files()).and_then(|files| files.get(0)) {
                let text = file.text();
                leptos::task::spawn_local(async move {
                    if let Ok(value) = wasm_bindgen_futures::JsFuture::from(text).await {
                        csv.set(value.as_string().unwrap_or_default());
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, csv);
    };
    view! { <input type="file" accept=".csv,text/csv" aria-label="CSV file" on:change=on_change /> }
}

/// The accounts just created, and a progress bar of their credentials
/// emails until every one is delivered or has failed.
#[component]
fn CreatedView(batch: CreatedBatch) -> impl IntoView {
    let shown: Vec<_> = batch
        .guests
        .iter()
        .filter(|g| g.password.is_some())
        .cloned()
        .collect();
    view! {
        <section class="panel created" aria-label="Created accounts">
            <h2>{format!("Created {} guest account(s)", batch.guests.len())}</h2>
            <EmailProgress mail_ids=batch.mail_ids.clone() />
            {(!shown.is_empty()).then(|| view! {
                <table class="data-table" aria-label="New credentials">
                    <thead><tr><th>"Username"</th><th>"Password"</th></tr></thead>
                    <tbody>
                        {shown.into_iter().map(|g| view! { <tr><td>{g.username}</td><td class="mono">{g.password.unwrap_or_default()}</td></tr> }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

/// "about 2 min 5 s"
fn duration_text(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("about {s} s"),
        s if s < 3600 => format!("about {} min {} s", s / 60, s % 60),
        s => format!("about {} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// A batch's credentials emails: sent of total, and when the last should
/// go at the mailbox's pace (or, unpaced, at the rate seen so far).
#[component]
fn EmailProgress(mail_ids: Vec<i64>) -> impl IntoView {
    let total = mail_ids.len() as i64;
    let tick = RwSignal::new(0u64);
    let progress = load(
        move || tick.get(),
        move |_| {
            let ids = mail_ids.clone();
            async move {
                if ids.is_empty() {
                    Ok(None)
                } else {
                    sponsor_delivery(ids).await.map(Some)
                }
            }
        },
    );
    let done = RwSignal::new(total == 0);
    Effect::new(move |_| {
        if let Some(Ok(Some(p))) = progress.get() {
            done.set(p.pending == 0);
        }
    });
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if !done.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_millis(700),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    // Unpaced, the ETA comes from the rate seen: (ms, settled) at the
    // first poll that found something still pending.
    let first_seen = StoredValue::new(None::<(f64, i64)>);
    let eta = move |p: &crate::api::sponsor::DeliveryProgress| -> Option<String> {
        if p.pending == 0 {
            return None;
        }
        if let Some(until) = p.paused_until_ms {
            return Some(format!(
                " · paused until {}: the mailbox's sending quota is used up",
                format_utc(until / 1000)
            ));
        }
        if let Some(seconds) = p.eta_seconds {
            return Some(format!(
                " · {} left at {} a minute",
                duration_text(seconds),
                p.per_minute
            ));
        }
        let now = now_ms();
        let settled = p.sent + p.failed;
        match first_seen.get_value() {
            None => {
                first_seen.set_value(Some((now, settled)));
                None
            }
            Some((at, before)) if settled > before && now > at => {
                let per_ms = (settled - before) as f64 / (now - at);
                Some(format!(
                    " · {} left",
                    duration_text((p.pending as f64 / per_ms / 1000.0).ceil() as i64)
                ))
            }
            Some(_) => None,
        }
    };
    view! {
        {(total > 0).then(|| view! {
            <Transition fallback=|| ()>
                {move || progress.get().and_then(|r| r.ok()).flatten().map(|p| {
                    let settled = p.sent + p.failed;
                    let failed = if p.failed > 0 { format!(", {} failed (see Manage Accounts)", p.failed) } else { String::new() };
                    view! {
                        <div class="batch-progress" role="status">
                            <span>{format!("Credentials emails: {} of {total} sent{failed}", p.sent)}</span>
                            <span class="eta" data-testid="email-eta">{eta(&p).unwrap_or_default()}</span>
                            <progress max=total value=settled aria-label="Email progress"></progress>
                        </div>
                    }
                })}
            </Transition>
        })}
    }
}

/// The browser's clock, for the observed rate.
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

type ActionResult = Result<crate::domain::sponsor::ActionReport, ApiError>;

/// What a batch action did: the accounts done (`done` names the action in
/// the past tense), each refusal with its reason, and the emails' progress.
#[component]
fn ActionOutcome(result: ActionResult, done: &'static str) -> impl IntoView {
    match result {
        Ok(report) => view! {
            {(!report.done.is_empty()).then(|| view! {
                <Banner kind=BannerKind::Success>{format!("{done} {} account(s): {}", report.done.len(), report.done.join(", "))}</Banner>
            })}
            {(!report.refused.is_empty()).then(|| view! {
                <div class="banner error" role="alert">
                    <ul class="refusals">
                        {report.refused.into_iter().map(|(who, why)| view! { <li><strong>{who}</strong>": "{why}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            <EmailProgress mail_ids=report.mail_ids />
        }
        .into_any(),
        Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
    }
}

#[component]
fn ManageAccounts(info: SponsorInfo) -> impl IntoView {
    let permissions = info.permissions.clone();
    let search = RwSignal::new(String::new());
    let state_filter = RwSignal::new(String::new());
    let page = RwSignal::new(1i64);
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let confirming = RwSignal::new(false);
    let act = Action::new(|(ids, action): &(Vec<i64>, GuestAction)| {
        sponsor_guest_action(ids.clone(), *action, None)
    });
    let language = RwSignal::new(String::new());
    let set_language = Action::new(|(ids, language): &(Vec<i64>, String)| {
        sponsor_set_language(ids.clone(), language.clone())
    });
    let languages = StoredValue::new(info.languages.clone());
    let may_edit = info.permissions.can_create;
    let tick = RwSignal::new(0u64);
    let rows = load(
        move || {
            (
                search.get(),
                state_filter.get(),
                page.get(),
                act.version().get(),
                set_language.version().get(),
                tick.get(),
            )
        },
        |(search, state, page, ..)| sponsor_guests(search, state, page),
    );
    // While credentials are on their way, the table refreshes itself.
    let sending = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(page)) = rows.get() {
            sending.set(page.rows.iter().any(|r| {
                matches!(
                    r.delivery.as_deref(),
                    Some("Queued" | "Sending" | "Retrying")
                )
            }));
        }
    });
    Effect::new(move |_| {
        if matches!(act.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
        }
    });
    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                if sending.get_untracked() {
                    tick.update(|t| *t += 1);
                }
            },
            std::time::Duration::from_secs(1),
        ) {
            on_cleanup(move || handle.clear());
        }
    }
    let last_action = RwSignal::new(GuestAction::Resend);
    let run = move |action: GuestAction| {
        last_action.set(action);
        act.dispatch((selected.get_untracked().into_iter().collect(), action));
    };
    let button = move |action: GuestAction| {
        let allowed = action.permitted(&permissions);
        view! {
            <button type="button" class="btn" disabled=move || !allowed || selected.get().is_empty() || act.pending().get()
                title=(!allowed).then_some("Your sponsor group does not allow this.")
                on:click=move |_| if action == GuestAction::Delete { confirming.set(true) } else { run(action) }>
                {action.label()}
            </button>
        }
    };
    view! {
        <div class="toolbar" role="toolbar" aria-label="Guest account actions">
            {GuestAction::ALL.into_iter().map(button).collect_view()}
            <span class="toolbar-divider" aria-hidden="true"></span>
            <select aria-label="Notification language" disabled=!may_edit on:change=move |ev| language.set(event_target_value(&ev))>
                <option value="">"Portal default language"</option>
                {languages.get_value().into_iter().map(|tag| view! { <option value=tag.clone()>{display_name(&tag)}</option> }).collect_view()}
            </select>
            <button type="button" class="btn" disabled=move || !may_edit || selected.get().is_empty() || set_language.pending().get()
                title=(!may_edit).then_some("Your sponsor group does not allow this.")
                on:click=move |_| { set_language.dispatch((selected.get_untracked().into_iter().collect(), language.get_untracked())); }>
                "Set Language"
            </button>
            <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
        </div>
        {move || set_language.value().get().map(|result| view! { <ActionOutcome result done="Notification language set for" /> })}
        {move || confirming.get().then(|| view! {
            <ConfirmBar label="Confirm delete" confirm="Delete"
                question=Signal::derive(move || format!("Delete {} guest account(s)? Their access ends now.", selected.get().len()))
                on_confirm=move |_| { confirming.set(false); run(GuestAction::Delete); }
                on_cancel=move |_| confirming.set(false) />
        })}
        {move || act.value().get().map(|result| view! { <ActionOutcome result done=last_action.get_untracked().done() /> })}
        <div class="filter-bar" role="search">
            <input type="search" aria-label="Search guests" placeholder="Search username, name, email or company"
                prop:value=search on:input=move |ev| { search.set(event_target_value(&ev)); page.set(1); } />
            <select aria-label="State" on:change=move |ev| { state_filter.set(event_target_value(&ev)); page.set(1); }>
                <option value="">"All states"</option>
                {GuestState::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.as_str()}</option> }).collect_view()}
            </select>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(data) => view! { <GuestTable data selected page /> }.into_any(),
                    Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn GuestTable(
    data: SponsoredPage,
    selected: RwSignal<BTreeSet<i64>>,
    page: RwSignal<i64>,
) -> impl IntoView {
    let ids: Vec<i64> = data.rows.iter().map(|r| r.id).collect();
    let pages = ((data.total + data.page_size - 1) / data.page_size).max(1);
    let current = data.page;
    view! {
        <table class="data-table" aria-label="Guest accounts">
            <thead>
                <tr>
                    <th class="check"><SelectAll label="Select all guest accounts" ids selected /></th>
                    <th>"Username"</th><th>"First Name"</th><th>"Last Name"</th><th>"Email"</th>
                    <th>"State"</th><th>"Guest Type"</th><th>"End of Access"</th><th>"Sponsor"</th><th>"Language"</th><th>"Email Delivery"</th>
                </tr>
            </thead>
            <tbody>
                {data.rows.is_empty().then(|| view! { <tr><td colspan="11" class="empty">"No guest accounts match."</td></tr> })}
                {data.rows.into_iter().map(|row| {
                    let id = row.id;
                    let delivery_class = format!("tag delivery {}", row.delivery.clone().unwrap_or_default().to_lowercase());
                    view! {
                        <tr class:selected=move || selected.get().contains(&id)>
                            <td class="check"><SelectOne label=format!("Select {}", row.username) id selected /></td>
                            <td>{row.username.clone()}</td>
                            <td>{row.first_name}</td>
                            <td>{row.last_name}</td>
                            <td>{row.email}</td>
                            <td><span class=format!("state {}", row.state.to_lowercase().replace(' ', "-"))>{row.state.clone()}</span></td>
                            <td>{row.guest_type}</td>
                            <td>{format_utc(row.valid_until)}</td>
                            <td>{row.sponsor}</td>
                            <td>{if row.language.is_empty() { "Default".to_string() } else { display_name(&row.language) }}</td>
                            <td>{row.delivery.map(|d| view! { <span class=delivery_class.clone() title=row.delivery_reply.clone().unwrap_or_default()>{d}</span> })}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot><tr><td colspan="11">
                {format!("{} guest account(s)", data.total)}
                {(pages > 1).then(|| view! {
                    <span class="pager">
                        <button type="button" class="btn small" disabled=current <= 1 on:click=move |_| page.set(current - 1)>"‹ Previous"</button>
                        {format!(" Page {current} of {pages} ")}
                        <button type="button" class="btn small" disabled=current >= pages on:click=move |_| page.set(current + 1)>"Next ›"</button>
                    </span>
                })}
            </td></tr></tfoot>
        </table>
    }
}

/// Pending Accounts: the self-registrations waiting for this sponsor's
/// decision, with Approve and Deny (a reason kept in the audit).
#[component]
fn PendingAccounts() -> impl IntoView {
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    let denying = RwSignal::new(false);
    let reason = RwSignal::new(String::new());
    let last_approve = RwSignal::new(true);
    let decide = Action::new(|(ids, approve, reason): &(Vec<i64>, bool, String)| {
        sponsor_decide_pending(ids.clone(), *approve, reason.clone())
    });
    let rows = load(
        move || decide.version().get(),
        |_| sponsor_pending_accounts(),
    );
    Effect::new(move |_| {
        if matches!(decide.value().get(), Some(Ok(_))) {
            selected.set(BTreeSet::new());
            reason.set(String::new());
        }
    });
    let run = move |approve: bool| {
        last_approve.set(approve);
        denying.set(false);
        decide.dispatch((
            selected.get_untracked().into_iter().collect(),
            approve,
            reason.get_untracked(),
        ));
    };
    let idle = move || selected.get().is_empty() || decide.pending().get();
    view! {
        <p class="lead">"Self-registered guests waiting for approval. Approving sends the guest its credentials, its access starting then; denying sends a short notice."</p>
        <div class="toolbar" role="toolbar" aria-label="Pending account actions">
            <button type="button" class="btn primary" disabled=idle on:click=move |_| run(true)>"Approve"</button>
            <button type="button" class="btn" disabled=idle on:click=move |_| denying.set(true)>"Deny"</button>
            <span class="toolbar-count">{move || format!("Selected {}", selected.get().len())}</span>
        </div>
        <div class="confirm deny-reason" role="group" aria-label="Confirm deny" class:hidden=move || !denying.get()>
            <label for="deny-reason">"Reason for denying (optional, kept in the audit log)"</label>
            <input id="deny-reason" type="text" maxlength="200" prop:value=reason on:input=move |ev| reason.set(event_target_value(&ev)) />
            <button type="button" class="btn deny" disabled=idle on:click=move |_| run(false)>"Deny Selected"</button>
            <button type="button" class="btn" on:click=move |_| denying.set(false)>"Cancel"</button>
        </div>
        {move || decide.value().get().map(|result| view! {
            <ActionOutcome result done=if last_approve.get_untracked() { "Approved" } else { "Denied" } />
        })}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match rows.await {
                    Ok(rows) => view! { <PendingTable rows selected /> }.into_any(),
                    Err(e) => view! { <Banner kind=BannerKind::Error>{e.to_string()}</Banner> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn PendingTable(rows: Vec<PendingAccount>, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let count = rows.len();
    view! {
        <table class="data-table" aria-label="Pending accounts">
            <thead>
                <tr>
                    <th class="check"><SelectAll label="Select all pending accounts" ids selected /></th>
                    <th>"Name"</th><th>"Email"</th><th>"Company"</th><th>"Person Being Visited"</th>
                    <th>"Guest Type"</th><th>"Portal"</th><th>"Requested"</th><th>"Denied If Not Handled By"</th>
                </tr>
            </thead>
            <tbody>
                {rows.is_empty().then(|| view! { <tr><td colspan="9" class="empty">"No guests are waiting for approval."</td></tr> })}
                {rows.into_iter().map(|row| {
                    let id = row.id;
                    let name = format!("{} {}", row.first_name, row.last_name);
                    view! {
                        <tr class:selected=move || selected.get().contains(&id)>
                            <td class="check"><SelectOne label=format!("Select {}", row.email) id selected /></td>
                            <td>{name}</td>
                            <td>{row.email}</td>
                            <td>{row.company}</td>
                            <td>{row.person_visited}</td>
                            <td>{row.guest_type}</td>
                            <td>{row.portal}</td>
                            <td>{format_utc(row.requested_at)}</td>
                            <td>{row.deny_at.map(format_utc).unwrap_or_default()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot><tr><td colspan="9">{format!("{count} pending account(s)")}</td></tr></tfoot>
        </table>
    }
}

/// A table's "select all" box: checked when every row of `ids` is.
#[component]
fn SelectAll(
    label: &'static str,
    ids: Vec<i64>,
    selected: RwSignal<BTreeSet<i64>>,
) -> impl IntoView {
    let ids = StoredValue::new(ids);
    let all_checked = move || {
        ids.with_value(|ids| !ids.is_empty() && ids.iter().all(|id| selected.get().contains(id)))
    };
    view! {
        <input type="checkbox" aria-label=label prop:checked=all_checked
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                selected.set(if on { ids.with_value(|ids| ids.iter().copied().collect()) } else { BTreeSet::new() });
            } />
    }
}

/// One row's selection box.
#[component]
fn SelectOne(label: String, id: i64, selected: RwSignal<BTreeSet<i64>>) -> impl IntoView {
    view! {
        <input type="checkbox" aria-label=label prop:checked=move || selected.get().contains(&id)
            on:change=move |ev| {
                let on = event_target_checked(&ev);
                selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
            } />
    }
}
