//! The conformance suite against `MemoryStore`, the reference model.

use std::sync::Arc;

use idp_store::{conformance, MemoryStore, ProjectionStore};

async fn fresh() -> Arc<dyn ProjectionStore> {
    MemoryStore::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_passes_the_whole_suite() {
    conformance::run_all(fresh).await;
}
