//! Who is calling and what they may do, as Backendless decides it (reference §6).
//!
//! [`settings`] holds an app's configuration; [`App`] is one app built from it: its API keys and
//! their roles, its [`token::TokenVerifier`] for user tokens (JWTs), its
//! [`permissions::Permissions`] and its browser origins. A request resolves its app through the
//! [`AppRegistry`] (read from the reloadable [`Apps`]), becomes a [`Caller`] with
//! [`App::caller`], and each operation asks [`App::authorize`]. [`mint`] makes the tokens of an
//! app without an identity provider.

pub mod app;
pub mod caller;
mod keys;
pub mod mint;
pub mod operation;
pub mod permissions;
pub mod registry;
pub mod settings;
pub mod shared;
pub mod token;
mod verified;

pub use app::App;
pub use caller::{Caller, User};
pub use operation::Operation;
pub use registry::{Access, AppRegistry};
pub use settings::AppConfig;
pub use shared::Apps;
