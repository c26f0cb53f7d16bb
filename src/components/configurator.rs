//! The print configurator: size, material and frame, with a live price from the shared pricing
//! module (the server recomputes it at checkout) and a framed preview.

use leptos::prelude::*;

use crate::i18n::td_string;
use crate::labels::{use_locale, Label};
use crate::pricing::{format_cny, Frame, Material, PrintOptions, PrintSize};

/// Select fields named `size`, `material` and `frame`, so the surrounding form posts them.
#[component]
pub fn PrintConfigurator(options: RwSignal<PrintOptions>) -> impl IntoView {
    let locale = use_locale();
    view! {
        <fieldset class="configurator">
            <legend>{td_string!(locale, print.legend)}</legend>
            <OptionSelect label=td_string!(locale, print.size) name="size" all=PrintSize::ALL current=move || options.get().size
                set=move |size| options.update(|o| o.size = size)/>
            <OptionSelect label=td_string!(locale, print.material) name="material" all=Material::ALL current=move || options.get().material
                set=move |material| options.update(|o| o.material = material)/>
            <OptionSelect label=td_string!(locale, print.frame) name="frame" all=Frame::ALL current=move || options.get().frame
                set=move |frame| options.update(|o| o.frame = frame)/>
            <p class="price" aria-live="polite">
                <span class="amount" data-testid="price">{move || format_cny(options.get().amount_cents())}</span>
                <span class="hint">{td_string!(locale, print.price_hint)}</span>
            </p>
        </fieldset>
    }
}

#[component]
fn OptionSelect<T: Label>(
    label: &'static str,
    name: &'static str,
    all: &'static [T],
    current: impl Fn() -> T + Send + Sync + Copy + 'static,
    set: impl Fn(T) + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let locale = use_locale();
    view! {
        <label class="option">
            <span>{label}</span>
            <select name=name on:change=move |ev| {
                if let Ok(value) = event_target_value(&ev).parse::<T>() {
                    set(value);
                }
            }>
                {all.iter().map(|&option| view! {
                    <option value=option.code() selected=move || current() == option>{move || option.label_in(locale)}</option>
                }).collect_view()}
            </select>
        </label>
    }
}

/// A CSS class for the frame colour, shared by the framed preview and the wall preview.
pub fn frame_class(frame: Frame) -> &'static str {
    match frame {
        Frame::None => "frame-none",
        Frame::Black => "frame-black",
        Frame::White => "frame-white",
        Frame::Wood => "frame-wood",
        Frame::Gold => "frame-gold",
    }
}
