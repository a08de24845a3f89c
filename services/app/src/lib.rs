//! idp-app (skeleton; being filled in).
