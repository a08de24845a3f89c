//! idp-api (skeleton; being filled in).
