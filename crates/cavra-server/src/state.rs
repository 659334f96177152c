//! [`AppState`]: what every handler shares — the store, the compiled packs, the server's mode,
//! the id stamper, the token checker and the metrics. Cheap to clone (one `Arc`).

use std::sync::{Arc, Mutex};

use cavra_core::{CompiledPack, Mode, PackSet, RecordStamp};
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
    policy_mode: Option<Mode>,
    auth: Authenticator,
    metrics: Arc<Metrics>,
    stamper: Mutex<Stamper>,
    sign_ins: SignIns,
}

impl AppState {
    /// State over `store` with `packs` compiled once, checking callers with `auth`; each pack's
    /// own mode applies. Installs the metrics' observer on the store.
    pub fn new(store: Arc<dyn ActivityStore>, packs: PackSet, auth: Authenticator) -> Result<AppState, StartError> {
        AppState::with_policy_mode(store, packs, auth, None)
    }

    /// Like [`AppState::new`], with `policy_mode` (`cavra serve --policy-mode`) in force for
    /// every decision instead of the packs' own modes, unless an agent token carries a mode of
    /// its own or an admin names one in the request (SPEC §3). `break_glass` is refused: a
    /// person grants it per request, with an actor and a justification, never server-wide.
    pub fn with_policy_mode(
        store: Arc<dyn ActivityStore>,
        packs: PackSet,
        auth: Authenticator,
        policy_mode: Option<Mode>,
    ) -> Result<AppState, StartError> {
        if policy_mode == Some(Mode::BreakGlass) {
            return Err(StartError::PolicyMode(
                "break_glass cannot be a server's mode: a person grants it per request, with an actor and a \
                 justification (an admin token's `policy_mode`)"
                    .to_owned(),
            ));
        }
        let metrics = Arc::new(Metrics::new(store.backend()).map_err(|e| StartError::Metrics(e.to_string()))?);
        store.observe(metrics.store_observer());
        Ok(AppState {
            inner: Arc::new(Inner {
                store,
                packs: Arc::new(packs),
                policy_mode,
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

    /// The server's mode (`--policy-mode`), when one is configured.
    pub fn policy_mode(&self) -> Option<Mode> {
        self.inner.policy_mode
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
