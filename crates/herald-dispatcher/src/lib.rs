//! The herald dispatcher: consumes the dispatch route and delivers to subscribers.
