//! Integration tests of herald's REST API and delivery path, against real RabbitMQ and Redis
//! (HERALD_AMQP__URL, HERALD_REDIS__URL; scripts/test provides them) and, for every behaviour
//! test, again on the in-memory backends.

mod support;

mod app_isolation;
mod bad_input;
mod broker_restart;
mod cancel;
mod components;
mod cors;
mod dead_letter;
mod envelope;
mod live;
mod live_security;
mod multi_process;
mod old_status_records;
mod operations;
mod outage;
mod polling;
mod presence;
mod publish;
mod readme;
mod realtime;
mod realtime_cors;
mod realtime_security;
mod reload;
mod schedule_keys;
mod schedule_wakeups;
mod scheduler_nodes;
mod scheduling;
mod security;
mod security_rest;
mod shutdown;
mod tokens;
