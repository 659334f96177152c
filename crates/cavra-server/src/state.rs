//! [`AppState`]: what every handler shares — the store, the compiled packs, the id stamper, the
//! token checker and the metrics. Cheap to clone (one `Arc`).

use std::sync::{Arc, Mutex};

use cavra_core::{CompiledPack, PackSet, RecordStamp};
use cavra_store::{ActivityStore, Stamper};

use crate::StartError;
use crate::auth::Authenticator;
use crate::console::SignIns;
use crate::error::ApiError;
use crate::metrics::Metrics;

/// The server's shared state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn ActivityStore>,
    packs: Arc<PackSet>,
    auth: Authenticator,
    metrics: Arc<Metrics>,
    stamper: Mutex<Stamper>,
    sign_ins: SignIns,
}

impl AppState {
    /// State over `store` with `packs` compiled once, checking callers with `auth`. Installs the
    /// metrics' observer on the store.
    pub fn new(store: Arc<dyn ActivityStore>, packs: PackSet, auth: Authenticator) -> Result<AppState, StartError> {
        let metrics = Arc::new(Metrics::new(store.backend()).map_err(|e| StartError::Metrics(e.to_string()))?);
        store.observe(metrics.store_observer());
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                packs: Arc::new(packs),
                auth,
                metrics,
                stamper: Mutex::new(Stamper::new()),
                sign_ins: SignIns::default(),
            }),
        })
    }

    /// The activity store.
    pub fn store(&self) -> &Arc<dyn ActivityStore> {
        &self.inner.store
    }

    /// The loaded packs.
    pub fn packs(&self) -> &PackSet {
        &self.inner.packs
    }

    /// The pack with this id, or 404 `unknown_policy_pack` naming it and the loaded ones.
    pub fn pack(&self, id: &str) -> Result<Arc<CompiledPack>, ApiError> {
        self.inner.packs.get(id).ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "unknown_policy_pack",
                format!(
                    "unknown policy pack `{id}` (loaded: {})",
                    self.inner.packs.ids().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    /// The token checker.
    pub fn auth(&self) -> &Authenticator {
        &self.inner.auth
    }

    /// The console's live sign-ins.
    pub fn sign_ins(&self) -> &SignIns {
        &self.inner.sign_ins
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Fresh ids and the current time for one record.
    pub fn stamp(&self) -> RecordStamp {
        // A poisoned lock only means another request panicked mid-stamp; the generator is
        // still usable.
        let mut stamper = self
            .inner
            .stamper
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        stamper.stamp()
    }
}
