//! The herald REST API: publish, status, cancel, polling subscriptions and app info.
