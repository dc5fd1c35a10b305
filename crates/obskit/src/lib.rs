//! obskit
