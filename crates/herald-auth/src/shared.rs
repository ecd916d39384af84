//! The app registry every part of a process reads, swapped whole on reload: a request reads the
//! registry once and keeps it to its end, and a live connection hears of each swap, to decide its
//! subscriptions again.

use arc_swap::ArcSwap;
use std::sync::Arc;
use tokio::sync::watch;

use crate::registry::AppRegistry;

pub struct Apps {
    current: ArcSwap<AppRegistry>,
    generation: watch::Sender<u64>,
}

impl Apps {
    pub fn new(registry: AppRegistry) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwap::from_pointee(registry),
            generation: watch::Sender::new(0),
        })
    }

    /// The registry as it is now.
    pub fn current(&self) -> Arc<AppRegistry> {
        self.current.load_full()
    }

    /// Puts `registry` in place and tells every listener.
    pub fn replace(&self, registry: AppRegistry) {
        self.current.store(Arc::new(registry));
        self.generation.send_modify(|generation| *generation += 1);
    }

    /// Hears of every [`Apps::replace`] after this call.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }
}
