//! The hand-crafted front end: one file per stage, presets, and the pipeline.
pub mod learned;
