//! cavra-core's integration tests, one binary: the acceptance corpora (reference parity and the
//! project's own dangerous/benign cases), the property tests, and the redaction of records.

mod corpus;
mod properties;
mod redaction;
