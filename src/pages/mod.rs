pub mod admin;
pub mod feed;
pub mod landing;
pub mod not_found;
pub mod onboarding;
pub mod painting;
pub mod saved;
pub mod search;
