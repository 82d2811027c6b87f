use crate::domain::diagnosis::Diagnosis;
use leptos::prelude::*;

/// A failure explained: the code, what happened, how to fix it, and the
/// IDs Microsoft support asks for.
#[component]
pub fn DiagnosisPanel(diagnosis: Diagnosis) -> impl IntoView {
    let d = diagnosis;
    view! {
        <div class="diagnosis" role="alert">
            <h3>{format!("Diagnosis: {}", d.code)}</h3>
            <p class="what">{d.message.clone()}</p>
            <p class="fix"><strong>"How to fix: "</strong>{d.hint.clone()}</p>
            {d.temporary.then(|| view! { <p class="hint">"This looks temporary: the same request may succeed later."</p> })}
            {(d.trace_id.is_some() || d.correlation_id.is_some()).then(|| view! {
                <dl class="facts ids">
                    <dt>"Trace ID"</dt><dd>{d.trace_id.clone().unwrap_or_default()}</dd>
                    <dt>"Correlation ID"</dt><dd>{d.correlation_id.clone().unwrap_or_default()}</dd>
                </dl>
            })}
        </div>
    }
}
