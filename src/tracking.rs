//! Activity tracking in the browser. Events queue in memory and go to `POST /api/activity` every
//! two seconds, at once for saves and hides, and by `navigator.sendBeacon` when the page is
//! hidden (it may be dying). A batch that fails is queued again under the same event ids, so the
//! server stores it once. Nothing is tracked when the page is only server-rendered: without the
//! WASM client there is no tracking at all.

use serde::Serialize;

use crate::events::EventKind;
pub use crate::events::Source;

pub const MAX_QUEUE: usize = 500;
pub const MAX_BATCH: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub painting_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<i64>,
    pub source: Source,
    pub metadata: Metadata,
}

/// What the browser says about an event beyond its kind: typed, so that the client carries no
/// generic JSON values. Each key is sent only when set.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// How long a card was in view (`view` events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dwell_time_ms: Option<i64>,
    /// How far down the page the visitor went, 0 to 1 (`session_end`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scroll_depth: Option<f64>,
}

/// A bounded queue that never holds the same event twice.
#[derive(Debug, Default)]
pub struct Queue(std::collections::VecDeque<Event>);

impl Queue {
    pub fn push(&mut self, event: Event) {
        self.0.push_back(event);
        while self.0.len() > MAX_QUEUE {
            self.0.pop_front(); // the oldest go first when the server is long unreachable
        }
    }

    pub fn take_batch(&mut self) -> Vec<Event> {
        let n = self.0.len().min(MAX_BATCH);
        self.0.drain(..n).collect()
    }

    /// Puts a failed batch back in front, without duplicating anything still queued.
    pub fn requeue(&mut self, batch: Vec<Event>) {
        for event in batch.into_iter().rev() {
            if !self.0.iter().any(|queued| queued.id == event.id) {
                self.0.push_front(event);
            }
        }
        while self.0.len() > MAX_QUEUE {
            self.0.pop_back();
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Records an event; a no-op when rendering on the server.
pub fn track(kind: EventKind, painting_id: Option<i64>, position: Option<i64>, source: Source, metadata: Metadata) {
    #[cfg(feature = "hydrate")]
    client::push(kind, painting_id, position, source, metadata);
    #[cfg(not(feature = "hydrate"))]
    let _ = (kind, painting_id, position, source, metadata);
}

/// Sends what is queued now (after a save or hide, so a reload shows it).
pub fn flush_now() {
    #[cfg(feature = "hydrate")]
    client::flush(false);
}

/// Watches every tracked card on the page (`data-painting-id`, `data-source`, and
/// `data-position`): an `impression` when a card is at least half visible, a `view` with its
/// dwell time when it leaves the viewport after more than a second. Call again after new cards
/// render; cards already watched are skipped.
pub fn observe_cards() {
    #[cfg(feature = "hydrate")]
    client::observe_cards();
}

/// Starts the periodic flush and the page-hide handling, and records `session_start`. Idempotent.
pub fn start(source: Source) {
    #[cfg(feature = "hydrate")]
    client::start(source);
    #[cfg(not(feature = "hydrate"))]
    let _ = source;
}

#[cfg(feature = "hydrate")]
mod client {
    use std::cell::{Cell, RefCell};

    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::{JsCast, JsValue};

    use super::{Event, EventKind, Metadata, Queue, Source};

    const ENDPOINT: &str = "/api/activity";

    /// The body of `POST /api/activity`.
    #[derive(serde::Serialize)]
    struct Batch<'a> {
        events: &'a [Event],
    }

    /// Painting id -> (position, source, visible since in ms).
    type VisibleCards = std::collections::HashMap<i64, (Option<i64>, Source, f64)>;

    thread_local! {
        static QUEUE: RefCell<Queue> = RefCell::new(Queue::default());
        static STARTED: Cell<bool> = const { Cell::new(false) };
        static OBSERVER: RefCell<Option<web_sys::IntersectionObserver>> = const { RefCell::new(None) };
        /// Cards at least half visible now.
        static VISIBLE: RefCell<VisibleCards> = RefCell::default();
        static IMPRESSED: RefCell<std::collections::HashSet<(i64, Source)>> = RefCell::default();
        /// How far down the page the visitor has been, as a share of its height (0 to 1).
        static SCROLL_DEPTH: Cell<f64> = const { Cell::new(0.0) };
    }

    fn card_attributes(element: &web_sys::Element) -> Option<(i64, Option<i64>, Source)> {
        let id = element.get_attribute("data-painting-id")?.parse().ok()?;
        let source = Source::parse(&element.get_attribute("data-source")?)?;
        Some((id, element.get_attribute("data-position").and_then(|p| p.parse().ok()), source))
    }

    fn end_view(id: i64) {
        if let Some((position, source, since)) = VISIBLE.with(|v| v.borrow_mut().remove(&id)) {
            let dwell = (js_sys::Date::now() - since).round() as i64;
            if dwell > 1_000 {
                let metadata = Metadata { dwell_time_ms: Some(dwell), ..Metadata::default() };
                push(EventKind::View, Some(id), position, source, metadata);
            }
        }
    }

    pub fn observe_cards() {
        let observer = OBSERVER.with(|o| {
            o.borrow_mut()
                .get_or_insert_with(|| {
                    let callback = Closure::<dyn Fn(js_sys::Array)>::new(move |entries: js_sys::Array| {
                        for entry in entries.iter() {
                            let entry: web_sys::IntersectionObserverEntry = entry.unchecked_into();
                            let Some((id, position, source)) = card_attributes(&entry.target()) else { continue };
                            if entry.intersection_ratio() >= 0.5 {
                                if IMPRESSED.with(|i| i.borrow_mut().insert((id, source))) {
                                    push(EventKind::Impression, Some(id), position, source, Metadata::default());
                                }
                                VISIBLE.with(|v| {
                                    _ = v.borrow_mut().entry(id).or_insert((position, source, js_sys::Date::now()))
                                });
                            } else {
                                end_view(id);
                            }
                        }
                    });
                    let options = web_sys::IntersectionObserverInit::new();
                    let thresholds = js_sys::Array::of2(&0.0.into(), &0.5.into());
                    options.set_threshold(&thresholds);
                    let observer =
                        web_sys::IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options)
                            .expect("IntersectionObserver is supported");
                    callback.forget(); // one observer for the page's lifetime
                    observer
                })
                .clone()
        });
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let Ok(cards) = document.query_selector_all(".card[data-painting-id][data-source]:not([data-observed])") else {
            return;
        };
        for i in 0..cards.length() {
            if let Some(card) = cards.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) {
                let _ = card.set_attribute("data-observed", "");
                observer.observe(&card);
            }
        }
    }

    fn new_id() -> String {
        web_sys::window().and_then(|w| w.crypto().ok()).map(|c| c.random_uuid()).unwrap_or_else(|| {
            format!("00000000-0000-4000-8000-{:012x}", (js_sys::Math::random() * 2f64.powi(48)) as u64)
        })
    }

    pub fn push(kind: EventKind, painting_id: Option<i64>, position: Option<i64>, source: Source, metadata: Metadata) {
        let event = Event { id: new_id(), kind, painting_id, position, source, metadata };
        QUEUE.with(|q| q.borrow_mut().push(event));
    }

    pub fn start(source: Source) {
        if STARTED.with(|s| s.replace(true)) {
            return;
        }
        push(EventKind::SessionStart, None, None, source, Metadata::default());
        gloo_timers::callback::Interval::new(2_000, || flush(false)).forget();
        let on_scroll = Closure::<dyn Fn()>::new(|| {
            let Some(window) = web_sys::window() else { return };
            let bottom =
                window.scroll_y().unwrap_or(0.0) + window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
            let height =
                window.document().and_then(|d| d.document_element()).map_or(0.0, |e| f64::from(e.scroll_height()));
            if height > 0.0 {
                SCROLL_DEPTH.with(|depth| depth.set(depth.get().max((bottom / height).clamp(0.0, 1.0))));
            }
        });
        if let Some(window) = web_sys::window() {
            let _ = window.add_event_listener_with_callback("scroll", on_scroll.as_ref().unchecked_ref());
        }
        on_scroll.forget(); // lives as long as the page
        let on_hidden = Closure::<dyn Fn()>::new(move || {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if hidden {
                // Whatever is on screen when the page goes away was looked at until now.
                let visible: Vec<i64> = VISIBLE.with(|v| v.borrow().keys().copied().collect());
                for id in visible {
                    end_view(id);
                }
                let depth = SCROLL_DEPTH.with(Cell::get);
                let metadata = Metadata { scroll_depth: Some((depth * 100.0).round() / 100.0), ..Metadata::default() };
                push(EventKind::SessionEnd, None, None, source, metadata);
                flush(true);
            }
        });
        if let Some(document) = web_sys::window().and_then(|w| w.document()) {
            let _ = document.add_event_listener_with_callback("visibilitychange", on_hidden.as_ref().unchecked_ref());
        }
        on_hidden.forget(); // lives as long as the page
    }

    /// Sends one batch. `dying`: the page is being hidden, so use sendBeacon, which outlives it.
    pub fn flush(dying: bool) {
        let batch = QUEUE.with(|q| q.borrow_mut().take_batch());
        if batch.is_empty() {
            return;
        }
        let body = serde_json::to_string(&Batch { events: &batch }).expect("events serialise");
        let Some(window) = web_sys::window() else { return requeue(batch) };
        if dying {
            let sent = window.navigator().send_beacon_with_opt_str(ENDPOINT, Some(&body)).unwrap_or(false);
            if !sent {
                requeue(batch);
            }
            return;
        }
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&body));
        let _ = js_sys::Reflect::set(&init, &"keepalive".into(), &true.into());
        let headers = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&headers, &"content-type".into(), &"application/json".into());
        init.set_headers(&headers);
        let request = window.fetch_with_str_and_init(ENDPOINT, &init);
        leptos::task::spawn_local(async move {
            let response = wasm_bindgen_futures::JsFuture::from(request)
                .await
                .ok()
                .and_then(|r| r.dyn_into::<web_sys::Response>().ok());
            match response {
                // 4xx: the batch itself is wrong; sending it again would not help.
                Some(r) if r.ok() || (400..500).contains(&r.status()) && r.status() != 429 => {}
                _ => requeue(batch),
            }
        });
    }

    fn requeue(batch: Vec<Event>) {
        QUEUE.with(|q| q.borrow_mut().requeue(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> Event {
        Event {
            id: format!("id-{n}"),
            kind: EventKind::Impression,
            painting_id: Some(n as i64),
            position: Some(n as i64),
            source: Source::Feed,
            metadata: Metadata::default(),
        }
    }

    #[test]
    fn the_queue_is_bounded_and_batches_are_at_most_100() {
        let mut queue = Queue::default();
        for n in 0..MAX_QUEUE + 20 {
            queue.push(event(n));
        }
        assert_eq!(queue.len(), MAX_QUEUE);
        let batch = queue.take_batch();
        assert_eq!(batch.len(), MAX_BATCH);
        assert_eq!(batch[0].id, "id-20", "the oldest were dropped");
    }

    #[test]
    fn a_failed_batch_goes_back_in_front_without_duplicates() {
        let mut queue = Queue::default();
        for n in 0..5 {
            queue.push(event(n));
        }
        let batch = queue.take_batch();
        queue.push(event(9));
        queue.requeue(batch.clone());
        queue.requeue(batch);
        assert_eq!(queue.len(), 6);
        assert_eq!(
            queue.take_batch().iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["id-0", "id-1", "id-2", "id-3", "id-4", "id-9"]
        );
    }

    #[test]
    fn events_serialise_as_the_server_expects() {
        let json = serde_json::to_value(event(3)).unwrap();
        assert_eq!(json["type"], "impression");
        assert_eq!(json["paintingId"], 3);
        assert!(json.get("visitorId").is_none());
        assert_eq!(json["metadata"], serde_json::json!({}), "unset metadata is not sent");
        let view = Event { metadata: Metadata { dwell_time_ms: Some(1200), scroll_depth: None }, ..event(4) };
        assert_eq!(serde_json::to_value(view).unwrap()["metadata"], serde_json::json!({ "dwellTimeMs": 1200 }));
    }
}
