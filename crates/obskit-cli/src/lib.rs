//! The parts of the `obskit` command that are worth testing on their own: the template
//! manifest, project-name validation, rendering the embedded template in memory, and
//! writing the result so that a failure leaves nothing behind; and, with the `dev` feature
//! (on by default), the `dev` module: the viewer behind `obskit dev`.
//!
//! The binary (`src/main.rs`) parses arguments and prints; everything it decides is here.

#[cfg(feature = "dev")]
pub mod dev;
pub mod manifest;
pub mod name;
pub mod template;
pub mod write;
