//! The transports: each converts its wire types to service calls and back. This is the
//! only place in the daemon that knows about tonic (and, later, HTTP).

pub mod grpc;
pub mod uds;
