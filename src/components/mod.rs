pub mod card;
pub mod configurator;
pub mod infinite;
pub mod picture;
pub mod wall;
