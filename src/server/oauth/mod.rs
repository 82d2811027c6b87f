//! OAuth 2.0 client-credentials tokens for SMTP AUTH XOAUTH2 and Graph.

pub mod cache;
pub mod certificate;
pub mod client;
pub mod rotation;
pub mod shared;
