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

/// The result of a test email's first attempt, as the Send buttons show it.
#[component]
pub fn TestEmailOutcome(
    result: Result<crate::domain::mail::TestEmailResult, crate::api::ApiError>,
) -> impl IntoView {
    use crate::components::{Banner, BannerKind};
    use crate::domain::mail::MailStatus;
    match result {
        Ok(result) => match result.status {
            MailStatus::Sent => view! {
                <Banner kind=BannerKind::Success>{format!("Delivered in {} ms: {} (Message-ID {})", result.millis, result.reply.unwrap_or_default(), result.message_id)}</Banner>
            }
            .into_any(),
            MailStatus::Queued | MailStatus::Sending => view! {
                <Banner kind=BannerKind::Info>{format!("Still queued after {} ms: follow message {} on Operations > Mail Queue.", result.millis, result.mail_id)}</Banner>
            }
            .into_any(),
            status => {
                let next = result
                    .next_attempt_at
                    .map(|t| format!(" The queue tries again at {}.", crate::pages::format_time(t.div_euclid(1000))))
                    .unwrap_or_default();
                view! {
                    <Banner kind=BannerKind::Error>{format!("{}: the first attempt failed.{next}", status.label())}</Banner>
                    {result.diagnosis.map(|diagnosis| view! { <DiagnosisPanel diagnosis /> })}
                }
                .into_any()
            }
        },
        Err(e) => match e.banner() {
            Some(text) => view! { <Banner kind=BannerKind::Error>{text}</Banner> }.into_any(),
            None => ().into_any(),
        },
    }
}
