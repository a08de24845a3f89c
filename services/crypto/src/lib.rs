//! idp-crypto (skeleton; being filled in).
