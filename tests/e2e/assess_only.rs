//! Placeholder until the binary tests land in this file.
