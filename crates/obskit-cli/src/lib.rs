//! The parts of the `obskit` command that are worth testing on their own: the template
//! manifest, project-name validation, rendering the embedded template in memory, and
//! writing the result so that a failure leaves nothing behind. The viewer behind `obskit dev`
//! is the `obskit-dev` crate (the `dev` feature, on by default).
//!
//! The binary (`src/main.rs`) parses arguments and prints; everything it decides is here.

pub mod manifest;
pub mod name;
pub mod template;
pub mod write;
