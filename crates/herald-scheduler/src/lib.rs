//! The herald scheduler role.
