pub mod card;
pub mod configurator;
pub mod infinite;
pub mod picture;
pub mod server_form;
pub mod wall;
