//! The page an Approve or Deny link of an approval request opens: the
//! guest who asks and one button. Nothing happens until the approver
//! clicks it, so a mail scanner that fetches the link approves no one.

use crate::api::portals::{ApprovalDone, ApprovalLink, SettleGuestApproval, get_guest_approval};
use crate::api::sponsor::SPONSOR_LOGIN;
use crate::components::{Banner, BannerKind, load};
use crate::domain::guest::APPROVAL_LINK_PATH as LINK_PATH;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

#[component]
pub fn GuestApprovalPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let link = load(token, get_guest_approval);
    view! {
        <Title text="Guest Access Request" />
        <main class="portal-screen">
            <div class="portal-card">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match link.await {
                            Ok(link) if link.sign_in => {
                                let next = crate::domain::percent_encode(&format!("{LINK_PATH}/{}", token()));
                                view! { <Redirect path=format!("{SPONSOR_LOGIN}?next={next}") /> }.into_any()
                            }
                            Ok(link) => view! { <LinkRequest link token=token() /> }.into_any(),
                            Err(error) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </main>
    }
}

#[component]
fn LinkRequest(link: ApprovalLink, token: String) -> impl IntoView {
    let settle = ServerAction::<SettleGuestApproval>::new();
    let approve = link.approve;
    let heading = if approve {
        "Approve guest access"
    } else {
        "Deny guest access"
    };
    let guest = link.guest.clone().map(|g| {
        view! {
            <dl class="credentials" aria-label="Guest">
                <dt>"Name"</dt><dd>{format!("{} {}", g.first_name, g.last_name)}</dd>
                <dt>"Email"</dt><dd>{g.email}</dd>
                <dt>"Company"</dt><dd>{g.company}</dd>
                <dt>"Person being visited"</dt><dd>{g.person_visited}</dd>
                <dt>"Portal"</dt><dd>{g.portal}</dd>
            </dl>
        }
    });
    let form = match link.closed {
        Some(why) => view! { <Banner kind=BannerKind::Error>{why}</Banner> }.into_any(),
        None => view! {
            <ActionForm action=settle attr:class="portal-form">
                <input type="hidden" name="token" value=token />
                {if approve {
                    view! { <input type="hidden" name="reason" value="" /> }.into_any()
                } else {
                    view! {
                        <label for="deny-reason">"Reason (optional, kept in the audit log)"</label>
                        <textarea id="deny-reason" name="reason" rows="3" maxlength="200"></textarea>
                    }.into_any()
                }}
                <button type="submit" class=if approve { "btn primary wide" } else { "btn deny wide" } disabled=move || settle.pending().get()>
                    {if approve { "Approve" } else { "Deny" }}
                </button>
            </ActionForm>
        }.into_any(),
    };
    let done = move || matches!(settle.value().get(), Some(Ok(_)));
    view! {
        <h1>{heading}</h1>
        {move || match settle.value().get() {
            Some(Ok(done)) => view! { <Decided done /> }.into_any(),
            Some(Err(error)) => view! { <Banner kind=BannerKind::Error>{error.to_string()}</Banner> }.into_any(),
            None => ().into_any(),
        }}
        <p class="lead" class:hidden=done>"A guest registered on the self-registration portal and is waiting for approval."</p>
        {guest}
        <div class:hidden=done>{form}</div>
    }
}

#[component]
fn Decided(done: ApprovalDone) -> impl IntoView {
    let name = format!("{} {}", done.guest.first_name, done.guest.last_name);
    let text = match (done.approved, done.emailed) {
        (true, true) => format!(
            "{name} was approved: the credentials were sent to {}.",
            done.guest.email
        ),
        (true, false) => format!("{name} was approved."),
        (false, true) => format!("{name} was denied and told so by email."),
        (false, false) => format!("{name} was denied."),
    };
    view! { <Banner kind=BannerKind::Success>{text}</Banner> }
}
