//! OAuth 2.0 client-credentials tokens for SMTP AUTH XOAUTH2.

pub mod cache;
pub mod certificate;
pub mod client;
pub mod shared;
