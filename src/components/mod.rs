pub mod card;
pub mod infinite;
