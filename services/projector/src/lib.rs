//! idp-projector (skeleton; being filled in).
