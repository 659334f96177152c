//! cavra-core
pub mod action;
pub mod decision;
pub mod path;
pub mod shell;
