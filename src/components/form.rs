use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BannerKind {
    Success,
    Error,
    Info,
    /// Saved or allowed, but likely to fail later (announced politely).
    Warning,
}

/// A green, red, blue or amber message bar. Errors are announced as alerts.
#[component]
pub fn Banner(kind: BannerKind, children: Children) -> impl IntoView {
    let (class, role) = match kind {
        BannerKind::Success => ("banner success", "status"),
        BannerKind::Error => ("banner error", "alert"),
        BannerKind::Info => ("banner info", "status"),
        BannerKind::Warning => ("banner warning", "status"),
    };
    // The icon is drawn by CSS, so the banner's text is only its message.
    view! {
        <div class=class role=role>
            <span class="banner-icon" aria-hidden="true"></span>
            <div class="banner-text">{children()}</div>
        </div>
    }
}

/// A labelled form row: the ISE field name, the control, a hint, and the
/// validation message right under the control.
#[component]
pub fn Field(
    label: &'static str,
    #[prop(into)] for_id: String,
    #[prop(optional)] required: bool,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(optional, into)] error: MaybeProp<String>,
    children: Children,
) -> impl IntoView {
    let error_id = format!("{for_id}-error");
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            // The red star is drawn by CSS so the label's text is the ISE field name.
            <label for=for_id.clone() class:required=required>{label}</label>
            <div class="control">
                {children()}
                {hint.map(|h| view! { <p class="hint">{h}</p> })}
                {move || error.get().map(|e| view! { <p class="field-error" id=error_id.clone() role="alert">{e}</p> })}
            </div>
        </div>
    }
}

/// A form's submit handler (`on:submit:capture`): checks the post with the
/// server's own rule in the browser, and stops it with the message by its
/// field when the rule says no. A form that does not parse is left to the
/// server, which answers for it.
pub fn check_before_post<T: leptos::form::FromFormData, V>(
    ev: &leptos::ev::SubmitEvent,
    client_error: RwSignal<Option<crate::domain::FieldError>>,
    rule: impl FnOnce(T) -> Result<V, crate::domain::FieldError>,
) {
    match T::from_event(ev).map(rule) {
        Ok(Err(error)) => {
            ev.prevent_default();
            client_error.set(Some(error));
        }
        _ => client_error.set(None),
    }
}

/// The message for one field: the browser's own check first, else the
/// server's answer about that field.
pub fn field_error(
    client_error: RwSignal<Option<crate::domain::FieldError>>,
    server_error: Signal<Option<crate::api::ApiError>>,
    field: &'static str,
) -> Signal<Option<String>> {
    Signal::derive(move || {
        client_error
            .get()
            .filter(|e| e.field == field)
            .map(|e| e.message)
            .or_else(|| server_error.get().and_then(|e| e.field_message(field)))
    })
}

/// The page title row.
#[component]
pub fn PageHeader(
    title: &'static str,
    #[prop(optional)] subtitle: Option<&'static str>,
) -> impl IntoView {
    view! {
        <header class="page-header">
            <h1>{title}</h1>
            {subtitle.map(|s| view! { <p class="subtitle">{s}</p> })}
        </header>
    }
}

/// Copies `text` to the clipboard. Browsers offer the clipboard only to
/// secure pages (https or localhost); elsewhere the button says so.
#[component]
pub fn CopyButton(#[prop(into)] text: String, label: &'static str) -> impl IntoView {
    let outcome = RwSignal::new(None::<&'static str>);
    let on_click = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let navigator = window().navigator();
            let available = js_sys::Reflect::get(&navigator, &"clipboard".into())
                .map(|v| !v.is_undefined())
                .unwrap_or(false);
            if available {
                let _ = navigator.clipboard().write_text(&text);
                outcome.set(Some("Copied"));
            } else {
                outcome.set(Some(
                    "Select the text and copy it (the clipboard needs https)",
                ));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &text;
    };
    view! {
        <button type="button" class="btn small" on:click=on_click>
            {move || outcome.get().unwrap_or(label)}
        </button>
    }
}

/// An ISE toggle: a real checkbox (`role="switch"`) styled as a switch.
/// With a `name`, a form post carries `name=true` when it is on.
#[component]
pub fn Switch(
    id: &'static str,
    label: &'static str,
    checked: RwSignal<bool>,
    #[prop(optional)] name: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="field switch-field">
            <span></span>
            <label class="switch">
                <input id=id type="checkbox" role="switch" name=name value="true" checked=checked.get_untracked()
                    prop:checked=checked on:change=move |ev| checked.set(event_target_checked(&ev)) />
                <span class="slider" aria-hidden="true"></span>
                {label}
            </label>
        </div>
    }
}

/// A link that downloads a PEM text as a file, without a server round trip.
#[component]
pub fn PemDownload(
    pem: String,
    #[prop(into)] file_name: String,
    label: &'static str,
) -> impl IntoView {
    let href = format!(
        "data:application/x-pem-file;charset=utf-8,{}",
        crate::domain::percent_encode(&pem)
    );
    view! { <a class="btn small" href=href download=file_name>{label}</a> }
}

/// The form data of a submitted form, for a multipart upload from the
/// browser (the default post is prevented).
pub fn submitted_form_data(ev: &leptos::ev::SubmitEvent) -> Option<leptos::web_sys::FormData> {
    use leptos::wasm_bindgen::JsCast;
    ev.prevent_default();
    let form = ev
        .target()?
        .dyn_into::<leptos::web_sys::HtmlFormElement>()
        .ok()?;
    leptos::web_sys::FormData::new_with_form(&form).ok()
}

/// "Add a language": its tag typed, added with the button or Enter; the
/// refusal shown next to it.
#[component]
pub fn AddLanguage(
    id: &'static str,
    tag: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
    on_add: Callback<()>,
    #[prop(optional)] hint: Option<&'static str>,
) -> impl IntoView {
    view! {
        <div class="field" class:has-error=move || error.get().is_some()>
            <label for=id>"Add a language"</label>
            <div class="control">
                <span class="inline-controls">
                    <input id=id type="text" class="short" placeholder="fr, pt-BR" prop:value=tag
                        on:input=move |ev| tag.set(event_target_value(&ev))
                        on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); on_add.run(()); } />
                    <button type="button" class="btn small" on:click=move |_| on_add.run(())>"Add"</button>
                </span>
                {hint.map(|hint| view! { <p class="hint">{hint}</p> })}
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            </div>
        </div>
    }
}
