//! The bar that asks before a destructive action.

use leptos::prelude::*;

/// Asks `question` with the action's button and Cancel. The caller shows it
/// while it waits for an answer, and hides it from either handler.
#[component]
pub fn ConfirmBar(
    /// The dialog's accessible name, such as "Confirm delete".
    label: &'static str,
    #[prop(into)] question: Signal<String>,
    /// The confirming button's text.
    confirm: &'static str,
    #[prop(into)] on_confirm: Callback<()>,
    #[prop(into)] on_cancel: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="confirm" role="alertdialog" aria-label=label>
            <p>{move || question.get()}</p>
            <button type="button" class="btn primary" on:click=move |_| on_confirm.run(())>{confirm}</button>
            <button type="button" class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
        </div>
    }
}
