//! Subcommands that train and compare models (`train`, `evaluate`,
//! `compare`) and `merge`; `extract` lives in `main.rs`.

pub mod compare;
pub mod extract_model;
pub mod merge;
pub mod model;
pub mod progress;
