//! Batch imports: the form that starts one, and each job's live progress with its failures.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{load_job, load_jobs, ResumeJob, RetryJob};
use crate::i18n::{td, td_string, Locale};
use crate::labels::{date_time_in, error_message, job_status, use_locale};
use crate::pages::admin::{admin_error, admin_title, AdminNav};
use crate::types::JobView;

/// How often a running job's page asks for fresh figures.
const PROGRESS_POLL_MS: u64 = 1_000;

#[component]
pub fn ImportPage() -> impl IntoView {
    let locale = use_locale();
    let query = use_query_map();
    let error = move || query.read().get("error").map(|code| import_error_message(&code, locale));
    let jobs = Resource::new(|| (), |_| load_jobs());
    view! {
        <Title text=admin_title(td_string!(locale, admin.import_title))/>
        <section class="admin">
            <AdminNav/>
            <h1>{td_string!(locale, admin.import_heading)}</h1>
            // A plain multipart form: it works before (and without) the WASM, and the server
            // answers with the new job's page.
            <form class="import-form" method="post" action="/api/admin/jobs/import" enctype="multipart/form-data">
                <label>
                    {td_string!(locale, admin.paste_json)}
                    <textarea name="paintings" rows="10" spellcheck="false"
                        placeholder=r#"{"paintings":[{"id":"met:436535","title":"Wheat Field with Cypresses","artist":"Vincent van Gogh","year":1889,"imageUrl":"https://…"}]}"#></textarea>
                </label>
                <label>{td_string!(locale, admin.or_file)}
                    <input type="file" name="file" accept=".json,.csv,application/json,text/csv"/>
                </label>
                <button type="submit" class="button primary">{td_string!(locale, admin.start_import)}</button>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </form>
            <h2>{td_string!(locale, admin.recent_jobs)}</h2>
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match jobs.await {
                        Ok(jobs) if jobs.is_empty() => view! { <p class="empty-state">{td_string!(locale, admin.no_jobs)}</p> }.into_any(),
                        Ok(jobs) => view! {
                            <ul class="job-list">
                                {jobs.into_iter().map(|job| view! {
                                    <li>
                                        <a href=format!("/admin/jobs/{}", job.id)>{format!("{} · {}", job_kind(&job.kind, locale), date_time_in(&job.created_at, locale))}</a>
                                        " " <span class=format!("status status-{}", job.status)>{job_status(&job.status, locale)}</span>
                                        " " {td!(locale, admin.job_line, processed = job.processed, total = job.total, failed = job.failed)}
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Suspense>
        </section>
    }
}

fn import_error_message(code: &str, locale: Locale) -> &'static str {
    match code {
        "empty" => td_string!(locale, admin.import_empty),
        "too_many" => td_string!(locale, admin.import_too_many),
        "too_large" => td_string!(locale, admin.import_too_large),
        "unreadable" => td_string!(locale, admin.import_unreadable),
        _ => td_string!(locale, admin.import_failed),
    }
}

/// A job's status (`import_jobs::STATUSES`) in words.
fn job_kind(kind: &str, locale: Locale) -> &'static str {
    if kind == "reembed" {
        td_string!(locale, admin.kind_reembed)
    } else {
        td_string!(locale, admin.kind_import)
    }
}

#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let retry = ServerAction::<RetryJob>::new();
    let resume = ServerAction::<ResumeJob>::new();
    let tick = RwSignal::new(0u32);
    let id = move || params.read().get("id").unwrap_or_default();
    let job = Resource::new(
        move || (id(), tick.get(), retry.version().get(), resume.version().get()),
        |(id, ..)| load_job(id),
    );
    // Live progress without a manual refresh: ask again while the job is queued or running.
    Effect::new(move |_| {
        if job.get().and_then(Result::ok).is_some_and(|j| j.is_active()) {
            set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_millis(PROGRESS_POLL_MS));
        }
    });
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.job_title))/>
        <section class="admin">
            <AdminNav/>
            // Transition keeps the figures on screen while the next ones load.
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match job.await {
                        Ok(job) => view! { <JobProgress job retry resume/> }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn JobProgress(job: JobView, retry: ServerAction<RetryJob>, resume: ServerAction<ResumeJob>) -> impl IntoView {
    let done = job.processed - job.failed;
    let can_retry = !job.is_active() && job.failed > 0;
    let interrupted = job.status == "interrupted";
    let id = job.id.clone();
    let locale = use_locale();
    let rate = job.rate_per_minute.map_or_else(
        || "–".to_owned(),
        |rate| td_string!(locale, admin.per_minute, rate = format!("{rate:.0}")).to_string(),
    );
    let time_left = job.eta_seconds.map_or_else(
        || "–".to_owned(),
        |seconds| td_string!(locale, admin.about, duration = human_duration(seconds)).to_string(),
    );
    view! {
        <h1>{if job.kind == "reembed" { td_string!(locale, admin.reembed_job).into_any() } else { td_string!(locale, admin.import_job).into_any() }}</h1>
        <p>
            // The code stays in `data-status`: scripts and tests read it in any language.
            <span class=format!("status status-{}", job.status) data-testid="job-status" data-status=job.status.clone()>{job_status(&job.status, locale)}</span>
            {td!(locale, admin.started, at = date_time_in(&job.created_at, locale))}
        </p>
        <progress max=job.total value=job.processed aria-label=td_string!(locale, admin.progress)></progress>
        <dl class="facts job-figures">
            <dt>{td_string!(locale, admin.total)}</dt><dd data-testid="job-total">{job.total}</dd>
            <dt>{td_string!(locale, admin.processed)}</dt><dd data-testid="job-processed">{job.processed}</dd>
            <dt>{td_string!(locale, admin.done)}</dt><dd data-testid="job-done">{done}</dd>
            <dt>{td_string!(locale, admin.failed)}</dt><dd data-testid="job-failed">{job.failed}</dd>
            <dt>{td_string!(locale, admin.rate)}</dt><dd>{rate}</dd>
            <dt>{td_string!(locale, admin.time_left)}</dt><dd>{time_left}</dd>
        </dl>
        {(job.resumes > 0).then(|| view! {
            <p class="notice">{td!(locale, admin.resumed, count = job.resumes)}</p>
        })}
        {interrupted.then(|| {
            let id = id.clone();
            view! {
                <ActionForm action=resume>
                    <p class="error">{td_string!(locale, admin.interrupted)}</p>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="button primary">{td_string!(locale, admin.resume)}</button>
                </ActionForm>
            }
        })}
        {(!job.failures.is_empty()).then(|| view! {
            <h2>{td_string!(locale, admin.failed_items)}</h2>
            <table class="failures">
                <thead><tr><th>"#"</th><th>{td_string!(locale, admin.item)}</th><th>{td_string!(locale, admin.reason)}</th></tr></thead>
                <tbody>
                    {job.failures.into_iter().map(|f| view! {
                        <tr><td>{f.position + 1}</td><td>{f.label}</td><td class="reason">{f.reason}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {can_retry.then(|| view! {
            <ActionForm action=retry>
                <input type="hidden" name="id" value=id.clone()/>
                <button type="submit" class="button primary">{td_string!(locale, admin.retry_failed)}</button>
            </ActionForm>
        })}
        {move || retry.value().get().and_then(Result::err).or_else(|| resume.value().get().and_then(Result::err)).map(|e| view! {
            <p class="error" role="alert">{error_message(&e)}</p>
        })}
    }
}

fn human_duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", (s + 59) / 60),
        s => format!("{:.1} h", s as f64 / 3600.0),
    }
}
