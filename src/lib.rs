//! speechfront: speech features with a neural front end.
//!
//! (Crate guide to be completed as the modules land.)

pub mod audio;
pub mod data;
pub mod experiment;
pub mod extract;
pub mod frontend;
pub mod nn;
pub mod report;
pub mod train;
