//! The queue and store seams of herald and their RabbitMQ, Redis and in-memory implementations.
