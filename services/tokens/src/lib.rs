//! idp-tokens (skeleton; being filled in).
