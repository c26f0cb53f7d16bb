//! Batch imports: the form that starts one, and each job's live progress with its failures.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{load_job, load_jobs, ResumeJob, RetryJob};
use crate::pages::admin::{admin_error, AdminNav};
use crate::types::JobView;

/// How often a running job's page asks for fresh figures.
const PROGRESS_POLL_MS: u64 = 1_000;

#[component]
pub fn ImportPage() -> impl IntoView {
    let query = use_query_map();
    let error = move || query.read().get("error").map(|code| import_error_message(&code));
    let jobs = Resource::new(|| (), |_| load_jobs());
    view! {
        <Title text="Import · Admin"/>
        <section class="admin">
            <AdminNav/>
            <h1>"Import paintings"</h1>
            // A plain multipart form: it works before (and without) the WASM, and the server
            // answers with the new job's page.
            <form class="import-form" method="post" action="/api/admin/jobs/import" enctype="multipart/form-data">
                <label>
                    "Paste a JSON list in the seed's shape"
                    <textarea name="paintings" rows="10" spellcheck="false"
                        placeholder=r#"{"paintings":[{"id":"met:436535","title":"Wheat Field with Cypresses","artist":"Vincent van Gogh","year":1889,"imageUrl":"https://…"}]}"#></textarea>
                </label>
                <label>"…or choose a JSON or CSV file (the demo catalogue's columns)"
                    <input type="file" name="file" accept=".json,.csv,application/json,text/csv"/>
                </label>
                <button type="submit" class="button primary">"Start import"</button>
                {move || error().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            </form>
            <h2>"Recent jobs"</h2>
            <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match jobs.await {
                        Ok(jobs) if jobs.is_empty() => view! { <p class="empty-state">"No jobs yet."</p> }.into_any(),
                        Ok(jobs) => view! {
                            <ul class="job-list">
                                {jobs.into_iter().map(|job| view! {
                                    <li>
                                        <a href=format!("/admin/jobs/{}", job.id)>{format!("{} · {}", job.kind, job.created_at)}</a>
                                        " " <span class=format!("status status-{}", job.status)>{job.status.clone()}</span>
                                        " " {format!("{} of {} processed, {} failed", job.processed, job.total, job.failed)}
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

fn import_error_message(code: &str) -> &'static str {
    match code {
        "empty" => "Paste a JSON list or choose a file with at least one painting.",
        "too_many" => "That is more paintings than one job takes; split the list.",
        "too_large" => "That file is too large to import.",
        "unreadable" => {
            "That is neither the seed's JSON shape ({\"paintings\":[…]}) nor the demo catalogue's CSV columns."
        }
        _ => "The import could not be started. Try again.",
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
    view! {
        <Title text="Job · Admin"/>
        <section class="admin">
            <AdminNav/>
            // Transition keeps the figures on screen while the next ones load.
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    view! {
        <h1>{if job.kind == "reembed" { "Re-embed job" } else { "Import job" }}</h1>
        <p>
            <span class=format!("status status-{}", job.status) data-testid="job-status">{job.status.clone()}</span>
            " started " {job.created_at.clone()}
        </p>
        <progress max=job.total value=job.processed aria-label="Progress"></progress>
        <dl class="facts job-figures">
            <dt>"Total"</dt><dd data-testid="job-total">{job.total}</dd>
            <dt>"Processed"</dt><dd data-testid="job-processed">{job.processed}</dd>
            <dt>"Done"</dt><dd data-testid="job-done">{done}</dd>
            <dt>"Failed"</dt><dd data-testid="job-failed">{job.failed}</dd>
            <dt>"Rate"</dt><dd>{job.rate_per_minute.map_or_else(|| "–".to_owned(), |r| format!("{r:.0} per minute"))}</dd>
            <dt>"Time left"</dt><dd>{job.eta_seconds.map_or_else(|| "–".to_owned(), |s| format!("about {}", human_duration(s)))}</dd>
        </dl>
        {(job.resumes > 0).then(|| view! {
            <p class="notice">{format!("Picked up again after its server stopped ({}×); finished items were kept.", job.resumes)}</p>
        })}
        {interrupted.then(|| {
            let id = id.clone();
            view! {
                <ActionForm action=resume>
                    <p class="error">"This job was interrupted. Finished items are kept; resuming does the rest."</p>
                    <input type="hidden" name="id" value=id/>
                    <button type="submit" class="button primary">"Resume"</button>
                </ActionForm>
            }
        })}
        {(!job.failures.is_empty()).then(|| view! {
            <h2>"Failed items"</h2>
            <table class="failures">
                <thead><tr><th>"#"</th><th>"Item"</th><th>"Reason"</th></tr></thead>
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
                <button type="submit" class="button primary">"Retry failed items"</button>
            </ActionForm>
        })}
        {move || retry.value().get().and_then(Result::err).or_else(|| resume.value().get().and_then(Result::err)).map(|e| view! {
            <p class="error" role="alert">{e.to_string()}</p>
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
