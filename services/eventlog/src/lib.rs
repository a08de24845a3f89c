//! idp-eventlog (skeleton; being filled in).
