//! idp-domain (skeleton; being filled in).
