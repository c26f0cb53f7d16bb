//! The catalogue list: search, pages, each painting's saves, views and orders, and publishing.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{
    add_painting, load_admin_painting, load_admin_paintings, replace_painting_image, SetPaintingPublished,
    StartReembed, UpdatePainting,
};
use crate::components::picture::{PaintingPicture, CARD_SIZES};
use crate::error::AppError;
use crate::i18n::{td, td_string, Locale};
use crate::labels::{error_message, use_locale};
use crate::pages::admin::{admin_error, admin_title, AdminNav};
use crate::types::{AddedPainting, AdminPainting, PaintingEdit};

#[component]
pub fn AdminPaintingsPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || query.read().get("page").and_then(|p| p.parse::<i64>().ok()).unwrap_or(1);
    let publish = ServerAction::<SetPaintingPublished>::new();
    let reembed = ServerAction::<StartReembed>::new();
    let paintings = Resource::new(
        move || (search(), page(), publish.version().get()),
        |(q, page, _)| load_admin_paintings(Some(q), Some(page)),
    );
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.catalogue_title))/>
        <section class="admin">
            <AdminNav/>
            <h1>{td_string!(locale, admin.catalogue_title)}</h1>
            <div class="catalogue-actions">
                <a class="button" href="/admin/paintings/new">{td_string!(locale, admin.add_painting)}</a>
                <ActionForm action=reembed>
                    <button type="submit" class="button" title=td_string!(locale, admin.reembed_hint)>{td_string!(locale, admin.reembed_all)}</button>
                </ActionForm>
                {move || form_error(reembed.value().get())}
            </div>
            <form class="catalogue-search" method="get" action="/admin/paintings" role="search">
                <input type="search" name="q" value=search aria-label=td_string!(locale, admin.search_label)
                    placeholder=td_string!(locale, admin.search_placeholder) maxlength="200"/>
                <button type="submit" class="button">{td_string!(locale, admin.search)}</button>
            </form>
            {move || publish.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{error_message(&e)}</p> })}
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match paintings.await {
                        Ok(list) => {
                            // GET forms, so that the browser encodes the query.
                            let q = search();
                            let pager = move |page: i64, label: &'static str| view! {
                                <form method="get" action="/admin/paintings">
                                    <input type="hidden" name="q" value=q.clone()/>
                                    <input type="hidden" name="page" value=page/>
                                    <button type="submit" class="button">{label}</button>
                                </form>
                            };
                            view! {
                                <p class="muted">{td!(locale, admin.catalogue_page, total = list.total, page = list.page, pages = list.pages)}</p>
                                <table class="catalogue">
                                    <thead><tr>
                                        <th></th><th>{td_string!(locale, admin.col_title)}</th><th>{td_string!(locale, admin.col_artist)}</th>
                                        <th>{td_string!(locale, admin.col_style)}</th><th>{td_string!(locale, admin.col_saves)}</th><th>{td_string!(locale, admin.col_views)}</th>
                                        <th>{td_string!(locale, admin.col_orders)}</th><th>{td_string!(locale, admin.col_shown)}</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.items.into_iter().map(|p| view! { <CatalogueRow painting=p publish/> }).collect_view()}
                                    </tbody>
                                </table>
                                <nav class="pager" aria-label=td_string!(locale, admin.pages)>
                                    {(list.page > 1).then(|| pager(list.page - 1, td_string!(locale, admin.newer)))}
                                    {(list.page < list.pages).then(|| pager(list.page + 1, td_string!(locale, admin.older)))}
                                </nav>
                            }.into_any()
                        }
                        Err(error) => admin_error(error),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CatalogueRow(painting: AdminPainting, publish: ServerAction<SetPaintingPublished>) -> impl IntoView {
    let p = painting;
    let locale = use_locale();
    view! {
        <tr data-painting=p.id class:unpublished=!p.published>
            <td><img src=p.image_url.clone() alt="" width="48" loading="lazy"/></td>
            <td><a href=format!("/admin/paintings/{}", p.id)>{p.title.clone()}</a></td>
            <td>{p.artist.clone()}</td>
            <td>{p.style.clone().unwrap_or_default()}</td>
            <td>{p.saves}</td>
            <td>{p.views}</td>
            <td>{p.orders}</td>
            <td>
                <ActionForm action=publish>
                    <input type="hidden" name="id" value=p.id/>
                    <input type="hidden" name="published" value=(!p.published).to_string()/>
                    {if p.published { td_string!(locale, admin.published).into_any() } else { td_string!(locale, admin.unpublished).into_any() }} " "
                    <button type="submit" class="button">
                        {if p.published { td_string!(locale, admin.unpublish).into_any() } else { td_string!(locale, admin.publish).into_any() }}
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// A field of the single-painting form.
struct PaintingField {
    name: &'static str,
    label: &'static str,
    hint: &'static str,
    required: bool,
}

/// The fields of the single-painting form, in `locale`'s words.
fn painting_fields(locale: Locale) -> [PaintingField; 10] {
    let field = |name, label, hint, required| PaintingField { name, label, hint, required };
    let required = td_string!(locale, admin.hint_required);
    [
        field("title", td_string!(locale, admin.field_title), required, true),
        field("titleEn", td_string!(locale, admin.field_title_en), "", false),
        field("artist", td_string!(locale, admin.field_artist), required, true),
        field("artistEn", td_string!(locale, admin.field_artist_en), "", false),
        field("year", td_string!(locale, admin.field_year), td_string!(locale, admin.hint_year), false),
        field("style", td_string!(locale, admin.field_style), td_string!(locale, admin.hint_style), false),
        field("tags", td_string!(locale, admin.field_tags), td_string!(locale, admin.hint_tags), false),
        field("source", td_string!(locale, admin.field_source), td_string!(locale, admin.hint_source), false),
        field(
            "sourceUrl",
            td_string!(locale, admin.field_source_url),
            td_string!(locale, admin.hint_source_url),
            false,
        ),
        field("license", td_string!(locale, admin.field_license), td_string!(locale, admin.hint_license), false),
    ]
}

/// Add one painting: its metadata, and an image file or URL. Errors appear beside their field;
/// the new painting is shown with its six nearest neighbours.
#[component]
pub fn NewPaintingPage() -> impl IntoView {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{FormData, HtmlFormElement, SubmitEvent};
    let add = Action::new_local(|data: &FormData| add_painting(data.clone().into()));
    let field_error = move |field: &'static str| move || field_error(add.value().get(), field);
    let on_submit = move |event: SubmitEvent| {
        event.prevent_default();
        let form: HtmlFormElement = event.target().expect("a form").unchecked_into();
        if let Ok(data) = FormData::new_with_form(&form) {
            add.dispatch_local(data);
        }
    };
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.add_painting))/>
        <section class="admin">
            <AdminNav/>
            <h1>{td_string!(locale, admin.add_painting)}</h1>
            <form class="painting-form" on:submit=on_submit>
                {painting_fields(locale).into_iter().map(|PaintingField { name, label, hint, required }| view! {
                    <label>
                        {label} " " <span class="muted">{hint}</span>
                        <input name=name required=required maxlength="2000"/>
                        {field_error(name)}
                    </label>
                }).collect_view()}
                <fieldset>
                    <legend>{td_string!(locale, admin.image)}</legend>
                    <label>{td_string!(locale, admin.upload_image)} <input type="file" name="image" accept="image/jpeg,image/png,image/webp"/>{field_error("image")}</label>
                    <label>{td_string!(locale, admin.or_url)} <input type="url" name="imageUrl" placeholder="https://…"/>{field_error("imageUrl")}</label>
                </fieldset>
                <button type="submit" class="button primary" disabled=move || add.pending().get()>
                    {move || if add.pending().get() { td_string!(locale, admin.adding) } else { td_string!(locale, admin.add) }}
                </button>
                {move || form_error(add.value().get())}
            </form>
            {move || add.value().get().and_then(Result::ok).map(|added| view! { <Added added/> })}
        </section>
    }
}

/// The message for `field`, when the last answer was an error in that field.
fn field_error<T>(answer: Option<Result<T, AppError>>, field: &str) -> Option<impl IntoView> {
    match answer {
        Some(Err(AppError::InvalidField { field: f, message })) if f == field => {
            Some(view! { <span class="field-error" role="alert">{message}</span> })
        }
        _ => None,
    }
}

/// The message of an error that belongs to no one field.
fn form_error<T>(answer: Option<Result<T, AppError>>) -> Option<impl IntoView> {
    match answer {
        Some(Err(AppError::InvalidField { .. })) | Some(Ok(_)) | None => None,
        Some(Err(error)) => Some(view! { <p class="error" role="alert">{error_message(&error)}</p> }),
    }
}

#[component]
fn Added(added: AddedPainting) -> impl IntoView {
    let card = added.painting.card;
    let locale = use_locale();
    view! {
        <section class="added" role="status" aria-labelledby="added-title">
            <h2 id="added-title">{td_string!(locale, admin.added)} <a href=format!("/painting/{}", card.id)>{card.title.clone()}</a></h2>
            <PaintingPicture card=card.clone() sizes=CARD_SIZES/>
            <h3>{td_string!(locale, admin.neighbours)}</h3>
            <p class="muted">{td_string!(locale, admin.neighbours_hint)}</p>
            <ul class="neighbours">
                {added.neighbours.into_iter().map(|n| view! {
                    <li data-painting=n.card.id>
                        <a href=format!("/painting/{}", n.card.id)>
                            <PaintingPicture card=n.card.clone() sizes=CARD_SIZES/>
                        </a>
                        <span>{format!("{:.2}", n.similarity)}</span>
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

/// Edit one painting: its metadata, its image (which re-embeds it), and whether it is shown.
#[component]
pub fn EditPaintingPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|id| id.parse::<i64>().ok()).unwrap_or_default();
    let save = ServerAction::<UpdatePainting>::new();
    let publish = ServerAction::<SetPaintingPublished>::new();
    let painting = Resource::new(
        move || (id(), save.version().get(), publish.version().get()),
        |(id, ..)| load_admin_painting(id),
    );
    let locale = use_locale();
    view! {
        <Title text=admin_title(td_string!(locale, admin.edit_title))/>
        <section class="admin">
            <AdminNav/>
            <p><a href="/admin/paintings">{td_string!(locale, admin.back_to_catalogue)}</a></p>
            <Transition fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || Suspend::new(async move {
                    match painting.await {
                        Ok(p) => view! { <EditPainting painting=p save publish/> }.into_any(),
                        Err(error) => admin_error(error),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn EditPainting(
    painting: PaintingEdit,
    save: ServerAction<UpdatePainting>,
    publish: ServerAction<SetPaintingPublished>,
) -> impl IntoView {
    use leptos::wasm_bindgen::JsCast;
    use leptos::web_sys::{FormData, HtmlFormElement, SubmitEvent};
    let replace = Action::new_local(|data: &FormData| replace_painting_image(data.clone().into()));
    let image = RwSignal::new(painting.image_url.clone());
    Effect::new(move |_| {
        if let Some(Ok(updated)) = replace.value().get() {
            image.set(updated.image_url);
        }
    });
    let on_replace = move |event: SubmitEvent| {
        event.prevent_default();
        let form: HtmlFormElement = event.target().expect("a form").unchecked_into();
        if let Ok(data) = FormData::new_with_form(&form) {
            replace.dispatch_local(data);
        }
    };
    let value_of = {
        let p = painting.clone();
        move |name: &str| match name {
            "title" => p.title.clone(),
            "titleEn" => p.title_en.clone(),
            "artist" => p.artist.clone(),
            "artistEn" => p.artist_en.clone(),
            "year" => p.year.clone(),
            "style" => p.style.clone(),
            "tags" => p.tags.clone(),
            "source" => p.source.clone(),
            "sourceUrl" => p.source_url.clone(),
            _ => p.license.clone(),
        }
    };
    let id = painting.id;
    let locale = use_locale();
    view! {
        <h1>{painting.title.clone()}</h1>
        <p>
            <a href=format!("/painting/{id}")>{td_string!(locale, admin.shop_page)}</a>
            {td_string!(locale, admin.embedded_with)} <code>{painting.embedding_model.clone()}</code>
        </p>
        <ActionForm action=publish attr:class="publish-form">
            <input type="hidden" name="id" value=id/>
            <input type="hidden" name="published" value=(!painting.published).to_string()/>
            {if painting.published { td_string!(locale, admin.shown).into_any() } else { td_string!(locale, admin.hidden).into_any() }} " "
            <button type="submit" class="button">
                {if painting.published { td_string!(locale, admin.unpublish).into_any() } else { td_string!(locale, admin.publish).into_any() }}
            </button>
        </ActionForm>
        <div class="edit-painting">
            <ActionForm action=save attr:class="painting-form">
                <input type="hidden" name="id" value=id/>
                {painting_fields(locale).into_iter().map(|PaintingField { name, label, hint, required }| view! {
                    <label>
                        {label} " " <span class="muted">{hint}</span>
                        <input name=name value=value_of(name) required=required maxlength="2000"/>
                        {move || field_error(save.value().get(), name)}
                    </label>
                }).collect_view()}
                <button type="submit" class="button primary">{td_string!(locale, admin.save)}</button>
                {move || form_error(save.value().get())}
                {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! { <p class="notice" role="status">{td_string!(locale, admin.saved)}</p> })}
            </ActionForm>
            <form class="painting-form" on:submit=on_replace>
                <img src=move || image.get() alt=td_string!(locale, admin.current_image) class="current-image"/>
                <input type="hidden" name="id" value=id/>
                <label>{td_string!(locale, admin.replace_with_file)} <input type="file" name="image" accept="image/jpeg,image/png,image/webp"/>
                    {move || field_error(replace.value().get(), "image")}</label>
                <label>{td_string!(locale, admin.or_a_url)} <input type="url" name="imageUrl"/>{move || field_error(replace.value().get(), "imageUrl")}</label>
                <button type="submit" class="button" disabled=move || replace.pending().get()>
                    {move || if replace.pending().get() { td_string!(locale, admin.replacing) } else { td_string!(locale, admin.replace) }}
                </button>
                {move || form_error(replace.value().get())}
                {move || matches!(replace.value().get(), Some(Ok(_))).then(|| view! { <p class="notice" role="status">{td_string!(locale, admin.replaced)}</p> })}
            </form>
        </div>
    }
}
