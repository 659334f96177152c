//! cavra-core's integration tests, one binary: the acceptance corpora (reference parity and the
//! project's own dangerous/benign cases) and the property tests.

mod corpus;
mod properties;
