//! [`ConsentLayer`] and its builder.

use std::sync::{Arc, OnceLock};

use consentry_core::Policy;
use tower_layer::Layer;

use consentry_engine::{Engine, EngineBuilder};

use crate::service::ConsentService;

/// Applies a consent policy to every request of the wrapped service.
///
/// See the [crate documentation](crate) for what it does and an example.
/// The builder methods only record a setting; the policy, its JSON and the
/// rewriting plan are prepared once, when the layer first wraps a service,
/// and shared by every clone of the layer (axum's `Router::layer` clones it
/// per route; a server may clone it per connection), so they also share one
/// consent-endpoint rate limit.
#[derive(Clone)]
pub struct ConsentLayer {
    settings: EngineBuilder,
    engine: Arc<OnceLock<Engine>>,
}

impl std::fmt::Debug for ConsentLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentLayer").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl ConsentLayer {
    /// A layer enforcing `policy` with the defaults: routes under
    /// `/consentry/`, configured services injected into `<head>`, the banner
    /// rendered on the server when the visitor must be asked, built-in
    /// stylesheet only (no banner script until [`assets`](Self::assets) is
    /// given), receipts not stored.
    pub fn new(policy: Policy) -> Self {
        Self { settings: EngineBuilder::new(policy), engine: Arc::new(OnceLock::new()) }
    }

    /// Changes one setting (a configuration already prepared is dropped).
    fn set(mut self, f: impl FnOnce(EngineBuilder) -> EngineBuilder) -> Self {
        self.settings = f(self.settings);
        self.engine = Arc::new(OnceLock::new());
        self
    }

    fn engine(&self) -> &Engine {
        self.engine.get_or_init(|| self.settings.clone().build())
    }

    consentry_engine::adapter_settings!();

    /// The policy as the banner receives it (with its consent endpoint).
    pub fn policy(&self) -> &Policy {
        self.engine().policy()
    }
}

/// The layer with settings made on the engine's builder (shared with
/// another adapter, say); the builder methods above go on from them.
impl From<EngineBuilder> for ConsentLayer {
    fn from(settings: EngineBuilder) -> Self {
        Self { settings, engine: Arc::new(OnceLock::new()) }
    }
}

impl<S> Layer<S> for ConsentLayer {
    type Service = ConsentService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentService { inner, engine: self.engine().clone() }
    }
}
