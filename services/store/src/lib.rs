//! idp-store (skeleton; being filled in).
