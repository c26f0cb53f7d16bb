//! "See it on your wall": the painting, at the chosen print size, on the visitor's own room
//! photo. The photo's full width stands for a wall width the visitor sets, so a 60 cm print on a
//! 300 cm wall covers a fifth of the photo. The painting can be dragged (or moved with the arrow
//! keys) into place.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::load_room;
use crate::components::configurator::frame_class;
use crate::i18n::{td_string, Locale};
use crate::labels::{error_message, use_locale};
use crate::pricing::PrintOptions;
use crate::types::RoomPhoto;

const DEFAULT_WALL_CM: u32 = 300;
/// Arrow keys move the painting this many percent of the photo.
const KEY_STEP_PERCENT: f64 = 2.0;

#[component]
pub fn WallPreview(
    painting_id: i64,
    image_url: String,
    painting_width: i32,
    painting_height: i32,
    options: RwSignal<PrintOptions>,
) -> impl IntoView {
    let locale = use_locale();
    let room = Resource::new(|| (), |_| load_room());
    let query = use_query_map();
    let refusal = move || query.read().get("room_error").map(|code| room_error_message(&code, locale));
    let next = format!("/painting/{painting_id}#wall");
    view! {
        <section class="wall-preview" id="wall" aria-labelledby="wall-title">
            <h2 id="wall-title">{td_string!(locale, wall.title)}</h2>
            {move || refusal().map(|message| view! { <p class="error" role="alert">{message}</p> })}
            <Suspense fallback=move || view! { <p class="loading">{td_string!(locale, common.loading)}</p> }>
                {move || {
                    let image_url = image_url.clone();
                    let next = next.clone();
                    Suspend::new(async move {
                        match room.await {
                            Ok(state) => view! {
                                {match state.photo {
                                    Some(photo) => view! {
                                        <RoomWall photo image_url painting_width painting_height options/>
                                    }.into_any(),
                                    None => view! {
                                        <p class="hint">{td_string!(locale, wall.no_photo)}</p>
                                    }.into_any(),
                                }}
                                <form class="room-upload" method="post" action="/api/room-photo" enctype="multipart/form-data">
                                    <input type="hidden" name="next" value=next/>
                                    <label>
                                        <span>{td_string!(locale, wall.photo_label)}</span>
                                        <input type="file" name="photo" accept="image/jpeg,image/png,image/webp" required/>
                                    </label>
                                    <button type="submit" class="button">{td_string!(locale, wall.upload)}</button>
                                    <p class="hint">{td_string!(locale, wall.upload_hint, megabytes = state.max_megabytes)}</p>
                                </form>
                            }.into_any(),
                            Err(error) => view! { <p class="error">{error_message(&error)}</p> }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
fn RoomWall(
    photo: RoomPhoto,
    image_url: String,
    painting_width: i32,
    painting_height: i32,
    options: RwSignal<PrintOptions>,
) -> impl IntoView {
    let locale = use_locale();
    let wall_cm = RwSignal::new(DEFAULT_WALL_CM);
    // The painting's centre, in percent of the photo.
    let position = RwSignal::new((50.0_f64, 40.0_f64));
    let dragging = RwSignal::new(false);
    let wall = NodeRef::<leptos::html::Div>::new();

    let print_style = move || {
        let print = options.get();
        let (width_cm, height_cm) = print.size.oriented_cm(painting_width, painting_height);
        let width_percent = f64::from(width_cm) / f64::from(wall_cm.get()) * 100.0;
        let (x, y) = position.get();
        format!("left: {x:.2}%; top: {y:.2}%; width: {width_percent:.2}%; aspect-ratio: {width_cm} / {height_cm};")
    };
    let move_to = move |client_x: i32, client_y: i32| {
        #[cfg(feature = "hydrate")]
        if let Some(wall) = wall.get_untracked() {
            let rect = wall.get_bounding_client_rect();
            if rect.width() > 0.0 && rect.height() > 0.0 {
                let x = (f64::from(client_x) - rect.left()) / rect.width() * 100.0;
                let y = (f64::from(client_y) - rect.top()) / rect.height() * 100.0;
                position.set((x.clamp(0.0, 100.0), y.clamp(0.0, 100.0)));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (client_x, client_y, wall);
    };
    let nudge = move |dx: f64, dy: f64| {
        position.update(|(x, y)| {
            *x = (*x + dx).clamp(0.0, 100.0);
            *y = (*y + dy).clamp(0.0, 100.0);
        })
    };

    view! {
        // The wall captures the pointer once a drag starts, so it gets the moves and the release.
        <div
            class="wall"
            node_ref=wall
            style=format!("aspect-ratio: {} / {}", photo.width, photo.height)
            data-testid="wall"
            on:pointermove=move |ev| {
                if dragging.get_untracked() {
                    move_to(ev.client_x(), ev.client_y());
                }
            }
            on:pointerup=move |_| dragging.set(false)
            on:pointercancel=move |_| dragging.set(false)
        >
            <img class="room" src=photo.url alt=td_string!(locale, wall.room_alt) width=photo.width height=photo.height/>
            <div
                class=move || format!("on-wall {}", frame_class(options.get().frame))
                class:dragging=move || dragging.get()
                style=print_style
                data-testid="on-wall"
                tabindex="0"
                role="img"
                aria-label=td_string!(locale, wall.on_wall_label)
                on:pointerdown=move |ev| {
                    ev.prevent_default();
                    dragging.set(true);
                    #[cfg(feature = "hydrate")]
                    if let Some(target) = wall.get_untracked() {
                        let _ = target.set_pointer_capture(ev.pointer_id());
                    }
                    move_to(ev.client_x(), ev.client_y());
                }
                on:keydown=move |ev| {
                    match ev.key().as_str() {
                        "ArrowLeft" => nudge(-KEY_STEP_PERCENT, 0.0),
                        "ArrowRight" => nudge(KEY_STEP_PERCENT, 0.0),
                        "ArrowUp" => nudge(0.0, -KEY_STEP_PERCENT),
                        "ArrowDown" => nudge(0.0, KEY_STEP_PERCENT),
                        _ => return,
                    }
                    ev.prevent_default();
                }
            >
                <img src=image_url alt="" draggable="false"/>
            </div>
        </div>
        <label class="wall-width">
            <span>{td_string!(locale, wall.width)} <strong data-testid="wall-cm">{move || wall_cm.get()}" cm"</strong></span>
            <input type="range" min="100" max="800" step="10"
                prop:value=move || wall_cm.get().to_string()
                on:input=move |ev| {
                    if let Ok(cm) = event_target_value(&ev).parse::<u32>() {
                        wall_cm.set(cm.clamp(100, 800));
                    }
                }/>
        </label>
    }
}

fn room_error_message(code: &str, locale: Locale) -> &'static str {
    match code {
        "too_large" => td_string!(locale, wall.too_large),
        "too_many_pixels" => td_string!(locale, wall.too_many_pixels),
        "bad_shape" => td_string!(locale, wall.bad_shape),
        "not_an_image" => td_string!(locale, wall.not_an_image),
        "missing" => td_string!(locale, wall.missing),
        _ => td_string!(locale, wall.store_failed),
    }
}
