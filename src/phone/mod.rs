//! The telephone, without I/O: which service instance a call is for and the greeting
//! (`choice`). The HTTP API (the `api` module) asks the directory and answers the PBX.

pub mod article;
mod choice;

pub use choice::{choose, Caller, Choice, GreetingFrom, Rule, Several};
