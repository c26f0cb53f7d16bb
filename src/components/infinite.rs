use leptos::html::Div;
use leptos::prelude::*;

/// An invisible marker below a list. After hydration an IntersectionObserver calls `on_visible`
/// when the marker comes within 800 px of the viewport, so the next page loads before the reader
/// reaches the end. `rearm` should change whenever the list grows: observing anew re-checks a
/// marker that is still on screen after a short page.
#[component]
pub fn Sentinel(#[prop(into)] on_visible: Callback<()>, #[prop(into)] rearm: Signal<usize>) -> impl IntoView {
    let node = NodeRef::<Div>::new();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        rearm.track();
        let Some(element) = node.get() else { return };
        let callback = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
            let visible = entries
                .iter()
                .any(|entry| entry.unchecked_into::<web_sys::IntersectionObserverEntry>().is_intersecting());
            if visible {
                on_visible.run(());
            }
        });
        let options = web_sys::IntersectionObserverInit::new();
        options.set_root_margin("800px 0px");
        let Ok(observer) = web_sys::IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options)
        else {
            return; // very old browser: the Load more button still works
        };
        observer.observe(&element);
        let held = send_wrapper::SendWrapper::new((observer, callback));
        on_cleanup(move || held.0.disconnect());
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (on_visible, rearm);
    view! { <div class="sentinel" node_ref=node aria-hidden="true"></div> }
}
