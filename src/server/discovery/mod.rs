//! What a visitor sees and how the shop learns their taste: the feed, activity events, the taste
//! learners and the worker that applies them, onboarding styles, search, painting pages, room photos.

pub mod activity;
pub mod catalogue_changes;
pub mod feed;
pub mod onboarding;
pub mod paintings;
pub mod popularity;
pub mod rooms;
pub mod search;
pub mod style_names;
pub mod taste;
pub mod taste_model;
pub mod taste_worker;
