//! Deciding a connection's subscriptions again: after `SET_USER_TOKEN` and after each reload of
//! the configuration. A subscription whose grant is gone ends as a refused one does, with
//! `SUB_RES {id, error: {code, message}}` (the SDK drops it and calls its error callback), and is
//! out of the hub, so it receives nothing more. On a reload the connection's key and token are
//! verified again: an app that is gone, a key no longer valid or a token no longer verifying
//! ends the connection, as its handshake would now be refused (the SDK reconnects and hears why).

use herald_auth::App;
use socketioxide::extract::SocketRef;

use crate::emit::{disconnect, emit};
use crate::frames::Failure;
use crate::session::{lock, Session};

impl Session {
    /// A reload happened: the connection's identity and subscriptions under the new registry.
    /// False when the connection no longer has one, and is disconnected.
    pub(crate) async fn reloaded(&self, socket: &SocketRef) -> bool {
        let registry = self.apps.current();
        let verified = lock(&self.identity).reverify(&registry, &self.app);
        match verified {
            Ok((access, identity)) => {
                self.reidentify(socket, &access.app, identity, false).await;
                true
            }
            Err(err) => {
                tracing::info!(
                    connection = %self.connection_id,
                    app = %self.app,
                    code = err.kind.code(),
                    reason = %err.message,
                    "a realtime connection's credentials are no longer valid after a reload, disconnected"
                );
                disconnect(socket);
                false
            }
        }
    }

    /// Ends every subscription `app` no longer grants to the connection.
    pub(crate) async fn revoke_denied(&self, socket: &SocketRef, app: &App) {
        let denied: Vec<_> = {
            let caller = lock(&self.identity).caller.clone();
            lock(&self.granted)
                .iter()
                .filter_map(|(id, granted)| {
                    app.authorize(&caller, granted.op, granted.channel.as_str())
                        .err()
                        .map(|err| (id.clone(), err))
                })
                .collect()
        };
        for (id, err) in denied {
            self.stop(&id).await;
            emit(socket, "SUB_RES", &Failure::new(&id, &err));
        }
    }
}
