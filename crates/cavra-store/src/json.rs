//! The json backend (being written).

use std::path::Path;

use cavra_core::DecisionRecord;

use crate::error::StoreError;
use crate::model::{DecisionQuery, Page, SessionQuery, SessionSummary, SessionUpdate};
use crate::store::{ActivityStore, ImportReport};

/// The json store.
pub struct JsonStore;

impl JsonStore {
    /// Opens the store.
    pub fn open(_path: &Path) -> Result<JsonStore, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
}

impl ActivityStore for JsonStore {
    fn backend(&self) -> &'static str {
        "json"
    }
    fn append(&self, _r: DecisionRecord) -> Result<DecisionRecord, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn get_decision(&self, _id: &str) -> Result<Option<DecisionRecord>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn list_decisions(&self, _q: &DecisionQuery) -> Result<Page<DecisionRecord>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn get_session(&self, _id: &str) -> Result<Option<SessionSummary>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn list_sessions(&self, _q: &SessionQuery) -> Result<Page<SessionSummary>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn put_session(&self, _u: &SessionUpdate) -> Result<SessionSummary, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn session_decisions(&self, _id: &str) -> Result<Vec<DecisionRecord>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn all_sessions(&self) -> Result<Vec<SessionSummary>, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
    fn import(&self, _s: &[SessionSummary], _d: &[DecisionRecord]) -> Result<ImportReport, StoreError> {
        Err(StoreError::Unavailable("not yet".into()))
    }
}
